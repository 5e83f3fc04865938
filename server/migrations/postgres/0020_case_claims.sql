-- A run queued for workers is shared out case by case: each scenario × attempt is a row, handed
-- to a worker (`claimed_by` until `lease_until`, renewed while it runs; a lapsed lease lets any
-- worker take it again) and marked with whoever stored its result, so a result from a worker
-- that lost the case is declined and each case is stored once. `claims` counts the hand-outs:
-- a case lost by too many workers in a row fails its run. `run_workers` keeps every worker that
-- took part, even one whose cases all went to others.
CREATE TABLE run_cases (
    run_id       UUID NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    scenario_key TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    position     INTEGER NOT NULL,
    claimed_by   TEXT,
    lease_until  TIMESTAMPTZ,
    claims       INTEGER NOT NULL DEFAULT 0,
    stored_by    TEXT,
    PRIMARY KEY (run_id, scenario_key, attempt)
);
CREATE INDEX run_cases_open ON run_cases (run_id, position) WHERE stored_by IS NULL;
CREATE TABLE run_workers (
    run_id     UUID NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    worker     TEXT NOT NULL,
    claimed    INTEGER NOT NULL DEFAULT 0,
    first_at   TIMESTAMPTZ NOT NULL,
    last_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, worker)
);
