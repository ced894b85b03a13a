//! Projection leadership: on PostgreSQL each projection runs in one
//! instance at a time and another takes over when it stops; SQLite (one
//! process) runs them all.

use std::time::{Duration, Instant};

use serde_json::json;

use chronicle::projections::EngineConfig;

use crate::both_backends;
use crate::helpers::*;

both_backends!(
    each_projection_runs_in_one_instance_and_another_takes_over,
    subscribers_on_another_instance_hear_of_every_commit,
);

const NAMES: [&str; 3] = ["order_details", "customer_order_history", "sales_stats"];

fn quick(config: &mut chronicle::Config) {
    config.engine = EngineConfig {
        poll_interval: Duration::from_millis(100),
        ..EngineConfig::default()
    };
}

async fn each_projection_runs_in_one_instance_and_another_takes_over(backend: Backend) {
    let a = spawn_app_with(backend, quick).await;
    eventually("instance A to run every projection", || async {
        NAMES.iter().all(|n| a.state.read.leaders.runs(n))
    })
    .await;
    if backend == Backend::Sqlite {
        // One process: nothing to elect.
        return;
    }
    let b = Server::start(&a.db_url(), quick).await.unwrap();
    // B waits while A leads: several of B's polls go by.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for name in NAMES {
        assert!(a.state.read.leaders.runs(name), "A still runs {name}");
        assert!(!b.state.read.leaders.runs(name), "B does not run {name}");
    }
    assert!(
        !b.state.read.cache.caches_orders(),
        "B does not cache rows it does not write"
    );
    let id = b.create_order("c-lead").await;
    b.order_at(&id, 1).await;

    // A goes away: B takes over from the checkpoint and keeps the read
    // models current.
    let (a, db) = a.into_parts();
    a.stop().await.unwrap();
    eventually("B to take over every projection", || async {
        NAMES.iter().all(|n| b.state.read.leaders.runs(n))
    })
    .await;
    assert!(b.state.read.cache.caches_orders());
    b.place(&id).await;
    assert_eq!(b.order_at(&id, 2).await.status, "PLACED");
    b.stop().await.unwrap();
    db.close().await.unwrap();
}

/// Polling so slow that only the notifications can deliver in time.
fn deaf(config: &mut chronicle::Config) {
    config.engine = EngineConfig {
        poll_interval: Duration::from_secs(60),
        ..EngineConfig::default()
    };
}

/// A writes; subscribers on B (which runs no projection) hear of it: the
/// order's new state, the projection's batch and the log's new events,
/// carried by PostgreSQL notifications (the polls are a minute apart).
async fn subscribers_on_another_instance_hear_of_every_commit(backend: Backend) {
    if backend == Backend::Sqlite {
        return; // one process
    }
    let a = spawn_app_with(backend, deaf).await;
    eventually("A to run every projection", || async {
        NAMES.iter().all(|n| a.state.read.leaders.runs(n))
    })
    .await;
    let b = Server::start(&a.db_url(), deaf).await.unwrap();
    let id = a.create_order("c-far").await;
    b.order_at(&id, 1).await;
    let head = a.state.store.head_position().await.unwrap();

    let mut ws = b.ws("graphql-transport-ws", json!({})).await;
    ws.subscribe(
        "order",
        "subscription($id: ID!) { orderUpdated(id: $id, afterVersion: 1) { status version } }",
        json!({ "id": id }),
    )
    .await;
    ws.subscribe(
        "batches",
        "subscription($id: ID!) { projectionUpdated(projection: \"order_details\", aggregateId: $id) { version } }",
        json!({ "id": id }),
    )
    .await;
    ws.subscribe(
        "feed",
        "subscription($after: String) { events(afterPosition: $after) { position streamId version } }",
        json!({ "after": head.to_string() }),
    )
    .await;
    // Let B's subscriptions settle before the write.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = Instant::now();
    a.place(&id).await;
    let mut order = None;
    let mut batch = None;
    let mut feed = Vec::new();
    while order.is_none() || batch.is_none() || feed.is_empty() {
        let message = ws.recv().await;
        assert_eq!(message["type"], "next", "{message}");
        let data = &message["payload"]["data"];
        match message["id"].as_str() {
            Some("order") => {
                order = Some((data["orderUpdated"].clone(), sent.elapsed()));
            }
            Some("batches") => batch = Some(data["projectionUpdated"]["version"].clone()),
            Some("feed") => feed.push(data["events"].clone()),
            other => panic!("unexpected subscription {other:?}"),
        }
    }
    let (update, took) = order.unwrap();
    eprintln!("orderUpdated on B, {took:?} after placeOrder was sent to A");
    assert_eq!(update["status"], "PLACED");
    assert_eq!(update["version"], 2);
    assert_eq!(batch.unwrap(), 2);
    assert_eq!(feed[0]["streamId"], id.as_str());
    assert_eq!(feed[0]["version"], 2);
    b.stop().await.unwrap();
    let (a, db) = a.into_parts();
    a.stop().await.unwrap();
    db.close().await.unwrap();
}
