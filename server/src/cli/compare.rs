//! `proctor compare BASE HEAD --format markdown|json|text`: two runs compared, written to paste
//! where a change is discussed (a pull request, a CI summary) or read in a terminal.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use shared::api::{CompareFilter, ResultFilter};
use shared::eval::compare_report::ComparisonReport;
use shared::eval::CaseChange;
use shared::ResultStatus;
use uuid::Uuid;

use super::run::ServerArgs;
use crate::backend::Backend;
use crate::client::ApiClient;

/// `proctor compare`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// The earlier run (the baseline): a full id, an id prefix of 6+ characters, a label (the
    /// newest run with it) or `latest`.
    pub base: String,
    /// The later run, named the same ways.
    pub head: String,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// How a comparison is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For a terminal.
    Text,
    /// For a pull request or a CI job summary.
    Markdown,
    /// The comparison as the API gives it.
    Json,
}

pub async fn run(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let client = args.server.client();
    let base = super::find_run(&client, &args.base).await?;
    let head = super::find_run(&client, &args.head).await?;
    print!("{}", written(&client, base, head, args.format).await?);
    Ok(ExitCode::SUCCESS)
}

/// The comparison of `head` with `base`, written in `format`: regressions with the first check
/// each failed on, and the link to the comparison on the dashboard.
pub async fn written(
    client: &ApiClient,
    base: Uuid,
    head: Uuid,
    format: Format,
) -> anyhow::Result<String> {
    let cmp = client
        .compare(base, head, &CompareFilter::default())
        .await
        .context("comparing the runs")?;
    if format == Format::Json {
        return Ok(serde_json::to_string_pretty(&cmp)? + "\n");
    }
    let name = |view: shared::api::RunView| {
        view.run
            .spec
            .label
            .unwrap_or_else(|| view.run.id.to_string()[..8].to_string())
    };
    let base_name = name(client.run(base).await.context("reading the base run")?);
    let head_name = name(client.run(head).await.context("reading the head run")?);
    let failures = if cmp.count(CaseChange::Regression) > 0 {
        first_failures(client, head).await?
    } else {
        BTreeMap::new()
    };
    let link = format!("{}/compare?base={base}&head={head}", client.base());
    let report = ComparisonReport {
        comparison: &cmp,
        base: &base_name,
        head: &head_name,
        failures: &failures,
        link: Some(&link),
    };
    Ok(match format {
        Format::Markdown => report.markdown(),
        _ => report.text(),
    })
}

/// The first failed check of each case that failed or errored in `run` (its first such
/// attempt), by scenario key.
async fn first_failures(client: &ApiClient, run: Uuid) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for status in [ResultStatus::Failed, ResultStatus::Error] {
        let filter = ResultFilter {
            status: Some(status),
            ..Default::default()
        };
        let rows = client
            .all_results(run, filter)
            .await
            .context("reading the failed results")?;
        for row in rows {
            if let Some(reason) = row.first_failure.or(row.error) {
                out.entry(row.scenario_key).or_insert(reason);
            }
        }
    }
    Ok(out)
}
