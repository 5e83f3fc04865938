//! Case facts: one attempt's [`CaseRow`] as both stores keep it beside the result, in their
//! case index, so a comparison reads a chunk of a run as one value the database only
//! concatenates (`frame frame …`) and Rust decodes in one pass. Having the database build rows
//! from columns, or decoding rows one by one, cost several times as much; so did JSON, whose
//! parse was a third of a large comparison's server time (perf).
//!
//! A frame is its length (4 bytes, big-endian, counting what follows), a tag, and the facts:
//! - tag 1: the binary form below;
//! - tag 0: a JSON array, as facts were kept before the binary form (the upgrade wraps them
//!   in frames in SQL and leaves them as they were). Facts stored before the outcome was kept
//!   have seven elements, before the scenario hash eight, and before the score nine; the
//!   missing ones read as `None`.
//!
//! The binary form: the id (16 bytes), the attempt (u32, little-endian), the status (one
//! byte), which optional facts are present (one byte of [`Present`] bits), each present
//! number as an f64 (little-endian), then the scenario key, the scenario hash if present, and
//! the tool path (its count, then each name), each string its length then its UTF-8 bytes,
//! counts and lengths as LEB128 varints.

use shared::eval::compare::CaseRow;
use shared::ResultStatus;
use uuid::Uuid;

use super::{StoreError, StoreResult};

const JSON: u8 = 0;
const BINARY: u8 = 1;

/// The bits of the byte that says which optional facts a binary frame holds.
struct Present;

impl Present {
    const COST: u8 = 1;
    const LATENCY: u8 = 1 << 1;
    const SCORE: u8 = 1 << 2;
    const OUTCOME: u8 = 1 << 3;
    const OUTCOME_REACHED: u8 = 1 << 4;
    const HASH: u8 = 1 << 5;
}

/// A status's byte; fixed here rather than taken from the enum's order, which may change.
fn status_byte(status: ResultStatus) -> u8 {
    match status {
        ResultStatus::Passed => 0,
        ResultStatus::Failed => 1,
        ResultStatus::Error => 2,
        ResultStatus::Pending => 3,
    }
}

fn status_of(byte: u8) -> Option<ResultStatus> {
    Some(match byte {
        0 => ResultStatus::Passed,
        1 => ResultStatus::Failed,
        2 => ResultStatus::Error,
        3 => ResultStatus::Pending,
        _ => return None,
    })
}

/// The frame of `row`'s facts.
pub(super) fn encode(row: &CaseRow) -> Vec<u8> {
    let tools: usize = row.tool_path.iter().map(|t| t.len() + 2).sum();
    let mut out = Vec::with_capacity(64 + row.scenario_key.len() + tools);
    out.extend_from_slice(&[0; 4]);
    out.push(BINARY);
    out.extend_from_slice(row.id.as_bytes());
    out.extend_from_slice(&row.attempt.to_le_bytes());
    out.push(status_byte(row.status));
    let mut present = 0;
    for (bit, is) in [
        (Present::COST, row.known_cost_usd.is_some()),
        (Present::LATENCY, row.latency_ms.is_some()),
        (Present::SCORE, row.score.is_some()),
        (Present::OUTCOME, row.outcome_reached.is_some()),
        (Present::OUTCOME_REACHED, row.outcome_reached == Some(true)),
        (Present::HASH, row.scenario_hash.is_some()),
    ] {
        if is {
            present |= bit;
        }
    }
    out.push(present);
    for x in [row.known_cost_usd, row.latency_ms, row.score]
        .into_iter()
        .flatten()
    {
        out.extend_from_slice(&x.to_le_bytes());
    }
    put_str(&mut out, &row.scenario_key);
    if let Some(hash) = &row.scenario_hash {
        put_str(&mut out, hash);
    }
    put_varint(&mut out, row.tool_path.len());
    for tool in &row.tool_path {
        put_str(&mut out, tool);
    }
    // Facts are a few hundred bytes; a frame over 4 GB cannot be built from a stored result.
    let len = u32::try_from(out.len() - 4).expect("a frame is under 4 GB");
    out[..4].copy_from_slice(&len.to_be_bytes());
    out
}

fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

/// The attempts of a chunk of concatenated frames (`None`: no rows), in case order.
pub(super) fn decode_chunk(chunk: Option<&[u8]>) -> StoreResult<Vec<CaseRow>> {
    let Some(mut rest) = chunk else {
        return Ok(Vec::new());
    };
    let mut rows = Vec::with_capacity(frames(rest));
    while !rest.is_empty() {
        let mut frame = Reader(rest);
        let len = u32::from_be_bytes(frame.array()?) as usize;
        let body = frame.take(len)?;
        rest = frame.0;
        let (&tag, facts) = body
            .split_first()
            .ok_or_else(|| corrupt("an empty frame"))?;
        rows.push(match tag {
            BINARY => binary(facts)?,
            JSON => serde_json::from_slice::<JsonFacts>(facts)
                .map_err(|e| corrupt(&e.to_string()))?
                .into(),
            _ => return Err(corrupt(&format!("unknown tag {tag}"))),
        });
    }
    // An aggregate does not promise to keep its input's order.
    rows.sort_unstable_by(|a, b| (&a.scenario_key, a.attempt).cmp(&(&b.scenario_key, b.attempt)));
    Ok(rows)
}

/// How many frames a chunk holds, counted by their lengths alone (a damaged chunk's count is
/// only an estimate: decoding it finds the damage).
fn frames(mut chunk: &[u8]) -> usize {
    let mut n = 0;
    while let Some((len, rest)) = chunk.split_first_chunk::<4>() {
        n += 1;
        chunk = rest
            .get(u32::from_be_bytes(*len) as usize..)
            .unwrap_or_default();
    }
    n
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("case facts: {what}"))
}

fn binary(facts: &[u8]) -> StoreResult<CaseRow> {
    let mut r = Reader(facts);
    let id = Uuid::from_bytes(r.array()?);
    let attempt = u32::from_le_bytes(r.array()?);
    let [status] = r.array()?;
    let status = status_of(status).ok_or_else(|| corrupt(&format!("status byte {status}")))?;
    let [present] = r.array()?;
    let mut number = |bit: u8| -> StoreResult<Option<f64>> {
        (present & bit != 0)
            .then(|| r.array().map(f64::from_le_bytes))
            .transpose()
    };
    let known_cost_usd = number(Present::COST)?;
    let latency_ms = number(Present::LATENCY)?;
    let score = number(Present::SCORE)?;
    let scenario_key = r.string()?;
    let scenario_hash = (present & Present::HASH != 0)
        .then(|| r.string())
        .transpose()?;
    let tools = r.varint()?;
    // Each name takes at least its length's byte: a count beyond the bytes left is damage,
    // not a reason to reserve memory.
    if tools > r.0.len() {
        return Err(corrupt("a tool count beyond the frame"));
    }
    let mut tool_path = Vec::with_capacity(tools);
    for _ in 0..tools {
        tool_path.push(r.string()?);
    }
    if !r.0.is_empty() {
        return Err(corrupt("bytes after the tool path"));
    }
    Ok(CaseRow {
        id,
        scenario_key,
        attempt,
        status,
        known_cost_usd,
        latency_ms,
        score,
        tool_path,
        outcome_reached: (present & Present::OUTCOME != 0)
            .then_some(present & Present::OUTCOME_REACHED != 0),
        scenario_hash,
    })
}

/// The bytes of a frame not read yet.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> StoreResult<&'a [u8]> {
        if n > self.0.len() {
            return Err(corrupt("a frame cut short"));
        }
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> StoreResult<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("took N bytes"))
    }

    fn varint(&mut self) -> StoreResult<usize> {
        let mut n = 0usize;
        for shift in (0..usize::BITS).step_by(7) {
            let [byte] = self.array()?;
            n |= usize::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(corrupt("a length beyond any frame"))
    }

    fn string(&mut self) -> StoreResult<String> {
        let len = self.varint()?;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| corrupt("a name that is not UTF-8"))
    }
}

/// Facts as JSON kept them, element by element in [`CaseRow`]'s order of old.
#[derive(serde::Deserialize)]
struct JsonFacts(
    Uuid,
    String,
    u32,
    ResultStatus,
    Option<f64>,
    Option<f64>,
    Vec<String>,
    #[serde(default)] Option<bool>,
    #[serde(default)] Option<String>,
    #[serde(default)] Option<f64>,
);

impl From<JsonFacts> for CaseRow {
    fn from(f: JsonFacts) -> Self {
        CaseRow {
            id: f.0,
            scenario_key: f.1,
            attempt: f.2,
            status: f.3,
            known_cost_usd: f.4,
            latency_ms: f.5,
            tool_path: f.6,
            outcome_reached: f.7,
            scenario_hash: f.8,
            score: f.9,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame of JSON facts, as the upgrade wraps them.
    fn json_frame(json: &str) -> Vec<u8> {
        let mut out = u32::try_from(json.len() + 1)
            .unwrap()
            .to_be_bytes()
            .to_vec();
        out.push(JSON);
        out.extend_from_slice(json.as_bytes());
        out
    }

    fn row(key: &str, attempt: u32) -> CaseRow {
        CaseRow {
            id: Uuid::new_v4(),
            scenario_key: key.into(),
            attempt,
            status: ResultStatus::Failed,
            known_cost_usd: Some(0.1 + 0.2),
            latency_ms: None,
            score: Some(2.0 / 3.0),
            tool_path: vec!["say \"hi\" ".into(), String::new(), "ü".repeat(100)],
            outcome_reached: None,
            scenario_hash: None,
        }
    }

    #[test]
    fn facts_kept_as_json_before_the_binary_form_still_read() {
        let id = Uuid::nil();
        let old = format!(r#"["{id}","refund",1,"passed",0.25,1200.0,["lookup","refund"]]"#);
        let rows = decode_chunk(Some(&json_frame(&old))).unwrap();
        assert_eq!(rows[0].outcome_reached, None);
        assert_eq!(rows[0].tool_path, ["lookup", "refund"]);
        let newer = format!(
            r#"["{id}","refund",1,"passed",0.25,1200.0,["lookup"],true,"0123456789abcdef",0.5]"#
        );
        let rows = decode_chunk(Some(&json_frame(&newer))).unwrap();
        assert_eq!(
            (
                rows[0].outcome_reached,
                rows[0].scenario_hash.as_deref(),
                rows[0].score
            ),
            (Some(true), Some("0123456789abcdef"), Some(0.5))
        );
    }

    #[test]
    fn every_combination_of_optional_facts_reads_back_as_written() {
        let statuses = [
            ResultStatus::Passed,
            ResultStatus::Failed,
            ResultStatus::Error,
            ResultStatus::Pending,
        ];
        for mask in 0..64u32 {
            let on = |bit: u32| mask & (1 << bit) != 0;
            let row = CaseRow {
                status: statuses[mask as usize % 4],
                attempt: mask * 1_000_003,
                known_cost_usd: on(0).then_some(-0.0),
                latency_ms: on(1).then_some(f64::MAX),
                score: on(2).then_some(1.0 / 3.0),
                outcome_reached: on(3).then_some(on(4)),
                scenario_hash: on(5).then(|| "0123456789abcdef".into()),
                tool_path: (0..mask as usize).map(|i| "t".repeat(i * 5)).collect(),
                ..row(&"k".repeat(mask as usize * 3), 1)
            };
            let read = decode_chunk(Some(&encode(&row))).unwrap();
            assert_eq!(read, std::slice::from_ref(&row));
            assert_eq!(
                read[0].known_cost_usd.map(f64::to_bits),
                row.known_cost_usd.map(f64::to_bits),
                "the sign of zero survives"
            );
        }
    }

    #[test]
    fn a_chunk_mixing_both_forms_reads_back_in_case_order() {
        let rows = [row("b", 1), row("a", 2), row("a", 1)];
        let mut chunk = encode(&rows[0]);
        let r = &rows[1];
        let json = serde_json::to_string(&(
            r.id,
            &r.scenario_key,
            r.attempt,
            r.status,
            r.known_cost_usd,
            r.latency_ms,
            &r.tool_path,
            r.outcome_reached,
            &r.scenario_hash,
            r.score,
        ))
        .unwrap();
        chunk.extend(json_frame(&json));
        chunk.extend(encode(&rows[2]));
        let read = decode_chunk(Some(&chunk)).unwrap();
        assert_eq!(read, [rows[2].clone(), rows[1].clone(), rows[0].clone()]);
        assert!(decode_chunk(None).unwrap().is_empty());
    }

    #[test]
    fn a_damaged_chunk_is_an_error_however_it_is_damaged() {
        let good = encode(&row("refund", 1));
        let mut cut = good.clone();
        cut.pop();
        let mut longer = good.clone();
        longer.push(0);
        let mut grown = good.clone();
        let len = u32::from_be_bytes(grown[..4].try_into().unwrap());
        grown[..4].copy_from_slice(&(len + 1).to_be_bytes());
        grown.push(0);
        let mut bad_status = good.clone();
        bad_status[4 + 1 + 16 + 4] = 9;
        let mut bad_tag = good.clone();
        bad_tag[4] = 7;
        let mut huge_count = encode(&CaseRow {
            tool_path: Vec::new(),
            ..row("refund", 1)
        });
        *huge_count.last_mut().unwrap() = 0x7f;
        let not_json = json_frame(r#"["not a uuid"]"#);
        for (what, chunk) in [
            ("cut short", cut),
            ("trailing bytes outside a frame", longer),
            ("bytes after the tool path", grown),
            ("an unknown status", bad_status),
            ("an unknown tag", bad_tag),
            ("more tools than bytes", huge_count),
            ("bad JSON", not_json),
            ("an empty frame", vec![0, 0, 0, 0]),
        ] {
            assert!(
                matches!(decode_chunk(Some(&chunk)), Err(StoreError::Corrupt(_))),
                "{what}"
            );
        }
    }

    #[test]
    fn a_varint_takes_each_length_and_refuses_an_endless_one() {
        for n in [0, 1, 127, 128, 300, 16_383, 16_384, usize::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, n);
            assert_eq!(Reader(&out).varint().unwrap(), n);
        }
        assert!(Reader(&[0xff; 11]).varint().is_err());
    }
}
