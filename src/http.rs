//! The axum router: /graphql (POST, GET, GraphiQL), /healthz, /readyz,
//! /metrics. Authentication and the correlation id are settled here, once.
//! The hardened edge lives beside it: `edge` (limits, CORS, Origin, the
//! response format), `server` (the accept loop: timeouts, connection cap,
//! graceful shutdown) and `ws` (the WebSocket protocol guard).

mod edge;
mod server;
mod ws;

pub use edge::{Edge, EdgeConfig};
pub use server::serve;

use std::sync::Arc;

use async_graphql::{BatchRequest, BatchResponse, Executor};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tower_http::limit::RequestBodyLimitLayer;
use tracing::Instrument;

use crate::app::AppState;
use crate::auth::{Principal, Role};
use crate::graphql::limits::Limits;
use crate::graphql::{RequestContext, ensure_codes};

/// The request header (and response header) carrying the correlation id.
pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// The application's routes and layers, with an edge built from the
/// state's configuration.
pub fn router(state: AppState) -> Router {
    let edge = Edge::new(&state.config);
    router_with(state, edge)
}

/// The router, sharing `edge` (in-flight cap, WebSocket registry, shutdown)
/// with the server loop.
pub fn router_with(state: AppState, edge: Arc<Edge>) -> Router {
    let max_body = state.config.max_body_bytes;
    let cors = edge::cors_layer(&edge);
    Router::new()
        .route("/", get(crate::console::index))
        .route("/assets/{*path}", get(crate::console::asset))
        .route(
            "/graphql",
            get(graphql_get)
                .post(graphql_post)
                .fallback(method_not_allowed_graphql),
        )
        .route("/graphiql/{file}", get(crate::graphiql::asset))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        // Checks Content-Length before reading anything (413 at once), and
        // caps bodies without one while they stream in.
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(DefaultBodyLimit::disable())
        .layer(axum::Extension(edge))
        .layer(cors)
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// 405 with the methods /graphql does support.
async fn method_not_allowed_graphql() -> Response {
    let mut response = error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "VALIDATION",
        "/graphql accepts GET and POST",
        &uuid::Uuid::new_v4().to_string(),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
    response
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

/// Who may scrape /metrics on the main listener: anyone on an open server
/// (or with `public_metrics`), otherwise staff and admin tokens.
fn may_see_metrics(state: &AppState, edge: &Edge, headers: &HeaderMap) -> bool {
    if state.auth.is_open() || edge.config.public_metrics {
        return true;
    }
    matches!(
        header_principal(state, headers),
        Some(Principal::User {
            role: Role::Staff | Role::Admin,
            ..
        })
    )
}

/// The caller named by a request's `Authorization` header, if it is valid.
pub(crate) fn header_principal(state: &AppState, headers: &HeaderMap) -> Option<Principal> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    state.auth.authenticate(authorization).ok()
}

async fn metrics(
    State(state): State<AppState>,
    axum::Extension(edge): axum::Extension<Arc<Edge>>,
    headers: HeaderMap,
) -> Response {
    if !may_see_metrics(&state, &edge, &headers) {
        return error_response(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "/metrics needs a staff or admin token on this server (or use the metrics listener)",
            &correlation_id(&headers),
        );
    }
    render_metrics(&state).await
}

/// Prometheus text. Projection gauges are read from the checkpoints at
/// scrape time, so every instance reports the same truth.
pub async fn render_metrics(state: &AppState) -> Response {
    let head = state.store.head_position().await.unwrap_or(0);
    metrics::gauge!("chronicle_event_store_head_position").set(head as f64);
    match state.read.statuses().await {
        Ok(statuses) => {
            for c in statuses {
                let lag = state
                    .store
                    .lag_after(c.position)
                    .await
                    .map(|(n, _)| n)
                    .unwrap_or(0);
                let name = c.name.clone();
                metrics::gauge!("chronicle_projection_position", "projection" => name.clone())
                    .set(c.position as f64);
                metrics::gauge!("chronicle_projection_head", "projection" => name.clone())
                    .set(head as f64);
                metrics::gauge!("chronicle_projection_lag_events", "projection" => name.clone())
                    .set(lag as f64);
                metrics::gauge!("chronicle_projection_failed", "projection" => name)
                    .set(if c.last_error.is_some() { 1.0 } else { 0.0 });
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read checkpoints"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// A well-formed correlation id from the client, or a fresh one.
fn correlation_id(headers: &HeaderMap) -> String {
    headers
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// A JSON error body in GraphQL's shape, with an HTTP status.
fn error_response(status: StatusCode, code: &str, message: &str, correlation: &str) -> Response {
    let body = json!({"errors": [{"message": message, "extensions": {"code": code}}]});
    with_correlation((status, axum::Json(body)).into_response(), correlation)
}

fn with_correlation(mut response: Response, correlation: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(correlation) {
        response.headers_mut().insert(CORRELATION_HEADER, v);
    }
    response
}

/// Credentials were refused: 401 with the reason.
struct Refused {
    message: String,
    correlation: String,
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        error_response(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            &self.message,
            &self.correlation,
        )
    }
}

/// Authenticates the request and builds its context.
fn request_context(state: &AppState, headers: &HeaderMap) -> Result<RequestContext, Refused> {
    let correlation = correlation_id(headers);
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match state.auth.authenticate(authorization) {
        Ok(principal) => Ok(RequestContext {
            principal,
            correlation_id: correlation,
            client: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(200).collect()),
        }),
        Err(e) => Err(Refused {
            message: e.to_string(),
            correlation,
        }),
    }
}

async fn execute(
    state: &AppState,
    edge: &Edge,
    rc: RequestContext,
    batch: BatchRequest,
    format: edge::Format,
) -> Response {
    let correlation = rc.correlation_id.clone();
    let exposure = edge.exposure(state, &rc.principal);
    let batch = match batch {
        BatchRequest::Single(r) => BatchRequest::Single(exposure.apply(r)),
        BatchRequest::Batch(rs) => {
            BatchRequest::Batch(rs.into_iter().map(|r| exposure.apply(r)).collect())
        }
    };
    let limits: Limits = state.config.limits.clone();
    let timeout = limits.request_timeout;
    // Instrument the future (not `enter()` across an await) so that logs
    // of this request, and only these, carry its correlation id.
    let span = tracing::info_span!("graphql", correlation_id = %correlation);
    let run = state
        .schema
        .execute_batch(batch.data(rc).data(limits.clone()))
        .instrument(span);
    let mut response = match tokio::time::timeout(timeout, run).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(correlation_id = %correlation, ?timeout, "request timed out");
            return edge::refusal(
                format,
                StatusCode::SERVICE_UNAVAILABLE,
                crate::graphql::ErrorCode::Timeout,
                &format!(
                    "the request ran longer than the server's limit of {} ms and was stopped",
                    timeout.as_millis()
                ),
                &correlation,
            );
        }
    };
    match &mut response {
        BatchResponse::Single(r) => {
            ensure_codes(r);
            exposure.scrub(r);
        }
        BatchResponse::Batch(rs) => rs.iter_mut().for_each(|r| {
            ensure_codes(r);
            exposure.scrub(r);
        }),
    }
    edge::respond(&response, format, limits.max_response_bytes, &correlation)
}

async fn graphql_post(
    State(state): State<AppState>,
    axum::Extension(edge): axum::Extension<Arc<Edge>>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let correlation = correlation_id(&headers);
    if let Err(refusal) = edge.check_origin(&headers, &correlation) {
        return refusal;
    }
    let format = match edge::negotiate(&headers) {
        Ok(f) => f,
        Err(refusal) => return with_correlation(refusal, &correlation),
    };
    if let Err(refusal) = edge::require_json_body(&headers, &correlation) {
        return refusal;
    }
    let _permit = match edge.admit(format, &correlation) {
        Ok(permit) => permit,
        Err(refusal) => return refusal,
    };
    let body = match edge.read_body(body, &correlation).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let rc = match request_context(&state, &headers) {
        Ok(rc) => rc,
        Err(refused) => return refused.into_response(),
    };
    let batch = match edge::parse_batch(&body, &state.config.limits, &rc.correlation_id) {
        Ok(batch) => batch,
        Err(refusal) => return refusal,
    };
    execute(&state, &edge, rc, batch, format).await
}

async fn graphql_get(
    State(state): State<AppState>,
    axum::Extension(edge): axum::Extension<Arc<Edge>>,
    request: Request,
) -> Response {
    let (mut parts, _body) = request.into_parts();
    let is_upgrade = parts
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if is_upgrade {
        return ws::upgrade(state, edge, &mut parts).await;
    }
    let headers = parts.headers;
    let query = parts.uri.query().map(str::to_owned);
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_html {
        // A browser: GraphiQL, opened on the link's `query` if it has one.
        if !edge.graphiql_allowed(&state, &headers) {
            return error_response(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "GraphiQL is not served to anonymous callers on this server",
                &correlation_id(&headers),
            );
        }
        let prefill = axum::extract::Query::<crate::graphiql::Prefill>::try_from_uri(&parts.uri)
            .map(|q| q.0)
            .unwrap_or_default();
        return crate::graphiql::page("/graphql", "/graphql", &prefill).into_response();
    }
    let correlation = correlation_id(&headers);
    if let Err(refusal) = edge.check_origin(&headers, &correlation) {
        return refusal;
    }
    let format = match edge::negotiate(&headers) {
        Ok(f) => f,
        Err(refusal) => return with_correlation(refusal, &correlation),
    };
    let _permit = match edge.admit(format, &correlation) {
        Ok(permit) => permit,
        Err(refusal) => return refusal,
    };
    let rc = match request_context(&state, &headers) {
        Ok(rc) => rc,
        Err(refused) => return refused.into_response(),
    };
    let request = match async_graphql::http::parse_query_string(query.as_deref().unwrap_or("")) {
        Ok(request) => request,
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "VALIDATION",
                &format!("bad GraphQL GET request: {e}"),
                &rc.correlation_id,
            );
        }
    };
    // Mutations change state: never over GET (it would be open to CSRF and
    // caching), as the GraphQL-over-HTTP spec says.
    if let Ok(doc) = async_graphql::parser::parse_query(&request.query)
        && doc.operations.iter().any(|(name, op)| {
            op.node.ty == async_graphql::parser::types::OperationType::Mutation
                && (request.operation_name.is_none()
                    || name.map(|n| n.as_str()) == request.operation_name.as_deref())
        })
    {
        let mut response = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "VALIDATION",
            "mutations must be sent with POST",
            &rc.correlation_id,
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    execute(&state, &edge, rc, BatchRequest::Single(request), format).await
}

/// Methods the CORS layer allows (and 405s name).
pub(crate) const ALLOWED_METHODS: [Method; 3] = [Method::GET, Method::POST, Method::OPTIONS];
