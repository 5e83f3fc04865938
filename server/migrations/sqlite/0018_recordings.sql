-- Recordings a runner sent with `--record-to-server`: what each call of a run's cases answered
-- (`scenario_key#attempt`, a conversation's turns `…/turn-N`), scrubbed of personal data, so a
-- run can be replayed on a machine that does not hold the recordings folder it was recorded in.
CREATE TABLE recordings (
    run_id    TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    call_id   TEXT NOT NULL,
    recording TEXT NOT NULL,
    PRIMARY KEY (run_id, call_id)
);
