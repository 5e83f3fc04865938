//! How a value found in a trace or in the world (a tool argument, a path of the state) is
//! matched against what a scenario expects of it ([`ArgMatcher`]): exact, any, a pattern, a
//! number within a tolerance. The tool checks and the state checks both match this way.

use serde_json::Value;

use crate::model::ArgMatcher;

/// Looks up a dotted path (`address.zip`, `items.0.sku`) in a JSON value.
pub(super) fn lookup<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(value, |v, part| match v {
        Value::Object(map) => map.get(part),
        Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A number, or a string that holds one: `45`, `45.0` and `"45.00"` are one amount.
fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        _ => None,
    }
}

/// Checks a value found at some path (`None`: nothing there) against a matcher; the error says
/// what was expected and what was found.
pub(super) fn match_value(value: Option<&Value>, matcher: &ArgMatcher) -> Result<(), String> {
    let value = value.filter(|v| !v.is_null());
    let Some(value) = value else {
        return match matcher {
            ArgMatcher::Absent => Ok(()),
            _ => Err("was not given".to_string()),
        };
    };
    match matcher {
        ArgMatcher::Present => Ok(()),
        ArgMatcher::Absent => Err(format!("expected it to be absent, got {value}")),
        ArgMatcher::Equals(want) => {
            let same_number =
                matches!((as_number(value), as_number(want)), (Some(a), Some(b)) if a == b);
            if value == want || as_text(value) == as_text(want) || same_number {
                Ok(())
            } else {
                Err(format!("expected {want}, got {value}"))
            }
        }
        ArgMatcher::Contains(needle) => {
            if as_text(value)
                .to_lowercase()
                .contains(&needle.to_lowercase())
            {
                Ok(())
            } else {
                Err(format!("expected it to contain {needle:?}, got {value}"))
            }
        }
        ArgMatcher::Regex(pattern) => match regex::Regex::new(pattern) {
            Ok(re) if re.is_match(&as_text(value)) => Ok(()),
            Ok(_) => Err(format!("expected it to match /{pattern}/, got {value}")),
            Err(e) => Err(format!(
                "the scenario's pattern /{pattern}/ is invalid: {e}"
            )),
        },
    }
}
