-- Latency percentiles come from a histogram in each run's tally, not from an index read at an
-- offset (O(run) on every sync). Each verdict carries its latency so a replaced result takes
-- its bucket back out; a tally left NULL here is recounted from the verdicts when a server
-- starts.
UPDATE results
SET verdict = ((verdict::jsonb - 'has_latency') || jsonb_build_object('latency_ms', latency_ms))::json;
ALTER TABLE runs ALTER COLUMN tally DROP NOT NULL;
UPDATE runs SET tally = NULL;
DROP INDEX results_by_latency;
