-- Proctor's schema. Models are typed rows; traces, evaluations and other nested data are JSON.
-- Timestamps are RFC 3339 text in UTC, so text order is time order.

CREATE TABLE agents (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    tools       TEXT NOT NULL DEFAULT '[]',
    policies    TEXT NOT NULL DEFAULT '[]',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE scenarios (
    id           TEXT PRIMARY KEY,
    agent_id     TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    title        TEXT NOT NULL DEFAULT '',
    user_message TEXT NOT NULL,
    tags         TEXT NOT NULL DEFAULT '[]',
    category     TEXT,
    source       TEXT NOT NULL,
    complexity   TEXT,
    persona      TEXT,
    expectations TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (agent_id, key)
);
CREATE INDEX scenarios_by_category ON scenarios (agent_id, category);
CREATE INDEX scenarios_by_source ON scenarios (agent_id, source);

CREATE TABLE runs (
    id           TEXT PRIMARY KEY,
    agent_id     TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    label        TEXT,
    metadata     TEXT NOT NULL DEFAULT '{}',
    source       TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    started_at   TEXT,
    finished_at  TEXT,
    scenario_ids TEXT NOT NULL DEFAULT '[]',
    repeats      INTEGER NOT NULL DEFAULT 1,
    -- The run summary, recomputed after every sync so run lists need no scan of results.
    summary      TEXT
);
CREATE INDEX runs_by_created ON runs (created_at DESC);
CREATE INDEX runs_by_agent ON runs (agent_id, created_at DESC);
CREATE INDEX runs_by_status ON runs (status);

CREATE TABLE results (
    -- Insertion order, the cursor for pagination.
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL UNIQUE,
    run_id         TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    scenario_id    TEXT,
    scenario_key   TEXT NOT NULL,
    category       TEXT,
    attempt        INTEGER NOT NULL,
    status         TEXT NOT NULL,
    -- Failure categories as ',tool_usage,safety,' so one LIKE finds a category.
    failure_categories TEXT NOT NULL DEFAULT ',',
    user_message   TEXT NOT NULL,
    agent_response TEXT NOT NULL,
    score          REAL NOT NULL,
    cost_usd       REAL NOT NULL,
    duration_ms    REAL,
    trace          TEXT NOT NULL,
    evaluation     TEXT NOT NULL,
    cost           TEXT NOT NULL,
    error          TEXT,
    created_at     TEXT NOT NULL,
    UNIQUE (run_id, scenario_key, attempt)
);
CREATE INDEX results_by_status ON results (run_id, status, seq);
CREATE INDEX results_by_category ON results (run_id, category);
CREATE INDEX results_by_scenario_key ON results (scenario_key);
