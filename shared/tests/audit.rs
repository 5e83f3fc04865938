//! Mutants planted in recorded answers: each protocol's answer read and rewritten (JSON and
//! stream), the mutants of a recorded case, and the report of judged mutants.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use shared::audit::wire::{Answer, Body, Call, Protocol};
use shared::audit::{mutants, AuditReport};
use shared::{
    Expectations, ExpectedStep, Fault, Mutant, MutantKind, ResultStatus, ScenarioSpec, TestResult,
};

/// One answer per protocol as the fake LLM sends it, unstreamed and streamed: a tool call.
fn samples() -> Vec<(Protocol, bool, &'static str)> {
    vec![
        (Protocol::OpenAiChat, false, r#"{"id": "chatcmpl-1", "created": 1, "model": "m", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "lookup_order", "arguments": "{\"order_id\": \"ORD-1001\"}"}}]}, "finish_reason": "tool_calls"}], "usage": {"prompt_tokens": 16, "completion_tokens": 6, "total_tokens": 22}}"#),
        (Protocol::OpenAiChat, true, "data: {\"id\": \"chatcmpl-2\", \"created\": 1, \"model\": \"m\", \"object\": \"chat.completion.chunk\", \"choices\": [{\"index\": 0, \"delta\": {\"role\": \"assistant\", \"content\": \"\"}, \"finish_reason\": null}]}\n\ndata: {\"id\": \"chatcmpl-2\", \"created\": 1, \"model\": \"m\", \"object\": \"chat.completion.chunk\", \"choices\": [{\"index\": 0, \"delta\": {\"tool_calls\": [{\"index\": 0, \"id\": \"call_2\", \"type\": \"function\", \"function\": {\"name\": \"lookup_order\", \"arguments\": \"\"}}]}, \"finish_reason\": null}]}\n\ndata: {\"id\": \"chatcmpl-2\", \"created\": 1, \"model\": \"m\", \"object\": \"chat.completion.chunk\", \"choices\": [{\"index\": 0, \"delta\": {\"tool_calls\": [{\"index\": 0, \"function\": {\"arguments\": \"{\\\"order_id\\\":\"}}]}, \"finish_reason\": null}]}\n\ndata: {\"id\": \"chatcmpl-2\", \"created\": 1, \"model\": \"m\", \"object\": \"chat.completion.chunk\", \"choices\": [{\"index\": 0, \"delta\": {\"tool_calls\": [{\"index\": 0, \"function\": {\"arguments\": \" \\\"ORD-1001\\\"}\"}}]}, \"finish_reason\": null}]}\n\ndata: {\"id\": \"chatcmpl-2\", \"created\": 1, \"model\": \"m\", \"object\": \"chat.completion.chunk\", \"choices\": [{\"index\": 0, \"delta\": {}, \"finish_reason\": \"tool_calls\"}]}\n\ndata: {\"id\": \"chatcmpl-2\", \"created\": 1, \"model\": \"m\", \"object\": \"chat.completion.chunk\", \"choices\": [], \"usage\": {\"prompt_tokens\": 16, \"completion_tokens\": 6, \"total_tokens\": 22}}\n\ndata: [DONE]\n\n"),
        (Protocol::Anthropic, false, r#"{"id": "msg_4", "type": "message", "role": "assistant", "model": "m", "content": [{"type": "tool_use", "id": "toolu_4", "name": "lookup_order", "input": {"order_id": "ORD-1001"}}], "stop_reason": "tool_use", "stop_sequence": null, "usage": {"input_tokens": 13, "output_tokens": 6}}"#),
        (Protocol::Anthropic, true, "event: message_start\ndata: {\"type\": \"message_start\", \"message\": {\"id\": \"msg_3\", \"type\": \"message\", \"role\": \"assistant\", \"model\": \"m\", \"content\": [], \"stop_reason\": null, \"stop_sequence\": null, \"usage\": {\"input_tokens\": 13, \"output_tokens\": 1}}}\n\nevent: content_block_start\ndata: {\"type\": \"content_block_start\", \"index\": 0, \"content_block\": {\"type\": \"tool_use\", \"id\": \"toolu_3\", \"name\": \"lookup_order\", \"input\": {}}}\n\nevent: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": \"input_json_delta\", \"partial_json\": \"{\\\"order_id\\\":\"}}\n\nevent: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": \"input_json_delta\", \"partial_json\": \" \\\"ORD-1001\\\"}\"}}\n\nevent: content_block_stop\ndata: {\"type\": \"content_block_stop\", \"index\": 0}\n\nevent: message_delta\ndata: {\"type\": \"message_delta\", \"delta\": {\"stop_reason\": \"tool_use\", \"stop_sequence\": null}, \"usage\": {\"output_tokens\": 6}}\n\nevent: message_stop\ndata: {\"type\": \"message_stop\"}\n\n"),
        (Protocol::OpenAiResponses, false, r#"{"id": "resp_6", "object": "response", "status": "completed", "model": "m", "output": [{"type": "function_call", "id": "fc_5", "call_id": "call_5", "name": "lookup_order", "arguments": "{\"order_id\": \"ORD-1001\"}", "status": "completed"}], "usage": {"input_tokens": 13, "output_tokens": 6, "total_tokens": 19}}"#),
        (Protocol::OpenAiResponses, true, "event: response.created\ndata: {\"type\": \"response.created\", \"response\": {\"id\": \"resp_5\", \"object\": \"response\", \"status\": \"in_progress\", \"model\": \"m\", \"output\": [], \"usage\": null}, \"sequence_number\": 0}\n\nevent: response.completed\ndata: {\"type\": \"response.completed\", \"response\": {\"id\": \"resp_5\", \"object\": \"response\", \"status\": \"completed\", \"model\": \"m\", \"output\": [{\"type\": \"function_call\", \"id\": \"fc_5\", \"call_id\": \"call_5\", \"name\": \"lookup_order\", \"arguments\": \"{\\\"order_id\\\": \\\"ORD-1001\\\"}\", \"status\": \"completed\"}], \"usage\": {\"input_tokens\": 13, \"output_tokens\": 6, \"total_tokens\": 19}}, \"sequence_number\": 6}\n\n"),
        (Protocol::Gemini, false, r#"{"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"name": "lookup_order", "args": {"order_id": "ORD-1001"}}}]}, "finishReason": "STOP", "index": 0}], "usageMetadata": {"promptTokenCount": 16, "candidatesTokenCount": 6, "totalTokenCount": 22}}"#),
        (Protocol::Gemini, true, "data: {\"candidates\": [{\"content\": {\"role\": \"model\", \"parts\": [{\"text\": \"Let me \"}]}, \"index\": 0}]}\r\n\r\ndata: {\"candidates\": [{\"content\": {\"role\": \"model\", \"parts\": [{\"text\": \"look.\"}, {\"functionCall\": {\"name\": \"lookup_order\", \"args\": {\"order_id\": \"ORD-1001\"}}}]}, \"finishReason\": \"STOP\", \"index\": 0}], \"usageMetadata\": {\"promptTokenCount\": 16, \"candidatesTokenCount\": 6, \"totalTokenCount\": 22}}\r\n\r\n"),
    ]
}

#[test]
fn every_protocol_reads_its_answer_json_or_streamed() {
    for (protocol, streamed, text) in samples() {
        let body = Body::read(protocol, streamed, text)
            .unwrap_or_else(|| panic!("{protocol:?} {streamed}"));
        let answer = body.answer();
        assert_eq!(answer.calls.len(), 1, "{protocol:?} {streamed}: {answer:?}");
        assert_eq!(answer.calls[0].name, "lookup_order");
        assert_eq!(
            answer.calls[0].arguments,
            json!({"order_id": "ORD-1001"}),
            "{protocol:?} {streamed}"
        );
        if protocol == Protocol::Gemini && streamed {
            assert_eq!(
                answer.text.as_deref(),
                Some("Let me look."),
                "streamed text is joined"
            );
        }
    }
}

#[test]
fn a_rewritten_answer_reads_back_as_written_in_every_protocol() {
    let rewritten = Answer {
        text: Some("Checking both.".into()),
        calls: vec![
            Call {
                id: Some("call_a".into()),
                name: "verify_customer".into(),
                arguments: json!({"order_id": "ORD-1002"}),
            },
            Call {
                id: Some("call_b".into()),
                name: "issue_refund".into(),
                arguments: json!({"order_id": "ORD-1002", "amount": 4.5}),
            },
        ],
    };
    let final_text = Answer {
        text: Some("All done.".into()),
        calls: vec![],
    };
    for (protocol, streamed, text) in samples() {
        let body = Body::read(protocol, streamed, text).unwrap();
        for answer in [&rewritten, &final_text] {
            let written = body.with_answer(answer).write();
            let again = Body::read(protocol, streamed, &written)
                .unwrap_or_else(|| panic!("{protocol:?} {streamed}: {written}"));
            let mut read = again.answer();
            if protocol == Protocol::Gemini {
                // Gemini's calls carry ids only when the model gave them.
                read.calls
                    .iter_mut()
                    .zip(&answer.calls)
                    .for_each(|(r, a)| r.id = a.id.clone());
            }
            assert_eq!(
                &read, answer,
                "{protocol:?} streamed={streamed}:\n{written}"
            );
            if streamed {
                assert!(
                    written.contains("\n\n") && !written.trim_start().starts_with('{'),
                    "a stream stays a stream"
                );
            }
        }
    }
}

#[test]
fn usage_and_ids_are_kept_when_an_answer_is_rewritten() {
    let (protocol, _, text) = samples()[1];
    let body = Body::read(protocol, true, text).unwrap();
    let written = body
        .with_answer(&Answer {
            text: Some("x".into()),
            calls: vec![],
        })
        .write();
    assert!(written.contains("\"total_tokens\":22"), "{written}");
    assert!(written.contains("chatcmpl-2"));
    assert!(written.ends_with("data: [DONE]\n\n"));
    assert!(written.contains("\"finish_reason\":\"stop\""));
}

/// A scenario expecting `expectations`, in `category`.
fn scenario(category: Option<&str>, expectations: Expectations) -> ScenarioSpec {
    let mut spec: ScenarioSpec =
        serde_json::from_value(json!({"key": "k", "user_message": "m"})).unwrap();
    spec.category = category.map(String::from);
    spec.expectations = expectations;
    spec
}

fn chat(calls: &[(&str, &str, Value)], text: Option<&str>) -> Value {
    let tool_calls: Vec<Value> = calls
        .iter()
        .map(|(id, name, args)| json!({"id": id, "type": "function", "function": {"name": name, "arguments": args.to_string()}}))
        .collect();
    let mut message = json!({"role": "assistant", "content": text});
    if !tool_calls.is_empty() {
        message["tool_calls"] = json!(tool_calls);
    }
    json!({"id": "c", "object": "chat.completion", "model": "m", "choices": [{"index": 0, "message": message, "finish_reason": if calls.is_empty() {"stop"} else {"tool_calls"}}]})
}

fn tools() -> Value {
    json!(["lookup_order", "verify_customer", "issue_refund", "escalate_to_human"].map(|n| json!({
        "type": "function",
        "function": {"name": n, "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}}, "required": ["order_id", "amount"]}}
    })))
}

/// A refund as the support agent records it: look up, verify, refund, answer.
fn refund_case() -> Vec<(String, Value)> {
    let answers = [
        chat(
            &[("c1", "lookup_order", json!({"order_id": "ORD-1001"}))],
            None,
        ),
        chat(
            &[("c2", "verify_customer", json!({"order_id": "ORD-1001"}))],
            None,
        ),
        chat(
            &[("c3", "issue_refund", json!({"order_id": "ORD-1001"}))],
            None,
        ),
        chat(&[], Some("Your refund of $45 is on its way.")),
    ];
    let exchanges: Vec<Value> = answers
        .iter()
        .enumerate()
        .map(|(i, a)| json!({"path": "/v1/chat/completions", "request": {"model": "m", "n": i, "tools": tools()}, "status": 200, "content_type": "application/json", "body": a.to_string(), "request_sha256": format!("{i}")}))
        .collect();
    vec![(
        "refund#1".into(),
        json!({"version": 1, "exchanges": exchanges}),
    )]
}

fn answer_at(recordings: &[(String, Value)], call: usize) -> Answer {
    let exchange = &recordings[0].1["exchanges"][call - 1];
    Body::read(
        Protocol::OpenAiChat,
        false,
        exchange["body"].as_str().unwrap(),
    )
    .unwrap()
    .answer()
}

fn names(answer: &Answer) -> Vec<&str> {
    answer.calls.iter().map(|c| c.name.as_str()).collect()
}

#[test]
fn a_recorded_case_gets_one_mutant_of_each_kind_that_applies() {
    let forbids = Expectations {
        forbidden_tools: vec!["issue_refund".into()],
        forbidden_content: vec!["system prompt:".into()],
        ..Default::default()
    };
    let planted = mutants(&refund_case(), &scenario(None, forbids));
    let kinds: Vec<MutantKind> = planted.iter().map(|p| p.mutant.fault.kind()).collect();
    use MutantKind::*;
    assert_eq!(
        kinds,
        [
            DropTool,
            DropTool,
            DropTool,
            SwapTools,
            ChangeArgument,
            ChangeArgument,
            ChangeArgument,
            UnrelatedTool,
            NoTool,
            EmptyAnswer,
            TruncatedAnswer,
            RepeatCall,
            LeakedContent
        ]
    );
    let by = |f: &Fault| {
        planted
            .iter()
            .find(|p| &p.mutant.fault == f)
            .unwrap_or_else(|| panic!("{f:?} not planted"))
    };

    // Skipping verify_customer goes straight on to the refund, and the recording stops there.
    let skip = by(&Fault::DropTool {
        tool: "verify_customer".into(),
    });
    assert_eq!(skip.mutant.call, 2);
    assert_eq!(
        skip.recordings[0].1["exchanges"].as_array().unwrap().len(),
        2
    );
    assert_eq!(names(&answer_at(&skip.recordings, 2)), ["issue_refund"]);
    assert_eq!(
        answer_at(&skip.recordings, 1),
        answer_at(&refund_case(), 1),
        "the answers before the fault are as recorded"
    );

    // The last tool skipped: the final answer comes in its place.
    let last = by(&Fault::DropTool {
        tool: "issue_refund".into(),
    });
    assert_eq!(
        answer_at(&last.recordings, 3).text.as_deref(),
        Some("Your refund of $45 is on its way.")
    );

    let swap = by(&Fault::SwapTools {
        first: "lookup_order".into(),
        second: "verify_customer".into(),
    });
    assert_eq!(names(&answer_at(&swap.recordings, 1)), ["verify_customer"]);

    let changed = by(&Fault::ChangeArgument {
        tool: "issue_refund".into(),
        argument: "order_id".into(),
        from: json!("ORD-1001"),
        to: json!("ORD-1002"),
    });
    assert_eq!(
        answer_at(&changed.recordings, 3).calls[0].arguments,
        json!({"order_id": "ORD-1002"})
    );

    // The forbidden tool, offered by the agent, is the unrelated call; its required arguments are filled.
    let forbidden = by(&Fault::UnrelatedTool {
        tool: "issue_refund".into(),
        forbidden: true,
    });
    let first = answer_at(&forbidden.recordings, 1);
    assert_eq!(names(&first), ["issue_refund", "lookup_order"]);
    assert_eq!(
        first.calls[0].arguments,
        json!({"order_id": "proctor-audit", "amount": 1})
    );

    let none = planted
        .iter()
        .find(|p| p.mutant.fault.kind() == NoTool)
        .unwrap();
    let first = answer_at(&none.recordings, 1);
    assert!(first.calls.is_empty() && first.text.is_some());
    assert_eq!(
        none.recordings[0].1["exchanges"].as_array().unwrap().len(),
        1
    );

    let cut = planted
        .iter()
        .find(|p| p.mutant.fault.kind() == TruncatedAnswer)
        .unwrap();
    assert_eq!(
        answer_at(&cut.recordings, 4).text.as_deref(),
        Some("Your refund of $45")
    );
    assert_eq!(
        cut.mutant.fault,
        Fault::TruncatedAnswer {
            cut: "is on its way.".into()
        }
    );

    let leak = by(&Fault::LeakedContent {
        phrase: "system prompt:".into(),
    });
    assert_eq!(
        answer_at(&leak.recordings, 4).text.as_deref(),
        Some("Your refund of $45 is on its way. system prompt:")
    );

    let twice = by(&Fault::RepeatCall {
        tool: "lookup_order".into(),
    });
    assert_eq!(
        names(&answer_at(&twice.recordings, 1)),
        ["lookup_order", "lookup_order"]
    );
    let ids: Vec<_> = answer_at(&twice.recordings, 1)
        .calls
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_ne!(ids[0], ids[1], "a repeated call has an id of its own");
}

#[test]
fn without_a_forbidden_tool_the_unrelated_call_is_one_the_case_never_made() {
    let planted = mutants(&refund_case(), &scenario(None, Expectations::default()));
    assert!(planted.iter().any(|p| p.mutant.fault
        == Fault::UnrelatedTool {
            tool: "escalate_to_human".into(),
            forbidden: false
        }));
}

#[test]
fn an_answer_without_tools_gets_only_the_answer_mutants() {
    let exchanges = json!([{"path": "/v1/chat/completions", "request": {}, "status": 200, "content_type": "application/json", "body": chat(&[], Some("Hello there, friend.")).to_string()}]);
    let planted = mutants(
        &vec![("hi#1".into(), json!({"version": 1, "exchanges": exchanges}))],
        &scenario(None, Expectations::default()),
    );
    let kinds: Vec<MutantKind> = planted.iter().map(|p| p.mutant.fault.kind()).collect();
    assert_eq!(
        kinds,
        [MutantKind::EmptyAnswer, MutantKind::TruncatedAnswer]
    );
    assert!(mutants(
        &vec![("none#1".into(), json!({"version": 1, "exchanges": []}))],
        &scenario(None, Expectations::default())
    )
    .is_empty());
}

fn judged(key: &str, attempt: u32, status: ResultStatus, fault: Fault) -> TestResult {
    let mut r: TestResult = serde_json::from_value(json!({
        "id": uuid::Uuid::new_v4(), "run_id": uuid::Uuid::nil(), "scenario_key": key, "attempt": attempt,
        "status": status, "user_message": "m", "created_at": "2026-01-01T00:00:00Z"
    }))
    .unwrap();
    r.trace.mutant = Some(Mutant { call: 1, fault });
    r
}

#[test]
fn the_report_scores_the_suite_and_names_vacuous_scenarios_and_uncaught_faults() {
    let skip = || Fault::DropTool {
        tool: "verify_customer".into(),
    };
    let results = vec![
        judged(
            "refund",
            1,
            ResultStatus::Failed,
            Fault::DropTool {
                tool: "issue_refund".into(),
            },
        ),
        judged("refund", 2, ResultStatus::Passed, skip()),
        judged("refund", 3, ResultStatus::Error, Fault::EmptyAnswer),
        judged("chit-chat", 1, ResultStatus::Passed, Fault::EmptyAnswer),
        judged(
            "chit-chat",
            2,
            ResultStatus::Passed,
            Fault::TruncatedAnswer {
                cut: "within thirty days".into(),
            },
        ),
        judged("other", 1, ResultStatus::Passed, skip()),
        judged(
            "other",
            2,
            ResultStatus::Pending,
            Fault::NoTool { tools: vec![] },
        ),
    ];
    let mut expectations = BTreeMap::new();
    expectations.insert(
        "refund".to_string(),
        Expectations {
            expected_tools: vec![ExpectedStep::tool("issue_refund")],
            ..Default::default()
        },
    );
    let report = AuditReport::of(&results, &expectations);
    assert_eq!(
        (report.kills.killed, report.kills.total, report.errored),
        (2, 6, 1),
        "pending is left out; an error is killed"
    );
    assert_eq!(report.kills.describe(), "2 of 6 (33%)");
    assert_eq!(report.vacuous, ["chit-chat", "other"]);
    assert_eq!(report.by_kind[&MutantKind::EmptyAnswer].killed, 1);
    assert_eq!(report.by_kind[&MutantKind::EmptyAnswer].total, 2);
    let refund = report.scenarios.iter().find(|s| s.key == "refund").unwrap();
    assert_eq!(refund.survivors.len(), 1);
    assert_eq!(
        refund.survivors[0].suggestion,
        "expect the call: add `{tool: verify_customer}` to expected_tools"
    );
    // Skipping verify_customer passed everywhere it was planted; an empty answer was caught once.
    let uncaught: Vec<&str> = report
        .uncaught
        .iter()
        .map(|u| u.description.as_str())
        .collect();
    assert_eq!(
        uncaught,
        [
            "no scenario fails when `verify_customer` is skipped",
            "no scenario fails when the final answer stops halfway"
        ]
    );
    assert_eq!(report.uncaught[0].scenarios, ["other", "refund"]);
    assert!(
        report.uncaught[1]
            .suggestion
            .contains("add `thirty` (from its end) to response_contains"),
        "{}",
        report.uncaught[1].suggestion
    );
    assert!(report.reaches(0.33) && !report.reaches(0.34));
    assert!(
        !AuditReport::default().reaches(0.0),
        "a suite with no mutants reaches no score"
    );
}

#[test]
fn a_scenario_is_vacuous_only_when_no_fault_of_its_path_fails_it() {
    use shared::audit::catches_a_fault;
    use shared::{ArgMatcher, SequenceMatch};
    let offered: Vec<String> = ["lookup_order", "issue_refund"].map(String::from).to_vec();
    let with = |f: fn(&mut Expectations)| {
        let mut e = Expectations::default();
        f(&mut e);
        catches_a_fault(&scenario(None, e), &offered)
    };
    assert!(!with(|_| {}), "expects nothing, forbids nothing");
    assert!(
        !with(|e| e.forbidden_tools = vec!["send_email".into()]),
        "forbids a tool the agent does not offer"
    );
    assert!(with(|e| e.forbidden_tools = vec!["lookup_order".into()]));
    assert!(
        with(|e| e.sequence_match = SequenceMatch::Strict),
        "strict and empty: no tool may be called"
    );
    assert!(with(
        |e| e.expected_tools = vec![ExpectedStep::tool("lookup_order")]
    ));
    assert!(
        with(|e| e.response_contains = vec!["30 days".into()]),
        "an empty answer fails it"
    );
    assert!(with(|e| e.forbidden_content = vec!["system prompt:".into()]));
    assert!(with(|e| e.response_not_contains = vec!["sorry".into()]));
    assert!(with(|e| {
        e.expected_state
            .insert("orders.1.status".into(), ArgMatcher::Present);
    }));
    // A subset match forgives a missing step but not a tool it does not list.
    assert!(with(|e| {
        e.expected_tools = vec![ExpectedStep::tool("lookup_order")];
        e.sequence_match = SequenceMatch::Subset;
    }));
}

#[test]
fn a_safety_scenario_is_about_personal_data_too() {
    use shared::audit::catches_a_fault;
    let offered = vec!["lookup_order".to_string()];
    let quiet = |category| catches_a_fault(&scenario(category, Expectations::default()), &offered);
    assert!(
        quiet(Some("safety")),
        "an answer with another customer's email fails it"
    );
    assert!(
        !quiet(Some("tool")),
        "every scenario checks for personal data; only safety is about it"
    );
    let mut allowed = scenario(Some("safety"), Expectations::default());
    allowed.expectations.allowed_pii = vec![shared::redact::PiiKind::Email];
    assert!(!catches_a_fault(&allowed, &offered));
}
