//! A run's results as files to take elsewhere: JSON lines (one result row per line, as the API
//! gives it) and CSV (one row per result, the columns a spreadsheet needs). Pure: the server
//! pages through the results and writes what these return.

use crate::api::ResultRow;

/// The formats a run's results download in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

impl ExportFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Jsonl => "application/x-ndjson",
            ExportFormat::Csv => "text/csv",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Csv => "csv",
        }
    }

    /// What the file starts with: the CSV header line, nothing for JSON lines.
    pub fn header(self) -> String {
        match self {
            ExportFormat::Jsonl => String::new(),
            ExportFormat::Csv => line(&CSV_COLUMNS.map(str::to_owned)),
        }
    }

    /// One result as one line of the file, newline included.
    pub fn row(self, row: &ResultRow) -> String {
        match self {
            ExportFormat::Jsonl => {
                let mut text = serde_json::to_string(row).expect("a result row serializes");
                text.push('\n');
                text
            }
            ExportFormat::Csv => line(&csv_fields(row)),
        }
    }
}

const CSV_COLUMNS: [&str; 13] = [
    "id",
    "scenario_key",
    "attempt",
    "status",
    "category",
    "score",
    "cost_usd",
    "duration_ms",
    "tool_path",
    "failure_categories",
    "first_failure",
    "error",
    "user_message",
];

fn csv_fields(row: &ResultRow) -> [String; 13] {
    [
        row.id.to_string(),
        row.scenario_key.clone(),
        row.attempt.to_string(),
        row.status.as_str().to_string(),
        row.category.clone().unwrap_or_default(),
        row.score.to_string(),
        crate::cost::usd_plain(row.cost_usd),
        row.duration_ms
            .map(|d| format!("{d:.1}"))
            .unwrap_or_default(),
        row.tool_path.join(" > "),
        row.failure_categories
            .iter()
            .map(|c| c.label())
            .collect::<Vec<_>>()
            .join("; "),
        row.first_failure.clone().unwrap_or_default(),
        row.error.clone().unwrap_or_default(),
        row.user_message.clone(),
    ]
}

fn line(fields: &[String]) -> String {
    let mut out = fields.iter().map(|f| cell(f)).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    out
}

/// One CSV cell (RFC 4180): quoted when it holds a comma, quote or line break, quotes doubled.
/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab or carriage return
/// first) is prefixed with `'` — an agent's message is anyone's text.
fn cell(text: &str) -> String {
    let guarded = match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') if text.parse::<f64>().is_err() => {
            format!("'{text}")
        }
        _ => text.to_string(),
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a, b"), "\"a, b\"");
        assert_eq!(cell("say \"hi\"\nbye"), "\"say \"\"hi\"\"\nbye\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("-0.5"), "-0.5");
        assert_eq!(line(&["a".into(), "b,c".into()]), "a,\"b,c\"\r\n");
    }
}
