-- What a comparison reads of each attempt, kept as one JSON array beside it (id, scenario key,
-- attempt, status, cost when fully priced, latency, tool path) so a chunk of a run is read as
-- one concatenated string: decoding the separate columns row by row was most of a comparison's
-- cost. The case index carries it instead of the separate columns.
ALTER TABLE results ADD COLUMN case_facts TEXT NOT NULL DEFAULT '[]';
UPDATE results SET case_facts = json_build_array(id, scenario_key, attempt, status,
    CASE WHEN cost_complete THEN cost_usd END, latency_ms, to_json(tool_path))::text;
DROP INDEX results_cases;
CREATE UNIQUE INDEX results_cases ON results (run_id, scenario_key, attempt) INCLUDE (case_facts);
