//! Racing writers through the running server.

use chronicle::commands::{self, CommandContext};
use chronicle::domain::order::{OrderAggregate, OrderCommand, OrderId, OrderLine};
use chronicle::store::{EventStore, Upcasters};
use futures::future::join_all;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

both_backends!(
    forty_racing_places_with_expected_version_give_one_success,
    forty_racing_cancels_without_expected_version_give_one_success,
    racing_retries_of_one_command_id_append_once,
    a_command_after_another_instance_appended_is_judged_on_the_stored_stream,
    expected_version_is_checked_against_the_stream_not_the_kept_state,
    a_refusal_on_a_kept_state_is_checked_against_the_stream,
);

/// How many succeeded, and how many were refused with `code` (and a message
/// naming `rule`).
fn tally(results: &[Result<CommandResult, GqlError>], code: &str, rule: &str) -> (usize, usize) {
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| {
            r.as_ref()
                .is_err_and(|e| e.code.as_deref() == Some(code) && e.message.contains(rule))
        })
        .count();
    (ok, refused)
}

async fn forty_racing_places_with_expected_version_give_one_success(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_order("c-1").await;
    let results = join_all(
        (0..40).map(|_| app.try_run(Op::Place, json!({"orderId": id, "expectedVersion": 1}))),
    )
    .await;
    assert_eq!(
        tally(&results, "CONCURRENCY_CONFLICT", ""),
        (1, 39),
        "{results:?}"
    );
    let versions: Vec<i64> = app.history(&id).await.iter().map(|e| e.version).collect();
    assert_eq!(versions, [1, 2]);
}

async fn forty_racing_cancels_without_expected_version_give_one_success(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_order("c-1").await;
    let results = join_all((0..40).map(|_| app.try_cancel(&id, "race"))).await;
    assert_eq!(
        tally(
            &results,
            "BUSINESS_RULE",
            "cannot cancel an order that is CANCELLED"
        ),
        (1, 39),
        "{results:?}"
    );
    assert_eq!(app.history(&id).await.len(), 2);
}

async fn racing_retries_of_one_command_id_append_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let input = json!({"input": {"customerId": "c-1", "commandId": "same", "items": [
        {"sku": "A", "name": "Apple", "unitPrice": "1", "quantity": 1}
    ]}});
    // Raw bodies: every retry returns the first response, byte for byte.
    let bodies = join_all((0..12).map(|_| app.gql(CREATE, input.clone()))).await;
    for body in &bodies {
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(body, &bodies[0], "every retry returns the first result");
    }
    let first: CommandResult =
        serde_json::from_value(bodies[0]["data"]["createOrder"].clone()).unwrap();
    let head = app.state.store.head_position().await.unwrap();
    assert_eq!(head, first.position);
    let all = app.state.store.read_all(0, 100).await.unwrap();
    assert_eq!(all.len(), 1, "one OrderCreated in the whole store");
}

/// Another instance on the same database: its own store, so its own kept
/// states.
async fn other_instance(app: &TestApp) -> EventStore {
    let upcasters = Upcasters::new().with::<OrderAggregate>();
    EventStore::open(app.state.store.db().clone(), upcasters)
        .await
        .unwrap()
}

/// Adds `sku` to order `id` through `store`, as another instance would.
async fn add_elsewhere(store: &EventStore, id: &str, sku: &str) -> i32 {
    let line = OrderLine {
        sku: sku.into(),
        name: sku.into(),
        unit_price: rust_decimal::Decimal::ONE,
        quantity: 1,
    };
    let id: OrderId = id.parse().unwrap();
    let outcome = commands::execute::<OrderAggregate>(
        store,
        &id,
        &OrderCommand::AddItem(line),
        &CommandContext::default(),
    )
    .await
    .unwrap();
    outcome.version
}

fn item(id: &str, sku: &str) -> serde_json::Value {
    json!({"orderId": id, "sku": sku, "name": sku, "unitPrice": "1", "quantity": 1})
}

/// The server keeps the state its last command left; another instance
/// appends behind its back. The next command must be judged on the stream
/// as stored: a sku the other instance added is refused as a duplicate,
/// and a new one lands after the other instance's event.
async fn a_command_after_another_instance_appended_is_judged_on_the_stored_stream(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let id = app.create_order("c-1").await;
    assert_eq!(app.run(Op::AddItem, item(&id, "X")).await.version, 2);
    assert!(
        !app.state.store.states().is_empty(),
        "the server keeps the order's state"
    );
    let other = other_instance(&app).await;
    assert_eq!(add_elsewhere(&other, &id, "Y").await, 3);
    let refused = app.try_run(Op::AddItem, item(&id, "Y")).await.unwrap_err();
    assert_eq!(
        refused.code.as_deref(),
        Some("BUSINESS_RULE"),
        "{refused:?}"
    );
    assert_eq!(app.run(Op::AddItem, item(&id, "Z")).await.version, 4);
    assert_eq!(app.history(&id).await.len(), 4);
    let state = commands::load::<OrderAggregate>(
        &other,
        &id.parse().unwrap(),
        commands::LoadTarget::Latest,
    )
    .await
    .unwrap();
    let order = state.state.expect("the order exists");
    let lines: Vec<&str> = order.lines.iter().map(|l| l.sku.as_str()).collect();
    assert_eq!(lines[lines.len() - 3..], ["X", "Y", "Z"], "{lines:?}");
}

/// `expectedVersion` names the stream's version: a kept state that is
/// behind must neither refuse the caller who is right nor let through the
/// caller who is behind.
async fn expected_version_is_checked_against_the_stream_not_the_kept_state(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_order("c-1").await;
    assert_eq!(app.run(Op::AddItem, item(&id, "X")).await.version, 2);
    let other = other_instance(&app).await;
    assert_eq!(add_elsewhere(&other, &id, "Y").await, 3);
    // Behind: the server's kept state says 2, the stream says 3.
    let stale = app
        .try_run(Op::Place, json!({"orderId": id, "expectedVersion": 2}))
        .await
        .unwrap_err();
    assert_eq!(
        stale.code.as_deref(),
        Some("CONCURRENCY_CONFLICT"),
        "{stale:?}"
    );
    // Right: the stream's version, which the server has not seen.
    let placed = app
        .run(Op::Place, json!({"orderId": id, "expectedVersion": 3}))
        .await;
    assert_eq!(placed.version, 4);
}

/// A refusal appends nothing, so no version check catches a stale kept
/// state: the server kept the order as PENDING, another instance placed
/// it, and paying it must succeed (and paying it twice must be refused by
/// the stream, not by the cache).
async fn a_refusal_on_a_kept_state_is_checked_against_the_stream(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_order("c-1").await;
    assert_eq!(app.run(Op::AddItem, item(&id, "X")).await.version, 2);
    let other = other_instance(&app).await;
    let order_id: OrderId = id.parse().unwrap();
    let placed = commands::execute::<OrderAggregate>(
        &other,
        &order_id,
        &OrderCommand::PlaceOrder,
        &CommandContext::default(),
    )
    .await
    .unwrap();
    assert_eq!(placed.version, 3);
    let stored = commands::load::<OrderAggregate>(&other, &order_id, commands::LoadTarget::Latest)
        .await
        .unwrap();
    let total = stored.state.expect("the order exists").total.to_string();
    assert_eq!(app.pay(&id, &total).await.version, 4);
    let again = app.try_pay(&id, &total).await.unwrap_err();
    assert_eq!(again.code.as_deref(), Some("BUSINESS_RULE"), "{again:?}");
    // Operators see it: the stale kept state, and the hits around it.
    let metrics = app.metrics_text().await;
    for result in ["hit", "stale"] {
        let line = format!("chronicle_state_cache_total{{result=\"{result}\"}}");
        assert!(metrics.contains(&line), "{line} missing from\n{metrics}");
    }
}
