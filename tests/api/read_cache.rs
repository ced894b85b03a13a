//! `order(id)` from memory (issue 9): never older than the database, and
//! right after a rebuild's switch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chronicle::domain::order::OrderId;
use chronicle::projections::order_details;
use futures::FutureExt;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;
use crate::ws_protocol::{SECRET, token};

both_backends!(
    no_read_is_older_than_the_database,
    a_cached_read_follows_a_rebuild_switch,
    kept_responses_are_per_caller_and_end_with_their_order,
);

/// The version of the order's row in the live read model, straight from
/// the database.
async fn version_in_database(app: &TestApp, id: &str) -> i64 {
    let read = &app.state.read;
    let generation = read
        .fresh_live_generation(order_details::NAME)
        .await
        .unwrap();
    let id: OrderId = id.parse().unwrap();
    order_details::get(read.db(), generation, &id)
        .await
        .unwrap()
        .map_or(0, |d| i64::from(d.version))
}

/// While one client advances an order, another reads it over and over:
/// every answer is at least as new as the row the database held just before
/// the request was sent.
async fn no_read_is_older_than_the_database(backend: Backend) {
    let app = Arc::new(spawn_app(backend).await);
    let id = app.create_order("c-exact").await;
    app.order_at(&id, 1).await;
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (app, id, done) = (app.clone(), id.clone(), done.clone());
        tokio::spawn(async move {
            for i in 0..40 {
                app.add_item(&id, &format!("sku-{i}"), "1.00", 1).await;
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    let mut reads = 0;
    let mut newest = 0;
    loop {
        let finished = done.load(Ordering::SeqCst);
        let floor = version_in_database(&app, &id).await;
        let seen = app.order(&id).await.expect("the order exists").version;
        assert!(
            seen >= floor,
            "read version {seen} while the database already held {floor}"
        );
        newest = newest.max(seen);
        reads += 1;
        if finished && seen == 41 {
            break;
        }
        assert!(reads < 100_000, "the reads never caught up");
    }
    writer.await.unwrap();
    assert_eq!(newest, 41);
    if backend == Backend::Sqlite {
        assert!(
            app.state.read.cache.caches_orders(),
            "one process on SQLite caches order rows"
        );
    }
}

async fn a_cached_read_follows_a_rebuild_switch(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_order("c-switch").await;
    let before = app.order_at(&id, 1).await;
    // Read again: from memory where this process caches.
    assert_eq!(app.order(&id).await.as_ref(), Some(&before));
    app.ok(
        "mutation { rebuildProjection(name: \"order_details\") { generation } }",
        json!({}),
    )
    .await;
    eventually("generation 2 to be live", || async {
        let data = app
            .ok(
                "{ projections { name generation rebuild { generation } } }",
                json!({}),
            )
            .await;
        data["projections"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "order_details" && p["generation"] == 2 && p["rebuild"].is_null())
    })
    .await;
    // The switch moved reads to generation 2: the same answer, and a new
    // write is seen there (not a stale copy of generation 1).
    assert_eq!(app.order(&id).await.as_ref(), Some(&before));
    app.place(&id).await;
    let placed = app.order_at(&id, 2).await;
    assert_eq!(placed.status, "PLACED");
    assert_eq!(app.order(&id).await.unwrap().status, "PLACED");
    assert_eq!(version_in_database(&app, &id).await, 2);
    assert_eq!(
        app.state
            .read
            .live_generation(order_details::NAME)
            .await
            .unwrap(),
        2
    );
}

/// The sum of a counter in /metrics (0 when absent).
async fn counter(app: &TestApp, series: &str) -> f64 {
    let text = app.metrics_text().await;
    text.lines()
        .filter_map(|l| l.strip_prefix(series)?.trim().parse::<f64>().ok())
        .sum()
}

/// Whole responses of reads the read cache answers are kept per caller and
/// document (responses.rs): one is answered again (by /metrics) while its
/// order is unchanged, never to another caller (a customer who may not see
/// the order gets null), and not once the order changed.
async fn kept_responses_are_per_caller_and_end_with_their_order(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.jwt_secret = Some(SECRET.into());
        c.edge.public_metrics = true;
    })
    .await;
    let staff = token("s", "staff", None, 600);
    let alice = token("alice", "customer", Some("c-alice"), 600);
    let bob = token("bob", "customer", Some("c-bob"), 600);
    let items = json!([{"sku": "A", "name": "Apple", "unitPrice": "1.50", "quantity": 2}]);
    let created = app
        .gql_with(
            CREATE,
            json!({"input": {"customerId": "c-alice", "items": items}}),
            &[("authorization", staff.as_str())],
        )
        .await;
    let id = created["data"]["createOrder"]["aggregateId"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned();
    let read = format!("query($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}");
    let version = |who: String| {
        let (app, read, id) = (&app, read.clone(), id.clone());
        async move {
            let body = app
                .gql_with(
                    &read,
                    json!({ "id": id }),
                    &[("authorization", who.as_str())],
                )
                .await;
            assert!(body.get("errors").is_none(), "{body}");
            body["data"]["order"]["version"].as_i64()
        }
    };
    eventually("alice to see her order", || {
        version(alice.clone()).map(|v| v == Some(1))
    })
    .await;
    let hits = "chronicle_response_cache_total{result=\"hit\"}";
    let before = counter(&app, hits).await;
    for _ in 0..3 {
        assert_eq!(version(alice.clone()).await, Some(1));
    }
    assert!(
        counter(&app, hits).await >= before + 2.0,
        "no kept response was answered"
    );
    for _ in 0..3 {
        assert_eq!(version(bob.clone()).await, None, "bob got alice's order");
    }
    assert_eq!(version(staff.clone()).await, Some(1));
    assert_eq!(version(staff.clone()).await, Some(1));
    let added = app
        .gql_with(
            ADD_ITEM,
            json!({"input": {"orderId": id, "sku": "B", "name": "B", "unitPrice": "1.00", "quantity": 1}}),
            &[("authorization", staff.as_str())],
        )
        .await;
    assert_eq!(added["data"]["addItem"]["version"], 2, "{added}");
    eventually("alice to see version 2", || {
        version(alice.clone()).map(|v| v == Some(2))
    })
    .await;
    eventually("staff to see version 2", || {
        version(staff.clone()).map(|v| v == Some(2))
    })
    .await;
    for _ in 0..3 {
        assert_eq!(version(alice.clone()).await, Some(2));
        assert_eq!(version(staff.clone()).await, Some(2));
        assert_eq!(version(bob.clone()).await, None);
    }
}
