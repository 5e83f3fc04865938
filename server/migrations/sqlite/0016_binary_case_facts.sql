-- Case facts move from JSON text to length-framed binary (server/src/service/store/facts.rs):
-- parsing JSON was half of a large comparison's time. Facts stored before keep their JSON,
-- wrapped in a frame tagged 0: its length (4 bytes, big-endian, counting the tag), the tag,
-- the JSON. SQLite cannot change a column's type, so the frames go in a new column that takes
-- the old one's name, and the case index is built again over it.
ALTER TABLE results ADD COLUMN case_frames BLOB NOT NULL DEFAULT x'';
UPDATE results SET case_frames = CAST(
    unhex(printf('%08X', length(CAST(case_facts AS BLOB)) + 1)) || x'00' || CAST(case_facts AS BLOB)
    AS BLOB);
DROP INDEX results_cases;
ALTER TABLE results DROP COLUMN case_facts;
ALTER TABLE results RENAME COLUMN case_frames TO case_facts;
CREATE INDEX results_cases ON results (run_id, scenario_key, attempt, case_facts);
