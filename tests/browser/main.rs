//! The dashboard in real headless Chromium against a real `proctor serve` whose data came in
//! through the REST API. Every test saves screenshots under target/screenshots/.

use std::time::Duration;

use e2e::{Browser, Proctor};
use fantoccini::Locator;
use serde_json::{json, Value};

mod tour;

fn pct(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

/// Whether the open drawer has finished its slide (its transform is back to none).
const SLID_IN: &str = "const d = document.querySelector('.drawer.open'); \
     return !!d && getComputedStyle(d).transform === 'none';";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drawer_starts_a_run_and_its_results_arrive_live() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("agent.yaml"),
        // Case sN takes N-1 seconds, so the four cases kept finish (and sync) one by one.
        "name: echo-agent\ntools: [{name: lookup}]\nrun:\n  command: \"n=$(grep -o 'question [0-9]' | head -1 | cut -c10); sleep $((n - 1)); echo done\"\n",
    )
    .unwrap();
    let p = Proctor::start(vec![dir.path().join("agent.yaml")]).await;
    let scenarios: Vec<_> = (0..6)
        .map(|i| json!({"key": format!("s{i}"), "user_message": format!("question {i}")}))
        .collect();
    // The worker registers the agent; give it a moment, then store the scenarios.
    tokio::time::sleep(Duration::from_millis(300)).await;
    p.post(
        "/api/v1/agents/echo-agent/scenarios",
        &json!({ "scenarios": scenarios }),
    )
    .await;

    let b = Browser::open().await;
    b.client.goto(&p.url("/agents")).await.unwrap();
    b.texts("table.grid tbody tr", 1).await;
    b.screenshot("agents").await;
    b.assert_accessible("agents").await;
    server_gone_then_back(&p, &b).await;
    drawer_keeps_a_choice_and_the_keyboard(&b).await;
    results_arrive_live(&b).await;
    delete_from_the_run_page(&p, &b).await;
    b.close().await;
}

/// When the server cannot be reached (every fetch fails as it does on a refused connection),
/// the next page says so and offers a retry; retrying once it is back loads the page. An agent
/// with no runs says what to do.
async fn server_gone_then_back(p: &Proctor, b: &Browser) {
    // When the server cannot be reached (every fetch fails as it does on a refused
    // connection), the next page says so and offers a retry; retrying once it is back loads
    // the page, here the empty run list with what to do.
    b.js::<Value>(
        "window.fetch = () => Promise.reject(new TypeError('Failed to fetch')); return null;",
    )
    .await;
    b.click("nav a[href='/runs']").await;
    let gone = b.text(".error-box").await;
    assert!(gone.starts_with("Could not load this page."), "{gone}");
    b.screenshot("server-gone").await;
    b.assert_accessible("server-gone").await;
    b.click(".error-box button").await;
    let empty = b.text(".empty").await;
    assert!(empty.starts_with("No test runs yet."), "{empty}");
    b.client.goto(&p.url("/agents/echo-agent")).await.unwrap();
    b.texts("button.primary", 1).await;
    assert!(b.text(".empty").await.starts_with("No runs yet."));
    b.screenshot("agent-no-runs").await;
    b.assert_accessible("agent-no-runs").await;
}

/// The drawer keeps four of the six scenarios, holds the keyboard while open, and starts the
/// run.
async fn drawer_keeps_a_choice_and_the_keyboard(b: &Browser) {
    b.click(".page-head button.primary").await;
    b.texts(".drawer.open .scenario-list li", 6).await;
    // A click while the drawer still slides in lands where a box was a moment ago (another
    // element gets it): wait for the slide to end.
    b.wait_for(SLID_IN, "the drawer finished sliding in").await;
    // Keep four scenarios: clear two of them.
    for key in ["s0", "s1"] {
        let boxes = b
            .client
            .find_all(Locator::XPath(&format!(
                "//li[.//code[text()='{key}']]//input"
            )))
            .await
            .unwrap();
        boxes[0].click().await.unwrap();
    }
    assert!(b.text(".drawer .row .muted").await.contains("4 selected"));
    b.screenshot("drawer").await;
    b.assert_accessible("drawer").await;
    // The open drawer holds the keyboard: Tab cycles through its controls, Escape closes it and
    // gives focus back to the button that opened it.
    let inside = "return document.querySelector('.drawer').contains(document.activeElement);";
    assert!(b.js::<bool>(inside).await, "focus moved into the drawer");
    let controls: usize = b
        .js("return document.querySelectorAll('.drawer button:not([disabled]), .drawer input:not([disabled])').length;")
        .await;
    for i in 0..controls + 2 {
        let focused = b.client.active_element().await.unwrap();
        focused.send_keys("\u{E004}").await.unwrap();
        assert!(b.js::<bool>(inside).await, "Tab {i} left the drawer");
    }
    let focused = b.client.active_element().await.unwrap();
    focused.send_keys("\u{E00C}").await.unwrap();
    b.wait_for(
        "return !document.querySelector('.drawer.open') && document.activeElement.matches('.page-head button.primary');",
        "Escape closes the drawer and gives focus back",
    )
    .await;
    b.click(".page-head button.primary").await;
    b.wait_for(
        "const n = document.querySelector('.drawer.open .row .muted'); return !!n && n.textContent.includes('4 selected');",
        "the drawer opens again with the same choice",
    )
    .await;
    b.wait_for(SLID_IN, "the drawer finished sliding in again")
        .await;
    b.click(".drawer button.primary").await;
}

/// The view moves to the queued run, and its results and progress arrive as the worker syncs
/// them.
async fn results_arrive_live(b: &Browser) {
    // The view moves to the queued run, and its results appear as the worker syncs them.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let url = b.client.current_url().await.unwrap();
        if url.path().starts_with("/runs/") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the drawer did not move to the run"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The progress bar fills from the event stream while the run is live: (done, total, live)
    // as the page showed them, until all four are done.
    let mut seen: Vec<(u64, u64, bool)> = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let now: Option<(u64, u64, bool)> = b
            .js("const bar = document.querySelector('.progress-bar');
                 return bar && [Number(bar.getAttribute('aria-valuenow')),
                     Number(bar.getAttribute('aria-valuemax')),
                     bar.parentElement.classList.contains('live')];")
            .await;
        if let Some(now) = now {
            if seen.last() != Some(&now) {
                seen.push(now);
            }
            if now.0 == 4 {
                break;
            }
        }
        assert!(std::time::Instant::now() < deadline, "progress: {seen:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen.iter().all(|s| s.1 == 4), "{seen:?}");
    assert!(
        seen.iter()
            .any(|&(done, _, live)| live && done > 0 && done < 4),
        "the bar moved while the run was live: {seen:?}"
    );
    assert!(
        seen.windows(2).all(|w| w[0].0 <= w[1].0),
        "never went back: {seen:?}"
    );
    let rows = b.texts("table.grid tbody tr", 4).await;
    assert_eq!(rows.len(), 4);
    assert!(b.text(".cards .card").await.contains("100.0%"));
    assert!(
        b.text(".progress-text")
            .await
            .contains("4 of 4 cases done · 4 passed"),
        "{seen:?}"
    );
    // The server's own worker ran the run, and the page says so.
    let workers = b.texts(".run-workers tbody tr", 1).await;
    assert_eq!(workers.len(), 1, "{workers:?}");
    assert!(
        workers[0].starts_with("serve-") && workers[0].contains('4'),
        "the worker and its four stored cases: {workers:?}"
    );
    b.screenshot("live").await;
    b.assert_accessible("live").await;
}

/// Deleting the run from its page asks first, then leaves for the run list; the run is gone.
async fn delete_from_the_run_page(p: &Proctor, b: &Browser) {
    // Deleting the run from its page asks first, then leaves for the run list; the run is gone.
    let run_path = b.client.current_url().await.unwrap().path().to_string();
    let run_id = run_path.trim_start_matches("/runs/").to_string();
    b.click(".page-head button.danger").await;
    b.client.accept_alert().await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while b.client.current_url().await.unwrap().path() != "/runs" {
        assert!(
            std::time::Instant::now() < deadline,
            "deleting did not move to the run list"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let gone = p.get(&format!("/api/v1/runs/{run_id}")).await;
    assert_eq!(gone["kind"], "not_found", "{gone}");
}

/// With a token, the dashboard shows nothing until the token is entered once; then the page
/// loads, and a wrong token is told apart from a missing page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_the_dashboard_asks_for_it_once_then_shows_the_runs() {
    let p = Proctor::start_with_token(vec![], Some("correct-horse-battery")).await;
    p.agent("support").await;
    p.run_with("support", "guarded", 3, |_| {
        vec!["lookup_order", "verify_id", "refund"]
    })
    .await;

    let b = Browser::open().await;
    b.client.goto(&p.url("/runs")).await.unwrap();
    let refused = b.text(".error-box").await;
    assert!(refused.starts_with("Not signed in."), "{refused}");
    let field = b
        .client
        .find(Locator::Css(".error-box input[type='password']"))
        .await
        .unwrap();
    field.send_keys("wrong-token").await.unwrap();
    b.click(".error-box button").await;
    let said = b.text(".error-box .error").await;
    assert!(said.contains("does not match"), "{said}");
    field.clear().await.unwrap();
    field.send_keys("correct-horse-battery").await.unwrap();
    b.click(".error-box button").await;
    let rows = b.texts("table.grid tbody tr", 1).await;
    assert!(rows[0].contains("guarded"), "{rows:?}");
    b.screenshot("signed-in").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_shows_the_world_it_changed_and_which_half_of_the_verdict_failed() {
    let p = Proctor::start(vec![]).await;
    p.agent("desk").await;
    let recorded = "0b6c3e2a-5d1f-4a8e-9c7b-2f4d6e8a1c3b";
    let run = p
        .post(
            "/api/v1/runs",
            &json!({"agent": "desk", "replay": {"run": recorded, "masks": ["T-\\d+"]}}),
        )
        .await;
    let run = run["run"]["id"].as_str().unwrap().to_string();
    let before =
        json!({"orders": {"ORD-1": {"status": "delivered"}, "ORD-2": {"status": "delivered"}}});
    let after = json!({"orders": {"ORD-1": {"status": "refunded"}, "ORD-2": {"status": "refunded"}},
                       "audit": [{"refund": "ORD-1"}]});
    let synced = p
        .post(
            &format!("/api/v1/runs/{run}/results"),
            &json!({"results": [{
                "scenario_key": "refund-one",
                "user_message": "Where is ORD-1?",
                "agent_response": "Done.",
                "trace": {
                    "state": {"before": before, "after": after},
                    "turns": [
                        {"user": "Where is ORD-1?", "agent": "It was delivered.", "origin": "scripted"},
                        {"user": "Refund ORD-1", "agent": "Which order do you mean?",
                         "origin": "replayed", "transcript_hash": "a1".repeat(32), "replay": "Refund ORD-1"},
                        {"user": "ORD-1, as I said.", "agent": "Done.",
                         "origin": "simulated", "transcript_hash": "b2".repeat(32), "replay": "ORD-1, as I said."}
                    ],
                    "conversation_end": {"by": "user", "transcript_hash": "c3".repeat(32)},
                    "diverged_at": 3,
                    "replay": {"mode": "fork", "recorded": 2, "replayed": 1, "live": 1,
                               "diverged": {"call": 2, "field": "messages[3].content",
                                            "lines": ["- {\"refunded\": false}",
                                                      "+ {\"refunded\": true, \"to\": \"ann.lee@example.com\"}"]}},
                    "tool_calls": [
                        {"name": "lookup_order", "order": 0, "turn": 1},
                        {"name": "refund", "order": 1, "turn": 3,
                         "arguments": {"order_id": "ORD-1"}, "result": {"refunded": true}}
                    ],
                    "llm_calls": [
                        {"model": "gpt-4o-mini", "turn": 3, "input_tokens": 120, "output_tokens": 8,
                         "latency_ms": 310.0, "tools_chosen": ["refund"]}
                    ]
                },
                "expectations": {
                    "expected_tools": [{"tool": "lookup_order"}, {"tool": "refund"}],
                    "expected_state": {"orders.ORD-1.status": {"equals": "refunded"}},
                    "unchanged": ["orders.ORD-2"]
                }
            }]}),
        )
        .await;
    let id = synced["result_ids"][0].as_str().unwrap();
    // A reviewer confirms the first check; the page shows who and why beside the verdicts.
    let reviewed = p
        .post(
            &format!("/api/v1/results/{id}/review"),
            &json!({"check": 0, "passed": true, "reviewer": "Dana", "note": "checked the log"}),
        )
        .await;
    let confirmed = reviewed["evaluation"]["checks"][0]["kind"]
        .as_str()
        .unwrap()
        .to_string();

    let b = Browser::open().await;
    b.client
        .goto(&p.url(&format!("/results/{id}")))
        .await
        .unwrap();
    // A replayed case says where it left its recording, what changed, with PII scrubbed.
    let replay = b.text("section.replay").await;
    assert!(
        replay.contains("1 of 2 recorded LLM call(s) answered from the recording (fork mode), 1 sent to the model")
            && replay.contains("Left its recording at call 2: messages[3].content changed.")
            && replay.contains("- {\"refunded\": false}"),
        "{replay}"
    );
    assert!(!replay.contains("ann.lee@example.com"), "{replay}");
    let turns = b.texts("ol.transcript li.turn", 3).await;
    assert!(
        turns[0].contains("Where is ORD-1?")
            && turns[0].contains("called lookup_order")
            && turns[0].contains("It was delivered."),
        "{turns:?}"
    );
    // Who wrote each user message, and where the simulated user left the recording (labels
    // are shown in capitals).
    let turns: Vec<String> = turns.iter().map(|t| t.to_lowercase()).collect();
    assert!(
        turns[1].contains("simulated user (replayed)") && turns[1].contains("no tool called"),
        "{turns:?}"
    );
    assert!(
        turns[2].contains("simulated afresh from here")
            && turns[2].contains("simulated user")
            && !turns[2].contains("(replayed)")
            && turns[2].contains("called refund")
            && turns[2].contains("done."),
        "{turns:?}"
    );
    // Each turn's calls fold open to their arguments, results and tokens.
    b.texts("ol.transcript li.turn.diverged details.calls summary", 1)
        .await;
    b.click("ol.transcript li.turn.diverged details.calls summary")
        .await;
    let calls = b
        .texts("ol.transcript li.turn.diverged ul.turn-calls li", 2)
        .await;
    assert!(
        calls[0].contains("gpt-4o-mini · 120 in / 8 out tokens · 310 ms · chose refund"),
        "{calls:?}"
    );
    assert!(
        calls[1].contains(r#"refund({"order_id":"ORD-1"}) → {"refunded":true}"#),
        "{calls:?}"
    );
    let diverged = b.texts("ol.transcript li.turn.diverged", 1).await;
    assert!(
        diverged[0].to_lowercase().starts_with("turn 3"),
        "{diverged:?}"
    );
    assert_eq!(
        b.text(".conversation-end").await,
        "Ended: the simulated user was done."
    );
    let parts = b.text(".verdict-parts").await;
    assert_eq!(parts, "Path: right · Outcome: wrong");
    let rows = b.texts("table.state-diff tbody tr", 3).await;
    assert!(
        rows.iter().any(|r| r.contains("orders.ORD-2.status")
            && r.contains("\"delivered\"")
            && r.contains("\"refunded\"")),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|r| r.starts_with("audit added") && r.contains(r#"[{"refund":"ORD-1"}]"#)),
        "{rows:?}"
    );
    let checks = b.text("ul.checks").await;
    assert!(
        checks.contains("Safety") && checks.contains("unchanged_state"),
        "{checks}"
    );
    let reviews = b.texts("ul.reviews li", 1).await;
    assert!(
        reviews[0].starts_with(&format!("{confirmed} confirmed passed by Dana on "))
            && reviews[0].ends_with("— checked the log"),
        "{reviews:?}"
    );
    b.screenshot("result-state").await;
    b.assert_accessible("result-state").await;

    // A case that crashed says so where its comparison would be, not that nobody expected
    // anything of it.
    // Ten more cases pass, so the run scores well despite its two failures.
    let mut results = vec![json!({
        "scenario_key": "refund-crashed",
        "user_message": "Refund ORD-2",
        "agent_response": "",
        "error": {"kind": "crash", "message": "Traceback: KeyError 'ORD-2'"},
        "expectations": {"expected_tools": [{"tool": "lookup_order"}, {"tool": "refund"}]}
    })];
    results.extend((0..10).map(|i| {
        json!({"scenario_key": format!("status-{i}"), "user_message": "Where is ORD-1?",
               "agent_response": "Shipped.", "tool_calls": ["lookup_order"],
               "expectations": {"expected_tools": [{"tool": "lookup_order"}]}})
    }));
    let crashed = p
        .post(
            &format!("/api/v1/runs/{run}/results"),
            &json!({ "results": results }),
        )
        .await;
    let crashed = crashed["result_ids"][0].as_str().unwrap();
    b.client
        .goto(&p.url(&format!("/results/{crashed}")))
        .await
        .unwrap();
    let why = b.text("p.no-diff").await;
    assert!(
        why.starts_with("The agent failed before it answered"),
        "{why}"
    );

    // The run's summary counts what its replayed cases took from their recordings.
    b.client
        .goto(&p.url(&format!("/runs/{run}")))
        .await
        .unwrap();
    let head = b.text(".page-head + p.muted").await;
    assert!(
        head.contains("replays 0b6c3e2a (fork, 1 mask(s))") && !head.contains("replay_mode"),
        "{head}"
    );
    let card = b.text(".card.replay-summary").await;
    assert!(
        card.contains("1 of 2")
            && card.contains("1 sent live")
            && card.contains("1 of 1 case(s) left their recording"),
        "{card}"
    );
    // The run broke a rule that had to hold (the unchanged order): whatever its score, its
    // band is capped, and the card says by what.
    let aqs = b.text(".card .capped").await;
    assert!(
        aqs.contains("Capped at degraded") && aqs.contains("critical failure"),
        "{aqs}"
    );
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_overrides_a_verdict_and_the_run_summary_follows() {
    let p = Proctor::start(vec![]).await;
    p.agent("desk").await;
    let run = p.post("/api/v1/runs", &json!({"agent": "desk"})).await;
    let run = run["run"]["id"].as_str().unwrap().to_string();
    let synced = p
        .post(
            &format!("/api/v1/runs/{run}/results"),
            &json!({"results": [
                {"scenario_key": "refund", "user_message": "Refund ORD-1", "agent_response": "Done.",
                 "tool_calls": ["lookup_order", "refund"],
                 "expectations": {"expected_tools": [{"tool": "lookup_order"}, {"tool": "verify_id"}, {"tool": "refund"}],
                                  "sequence_match": "superset"}},
                {"scenario_key": "status", "user_message": "Where is ORD-1?", "agent_response": "Shipped.",
                 "tool_calls": ["lookup_order"],
                 "expectations": {"expected_tools": [{"tool": "lookup_order"}]}}
            ]}),
        )
        .await;
    let id = synced["result_ids"][0].as_str().unwrap();
    assert_eq!(synced["run"]["summary"]["passed"], 1, "{synced}");

    let b = Browser::open().await;
    b.client
        .goto(&p.url(&format!("/results/{id}")))
        .await
        .unwrap();
    b.texts("details.all-checks summary", 1).await;
    b.click("details.all-checks summary").await;
    let failed = b.texts("ul.check-list li.failed", 1).await;
    assert!(failed[0].contains("missing_steps"), "{failed:?}");
    b.click("ul.check-list li.failed button.link").await;
    let form = b.texts("form.review-form", 1).await;
    assert!(form[0].contains("Save review"), "{form:?}");
    b.find("form.review-form input[name='reviewer']")
        .await
        .send_keys("Dana")
        .await
        .unwrap();
    b.find("form.review-form input[name='note']")
        .await
        .send_keys("verified by phone")
        .await
        .unwrap();
    b.click("form.review-form button[type='submit']").await;
    let reviews = b.texts("ul.reviews li", 1).await;
    assert!(
        reviews[0].starts_with("missing_steps overridden to passed (was failed) by Dana on ")
            && reviews[0].ends_with("— verified by phone"),
        "{reviews:?}"
    );
    assert_eq!(b.text(".page-head .badge").await.to_lowercase(), "passed");

    b.client
        .goto(&p.url(&format!("/runs/{run}")))
        .await
        .unwrap();
    let cards = b.texts(".cards .card", 1).await;
    assert!(
        cards
            .iter()
            .any(|c| c.to_lowercase().starts_with("pass rate")
                && c.contains("100.0%")
                && c.contains("2 passed · 0 failed")),
        "{cards:?}"
    );
    b.close().await;
}

/// A result whose LLM judge verdict was unsure waits in the agent's review queue; a reviewer
/// overrides the judge on the result page, the run's summary follows, the queue empties and
/// counts the judge's agreement on that criterion.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsure_judge_verdict_waits_in_the_queue_until_a_reviewer_overrides_it() {
    let p = Proctor::start(vec![]).await;
    let run = sync_a_sure_and_an_unsure_verdict(&p).await;

    let b = Browser::open().await;
    b.client.goto(&p.url("/agents/desk/review")).await.unwrap();
    let rows = b.texts("table.queue tbody tr", 1).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0].starts_with("rude")
            && rows[0].contains("the judge was unsure of `polite` (confidence 0.60)"),
        "{rows:?}"
    );
    assert!(b
        .text("main")
        .await
        .contains("No judge verdict has been reviewed yet."));
    b.screenshot("review-queue").await;
    b.assert_accessible("review-queue").await;
    b.assert_keyboard_reachable("review-queue").await;

    b.click("table.queue tbody tr a").await;
    let judge = b.texts("table.judge tbody tr", 1).await;
    assert!(
        judge[0].starts_with("polite")
            && judge[0].contains("It tells the customer to calm down.")
            && judge[0].contains("calm down")
            && judge[0].contains("0.60")
            && judge[0].contains("fake-judge"),
        "{judge:?}"
    );
    b.screenshot("result-judge").await;
    b.assert_accessible("result-judge").await;
    b.click("details.all-checks summary").await;
    let failed = b.texts("ul.check-list li.failed", 1).await;
    assert!(failed[0].contains("rubric"), "{failed:?}");
    b.click("ul.check-list li.failed button.link").await;
    b.find("form.review-form input[name='reviewer']")
        .await
        .send_keys("Dana")
        .await
        .unwrap();
    b.click("form.review-form button[type='submit']").await;
    let reviews = b.texts("ul.reviews li", 1).await;
    assert!(
        reviews[0].starts_with("rubric overridden to passed (was failed) by Dana"),
        "{reviews:?}"
    );
    // The name is the session's now: the next review form starts with it.
    let here = b.client.current_url().await.unwrap();
    b.client.goto(here.as_str()).await.unwrap();
    b.texts("details.all-checks summary", 1).await;
    b.click("details.all-checks summary").await;
    let listed = b.texts("ul.check-list li", 1).await;
    assert!(
        listed
            .iter()
            .any(|c| c.contains("rubric") && c.contains("reviewed by Dana (was failed)")),
        "the check list shows the review: {listed:?}"
    );
    b.click("ul.check-list li button.link").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let name = b
            .find("form.review-form input[name='reviewer']")
            .await
            .prop("value")
            .await
            .unwrap();
        if name.as_deref() == Some("Dana") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the form did not take the session's name: {name:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    b.client
        .goto(&p.url(&format!("/runs/{run}")))
        .await
        .unwrap();
    let cards = b.texts(".cards .card", 1).await;
    assert!(
        cards
            .iter()
            .any(|c| c.to_lowercase().starts_with("pass rate") && c.contains("2 passed · 0 failed")),
        "{cards:?}"
    );
    assert!(
        cards
            .iter()
            .any(|c| c.to_lowercase().starts_with("llm judge")
                && c.contains("2 call(s) · 0 cached · 240 in / 60 out tokens")),
        "{cards:?}"
    );

    b.client.goto(&p.url("/agents/desk/review")).await.unwrap();
    let agreement = b.texts("table.agreement tbody tr", 1).await;
    assert_eq!(agreement, ["polite 1 0 0% 0.00 (n = 1)"], "{agreement:?}");
    assert!(b.text("main").await.contains("Nothing waits for review."));
    b.close().await;
}

/// Agent `desk`'s run with two judged results of the criterion `polite`: one the judge failed
/// unsure (confidence 0.6), one it passed sure; the run's id.
async fn sync_a_sure_and_an_unsure_verdict(p: &Proctor) -> String {
    use shared::llm_judge::Judgement;
    use shared::rubric::{judgement_key, Case, Criterion, Evidence};

    p.agent("desk").await;
    let polite = Criterion {
        name: "polite".into(),
        criterion: "Never say 'calm down'".into(),
        category: shared::eval::FailureCategory::Communication,
        severity: shared::eval::Severity::Low,
        evidence: vec![Evidence::Response],
    };
    let trace = shared::Trace::default();
    let judged = |response: &str, answer: &str| {
        let case = Case {
            request: "Where is ORD-1?",
            response,
            trace: &trace,
        };
        let key = judgement_key(&polite, "fake-judge", &polite.evidence_text(&case));
        Judgement {
            input_tokens: 120,
            output_tokens: 30,
            ..Judgement::parse(key, &polite, "fake-judge", answer)
        }
    };
    let rude = "Shipped, calm down.";
    let unsure = judged(
        rude,
        r#"{"verdict": "fail", "reason": "It tells the customer to calm down.", "evidence": ["calm down"], "confidence": 0.6}"#,
    );
    let sure = judged(
        "Shipped.",
        r#"{"verdict": "pass", "reason": "Courteous.", "evidence": [], "confidence": 0.95}"#,
    );
    let run = p.post("/api/v1/runs", &json!({"agent": "desk"})).await;
    let run = run["run"]["id"].as_str().unwrap().to_string();
    let expectations = json!({"rubric": [polite]});
    let synced = p
        .post(
            &format!("/api/v1/runs/{run}/results"),
            &json!({"results": [
                {"scenario_key": "rude", "user_message": "Where is ORD-1?", "agent_response": rude,
                 "expectations": expectations, "judgements": [unsure]},
                {"scenario_key": "fine", "user_message": "Where is ORD-1?", "agent_response": "Shipped.",
                 "expectations": expectations, "judgements": [sure]}
            ]}),
        )
        .await;
    assert_eq!(synced["run"]["summary"]["passed"], 1, "{synced}");
    assert_eq!(synced["run"]["summary"]["judge"]["calls"], 2, "{synced}");
    run
}

/// An audit run's page leads with its mutation score and what the suite misses; the agent's page
/// shows its latest audit and keeps it out of the trend; a finished run's page queues an audit
/// of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_shows_what_the_suite_misses_and_a_run_page_queues_one() {
    let p = Proctor::start(vec![]).await;
    p.agent("desk").await;
    let refund = json!({"expected_tools": [{"tool": "lookup_order"}, {"tool": "refund"}]});
    let source = p
        .post("/api/v1/runs", &json!({"agent": "desk", "label": "suite"}))
        .await;
    let source = source["run"]["id"].as_str().unwrap().to_string();
    p.post(
        &format!("/api/v1/runs/{source}/results"),
        &json!({"results": [
            {"scenario_key": "refund", "user_message": "Refund ORD-1", "agent_response": "Done.",
             "tool_calls": ["lookup_order", "refund"], "expectations": refund},
            {"scenario_key": "chat", "user_message": "Hello", "agent_response": "Hello there, how can I help?"}
        ]}),
    )
    .await;
    p.post(
        &format!("/api/v1/runs/{source}/status"),
        &json!({"status": "completed"}),
    )
    .await;

    // The mutants as a worker would sync them: each case names the fault planted in it.
    let audit = p
        .post(
            "/api/v1/runs",
            &json!({"agent": "desk", "audit": source, "label": "audit of suite"}),
        )
        .await;
    let audit = audit["run"]["id"].as_str().unwrap().to_string();
    let mutant = |kind: Value| json!({"call": 1, "fault": kind});
    p.post(
        &format!("/api/v1/runs/{audit}/results"),
        &json!({"results": [
            {"scenario_key": "refund", "attempt": 1, "user_message": "Refund ORD-1", "agent_response": "Done.",
             "tool_calls": ["refund"], "expectations": refund,
             "trace": {"mutant": mutant(json!({"kind": "drop_tool", "tool": "lookup_order"}))}},
            {"scenario_key": "refund", "attempt": 2, "user_message": "Refund ORD-1", "agent_response": "Done.",
             "tool_calls": ["lookup_order", "refund", "refund"], "expectations": refund,
             "trace": {"mutant": mutant(json!({"kind": "repeat_call", "tool": "refund"}))}},
            {"scenario_key": "chat", "attempt": 1, "user_message": "Hello", "agent_response": "Hello there,",
             "trace": {"mutant": mutant(json!({"kind": "truncated_answer", "cut": "how can I help?"}))}}
        ]}),
    )
    .await;
    p.post(
        &format!("/api/v1/runs/{audit}/status"),
        &json!({"status": "completed"}),
    )
    .await;

    let b = Browser::open().await;
    b.client
        .goto(&p.url(&format!("/runs/{audit}")))
        .await
        .unwrap();
    let score = b.text(".audit .audit-score").await;
    assert!(score.contains("1 of 3 (33%)"), "{score}");
    let uncaught = b.texts(".audit ul.uncaught li", 2).await;
    let said = |what: &str| uncaught.iter().any(|u| u.contains(what));
    assert!(
        said("no scenario fails when `refund` is called twice"),
        "{uncaught:?}"
    );
    assert!(
        said("add `help` (from its end) to response_contains"),
        "{uncaught:?}"
    );
    assert!(b.text(".audit .vacuous").await.contains("chat"));
    assert!(
        b.client
            .find_all(fantoccini::Locator::Css("button.audit-run"))
            .await
            .unwrap()
            .is_empty(),
        "an audit's own page offers no audit of it"
    );

    b.client.goto(&p.url("/agents/desk")).await.unwrap();
    let heads = b.texts("main h2", 3).await;
    assert!(
        heads.iter().any(|h| h.starts_with("Latest audit (")),
        "{heads:?}"
    );
    assert!(b.text(".audit .audit-score").await.contains("1 of 3"));

    b.client
        .goto(&p.url(&format!("/runs/{source}")))
        .await
        .unwrap();
    b.texts("button.audit-run", 1).await;
    b.click("button.audit-run").await;
    b.wait_for(
        &format!("return location.pathname.startsWith('/runs/') && !location.pathname.endsWith('{source}')"),
        "the queued audit's page opens",
    )
    .await;
    let title = b.text("main h1").await;
    assert!(title.contains("audit of"), "{title}");
    b.close().await;
}
