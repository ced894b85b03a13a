//! The graphql-transport-ws protocol's deadlines and refusals (issue 8,
//! items 8 and 10, WebSocket side). SQLite only: nothing here depends on
//! storage.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::*;

pub const SECRET: &str = "a-test-secret-that-is-long-enough-0123456789";

type Raw =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A token signed with [`SECRET`], expiring `ttl` seconds from now.
pub fn token(sub: &str, role: &str, customer: Option<&str>, ttl: i64) -> String {
    use jsonwebtoken::{EncodingKey, Header, encode};
    let exp = chrono::Utc::now().timestamp() + ttl;
    let claims = json!({"sub": sub, "role": role, "customer_id": customer, "exp": exp});
    format!(
        "Bearer {}",
        encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes())
        )
        .unwrap()
    )
}

async fn connect(app: &TestApp, protocol: &str) -> Raw {
    let mut request = format!("ws://{}/graphql", app.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", protocol.parse().unwrap());
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

async fn send(ws: &mut Raw, message: Value) {
    ws.send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// The next protocol message, or the close code.
async fn next(ws: &mut Raw) -> Result<Value, Option<u16>> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("no message within 15 s");
        match message {
            Some(Ok(Message::Text(t))) => return Ok(serde_json::from_str(&t).unwrap()),
            Some(Ok(Message::Close(frame))) => return Err(frame.map(|f| u16::from(f.code))),
            Some(Ok(_)) => continue,
            None | Some(Err(_)) => return Err(None),
        }
    }
}

async fn closed_with(ws: &mut Raw) -> Option<u16> {
    loop {
        match next(ws).await {
            Ok(message) => {
                assert_ne!(message["type"], "connection_ack", "{message}");
                continue;
            }
            Err(code) => return code,
        }
    }
}

async fn init(ws: &mut Raw, payload: Value) {
    send(ws, json!({"type": "connection_init", "payload": payload})).await;
    let ack = next(ws).await.expect("ack");
    assert_eq!(ack["type"], "connection_ack", "{ack}");
}

const EVENTS: &str = "subscription { events(afterPosition: \"0\") { position } }";

#[tokio::test]
async fn no_connection_init_in_time_closes_4408() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.edge.ws_init_timeout = Duration::from_millis(300)
    })
    .await;
    let mut ws = connect(&app, "graphql-transport-ws").await;
    let started = Instant::now();
    assert_eq!(closed_with(&mut ws).await, Some(4408));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn protocol_violations_close_with_their_codes() {
    let app = spawn_app(Backend::Sqlite).await;

    // Subscribe before the ack: 4401.
    let mut ws = connect(&app, "graphql-transport-ws").await;
    send(
        &mut ws,
        json!({"id": "1", "type": "subscribe", "payload": {"query": EVENTS}}),
    )
    .await;
    assert_eq!(closed_with(&mut ws).await, Some(4401));

    // Not JSON, or an unknown type: 4400.
    let mut ws = connect(&app, "graphql-transport-ws").await;
    init(&mut ws, json!({})).await;
    ws.send(Message::Text("{nope".into())).await.unwrap();
    assert_eq!(closed_with(&mut ws).await, Some(4400));
    let mut ws = connect(&app, "graphql-transport-ws").await;
    init(&mut ws, json!({})).await;
    send(&mut ws, json!({"type": "bogus"})).await;
    assert_eq!(closed_with(&mut ws).await, Some(4400));

    // A second connection_init: 4429.
    let mut ws = connect(&app, "graphql-transport-ws").await;
    init(&mut ws, json!({})).await;
    send(&mut ws, json!({"type": "connection_init"})).await;
    assert_eq!(closed_with(&mut ws).await, Some(4429));

    // A duplicate operation id: 4409.
    let mut ws = connect(&app, "graphql-transport-ws").await;
    init(&mut ws, json!({})).await;
    send(
        &mut ws,
        json!({"id": "a", "type": "subscribe", "payload": {"query": EVENTS}}),
    )
    .await;
    send(
        &mut ws,
        json!({"id": "a", "type": "subscribe", "payload": {"query": EVENTS}}),
    )
    .await;
    assert_eq!(closed_with(&mut ws).await, Some(4409));
}

#[tokio::test]
async fn validation_errors_arrive_as_error_messages() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut ws = connect(&app, "graphql-transport-ws").await;
    init(&mut ws, json!({})).await;
    send(
        &mut ws,
        json!({"id": "v", "type": "subscribe", "payload": {"query": "subscription { noSuchField }"}}),
    )
    .await;
    let message = next(&mut ws).await.unwrap();
    assert_eq!(message["type"], "error", "{message}");
    assert_eq!(message["id"], "v");
    assert_eq!(
        message["payload"][0]["extensions"]["code"], "VALIDATION",
        "{message}"
    );
    // No `complete` follows an `error`; the id is free again.
    send(
        &mut ws,
        json!({"id": "v", "type": "subscribe", "payload": {"query": EVENTS}}),
    )
    .await;
    send(&mut ws, json!({"id": "p", "type": "ping"})).await;
    loop {
        let message = next(&mut ws).await.unwrap();
        assert_ne!(message["type"], "complete", "{message}");
        if message["type"] == "pong" {
            break;
        }
    }
}

#[tokio::test]
async fn subscriptions_per_connection_and_sockets_per_principal_are_capped() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.edge.max_subscriptions_per_connection = 3;
        c.edge.max_sockets_per_principal = 2;
    })
    .await;
    let mut ws = connect(&app, "graphql-transport-ws").await;
    init(&mut ws, json!({})).await;
    for id in ["1", "2", "3", "4"] {
        send(
            &mut ws,
            json!({"id": id, "type": "subscribe", "payload": {"query": EVENTS}}),
        )
        .await;
    }
    let message = next(&mut ws).await.unwrap();
    assert_eq!(message["type"], "error", "{message}");
    assert_eq!(message["id"], "4");
    assert_eq!(
        message["payload"][0]["extensions"]["limit"],
        "maxSubscriptionsPerConnection"
    );
    // Completing one frees a place.
    send(&mut ws, json!({"id": "1", "type": "complete"})).await;
    send(
        &mut ws,
        json!({"id": "5", "type": "subscribe", "payload": {"query": EVENTS}}),
    )
    .await;
    send(&mut ws, json!({"id": "p", "type": "ping"})).await;
    loop {
        let message = next(&mut ws).await.unwrap();
        assert_ne!(message["type"], "error", "{message}");
        if message["type"] == "pong" {
            break;
        }
    }

    // A second socket from the same principal is fine, a third is not.
    let mut second = connect(&app, "graphql-transport-ws").await;
    init(&mut second, json!({})).await;
    let mut third = connect(&app, "graphql-transport-ws").await;
    send(&mut third, json!({"type": "connection_init"})).await;
    assert_eq!(closed_with(&mut third).await, Some(4429));
    // Closing one frees its place.
    drop(second);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut again = connect(&app, "graphql-transport-ws").await;
        send(&mut again, json!({"type": "connection_init"})).await;
        match next(&mut again).await {
            Ok(m) if m["type"] == "connection_ack" => break,
            _ => assert!(Instant::now() < deadline, "the place was never freed"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn with_a_secret_connection_init_needs_a_valid_token() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.jwt_secret = Some(SECRET.into())).await;
    for payload in [
        json!({}),
        json!({"authorization": "Bearer forged"}),
        json!({"authorization": token("sam", "staff", None, -60)}),
    ] {
        let mut ws = connect(&app, "graphql-transport-ws").await;
        send(
            &mut ws,
            json!({"type": "connection_init", "payload": payload}),
        )
        .await;
        assert_eq!(closed_with(&mut ws).await, Some(4403), "{payload}");
    }
    let mut ws = connect(&app, "graphql-transport-ws").await;
    init(
        &mut ws,
        json!({"authorization": token("sam", "staff", None, 3600)}),
    )
    .await;
}

#[tokio::test]
async fn a_socket_closes_when_its_token_expires() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.jwt_secret = Some(SECRET.into())).await;
    let mut ws = connect(&app, "graphql-transport-ws").await;
    init(
        &mut ws,
        json!({"authorization": token("sam", "staff", None, 2)}),
    )
    .await;
    send(
        &mut ws,
        json!({"id": "e", "type": "subscribe", "payload": {"query": EVENTS}}),
    )
    .await;
    let started = Instant::now();
    let code = closed_with(&mut ws).await;
    assert_eq!(code, Some(4403));
    let took = started.elapsed();
    assert!(took < Duration::from_secs(6), "closed after {took:?}");
}

#[tokio::test]
async fn websockets_are_capped_in_total() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.edge.max_connections = 3;
        c.edge.max_sockets_per_principal = 100;
    })
    .await;
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut ws = connect(&app, "graphql-transport-ws").await;
        init(&mut ws, json!({})).await;
        open.push(ws);
    }
    let mut request = format!("ws://{}/graphql", app.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 503)
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a fourth WebSocket was accepted with a cap of 3"),
    }
    // Plain HTTP still works: WebSockets do not hold connection slots.
    let body = app.gql("{ __typename }", json!({})).await;
    assert_eq!(body["data"]["__typename"], "Query");
}

/// A socket reads 8 KiB at a time (an idle socket keeps its read buffer):
/// a subscribe message of several hundred KiB, under the message limit,
/// still arrives whole and is answered; one over the limit closes the
/// socket (1009, message too big).
#[tokio::test]
async fn messages_larger_than_the_read_buffer_arrive_whole() {
    let app = spawn_app(Backend::Sqlite).await;
    let id = app.create_order("c-big-message").await;
    app.order_at(&id, 1).await;
    let mut ws = app.ws("graphql-transport-ws", json!({})).await;
    // Whitespace is insignificant in GraphQL: 300 KiB of it around a small
    // subscription (the parse-time limits count tokens, not bytes).
    let padding = " ".repeat(300 * 1024);
    let query =
        format!("subscription($id: ID!) {{{padding} orderUpdated(id: $id) {{ id version }} }}");
    ws.subscribe("big", &query, json!({ "id": id })).await;
    let data = ws.next_data().await;
    assert_eq!(data["orderUpdated"]["version"], 1, "{data}");

    let mut raw = connect(&app, "graphql-transport-ws").await;
    init(&mut raw, json!({})).await;
    let too_big = " ".repeat(app.state.config.max_body_bytes + 1);
    send(
        &mut raw,
        json!({"id": "x", "type": "subscribe", "payload": {"query": too_big}}),
    )
    .await;
    assert_eq!(closed_with(&mut raw).await, Some(1009));
}
