//! The simulated user's pure parts: its prompt, how its reply is read, and how its messages are
//! recorded and replayed.

use std::collections::BTreeMap;

use proptest::prelude::*;
use shared::redact::{redact_result, redact_text};
use shared::simulate::{
    chat_messages, expand, read_reply, recordings, system_prompt, template, transcript_hash,
    RecordedTurn, ReplayBook, UserReply, DONE,
};
use shared::validate;
use shared::{
    ConversationEnd, ExpectedStep, ScenarioSpec, SimulatedUser, TestResult, Trace, Turn, TurnOrigin,
};

fn brief() -> SimulatedUser {
    SimulatedUser {
        persona: "A customer in a hurry.".into(),
        goal: "A refund for the broken mug.".into(),
        knows: [
            ("order_id".to_string(), "ORD-1001".to_string()),
            ("email".to_string(), "ann@example.com".to_string()),
        ]
        .into(),
        max_turns: Some(4),
        stop_on_tools: vec!["issue_refund".into()],
    }
}

fn exchanges() -> Vec<(String, String)> {
    vec![(
        "I want a refund.".to_string(),
        "Could you tell me the order id?".to_string(),
    )]
}

#[test]
fn the_hash_names_the_brief_and_every_message_before() {
    let h = transcript_hash(&brief(), &exchanges());
    assert_eq!(h.len(), 64);
    assert!(h.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(h, transcript_hash(&brief(), &exchanges()), "stable");
    let mut other_answer = exchanges();
    other_answer[0].1.push('!');
    let mut other_goal = brief();
    other_goal.goal.push_str(" Today.");
    for changed in [
        transcript_hash(&brief(), &other_answer),
        transcript_hash(&other_goal, &exchanges()),
        transcript_hash(&brief(), &[]),
    ] {
        assert_ne!(h, changed);
    }
    // Messages are framed, not concatenated: moving text across the boundary changes it.
    let a = vec![("ab".to_string(), "c".to_string())];
    let b = vec![("a".to_string(), "bc".to_string())];
    assert_ne!(transcript_hash(&brief(), &a), transcript_hash(&brief(), &b));
}

#[test]
fn the_prompt_lists_the_facts_and_the_roles_are_seen_from_the_user() {
    let prompt = system_prompt(&brief());
    assert!(prompt.contains("Your goal: A refund for the broken mug."));
    assert!(prompt.contains("- order_id: ORD-1001\n"));
    assert!(prompt.contains(DONE));
    let messages = chat_messages(&brief(), &exchanges());
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "assistant", "user"]);
    assert_eq!(messages[2]["content"], "Could you tell me the order id?");
}

#[test]
fn the_done_marker_ends_the_conversation_wherever_it_is() {
    assert_eq!(
        read_reply("  It's ORD-1001. "),
        UserReply::Says("It's ORD-1001.".into())
    );
    assert_eq!(read_reply(DONE), UserReply::Done);
    assert_eq!(read_reply("Thanks! [[DONE]]"), UserReply::Done);
    assert_eq!(read_reply("   "), UserReply::Done);
}

#[test]
fn a_fact_that_looks_like_pii_is_replayed_intact_while_the_message_is_scrubbed() {
    let said = "It's ORD-1001, and my email is ann@example.com.";
    let recorded = template(said, &brief().knows);
    assert_eq!(recorded, "It's {{order_id}}, and my email is {{email}}.");
    assert!(redact_text(&recorded).1.is_empty(), "nothing left to scrub");
    assert_eq!(expand(&recorded, &brief().knows), said);

    let mut result = TestResult {
        trace: Trace {
            turns: vec![Turn {
                user: said.into(),
                origin: Some(TurnOrigin::Simulated),
                transcript_hash: Some("h".into()),
                replay: Some(recorded.clone()),
                ..Default::default()
            }],
            ..Default::default()
        },
        ..serde_json::from_value(serde_json::json!({
            "id": "00000000-0000-0000-0000-000000000001",
            "run_id": "00000000-0000-0000-0000-000000000002",
            "scenario_key": "k", "attempt": 1, "status": "passed",
            "user_message": "", "agent_response": "",
            "trace": {}, "evaluation": {"score": 1.0}, "cost": {}, "created_at": "2026-01-01T00:00:00Z"
        }))
        .unwrap()
    };
    redact_result(&mut result);
    let turn = &result.trace.turns[0];
    assert!(!turn.user.contains("ann@example.com"), "{}", turn.user);
    assert_eq!(turn.replay.as_deref(), Some(recorded.as_str()));
}

#[test]
fn a_placeholder_the_brief_no_longer_knows_stays_as_written() {
    let knows: BTreeMap<String, String> = [("a".to_string(), "1".to_string())].into();
    assert_eq!(expand("{{a}} {{b}} {{ {{a", &knows), "1 {{b}} {{ {{a");
}

#[test]
fn a_short_fact_inside_a_longer_one_or_a_placeholder_name_is_not_split() {
    let knows: BTreeMap<String, String> = [
        ("order_id".to_string(), "ORD-10".to_string()),
        ("other".to_string(), "ORD-1".to_string()),
        ("letter".to_string(), "d".to_string()),
    ]
    .into();
    let said = "ORD-10 then ORD-1, and d";
    let recorded = template(said, &knows);
    assert_eq!(
        recorded,
        "{{order_id}} then {{other}}, an{{letter}} {{letter}}"
    );
    assert_eq!(expand(&recorded, &knows), said);
}

proptest! {
    #[test]
    fn template_then_expand_gives_the_message_back(
        message in "[a-zA-Z0-9 .,@-]{0,60}",
        facts in proptest::collection::btree_map("[a-z_]{1,8}", "[a-zA-Z0-9@.-]{1,12}", 0..4),
    ) {
        prop_assert_eq!(expand(&template(&message, &facts), &facts), message);
    }
}

#[test]
fn recordings_keep_simulated_and_replayed_messages_and_where_the_user_was_done() {
    let turn = |origin, hash: Option<&str>| Turn {
        origin: Some(origin),
        transcript_hash: hash.map(str::to_owned),
        replay: hash.map(|h| format!("said at {h}")),
        ..Default::default()
    };
    let trace = Trace {
        turns: vec![
            turn(TurnOrigin::Scripted, None),
            turn(TurnOrigin::Replayed, Some("h2")),
            turn(TurnOrigin::Simulated, Some("h3")),
        ],
        conversation_end: Some(ConversationEnd::User {
            transcript_hash: Some("h4".into()),
        }),
        ..Default::default()
    };
    let recorded = recordings(&trace);
    let pairs: Vec<(&str, &str)> = recorded
        .iter()
        .map(|r| (r.transcript_hash.as_str(), r.replay.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [("h2", "said at h2"), ("h3", "said at h3"), ("h4", DONE)]
    );
    let book = ReplayBook::new(
        [
            RecordedTurn {
                transcript_hash: "h2".into(),
                replay: "newest".into(),
            },
            RecordedTurn {
                transcript_hash: "h2".into(),
                replay: "older".into(),
            },
        ]
        .into_iter()
        .chain(recorded),
    );
    assert_eq!(book.get("h2"), Some("newest"), "the newest recording wins");
    assert_eq!(book.get("h4"), Some(DONE));
    assert_eq!(book.get("h5"), None);
}

fn scenario(user: Option<SimulatedUser>) -> ScenarioSpec {
    serde_json::from_value::<ScenarioSpec>(serde_json::json!({
        "key": "refund", "user_message": "I want a refund."
    }))
    .map(|mut s| {
        s.simulated_user = user;
        s
    })
    .unwrap()
}

#[test]
fn a_simulated_user_is_validated_with_the_field_named() {
    assert!(validate::scenarios(&[scenario(Some(brief()))]).is_ok());
    let refused = |s: ScenarioSpec| validate::scenarios(&[s]).unwrap_err().to_string();

    let mut both = scenario(Some(brief()));
    both.user_turns = vec!["again".into()];
    assert!(refused(both).contains("not both"));

    let no_goal = scenario(Some(SimulatedUser {
        goal: " ".into(),
        ..brief()
    }));
    assert!(refused(no_goal).contains("simulated_user.goal is empty"));

    for turns in [0, 51] {
        let limit = scenario(Some(SimulatedUser {
            max_turns: Some(turns),
            ..brief()
        }));
        assert!(refused(limit).contains("simulated_user.max_turns"));
    }

    let mut late = scenario(Some(brief()));
    let mut step = ExpectedStep::tool("issue_refund");
    step.turn = Some(5);
    late.expectations.expected_tools = vec![step];
    assert!(refused(late).contains("pinned to turn 5, but the conversation has turns 1 to 4"));
}

#[test]
fn a_synced_turn_hash_must_be_a_sha256_in_hex() {
    let input = |hash: &str| shared::api::ResultInput {
        scenario_key: Some("k".into()),
        user_message: Some("hi".into()),
        trace: Some(Trace {
            turns: vec![Turn {
                origin: Some(TurnOrigin::Simulated),
                transcript_hash: Some(hash.into()),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    let good = transcript_hash(&brief(), &exchanges());
    assert!(validate::result(input(&good), None).is_ok());
    for bad in ["abc", &"z".repeat(64), &format!("{good}0")] {
        let Err(e) = validate::result(input(bad), None) else {
            panic!("{bad} was taken");
        };
        let e = e.to_string();
        assert!(e.contains("is not a SHA-256 in hex"), "{e}");
    }
}
