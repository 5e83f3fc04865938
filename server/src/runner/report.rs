//! What the runner prints at the end, and the JUnit XML it writes for CI systems.

use std::fmt::Write as _;

use shared::api::{ResultRow, RunView};
use shared::cost::usd;
use shared::eval::summary::StepIssue;
use shared::eval::tally::ReplayCounts;
use shared::eval::RunSummary;
use shared::ResultStatus;

/// The run's figures as the runner prints them, a line each.
/// A run as people know it: its short id, its label, when it was made.
pub fn run_name(view: &RunView) -> String {
    let id = &view.run.id.to_string()[..8];
    let when = view.run.created_at.format("%Y-%m-%d %H:%M UTC");
    match &view.run.spec.label {
        Some(label) => format!("{id} {label:?} ({when})"),
        None => format!("{id} ({when})"),
    }
}

pub fn summary_table(summary: &RunSummary) -> String {
    let mut out = String::new();
    let pct = |x: Option<f64>| {
        x.map(|v| format!("{:.1}%", v * 100.0))
            .unwrap_or_else(|| "–".into())
    };
    let _ = writeln!(
        out,
        "  results     {} passed, {} failed, {} errors ({} in all)",
        summary.passed, summary.failed, summary.errored, summary.total
    );
    let _ = writeln!(out, "  pass rate   {}", pct(summary.pass_rate));
    quality_lines(&mut out, summary);
    cost_lines(&mut out, summary);
    time_lines(&mut out, summary);
    out
}

/// AQS with its components, pass^k and pass@k, and the failures by category.
fn quality_lines(out: &mut String, summary: &RunSummary) {
    if let Some(aqs) = &summary.aqs {
        let c = &aqs.components;
        let consistency = c
            .consistency
            .map(|v| format!("{v:.1}"))
            .unwrap_or_else(|| "not measured".into());
        let _ = writeln!(
            out,
            "  AQS         {:.1} ({}) — pass rate {:.1}, severity {:.1}, coverage {:.1}, consistency {}",
            aqs.score,
            aqs.band_text(),
            c.pass_rate,
            c.severity,
            c.coverage,
            consistency
        );
    }
    if summary.reliability.len() > 1 {
        let figures = |of: fn(&shared::eval::reliability::KFigure) -> f64| {
            summary
                .reliability
                .iter()
                .map(|f| format!("k={} {:.1}%", f.k, of(f) * 100.0))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(out, "  pass^k      {}", figures(|f| f.pass_hat_k));
        let _ = writeln!(out, "  pass@k      {}", figures(|f| f.pass_at_k));
    }
    if !summary.failure_breakdown.is_empty() {
        let parts: Vec<String> = summary
            .failure_breakdown
            .iter()
            .map(|(c, n)| format!("{n} {}", c.label()))
            .collect();
        let _ = writeln!(out, "  failures    {}", parts.join(", "));
    }
}

/// What the agent's calls and the judge's cost, in dollars and tokens.
fn cost_lines(out: &mut String, summary: &RunSummary) {
    let mut cost = usd(summary.cost.usd);
    if !summary.cost.unpriced_models.is_empty() {
        let _ = write!(
            cost,
            " + unpriced ({})",
            summary.cost.unpriced_models.join(", ")
        );
    }
    if summary.cost.replayed_usd > 0.0 {
        let _ = write!(
            cost,
            " (the replayed calls would have cost {})",
            usd(summary.cost.replayed_usd)
        );
    }
    let _ = writeln!(
        out,
        "  cost        {cost}  ({} input / {} output tokens)",
        summary.input_tokens, summary.output_tokens
    );
    if let Some(judge) = &summary.judge {
        let cost = judge.cost_usd.map_or_else(|| "unpriced".to_string(), usd);
        let _ = writeln!(
            out,
            "  judge       {} call(s), {} cached; {cost}  ({} input / {} output tokens)",
            judge.calls, judge.cached, judge.input_tokens, judge.output_tokens
        );
    }
}

/// The run's wall clock and latencies, and the steps most often wrong.
fn time_lines(out: &mut String, summary: &RunSummary) {
    let ms = |x: Option<f64>| {
        x.map(|v| format!("{:.0} ms", v))
            .unwrap_or_else(|| "–".into())
    };
    let _ = writeln!(
        out,
        "  duration    {} wall clock; per case p50 {}, p95 {}",
        summary
            .duration_ms
            .map(|d| format!("{:.1} s", d / 1000.0))
            .unwrap_or_else(|| "–".into()),
        ms(summary.latency_p50_ms),
        ms(summary.latency_p95_ms)
    );
    for step in summary.insights.common_steps.iter().take(3) {
        let issue = match step.issue {
            StepIssue::Missing => "missing",
            StepIssue::Extra => "extra",
            StepIssue::Reordered => "out of order",
        };
        let _ = writeln!(
            out,
            "  common      `{}` {issue} in {} of {} cases",
            step.tool, step.cases, step.of_cases
        );
    }
}

fn xml(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JUnit XML: one test suite for the run, one test case per result.
pub fn junit(agent: &str, run_label: &str, results: &[ResultRow]) -> String {
    let failures = results
        .iter()
        .filter(|r| r.status == ResultStatus::Failed)
        .count();
    let errors = results
        .iter()
        .filter(|r| r.status == ResultStatus::Error)
        .count();
    let time: f64 = results.iter().filter_map(|r| r.duration_ms).sum::<f64>() / 1000.0;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites><testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{time:.3}\">",
        xml(&format!("{agent} {run_label}")),
        results.len()
    );
    for r in results {
        let name = if r.attempt > 1 {
            format!("{} (attempt {})", r.scenario_key, r.attempt)
        } else {
            r.scenario_key.clone()
        };
        let _ = write!(
            out,
            "  <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\">",
            xml(agent),
            xml(&name),
            r.duration_ms.unwrap_or(0.0) / 1000.0
        );
        let detail: Vec<String> = r
            .failures
            .iter()
            .map(|f| format!("[{} {}] {}", f.category.label(), f.severity, f.reason))
            .collect();
        match r.status {
            ResultStatus::Failed => {
                let first = r
                    .failures
                    .first()
                    .map(|f| f.reason.as_str())
                    .unwrap_or("failed");
                let _ = write!(
                    out,
                    "<failure message=\"{}\">{}</failure>",
                    xml(first),
                    xml(&detail.join("\n"))
                );
            }
            ResultStatus::Error => {
                let why = r.error.as_deref().unwrap_or("error");
                let _ = write!(
                    out,
                    "<error message=\"{}\">{}</error>",
                    xml(why.lines().next().unwrap_or("error")),
                    xml(why)
                );
            }
            _ => {}
        }
        out.push_str("</testcase>\n");
    }
    out.push_str("</testsuite></testsuites>\n");
    out
}

/// What a replayed run took from the recordings of `source`, and each case that left its
/// recording: where, and what changed.
pub fn replay_lines(
    counts: Option<&ReplayCounts>,
    tally: &crate::runner::ReplayTally,
    source: &str,
) -> String {
    let mut out = String::new();
    let counts = counts.copied().unwrap_or_default();
    let _ = writeln!(
        out,
        "  replay      {} LLM call(s) answered from run {source}, {} sent live; {} of {} \
         replayed case(s) left their recording",
        counts.replayed_calls, counts.live_calls, counts.diverged, counts.cases
    );
    for (key, d) in tally.diverged.iter().take(CASES_LISTED) {
        let _ = writeln!(
            out,
            "    {key} went live at call {}: `{}` changed",
            d.call, d.field
        );
        for line in d.lines.iter().take(6) {
            let _ = writeln!(out, "      {line}");
        }
    }
    out
}

/// Failed or errored cases listed one by one, at most this many; the rest are counted.
const CASES_LISTED: usize = 10;

/// Each failed or errored case with its first reason — the agent's own error for a case that
/// crashed or timed out, else its most severe failed check — so the terminal says why without
/// the dashboard. After [`CASES_LISTED`] of them, how many more and where to see them all.
pub fn failed_cases(verdicts: &[ResultRow], run_page: &str) -> String {
    let mut out = String::new();
    let failing: Vec<&ResultRow> = verdicts
        .iter()
        .filter(|r| matches!(r.status, ResultStatus::Failed | ResultStatus::Error))
        .collect();
    if failing.is_empty() {
        return out;
    }
    let _ = writeln!(out, "  why");
    for r in failing.iter().take(CASES_LISTED) {
        let reason = match r.status {
            ResultStatus::Error => r.error.as_deref().unwrap_or("the agent failed"),
            _ => r.first_failure.as_deref().unwrap_or("a check failed"),
        };
        // The first line says what happened; a crash's traceback follows on the page.
        let reason = reason.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let case = match r.attempt {
            1 => r.scenario_key.clone(),
            n => format!("{} (attempt {n})", r.scenario_key),
        };
        let _ = writeln!(out, "    {} {case}: {reason}", r.status.as_str());
    }
    if failing.len() > CASES_LISTED {
        let _ = writeln!(
            out,
            "    and {} more: {run_page}",
            failing.len() - CASES_LISTED
        );
    }
    out
}

/// `one (12 cases), two (8 cases)`: who ran a shared run's stored cases.
pub fn workers_line(workers: &[shared::api::RunWorker]) -> String {
    workers
        .iter()
        .map(|w| {
            format!(
                "{} ({} case{})",
                w.name,
                w.stored,
                if w.stored == 1 { "" } else { "s" }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use shared::api::ResultRow;
    use shared::ResultStatus;

    use super::failed_cases;

    fn row(key: &str, attempt: u32, status: ResultStatus) -> ResultRow {
        let mut row: ResultRow = serde_json::from_value(serde_json::json!({
            "id": uuid::Uuid::nil(), "run_id": uuid::Uuid::nil(), "scenario_key": key,
            "category": null, "attempt": attempt, "status": status.as_str(), "user_message": "",
            "failure_categories": [], "first_failure": null, "score": 0.0, "cost_usd": 0.0,
            "duration_ms": null, "tool_path": []
        }))
        .unwrap();
        match status {
            ResultStatus::Error => {
                row.error = Some(
                    "the agent exited with exit code 1\nTraceback …\nModuleNotFoundError: x".into(),
                )
            }
            _ => row.first_failure = Some("expected `verify_id` after `lookup_order`".into()),
        }
        row
    }

    #[test]
    fn each_failed_case_says_why_and_the_rest_are_counted() {
        assert_eq!(
            failed_cases(&[row("ok", 1, ResultStatus::Passed)], "url"),
            ""
        );
        let mut rows = vec![
            row("crash", 1, ResultStatus::Error),
            row("path", 2, ResultStatus::Failed),
            row("fine", 1, ResultStatus::Passed),
        ];
        let shown = failed_cases(&rows, "http://x/runs/1");
        assert_eq!(
            shown,
            "  why\n    error crash: the agent exited with exit code 1\n    failed path (attempt \
             2): expected `verify_id` after `lookup_order`\n"
        );
        rows.extend((0..12).map(|i| row(&format!("case-{i}"), 1, ResultStatus::Failed)));
        let shown = failed_cases(&rows, "http://x/runs/1");
        assert_eq!(shown.lines().count(), 1 + 10 + 1, "{shown}");
        assert!(
            shown.ends_with("    and 4 more: http://x/runs/1\n"),
            "{shown}"
        );
    }
}
