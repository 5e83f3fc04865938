-- A comparison draws each case's path score (its partial credit) in base and head, the tenth of
-- its case facts. Facts from before it get the score of their stored verdict appended (none for
-- a pending result), printed with 17 digits as 0006 does so it reads back as the same number.
UPDATE results SET case_facts = substr(case_facts, 1, length(case_facts) - 1) || ','
    || CASE
        WHEN status = 'pending' OR json_extract(evaluation, '$.score') IS NULL THEN 'null'
        ELSE printf('%!.17g', json_extract(evaluation, '$.score'))
    END || ']'
WHERE json_array_length(case_facts) = 9;
