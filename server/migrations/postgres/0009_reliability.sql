-- pass^k and pass@k come from each run's count of cases by (judged, passed) attempts, kept in
-- its tally; a tally left NULL here is recounted from the verdicts when a server starts.
UPDATE runs SET tally = NULL;
-- A comparison tells an edited scenario from a changed agent by the scenario hash each result
-- was judged against, the last of its case facts. Facts from before it get it appended (and the
-- outcome before it, as unknown, where that is missing too), as text so no number is re-encoded.
UPDATE results SET case_facts = left(case_facts, -1)
    || CASE json_array_length(case_facts::json) WHEN 7 THEN ',null,' ELSE ',' END
    || COALESCE(to_json(evaluation::json ->> 'scenario_hash')::text, 'null') || ']'
WHERE json_array_length(case_facts::json) IN (7, 8);
