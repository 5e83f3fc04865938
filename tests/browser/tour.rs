//! The tour of the dashboard's main pages with two runs of one agent: the run list and its
//! filters, a run's page, a result's drilldown and timeline, and the comparison of the two runs
//! with its charts, its Markdown, the agent's trend and a pair of results. One browser walks
//! them in order, as a user would; each page's checks are a function of their own.

use std::time::Duration;

use e2e::{Browser, Proctor};
use fantoccini::Locator;
use serde_json::Value;

use super::pct;

/// The two runs the tour compares: v1 right in every case, v2 skipping `verify_id` in a third
/// of the cases and swapping two steps in one.
struct Runs {
    base: String,
    head: String,
    /// How many of the head run's results failed.
    failed: usize,
    /// The head run as the API answers it.
    api_head: Value,
}

/// Waits until the page's address ends with `path` (after the dashboard wrote a run's name
/// back as its id).
async fn settles_at(b: &Browser, path: &str) {
    let mut url = String::new();
    for _ in 0..100 {
        url = b.client.current_url().await.unwrap().to_string();
        if url.ends_with(path) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the address stayed {url}, not …{path}");
}

async fn two_runs(p: &Proctor) -> Runs {
    p.agent("support").await;
    let base = p
        .run_with("support", "v1", 20, |_| {
            vec!["lookup_order", "verify_id", "refund"]
        })
        .await;
    // v2 skips verify_id in a third of the cases and swaps two steps in one.
    let head = p
        .run_with("support", "v2", 20, |i| match i % 3 {
            0 => vec!["lookup_order", "refund"],
            _ if i == 4 => vec!["verify_id", "lookup_order", "refund"],
            _ => vec!["lookup_order", "verify_id", "refund"],
        })
        .await;
    let api_head = p.get(&format!("/api/v1/runs/{head}")).await;
    let failed = api_head["summary"]["failed"].as_u64().unwrap() as usize;
    Runs {
        base,
        head,
        failed,
        api_head,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_run_page_filters_result_drilldown_and_comparison() {
    let p = Proctor::start(vec![]).await;
    let runs = two_runs(&p).await;
    let b = Browser::open().await;
    runs_page(&p, &b).await;
    run_page(&p, &b, &runs).await;
    run_filters_and_download(&p, &b, &runs).await;
    drilldown_and_timeline(&p, &b, &runs).await;
    b.close().await;

    // A comparison link opened in a fresh browser shows the regressions first.
    let fresh = Browser::open().await;
    let cmp = compare_page(&p, &fresh, &runs).await;
    aqs_delta_chart(&fresh, &cmp).await;
    category_and_path_charts(&fresh, &cmp, runs.failed).await;
    spread_and_trend(&fresh, &cmp, &runs).await;
    charts_fit_and_markdown(&fresh, &runs).await;
    trend_agent_and_pair(&p, &fresh, &runs).await;
    fresh.close().await;
}

/// The run list: newest first, and the outcome filter answered by the server.
async fn runs_page(p: &Proctor, b: &Browser) {
    b.client.goto(&p.url("/runs")).await.unwrap();
    let rows = b.texts("table.grid tbody tr", 2).await;
    assert!(
        rows[0].contains("v2") && rows[1].contains("v1"),
        "newest first: {rows:?}"
    );
    b.screenshot("runs").await;
    b.assert_accessible("runs").await;
    b.assert_keyboard_reachable("runs").await;

    // The outcome filter is the server's: only the run with failures is left.
    b.client
        .find(Locator::Css("select[aria-label='Outcome']"))
        .await
        .unwrap()
        .select_by_value("failures")
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let rows = b
            .client
            .find_all(Locator::Css("table.grid tbody tr"))
            .await
            .unwrap();
        let pager = b.text("p.pager").await;
        if rows.len() == 1 && pager.contains("1 run(s) in all") {
            assert!(rows[0].text().await.unwrap().contains("v2"));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{pager}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(b
        .client
        .current_url()
        .await
        .unwrap()
        .as_str()
        .contains("outcome=failures"));

    // A run that does not exist is "not found", with nothing to retry.
    b.client
        .goto(&p.url("/runs/6f1c2b1e-0000-4000-8000-000000000000"))
        .await
        .unwrap();
    let missing = b.text(".error-box").await;
    assert!(missing.starts_with("Not found."), "{missing}");
    assert!(!missing.contains("Try again"), "{missing}");
}

/// A run's page: its cards carry the API's figures, its insights what the diffs share.
async fn run_page(p: &Proctor, b: &Browser, runs: &Runs) {
    let Runs { head, api_head, .. } = runs;
    // Opened by name, the page shows the run and moves to its id's address.
    b.client.goto(&p.url("/runs/latest")).await.unwrap();
    let cards = b.texts(".cards .card", 5).await;
    settles_at(b, &format!("/runs/{head}")).await;
    assert!(
        cards[0].contains(&pct(api_head["summary"]["pass_rate"].as_f64().unwrap())),
        "{cards:?}"
    );
    assert!(
        cards[1].contains(&format!(
            "{:.1}",
            api_head["summary"]["aqs"]["score"].as_f64().unwrap()
        )),
        "{cards:?}"
    );
    let insights = b.text(".insights").await;
    assert!(
        insights.contains("verify_id missing in 7 of 20 cases"),
        "{insights}"
    );
    b.screenshot("run").await;
    b.assert_accessible("run").await;
    b.assert_keyboard_reachable("run").await;
}

/// The run's filters live in the URL and narrow the table; the CSV holds what the table shows.
async fn run_filters_and_download(p: &Proctor, b: &Browser, runs: &Runs) {
    let (head, failed) = (&runs.head, runs.failed);
    // Filters live in the URL and narrow the table.
    let status = b
        .client
        .find(Locator::Css("select[aria-label='Status']"))
        .await
        .unwrap();
    status.select_by_value("failed").await.unwrap();
    let rows = b.texts("table.grid tbody tr", failed).await;
    assert_eq!(rows.len(), failed);
    assert!(b
        .client
        .current_url()
        .await
        .unwrap()
        .as_str()
        .contains("status=failed"));
    // The download links carry the filters, and the file holds what the table shows.
    let href = b
        .find("a.download-csv")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(
        href.contains("format=csv") && href.contains("status=failed"),
        "{href}"
    );
    let fetched = b
        .client
        .execute_async(
            "const [href, done] = arguments; fetch(href).then(r => r.text()).then(done);",
            vec![href.into()],
        )
        .await
        .unwrap();
    let csv = fetched.as_str().unwrap();
    assert_eq!(csv.matches("\r\n").count(), failed + 1, "{csv}");
    assert!(csv.lines().skip(1).all(|l| l.contains(",failed,")), "{csv}");
    b.client
        .goto(&p.url(&format!("/runs/{head}?category=tool_usage&q=ORD-12")))
        .await
        .unwrap();
    let rows = b.texts("table.grid tbody tr", 1).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("case-00012"), "{rows:?}");
}

/// A result's drilldown marks missing, extra and reordered steps; its timeline draws one bar
/// per call, in the order they started.
async fn drilldown_and_timeline(p: &Proctor, b: &Browser, runs: &Runs) {
    let head = &runs.head;
    // The drilldown marks missing, extra and reordered steps.
    b.client
        .goto(&p.url(&format!("/runs/{head}?q=ORD-4")))
        .await
        .unwrap();
    b.texts("table.grid tbody tr", 1).await;
    b.click("table.grid tbody tr a").await;
    let moved = b.texts("table.diff tr.reordered", 1).await;
    assert!(
        moved[0].contains("verify_id") || moved[0].contains("lookup_order"),
        "{moved:?}"
    );
    let checks = b.text("ul.checks").await;
    assert!(
        checks.contains("Tool Usage") && checks.contains("step_order"),
        "{checks}"
    );
    // The timeline: one bar per LLM and tool call, in the order they started.
    let url = b.client.current_url().await.unwrap();
    let id = url.path().rsplit('/').next().unwrap().to_string();
    let result = p.get(&format!("/api/v1/results/{id}")).await;
    let trace = &result["trace"];
    let mut calls: Vec<(String, String)> = trace["llm_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["started_at"].as_str().unwrap_or("").to_string(),
                format!("LLM {}", c["model"].as_str().unwrap()),
            )
        })
        .collect();
    let mut tools = trace["tool_calls"].as_array().unwrap().clone();
    tools.sort_by_key(|t| t["order"].as_u64());
    calls.extend(tools.iter().map(|c| {
        (
            c["started_at"].as_str().unwrap_or("").to_string(),
            format!("tool {}", c["name"].as_str().unwrap()),
        )
    }));
    if calls.iter().all(|(at, _)| !at.is_empty()) {
        calls.sort_by(|a, b| a.0.cmp(&b.0));
    }
    let expected: Vec<String> = calls.into_iter().map(|(_, label)| label).collect();
    assert!(!expected.is_empty(), "{result}");
    b.find(".timeline svg").await;
    let labels = b
        .client
        .execute(
            "return [...document.querySelectorAll('.timeline-table tbody tr')].map(r => r.cells[1].textContent);",
            vec![],
        )
        .await
        .unwrap();
    let labels: Vec<String> = serde_json::from_value(labels).unwrap();
    assert_eq!(labels, expected, "one bar per call, in start order");
    let drawn = b
        .client
        .execute(
            "return [...document.querySelectorAll('.timeline svg text')].map(t => t.textContent.trim());",
            vec![],
        )
        .await
        .unwrap();
    let drawn: Vec<String> = serde_json::from_value(drawn).unwrap();
    let captions: Vec<&String> = drawn
        .iter()
        .filter(|t| (t.starts_with("LLM ") || t.starts_with("tool ")) && t.contains(" · "))
        .collect();
    assert_eq!(captions.len(), expected.len(), "{drawn:?}");
    for (caption, label) in captions.iter().zip(&expected) {
        assert!(
            caption.starts_with(&format!("{label} · ")),
            "{caption} for {label}"
        );
    }
    b.screenshot("result").await;
    b.assert_accessible("result").await;
    b.assert_keyboard_reachable("result").await;
}

/// The comparison page opened at its URL; the comparison as the API answers it.
async fn compare_page(p: &Proctor, fresh: &Browser, runs: &Runs) -> Value {
    let Runs {
        base, head, failed, ..
    } = runs;
    // By label and as `latest`; the header names the runs by their labels.
    fresh
        .client
        .goto(&p.url("/compare?base=v1&head=latest"))
        .await
        .unwrap();
    let heading = fresh.text("h2.change-regression").await;
    assert_eq!(heading, format!("regression ({failed})"));
    // The headline names the regressions before the score.
    let headline = fresh.text("p.headline.bad").await;
    assert!(
        headline.starts_with(&format!("{failed} regression(s): ")),
        "{headline}"
    );
    let names = fresh.text(".page-head + p.muted").await;
    assert!(
        names.contains(&format!("v1 ({})", &base[..8]))
            && names.contains(&format!("v2 ({})", &head[..8])),
        "{names}"
    );
    settles_at(fresh, &format!("/compare?base={base}&head={head}")).await;
    let aqs = fresh.text(".cards .card").await;
    assert!(aqs.contains("→"), "{aqs}");
    fresh.find(".aqs-delta svg").await;
    p.get(&format!("/api/v1/compare?base={base}&head={head}"))
        .await
}

/// The AQS delta chart carries the API's own figures: in its table and as the SVG's text.
async fn aqs_delta_chart(fresh: &Browser, cmp: &Value) {
    let delta = &cmp["aqs"];
    let (b, h) = (
        &cmp["base"]["aqs"]["components"],
        &cmp["head"]["aqs"]["components"],
    );
    let f = |v: &Value| v.as_f64().unwrap();
    let mut expected = vec![vec![
        "AQS".to_string(),
        format!("{:.1}", f(&delta["base"])),
        format!("{:.1}", f(&delta["head"])),
        format!("{:+.1}", f(&delta["delta"])),
    ]];
    for (label, key) in [
        ("pass rate", "pass_rate"),
        ("severity", "severity"),
        ("coverage", "coverage"),
    ] {
        expected.push(vec![
            label.to_string(),
            format!("{:.1}", f(&b[key])),
            format!("{:.1}", f(&h[key])),
            format!("{:+.1}", f(&delta["components"][key])),
        ]);
    }
    let rows = fresh
        .client
        .execute(
            "return [...document.querySelectorAll('.aqs-delta-table tbody tr')]
                .map(r => [...r.cells].map(c => c.textContent));",
            vec![],
        )
        .await
        .unwrap();
    let rows: Vec<Vec<String>> = serde_json::from_value(rows).unwrap();
    assert_eq!(rows, expected, "the chart's table against {cmp}");
    let drawn = fresh
        .client
        .execute(
            "return [...document.querySelectorAll('.aqs-delta svg text')].map(t => t.textContent.trim());",
            vec![],
        )
        .await
        .unwrap();
    let drawn: Vec<String> = serde_json::from_value(drawn).unwrap();
    for row in &expected {
        assert!(drawn.contains(&row[3]), "{} is drawn: {drawn:?}", row[3]);
        assert!(drawn.contains(&row[0]), "{} is labelled: {drawn:?}", row[0]);
    }
    let title = fresh
        .client
        .execute(
            "return document.querySelector('.aqs-delta svg title').textContent;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(title, "AQS by component, base and head");
}

/// Failures by category, and one clickable mark per regression on the path-score chart.
async fn category_and_path_charts(fresh: &Browser, cmp: &Value, failed: usize) {
    // Failures by category: the chart's table is the API's category shift, row for row.
    let shift: Vec<Vec<String>> = cmp["category_shift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            vec![
                s["category"].as_str().unwrap().to_string(),
                s["base"].to_string(),
                s["head"].to_string(),
                format!("{:+}", s["delta"].as_i64().unwrap()),
            ]
        })
        .collect();
    assert!(!shift.is_empty(), "{cmp}");
    let drawn: Vec<Vec<String>> = fresh
        .js(
            "return [...document.querySelectorAll('.category-shift-table tbody tr')]
                .map(r => [...r.cells].map(c => c.textContent));",
        )
        .await;
    assert_eq!(drawn.len(), shift.len(), "{drawn:?} against {shift:?}");
    for (row, api) in drawn.iter().zip(&shift) {
        assert_eq!(
            row[0].to_lowercase().replace(' ', "_"),
            api[0],
            "{drawn:?} against {shift:?}"
        );
        assert_eq!(&row[1..], &api[1..], "{drawn:?} against {shift:?}");
    }
    // Path score per case: one clickable mark per regression, linking its pair of results.
    let pairs: Vec<String> = cmp["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["change"] == "regression")
        .map(|c| {
            format!(
                "/results/pair?base={}&head={}",
                c["base"]["result_ids"][0].as_str().unwrap(),
                c["head"]["result_ids"][0].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(pairs.len(), failed);
    let mut marks: Vec<String> = fresh
        .js(
            "return [...document.querySelectorAll('.score-slope a.regression-mark')]
                .map(a => a.getAttribute('href'));",
        )
        .await;
    marks.sort();
    let mut expected_marks = pairs.clone();
    expected_marks.sort();
    assert_eq!(marks, expected_marks);
}

/// The latency and cost spread of every attempt, and the agent's trend with base and head
/// marked.
async fn spread_and_trend(fresh: &Browser, cmp: &Value, runs: &Runs) {
    let (base, head) = (&runs.base, &runs.head);
    let f = |v: &Value| v.as_f64().unwrap();
    let delta = &cmp["aqs"];
    // Latency and cost spread: every attempt of both runs, in the API's bins.
    for (class, key) in [("latency", "latency_ms"), ("cost", "cost_usd")] {
        let rows: Vec<Vec<String>> = fresh
            .js(&format!(
                "return [...document.querySelectorAll('.spread-{class} tbody tr')]
                    .map(r => [...r.cells].map(c => c.textContent));"
            ))
            .await;
        let bins = cmp["distributions"][key]["bins"].as_array().unwrap();
        assert_eq!(rows.len(), bins.len(), "{class}: {rows:?} against {bins:?}");
        let counted =
            |side: usize| -> u64 { rows.iter().map(|r| r[side].parse::<u64>().unwrap()).sum() };
        assert_eq!((counted(1), counted(2)), (20, 20), "{class}: {rows:?}");
        for (row, bin) in rows.iter().zip(bins) {
            assert_eq!(
                (row[1].clone(), row[2].clone()),
                (bin["base"].to_string(), bin["head"].to_string())
            );
        }
    }
    // The trend: one point per judged run of the agent, oldest first, each linking its run,
    // with base and head marked in its tooltip.
    let points: Vec<(String, String)> = fresh
        .js(
            "return [...document.querySelectorAll('.trend svg a.trend-point')]
                .map(a => [a.getAttribute('href'), a.querySelector('title').textContent]);",
        )
        .await;
    assert_eq!(points.len(), 2, "{points:?}");
    assert_eq!(points[0].0, format!("/runs/{base}"));
    assert_eq!(points[1].0, format!("/runs/{head}"));
    let base_aqs = format!("AQS {:.1}", f(&delta["base"]));
    assert!(
        points[0].1.starts_with("v1 (base) · ") && points[0].1.contains(&base_aqs),
        "{points:?}"
    );
    assert!(points[1].1.starts_with("v2 (head) · "), "{points:?}");
    let axis: Vec<String> = fresh
        .js("return [...document.querySelectorAll('.trend svg text')].map(t => t.textContent.trim());")
        .await;
    for label in ["v1", "v2", "100", "run, oldest to newest", "base", "head"] {
        assert!(axis.iter().any(|t| t == label), "{label} in {axis:?}");
    }
    let first_table = fresh.text("table.grid").await;
    assert!(
        first_table.contains("lookup_order→verify_id→refund ⇒ lookup_order→refund"),
        "{first_table}"
    );
}

/// Every chart fits the page from 1,024 to 1,920 px, and the comparison copies as the same
/// Markdown `proctor compare --format markdown` writes.
async fn charts_fit_and_markdown(fresh: &Browser, runs: &Runs) {
    let Runs {
        base, head, failed, ..
    } = runs;
    // Every chart keeps within the page from 1,024 to 1,920 px wide.
    for width in [1024u32, 1920] {
        fresh.client.set_window_size(width, 1000).await.unwrap();
        fresh
            .wait_for(
                &format!(
                    "const page = document.documentElement.clientWidth;
                     const charts = [...document.querySelectorAll('figure.chart')];
                     return window.outerWidth === {width} && charts.length >= 6
                         && charts.every(c => c.getBoundingClientRect().right <= page)
                         && document.documentElement.scrollWidth <= page;"
                ),
                &format!("the charts fit a {width} px window"),
            )
            .await;
    }
    fresh.client.set_window_size(1280, 1000).await.unwrap();
    fresh.screenshot("compare").await;
    fresh.assert_accessible("compare").await;
    fresh.assert_keyboard_reachable("compare").await;
    // Copied as Markdown: the same text `proctor compare --format markdown` writes.
    fresh.click(".copy-markdown button").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let markdown = loop {
        let text = match fresh.client.find(Locator::Css("textarea.markdown")).await {
            Ok(area) => area.prop("value").await.unwrap().unwrap_or_default(),
            Err(_) => String::new(),
        };
        if !text.is_empty() || std::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(markdown.starts_with("## Proctor: v2 vs v1\n"), "{markdown}");
    assert!(
        markdown.contains(&format!("{failed} regression(s)"))
            && markdown.contains("| `case-00000` | 100.0% → 0.0% | expected `verify_id` after `lookup_order`, but it was never called | lookup_order→refund |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("(http://")
            && markdown.contains(&format!("/compare?base={base}&head={head})")),
        "{markdown}"
    );
}

/// A point on the trend opens its run; the agent's page draws the same trend; each case opens
/// both of its results side by side.
async fn trend_agent_and_pair(p: &Proctor, fresh: &Browser, runs: &Runs) {
    let (base, head) = (&runs.base, &runs.head);
    // A point on the trend opens its run.
    fresh
        .click(&format!(".trend svg a.trend-point[href='/runs/{base}']"))
        .await;
    fresh
        .wait_for(
            &format!("return location.pathname === '/runs/{base}';"),
            "the trend's point did not open the run",
        )
        .await;
    assert_eq!(fresh.text(".page-head h1").await, "v1");
    fresh.client.back().await.unwrap();
    // The agent's page draws the same trend, its points linking the same runs.
    fresh.client.goto(&p.url("/agents/support")).await.unwrap();
    fresh.texts(".trend svg a.trend-point", 2).await;
    let links: Vec<String> = fresh
        .js("return [...document.querySelectorAll('.trend svg a.trend-point')].map(a => a.getAttribute('href'));")
        .await;
    assert_eq!(links, [format!("/runs/{base}"), format!("/runs/{head}")]);
    fresh.screenshot("agent").await;
    fresh.assert_accessible("agent").await;
    fresh.assert_keyboard_reachable("agent").await;
    fresh
        .client
        .goto(&p.url(&format!("/compare?base={base}&head={head}")))
        .await
        .unwrap();
    fresh.texts("h2.change-regression", 1).await;
    // Each case opens both of its results side by side.
    fresh.click("table.grid tbody tr td a").await;
    let sides = fresh.texts(".pair > section", 2).await;
    let badges = fresh.texts(".pair .page-head .badge", 2).await;
    assert_eq!(badges, ["passed", "failed"], "{sides:?}");
    fresh.screenshot("pair").await;
    fresh.assert_accessible("pair").await;
}
