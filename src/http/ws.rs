//! GraphQL over WebSocket with the protocol's deadlines and refusals.
//!
//! async-graphql runs the protocol; this module stands between it and the
//! socket and inspects each message in both directions, because async-graphql
//! 7.2 has no `connection_init` timeout, acknowledges any credentials,
//! silently replaces a duplicate operation id and sends validation errors as
//! `next`. Here: no `connection_init` within the deadline closes 4408; bad
//! or (with a JWT secret) missing credentials 4403; a duplicate id 4409; a
//! subscribe before the ack 4401; an invalid message 4400; validation
//! errors become `error` messages; subscriptions per socket and sockets per
//! principal are capped; the socket closes 4403 when the token expires and
//! 1001 when the server shuts down.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::Data;
use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, ClientMessage, WebSocketProtocols};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::extract::{ConnectInfo, FromRequestParts, WebSocketUpgrade};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::Edge;
use crate::app::AppState;
use crate::auth::Principal;
use crate::graphql::RequestContext;

mod operations;
use operations::{Event, Operations};

/// Answers a WebSocket upgrade on /graphql.
pub(super) async fn upgrade(state: AppState, edge: Arc<Edge>, parts: &mut Parts) -> Response {
    let correlation = super::correlation_id(&parts.headers);
    if let Err(refusal) = edge.check_origin(&parts.headers, &correlation) {
        return refusal;
    }
    if *edge.shutting_down().borrow() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down",
        )
            .into_response();
    }
    // An upgraded socket leaves the connection cap (hyper hands it over), so
    // WebSockets have their own, of the same size.
    if edge.open_sockets() >= edge.config.max_connections {
        let mut response = (
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is at its limit of open WebSockets; retry shortly",
        )
            .into_response();
        response.headers_mut().insert(
            header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("5"),
        );
        return response;
    }
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
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    let client = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(200).collect::<String>());
    let max_message = state.config.max_body_bytes;
    // The subprotocol async-graphql chose (the first one it supports).
    let modern = parts
        .headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .find_map(|p| p.trim().parse::<WebSocketProtocols>().ok())
        })
        == Some(WebSocketProtocols::GraphQLWS);
    let meta = Meta {
        modern,
        correlation,
        client,
        peer,
    };
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .read_buffer_size(READ_BUFFER)
        .max_message_size(max_message)
        .max_frame_size(max_message)
        .on_upgrade(move |socket| session(socket, state, edge, protocol, meta))
}

/// The close frame for a socket that could not be read: a message over the
/// limit is 1009 (message too big), text that is not UTF-8 is 1007; other
/// failures (the connection went away, a broken frame) just end it.
fn read_error_close(error: axum::Error, limit: usize) -> Option<(u16, String)> {
    let error = error.into_inner();
    match error.downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Capacity(_)) => {
            Some((1009, format!("message too big: the limit is {limit} bytes")))
        }
        Some(tungstenite::Error::Utf8(_)) => Some((1007, "text is not UTF-8".to_owned())),
        _ => None,
    }
}

/// Bytes a socket reads at a time (tungstenite's default is 128 KiB, kept
/// for the socket's life: most of an idle socket's memory). A larger
/// message still arrives whole, up to the message limit; the buffer grows
/// for it.
const READ_BUFFER: usize = 8 * 1024;

struct Meta {
    modern: bool,
    correlation: String,
    client: Option<String>,
    peer: String,
}

/// Counts the socket while it lives (shutdown waits for zero).
struct SocketGuard {
    edge: Arc<Edge>,
    principal: Option<String>,
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        self.edge.sockets.fetch_sub(1, Ordering::SeqCst);
        if let Some(key) = self.principal.take()
            && let Ok(mut map) = self.edge.sockets_by_principal.lock()
            && let Some(n) = map.get_mut(&key)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&key);
            }
        }
    }
}

/// What the guard decided about a client message.
enum Verdict {
    Forward(Message),
    /// Run this operation (graphql-transport-ws): the id and its payload's
    /// JSON (checked to read as a request).
    Start(String, Box<str>),
    Reply(Message),
    ReplyThenClose(Message, u16, String),
    Close(u16, String),
    Ignore,
}

struct Gate {
    edge: Arc<Edge>,
    state: AppState,
    /// graphql-transport-ws (true) or the legacy graphql-ws.
    modern: bool,
    init_seen: bool,
    acked: bool,
    active: HashSet<String>,
    started: HashSet<String>,
    errored: HashSet<String>,
    /// The connection's data, handed to async-graphql's connection_init.
    slot: Arc<Mutex<Option<Data>>>,
    /// The same data for the operations the gate runs itself.
    session: Option<Arc<Data>>,
    /// Those operations (graphql-transport-ws only; async-graphql runs the
    /// legacy protocol's).
    ops: Operations,
    expires: Option<tokio::time::Instant>,
    meta: Meta,
    guard: SocketGuard,
}

impl Gate {
    fn close(code: u16, reason: &str) -> Verdict {
        Verdict::Close(code, reason.to_owned())
    }

    fn incoming(&mut self, message: Message) -> Verdict {
        let bytes = match &message {
            Message::Text(t) => t.as_bytes().to_vec(),
            Message::Binary(b) => b.to_vec(),
            _ => return Verdict::Ignore,
        };
        let Ok(value) = serde_json::from_slice::<Value>(&bytes) else {
            return Self::close(4400, "Invalid message received: not JSON");
        };
        let Some(kind) = value.get("type").and_then(Value::as_str) else {
            return Self::close(4400, "Invalid message received: no type");
        };
        let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
        match (kind, self.modern) {
            ("connection_init", _) => self.init(&value, message),
            ("subscribe", true) | ("start", false) => {
                let Some(id) = id.filter(|i| !i.is_empty() && i.len() <= 128) else {
                    return Self::close(4400, "Invalid message received: subscribe needs an id");
                };
                if !value.get("payload").is_some_and(Value::is_object) {
                    return Self::close(
                        4400,
                        "Invalid message received: subscribe needs a payload",
                    );
                }
                if !self.acked {
                    return Self::close(4401, "Unauthorized");
                }
                if self.active.contains(&id) {
                    return Self::close(4409, &format!("Subscriber for {id} already exists"));
                }
                let max = self.edge.config.max_subscriptions_per_connection;
                if self.active.len() >= max {
                    let error = json!({
                        "message": format!("at most {max} subscriptions at once on one WebSocket"),
                        "extensions": {"code": "VALIDATION", "limit": "maxSubscriptionsPerConnection", "max": max}
                    });
                    let payload = if self.modern { json!([error]) } else { error };
                    let reply = json!({"id": id, "type": "error", "payload": payload});
                    return Verdict::Reply(Message::Text(reply.to_string().into()));
                }
                if !self.modern {
                    self.active.insert(id);
                    return Verdict::Forward(message);
                }
                // As async-graphql answers a message it cannot read.
                match ClientMessage::from_bytes(&bytes) {
                    Ok(ClientMessage::Start { .. }) => {}
                    Ok(_) => return Self::close(4400, "Invalid message received"),
                    Err(e) => return Self::close(1002, &e.to_string()),
                }
                self.active.insert(id.clone());
                Verdict::Start(id, kept_payload(&value["payload"]))
            }
            ("complete", true) | ("stop", false) => {
                let Some(id) = id else {
                    return Self::close(4400, "Invalid message received: complete needs an id");
                };
                self.active.remove(&id);
                self.started.remove(&id);
                if self.ops.cancel(&id) {
                    // As async-graphql does for the operations it runs.
                    if self.errored.remove(&id) {
                        return Verdict::Ignore;
                    }
                    return Verdict::Reply(complete_message(&id));
                }
                Verdict::Forward(message)
            }
            ("ping", true) | ("pong", true) => Verdict::Forward(message),
            ("connection_terminate", false) => Verdict::Forward(message),
            _ => Self::close(
                4400,
                &format!("Invalid message received: unknown type {kind}"),
            ),
        }
    }

    fn init(&mut self, value: &Value, message: Message) -> Verdict {
        if self.init_seen {
            return Self::close(4429, "Too many initialisation requests");
        }
        self.init_seen = true;
        let payload = value.get("payload");
        let authorization = payload
            .and_then(|p| p.get("authorization").or_else(|| p.get("Authorization")))
            .and_then(Value::as_str);
        let session = match self.state.auth.authenticate_session(authorization) {
            Ok(s) => s,
            Err(e) => return self.refuse_init(&e.to_string()),
        };
        if !self.state.auth.is_open() && session.principal == Principal::Anonymous {
            return self.refuse_init("connection_init needs an authorization token on this server");
        }
        let key = match &session.principal {
            Principal::User { user_id, .. } if !self.state.auth.is_open() => {
                format!("user:{user_id}")
            }
            _ => format!("peer:{}", self.meta.peer),
        };
        let max = self.edge.config.max_sockets_per_principal;
        if let Ok(mut map) = self.edge.sockets_by_principal.lock() {
            let n = map.entry(key.clone()).or_insert(0);
            if *n >= max {
                return Self::close(4429, &format!("at most {max} WebSockets at once per user"));
            }
            *n += 1;
            self.guard.principal = Some(key);
        }
        if let Some(exp) = session.expires_at {
            let left = exp - chrono::Utc::now().timestamp();
            let left = Duration::from_secs(u64::try_from(left.max(0)).unwrap_or(0));
            self.expires = Some(tokio::time::Instant::now() + left);
        }
        // The connection's data, once for async-graphql (the legacy
        // protocol's operations) and once for the gate's own operations.
        let connection_data = || {
            let mut data = Data::default();
            data.insert(RequestContext {
                principal: session.principal.clone(),
                correlation_id: self.meta.correlation.clone(),
                client: self.meta.client.clone(),
            });
            data.insert(self.state.config.limits.clone());
            data
        };
        let (data, own) = (connection_data(), connection_data());
        self.session = Some(Arc::new(own));
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Some(data);
        }
        Verdict::Forward(message)
    }

    fn refuse_init(&mut self, reason: &str) -> Verdict {
        if self.modern {
            Self::close(4403, &format!("Forbidden: {reason}"))
        } else {
            // The legacy protocol says why in a message first.
            let error = json!({"type": "connection_error", "payload": {"message": reason}});
            Verdict::ReplyThenClose(
                Message::Text(error.to_string().into()),
                4403,
                "Forbidden".to_owned(),
            )
        }
    }

    /// Inspects a message async-graphql wants to send.
    fn outgoing(&mut self, message: Message) -> Option<Message> {
        let Message::Text(text) = &message else {
            return Some(message);
        };
        let Ok(value) = serde_json::from_str::<Value>(text.as_str()) else {
            return Some(message);
        };
        let kind = value.get("type").and_then(Value::as_str).unwrap_or("");
        let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
        match (kind, id) {
            ("connection_ack", _) => {
                self.acked = true;
                Some(message)
            }
            ("next", Some(id)) | ("data", Some(id)) => {
                let first = self.started.insert(id.clone());
                let payload = &value["payload"];
                let request_error = payload.get("data").is_none_or(Value::is_null)
                    && payload["errors"].as_array().is_some_and(|es| {
                        !es.is_empty() && es.iter().all(|e| e.get("path").is_none())
                    });
                if first && request_error {
                    return Some(self.request_error(&id, payload["errors"].clone()));
                }
                Some(message)
            }
            ("complete", Some(id)) => self.completed(&id).then_some(message),
            _ => Some(message),
        }
    }

    /// The message for an event of an operation the gate runs, if any.
    fn operation_event(&mut self, event: Event) -> Option<Message> {
        match event {
            Event::Next { key, id, response } => {
                if !self.ops.is_current(key, &id) {
                    return None;
                }
                let first = self.started.insert(id.to_string());
                let request_error = response.data == async_graphql::Value::Null
                    && !response.errors.is_empty()
                    && response.errors.iter().all(|e| e.path.is_empty());
                if first && request_error {
                    let errors = serde_json::to_value(&response.errors).unwrap_or(Value::Null);
                    return Some(self.request_error(&id, errors));
                }
                Some(next_message(&id, &response))
            }
            Event::Complete { key, id } => {
                (self.ops.finish(key, &id) && self.completed(&id)).then(|| complete_message(&id))
            }
        }
    }

    /// Operation `id` failed before it ran (its document or variables):
    /// an `error` message ends it.
    fn request_error(&mut self, id: &str, mut errors: Value) -> Message {
        self.errored.insert(id.to_owned());
        self.active.remove(id);
        self.started.remove(id);
        // Parse and validation errors from async-graphql carry no code yet
        // (over HTTP `ensure_codes` adds it).
        if let Some(list) = errors.as_array_mut() {
            for error in list.iter_mut() {
                if error.pointer("/extensions/code").is_none()
                    && let Some(object) = error.as_object_mut()
                {
                    let ext = object.entry("extensions").or_insert_with(|| json!({}));
                    if let Some(ext) = ext.as_object_mut() {
                        ext.insert("code".into(), json!("VALIDATION"));
                    }
                }
            }
        }
        let payload = if self.modern {
            errors
        } else {
            errors.get(0).cloned().unwrap_or(Value::Null)
        };
        let error = json!({"id": id, "type": "error", "payload": payload});
        Message::Text(error.to_string().into())
    }

    /// Operation `id` ended; whether to send `complete` (not after `error`,
    /// which already ended it).
    fn completed(&mut self, id: &str) -> bool {
        if self.errored.remove(id) {
            return false;
        }
        self.active.remove(id);
        self.started.remove(id);
        true
    }
}

/// What an operation keeps of its subscribe payload to execute it again:
/// the fields a request reads. Anything else in the payload (which may be
/// most of a 1 MiB message) is not kept for the operation's life.
fn kept_payload(payload: &Value) -> Box<str> {
    let kept: serde_json::Map<String, Value> =
        ["query", "operationName", "variables", "extensions"]
            .into_iter()
            .filter_map(|k| Some((k.to_owned(), payload.get(k)?.clone())))
            .collect();
    Value::Object(kept).to_string().into_boxed_str()
}

fn next_message(id: &str, response: &async_graphql::Response) -> Message {
    #[derive(serde::Serialize)]
    struct Next<'a> {
        r#type: &'static str,
        id: &'a str,
        payload: &'a async_graphql::Response,
    }
    let next = Next {
        r#type: "next",
        id,
        payload: response,
    };
    let text = serde_json::to_string(&next).unwrap_or_else(|e| {
        let error = json!({"errors": [{"message": format!("the response could not be encoded: {e}"), "extensions": {"code": "INTERNAL"}}]});
        json!({"type": "next", "id": id, "payload": error}).to_string()
    });
    Message::Text(text.into())
}

fn complete_message(id: &str) -> Message {
    Message::Text(json!({"type": "complete", "id": id}).to_string().into())
}

fn close_message(code: u16, reason: &str) -> Message {
    // Close reasons are at most 123 bytes.
    let mut reason = reason.to_owned();
    while reason.len() > 120 {
        reason.pop();
    }
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

async fn session(
    socket: WebSocket,
    state: AppState,
    edge: Arc<Edge>,
    protocol: GraphQLProtocol,
    meta: Meta,
) {
    edge.sockets.fetch_add(1, Ordering::SeqCst);
    let guard = SocketGuard {
        edge: edge.clone(),
        principal: None,
    };
    let modern = meta.modern;
    let (mut ws_tx, mut ws_rx) = socket.split();
    let (in_tx, in_rx) = mpsc::channel::<Result<Message, axum::Error>>(16);
    let (out_tx, mut out_rx) = futures::channel::mpsc::channel::<Message>(16);
    let slot: Arc<Mutex<Option<Data>>> = Arc::new(Mutex::new(None));
    let init_slot = slot.clone();
    let graphql = GraphQLWebSocket::new_with_pair(
        out_tx,
        tokio_stream::wrappers::ReceiverStream::new(in_rx),
        state.schema.clone(),
        protocol,
    )
    .on_connection_init(move |_payload| async move {
        init_slot
            .lock()
            .ok()
            .and_then(|mut s| s.take())
            .ok_or_else(|| async_graphql::Error::new("Forbidden"))
    })
    .serve();
    tokio::pin!(graphql);

    let (ops, mut op_events) = Operations::new();
    let mut gate = Gate {
        edge: edge.clone(),
        state,
        modern,
        init_seen: false,
        acked: false,
        active: HashSet::new(),
        started: HashSet::new(),
        errored: HashSet::new(),
        slot,
        session: None,
        ops,
        expires: None,
        meta,
        guard,
    };
    let init_deadline = tokio::time::sleep(edge.config.ws_init_timeout);
    tokio::pin!(init_deadline);
    let far = tokio::time::Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600);
    let expiry = tokio::time::sleep_until(far);
    tokio::pin!(expiry);
    let mut shutdown = edge.shutting_down();
    let mut graphql_done = false;

    let close = loop {
        if let Some(at) = gate.expires
            && expiry.deadline() != at
        {
            expiry.as_mut().reset(at);
        }
        tokio::select! {
            biased;
            _ = async { let _ = shutdown.wait_for(|v| *v).await; } => break Some((1001, "server shutting down".to_owned())),
            _ = &mut init_deadline, if !gate.init_seen => {
                break Some((4408, "Connection initialisation timeout".to_owned()))
            }
            _ = &mut expiry, if gate.expires.is_some() => {
                break Some((4403, "Forbidden: the token expired".to_owned()))
            }
            out = out_rx.next() => match out {
                Some(message) => {
                    let is_close = matches!(message, Message::Close(_));
                    if let Some(message) = gate.outgoing(message)
                        && ws_tx.send(message).await.is_err()
                    {
                        break None;
                    }
                    if is_close {
                        break None;
                    }
                }
                None => break None,
            },
            event = op_events.recv() => {
                if let Some(message) = event.and_then(|e| gate.operation_event(e))
                    && ws_tx.send(message).await.is_err()
                {
                    break None;
                }
            }
            _ = &mut graphql, if !graphql_done => {
                // async-graphql finished; what it queued is still in out_rx.
                graphql_done = true;
            }
            incoming = async {
                let permit = in_tx.reserve().await.ok();
                (permit, ws_rx.next().await)
            } => {
                let (permit, incoming) = incoming;
                let message = match incoming {
                    Some(Ok(Message::Close(_))) | None => break None,
                    Some(Err(e)) => break read_error_close(e, gate.state.config.max_body_bytes),
                    Some(Ok(m)) => m,
                };
                match gate.incoming(message) {
                    Verdict::Forward(m) => match permit {
                        Some(p) => p.send(Ok(m)),
                        None => break None,
                    },
                    Verdict::Start(id, payload) => match gate.session.clone() {
                        Some(session) => {
                            let schema = gate.state.schema.clone();
                            gate.ops.start(id, payload, schema, session);
                        }
                        // As async-graphql answers a subscribe before the
                        // connection is set up (the ack needs it, so this
                        // does not happen).
                        None => break Some((1011, "The handshake is not completed.".to_owned())),
                    },
                    Verdict::Reply(m) => {
                        if ws_tx.send(m).await.is_err() {
                            break None;
                        }
                    }
                    Verdict::ReplyThenClose(m, code, reason) => {
                        let _ = ws_tx.send(m).await;
                        break Some((code, reason));
                    }
                    Verdict::Close(code, reason) => break Some((code, reason)),
                    Verdict::Ignore => {}
                }
            }
        }
    };
    if let Some((code, reason)) = close {
        let _ = ws_tx.send(close_message(code, &reason)).await;
    }
    let _ = ws_tx.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_keeps_only_what_a_request_reads_of_its_payload() {
        let payload = json!({
            "query": "subscription { orderUpdated(id: \"x\") { version } }",
            "operationName": null,
            "variables": {"id": "x"},
            "extensions": {"k": 1},
            "padding": "x".repeat(100_000),
        });
        let kept = kept_payload(&payload);
        assert!(kept.len() < 200, "{kept}");
        let request: async_graphql::Request = serde_json::from_str(&kept).unwrap();
        assert_eq!(request.query, payload["query"].as_str().unwrap());
        assert_eq!(request.extensions.len(), 1);
    }
}
