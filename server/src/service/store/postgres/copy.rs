//! A batch's rows in the binary format of PostgreSQL's `COPY … FROM STDIN`: each field its
//! length and its bytes, in [`COPY_RESULTS`] column order. `COPY` is how PostgreSQL takes rows
//! in bulk (no statement planned per chunk, rows written several at a time), and the binary
//! format spares it reading every byte of a few megabytes of text for delimiters and escapes.
//! The store streams a chunk's rows while the next chunk is prepared.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::service::store::batch::Prepared;

/// The statement the rows are written for; the order of its columns is the order of a row's
/// fields.
pub(super) const COPY_RESULTS: &str = "COPY results (id, run_id, scenario_id, scenario_key, \
     category, attempt, status, failure_categories, user_message, agent_response, score, \
     cost_usd, cost_complete, duration_ms, latency_ms, tool_path, verdict, trace, evaluation, \
     cost, error, created_at, case_facts) FROM STDIN (FORMAT binary)";

/// The columns [`COPY_RESULTS`] names, each row's field count.
const FIELDS: i16 = 23;

/// What a binary `COPY` starts with: its signature, no flags, no header extension.
pub(super) fn header(out: &mut Vec<u8>) {
    out.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
    out.extend_from_slice(&0i32.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
}

/// What a binary `COPY` ends with.
pub(super) fn trailer(out: &mut Vec<u8>) {
    out.extend_from_slice(&(-1i16).to_be_bytes());
}

/// Appends the rows of `rows`, stored into run `run_id`, to `out`.
pub(super) fn rows(out: &mut Vec<u8>, run_id: Uuid, rows: &[Prepared]) {
    for p in rows {
        let r = &p.row;
        out.extend_from_slice(&FIELDS.to_be_bytes());
        let mut row = Row(out);
        row.uuid(r.id);
        row.uuid(run_id);
        row.opt(p.scenario_id, Row::uuid);
        row.text(&r.scenario_key);
        row.opt(r.category.as_deref(), Row::text);
        row.int(i32::try_from(r.attempt).unwrap_or(i32::MAX));
        row.text(r.status.as_str());
        row.text_array(&p.failed_categories);
        row.text(&r.user_message);
        row.text(&p.agent_response);
        row.float(r.score);
        row.float(r.cost_usd);
        row.bool(p.cost_complete);
        row.opt(p.duration_ms, Row::float);
        row.opt(r.duration_ms, Row::float);
        row.text_array(&r.tool_path);
        row.text(&p.verdict_json);
        row.text(&p.trace);
        row.text(&p.evaluation);
        row.jsonb(&p.cost);
        row.opt(p.error.as_deref(), Row::jsonb);
        row.time(p.created_at);
        row.field(&p.case_facts);
    }
}

/// One row's fields being written, each as its length (`-1` for null) and its bytes in
/// PostgreSQL's binary form of its type.
struct Row<'a>(&'a mut Vec<u8>);

impl Row<'_> {
    fn field(&mut self, bytes: &[u8]) {
        self.len(bytes.len());
        self.0.extend_from_slice(bytes);
    }

    fn len(&mut self, n: usize) {
        // A field over 1 GB is beyond what PostgreSQL stores in any column: the database
        // refuses the row, and the batch with it.
        self.0
            .extend_from_slice(&i32::try_from(n).unwrap_or(i32::MAX).to_be_bytes());
    }

    fn uuid(&mut self, id: Uuid) {
        self.field(id.as_bytes());
    }

    fn int(&mut self, n: i32) {
        self.field(&n.to_be_bytes());
    }

    fn float(&mut self, x: f64) {
        self.field(&x.to_be_bytes());
    }

    fn bool(&mut self, b: bool) {
        self.field(&[u8::from(b)]);
    }

    fn text(&mut self, s: &str) {
        self.field(s.as_bytes());
    }

    /// `jsonb`'s binary form: its format version, then the JSON text.
    fn jsonb(&mut self, json: &str) {
        self.len(json.len() + 1);
        self.0.push(1);
        self.0.extend_from_slice(json.as_bytes());
    }

    /// Microseconds since 2000-01-01 UTC, PostgreSQL's epoch (sub-microsecond digits
    /// truncated, as PostgreSQL keeps none).
    fn time(&mut self, at: DateTime<Utc>) {
        const UNIX_MICROS_AT_2000: i64 = 946_684_800_000_000;
        self.field(&(at.timestamp_micros() - UNIX_MICROS_AT_2000).to_be_bytes());
    }

    /// A one-dimensional `text[]`: dimensions, no nulls, the element type, then each element
    /// as a field of its own.
    fn text_array(&mut self, items: &[String]) {
        const TEXT_OID: i32 = 25;
        let dims = i32::from(!items.is_empty());
        let size = 12 + 8 * dims as usize + items.iter().map(|i| 4 + i.len()).sum::<usize>();
        self.len(size);
        self.0.extend_from_slice(&dims.to_be_bytes());
        self.0.extend_from_slice(&0i32.to_be_bytes());
        self.0.extend_from_slice(&TEXT_OID.to_be_bytes());
        if dims == 1 {
            let n = i32::try_from(items.len()).unwrap_or(i32::MAX);
            self.0.extend_from_slice(&n.to_be_bytes());
            self.0.extend_from_slice(&1i32.to_be_bytes());
        }
        for item in items {
            self.text(item);
        }
    }

    /// `-1`, null, or the value.
    fn opt<T>(&mut self, value: Option<T>, field: impl FnOnce(&mut Self, T)) {
        match value {
            Some(v) => field(self, v),
            None => self.0.extend_from_slice(&(-1i32).to_be_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(write: impl FnOnce(&mut Row)) -> Vec<u8> {
        let mut out = Vec::new();
        write(&mut Row(&mut out));
        out
    }

    #[test]
    fn an_array_counts_its_dimension_and_each_element() {
        let out = written(|r| r.text_array(&["ab".into(), "".into()]));
        let mut want = 30i32.to_be_bytes().to_vec();
        for n in [1, 0, 25, 2, 1, 2] {
            want.extend_from_slice(&i32::to_be_bytes(n));
        }
        want.extend_from_slice(b"ab");
        want.extend_from_slice(&0i32.to_be_bytes());
        assert_eq!(out, want);
        assert_eq!(out.len() - 4, 30, "the length counts what follows it");

        let empty = written(|r| r.text_array(&[]));
        let mut want = 12i32.to_be_bytes().to_vec();
        for n in [0, 0, 25] {
            want.extend_from_slice(&i32::to_be_bytes(n));
        }
        assert_eq!(empty, want, "no dimensions at all");
    }

    #[test]
    fn times_count_microseconds_from_2000_and_nulls_are_minus_one() {
        let at = DateTime::parse_from_rfc3339("2000-01-01T00:00:01.000002999Z")
            .unwrap()
            .with_timezone(&Utc);
        let out = written(|r| r.time(at));
        assert_eq!(out[4..], 1_000_002i64.to_be_bytes());
        let before = DateTime::parse_from_rfc3339("1999-12-31T23:59:59Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            written(|r| r.time(before))[4..],
            (-1_000_000i64).to_be_bytes()
        );
        assert_eq!(
            written(|r| r.opt(None::<f64>, Row::float)),
            (-1i32).to_be_bytes()
        );
        assert_eq!(written(|r| r.jsonb("{}")), [0, 0, 0, 3, 1, b'{', b'}']);
    }
}
