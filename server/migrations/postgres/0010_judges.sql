-- An agent's rubric (criteria an LLM judge decides about all its scenarios), the judge's
-- verdicts by the hash of criterion, model and evidence (so an unchanged case is never judged
-- twice), and how each review of a judge's verdict went (agreement per criterion).
ALTER TABLE agents ADD COLUMN rubric JSONB NOT NULL DEFAULT '[]'::jsonb;

CREATE TABLE judgements (
    key        TEXT PRIMARY KEY,
    judgement  JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- One row per reviewed judge verdict, by the case it belongs to (a review re-stores the result
-- under a new id), so reviewing a check again replaces its row.
CREATE TABLE judge_reviews (
    run_id       UUID NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    scenario_key TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    check_index  INTEGER NOT NULL,
    agent_id     UUID NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    criterion    TEXT NOT NULL,
    agreed       BOOLEAN NOT NULL,
    reviewed_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, scenario_key, attempt, check_index)
);
CREATE INDEX judge_reviews_by_agent ON judge_reviews (agent_id, criterion);
