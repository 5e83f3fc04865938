-- Compact per-result columns that summaries, pages and comparisons read instead of traces, and
-- each run's tally (its figures as sums, updated in the transaction that stores a batch).
-- `verdict` and `tally` are NULL only until the server fills them in on its first start after
-- this migration.
ALTER TABLE results ADD COLUMN latency_ms REAL;
ALTER TABLE results ADD COLUMN cost_complete INTEGER NOT NULL DEFAULT 1;
ALTER TABLE results ADD COLUMN tool_path TEXT NOT NULL DEFAULT '[]';
ALTER TABLE results ADD COLUMN verdict TEXT;
ALTER TABLE runs ADD COLUMN tally TEXT;
CREATE INDEX results_by_latency ON results (run_id, latency_ms) WHERE latency_ms IS NOT NULL;
CREATE INDEX results_by_time ON results (run_id, created_at);
-- Comparisons read a run's attempts in case order from this index alone: a row's compact
-- columns sit after its trace, which SQLite would otherwise have to page through.
CREATE INDEX results_cases ON results
    (run_id, scenario_key, attempt, status, cost_usd, cost_complete, latency_ms, tool_path, id);
-- Never read: every insert paid for them.
DROP INDEX results_by_category;
DROP INDEX results_by_scenario_key;
