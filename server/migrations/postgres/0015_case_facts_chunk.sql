-- One chunk of a run's case facts in case order, after a case, for comparisons. The only good
-- plan walks the case index in order and stops at the limit; without fresh statistics (a run
-- just loaded, before autovacuum analyzes it) the planner may instead gather the rest of the
-- run and sort it, tens of milliseconds a chunk. The function's own settings rule that plan
-- out for its query alone, in one round trip (a transaction with `SET LOCAL` took four).
-- The first chunk starts after ('', -1), before every case.
CREATE FUNCTION case_facts_chunk(run UUID, after_key TEXT, after_attempt INTEGER, max_rows BIGINT)
RETURNS TEXT
LANGUAGE sql STABLE
SET enable_sort = off
SET enable_bitmapscan = off
AS $$
    SELECT string_agg(case_facts, ' ') FROM (
        SELECT case_facts FROM results
        WHERE run_id = run AND (scenario_key, attempt) > (after_key, after_attempt)
        ORDER BY scenario_key, attempt
        LIMIT max_rows) chunk
$$;
