-- pass^k and pass@k come from each run's count of cases by (judged, passed) attempts, kept in
-- its tally; a tally left NULL here is recounted from the verdicts when a server starts.
UPDATE runs SET tally = NULL;
