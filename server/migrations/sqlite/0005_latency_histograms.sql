-- Latency percentiles come from a histogram in each run's tally, not from an index read at an
-- offset (O(run) on every sync). Each verdict carries its latency so a replaced result takes
-- its bucket back out; tallies are recounted from the verdicts when the server starts.
UPDATE results
SET verdict = json_remove(json_set(verdict, '$.latency_ms', latency_ms), '$.has_latency')
WHERE verdict IS NOT NULL;
UPDATE runs SET tally = NULL;
DROP INDEX results_by_latency;
