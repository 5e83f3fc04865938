//! Results: sync a batch into a run, list a run's results, read one; and the prices results
//! are judged by.

use super::error::{BodyRefused, NotFound, Refused};
use axum::extract::State;
use axum::Json;
use shared::api::{
    JudgementLookup, Page, ResultFilter, ResultRow, ReviewQueue, SyncInput, SyncOutput,
};
use shared::cost::PriceTable;
use shared::eval::review::ReviewInput;
use shared::eval::FailureCategory;
use shared::export::ExportFormat;
use shared::llm_judge::Judgement;
use shared::ProctorError;
use shared::{ResultStatus, TestResult};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery, SyncBody};
use super::{ApiError, AppState};
use crate::backend::Backend;

#[utoipa::path(
    post,
    path = "/runs/{id}/results",
    tag = "runs",
    summary = "Sync up to 1,000 results into a run; the server judges them",
    params(("id" = Uuid, Path, description = "The run's id")),
    request_body = SyncInput,
    responses((status = 200, description = "The stored results' verdicts and the run's summary", body = SyncOutput), Refused, NotFound, (status = 409, description = "A result id that belongs to another run", body = ProctorError), BodyRefused)
)]
pub async fn sync(
    State(state): State<AppState>,
    ApiPath(run): ApiPath<Uuid>,
    SyncBody(input): SyncBody,
) -> Result<Json<SyncOutput>, ApiError> {
    Ok(Json(state.service.sync(run, input).await?))
}

#[utoipa::path(
    get,
    path = "/runs/{id}/results",
    tag = "runs",
    summary = "A page of a run's result rows",
    params(("id" = Uuid, Path, description = "The run's id"), ResultFilter),
    responses((status = 200, description = "A page of result rows", body = Page<ResultRow>), Refused, NotFound, BodyRefused)
)]
pub async fn list(
    State(state): State<AppState>,
    ApiPath(run): ApiPath<Uuid>,
    ApiQuery(filter): ApiQuery<ResultFilter>,
) -> Result<Json<Page<ResultRow>>, ApiError> {
    Ok(Json(state.service.results(run, &filter).await?))
}

#[utoipa::path(
    get,
    path = "/results/{id}",
    tag = "results",
    summary = "One result with its trace, diff and checks",
    params(("id" = Uuid, Path, description = "The result's id")),
    responses((status = 200, description = "The result", body = TestResult), Refused, NotFound)
)]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<TestResult>, ApiError> {
    Ok(Json(state.service.result(id).await?))
}

/// `POST /results/{id}/review`: a person confirms or overrides one check's verdict.
#[utoipa::path(
    post,
    path = "/results/{id}/review",
    tag = "results",
    summary = "A person confirms or overrides one check",
    params(("id" = Uuid, Path, description = "The result's id")),
    request_body = ReviewInput,
    responses((status = 200, description = "The result as now stored", body = TestResult), Refused, NotFound, BodyRefused)
)]
pub async fn review(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    headers: axum::http::HeaderMap,
    ApiJson(mut input): ApiJson<ReviewInput>,
) -> Result<Json<TestResult>, ApiError> {
    if let Some(name) = state.access.reviewer(&headers) {
        input.reviewer = name;
    }
    Ok(Json(state.service.review(id, input).await?))
}

/// `POST /judgements/lookup`: the LLM judge's cached verdicts for the keys asked for, so a
/// runner judges only what changed.
#[utoipa::path(
    post,
    path = "/judgements/lookup",
    tag = "judgements",
    summary = "The LLM judge's cached verdicts among the keys",
    request_body = JudgementLookup,
    responses((status = 200, description = "The verdicts found", body = Vec<Judgement>), Refused, BodyRefused)
)]
pub async fn judgements(
    State(state): State<AppState>,
    ApiJson(lookup): ApiJson<JudgementLookup>,
) -> Result<Json<Vec<Judgement>>, ApiError> {
    Ok(Json(state.service.judgements(lookup).await?))
}

/// `GET /agents/{agent}/review-queue`: the results most worth a person's look and the judge's
/// agreement with reviewers per criterion.
#[utoipa::path(
    get,
    path = "/agents/{agent}/review-queue",
    tag = "agents",
    summary = "The results of the agent's latest runs most worth a person's look",
    params(("agent" = String, Path, description = "The agent's id or name")),
    responses((status = 200, description = "The queue and the judge's agreement per criterion", body = ReviewQueue), Refused, NotFound)
)]
pub async fn review_queue(
    State(state): State<AppState>,
    ApiPath(agent): ApiPath<String>,
) -> Result<Json<ReviewQueue>, ApiError> {
    Ok(Json(state.service.review_queue(&agent).await?))
}

/// `GET /prices`: the price table this server judges costs by (built-in prices with the
/// `--prices` overrides), so a runner judging offline charges the same.
#[utoipa::path(
    get,
    path = "/prices",
    tag = "prices",
    summary = "The price table this server judges costs by",
    responses((status = 200, description = "The prices", body = PriceTable), Refused)
)]
pub async fn prices(State(state): State<AppState>) -> Result<Json<PriceTable>, ApiError> {
    Ok(Json(state.service.prices().await?))
}

/// The query of `GET /runs/{id}/export`: the format, and the result filters of the run page.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    format: ExportFormat,
    status: Option<ResultStatus>,
    category: Option<FailureCategory>,
    q: Option<String>,
}

/// Results read per page while a download streams: the file never sits whole in memory.
const EXPORT_PAGE: u32 = 500;

#[utoipa::path(
    get,
    path = "/runs/{id}/export",
    tag = "runs",
    summary = "Download a run's results (the filters applied) as JSON lines or CSV",
    params(("id" = Uuid, Path, description = "The run's id"), ExportQuery),
    responses(
        (status = 200, description = "The results, one per line", content(
            (String = "application/x-ndjson"),
            (String = "text/csv")
        )),
        (status = 400, description = "Malformed: bad id or query", body = ProctorError),
        (status = 401, description = "The server's token is needed", body = ProctorError),
        (status = 404, description = "No such run", body = ProctorError),
        (status = 422, description = "A filter breaks a rule (a NUL in `q`)", body = ProctorError)
    )
)]
pub async fn export(
    State(state): State<AppState>,
    ApiPath(run): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::http::header;
    use axum::response::IntoResponse;

    let format = query.format;
    let mut filter = ResultFilter {
        status: query.status,
        category: query.category,
        q: query.q,
        cursor: None,
        limit: Some(EXPORT_PAGE),
    };
    // The first page is read before the answer starts: a bad filter or a store that cannot
    // answer is a plain error status, not a 200 whose body stops short.
    let first = state.service.results(run, &filter).await?;
    let first_text: String = first.items.iter().map(|r| format.row(r)).collect();
    filter.cursor = first.next_cursor;
    let rest = filter.cursor.is_some().then_some(filter);
    let service = state.service.clone();
    // Later pages are read as the client takes them; `None` once the last page went out.
    let pages = futures::stream::unfold(rest, move |next| {
        let service = service.clone();
        async move {
            let mut filter = next?;
            let chunk = match service.results(run, &filter).await {
                Ok(page) => {
                    let text: String = page.items.iter().map(|r| format.row(r)).collect();
                    filter.cursor = page.next_cursor;
                    let more = filter.cursor.is_some().then_some(filter);
                    return Some((Ok::<_, std::io::Error>(text), more));
                }
                Err(e) => Err(std::io::Error::other(e.message)),
            };
            Some((chunk, None))
        }
    });
    let header_line = futures::stream::once(std::future::ready(Ok(format.header() + &first_text)));
    let body = axum::body::Body::from_stream(futures::StreamExt::chain(header_line, pages));
    let file = format!("attachment; filename=\"run-{run}.{}\"", format.extension());
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (header::CONTENT_DISPOSITION, file),
        ],
        body,
    )
        .into_response())
}
