-- What a comparison reads of each attempt, kept as one JSON array beside it (id, scenario key,
-- attempt, status, cost when fully priced, latency, tool path) so a chunk of a run is read as
-- one concatenated string: building that JSON from separate columns at read time was most of a
-- comparison's cost. The case index carries it instead of the separate columns.
ALTER TABLE results ADD COLUMN case_facts TEXT NOT NULL DEFAULT '[]';
-- Written out by hand rather than with json_array, which keeps only 15 significant digits of a
-- REAL: `%!.17g` gives back exactly the stored number, as a sync's facts do.
UPDATE results SET case_facts = '[' || json_quote(id) || ',' || json_quote(scenario_key) || ','
    || attempt || ',' || json_quote(status) || ','
    || CASE WHEN cost_complete THEN printf('%!.17g', cost_usd) ELSE 'null' END || ','
    || CASE WHEN latency_ms IS NULL THEN 'null' ELSE printf('%!.17g', latency_ms) END || ','
    || tool_path || ']';
DROP INDEX results_cases;
CREATE INDEX results_cases ON results (run_id, scenario_key, attempt, case_facts);
