-- Case facts move from JSON text to length-framed binary (server/src/service/store/facts.rs):
-- parsing JSON was half of a large comparison's server time. Facts stored before keep their
-- JSON, wrapped in a frame tagged 0: its length (4 bytes, big-endian, counting the tag), the
-- tag, the JSON. Changing the column's type rebuilds the case index that carries it.
DROP FUNCTION case_facts_chunk(UUID, TEXT, INTEGER, BIGINT);
ALTER TABLE results ALTER COLUMN case_facts DROP DEFAULT;
ALTER TABLE results ALTER COLUMN case_facts TYPE BYTEA USING
    int4send(octet_length(convert_to(case_facts, 'UTF8')) + 1) || decode('00', 'hex')
    || convert_to(case_facts, 'UTF8');
-- As in 0012: one chunk of a run's case facts in case order, after a case, with the sorting
-- plan ruled out for its query alone. The frames are joined with nothing between them.
CREATE FUNCTION case_facts_chunk(run UUID, after_key TEXT, after_attempt INTEGER, max_rows BIGINT)
RETURNS BYTEA
LANGUAGE sql STABLE
SET enable_sort = off
SET enable_bitmapscan = off
AS $$
    SELECT string_agg(case_facts, ''::bytea) FROM (
        SELECT case_facts FROM results
        WHERE run_id = run AND (scenario_key, attempt) > (after_key, after_attempt)
        ORDER BY scenario_key, attempt
        LIMIT max_rows) chunk
$$;
