-- pass^k and pass@k come from each run's count of cases by (judged, passed) attempts, kept in
-- its tally; a tally left NULL here is recounted from the verdicts when a server starts.
UPDATE runs SET tally = NULL;
-- A comparison tells an edited scenario from a changed agent by the scenario hash each result
-- was judged against, the last of its case facts. Facts from before it get it appended (and the
-- outcome before it, as unknown, where that is missing too), by hand: re-encoding the array
-- with SQLite's JSON functions would round its numbers to 15 digits.
UPDATE results SET case_facts = substr(case_facts, 1, length(case_facts) - 1)
    || CASE json_array_length(case_facts) WHEN 7 THEN ',null,' ELSE ',' END
    || COALESCE(json_quote(json_extract(evaluation, '$.scenario_hash')), 'null') || ']'
WHERE json_array_length(case_facts) IN (7, 8);
