-- A comparison draws each case's path score (its partial credit) in base and head, the tenth of
-- its case facts. Facts from before it get the score of their stored verdict appended (none for
-- a pending result), as text so no number is re-encoded.
UPDATE results SET case_facts = left(case_facts, -1) || ','
    || CASE WHEN status = 'pending' THEN 'null'
        ELSE COALESCE(evaluation::json ->> 'score', 'null') END || ']'
WHERE json_array_length(case_facts::json) = 9;
