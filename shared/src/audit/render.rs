//! An audit's report as the terminal shows it and as a CI system posts it (Markdown): the score
//! first, then what to fix — the faults no scenario catches, the vacuous scenarios — then each
//! scenario's survivors.

use std::fmt::Write;

use super::AuditReport;

/// "drop_tool 8/9 · swap_tools 3/4".
pub fn by_kind(report: &AuditReport) -> String {
    report
        .by_kind
        .iter()
        .map(|(kind, k)| format!("{kind} {}/{}", k.killed, k.total))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The report for a terminal.
pub fn text(report: &AuditReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "  mutation score  {}", report.kills.describe());
    if report.kills.total == 0 {
        return out;
    }
    let _ = writeln!(out, "  by kind         {}", by_kind(report));
    if report.errored > 0 {
        let _ = writeln!(
            out,
            "  errors          {} mutant(s) ended in an error (counted as caught: a run fails them too)",
            report.errored
        );
    }
    for key in &report.vacuous {
        let _ = writeln!(
            out,
            "  vacuous         {key}: passes whatever the agent does"
        );
    }
    for u in &report.uncaught {
        let _ = writeln!(
            out,
            "  uncaught        {}\n                    → {}",
            u.description, u.suggestion
        );
    }
    for s in report.scenarios.iter().filter(|s| !s.survivors.is_empty()) {
        let _ = writeln!(out, "  {}  caught {}", s.key, s.kills.describe());
        for v in &s.survivors {
            let path = match v.path.is_empty() {
                true => "no tool".to_string(),
                false => v.path.join(" → "),
            };
            let _ = writeln!(
                out,
                "    survived (call {}): {} (then: {path})\n      → {}",
                v.call, v.description, v.suggestion
            );
        }
    }
    out
}

/// The report in Markdown.
pub fn markdown(report: &AuditReport, title: &str) -> String {
    let mut out = format!(
        "### {title}\n\n**Mutation score: {}**",
        report.kills.describe()
    );
    if report.kills.total == 0 {
        return out + "\n";
    }
    let _ = write!(out, " — {}\n\n", by_kind(report));
    if !report.uncaught.is_empty() {
        out += "**Faults no scenario catches**\n\n";
        for u in &report.uncaught {
            let _ = writeln!(out, "- {} — {}", u.description, u.suggestion);
        }
        out += "\n";
    }
    if !report.vacuous.is_empty() {
        let keys: Vec<String> = report.vacuous.iter().map(|k| format!("`{k}`")).collect();
        let _ = writeln!(
            out,
            "**Vacuous scenarios** (pass whatever the agent does): {}\n",
            keys.join(", ")
        );
    }
    out += "| scenario | caught | survivors |\n|---|---|---|\n";
    for s in &report.scenarios {
        let survivors: Vec<String> = s
            .survivors
            .iter()
            .map(|v| v.description.replace('|', "\\|"))
            .collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            s.key,
            s.kills.describe(),
            survivors.join("; ")
        );
    }
    out
}
