//! Runs: create, list, read, change status, claim, compare.

use super::error::{BodyRefused, NotFound, Refused};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use shared::api::{CaseClaim, CaseRef, CaseSpans, CasesReleased, CompareFilter, RunRecordings};
use shared::api::{Page, RunFilter, RunInput, RunView};
use shared::eval::CaseChange;
use shared::eval::RunComparison;
use shared::run_name::RunScope;
use shared::ProctorError;
use shared::RunStatus;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::{ApiError, AppState};
use crate::backend::Backend;

#[utoipa::path(
    post,
    path = "/runs",
    tag = "runs",
    summary = "Create a run of an agent",
    request_body = RunInput,
    responses((status = 201, description = "The run", body = RunView), Refused, NotFound, BodyRefused)
)]
pub async fn create(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<RunInput>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.service.create_run(input).await?),
    ))
}

#[utoipa::path(
    get,
    path = "/runs",
    tag = "runs",
    summary = "Runs, newest first, with their summaries",
    params(RunFilter),
    responses((status = 200, description = "A page of runs", body = Page<RunView>), Refused, BodyRefused)
)]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(filter): ApiQuery<RunFilter>,
) -> Result<Json<Page<RunView>>, ApiError> {
    Ok(Json(state.service.runs(&filter).await?))
}

#[utoipa::path(
    get,
    path = "/runs/{id}",
    tag = "runs",
    summary = "One run with its summary, by id or by name",
    description = "`id` is a full id, a unique id prefix of at least 6 characters, a label (the newest run with it) or `latest`, looked up among the runs the query's scope lets through.",
    params(("id" = String, Path, description = "The run's id or name"), RunScope),
    responses((status = 200, description = "The run", body = RunView), Refused, NotFound, (status = 409, description = "An id prefix that several runs share; `candidates` lists them", body = ProctorError))
)]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(run): ApiPath<String>,
    ApiQuery(scope): ApiQuery<RunScope>,
) -> Result<Json<RunView>, ApiError> {
    Ok(Json(state.service.find_run(&run, &scope).await?))
}

/// The body of `POST /runs/{id}/status`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StatusInput {
    status: RunStatus,
    /// Why the run failed or was cancelled, shown on its page (scrubbed, at most 4,000
    /// characters kept).
    #[serde(default)]
    reason: Option<String>,
}

#[utoipa::path(
    post,
    path = "/runs/{id}/status",
    tag = "runs",
    summary = "Move a run forward (completed, failed, cancelled)",
    params(("id" = Uuid, Path, description = "The run's id")),
    request_body = StatusInput,
    responses((status = 200, description = "The run", body = RunView), Refused, NotFound, (status = 409, description = "A status change backwards", body = ProctorError), BodyRefused)
)]
pub async fn set_status(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<StatusInput>,
) -> Result<Json<RunView>, ApiError> {
    Ok(Json(
        state
            .service
            .set_run_status(id, input.status, input.reason)
            .await?,
    ))
}

/// The query of `GET /compare`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompareQuery {
    /// The earlier run: its id or name (an id prefix, a label, `latest`).
    base: String,
    /// The later run: its id or name.
    head: String,
    // Spelled out, not flattened: a flattened query reads every value as text, so `limit`
    // would never parse as a number.
    change: Option<CaseChange>,
    cursor: Option<String>,
    limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/compare",
    tag = "compare",
    summary = "Compare two runs",
    params(CompareQuery),
    responses((status = 200, description = "Counts over every case and one page of cases", body = RunComparison), Refused, NotFound, BodyRefused)
)]
pub async fn compare(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<CompareQuery>,
) -> Result<Json<RunComparison>, ApiError> {
    Ok(Json(
        state
            .service
            .compare(
                state
                    .service
                    .find_run(&q.base, &RunScope::default())
                    .await?
                    .run
                    .id,
                state
                    .service
                    .find_run(&q.head, &RunScope::default())
                    .await?
                    .run
                    .id,
                &CompareFilter {
                    change: q.change,
                    cursor: q.cursor,
                    limit: q.limit,
                },
            )
            .await?,
    ))
}

/// The body of `POST /runs/claim`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ClaimInput {
    worker: String,
    agents: Vec<String>,
}

/// `POST /runs/claim`: the oldest queued run of one of the worker's agents, now running for it,
/// or `null` when none is waiting.
#[utoipa::path(
    post,
    path = "/runs/claim",
    tag = "runs",
    summary = "Claim the oldest queued run of the worker's agents",
    request_body = ClaimInput,
    responses((status = 200, description = "The run, leased to the worker, or null", body = Option<RunView>), Refused, BodyRefused)
)]
pub async fn claim(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<ClaimInput>,
) -> Result<Json<Option<RunView>>, ApiError> {
    Ok(Json(
        state.service.claim(&input.worker, &input.agents).await?,
    ))
}

/// The body of `POST /runs/{id}/lease` and `POST /runs/{id}/release`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkerInput {
    worker: String,
}

/// `POST /runs/{id}/lease`: the worker holding the run extends its lease; 409 when it lost it.
#[utoipa::path(
    post,
    path = "/runs/{id}/lease",
    tag = "runs",
    summary = "Renew a worker's lease on a run",
    params(("id" = Uuid, Path, description = "The run's id")),
    request_body = WorkerInput,
    responses((status = 200, description = "The run", body = RunView), Refused, NotFound, (status = 409, description = "The worker no longer holds the run", body = ProctorError), BodyRefused)
)]
pub async fn renew_lease(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<WorkerInput>,
) -> Result<Json<RunView>, ApiError> {
    Ok(Json(state.service.renew_lease(id, &input.worker).await?))
}

/// `POST /runs/{id}/release`: the worker holding the run hands it back to the queue.
#[utoipa::path(
    post,
    path = "/runs/{id}/release",
    tag = "runs",
    summary = "Hand a claimed run back to the queue",
    params(("id" = Uuid, Path, description = "The run's id")),
    request_body = WorkerInput,
    responses((status = 200, description = "The run", body = RunView), Refused, NotFound, (status = 409, description = "The worker no longer holds the run", body = ProctorError), BodyRefused)
)]
pub async fn release(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<WorkerInput>,
) -> Result<Json<RunView>, ApiError> {
    Ok(Json(state.service.release(id, &input.worker).await?))
}

/// The body of `POST /runs/claim-cases`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimCasesInput {
    worker: String,
    agents: Vec<String>,
    /// The run the worker is on, to ask for more of it; without it, the oldest shared run of
    /// the agents with cases left.
    #[serde(default)]
    run: Option<Uuid>,
    /// How many cases at most: the worker's free slots.
    max_cases: u32,
}

/// `POST /runs/claim-cases`: up to `max_cases` cases of a queued run shared out among workers,
/// each leased to the worker; `null` when none is left to hand out.
#[utoipa::path(
    post,
    path = "/runs/claim-cases",
    tag = "runs",
    summary = "Claim cases of a run shared out among workers",
    request_body = ClaimCasesInput,
    responses((status = 200, description = "The run and the cases now leased to the worker, or null", body = Option<CaseClaim>), Refused, BodyRefused)
)]
pub async fn claim_cases(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<ClaimCasesInput>,
) -> Result<Json<Option<CaseClaim>>, ApiError> {
    Ok(Json(
        state
            .service
            .claim_cases(&input.worker, &input.agents, input.run, input.max_cases)
            .await?,
    ))
}

/// `POST /runs/{id}/cases/lease`: the worker extends its leases on the cases of the run it
/// holds; the answer lists them (a case another worker took after a lapsed lease is not there).
#[utoipa::path(
    post,
    path = "/runs/{id}/cases/lease",
    tag = "runs",
    summary = "Renew a worker's leases on its cases of a run",
    params(("id" = Uuid, Path, description = "The run's id")),
    request_body = WorkerInput,
    responses((status = 200, description = "The cases the worker still holds", body = Vec<CaseRef>), Refused, BodyRefused)
)]
pub async fn renew_cases(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<WorkerInput>,
) -> Result<Json<Vec<CaseRef>>, ApiError> {
    Ok(Json(state.service.renew_cases(id, &input.worker).await?))
}

/// `POST /runs/{id}/cases/release`: the worker hands back the cases of the run it holds, for
/// any worker to take at once; the answer says how many.
#[utoipa::path(
    post,
    path = "/runs/{id}/cases/release",
    tag = "runs",
    summary = "Hand a worker's cases of a run back",
    params(("id" = Uuid, Path, description = "The run's id")),
    request_body = WorkerInput,
    responses((status = 200, description = "How many cases were handed back", body = CasesReleased), Refused, BodyRefused)
)]
pub async fn release_cases(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<WorkerInput>,
) -> Result<Json<CasesReleased>, ApiError> {
    let released = state.service.release_cases(id, &input.worker).await?;
    Ok(Json(CasesReleased { released }))
}

/// `DELETE /runs/{id}`: the run and its results are gone (204).
#[utoipa::path(
    delete,
    path = "/runs/{id}",
    tag = "runs",
    summary = "Delete a run with its results",
    params(("id" = Uuid, Path, description = "The run's id")),
    responses((status = 204, description = "Deleted"), Refused, NotFound)
)]
pub async fn delete(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.service.delete_run(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The query of `GET /runs/{id}/spans`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SpansQuery {
    /// `scenario_key#attempt`.
    case: String,
}

/// The spans an OpenTelemetry-instrumented agent sent for one case, read as its trace.
#[utoipa::path(
    get,
    path = "/runs/{id}/spans",
    tag = "runs",
    summary = "One case's OpenTelemetry spans read as its trace",
    params(("id" = Uuid, Path, description = "The run's id"), SpansQuery),
    responses((status = 200, description = "How many spans arrived, and the trace", body = CaseSpans), Refused, NotFound)
)]
pub async fn case_spans(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<SpansQuery>,
) -> Result<Json<CaseSpans>, ApiError> {
    Ok(Json(state.service.case_spans(id, &query.case).await?))
}

/// How many recordings a `PUT /runs/{id}/recordings` kept.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RecordingsKept {
    pub kept: usize,
}

/// Keeps what a run's calls answered (`proctor run --record-to-server`), scrubbed of personal
/// data, so the run can be replayed where its recordings folder is not.
#[utoipa::path(
    put,
    path = "/runs/{id}/recordings",
    tag = "runs",
    summary = "Keep up to 1,000 call recordings of a run, scrubbed",
    params(("id" = Uuid, Path, description = "The run's id")),
    request_body = RunRecordings,
    responses((status = 200, description = "How many were kept", body = RecordingsKept), Refused, NotFound, BodyRefused)
)]
pub async fn put_recordings(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<RunRecordings>,
) -> Result<Json<RecordingsKept>, ApiError> {
    let kept = state.service.put_recordings(id, input).await?;
    Ok(Json(RecordingsKept { kept }))
}

/// Every call recording the server keeps for a run (scrubbed), for `proctor run --replay` on a
/// machine without the run's recordings folder.
#[utoipa::path(
    get,
    path = "/runs/{id}/recordings",
    tag = "runs",
    summary = "A run's call recordings, scrubbed",
    params(("id" = Uuid, Path, description = "The run's id")),
    responses((status = 200, description = "The recordings by call id", body = RunRecordings), Refused, NotFound)
)]
pub async fn recordings(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<RunRecordings>, ApiError> {
    Ok(Json(state.service.recordings(id).await?))
}

/// What an audit run (`proctor audit`) says about the suite: the mutation score, by scenario and
/// by kind of fault, the vacuous scenarios and the faults no scenario catches.
#[utoipa::path(
    get,
    path = "/runs/{id}/audit",
    tag = "runs",
    summary = "An audit run's report",
    params(("id" = Uuid, Path, description = "The audit run's id")),
    responses((status = 200, description = "The audit's report", body = shared::audit::AuditReport), Refused, NotFound)
)]
pub async fn audit(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<shared::audit::AuditReport>, ApiError> {
    Ok(Json(state.service.audit(id).await?))
}
