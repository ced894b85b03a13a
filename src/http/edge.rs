//! What every /graphql request passes before and after execution: the
//! Origin check and CORS, media types (415, `application/graphql-response+json`),
//! the in-flight cap, the body read timeout, the batch cap, and a response
//! written under a size cap.

// A refusal is the response itself, returned once per request and never
// propagated further: its size does not matter.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::{BatchRequest, BatchResponse, Request, Response};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::{ALLOWED_METHODS, CORRELATION_HEADER, with_correlation};
use crate::app::{AppState, Config};
use crate::auth::Principal;
use crate::graphql::ErrorCode;
use crate::graphql::limits::{Limits, limit_error};

/// Connection- and browser-level settings (the request limits are in
/// [`Limits`]). Defaults are what `chronicle serve` uses.
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// Browser origins (scheme://host[:port]) allowed to call the API, by
    /// CORS and on WebSocket upgrades. Empty: same-origin only.
    pub cors_origins: Vec<String>,
    /// Time a client has to send a request's headers (10 s); hyper re-arms
    /// it while a keep-alive connection waits for its next request, so it is
    /// also the idle keep-alive timeout.
    pub header_read_timeout: Duration,
    /// Time a client has to send a request's body (30 s); 408 past it.
    pub body_read_timeout: Duration,
    /// Open TCP connections (1,024); more are closed at once.
    pub max_connections: usize,
    /// How long shutdown waits for in-flight requests (10 s).
    pub shutdown_grace: Duration,
    /// Time a WebSocket has to send `connection_init` (10 s); 4408.
    pub ws_init_timeout: Duration,
    /// Subscriptions at once on one WebSocket (100).
    pub max_subscriptions_per_connection: usize,
    /// WebSockets at once per principal (user id; peer address when
    /// anonymous) (32).
    pub max_sockets_per_principal: usize,
    /// In secured mode, whether anonymous callers may introspect.
    pub public_introspection: bool,
    /// In secured mode, whether anonymous callers get "Did you mean" hints.
    pub public_suggestions: bool,
    /// In secured mode, whether anonymous callers get GraphiQL.
    pub public_graphiql: bool,
    /// In secured mode, whether anonymous callers may read /metrics on the
    /// main listener (a separate metrics listener is never authenticated).
    pub public_metrics: bool,
}

impl Default for EdgeConfig {
    fn default() -> EdgeConfig {
        EdgeConfig {
            cors_origins: Vec::new(),
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 1_024,
            shutdown_grace: Duration::from_secs(10),
            ws_init_timeout: Duration::from_secs(10),
            max_subscriptions_per_connection: 100,
            max_sockets_per_principal: 32,
            public_introspection: false,
            public_suggestions: false,
            public_graphiql: false,
            public_metrics: false,
        }
    }
}

/// Shared state of the edge: one per server.
pub struct Edge {
    /// Timeouts, caps and origins.
    pub config: EdgeConfig,
    /// Request shape and cost limits.
    pub limits: Limits,
    in_flight: Arc<Semaphore>,
    /// Flips to true when the server starts shutting down.
    shutdown: watch::Sender<bool>,
    /// Open WebSockets (shutdown waits for them to close).
    pub(super) sockets: AtomicUsize,
    pub(super) sockets_by_principal: Mutex<HashMap<String, usize>>,
}

impl Edge {
    /// The edge of a server with this configuration.
    pub fn new(config: &Config) -> Arc<Edge> {
        let (shutdown, _) = watch::channel(false);
        Arc::new(Edge {
            config: config.edge.clone(),
            limits: config.limits.clone(),
            in_flight: Arc::new(Semaphore::new(config.limits.max_in_flight.max(1))),
            shutdown,
            sockets: AtomicUsize::new(0),
            sockets_by_principal: Mutex::new(HashMap::new()),
        })
    }

    /// Tells WebSockets to close (1001) and refuses new ones.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// A receiver that turns true when shutdown begins.
    pub fn shutting_down(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// WebSockets open now.
    pub fn open_sockets(&self) -> usize {
        self.sockets.load(Ordering::SeqCst)
    }

    /// A slot among the in-flight requests, or 503 OVERLOADED.
    pub(super) fn admit(
        &self,
        format: Format,
        correlation: &str,
    ) -> Result<OwnedSemaphorePermit, HttpResponse> {
        self.in_flight.clone().try_acquire_owned().map_err(|_| {
            let mut response = refusal(
                format,
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Overloaded,
                "the server is at its limit of requests in flight; retry shortly",
                correlation,
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        })
    }

    /// Reads the whole body within the body timeout (408 past it; the size
    /// cap is the body limit layer's, 413).
    pub(super) async fn read_body(
        &self,
        body: Body,
        correlation: &str,
    ) -> Result<Bytes, HttpResponse> {
        match tokio::time::timeout(
            self.config.body_read_timeout,
            axum::body::to_bytes(body, usize::MAX),
        )
        .await
        {
            Ok(Ok(bytes)) => Ok(bytes),
            Ok(Err(e)) => {
                // The limit layer's error surfaces here when a body without
                // a length runs past the cap.
                let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
                let mut too_large = false;
                while let Some(c) = cause {
                    if c.is::<http_body_util::LengthLimitError>() {
                        too_large = true;
                        break;
                    }
                    cause = c.source();
                }
                if too_large {
                    Err(plain_error(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "VALIDATION",
                        "the request body is larger than the server accepts",
                        correlation,
                    ))
                } else {
                    Err(plain_error(
                        StatusCode::BAD_REQUEST,
                        "VALIDATION",
                        "the request body could not be read",
                        correlation,
                    ))
                }
            }
            Err(_) => Err(plain_error(
                StatusCode::REQUEST_TIMEOUT,
                "TIMEOUT",
                &format!(
                    "the request body did not arrive within {} ms",
                    self.config.body_read_timeout.as_millis()
                ),
                correlation,
            )),
        }
    }

    /// Whether `origin` may call the API from a browser.
    pub fn origin_allowed(&self, origin: &str, host: Option<&str>) -> bool {
        let origin = origin.trim_end_matches('/');
        if self
            .config
            .cors_origins
            .iter()
            .any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(origin))
        {
            return true;
        }
        // Same origin: the Origin's authority is the Host we were asked by.
        let authority = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
    }

    /// Refuses a request a browser sent from a foreign origin (403). No
    /// Origin header (non-browser clients) is fine.
    pub(super) fn check_origin(
        &self,
        headers: &HeaderMap,
        correlation: &str,
    ) -> Result<(), HttpResponse> {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Ok(());
        };
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        match origin.to_str() {
            Ok(o) if self.origin_allowed(o, host) => Ok(()),
            _ => Err(plain_error(
                StatusCode::FORBIDDEN,
                "FORBIDDEN",
                "this origin is not allowed to call the API (see --cors-origin)",
                correlation,
            )),
        }
    }

    /// What an anonymous or authenticated caller may see of the schema.
    pub(super) fn exposure(&self, state: &AppState, principal: &Principal) -> Exposure {
        let trusted = state.auth.is_open() || matches!(principal, Principal::User { .. });
        Exposure {
            introspection: trusted || self.config.public_introspection,
            suggestions: trusted || self.config.public_suggestions,
        }
    }

    pub(super) fn graphiql_allowed(&self, state: &AppState, headers: &HeaderMap) -> bool {
        if state.auth.is_open() || self.config.public_graphiql {
            return true;
        }
        matches!(
            super::header_principal(state, headers),
            Some(Principal::User { .. })
        )
    }
}

/// CORS for the allowed origins (and same-origin, which needs none).
pub(super) fn cors_layer(edge: &Arc<Edge>) -> CorsLayer {
    let check = edge.clone();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, parts| {
            let host = parts
                .headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok());
            origin.to_str().is_ok_and(|o| check.origin_allowed(o, host))
        }))
        .allow_methods(ALLOWED_METHODS.to_vec())
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::ACCEPT,
            header::HeaderName::from_static(CORRELATION_HEADER),
        ])
        .expose_headers([header::HeaderName::from_static(CORRELATION_HEADER)])
        .max_age(Duration::from_secs(600))
}

/// Introspection and suggestions for one caller.
pub(super) struct Exposure {
    pub introspection: bool,
    pub suggestions: bool,
}

impl Exposure {
    pub fn apply(&self, request: Request) -> Request {
        if self.introspection {
            request
        } else {
            request.disable_introspection()
        }
    }

    /// Removes "Did you mean …?" hints (they reveal the schema).
    pub fn scrub(&self, response: &mut Response) {
        if self.suggestions {
            return;
        }
        for error in &mut response.errors {
            if let Some(at) = error.message.find(" Did you mean") {
                error.message.truncate(at);
            }
        }
    }
}

pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// The response media type the client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json`: request errors are 200 (legacy clients).
    Json,
    /// `application/graphql-response+json`: request errors are 4xx.
    GraphqlResponse,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::GraphqlResponse => GRAPHQL_RESPONSE_JSON,
        }
    }
}

/// Picks the media type from Accept (none, `*/*`: JSON); 406 if the client
/// accepts neither.
pub(super) fn negotiate(headers: &HeaderMap) -> Result<Format, HttpResponse> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(Format::Json);
    };
    let mut json = false;
    let mut wildcard = false;
    for item in accept.split(',') {
        let media = item
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let refused = item.split(';').skip(1).any(|p| {
            matches!(
                p.replace(' ', "").as_str(),
                "q=0" | "q=0.0" | "q=0.00" | "q=0.000"
            )
        });
        if refused {
            continue;
        }
        match media.as_str() {
            GRAPHQL_RESPONSE_JSON => return Ok(Format::GraphqlResponse),
            "application/json" => json = true,
            "*/*" | "application/*" => wildcard = true,
            // Browsers navigating: GraphiQL is handled before; answer JSON.
            "text/html" => wildcard = true,
            _ => {}
        }
    }
    if json || wildcard || accept.trim().is_empty() {
        Ok(Format::Json)
    } else {
        Err((
            StatusCode::NOT_ACCEPTABLE,
            axum::Json(json!({"errors": [{
                "message": "this server answers application/json or application/graphql-response+json",
                "extensions": {"code": "VALIDATION"}
            }]})),
        )
            .into_response())
    }
}

/// POST bodies must be JSON: `text/plain` and form bodies (which a browser
/// sends cross-origin without a preflight) get 415.
pub(super) fn require_json_body(
    headers: &HeaderMap,
    correlation: &str,
) -> Result<(), HttpResponse> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    match media.as_deref() {
        Some("application/json") | Some(GRAPHQL_RESPONSE_JSON) => Ok(()),
        _ => Err(plain_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "VALIDATION",
            "POST /graphql needs Content-Type: application/json",
            correlation,
        )),
    }
}

/// Parses a single request or a batch, refusing a batch over the cap before
/// parsing any of its operations.
pub(super) fn parse_batch(
    body: &[u8],
    limits: &Limits,
    correlation: &str,
) -> Result<BatchRequest, HttpResponse> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        // Counts the elements without building them.
        let count = serde_json::from_slice::<Vec<serde::de::IgnoredAny>>(body)
            .map(|v| v.len())
            .unwrap_or(0);
        if limits.max_batch == 0 || count > limits.max_batch {
            let message = if limits.max_batch == 0 {
                "batched requests are turned off on this server".to_owned()
            } else {
                format!(
                    "a batch may hold at most {} operations; this one has {count}",
                    limits.max_batch
                )
            };
            let error = limit_error("maxBatch", limits.max_batch as u64, message);
            let body = json!({"errors": [error]});
            return Err(with_correlation(
                (StatusCode::BAD_REQUEST, axum::Json(body)).into_response(),
                correlation,
            ));
        }
    }
    let bad =
        |message: String| plain_error(StatusCode::BAD_REQUEST, "VALIDATION", &message, correlation);
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        bad(format!(
            "the request body is not a GraphQL request in JSON: {e}"
        ))
    })?;
    // A request without a `query` string is malformed (400), not a
    // document that fails to parse.
    let has_query =
        |v: &serde_json::Value| v.get("query").is_some_and(serde_json::Value::is_string);
    let well_formed = match &value {
        serde_json::Value::Array(items) => !items.is_empty() && items.iter().all(has_query),
        other => has_query(other),
    };
    if !well_formed {
        return Err(bad(
            "a GraphQL request is a JSON object with a `query` string".to_owned(),
        ));
    }
    serde_json::from_value::<BatchRequest>(value).map_err(|e| {
        bad(format!(
            "the request body is not a GraphQL request in JSON: {e}"
        ))
    })
}

/// A parse or validation failure: nothing executed, so no `data` entry.
fn is_request_error(response: &Response) -> bool {
    !response.errors.is_empty()
        && response.data == async_graphql::Value::Null
        && response.errors.iter().all(|e| e.path.is_empty())
}

/// A response as the GraphQL-over-HTTP spec wants it: no `data` on
/// request errors.
struct Wire<'a>(&'a Response);

impl Serialize for Wire<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut map = serializer.serialize_map(None)?;
        if !is_request_error(r) {
            map.serialize_entry("data", &r.data)?;
        }
        if !r.errors.is_empty() {
            map.serialize_entry("errors", &r.errors)?;
        }
        if !r.extensions.is_empty() {
            map.serialize_entry("extensions", &r.extensions)?;
        }
        map.end()
    }
}

struct WireBatch<'a>(&'a BatchResponse);

impl Serialize for WireBatch<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            BatchResponse::Single(r) => Wire(r).serialize(serializer),
            BatchResponse::Batch(rs) => serializer.collect_seq(rs.iter().map(Wire)),
        }
    }
}

/// A writer that fails once more than `max` bytes went through it, so an
/// oversized response is never fully serialised.
struct Capped {
    buf: Vec<u8>,
    max: usize,
}

impl Write for Capped {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len().saturating_add(data.len()) > self.max {
            return Err(std::io::Error::other("response too large"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Serialises the response under the size cap, with the status the format
/// calls for.
pub(super) fn respond(
    response: &BatchResponse,
    format: Format,
    max_bytes: usize,
    correlation: &str,
) -> HttpResponse {
    let mut out = Capped {
        buf: Vec::new(),
        max: max_bytes,
    };
    if serde_json::to_writer(&mut out, &WireBatch(response)).is_err() {
        tracing::warn!(correlation_id = %correlation, max_bytes, "response too large");
        return refusal(
            format,
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::ResponseTooLarge,
            &format!(
                "the response would be larger than the server's limit of {max_bytes} bytes: \
                 select fewer fields or smaller pages"
            ),
            correlation,
        );
    }
    let status = match (format, response) {
        (Format::GraphqlResponse, BatchResponse::Single(r)) if is_request_error(r) => {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::OK,
    };
    let mut http = (status, out.buf).into_response();
    http.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(match format {
            Format::Json => "application/json",
            Format::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
        }),
    );
    with_correlation(http, correlation)
}

/// A refusal in GraphQL's error shape. With `application/json` the status
/// is 200 only for errors of execution; refusals keep their HTTP status
/// (clients need 503's Retry-After).
pub(super) fn refusal(
    format: Format,
    status: StatusCode,
    code: ErrorCode,
    message: &str,
    correlation: &str,
) -> HttpResponse {
    let body = json!({"errors": [{"message": message, "extensions": {"code": code.as_str()}}]});
    let mut http = (status, axum::Json(body)).into_response();
    http.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    with_correlation(http, correlation)
}

fn plain_error(status: StatusCode, code: &str, message: &str, correlation: &str) -> HttpResponse {
    super::error_response(status, code, message, correlation)
}
