//! The order lifecycle through the running server.

use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

both_backends!(
    full_lifecycle_has_versions_one_to_four,
    refused_transitions_are_business_rule_errors,
    stale_expected_version_is_a_conflict_and_writes_nothing,
    repeated_command_id_appends_once,
    items_can_be_added_and_removed_while_pending,
);

async fn full_lifecycle_has_versions_one_to_four(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app.create("c-1").await;
    let id = created.aggregate_id.clone();
    assert_eq!(created.version, 1);
    assert_eq!(created.events[0].event_type, "OrderCreated");

    let placed = app.place(&id).await;
    assert_eq!(placed.version, 2);
    let paid = app.pay(&id, "25.25").await;
    assert_eq!(paid.version, 3);
    let shipped = app.ship(&id, "TRK-1").await;
    assert_eq!(shipped.version, 4);
    // Positions only grow.
    let positions: Vec<i64> = [&created, &placed, &paid, &shipped]
        .iter()
        .map(|r| r.position)
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");

    let order = app.order_at(&id, 4).await;
    assert_eq!(order.status, "SHIPPED");
    assert_eq!(order.total_amount, "25.25");
    assert_eq!(order.tracking_number.as_deref(), Some("TRK-1"));
    assert_eq!(order.version, 4);
    assert_eq!(order.items[1].unit_price, "5.25");

    let history = app.history(&id).await;
    let types: Vec<&str> = history.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        ["OrderCreated", "OrderPlaced", "OrderPaid", "OrderShipped"]
    );
    assert_eq!(history[0].metadata.user_id.as_deref(), Some("anonymous"));
}

async fn refused_transitions_are_business_rule_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_order("c-1").await;
    let refused = |refusals: Vec<(Result<CommandResult, GqlError>, &str)>| {
        for (result, rule) in refusals {
            match result {
                Ok(result) => panic!("{rule}: succeeded with {result:?}"),
                Err(e) => e.assert_refused("BUSINESS_RULE", rule),
            }
        }
    };

    // PENDING: cannot pay or ship.
    refused(vec![
        (
            app.try_pay(&id, "25.25").await,
            "cannot pay an order that is PENDING",
        ),
        (
            app.try_ship(&id, "T").await,
            "cannot ship an order that is PENDING",
        ),
    ]);
    app.place(&id).await;
    // PLACED: cannot place again, ship, edit items, or pay a wrong amount.
    refused(vec![
        (
            app.try_place(&id).await,
            "cannot place an order that is PLACED",
        ),
        (
            app.try_ship(&id, "T").await,
            "cannot ship an order that is PLACED",
        ),
        (
            app.try_add_item(&id, "C", "1", 1).await,
            "cannot add items to an order that is PLACED",
        ),
        (
            app.try_pay(&id, "25.24").await,
            "does not equal the order total 25.25",
        ),
    ]);
    app.pay(&id, "25.25").await;
    // PAID: cannot cancel or pay again.
    refused(vec![
        (
            app.try_cancel(&id, "too late").await,
            "cannot cancel an order that is PAID",
        ),
        (
            app.try_pay(&id, "25.25").await,
            "cannot pay an order that is PAID",
        ),
    ]);
    app.ship(&id, "T").await;
    // SHIPPED: final.
    refused(vec![
        (
            app.try_ship(&id, "T").await,
            "cannot ship an order that is SHIPPED",
        ),
        (
            app.try_cancel(&id, "too late").await,
            "cannot cancel an order that is SHIPPED",
        ),
    ]);

    // CANCELLED: final too.
    let other = app.create_order("c-1").await;
    app.cancel(&other, "changed my mind").await;
    refused(vec![(
        app.try_place(&other).await,
        "cannot place an order that is CANCELLED",
    )]);
    assert_eq!(app.history(&id).await.len(), 4, "refusals wrote nothing");
}

async fn stale_expected_version_is_a_conflict_and_writes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_order("c-1").await;
    app.run(Op::Place, json!({"orderId": id, "expectedVersion": 1}))
        .await;
    let error = app
        .refused(
            Op::Cancel,
            json!({"orderId": id, "reason": "r", "expectedVersion": 1}),
        )
        .await;
    assert_eq!(
        error.code.as_deref(),
        Some("CONCURRENCY_CONFLICT"),
        "{}",
        error.body
    );
    assert_eq!(error.extensions()["expectedVersion"], 1);
    assert_eq!(error.extensions()["actualVersion"], 2);
    assert_eq!(app.history(&id).await.len(), 2);
}

async fn repeated_command_id_appends_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let create = json!({"customerId": "c-1", "commandId": "create-1", "items": [
        {"sku": "A", "name": "Apple", "unitPrice": "10.00", "quantity": 2}
    ]});
    let first = app.run(Op::Create, create.clone()).await;
    let again = app.run(Op::Create, create).await;
    assert_eq!(first, again, "a retried create returns the first result");
    let id = first.aggregate_id;

    let place = json!({"orderId": id, "commandId": "place-1"});
    let first = app.run(Op::Place, place.clone()).await;
    // The order is PLACED now, yet the retry succeeds with the first result.
    let again = app.run(Op::Place, place).await;
    assert_eq!(first, again);
    let history = app.history(&id).await;
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].metadata.command_id.as_deref(), Some("place-1"));
    assert_eq!(history[1].metadata.causation_id.as_deref(), Some("place-1"));

    // The same id for another command is refused, and writes nothing.
    let error = app
        .refused(
            Op::Cancel,
            json!({"orderId": id, "reason": "r", "commandId": "place-1"}),
        )
        .await;
    assert_eq!(error.code.as_deref(), Some("VALIDATION"), "{}", error.body);
    let other = app.create_order("c-2").await;
    let error = app
        .refused(Op::Place, json!({"orderId": other, "commandId": "place-1"}))
        .await;
    assert_eq!(error.code.as_deref(), Some("VALIDATION"), "{}", error.body);
    assert_eq!(app.history(&other).await.len(), 1);
}

async fn items_can_be_added_and_removed_while_pending(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_order("c-1").await;
    let add =
        json!({"orderId": id, "sku": "C", "name": "Cherry", "unitPrice": "0.10", "quantity": 3});
    assert_eq!(app.run(Op::AddItem, add).await.version, 2);
    assert_eq!(app.remove_item(&id, "A").await.version, 3);
    let order = app.order_at(&id, 3).await;
    assert_eq!(order.total_amount, "5.55");
    assert_eq!(order.items.len(), 2);
    app.try_remove_item(&id, "nope")
        .await
        .unwrap_err()
        .assert_refused("BUSINESS_RULE", "sku nope is not in the order");
}
