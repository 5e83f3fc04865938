//! Cost estimates from token counts.
//!
//! Prices live in `data/prices.json` (USD per million tokens, with the table's version date),
//! embedded at build time; users override or extend it with a file of the same shape
//! ([`PriceTable::with_overrides`]).
//!
//! A model name finds its entry after normalization: lower-cased, a provider prefix dropped
//! (`openai/gpt-4o`, `models/gemini-2.5-pro`, `anthropic.claude-…`), then the longest entry that
//! is the whole name or a prefix of it followed by `-`, `@` or `:` — so `gpt-4o-2024-08-06`
//! finds `gpt-4o` while `gpt-4o-mini` keeps its own entry. A model with no entry is reported as
//! **unpriced**, never as costing $0.
//!
//! Token accounting (see [`crate::model::Trace`]): `input_tokens` includes cache reads and writes,
//! which are billed at their own rates; reasoning tokens are part of `output_tokens` and billed as
//! output. A call whose prompt exceeds a long-context threshold is billed entirely at that tier's
//! rates, as the providers do.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::model::{LlmCall, Trace};

/// Prices per model, in USD per million tokens: the built-in table (`data/prices.json`) or it
/// with a server's `--prices` overrides. Every cost Proctor shows is estimated from one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriceTable {
    pub version: String,
    #[serde(default)]
    pub source: String,
    pub models: Vec<ModelPrice>,
}

/// Rates in USD per million tokens. Unset cache rates fall back to the input rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelPrice {
    pub model: String,
    pub input: f64,
    pub output: f64,
    #[serde(default)]
    pub cache_read: Option<f64>,
    #[serde(default)]
    pub cache_write: Option<f64>,
    #[serde(default)]
    pub long_context: Option<LongContextPrice>,
}

/// Rates that apply instead when a call's input is above `above_input_tokens`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LongContextPrice {
    pub above_input_tokens: u64,
    pub input: f64,
    pub output: f64,
    #[serde(default)]
    pub cache_read: Option<f64>,
    #[serde(default)]
    pub cache_write: Option<f64>,
}

/// The estimated cost of a result or a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct CostEstimate {
    /// Cost of the priced calls.
    pub usd: f64,
    /// Models with no price entry; when non-empty, `usd` is a lower bound.
    pub unpriced_models: Vec<String>,
    /// The price table version used.
    pub price_version: String,
    /// What the calls answered from a recording (`proctor run --replay`) would have cost: they
    /// cost nothing, so they are not in `usd`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub replayed_usd: f64,
}

fn is_zero(usd: &f64) -> bool {
    *usd == 0.0
}

impl CostEstimate {
    /// Whether every call was priced.
    pub fn is_complete(&self) -> bool {
        self.unpriced_models.is_empty()
    }
    /// The cost if it is complete, for budgets and comparisons that must not treat unknown as 0.
    pub fn known_usd(&self) -> Option<f64> {
        self.is_complete().then_some(self.usd)
    }
    pub fn add(&mut self, other: &CostEstimate) {
        self.usd += other.usd;
        for m in &other.unpriced_models {
            if !self.unpriced_models.contains(m) {
                self.unpriced_models.push(m.clone());
            }
        }
        if self.price_version.is_empty() {
            self.price_version = other.price_version.clone();
        }
    }
}

/// Why a price table was refused.
#[derive(Debug, thiserror::Error)]
pub enum PriceTableError {
    #[error("the price table is not valid JSON of the documented shape: {0}")]
    Invalid(#[from] serde_json::Error),
    #[error("the price of `{0}` is negative or not a number")]
    BadRate(String),
}

/// Whether the lower-cased model `name` is the table's `entry` (in any case), alone or followed
/// by a version (`-2024-08-06`, `@001`, `:free`). Compared as it goes: the table is scanned for
/// every LLM call judged.
fn names_entry(name: &str, entry: &str) -> bool {
    if entry.is_ascii() {
        // Nearly every entry: compared byte for byte, without a Unicode case mapping per char.
        return name.len() >= entry.len()
            && name.as_bytes()[..entry.len()].eq_ignore_ascii_case(entry.as_bytes())
            && is_version_suffix(&name[entry.len()..]);
    }
    let mut rest = name.chars();
    for c in entry.chars().flat_map(char::to_lowercase) {
        if rest.next() != Some(c) {
            return false;
        }
    }
    is_version_suffix(rest.as_str())
}

/// What may follow an entry's name in a model name: nothing, or a version.
fn is_version_suffix(rest: &str) -> bool {
    rest.is_empty() || rest.starts_with(['-', '@', ':'])
}

const PROVIDER_PREFIXES: &[&str] = &[
    "openai/",
    "anthropic/",
    "google/",
    "gemini/",
    "models/",
    "vertex_ai/",
    "azure/",
    "anthropic.",
    "openrouter/",
];

impl PriceTable {
    /// The table shipped with this build.
    pub fn builtin() -> &'static PriceTable {
        static TABLE: OnceLock<PriceTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            PriceTable::from_json(include_str!("../data/prices.json"))
                .expect("the embedded price table is valid")
        })
    }

    pub fn from_json(text: &str) -> Result<PriceTable, PriceTableError> {
        let table: PriceTable = serde_json::from_str(text)?;
        for m in &table.models {
            let mut rates = vec![m.input, m.output];
            rates.extend(m.cache_read);
            rates.extend(m.cache_write);
            if let Some(lc) = &m.long_context {
                rates.extend([lc.input, lc.output]);
                rates.extend(lc.cache_read);
                rates.extend(lc.cache_write);
            }
            if rates.iter().any(|r| !r.is_finite() || *r < 0.0) {
                return Err(PriceTableError::BadRate(m.model.clone()));
            }
        }
        Ok(table)
    }

    /// This table with `overrides`' entries replacing or adding to its own.
    pub fn with_overrides(&self, overrides: &PriceTable) -> PriceTable {
        let mut models = overrides.models.clone();
        for m in &self.models {
            if !models
                .iter()
                .any(|o| o.model.eq_ignore_ascii_case(&m.model))
            {
                models.push(m.clone());
            }
        }
        PriceTable {
            version: format!("{}+{}", self.version, overrides.version),
            source: overrides.source.clone(),
            models,
        }
    }

    /// The entry for a model name, by the rules in the module docs.
    pub fn lookup(&self, model: &str) -> Option<&ModelPrice> {
        let mut name = model.trim().to_lowercase();
        while let Some(rest) = PROVIDER_PREFIXES.iter().find_map(|p| name.strip_prefix(p)) {
            name = rest.to_string();
        }
        self.models
            .iter()
            .filter(|m| names_entry(&name, &m.model))
            .max_by_key(|m| m.model.len())
    }

    /// The cost of one LLM call, or `None` when its model is unpriced.
    pub fn call_cost(&self, call: &LlmCall) -> Option<f64> {
        let price = self.lookup(&call.model)?;
        let (input, output, cache_read, cache_write) = match &price.long_context {
            Some(lc) if call.input_tokens > lc.above_input_tokens => (
                lc.input,
                lc.output,
                lc.cache_read.unwrap_or(lc.input),
                lc.cache_write.unwrap_or(lc.input),
            ),
            _ => (
                price.input,
                price.output,
                price.cache_read.unwrap_or(price.input),
                price.cache_write.unwrap_or(price.input),
            ),
        };
        let cached = call.cache_read_tokens + call.cache_write_tokens;
        let fresh = call.input_tokens.saturating_sub(cached);
        let usd = fresh as f64 * input
            + call.cache_read_tokens as f64 * cache_read
            + call.cache_write_tokens as f64 * cache_write
            + call.output_tokens as f64 * output;
        Some(usd / 1_000_000.0)
    }

    /// The cost of every LLM call in a trace.
    pub fn estimate(&self, trace: &Trace) -> CostEstimate {
        let mut estimate = CostEstimate {
            price_version: self.version.clone(),
            ..Default::default()
        };
        for call in &trace.llm_calls {
            match self.call_cost(call) {
                Some(usd) if call.replayed => estimate.replayed_usd += usd,
                // A replayed call cost nothing, priced or not.
                None if call.replayed => {}
                Some(usd) => estimate.usd += usd,
                None => {
                    let name = if call.model.is_empty() {
                        "(unnamed model)"
                    } else {
                        &call.model
                    };
                    if !estimate.unpriced_models.iter().any(|m| m == name) {
                        estimate.unpriced_models.push(name.to_string());
                    }
                }
            }
        }
        estimate
    }
}

/// A dollar amount as people read it: cents from a cent up, and two significant digits below
/// (`$0.0042`, `$0.000035`), so a cheap run's cost never shows as `$0.0000`.
pub fn usd(amount: f64) -> String {
    if amount == 0.0 || !amount.is_finite() {
        return "$0".into();
    }
    if amount.abs() >= 0.01 {
        return format!("${amount:.2}");
    }
    let decimals = ((-amount.abs().log10()).ceil() as usize + 1).min(12);
    format!("${amount:.decimals$}")
}

/// A dollar amount for a file (CSV) as the shortest decimal that reads back to it within a
/// billionth of a cent: the float noise of sums (`0.000034949999999999996`) left out.
pub fn usd_plain(amount: f64) -> String {
    let rounded = (amount * 1e11).round() / 1e11;
    format!("{rounded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_under_a_cent_keep_two_significant_digits_and_files_lose_float_noise() {
        assert_eq!(usd(0.0), "$0");
        assert_eq!(usd(0.000035), "$0.000035");
        assert_eq!(usd(0.0042), "$0.0042");
        assert_eq!(usd(0.001), "$0.0010");
        assert_eq!(usd(0.0099), "$0.0099");
        assert_eq!(usd(0.01), "$0.01");
        assert_eq!(usd(12.345), "$12.35");
        assert_eq!(usd_plain(0.000034949999999999996), "0.00003495");
        assert_eq!(usd_plain(0.1 + 0.2), "0.3");
        assert_eq!(usd_plain(0.0), "0");
    }

    fn call(model: &str, input: u64, output: u64) -> LlmCall {
        LlmCall {
            model: model.into(),
            input_tokens: input,
            output_tokens: output,
            ..Default::default()
        }
    }

    fn approx(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    #[test]
    fn dated_snapshots_and_provider_prefixes_find_their_entry() {
        let t = PriceTable::builtin();
        for name in ["gpt-4o", "gpt-4o-2024-08-06", "openai/gpt-4o", "GPT-4o"] {
            assert_eq!(
                t.lookup(name).map(|m| m.model.as_str()),
                Some("gpt-4o"),
                "{name}"
            );
        }
        assert_eq!(
            t.lookup("gpt-4o-mini-2024-07-18").unwrap().model,
            "gpt-4o-mini"
        );
        assert_eq!(
            t.lookup("claude-sonnet-4-5-20250929").unwrap().model,
            "claude-sonnet-4-5"
        );
        assert_eq!(
            t.lookup("claude-sonnet-4-20250514").unwrap().model,
            "claude-sonnet-4"
        );
        assert_eq!(
            t.lookup("models/gemini-2.5-flash").unwrap().model,
            "gemini-2.5-flash"
        );
        assert_eq!(
            t.lookup("gemini-2.5-flash-lite").unwrap().model,
            "gemini-2.5-flash-lite"
        );
        assert!(
            t.lookup("gpt-4ox").is_none(),
            "a prefix must end at a separator"
        );
    }

    #[test]
    fn entries_match_in_any_case_and_beside_non_ascii_names() {
        let entry = |model: &str| ModelPrice {
            model: model.into(),
            input: 1.0,
            output: 1.0,
            cache_read: None,
            cache_write: None,
            long_context: None,
        };
        let t = PriceTable {
            version: "test".into(),
            source: String::new(),
            models: vec![entry("Acme-LM"), entry("Ünï-LM")],
        };
        let found = |name| t.lookup(name).map(|m| m.model.as_str());
        assert_eq!(found("acme-lm-2025-01-01"), Some("Acme-LM"));
        assert_eq!(found("ACME-LM:free"), Some("Acme-LM"));
        assert_eq!(found("acme-lm-é"), Some("Acme-LM"));
        assert_eq!(found("ünï-lm@001"), Some("Ünï-LM"));
        assert_eq!(found("acme-lmé"), None);
        assert_eq!(found("é"), None);
    }

    #[test]
    fn cost_uses_input_output_and_cache_rates() {
        let t = PriceTable::builtin();
        // gpt-4o: $2.50 in, $10 out, $1.25 cached.
        approx(t.call_cost(&call("gpt-4o", 1_000_000, 0)).unwrap(), 2.5);
        approx(t.call_cost(&call("gpt-4o", 0, 1_000_000)).unwrap(), 10.0);
        let mut cached = call("gpt-4o", 1_000_000, 0);
        cached.cache_read_tokens = 400_000;
        approx(t.call_cost(&cached).unwrap(), 0.6 * 2.5 + 0.4 * 1.25);
        // claude-sonnet-4-5 writes the cache at $3.75.
        let mut write = call("claude-sonnet-4-5", 100_000, 0);
        write.cache_write_tokens = 100_000;
        approx(t.call_cost(&write).unwrap(), 0.375);
    }

    #[test]
    fn long_prompts_are_billed_at_the_long_context_tier() {
        let t = PriceTable::builtin();
        approx(
            t.call_cost(&call("gemini-2.5-pro", 200_000, 0)).unwrap(),
            0.25,
        );
        approx(
            t.call_cost(&call("gemini-2.5-pro", 300_000, 10_000))
                .unwrap(),
            0.75 + 0.15,
        );
    }

    #[test]
    fn unknown_models_are_unpriced_not_free() {
        let trace = Trace {
            llm_calls: vec![call("gpt-4o", 1000, 100), call("my-finetune", 1000, 100)],
            ..Default::default()
        };
        let est = PriceTable::builtin().estimate(&trace);
        assert_eq!(est.unpriced_models, vec!["my-finetune".to_string()]);
        assert!(!est.is_complete());
        assert_eq!(est.known_usd(), None);
        approx(est.usd, (1000.0 * 2.5 + 100.0 * 10.0) / 1e6);
    }

    #[test]
    fn overrides_replace_and_extend_the_table() {
        let overrides = PriceTable::from_json(
            r#"{"version":"mine","models":[{"model":"gpt-4o","input":1,"output":1},{"model":"my-finetune","input":3,"output":4}]}"#,
        )
        .unwrap();
        let t = PriceTable::builtin().with_overrides(&overrides);
        approx(t.call_cost(&call("gpt-4o", 1_000_000, 0)).unwrap(), 1.0);
        approx(
            t.call_cost(&call("my-finetune", 0, 1_000_000)).unwrap(),
            4.0,
        );
        approx(
            t.call_cost(&call("gpt-4o-mini", 1_000_000, 0)).unwrap(),
            0.15,
        );
    }

    #[test]
    fn negative_rates_are_refused() {
        let err = PriceTable::from_json(
            r#"{"version":"x","models":[{"model":"m","input":-1,"output":1}]}"#,
        );
        assert!(matches!(err, Err(PriceTableError::BadRate(m)) if m == "m"));
    }
}
