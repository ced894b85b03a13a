//! History as a feature: time travel, snapshots, upcasting, the audit feed,
//! rebuilds without downtime, and lag you can see.

use std::time::Duration;

use chronicle::commands::{self, CommandContext, LoadTarget};
use chronicle::domain::Aggregate;
use chronicle::domain::order::{OrderAggregate, OrderCommand, OrderId, OrderLine};
use chronicle::store::{EventMetadata, ExpectedVersion, NewEvent, Snapshot};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;

both_backends!(
    time_travel_by_version_and_by_time,
    snapshots_are_kept_and_time_travel_uses_them,
    loading_reads_the_snapshot_plus_at_most_n_events,
    stored_v1_events_read_back_upcast_on_every_path,
    the_feed_filters_by_type_stream_and_user,
    a_rebuild_serves_the_same_answers_throughout_and_ends_equal,
    the_rebuild_command_line_switches_a_running_server,
);

const AT: &str = "query($id: ID!, $v: Int, $t: DateTime) { order(id: $id, atVersion: $v, asOf: $t) { status version items { sku } totalAmount } }";

async fn time_travel_by_version_and_by_time(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_order("c-1").await;
    app.place(&id).await;
    app.pay(&id, "25.25").await;
    let history = app
        .ok(
            "query($id: ID!) { orderHistory(id: $id) { version recordedAt } }",
            json!({"id": id}),
        )
        .await;
    let at = |v: usize| {
        history["orderHistory"][v]["recordedAt"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let created: chrono::DateTime<chrono::Utc> = at(0).parse().unwrap();

    let data = app.ok(AT, json!({"id": id, "v": 2})).await;
    assert_eq!(data["order"]["status"], "PLACED");
    assert_eq!(data["order"]["version"], 2);
    // As of the moment it was placed (before the payment): PLACED.
    let data = app.ok(AT, json!({"id": id, "t": at(1)})).await;
    assert_eq!(data["order"]["status"], "PLACED", "{data}");
    let data = app.ok(AT, json!({"id": id, "t": at(2)})).await;
    assert_eq!(data["order"]["status"], "PAID");
    // Before it existed: null.
    let before = (created - chrono::Duration::seconds(1)).to_rfc3339();
    let data = app.ok(AT, json!({"id": id, "t": before})).await;
    assert!(data["order"].is_null(), "{data}");
    // Past the end, or version 0: VALIDATION.
    assert_eq!(
        error_code(&app.gql(AT, json!({"id": id, "v": 4})).await),
        Some("VALIDATION")
    );
    assert_eq!(
        error_code(&app.gql(AT, json!({"id": id, "v": 0})).await),
        Some("VALIDATION")
    );
    assert_eq!(
        error_code(&app.gql(AT, json!({"id": id, "v": 1, "t": at(1)})).await),
        Some("VALIDATION")
    );
}

async fn snapshots_are_kept_and_time_travel_uses_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let items = json!([
        {"sku": "A", "name": "a", "unitPrice": "1", "quantity": 1},
        {"sku": "B", "name": "b", "unitPrice": "1", "quantity": 1}
    ]);
    let id = app
        .run(Op::Create, json!({"customerId": "c-1", "items": items}))
        .await
        .aggregate_id;
    for i in 0..250 {
        app.add_item(&id, &format!("S{i}"), "0.10", 1).await;
    }
    let versions = app.state.store.snapshot_versions(&id).await.unwrap();
    assert_eq!(versions, [100, 200], "snapshot history is kept");
    let data = app.ok(AT, json!({"id": id, "v": 150})).await;
    assert_eq!(data["order"]["items"].as_array().unwrap().len(), 151);
    assert_eq!(data["order"]["totalAmount"], "16.90");
    let data = app.ok(AT, json!({"id": id, "v": 251})).await;
    assert_eq!(data["order"]["items"].as_array().unwrap().len(), 252);
    // The read model agrees with the fold.
    let current = app.order_at(&id, 251).await;
    assert_eq!(current.items.len(), 252);
}

fn line(sku: String) -> OrderLine {
    OrderLine {
        sku,
        name: "n".into(),
        unit_price: "1".parse().unwrap(),
        quantity: 1,
    }
}

async fn loading_reads_the_snapshot_plus_at_most_n_events(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.start_projections = false).await;
    let store = &app.state.store;
    let id = OrderId::from_uuid(uuid::Uuid::new_v4());
    let ctx = CommandContext::default();
    let create = OrderCommand::CreateOrder {
        customer_id: "c".into(),
        items: vec![line("S0".into())],
    };
    commands::execute::<OrderAggregate>(store, &id, &create, &ctx)
        .await
        .unwrap();
    for i in 1..1000 {
        let add = OrderCommand::AddItem(line(format!("S{i}")));
        commands::execute::<OrderAggregate>(store, &id, &add, &ctx)
            .await
            .unwrap();
    }
    let every = store.snapshot_every() as usize;
    let latest = commands::load::<OrderAggregate>(store, &id, LoadTarget::Latest)
        .await
        .unwrap();
    assert_eq!(latest.version, 1000);
    assert_eq!(latest.state.as_ref().unwrap().lines.len(), 1000);
    assert!(
        latest.events_read <= every,
        "read {} events",
        latest.events_read
    );
    let past = commands::load::<OrderAggregate>(store, &id, LoadTarget::AtVersion(950))
        .await
        .unwrap();
    assert_eq!((past.snapshot_version, past.events_read), (Some(900), 50));
    assert_eq!(past.state.as_ref().unwrap().lines.len(), 950);

    // A snapshot of another state schema version is never used, even if newer.
    store
        .save_snapshot(
            "Order",
            Snapshot {
                stream_id: id.to_string(),
                version: 1000,
                schema_version: OrderAggregate::STATE_SCHEMA_VERSION + 1,
                state: json!({"something": "else"}),
                event_recorded_at: chrono::Utc::now(),
            },
        )
        .await
        .unwrap();
    let again = commands::load::<OrderAggregate>(store, &id, LoadTarget::AtVersion(999))
        .await
        .unwrap();
    assert_eq!((again.snapshot_version, again.events_read), (Some(900), 99));
}

async fn stored_v1_events_read_back_upcast_on_every_path(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = uuid::Uuid::new_v4().to_string();
    insert_v1_order(&app, &id, "old-customer").await;

    // The fold (time travel) and the read model.
    let data = app.ok(AT, json!({"id": id, "v": 1})).await;
    assert_eq!(data["order"]["totalAmount"], "25.25");
    let current = app.order_at(&id, 1).await;
    assert_eq!(current.total_amount, "25.25");
    // History and the feed show the upcast payload and its new version.
    let history = app
        .ok(
            "query($id: ID!) { orderHistory(id: $id) { schemaVersion data } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(history["orderHistory"][0]["schemaVersion"], 2);
    assert_eq!(history["orderHistory"][0]["data"]["total"], "25.25");
    let feed = app
        .ok(
            "query($s: ID) { events(filter: {streamId: $s}) { edges { node { schemaVersion data } } } }",
            json!({"s": id}),
        )
        .await;
    assert_eq!(feed["events"]["edges"][0]["node"]["data"]["total"], "25.25");
    // And commands load it: paying the upcast total works.
    app.place(&id).await;
    app.pay(&id, "25.25").await;
    // The stored row itself is untouched.
    let raw = app.state.store.read_stream(&id, 1, Some(1)).await.unwrap();
    assert_eq!(raw[0].schema_version, 2, "read paths upcast");
}

async fn the_feed_filters_by_type_stream_and_user(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.create_order("c-1").await;
    let b = app.create_order("c-2").await;
    app.place(&a).await;
    app.place(&b).await;
    let feed = "query($f: EventFilter) { events(first: 50, filter: $f) { edges { node { eventType streamId metadata { userId } } } } }";
    let nodes = |data: &Value| -> Vec<Value> {
        data["events"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].clone())
            .collect()
    };
    let placed = nodes(
        &app.ok(feed, json!({"f": {"eventTypes": ["OrderPlaced"]}}))
            .await,
    );
    assert_eq!(placed.len(), 2);
    assert!(placed.iter().all(|n| n["eventType"] == "OrderPlaced"));
    let of_a = nodes(&app.ok(feed, json!({"f": {"streamId": a}})).await);
    assert_eq!(of_a.len(), 2);
    assert!(of_a.iter().all(|n| n["streamId"] == a.as_str()));
    let by_nobody = nodes(&app.ok(feed, json!({"f": {"userId": "someone-else"}})).await);
    assert!(by_nobody.is_empty());
    let by_anon = nodes(&app.ok(feed, json!({"f": {"userId": "anonymous"}})).await);
    assert_eq!(by_anon.len(), 4);
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    assert!(nodes(&app.ok(feed, json!({"f": {"from": future}})).await).is_empty());
}

/// Appends `orders` orders of `per_order` events each straight to the store.
async fn bulk_orders(app: &TestApp, orders: usize, per_order: usize) {
    for o in 0..orders {
        let id = uuid::Uuid::new_v4().to_string();
        let mut events = vec![NewEvent {
            event_type: "OrderCreated".into(),
            schema_version: 2,
            data: json!({"customerId": format!("c-{}", o % 7), "items": [
                {"sku": "S0", "name": "n", "unitPrice": "1", "quantity": 1}
            ], "total": "1"}),
            metadata: EventMetadata::default(),
        }];
        for i in 1..per_order {
            events.push(NewEvent {
                event_type: "ItemAdded".into(),
                schema_version: 1,
                data: json!({"item": {"sku": format!("S{i}"), "name": "n", "unitPrice": "1", "quantity": 1}, "total": (i + 1).to_string()}),
                metadata: EventMetadata::default(),
            });
        }
        app.state
            .store
            .append(&id, "Order", ExpectedVersion::NoStream, events, None)
            .await
            .unwrap();
    }
}

async fn wait_caught_up(app: &TestApp) {
    eventually("every projection at lag 0", || async {
        let data = app
            .ok("{ projections { lag rebuild { generation } } }", json!({}))
            .await;
        data["projections"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["lag"] == 0 && p["rebuild"].is_null())
    })
    .await;
}

const SNAPSHOT: &str = "query { orders(first: 100) { edges { node { id status totalAmount version items { sku } } } } }";

async fn a_rebuild_serves_the_same_answers_throughout_and_ends_equal(backend: Backend) {
    let app = spawn_app(backend).await;
    bulk_orders(&app, 100, 100).await;
    assert!(app.state.store.head_position().await.unwrap() >= 10_000);
    wait_caught_up(&app).await;
    let before = app.ok(SNAPSHOT, json!({})).await;
    let projection = app.state.read.projection("order_details").unwrap();
    let rows_before = projection.dump(app.state.store.db(), 1).await.unwrap();
    assert_eq!(rows_before.len(), 100);

    let started = app
        .ok(
            "mutation { rebuildProjection(name: \"order_details\") { projection generation replaces state } }",
            json!({}),
        )
        .await;
    assert_eq!(started["rebuildProjection"]["generation"], 2);
    assert_eq!(started["rebuildProjection"]["replaces"], 1);
    assert_eq!(started["rebuildProjection"]["state"], "RUNNING");

    let status = "{ projections { name generation lag rebuild { generation position lag } } }";
    let mut observed_during = 0;
    loop {
        let data = app.ok(status, json!({})).await;
        let od = data["projections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "order_details")
            .unwrap()
            .clone();
        let now = app.ok(SNAPSHOT, json!({})).await;
        assert_eq!(now, before, "queries answer the same during the rebuild");
        if od["rebuild"].is_null() && od["generation"] == 2 {
            break;
        }
        if !od["rebuild"].is_null() {
            observed_during += 1;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(observed_during > 0, "the rebuild was observed in progress");
    wait_caught_up(&app).await;
    let rows_after = projection.dump(app.state.store.db(), 2).await.unwrap();
    assert_eq!(
        rows_after, rows_before,
        "the rebuilt read model equals the old one"
    );
    // The old generation is deleted once the switch's grace period ends.
    eventually("the old generation to be gone", || async {
        projection
            .dump(app.state.store.db(), 1)
            .await
            .unwrap()
            .is_empty()
    })
    .await;
    // Live again: a new write reaches the new generation.
    let id = app.create_order("c-new").await;
    app.order_at(&id, 1).await;
    // Unknown names and non-admins are refused.
    let body = app
        .gql(
            "mutation { rebuildProjection(name: \"nope\") { generation } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), Some("VALIDATION"));
    // Lag is visible in /metrics.
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("chronicle_projection_lag_events{projection=\"order_details\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("chronicle_commands_total"));
}

async fn the_rebuild_command_line_switches_a_running_server(backend: Backend) {
    let app = spawn_app(backend).await;
    for i in 0..5 {
        let id = app.create_order(&format!("c-{i}")).await;
        app.place(&id).await;
    }
    wait_caught_up(&app).await;
    let stats = "{ salesStats { ordersCreated ordersPlaced revenue } }";
    let before = app.ok(stats, json!({})).await;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_chronicle"))
        .args(["rebuild", "sales_stats", "--database-url", &app.db_url()])
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("generation 2 is live"));
    eventually("the server to serve generation 2", || async {
        let data = app
            .ok("{ projections { name generation lag } }", json!({}))
            .await;
        data["projections"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "sales_stats" && p["generation"] == 2 && p["lag"] == 0)
    })
    .await;
    assert_eq!(app.ok(stats, json!({})).await, before);
    // The server keeps applying new events to the new generation.
    let id = app.create_order("c-after").await;
    app.place(&id).await;
    eventually("the new generation to count the new order", || async {
        app.ok(stats, json!({})).await["salesStats"]["ordersPlaced"] == 6
    })
    .await;
}

#[tokio::test]
async fn rebuild_progress_is_pushed_to_subscribers() {
    let app = spawn_app(Backend::Sqlite).await;
    bulk_orders(&app, 20, 50).await;
    wait_caught_up(&app).await;
    let mut ws = app.ws("graphql-transport-ws", json!({})).await;
    ws.subscribe(
        "s",
        "subscription { projectionStatus(name: \"order_details\") { generation lag rebuild { generation state } } }",
        json!({}),
    )
    .await;
    let first = ws.next_data().await;
    assert_eq!(first["projectionStatus"]["generation"], 1);
    app.ok(
        "mutation { rebuildProjection(name: \"order_details\") { generation } }",
        json!({}),
    )
    .await;
    // Updates keep coming until the new generation is live.
    loop {
        let data = ws.next_data().await;
        let status = &data["projectionStatus"];
        if status["generation"] == 2 && status["rebuild"].is_null() {
            break;
        }
        assert!(
            status["generation"] == 1 || status["generation"] == 2,
            "{status}"
        );
    }
    let body = app
        .gql(
            "subscription { projectionStatus(name: \"nope\") { lag } }",
            json!({}),
        )
        .await;
    assert!(body.get("errors").is_some());
}
