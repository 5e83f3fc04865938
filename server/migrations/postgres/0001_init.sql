-- Proctor's schema on PostgreSQL: the same tables as the embedded SQLite store, with native
-- types. Nested data is JSONB where SQL looks inside it (summaries, tags) and JSON where the
-- server only ever reads it whole (traces, evaluations, verdicts): JSON is stored as sent, which
-- makes a 1,000-result sync's insert about twice as fast. The compact verdict columns beside
-- each result are what summaries, pages and comparisons read.

CREATE TABLE agents (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    tools       JSONB NOT NULL DEFAULT '[]',
    policies    JSONB NOT NULL DEFAULT '[]',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE scenarios (
    id           UUID PRIMARY KEY,
    agent_id     UUID NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    title        TEXT NOT NULL DEFAULT '',
    user_message TEXT NOT NULL,
    tags         JSONB NOT NULL DEFAULT '[]',
    category     TEXT,
    source       TEXT NOT NULL,
    complexity   TEXT,
    persona      TEXT,
    expectations JSONB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (agent_id, key)
);

CREATE TABLE runs (
    id           UUID PRIMARY KEY,
    agent_id     UUID NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    label        TEXT,
    metadata     JSONB NOT NULL DEFAULT '{}',
    source       TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    started_at   TIMESTAMPTZ,
    finished_at  TIMESTAMPTZ,
    scenario_ids JSONB NOT NULL DEFAULT '[]',
    repeats      INTEGER NOT NULL DEFAULT 1,
    -- The run's figures as sums, updated in the transaction that stores a batch, and the
    -- summary read off them, so run lists need no scan of results.
    tally        JSONB NOT NULL,
    summary      JSONB,
    -- A claim is a lease the worker renews while it works.
    claimed_by   TEXT,
    lease_until  TIMESTAMPTZ,
    lost_leases  INTEGER NOT NULL DEFAULT 0,
    reason       TEXT
);
CREATE INDEX runs_by_created ON runs (created_at DESC);
CREATE INDEX runs_by_agent ON runs (agent_id, created_at DESC);
-- Claims look for the oldest queued run; lapses for expired leases.
CREATE INDEX runs_queued ON runs (created_at) WHERE status = 'queued';
CREATE INDEX runs_by_lease ON runs (lease_until) WHERE lease_until IS NOT NULL;
CREATE INDEX runs_finished ON runs (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE results (
    -- Insertion order, the cursor for pagination.
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id             UUID NOT NULL UNIQUE,
    run_id         UUID NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    scenario_id    UUID,
    -- Byte order, as comparisons walk two runs' cases side by side, whatever the database's
    -- collation.
    scenario_key   TEXT COLLATE "C" NOT NULL,
    category       TEXT,
    attempt        INTEGER NOT NULL,
    status         TEXT NOT NULL,
    failure_categories TEXT[] NOT NULL DEFAULT '{}',
    user_message   TEXT NOT NULL,
    agent_response TEXT NOT NULL,
    score          DOUBLE PRECISION NOT NULL,
    cost_usd       DOUBLE PRECISION NOT NULL,
    cost_complete  BOOLEAN NOT NULL,
    duration_ms    DOUBLE PRECISION,
    latency_ms     DOUBLE PRECISION,
    tool_path      TEXT[] NOT NULL,
    verdict        JSON NOT NULL,
    trace          JSON NOT NULL,
    evaluation     JSON NOT NULL,
    cost           JSONB NOT NULL,
    error          JSONB,
    created_at     TIMESTAMPTZ NOT NULL
);
-- Results arrive in bulk: statistics and the visibility map (which lets comparisons read the
-- index alone) are kept fresh after 2% of the table changes, not PostgreSQL's default 10-20%.
ALTER TABLE results SET (autovacuum_analyze_scale_factor = 0.02,
    autovacuum_vacuum_insert_scale_factor = 0.02, autovacuum_vacuum_scale_factor = 0.05);
CREATE INDEX results_by_run ON results (run_id, seq);
CREATE INDEX results_by_status ON results (run_id, status, seq);
CREATE INDEX results_by_latency ON results (run_id, latency_ms) WHERE latency_ms IS NOT NULL;
CREATE INDEX results_by_time ON results (run_id, created_at);
-- One attempt per case, and comparisons read a run's attempts in case order from this index
-- alone (an index-only scan once autovacuum has marked the pages all-visible).
CREATE UNIQUE INDEX results_cases ON results (run_id, scenario_key, attempt)
    INCLUDE (status, cost_usd, cost_complete, latency_ms, tool_path, id);
