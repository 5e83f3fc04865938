-- Spans an OpenTelemetry-instrumented agent sent to `POST /v1/traces`, by the case of a run they
-- belong to (`scenario_key#attempt`): the runner reads a case's spans as its trace, and the spans
-- of a case run without the runner are read into its result again whenever more arrive. A span
-- sent twice replaces itself.
CREATE TABLE spans (
    run_id   UUID NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    case_id  TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    span_id  TEXT NOT NULL,
    span     JSONB NOT NULL,
    PRIMARY KEY (run_id, case_id, trace_id, span_id)
);
