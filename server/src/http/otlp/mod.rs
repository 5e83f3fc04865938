//! `POST /v1/traces`: the OTLP/HTTP trace receiver. Agents in any language export their spans
//! here (`OTEL_EXPORTER_OTLP_ENDPOINT` = the server's address; SDKs add `/v1/traces`), in
//! protobuf or JSON, gzipped or not. Answers follow the OTLP/HTTP specification: 200 with an
//! `ExportTraceServiceResponse` (its `partial_success` counting spans that named no run), or a
//! 4xx/5xx with a `google.rpc.Status` — both in the request's encoding. A request that cannot be
//! kept whole keeps nothing.

use std::io::Read;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message;
use shared::{ErrorKind, ProctorError};

use super::listener::ClientAddr;
use super::origin::same_origin_write;
use super::AppState;
mod decode;

use self::decode::Encoding;

/// The largest export request taken, as sent and once decompressed. An SDK's batch is far
/// smaller (512 spans by default); this bounds what a gzip bomb can make the server hold.
pub const MAX_OTLP_BYTES: usize = 16 * 1024 * 1024;
pub const MAX_OTLP_INFLATED_BYTES: usize = 64 * 1024 * 1024;

/// `google.rpc.Status`, the body OTLP/HTTP answers a failed request with.
#[derive(Clone, PartialEq, Message, serde::Serialize)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// A refused export request: its HTTP status, and the gRPC code and message of its body.
struct Refusal {
    status: StatusCode,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            message: message.into(),
        }
    }

    /// What a service error means to an exporter. Data the server cannot take — malformed, for
    /// a run that does not exist, a case the run cannot hold — is 400, which OTLP clients do not
    /// retry; a busy or unreachable store is 503, which they do.
    fn of(error: ProctorError) -> Refusal {
        let status = match error.kind {
            ErrorKind::Malformed
            | ErrorKind::Invalid
            | ErrorKind::NotFound
            | ErrorKind::Conflict
            | ErrorKind::NotJson => StatusCode::BAD_REQUEST,
            other => {
                StatusCode::from_u16(other.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
        };
        Refusal::new(status, error.message)
    }

    /// A refused token or a cross-site request, with the status the guard gives it elsewhere.
    fn of_access(error: ProctorError) -> Refusal {
        let status = StatusCode::from_u16(error.kind.status()).unwrap_or(StatusCode::UNAUTHORIZED);
        Refusal::new(status, error.message)
    }

    /// The gRPC code a `google.rpc.Status` carries for this HTTP status.
    fn code(&self) -> i32 {
        match self.status {
            StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE => 3,
            StatusCode::UNAUTHORIZED => 16,
            StatusCode::FORBIDDEN => 7,
            StatusCode::PAYLOAD_TOO_LARGE | StatusCode::TOO_MANY_REQUESTS => 8,
            StatusCode::SERVICE_UNAVAILABLE => 14,
            _ => 13,
        }
    }

    fn answer(self, encoding: Encoding) -> Response {
        if self.status.is_server_error() {
            tracing::error!(status = %self.status, "OTLP export refused: {}", self.message);
        }
        let status = RpcStatus {
            code: self.code(),
            message: self.message,
        };
        let body = match encoding {
            Encoding::Protobuf => status.encode_to_vec(),
            Encoding::Json => serde_json::to_vec(&status).expect("a status serializes"),
        };
        (
            self.status,
            [(header::CONTENT_TYPE, encoding.content_type())],
            body,
        )
            .into_response()
    }
}

pub async fn export(
    State(state): State<AppState>,
    client: Option<Extension<ConnectInfo<ClientAddr>>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let encoding = Encoding::of(content_type);
    let client = client.map(|c| c.0 .0 .0.ip());
    let access = same_origin_write(&headers).and_then(|()| state.access.admit(client, &headers));
    if let Err(refused) = access {
        return Refusal::of_access(refused).answer(encoding.unwrap_or(Encoding::Json));
    }
    let Some(encoding) = encoding else {
        return Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "OTLP/HTTP takes `application/x-protobuf` or `application/json`, not {content_type:?}"
            ),
        )
        .answer(Encoding::Json);
    };
    let body = match axum::body::to_bytes(body, MAX_OTLP_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            return Refusal::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the request is larger than {} MB, or was cut off; export smaller batches \
                     (OTEL_BSP_MAX_EXPORT_BATCH_SIZE)",
                    MAX_OTLP_BYTES >> 20
                ),
            )
            .answer(encoding)
        }
    };
    match receive(&state, &headers, &body, encoding).await {
        Ok(response) => {
            let bytes = match encoding {
                Encoding::Protobuf => response.encode_to_vec(),
                Encoding::Json => serde_json::to_vec(&response).expect("a response serializes"),
            };
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, encoding.content_type())],
                bytes,
            )
                .into_response()
        }
        Err(refusal) => refusal.answer(encoding),
    }
}

async fn receive(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    encoding: Encoding,
) -> Result<ExportTraceServiceResponse, Refusal> {
    let body = inflate(headers, body)?;
    let request = decode::decode(&body, encoding)
        .map_err(|why| Refusal::new(StatusCode::BAD_REQUEST, why.to_string()))?;
    let ingested = state
        .service
        .ingest_spans(decode::spans(request))
        .await
        .map_err(Refusal::of)?;
    Ok(ExportTraceServiceResponse {
        partial_success: ingested.reason().map(|message| ExportTracePartialSuccess {
            rejected_spans: ingested.rejected as i64,
            error_message: message,
        }),
    })
}

/// The body as sent, or inflated when it says it is gzipped — never past the bound.
fn inflate(headers: &HeaderMap, body: &[u8]) -> Result<Vec<u8>, Refusal> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match encoding.as_str() {
        "" | "identity" => Ok(body.to_vec()),
        "gzip" => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(body)
                .take(MAX_OTLP_INFLATED_BYTES as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| {
                    Refusal::new(
                        StatusCode::BAD_REQUEST,
                        format!("the body says it is gzip but cannot be inflated: {e}"),
                    )
                })?;
            if out.len() > MAX_OTLP_INFLATED_BYTES {
                return Err(Refusal::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "the request inflates past {} MB; export smaller batches \
                         (OTEL_BSP_MAX_EXPORT_BATCH_SIZE)",
                        MAX_OTLP_INFLATED_BYTES >> 20
                    ),
                ));
            }
            Ok(out)
        }
        other => Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("`Content-Encoding: {other}` is not supported; send gzip or no encoding"),
        )),
    }
}
