//! What the store keeps per run stays equal to what its rows say: after overlapping syncs that
//! replace results by case and by id, after a server is killed in the middle of syncing, and
//! when two large runs are compared a page at a time.

mod common;

use common::{results, typical, Database, Server};
use serde_json::{json, Value};
use shared::api::RunView;
use shared::eval::RunSummary;
use shared::{Agent, TestResult};

/// Finishes a run, as its runner would once every case is stored.
async fn complete(s: &Server, run: &str) {
    let (st, body) = s
        .post(
            &format!("/api/v1/runs/{run}/status"),
            &json!({"status": "completed"}),
        )
        .await;
    assert_eq!(st, 200, "{body}");
}

/// The run's summary recounted from every stored result, read back one by one.
async fn recount(s: &Server, run: &str) -> (RunSummary, RunSummary) {
    let (_, view) = s.get(&format!("/api/v1/runs/{run}")).await;
    let view: RunView = serde_json::from_value(view).unwrap();
    let (_, agent) = s.get("/api/v1/agents/support").await;
    let agent: Agent = serde_json::from_value(agent["agent"].clone())
        .unwrap_or_else(|_| serde_json::from_value(agent).unwrap());
    let mut stored: Vec<TestResult> = Vec::new();
    let mut cursor = String::new();
    loop {
        let (_, page) = s
            .get(&format!("/api/v1/runs/{run}/results?limit=1000{cursor}"))
            .await;
        for row in page["items"].as_array().unwrap() {
            let (_, full) = s
                .get(&format!("/api/v1/results/{}", row["id"].as_str().unwrap()))
                .await;
            stored.push(serde_json::from_value(full).unwrap());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    let recounted = RunSummary::compute(Some(&view.run), &stored, &agent.spec.tool_names());
    (view.summary.expect("a synced run has a summary"), recounted)
}

/// Results for cases `keys` at `attempt`, with latencies, costs and tool paths that differ from
/// one call to the next so a replacement really changes the figures.
fn varied(keys: std::ops::Range<usize>, attempt: u32, salt: usize) -> Value {
    let items: Vec<Value> = keys
        .map(|i| {
            let tools = match (i + salt) % 3 {
                0 => json!(["lookup_order", "verify_id", "refund"]),
                1 => json!(["lookup_order", "refund"]),
                _ => json!(["refund", "lookup_order", "delete_everything"]),
            };
            json!({
                "scenario_key": format!("case-{i}"),
                "attempt": attempt,
                "user_message": format!("Refund order {i}"),
                "agent_response": "Your refund is on its way.",
                "duration_ms": 100 + (i * 37 + salt * 11) % 900,
                "trace": {"llm_calls": [{"provider": "openai", "model": if (i + salt).is_multiple_of(4) { "house-model" } else { "gpt-4o-mini" },
                    "input_tokens": 100 + i, "output_tokens": 10 + salt,
                    "tools_offered": ["lookup_order", "verify_id", "refund"]}]},
                "tool_calls": tools,
                "expectations": {"expected_tools": [{"tool": "lookup_order"}, {"tool": "verify_id"}, {"tool": "refund"}]}
            })
        })
        .collect();
    json!({ "results": items })
}

#[tokio::test]
async fn a_summary_kept_sync_by_sync_equals_a_recount_of_the_rows() {
    let s = Server::start().await;
    let run = s.agent_and_run().await;
    let path = format!("/api/v1/runs/{run}/results");
    for (keys, attempt, salt) in [
        (0..40, 1, 0),
        (20..60, 1, 1),
        (10..30, 2, 2),
        (0..15, 2, 3),
        (50..55, 1, 4),
    ] {
        let (st, body) = s.post(&path, &varied(keys, attempt, salt)).await;
        assert_eq!(st, 200, "{body}");
    }
    // A result re-sent under its id replaces it, even when its case and attempt changed.
    let (_, page) = s.get(&format!("{path}?limit=1")).await;
    let id = page["items"][0]["id"].as_str().unwrap().to_string();
    let mut moved = varied(70..71, 3, 5);
    moved["results"][0]["id"] = json!(id);
    let (st, body) = s.post(&path, &moved).await;
    assert_eq!((st, body["replaced"].as_u64()), (200, Some(1)), "{body}");

    let (kept, recounted) = recount(&s, &run).await;
    assert_eq!(
        kept.total, 90,
        "cases 0–59 at attempt 1 and 0–29 at attempt 2 (one moved to case 70)"
    );
    assert!(
        kept.aqs.as_ref().unwrap().components.consistency.is_some(),
        "repeated cases are measured"
    );
    assert_eq!(kept, recounted);

    complete(&s, &run).await;
    let (kept, recounted) = recount(&s, &run).await;
    assert_eq!(
        kept, recounted,
        "a finished run's wall clock ends at its finish"
    );
}

#[tokio::test]
async fn a_server_killed_mid_sync_leaves_summaries_equal_to_a_recount() {
    let mut first = Server::start().await;
    let run = first.agent_and_run().await;
    let db = first.db.clone();
    let url = first.url(&format!("/api/v1/runs/{run}/results"));
    let client = reqwest::Client::new();
    let (st, _) = first
        .post(
            &format!("/api/v1/runs/{run}/results"),
            &varied(0..100, 1, 9),
        )
        .await;
    assert_eq!(st, 200);
    let mut syncs = Vec::new();
    for k in 0..30 {
        let (client, url) = (client.clone(), url.clone());
        syncs.push(tokio::spawn(async move {
            let body = varied(k * 150..k * 150 + 400, 1 + (k % 2) as u32, k);
            client.post(url).json(&body).send().await.ok()
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    first.kill();
    let mut answered = 0;
    for sync in syncs {
        answered += sync.await.unwrap().is_some_and(|r| r.status().is_success()) as usize;
    }
    assert!(
        answered < 30,
        "the kill came while syncs were still in flight"
    );
    let second = Server::start_with_db(&db).await;
    let (kept, recounted) = recount(&second, &run).await;
    assert_eq!(
        kept, recounted,
        "the summary agrees with the rows after a kill -9"
    );
    drop(first);
}

#[tokio::test]
async fn two_runs_compare_a_page_at_a_time_with_counts_over_every_case() {
    let s = Server::start().await;
    let base = s.agent_and_run().await;
    let head = s.new_run().await;
    s.post(&format!("/api/v1/runs/{base}/results"), &results(900, 0))
        .await;
    let mut changed = results(900, 100);
    for r in changed["results"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .step_by(3)
    {
        r["tool_calls"] = json!(["lookup_order", "verify_id", "refund"]);
    }
    s.post(&format!("/api/v1/runs/{head}/results"), &changed)
        .await;

    let (_, whole) = s
        .get(&format!(
            "/api/v1/compare?base={base}&head={head}&limit=5000"
        ))
        .await;
    assert!(whole["next_cursor"].is_null());
    let every: Vec<Value> = whole["cases"].as_array().unwrap().clone();
    assert_eq!(every.len(), 1000, "cases 0–999 on either side");
    assert_eq!(whole["counts"]["new"], 100);
    assert_eq!(whole["counts"]["removed"], 100);

    let mut paged = Vec::new();
    let mut cursor = String::new();
    loop {
        let (st, page) = s
            .get(&format!(
                "/api/v1/compare?base={base}&head={head}&limit=70{cursor}"
            ))
            .await;
        assert_eq!(st, 200, "{page}");
        assert_eq!(page["counts"], whole["counts"]);
        paged.extend(page["cases"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={}", urlencode(c)),
            None => break,
        }
    }
    assert_eq!(
        paged, every,
        "pages followed by cursor give every case once, in order"
    );

    let (_, improvements) = s
        .get(&format!(
            "/api/v1/compare?base={base}&head={head}&change=improvement&limit=5000"
        ))
        .await;
    let listed = improvements["cases"].as_array().unwrap();
    assert_eq!(
        listed.len() as u64,
        whole["counts"]["improvement"].as_u64().unwrap()
    );
    assert!(listed.iter().all(|c| c["change"] == "improvement"));

    let (st, bad) = s
        .get(&format!(
            "/api/v1/compare?base={base}&head={head}&cursor=nowhere"
        ))
        .await;
    assert_eq!(st, 400, "{bad}");
    assert!(
        bad["error"].as_str().unwrap().contains("next_cursor"),
        "{bad}"
    );
}

/// Tool names are the agent's own: every character a store might treat as syntax (quotes,
/// backslashes, commas, braces, a bare NULL, spaces, non-ASCII) comes back as it was sent, in a
/// page row, in the whole result and in a comparison.
#[tokio::test]
async fn tool_names_come_back_as_sent_whatever_they_hold() {
    let s = Server::start().await;
    let base = s.agent_and_run().await;
    let head = s.new_run().await;
    let names = [
        "say \"hi\"",
        "back\\slash",
        "a,b",
        "{braces}",
        "NULL",
        " spaced out ",
        "zürich-🦀",
        "\\\"",
    ];
    let mut batch = results(1, 0);
    batch["results"][0]["tool_calls"] = json!(names);
    let (st, out) = s
        .post(&format!("/api/v1/runs/{base}/results"), &batch)
        .await;
    assert_eq!(st, 200, "{out}");
    batch["results"][0]["tool_calls"] = json!(["refund"]);
    let (st, out) = s
        .post(&format!("/api/v1/runs/{head}/results"), &batch)
        .await;
    assert_eq!(st, 200, "{out}");

    let (_, page) = s.get(&format!("/api/v1/runs/{base}/results")).await;
    let row = &page["items"][0];
    assert_eq!(row["tool_path"], json!(names), "{row}");
    let (_, full) = s
        .get(&format!("/api/v1/results/{}", row["id"].as_str().unwrap()))
        .await;
    let called: Vec<&str> = full["trace"]["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(called, names, "{full}");
    let (_, cmp) = s
        .get(&format!("/api/v1/compare?base={base}&head={head}"))
        .await;
    assert_eq!(cmp["cases"][0]["base"]["tool_path"], json!(names), "{cmp}");
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn delete(s: &Server, path: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .delete(s.url(path))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The id of the first result stored into `run`.
async fn first_result(s: &Server, run: &str) -> String {
    let (_, page) = s.get(&format!("/api/v1/runs/{run}/results?limit=1")).await;
    page["items"][0]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn deleting_a_run_or_an_agent_removes_it_all_and_gives_space_back() {
    let s = Server::start().await;
    let empty = s.disk_bytes().await;
    let kept = s.agent_and_run().await;
    let gone = s.new_run().await;
    s.post(&format!("/api/v1/runs/{kept}/results"), &results(10, 0))
        .await;
    for k in 0..4 {
        let (st, _) = s
            .post(
                &format!("/api/v1/runs/{gone}/results"),
                &varied(k * 1000..k * 1000 + 1000, 1, k),
            )
            .await;
        assert_eq!(st, 200);
    }
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let full = s.disk_bytes().await;
    let result = first_result(&s, &gone).await;

    let (st, body) = delete(&s, &format!("/api/v1/runs/{gone}")).await;
    assert_eq!(st, 204, "{body}");
    assert_eq!(s.get(&format!("/api/v1/runs/{gone}")).await.0, 404);
    assert_eq!(
        s.get(&format!("/api/v1/results/{result}")).await.0,
        404,
        "its results went with it"
    );
    let (st, body) = delete(&s, &format!("/api/v1/runs/{gone}")).await;
    assert_eq!(st, 404, "deleting twice: {body}");
    assert!(
        body["error"].as_str().unwrap().contains("not found"),
        "{body}"
    );
    let (_, list) = s.get("/api/v1/runs").await;
    assert_eq!(list["total"], 1, "the other run is untouched");
    match s.db {
        // Checkpoints run in the background; the freed pages leave the file with the next one.
        Database::Sqlite(_) => {
            let mut shrunk = false;
            for _ in 0..40 {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                if s.disk_bytes().await < full / 2 {
                    shrunk = true;
                    break;
                }
            }
            assert!(
                shrunk,
                "space is given back: {} bytes before, {} after",
                full,
                s.disk_bytes().await
            );
        }
        // PostgreSQL keeps the space and reuses it: the same volume again fits in it.
        Database::Postgres(_) => {
            let again = s.new_run().await;
            for k in 0..4 {
                let (st, _) = s
                    .post(
                        &format!("/api/v1/runs/{again}/results"),
                        &varied(k * 1000..k * 1000 + 1000, 1, k),
                    )
                    .await;
                assert_eq!(st, 200);
            }
            let refilled = s.disk_bytes().await;
            assert!(
                refilled < full + (full - empty) / 2,
                "the deleted run's space is reused: {empty} bytes empty, {full} full, \
                 {refilled} after deleting and adding as much again"
            );
            delete(&s, &format!("/api/v1/runs/{again}")).await;
        }
    }

    let kept_result = first_result(&s, &kept).await;
    let (st, body) = delete(&s, "/api/v1/agents/support").await;
    assert_eq!(st, 204, "{body}");
    assert_eq!(
        s.get(&format!("/api/v1/runs/{kept}")).await.0,
        404,
        "an agent's runs go with it"
    );
    assert_eq!(
        s.get(&format!("/api/v1/results/{kept_result}")).await.0,
        404,
        "and their results"
    );
    assert_eq!(s.get("/api/v1/agents/support").await.0, 404);
    assert_eq!(results_without_a_run(&s.db).await, 0);
}

#[tokio::test]
async fn finished_runs_past_their_retention_are_deleted_and_the_rest_kept() {
    let mut first = Server::start().await;
    let finished = first.agent_and_run().await;
    let running = first.new_run().await;
    for run in [&finished, &running] {
        first
            .post(&format!("/api/v1/runs/{run}/results"), &results(5, 0))
            .await;
    }
    complete(&first, &finished).await;
    let result = first_result(&first, &finished).await;
    let db = first.db.clone();
    first.kill();

    let second = Server::start_with_db_args(&db, &["--keep-runs-days", "0"]).await;
    let mut deleted = false;
    for _ in 0..50 {
        if second.get(&format!("/api/v1/runs/{finished}")).await.0 == 404 {
            deleted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(deleted, "a run finished before the retention is deleted");
    assert_eq!(
        second.get(&format!("/api/v1/results/{result}")).await.0,
        404,
        "with its results"
    );
    assert_eq!(results_without_a_run(&db).await, 0);
    let (st, view) = second.get(&format!("/api/v1/runs/{running}")).await;
    assert_eq!(st, 200, "an unfinished run is kept: {view}");
    drop(first);
}

/// How many stored results belong to no run, read straight from the database.
async fn results_without_a_run(db: &Database) -> i64 {
    const ORPHANS: &str = "SELECT COUNT(*) FROM results WHERE run_id NOT IN (SELECT id FROM runs)";
    match db {
        Database::Sqlite(_) => {
            let pool = sqlx::SqlitePool::connect(&db.url()).await.unwrap();
            let n = sqlx::query_scalar(ORPHANS).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        }
        Database::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let n = sqlx::query_scalar(ORPHANS).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        }
    }
}

/// A run deleted while batches are being synced into it takes every one of them along: each
/// sync is either stored before the delete (and deleted with the run) or refused as not found,
/// never left behind without its run.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_deleted_mid_sync_leaves_no_result_behind() {
    let s = Server::start().await;
    let run = s.agent_and_run().await;
    let url = s.url(&format!("/api/v1/runs/{run}/results"));
    let (st, body) = s
        .post(&format!("/api/v1/runs/{run}/results"), &results(200, 0))
        .await;
    assert_eq!(st, 200, "{body}");
    let client = reqwest::Client::new();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                for k in 0..8 {
                    let offset = 1000 + (w * 8 + k) * 200;
                    let resp = client
                        .post(&url)
                        .json(&results(200, offset))
                        .send()
                        .await
                        .unwrap();
                    answers.push(resp.status().as_u16());
                }
                answers
            })
        })
        .collect();
    // Once a concurrent batch is in, so the delete lands between syncs of a run being filled.
    for _ in 0..200 {
        let (_, view) = s.get(&format!("/api/v1/runs/{run}")).await;
        if view["summary"]["total"].as_u64().unwrap_or(0) > 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (st, body) = delete(&s, &format!("/api/v1/runs/{run}")).await;
    assert_eq!(st, 204, "{body}");
    let mut answers = Vec::new();
    for w in writers {
        answers.extend(w.await.unwrap());
    }
    assert!(
        answers.iter().all(|st| *st == 200 || *st == 404),
        "every sync is stored or finds its run gone: {answers:?}"
    );
    assert!(
        answers.contains(&404),
        "the delete landed while syncs were still coming: {answers:?}"
    );
    assert_eq!(results_without_a_run(&s.db).await, 0);
}

/// Ten clients syncing 1,000-result batches into their own runs while twenty readers page
/// results and compare runs: every sync and every read answers 200 and every result is
/// stored. (The throughput figures are the sync benchmark's.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_writers_and_twenty_readers_lose_nothing() {
    let s = Server::start().await;
    let first = s.agent_and_run().await;
    let mut runs = vec![first];
    for _ in 1..10 {
        runs.push(s.new_run().await);
    }
    let client = reqwest::Client::new();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..20)
        .map(|i| {
            let (client, stop) = (client.clone(), stop.clone());
            let url = if i % 2 == 0 {
                s.url(&format!(
                    "/api/v1/runs/{}/results?status=failed&limit=50",
                    runs[i % 10]
                ))
            } else {
                s.url(&format!(
                    "/api/v1/compare?base={}&head={}",
                    runs[i % 10],
                    runs[(i + 1) % 10]
                ))
            };
            tokio::spawn(async move {
                let mut reads = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let resp = client.get(&url).send().await.unwrap();
                    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let writers: Vec<_> = runs
        .iter()
        .map(|run| {
            let (client, url) = (
                client.clone(),
                s.url(&format!("/api/v1/runs/{run}/results")),
            );
            tokio::spawn(async move {
                for k in 0..2 {
                    let resp = client
                        .post(&url)
                        .json(&results(1000, k * 1000))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut reads = 0;
    for r in readers {
        reads += r.await.unwrap();
    }
    assert!(reads > 20, "the readers read meanwhile ({reads})");
    for run in &runs {
        let (_, view) = s.get(&format!("/api/v1/runs/{run}")).await;
        assert_eq!(view["summary"]["total"], 2000, "{view}");
    }
}

/// Puts a database back as the release before latency histograms and case facts left it:
/// verdicts with `has_latency` and no latency, tallies with a count of latencies, the latency
/// index, the case index over separate columns, no scenario `user_turns` or `simulated_user`, no
/// recorded turns, no judges' tables or agent rubric, no shared runs' cases or workers,
/// PostgreSQL's documents as `json`, no chunk function, the results table's original keys and storage settings, and none of the
/// migrations since applied.
async fn rewind_to_before_histograms_and_case_facts(db: &Database) {
    match db {
        Database::Sqlite(_) => {
            // One connection: another one of a pool, its schema cached from before the DROP
            // INDEX, can refuse the CREATE INDEX that follows as "already exists".
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect(&db.url())
                .await
                .unwrap();
            for statement in [
                "UPDATE results SET verdict = json_set(json_remove(verdict, '$.latency_ms'),
                     '$.has_latency', json(CASE WHEN latency_ms IS NULL THEN 'false' ELSE 'true' END))",
                "UPDATE runs SET tally = json_set(json_remove(tally, '$.latency'), '$.latencies',
                     (SELECT COUNT(latency_ms) FROM results WHERE run_id = runs.id))",
                "CREATE INDEX results_by_latency ON results (run_id, latency_ms)
                     WHERE latency_ms IS NOT NULL",
                "DROP INDEX results_cases",
                "ALTER TABLE results DROP COLUMN case_facts",
                "CREATE INDEX results_cases ON results (run_id, scenario_key, attempt, status,
                     cost_usd, cost_complete, latency_ms, tool_path, id)",
                "ALTER TABLE scenarios DROP COLUMN user_turns",
                "ALTER TABLE scenarios DROP COLUMN simulated_user",
                "DROP TABLE recorded_turns",
                "DROP TABLE judgements",
                "DROP TABLE judge_reviews",
                "DROP TABLE spans",
                "DROP TABLE recordings",
                "DROP TABLE run_cases",
                "DROP TABLE run_workers",
                "ALTER TABLE agents DROP COLUMN rubric",
                "DELETE FROM _sqlx_migrations WHERE version >= 5",
            ] {
                sqlx::query(statement).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        Database::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            for statement in [
                "DROP TRIGGER runs_take_their_results ON runs",
                "DROP FUNCTION delete_results_of_deleted_runs",
                "ALTER TABLE results ADD FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE",
                "ALTER TABLE results DROP CONSTRAINT results_pkey, ADD PRIMARY KEY (seq)",
                "CREATE INDEX results_by_run ON results (run_id, seq)",
                "ALTER TABLE results RESET (toast_tuple_target)",
                "DROP FUNCTION case_facts_chunk",
                "ALTER TABLE results ALTER COLUMN verdict TYPE json USING verdict::json,
                     ALTER COLUMN trace TYPE json USING trace::json,
                     ALTER COLUMN evaluation TYPE json USING evaluation::json",
                "UPDATE results SET verdict = ((verdict::jsonb - 'latency_ms')
                     || jsonb_build_object('has_latency', latency_ms IS NOT NULL))::json",
                "UPDATE runs SET tally = (tally - 'latency') || jsonb_build_object('latencies',
                     (SELECT COUNT(latency_ms) FROM results WHERE run_id = runs.id))",
                "ALTER TABLE runs ALTER COLUMN tally SET NOT NULL",
                "CREATE INDEX results_by_latency ON results (run_id, latency_ms)
                     WHERE latency_ms IS NOT NULL",
                "DROP INDEX results_cases",
                "ALTER TABLE results DROP COLUMN case_facts",
                "CREATE UNIQUE INDEX results_cases ON results (run_id, scenario_key, attempt)
                     INCLUDE (status, cost_usd, cost_complete, latency_ms, tool_path, id)",
                "ALTER TABLE scenarios DROP COLUMN user_turns",
                "ALTER TABLE scenarios DROP COLUMN simulated_user",
                "DROP TABLE recorded_turns",
                "DROP TABLE judgements",
                "DROP TABLE judge_reviews",
                "DROP TABLE spans",
                "DROP TABLE recordings",
                "DROP TABLE run_cases",
                "DROP TABLE run_workers",
                "ALTER TABLE agents DROP COLUMN rubric",
                "DELETE FROM _sqlx_migrations WHERE version >= 5",
            ] {
                sqlx::query(statement).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
    }
}

#[tokio::test]
async fn runs_stored_before_histograms_and_case_facts_are_upgraded_in_place() {
    let mut old = Server::start().await;
    let run = old.agent_and_run().await;
    let path = format!("/api/v1/runs/{run}/results");
    let (st, body) = old.post(&path, &varied(0..80, 1, 0)).await;
    assert_eq!(st, 200, "{body}");
    let head = old.new_run().await;
    let (st, body) = old
        .post(
            &format!("/api/v1/runs/{head}/results"),
            &varied(10..90, 1, 1),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    let compare = format!("/api/v1/compare?base={run}&head={head}");
    let (_, compared) = old.get(&compare).await;
    let (before, _) = recount(&old, &run).await;
    let db = old.db.clone();
    old.kill();
    rewind_to_before_histograms_and_case_facts(&db).await;

    let upgraded = Server::start_with_db(&db).await;
    let (kept, recounted) = recount(&upgraded, &run).await;
    assert_eq!(kept, before, "the upgrade recounts the same figures");
    assert_eq!(kept, recounted);
    let (st, compared_after) = upgraded.get(&compare).await;
    assert_eq!(st, 200, "{compared_after}");
    assert_eq!(
        compared_after, compared,
        "case facts made by the migration compare as those made by a sync"
    );
    // Replacing upgraded results takes their old latencies out of the histogram.
    let (st, body) = upgraded.post(&path, &varied(0..60, 1, 7)).await;
    assert_eq!(st, 200, "{body}");
    let (kept, recounted) = recount(&upgraded, &run).await;
    assert_ne!(
        kept.latency_p50_ms, before.latency_p50_ms,
        "the replacement moved the median"
    );
    assert_eq!(kept, recounted);
    drop(old);
}

/// The numbers under which releases before the shared numbering recorded their migrations,
/// by description: SQLite's and PostgreSQL's folders once counted each change separately.
fn numbers_before_alignment(db: &Database) -> &'static [(i64, &'static str)] {
    match db {
        Database::Sqlite(_) => &[(13, "binary case facts")],
        Database::Postgres(_) => &[
            (2, "latency histograms"),
            (3, "case facts"),
            (4, "user turns"),
            (5, "simulated users"),
            (6, "reliability"),
            (7, "judges"),
            (8, "spans"),
            (9, "case scores"),
            (10, "lz4 toast"),
            (11, "documents as text"),
            (12, "case facts chunk"),
            (13, "binary case facts"),
            (14, "leaner result inserts"),
        ],
    }
}

/// The versions a database records as applied, in order.
async fn recorded_versions(db: &Database) -> Vec<i64> {
    let query = "SELECT version FROM _sqlx_migrations ORDER BY version";
    match db {
        Database::Sqlite(_) => {
            let pool = sqlx::SqlitePool::connect(&db.url()).await.unwrap();
            let versions = sqlx::query_scalar(query).fetch_all(&pool).await.unwrap();
            pool.close().await;
            versions
        }
        Database::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let versions = sqlx::query_scalar(query).fetch_all(&pool).await.unwrap();
            pool.close().await;
            versions
        }
    }
}

/// Records the database's migrations under the numbers an earlier release gave them, lowest
/// first (each old number is below its new one, and free by the time it is taken).
async fn record_old_numbers(db: &Database) {
    for &(old, description) in numbers_before_alignment(db) {
        let statement = format!(
            "UPDATE _sqlx_migrations SET version = {old} WHERE description = '{description}'"
        );
        let changed = match db {
            Database::Sqlite(_) => {
                let pool = sqlx::SqlitePool::connect(&db.url()).await.unwrap();
                let done = sqlx::query(&statement).execute(&pool).await.unwrap();
                pool.close().await;
                done.rows_affected()
            }
            Database::Postgres(url) => {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                let done = sqlx::query(&statement).execute(&pool).await.unwrap();
                pool.close().await;
                done.rows_affected()
            }
        };
        assert_eq!(changed, 1, "{description} is recorded once");
    }
}

/// The versions of the migration files this build applies to the database.
fn file_versions(db: &Database) -> Vec<i64> {
    let folder = match db {
        Database::Sqlite(_) => "sqlite",
        Database::Postgres(_) => "postgres",
    };
    let mut versions: Vec<i64> =
        std::fs::read_dir(common::repo().join("server/migrations").join(folder))
            .unwrap()
            .map(|e| {
                let name = e.unwrap().file_name().to_string_lossy().into_owned();
                name.split('_').next().unwrap().parse().unwrap()
            })
            .collect();
    versions.sort();
    versions
}

#[tokio::test]
async fn a_database_recorded_under_the_old_migration_numbers_upgrades_and_keeps_its_runs() {
    let mut old = Server::start().await;
    let run = old.agent_and_run().await;
    let path = format!("/api/v1/runs/{run}/results");
    let (st, body) = old.post(&path, &varied(0..40, 1, 0)).await;
    assert_eq!(st, 200, "{body}");
    let (before, _) = recount(&old, &run).await;
    let db = old.db.clone();
    old.kill();
    assert_eq!(recorded_versions(&db).await, file_versions(&db));
    record_old_numbers(&db).await;
    assert_ne!(recorded_versions(&db).await, file_versions(&db));

    for restart in 0u64..2 {
        let upgraded = Server::start_with_db(&db).await;
        assert_eq!(
            recorded_versions(&db).await,
            file_versions(&db),
            "start {restart}: every migration is recorded under its shared number"
        );
        let (kept, recounted) = recount(&upgraded, &run).await;
        assert_eq!(kept.total, before.total + 10 * restart, "start {restart}");
        assert_eq!(kept, recounted);
        let (st, body) = upgraded
            .post(
                &path,
                &varied(40 + 10 * restart as usize..50 + 10 * restart as usize, 1, 0),
            )
            .await;
        assert_eq!(st, 200, "{body}");
    }
    drop(old);
}

/// PostgreSQL compresses a result's large JSON with lz4 rather than its slow default, pglz (a
/// quarter of the database's CPU time in a sync). SQLite stores values as they are.
#[tokio::test]
async fn postgres_compresses_results_with_lz4() {
    let s = Server::start().await;
    let Database::Postgres(url) = &s.db else {
        return;
    };
    let run = s.agent_and_run().await;
    let (st, body) = s
        .post(
            &format!("/api/v1/runs/{run}/results"),
            &json!({"results": [{
                "scenario_key": "long",
                "user_message": "Summarise the refund policy",
                "agent_response": "Refunds are issued within five business days. ".repeat(200),
            }]}),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT attname || '=' || attcompression::text FROM pg_attribute
         WHERE attrelid = 'results'::regclass AND attname IN ('trace', 'evaluation', 'agent_response')
         ORDER BY attname",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(columns, ["agent_response=l", "evaluation=l", "trace=l"]);
    let stored: Option<String> =
        sqlx::query_scalar("SELECT pg_column_compression(agent_response) FROM results")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(stored.as_deref(), Some("lz4"));
    pool.close().await;
}

/// A typical result (the benchmark's: two LLM calls, two or three tool calls, an evaluation of
/// six checks) is compressed within its own row on PostgreSQL instead of having its largest
/// value moved out to the TOAST table, a row and an index entry more per result written one at
/// a time.
#[tokio::test]
async fn postgres_keeps_a_typical_result_in_its_row() {
    let s = Server::start().await;
    let Database::Postgres(url) = &s.db else {
        return;
    };
    let run = s.agent_and_run().await;
    let (st, body) = s
        .post(
            &format!("/api/v1/runs/{run}/results"),
            &typical::batch(0..50, 0),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let (compressed, toasted): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*) FILTER (WHERE pg_column_compression(trace) IS NOT NULL),
                (SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE oid = 'results'::regclass)
         FROM results",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(compressed, 50, "the rows are large enough to be compressed");
    assert_eq!(toasted, 0, "and stay whole in the table once they are");
    pool.close().await;
}

/// How many of a run's rows a comparison's index scan still reads from the table, because the
/// visibility map does not yet mark their pages visible to all.
async fn heap_fetches(pool: &sqlx::PgPool, run: &str) -> u64 {
    let mut tx = pool.begin().await.unwrap();
    for setting in ["enable_sort", "enable_bitmapscan", "enable_seqscan"] {
        sqlx::query(&format!("SET LOCAL {setting} = off"))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    let plan: Vec<String> = sqlx::query_scalar(&format!(
        "EXPLAIN (ANALYZE, COSTS OFF) SELECT case_facts FROM results WHERE run_id = '{run}'
         ORDER BY scenario_key, attempt"
    ))
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("Index Only Scan"), "{plan}");
    plan.lines()
        .find_map(|l| l.trim().strip_prefix("Heap Fetches: "))
        .map(|n| n.parse::<u64>().unwrap())
        .unwrap_or_else(|| panic!("{plan}"))
}

/// What `probe` reads once `done` holds of it, or its last reading after `seconds` of asking
/// every 100 ms.
async fn within<T, F: std::future::Future<Output = T>>(
    seconds: u64,
    mut probe: impl FnMut() -> F,
    done: impl Fn(&T) -> bool,
) -> T {
    let mut seen = probe().await;
    for _ in 0..seconds * 10 {
        if done(&seen) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        seen = probe().await;
    }
    seen
}

/// Waits up to `seconds` for a run's rows to need no visit to the table; how many still do.
async fn heap_fetches_within(pool: &sqlx::PgPool, run: &str, seconds: u64) -> u64 {
    within(seconds, || heap_fetches(pool, run), |&n| n == 0).await
}

/// A server on a fresh database of the durable cluster, with one run holding 300 results, and
/// a connection of the test's own to that database.
async fn run_of_300_on_postgres() -> (Server, String, sqlx::PgPool) {
    let url = common::postgres::durable_cluster().database();
    let s = Server::start_with_db(&Database::Postgres(url.clone())).await;
    let run = s.agent_and_run().await;
    let (st, body) = s
        .post(&format!("/api/v1/runs/{run}/results"), &results(300, 0))
        .await;
    assert_eq!(st, 200, "{body}");
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    (s, run, pool)
}

/// A run that finishes is compared from its case index alone: its rows are marked visible in
/// PostgreSQL's visibility map right after, not whenever autovacuum next looks. On a durable cluster,
/// as PostgreSQL marks nothing visible to all while the commit that wrote it may still be
/// unflushed, as the test cluster's asynchronous commits are for a while.
#[tokio::test]
async fn postgres_compares_a_finished_run_from_its_index_alone() {
    if !common::postgres::selected() {
        return;
    }
    let (s, run, pool) = run_of_300_on_postgres().await;
    assert!(
        heap_fetches(&pool, &run).await > 0,
        "a running run's rows are fresh"
    );
    complete(&s, &run).await;
    // The VACUUM runs after the answer; 300 rows are far below autovacuum's threshold, so
    // nothing else marks them.
    assert_eq!(
        heap_fetches_within(&pool, &run, 10).await,
        0,
        "still visiting the table 10 s after the run finished"
    );
    pool.close().await;
}

/// A page someone is reading while the run finishes cannot be locked for cleanup, so the
/// `VACUUM` that follows leaves it unmarked: a later pass marks it once the reader is done. The
/// reader here is a cursor stopped on the table's first page, which keeps that page pinned.
#[tokio::test]
async fn postgres_marks_a_page_that_was_being_read_when_its_run_finished() {
    if !common::postgres::selected() {
        return;
    }
    let (s, run, pool) = run_of_300_on_postgres().await;
    let vacuums = || async {
        let n: i64 = sqlx::query_scalar(
            "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'results'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        n
    };
    let mut reader = pool.begin().await.unwrap();
    sqlx::query("DECLARE pinned CURSOR FOR SELECT seq FROM results")
        .execute(&mut *reader)
        .await
        .unwrap();
    sqlx::query("FETCH 1 FROM pinned")
        .fetch_one(&mut *reader)
        .await
        .unwrap();
    let before = vacuums().await;
    complete(&s, &run).await;
    assert!(
        within(10, vacuums, |&n| n != before).await != before,
        "no VACUUM 10 s after the run finished"
    );
    assert!(
        heap_fetches(&pool, &run).await > 0,
        "the first pass cannot mark the page the cursor is on"
    );
    reader.rollback().await.unwrap();
    assert_eq!(
        heap_fetches_within(&pool, &run, 15).await,
        0,
        "the page read during the first pass is still unmarked 15 s later"
    );
    pool.close().await;
}

/// A run failed for its lost leases (its cases handed out more often than
/// `--max-lost-leases` allows) is finished like a completed one, and readied for comparison
/// alike. The lease outlasts the sync by far, so the run fails with its rows in.
#[tokio::test]
async fn postgres_readies_a_run_failed_by_its_lost_leases_for_comparison() {
    if !common::postgres::selected() {
        return;
    }
    let url = common::postgres::durable_cluster().database();
    let s = Server::start_with_db_args(
        &Database::Postgres(url.clone()),
        &["--lease-secs", "3", "--max-lost-leases", "1"],
    )
    .await;
    s.agent_and_run().await;
    let (st, queued) = s
        .post("/api/v1/runs", &json!({"agent": "support", "queued": true}))
        .await;
    assert_eq!(st, 201, "{queued}");
    let run = queued["run"]["id"].as_str().unwrap().to_string();
    let claim = |worker: &'static str| {
        let s = &s;
        async move {
            let body = json!({"worker": worker, "agents": ["support"], "max_cases": 256});
            s.post("/api/v1/runs/claim-cases", &body).await
        }
    };
    let (st, claimed) = claim("gone").await;
    assert_eq!(st, 200, "{claimed}");
    assert_eq!(claimed["run"]["run"]["id"], run.as_str(), "{claimed}");
    let (st, body) = s
        .post(&format!("/api/v1/runs/{run}/results"), &results(300, 0))
        .await;
    assert_eq!(st, 200, "{body}");
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    assert!(heap_fetches(&pool, &run).await > 0, "fresh rows");
    // The next worker to ask finds the cases the first one lost, each handed out once too
    // often: the run fails.
    let status = within(
        10,
        || async {
            claim("next").await;
            s.get(&format!("/api/v1/runs/{run}")).await.1["run"]["status"].clone()
        },
        |status| status == "failed",
    )
    .await;
    assert_eq!(status, "failed", "the worker never renewed its leases");
    assert_eq!(
        heap_fetches_within(&pool, &run, 10).await,
        0,
        "still visiting the table 10 s after the run failed"
    );
    pool.close().await;
}

/// Every statement of a sync but its `COPY` reads a few pages per case the batch names, however
/// many results its run already holds and whatever the planner's statistics say of it: they
/// lag behind a run that grows by a thousand results a sync, and a plan that read the whole run
/// to find the batch's cases made every sync cost O(run). Counted in pages by
/// `pg_stat_statements`.
#[tokio::test]
async fn postgres_a_sync_reads_only_what_its_batch_names() {
    if !common::postgres::selected() {
        return;
    }
    let url = common::postgres::cluster().database();
    let s = Server::start_with_db(&Database::Postgres(url.clone())).await;
    let run = s.agent_and_run().await;
    for k in 0..6 {
        let (st, body) = s
            .post(
                &format!("/api/v1/runs/{run}/results"),
                &typical::batch(k * 1000..(k + 1) * 1000, 0),
            )
            .await;
        assert_eq!(st, 200, "{body}");
    }
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query("CREATE EXTENSION pg_stat_statements")
        .execute(&pool)
        .await
        .unwrap();
    let db: sqlx::postgres::types::Oid =
        sqlx::query_scalar("SELECT oid FROM pg_database WHERE datname = current_database()")
            .fetch_one(&pool)
            .await
            .unwrap();
    let heap_pages: i32 = sqlx::query_scalar(
        "SELECT pg_relation_size('results')::int / current_setting('block_size')::int",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query("SELECT pg_stat_statements_reset(0, $1, 0)")
        .bind(db)
        .execute(&pool)
        .await
        .unwrap();
    // 98 new cases and two sent again.
    let (st, body) = s
        .post(
            &format!("/api/v1/runs/{run}/results"),
            &typical::batch((6000..6098).chain(5..7), 0),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["replaced"], 2, "{body}");
    let read: Vec<(String, i64)> = sqlx::query_as(
        "SELECT query, shared_blks_hit + shared_blks_read FROM pg_stat_statements
         WHERE dbid = $1 AND query NOT ILIKE 'COPY%' AND query NOT ILIKE '%pg_stat_statements%'",
    )
    .bind(db)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        read.iter().any(|(q, _)| q.contains("scenario_key")),
        "the lookup by case ran: {read:?}"
    );
    for (query, pages) in read {
        assert!(
            pages <= 100 * 5,
            "{pages} pages read for 100 cases of a run of {heap_pages} pages: {query}"
        );
    }
    pool.close().await;
}

/// A NUL character (U+0000) is valid JSON text: SQLite keeps it; PostgreSQL cannot, and says so
/// as a client error that stores nothing, not as a failure of the server.
#[tokio::test]
async fn a_nul_character_is_kept_or_refused_plainly() {
    let s = Server::start().await;
    let run = s.agent_and_run().await;
    let path = format!("/api/v1/runs/{run}/results");
    let (st, body) = s
        .post(
            &path,
            &json!({"results": [{"scenario_key": "nul", "user_message": "a\u{0}b",
                "agent_response": "fine", "tool_calls": ["lookup_order"]}]}),
        )
        .await;
    match s.db {
        Database::Sqlite(_) => {
            assert_eq!(st, 200, "{body}");
            assert_eq!(body["verdicts"][0]["user_message"], "a\u{0}b");
        }
        Database::Postgres(_) => {
            assert_eq!(st, 422, "{body}");
            let error = body["error"].as_str().unwrap();
            assert!(
                error.contains("U+0000") && error.contains("Nothing was changed"),
                "{error}"
            );
            let (_, page) = s.get(&path).await;
            assert_eq!(page["total"], 0, "{page}");
            let (st, body) = s.get("/api/v1/agents/sup%00port").await;
            assert_eq!(st, 422, "a read names no storing: {body}");
            let error = body["error"].as_str().unwrap();
            assert!(
                error.contains("U+0000") && !error.contains("stored"),
                "{error}"
            );
        }
    }
}
