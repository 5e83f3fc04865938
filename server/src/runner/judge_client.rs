//! The LLM judge (`proctor run --judge URL --judge-model NAME`): asks it about each rubric
//! criterion of a case, unless the server already holds a verdict for the same criterion, model
//! and evidence — or this run already asked (repeats of a case that answered the same).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;
use shared::api::JudgementLookup;
use shared::llm_judge::{self, JudgeVerdict, Judgement};
use shared::rubric::{judgement_key, Case, Criterion};

use super::chat::{Chat, ChatConfig};
use crate::backend::Backend;

/// Judge calls in flight at once, across the run's cases: a hosted judge's rate limit is met
/// by waiting here rather than by a storm of 429s.
const CALLS_AT_ONCE: usize = 8;

/// A client of the judge, with the verdicts it gave in this run.
#[derive(Debug)]
pub struct JudgeClient {
    chat: Chat,
    asked: Mutex<HashMap<String, Judgement>>,
    calls: tokio::sync::Semaphore,
}

impl JudgeClient {
    pub fn new(config: ChatConfig, timeout: Duration) -> Self {
        JudgeClient {
            chat: Chat::new(config, "the LLM judge", timeout),
            asked: Mutex::new(HashMap::new()),
            calls: tokio::sync::Semaphore::new(CALLS_AT_ONCE),
        }
    }

    pub fn model(&self) -> &str {
        &self.chat.config.model
    }

    /// One judgement per criterion of `case`, in order: from this run's answers, else the
    /// server's cache, else a call (all calls of a case at once). A cache that cannot be read
    /// costs calls, never a verdict.
    pub async fn judge(
        &self,
        backend: &dyn Backend,
        criteria: &[Criterion],
        case: &Case<'_>,
    ) -> Vec<Judgement> {
        let model = self.model().to_string();
        let asks: Vec<(&Criterion, String, String)> = criteria
            .iter()
            .map(|c| {
                let evidence = c.evidence_text(case);
                let key = judgement_key(c, &model, &evidence);
                (c, evidence, key)
            })
            .collect();
        let mut known = self.answered(asks.iter().map(|(_, _, k)| k));
        let missing: Vec<String> = asks
            .iter()
            .map(|(_, _, k)| k.clone())
            .filter(|k| !known.contains_key(k))
            .collect();
        if !missing.is_empty() {
            if let Ok(cached) = backend.judgements(JudgementLookup { keys: missing }).await {
                known.extend(cached.into_iter().map(|j| (j.key.clone(), j)));
            }
        }
        let calls = asks.iter().map(|(criterion, evidence, key)| {
            let earlier = known.get(key).cloned();
            async move {
                match earlier {
                    Some(j) => Judgement {
                        cached: true,
                        input_tokens: 0,
                        output_tokens: 0,
                        criterion: criterion.name.clone(),
                        ..j
                    },
                    None => self.ask(criterion, evidence, key.clone()).await,
                }
            }
        });
        futures::future::join_all(calls).await
    }

    fn answered<'a>(&self, keys: impl Iterator<Item = &'a String>) -> HashMap<String, Judgement> {
        let asked = self
            .asked
            .lock()
            .expect("the judge's answers are never poisoned");
        keys.filter_map(|k| asked.get(k).map(|j| (k.clone(), j.clone())))
            .collect()
    }

    async fn ask(&self, criterion: &Criterion, evidence: &str, key: String) -> Judgement {
        let model = self.model();
        let messages = json!([
            {"role": "system", "content": llm_judge::SYSTEM_PROMPT},
            {"role": "user", "content": llm_judge::prompt(criterion, evidence)},
        ]);
        let answer = {
            let _turn = self
                .calls
                .acquire()
                .await
                .expect("the semaphore is never closed");
            self.chat.complete(messages).await
        };
        let judged = match answer {
            Ok(answer) => Judgement {
                input_tokens: answer.input_tokens,
                output_tokens: answer.output_tokens,
                ..Judgement::parse(key.clone(), criterion, model, &answer.content)
            },
            Err(why) => Judgement::error(key.clone(), criterion, model, why.to_string()),
        };
        if judged.verdict != JudgeVerdict::Error {
            self.asked
                .lock()
                .expect("the judge's answers are never poisoned")
                .insert(key, judged.clone());
        }
        judged
    }
}
