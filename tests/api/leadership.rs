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

/// `projections { name instance }` as seen by `server`, in NAMES order.
async fn runners(server: &Server) -> Vec<Option<String>> {
    let data = server
        .ok("{ projections { name instance } }", json!({}))
        .await;
    NAMES
        .iter()
        .map(|name| {
            let p = data["projections"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == *name)
                .unwrap_or_else(|| panic!("{name} listed: {data}"));
            p["instance"].as_str().map(str::to_owned)
        })
        .collect()
}

fn named(id: &'static str) -> impl FnOnce(&mut chronicle::Config) {
    move |config| {
        quick(config);
        config.instance_id = id.to_owned();
    }
}

async fn each_projection_runs_in_one_instance_and_another_takes_over(backend: Backend) {
    let a = spawn_app_with(backend, named("instance-a")).await;
    eventually("instance A to run every projection", || async {
        NAMES.iter().all(|n| a.state.read.leaders.runs(n))
    })
    .await;
    let all_a = vec![Some("instance-a".to_owned()); NAMES.len()];
    assert_eq!(runners(&a).await, all_a);
    if backend == Backend::Sqlite {
        // One process: nothing to elect.
        return;
    }
    let b = Server::start(&a.db_url(), named("instance-b"))
        .await
        .unwrap();
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
    // Both instances name the same runner: the lock holder.
    assert_eq!(runners(&a).await, all_a);
    assert_eq!(runners(&b).await, all_a);
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
    assert_eq!(
        runners(&b).await,
        vec![Some("instance-b".to_owned()); NAMES.len()]
    );
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

/// A bad instance id stops start-up with a message naming the rule: it
/// becomes PostgreSQL's application_name, which keeps 63 ASCII bytes.
#[tokio::test]
async fn a_bad_instance_id_is_refused_at_start() {
    for bad in ["", "has space", "ünïcode", &"x".repeat(49), "semi;colon"] {
        let db = chronicle_testkit::TestDb::new(Backend::Sqlite).await;
        let error = match Server::start(&db.url, |c| c.instance_id = bad.to_owned()).await {
            Ok(_) => panic!("{bad:?} accepted"),
            Err(e) => format!("{e:#}"),
        };
        assert!(error.contains("--instance-id"), "{bad:?}: {error}");
    }
    for good in ["a", "web-1.eu:8000", &"x".repeat(48)] {
        let db = chronicle_testkit::TestDb::new(Backend::Sqlite).await;
        let server = Server::start(&db.url, |c| c.instance_id = good.to_owned())
            .await
            .unwrap();
        server.stop().await.unwrap();
    }
}
