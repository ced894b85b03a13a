//! Subscriptions over a real WebSocket: the write is readable the moment
//! the client is told, and the event feed has no gap and no duplicate.

use std::collections::HashSet;

use futures::future::join_all;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;

both_backends!(
    order_updated_tells_the_writer_when_its_write_is_readable,
    a_late_subscriber_gets_the_newer_state_at_once,
    the_legacy_protocol_delivers_data_messages,
    the_event_feed_has_no_gap_and_no_duplicate_under_concurrent_writers,
    projection_updated_reports_each_applied_event,
    idle_subscriptions_park_and_each_change_wakes_them_once,
    each_write_reaches_its_subscribers_without_waiting_for_the_next,
);

const ORDER_UPDATED: &str = "subscription($id: ID!, $after: Int) { orderUpdated(id: $id, afterVersion: $after) { id status version totalAmount } }";

async fn order_updated_tells_the_writer_when_its_write_is_readable(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_order("c-1").await;
    let mut ws = app.ws("graphql-transport-ws", json!({})).await;
    ws.subscribe("1", ORDER_UPDATED, json!({"id": id, "after": 1}))
        .await;
    let placed = app.place(&id).await;
    assert_eq!(placed.version, 2);
    let data = ws.next_data().await;
    assert_eq!(data["orderUpdated"]["status"], "PLACED");
    assert_eq!(data["orderUpdated"]["version"], 2);
    // Told means readable: the query answers the same state right away.
    let read = app.order(&id).await.expect("the order is readable");
    assert_eq!(read.version, 2);

    // And the next change comes too.
    app.cancel(&id, "r").await;
    let data = ws.next_data().await;
    assert_eq!(data["orderUpdated"]["status"], "CANCELLED");
    assert_eq!(data["orderUpdated"]["version"], 3);
}

async fn a_late_subscriber_gets_the_newer_state_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_order("c-1").await;
    app.place(&id).await;
    app.order_at(&id, 2).await;
    // Subscribing after the write with afterVersion = version - 1.
    let mut ws = app.ws("graphql-transport-ws", json!({})).await;
    ws.subscribe("late", ORDER_UPDATED, json!({"id": id, "after": 1}))
        .await;
    let data = ws.next_data().await;
    assert_eq!(data["orderUpdated"]["version"], 2);
    assert_eq!(data["orderUpdated"]["status"], "PLACED");
    // A subscriber already up to date gets nothing until the next change.
    ws.subscribe("current", ORDER_UPDATED, json!({"id": id, "after": 2}))
        .await;
    app.cancel(&id, "r").await;
    let mut got = Vec::new();
    for _ in 0..2 {
        let message = ws.next_message().await;
        assert_eq!(message["type"], "next", "{message}");
        got.push((
            message["id"].as_str().unwrap().to_owned(),
            message["payload"]["data"]["orderUpdated"]["version"]
                .as_i64()
                .unwrap(),
        ));
    }
    got.sort();
    assert_eq!(got, [("current".to_owned(), 3), ("late".to_owned(), 3)]);
}

async fn the_legacy_protocol_delivers_data_messages(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_order("c-1").await;
    let mut ws = app.ws("graphql-ws", json!({})).await;
    ws.subscribe("1", ORDER_UPDATED, json!({"id": id, "after": 1}))
        .await;
    app.place(&id).await;
    let data = ws.next_data().await; // asserts type "data"
    assert_eq!(data["orderUpdated"]["status"], "PLACED");
}

const EVENTS_SUB: &str = "subscription($after: String) { events(afterPosition: $after) { position eventType streamId } }";
const EVENTS_PAGE: &str = "query($after: String) { events(first: 100, after: $after) { edges { node { position } } pageInfo { hasNextPage endCursor } } }";

async fn all_positions(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = app.ok(EVENTS_PAGE, json!({"after": after})).await;
        let events = &data["events"];
        for edge in events["edges"].as_array().unwrap() {
            out.push(edge["node"]["position"].as_str().unwrap().parse().unwrap());
        }
        if events["pageInfo"]["hasNextPage"] != true {
            return out;
        }
        after = events["pageInfo"]["endCursor"].clone();
    }
}

async fn the_event_feed_has_no_gap_and_no_duplicate_under_concurrent_writers(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut ws = app.ws("graphql-transport-ws", json!({})).await;
    ws.subscribe("feed", EVENTS_SUB, json!({"after": "0"}))
        .await;

    // 8 writers, each creating 5 orders and adding 4 items to each: 200 events.
    join_all((0..8).map(|w| {
        let app = &app;
        async move {
            for _ in 0..5 {
                let id = app.create_order(&format!("c-{w}")).await;
                for i in 0..4 {
                    app.add_item(&id, &format!("X{i}"), "1", 1).await;
                }
            }
        }
    }))
    .await;

    let expected = all_positions(&app).await;
    assert_eq!(expected.len(), 200);
    let mut received = Vec::new();
    while received.len() < expected.len() {
        let data = ws.next_data().await;
        received.push(event_position(&data));
    }
    assert!(
        received.windows(2).all(|w| w[0] < w[1]),
        "strictly increasing"
    );
    assert_eq!(received, expected, "exactly the events connection's list");

    // Resuming from a middle position yields exactly the later ones.
    let middle = expected[expected.len() / 2];
    let mut resumed = app.ws("graphql-transport-ws", json!({})).await;
    resumed
        .subscribe("resume", EVENTS_SUB, json!({"after": middle.to_string()}))
        .await;
    let later: Vec<i64> = expected.iter().copied().filter(|p| *p > middle).collect();
    let mut got = Vec::new();
    while got.len() < later.len() {
        let data = resumed.next_data().await;
        got.push(event_position(&data));
    }
    assert_eq!(got, later);
    // Then live: one more write arrives once, with no replay before it.
    let id = app.create_order("c-late").await;
    let data = resumed.next_data().await;
    assert_eq!(data["events"]["streamId"], id.as_str());
    assert_eq!(data["events"]["eventType"], "OrderCreated");
    let unique: HashSet<i64> = got.iter().copied().collect();
    assert_eq!(unique.len(), got.len());
}

async fn projection_updated_reports_each_applied_event(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_order("c-1").await;
    app.order_at(&id, 1).await;
    let mut ws = app.ws("graphql-transport-ws", json!({})).await;
    ws.subscribe(
        "p",
        "subscription($id: ID!) { projectionUpdated(projection: \"order_details\", aggregateId: $id) { projection aggregateId version position eventType } }",
        json!({"id": id}),
    )
    .await;
    let placed = app.place(&id).await;
    let data = ws.next_data().await;
    let update = &data["projectionUpdated"];
    assert_eq!(update["projection"], "order_details");
    assert_eq!(update["aggregateId"], id.as_str());
    assert_eq!(update["version"], 2);
    assert_eq!(update["eventType"], "OrderPlaced");
    assert_eq!(update["position"], placed.position.to_string());
}

#[tokio::test]
async fn subscriptions_need_credentials_when_the_server_has_a_secret() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.jwt_secret = Some("k-k-k-k-k-k-k-k-k-k-k-k-k-k-k-k-k-k".into())
    })
    .await;
    // No token: refused (4403) before any ack, so no subscription can start
    // (tests/api/ws_protocol.rs checks the codes).

    // A bad token in connection_init ends the connection before any ack.
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};
    let mut request = format!("ws://{}/graphql", app.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut raw, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({"type": "connection_init", "payload": {"authorization": "Bearer forged"}});
    raw.send(Message::Text(init.to_string().into()))
        .await
        .unwrap();
    let reply = tokio::time::timeout(std::time::Duration::from_secs(10), raw.next())
        .await
        .expect("an answer");
    match reply {
        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {}
        Some(Ok(other)) => {
            let text = other.to_text().unwrap_or_default().to_owned();
            assert!(
                !text.contains("connection_ack"),
                "forged token acknowledged: {text}"
            );
        }
    }
}

/// The position of an `events` subscription result.
fn event_position(data: &serde_json::Value) -> i64 {
    data["events"]["position"]
        .as_str()
        .expect("a position")
        .parse()
        .expect("a number")
}

const BIN: &str = env!("CARGO_BIN_EXE_chronicle");

/// A gauge's value in the server's /metrics (0 when absent).
async fn gauge(server: &ServerProcess, line_start: &str) -> f64 {
    let text = server.metrics_text().await;
    text.lines()
        .find_map(|l| l.strip_prefix(line_start)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// `n` subscriptions `s0`, `s1`, ... to order `id` after its version 1.
async fn subscribe_many(ws: &mut WsClient, n: usize, id: &str) {
    for i in 0..n {
        ws.subscribe(
            &format!("s{i}"),
            ORDER_UPDATED,
            json!({"id": id, "after": 1}),
        )
        .await;
    }
}

/// Each of `ids` gets `version` exactly once (and nothing else arrives
/// before all have it).
async fn each_gets(ws: &mut WsClient, ids: usize, version: i64) {
    let mut got = HashSet::new();
    while got.len() < ids {
        let message = ws.next_message().await;
        assert_eq!(message["type"], "next", "{message}");
        assert_eq!(
            message["payload"]["data"]["orderUpdated"]["version"], version,
            "{message}"
        );
        let id = message["id"].as_str().unwrap().to_owned();
        assert!(got.insert(id), "a version sent twice: {message}");
    }
}

/// An idle `orderUpdated` leaves async-graphql's executor (it parks) and
/// is executed again when its order changes: every change still reaches
/// every subscriber once, whether it comes while they are parked or while
/// they are still in the executor after a delivery; `complete` and a closed
/// socket end parked subscriptions too. Its own process, so the gauges are
/// this server's alone.
async fn idle_subscriptions_park_and_each_change_wakes_them_once(backend: Backend) {
    const PARKED: &str = "chronicle_parked_subscriptions ";
    const ACTIVE: &str = "chronicle_active_subscriptions{subscription=\"orderUpdated\"} ";
    let db = TestDb::new(backend).await;
    let server = ServerProcess::start("S", BIN, &db.url, &[], &[])
        .await
        .unwrap();
    let id = server.create_order("c-1").await;
    let mut ws = server.ws("graphql-transport-ws", json!({})).await;
    const N: usize = 20;
    subscribe_many(&mut ws, N, &id).await;
    eventually("every idle subscription parked", || async {
        gauge(&server, PARKED).await == N as f64
    })
    .await;
    assert_eq!(gauge(&server, ACTIVE).await, N as f64);

    // Woken from parked: each gets version 2 once.
    let v = server.add_item(&id, "a", "1.00", 1).await.version;
    assert_eq!(v, 2);
    each_gets(&mut ws, N, 2).await;
    // Right after a delivery they wait in the executor: the next change
    // reaches them from there, and back-to-back changes end at the latest.
    server.add_item(&id, "b", "1.00", 1).await;
    each_gets(&mut ws, N, 3).await;
    eventually("parked again after the quiet period", || async {
        gauge(&server, PARKED).await == N as f64
    })
    .await;
    server.add_item(&id, "c", "1.00", 1).await;
    each_gets(&mut ws, N, 4).await;
    eventually("parked again", || async {
        gauge(&server, PARKED).await == N as f64
    })
    .await;

    // `complete` ends a parked subscription; closing the socket ends the rest.
    ws.complete("s0").await;
    let message = ws.next_message().await;
    assert_eq!(message, json!({"type": "complete", "id": "s0"}));
    eventually("one fewer", || async {
        gauge(&server, PARKED).await == (N - 1) as f64
    })
    .await;
    drop(ws);
    eventually("none left", || async {
        gauge(&server, PARKED).await == 0.0 && gauge(&server, ACTIVE).await == 0.0
    })
    .await;
    server.stop().await.unwrap();
}

/// Every write reaches each subscriber on its own: no delivery waits for
/// the order's next change (the writer waits for each before the next).
async fn each_write_reaches_its_subscribers_without_waiting_for_the_next(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_order("c-1").await;
    let mut ws = app.ws("graphql-transport-ws", json!({})).await;
    const N: usize = 5;
    subscribe_many(&mut ws, N, &id).await;
    for version in 2..=40 {
        let written = app
            .add_item(&id, &format!("sku-{version}"), "1.00", 1)
            .await;
        assert_eq!(written.version, version);
        each_gets(&mut ws, N, version).await;
    }
}
