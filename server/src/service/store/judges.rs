//! What the store keeps of LLM judges: their cached verdicts (so an unchanged case is never
//! judged twice) and how reviewers decided on them.

use shared::api::{CriterionAgreement, JudgeReview};
use shared::eval::agreement::VerdictTable;
use shared::llm_judge::Judgement;
use uuid::Uuid;

use super::batch::Prepared;
use super::rows::Columns;
use super::sql::{read, write, Conn, Query, Sql, Values};
use super::StoreResult;

/// The judge's cached verdicts among `keys`.
pub(super) async fn judgements<S: Sql>(store: &S, keys: &[String]) -> StoreResult<Vec<Judgement>> {
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(S::LIST_CHUNK) {
        let mut q = Query::<S>::new("SELECT judgement FROM judgements WHERE ");
        S::text_in(&mut q, "key", chunk);
        for row in read(store, q).await? {
            out.push(row.json("judgement")?);
        }
    }
    Ok(out)
}

/// Caches the judge's fresh verdicts of a batch by their key; the first verdict for a key stays.
pub(super) async fn keep<S: Sql>(conn: &mut Conn<S>, rows: &[Prepared]) -> StoreResult<()> {
    for p in rows {
        for (key, judgement) in &p.judgements {
            let mut q =
                Query::<S>::new("INSERT INTO judgements (key, judgement, created_at) VALUES (");
            Values::<S>::new(&mut q)
                .text(key.as_str())
                .json(judgement.clone())
                .time(p.created_at);
            q.push(") ON CONFLICT (key) DO NOTHING");
            S::execute(conn, q).await?;
        }
    }
    Ok(())
}

/// Keeps how a reviewer decided on a judge's verdict, replacing an earlier review of it.
pub(super) async fn record_review<S: Sql>(store: &S, review: &JudgeReview) -> StoreResult<()> {
    let mut q = Query::<S>::new(
        "INSERT INTO judge_reviews (run_id, scenario_key, attempt, check_index, agent_id, \
         criterion, agreed, judge_passed, reviewed_at) VALUES (",
    );
    Values::<S>::new(&mut q)
        .id(review.run_id)
        .text(review.scenario_key.as_str())
        .int(review.attempt)
        .int(i64::try_from(review.check).unwrap_or(i64::MAX))
        .id(review.agent_id)
        .text(review.criterion.as_str())
        .flag(review.agreed)
        .flag(review.judge_passed)
        .time(review.at);
    q.push(
        ") ON CONFLICT (run_id, scenario_key, attempt, check_index) DO UPDATE SET \
         criterion = excluded.criterion, agreed = excluded.agreed, \
         judge_passed = excluded.judge_passed, reviewed_at = excluded.reviewed_at",
    );
    write(store, q).await?;
    Ok(())
}

/// Per criterion of the agent, how many judge verdicts were reviewed and confirmed.
pub(super) async fn agreement<S: Sql>(
    store: &S,
    agent_id: Uuid,
) -> StoreResult<Vec<CriterionAgreement>> {
    let mut q = Query::<S>::new(
        "SELECT criterion, COUNT(*) AS reviewed, \
         SUM(CASE WHEN agreed THEN 1 ELSE 0 END) AS agreed, \
         SUM(CASE WHEN judge_passed AND agreed THEN 1 ELSE 0 END) AS both_passed, \
         SUM(CASE WHEN judge_passed AND NOT agreed THEN 1 ELSE 0 END) AS judge_only_passed, \
         SUM(CASE WHEN NOT judge_passed AND NOT agreed THEN 1 ELSE 0 END) AS reviewer_only_passed, \
         SUM(CASE WHEN NOT judge_passed AND agreed THEN 1 ELSE 0 END) AS both_failed \
         FROM judge_reviews WHERE agent_id = ",
    );
    S::id(&mut q, agent_id);
    q.push(" GROUP BY criterion ORDER BY criterion");
    read(store, q)
        .await?
        .iter()
        .map(|row| {
            let count = |column: &str| row.int(column).map(|n| n.max(0) as u64);
            let table = VerdictTable {
                both_passed: count("both_passed")?,
                judge_only_passed: count("judge_only_passed")?,
                reviewer_only_passed: count("reviewer_only_passed")?,
                both_failed: count("both_failed")?,
            };
            Ok(CriterionAgreement {
                criterion: row.text("criterion")?,
                reviewed: count("reviewed")?,
                agreed: count("agreed")?,
                kappa: table.kappa(),
                table,
            })
        })
        .collect()
}
