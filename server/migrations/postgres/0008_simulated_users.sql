-- A scenario's simulated user (its brief as JSON; null for a scripted conversation or a single
-- message), and the messages it wrote, by the conversation that led to each, so a later run of
-- the scenario replays them while the agent answers the same way.
ALTER TABLE scenarios ADD COLUMN simulated_user JSONB NOT NULL DEFAULT 'null'::jsonb;

CREATE TABLE recorded_turns (
    scenario_id     UUID NOT NULL REFERENCES scenarios(id) ON DELETE CASCADE,
    transcript_hash TEXT NOT NULL,
    replay          TEXT NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scenario_id, transcript_hash)
);
