//! A comparison written for where a team discusses a change: Markdown for a pull request or a
//! CI job summary, plain text for a terminal — AQS and pass rate before and after, regressions
//! first with the check that failed, then improvements, cases that changed without significance,
//! flaky, new and removed cases, changed tool paths, and the link to the comparison on the
//! dashboard. The CLI writes it (`proctor compare`, `proctor run --summary-md`); the dashboard
//! can copy the same text.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::compare::{CaseChange, CaseComparison, CaseSide, RunComparison};
use super::diff::tool_path;

/// Cases listed per kind of change; the rest are counted.
const LISTED: usize = 50;

/// What a written comparison is made of.
#[derive(Debug, Clone, Copy)]
pub struct ComparisonReport<'a> {
    pub comparison: &'a RunComparison,
    /// How the runs are named (their labels, or short ids).
    pub base: &'a str,
    pub head: &'a str,
    /// The first failed check of each head case that failed, by scenario key.
    pub failures: &'a BTreeMap<String, String>,
    /// The comparison on the dashboard.
    pub link: Option<&'a str>,
}

fn pct(rate: Option<f64>) -> String {
    rate.map_or_else(|| "–".into(), |r| format!("{:.1}%", r * 100.0))
}

fn side_rate(side: &Option<CaseSide>) -> String {
    side.as_ref()
        .map_or_else(|| "–".into(), |s| pct(s.pass_rate))
}

fn side_path(side: &Option<CaseSide>) -> String {
    side.as_ref()
        .map_or_else(|| "–".into(), |s| tool_path(&s.tool_path))
}

/// A table cell: no pipe or line break may end it early.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

impl ComparisonReport<'_> {
    fn cases(&self, change: CaseChange) -> Vec<&CaseComparison> {
        self.comparison
            .cases
            .iter()
            .filter(|c| c.change == change)
            .collect()
    }

    /// "AQS 72.0 → 81.0 (+9.0) · pass rate 80.0% → 90.0%".
    fn headline(&self, bold: bool) -> String {
        let b = |s: &str| {
            if bold {
                format!("**{s}**")
            } else {
                s.to_string()
            }
        };
        let cmp = self.comparison;
        let aqs = match &cmp.aqs {
            Some(a) => format!(
                "{} {:.1} → {:.1} ({:+.1})",
                b("AQS"),
                a.base,
                a.head,
                a.delta
            ),
            None => format!("{} not measured yet", b("AQS")),
        };
        format!(
            "{aqs} · {} {} → {}",
            b("pass rate"),
            pct(cmp.base.pass_rate),
            pct(cmp.head.pass_rate)
        )
    }

    fn counts(&self) -> String {
        let cmp = self.comparison;
        [
            (CaseChange::Regression, "regression(s)"),
            (CaseChange::Improvement, "improvement(s)"),
            (CaseChange::Changed, "changed, not significant"),
            (CaseChange::Flaky, "flaky"),
            (CaseChange::New, "new"),
            (CaseChange::Removed, "removed"),
        ]
        .iter()
        .map(|(change, word)| format!("{} {word}", cmp.count(*change)))
        .collect::<Vec<_>>()
        .join(" · ")
    }

    fn more(&self, change: CaseChange, listed: usize) -> Option<String> {
        let total = self.comparison.count(change) as usize;
        (total > listed).then(|| format!("…and {} more", total - listed))
    }

    fn failure(&self, key: &str) -> String {
        self.failures
            .get(key)
            .cloned()
            .unwrap_or_else(|| "–".into())
    }

    fn p_value(case: &CaseComparison) -> String {
        case.p_value
            .map(|p| format!(" (p = {p:.3})"))
            .unwrap_or_default()
    }

    /// The comparison as a Markdown comment for a pull request.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "## Proctor: {} vs {}\n", self.head, self.base);
        let _ = writeln!(out, "**{}**\n", self.comparison.headline);
        let _ = writeln!(out, "{}\n", self.headline(true));
        let _ = writeln!(out, "{}\n", self.counts());
        self.markdown_regressions(&mut out);
        for (change, title) in [
            (CaseChange::Improvement, "Improvements"),
            (CaseChange::Changed, "Changed, not significant"),
            (CaseChange::Flaky, "Flaky"),
            (CaseChange::New, "New"),
            (CaseChange::Removed, "Removed"),
        ] {
            self.markdown_list(&mut out, change, title);
        }
        self.markdown_paths(&mut out);
        if let Some(link) = self.link {
            let _ = writeln!(out, "[Open the comparison]({link})");
        }
        out
    }

    /// The regressions as a table: each case's pass rates, failing check and tool path.
    fn markdown_regressions(&self, out: &mut String) {
        let regressions = self.cases(CaseChange::Regression);
        if regressions.is_empty() {
            return;
        }
        let _ = writeln!(out, "### Regressions\n");
        let _ = writeln!(out, "| case | pass rate | failing check | tool path |");
        let _ = writeln!(out, "|---|---|---|---|");
        for c in regressions.iter().take(LISTED) {
            let edited = if c.expectations_changed {
                " (scenario edited)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "| `{}`{edited} | {} → {}{} | {} | {} |",
                cell(&c.scenario_key),
                side_rate(&c.base),
                side_rate(&c.head),
                Self::p_value(c),
                cell(&self.failure(&c.scenario_key)),
                cell(&side_path(&c.head)),
            );
        }
        if let Some(more) = self.more(CaseChange::Regression, regressions.len().min(LISTED)) {
            let _ = writeln!(out, "\n{more}");
        }
        out.push('\n');
    }

    /// The cases of one kind of change as a list under `title`, with their pass rates.
    fn markdown_list(&self, out: &mut String, change: CaseChange, title: &str) {
        let cases = self.cases(change);
        if cases.is_empty() {
            return;
        }
        let _ = writeln!(out, "### {title}\n");
        for c in cases.iter().take(LISTED) {
            let _ = writeln!(
                out,
                "- `{}` {} → {}{}",
                c.scenario_key,
                side_rate(&c.base),
                side_rate(&c.head),
                Self::p_value(c)
            );
        }
        if let Some(more) = self.more(change, cases.len().min(LISTED)) {
            let _ = writeln!(out, "- {more}");
        }
        out.push('\n');
    }

    /// The cases whose tool path changed, before and after.
    fn markdown_paths(&self, out: &mut String) {
        let paths: Vec<&CaseComparison> = self
            .comparison
            .cases
            .iter()
            .filter(|c| c.path_changed)
            .collect();
        if paths.is_empty() {
            return;
        }
        let _ = writeln!(out, "### Tool paths changed\n");
        for c in paths.iter().take(LISTED) {
            let _ = writeln!(
                out,
                "- `{}`: {} → {}",
                c.scenario_key,
                side_path(&c.base),
                side_path(&c.head)
            );
        }
        out.push('\n');
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{} vs {}", self.head, self.base);
        let _ = writeln!(out, "  {}", self.comparison.headline);
        let _ = writeln!(out, "  {}", self.headline(false));
        let _ = writeln!(out, "  {}", self.counts());
        for c in self.cases(CaseChange::Regression).iter().take(LISTED) {
            let _ = writeln!(
                out,
                "  regression  {}: {} → {}{} — {}",
                c.scenario_key,
                side_rate(&c.base),
                side_rate(&c.head),
                Self::p_value(c),
                self.failure(&c.scenario_key)
            );
        }
        for (change, word) in [
            (CaseChange::Improvement, "improved"),
            (CaseChange::Changed, "changed"),
            (CaseChange::Flaky, "flaky"),
            (CaseChange::New, "new"),
            (CaseChange::Removed, "removed"),
        ] {
            for c in self.cases(change).iter().take(LISTED) {
                let _ = writeln!(out, "  {word:<11} {}", c.scenario_key);
            }
        }
        if let Some(link) = self.link {
            let _ = writeln!(out, "  {link}");
        }
        out
    }
}
