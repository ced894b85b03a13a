//! The axum router: /graphql (POST, GET, GraphiQL), /healthz, /readyz,
//! /metrics. Authentication and the correlation id are settled here, once.

use async_graphql::Data;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::{BatchRequest, BatchResponse};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request, State, WebSocketUpgrade};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tower_http::limit::RequestBodyLimitLayer;
use tracing::Instrument;

use crate::app::AppState;
use crate::graphql::{RequestContext, ensure_codes};

/// The request header (and response header) carrying the correlation id.
pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// The application's routes and layers.
pub fn router(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    Router::new()
        .route("/", get(crate::console::index))
        .route("/assets/{*path}", get(crate::console::asset))
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphiql/{file}", get(crate::graphiql::asset))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        // Checks Content-Length before reading anything (413 at once), and
        // caps bodies without one while they stream in.
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(DefaultBodyLimit::disable())
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
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

/// Prometheus text. Projection gauges are read from the checkpoints at
/// scrape time, so every instance reports the same truth.
async fn metrics(State(state): State<AppState>) -> Response {
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

async fn execute(state: &AppState, rc: RequestContext, batch: BatchRequest) -> Response {
    let correlation = rc.correlation_id.clone();
    // Instrument the future (not `enter()` across an await) so that logs
    // of this request, and only these, carry its correlation id.
    let span = tracing::info_span!("graphql", correlation_id = %correlation);
    let mut response = state
        .schema
        .execute_batch(batch.data(rc))
        .instrument(span)
        .await;
    match &mut response {
        BatchResponse::Single(r) => ensure_codes(r),
        BatchResponse::Batch(rs) => rs.iter_mut().for_each(ensure_codes),
    }
    with_correlation(axum::Json(response).into_response(), &correlation)
}

async fn graphql_post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let rc = match request_context(&state, &headers) {
        Ok(rc) => rc,
        Err(refused) => return refused.into_response(),
    };
    let batch: BatchRequest = match serde_json::from_slice(&body) {
        Ok(batch) => batch,
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "VALIDATION",
                &format!("the request body is not a GraphQL request in JSON: {e}"),
                &rc.correlation_id,
            );
        }
    };
    execute(&state, rc, batch).await
}

async fn graphql_get(State(state): State<AppState>, request: Request) -> Response {
    let (mut parts, _body) = request.into_parts();
    let is_upgrade = parts
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if is_upgrade {
        return websocket(state, &mut parts).await;
    }
    let headers = parts.headers;
    let query = parts.uri.query().map(str::to_owned);
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_html {
        // A browser: GraphiQL, opened on the link's `query` if it has one.
        let prefill = axum::extract::Query::<crate::graphiql::Prefill>::try_from_uri(&parts.uri)
            .map(|q| q.0)
            .unwrap_or_default();
        return crate::graphiql::page("/graphql", "/graphql", &prefill).into_response();
    }
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
        return error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "VALIDATION",
            "mutations must be sent with POST",
            &rc.correlation_id,
        );
    }
    execute(&state, rc, BatchRequest::Single(request)).await
}

/// GraphQL over WebSocket on /graphql: `graphql-transport-ws` and the
/// legacy `graphql-ws`. Credentials come in the connection_init payload's
/// `authorization` key (the same `Bearer <jwt>` as over HTTP).
async fn websocket(state: AppState, parts: &mut Parts) -> Response {
    let protocol = match GraphQLProtocol::from_request_parts(parts, &()).await {
        Ok(p) => p,
        Err(status) => {
            return (
                status,
                "unsupported WebSocket subprotocol: use graphql-transport-ws or graphql-ws",
            )
                .into_response();
        }
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(parts, &()).await {
        Ok(u) => u,
        Err(rejection) => return rejection.into_response(),
    };
    let client = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(200).collect::<String>());
    let correlation = correlation_id(&parts.headers);
    let schema = state.schema.clone();
    let auth = state.auth.clone();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            GraphQLWebSocket::new(socket, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let authorization = payload
                        .get("authorization")
                        .or_else(|| payload.get("Authorization"))
                        .and_then(|v| v.as_str());
                    let principal = auth
                        .authenticate(authorization)
                        .map_err(|e| async_graphql::Error::new(e.to_string()))?;
                    let mut data = Data::default();
                    data.insert(RequestContext {
                        principal,
                        correlation_id: correlation,
                        client,
                    });
                    Ok(data)
                })
                .serve()
        })
}
