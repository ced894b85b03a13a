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
    let created = app
        .ok(
            CREATE,
            json!({"input": {"customerId": "c-1", "items": [
                {"sku": "A", "name": "Apple", "unitPrice": "10.00", "quantity": 2},
                {"sku": "B", "name": "Banana", "unitPrice": "5.25", "quantity": 1}
            ]}}),
        )
        .await;
    let id = created["createOrder"]["aggregateId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(created["createOrder"]["version"], 1);
    assert_eq!(
        created["createOrder"]["events"][0]["eventType"],
        "OrderCreated"
    );

    let placed = app.ok(PLACE, json!({"input": {"orderId": id}})).await;
    assert_eq!(placed["placeOrder"]["version"], 2);
    let paid = app
        .ok(
            PAY,
            json!({"input": {"orderId": id, "amount": "25.25", "paymentReference": "pay-1"}}),
        )
        .await;
    assert_eq!(paid["payOrder"]["version"], 3);
    let shipped = app
        .ok(
            SHIP,
            json!({"input": {"orderId": id, "trackingNumber": "TRK-1"}}),
        )
        .await;
    assert_eq!(shipped["shipOrder"]["version"], 4);
    // Positions only grow.
    let positions: Vec<i64> = [
        &created["createOrder"],
        &placed["placeOrder"],
        &paid["payOrder"],
        &shipped["shipOrder"],
    ]
    .iter()
    .map(|r| r["position"].as_str().unwrap().parse().unwrap())
    .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");

    let order = app
        .order_at(
            &id,
            "id customerId status totalAmount trackingNumber items { sku unitPrice quantity }",
            4,
        )
        .await;
    assert_eq!(order["status"], "SHIPPED");
    assert_eq!(order["totalAmount"], "25.25");
    assert_eq!(order["trackingNumber"], "TRK-1");
    assert_eq!(order["version"], 4);
    assert_eq!(order["items"][1]["unitPrice"], "5.25");

    let history = app.ok(HISTORY, json!({"id": id})).await;
    let types: Vec<&str> = history["orderHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["OrderCreated", "OrderPlaced", "OrderPaid", "OrderShipped"]
    );
    assert_eq!(
        history["orderHistory"][0]["metadata"]["userId"],
        "anonymous"
    );
}

async fn refused_transitions_are_business_rule_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_order("c-1").await;
    let pay = json!({"input": {"orderId": id, "amount": "25.25", "paymentReference": "p"}});
    let ship = json!({"input": {"orderId": id, "trackingNumber": "T"}});

    // PENDING: cannot pay or ship.
    assert_eq!(
        error_code(&app.gql(PAY, pay.clone()).await),
        Some("BUSINESS_RULE")
    );
    assert_eq!(
        error_code(&app.gql(SHIP, ship.clone()).await),
        Some("BUSINESS_RULE")
    );
    app.ok(PLACE, json!({"input": {"orderId": id}})).await;
    // PLACED: cannot place again, ship, edit items, or pay a wrong amount.
    assert_eq!(
        error_code(&app.gql(PLACE, json!({"input": {"orderId": id}})).await),
        Some("BUSINESS_RULE")
    );
    assert_eq!(
        error_code(&app.gql(SHIP, ship.clone()).await),
        Some("BUSINESS_RULE")
    );
    let add =
        json!({"input": {"orderId": id, "sku": "C", "name": "c", "unitPrice": "1", "quantity": 1}});
    assert_eq!(
        error_code(&app.gql(ADD_ITEM, add).await),
        Some("BUSINESS_RULE")
    );
    let wrong = json!({"input": {"orderId": id, "amount": "25.24", "paymentReference": "p"}});
    let body = app.gql(PAY, wrong).await;
    assert_eq!(error_code(&body), Some("BUSINESS_RULE"));
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("25.25")
    );
    app.ok(PAY, pay.clone()).await;
    // PAID: cannot cancel or pay again.
    let cancel = json!({"input": {"orderId": id, "reason": "too late"}});
    assert_eq!(
        error_code(&app.gql(CANCEL, cancel.clone()).await),
        Some("BUSINESS_RULE")
    );
    assert_eq!(error_code(&app.gql(PAY, pay).await), Some("BUSINESS_RULE"));
    app.ok(SHIP, ship.clone()).await;
    // SHIPPED: final.
    assert_eq!(
        error_code(&app.gql(SHIP, ship).await),
        Some("BUSINESS_RULE")
    );
    assert_eq!(
        error_code(&app.gql(CANCEL, cancel).await),
        Some("BUSINESS_RULE")
    );

    // CANCELLED: final too.
    let other = app.create_order("c-1").await;
    app.ok(
        CANCEL,
        json!({"input": {"orderId": other, "reason": "changed my mind"}}),
    )
    .await;
    assert_eq!(
        error_code(&app.gql(PLACE, json!({"input": {"orderId": other}})).await),
        Some("BUSINESS_RULE")
    );
    let history = app.ok(HISTORY, json!({"id": id})).await;
    assert_eq!(
        history["orderHistory"].as_array().unwrap().len(),
        4,
        "refusals wrote nothing"
    );
}

async fn stale_expected_version_is_a_conflict_and_writes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_order("c-1").await;
    app.ok(
        PLACE,
        json!({"input": {"orderId": id, "expectedVersion": 1}}),
    )
    .await;
    let body = app
        .gql(
            CANCEL,
            json!({"input": {"orderId": id, "reason": "r", "expectedVersion": 1}}),
        )
        .await;
    assert_eq!(error_code(&body), Some("CONCURRENCY_CONFLICT"), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["expectedVersion"], 1);
    assert_eq!(body["errors"][0]["extensions"]["actualVersion"], 2);
    let history = app.ok(HISTORY, json!({"id": id})).await;
    assert_eq!(history["orderHistory"].as_array().unwrap().len(), 2);
}

async fn repeated_command_id_appends_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let create = json!({"input": {"customerId": "c-1", "commandId": "create-1", "items": [
        {"sku": "A", "name": "Apple", "unitPrice": "10.00", "quantity": 2}
    ]}});
    let first = app.ok(CREATE, create.clone()).await;
    let again = app.ok(CREATE, create).await;
    assert_eq!(first, again, "a retried create returns the first result");
    let id = first["createOrder"]["aggregateId"]
        .as_str()
        .unwrap()
        .to_owned();

    let place = json!({"input": {"orderId": id, "commandId": "place-1"}});
    let first = app.ok(PLACE, place.clone()).await;
    // The order is PLACED now, yet the retry succeeds with the first result.
    let again = app.ok(PLACE, place).await;
    assert_eq!(first, again);
    let history = app.ok(HISTORY, json!({"id": id})).await;
    let history = history["orderHistory"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1]["metadata"]["commandId"], "place-1");
    assert_eq!(history[1]["metadata"]["causationId"], "place-1");

    // The same id for another command is refused, and writes nothing.
    let body = app
        .gql(
            CANCEL,
            json!({"input": {"orderId": id, "reason": "r", "commandId": "place-1"}}),
        )
        .await;
    assert_eq!(error_code(&body), Some("VALIDATION"), "{body}");
    let other = app.create_order("c-2").await;
    let body = app
        .gql(
            PLACE,
            json!({"input": {"orderId": other, "commandId": "place-1"}}),
        )
        .await;
    assert_eq!(error_code(&body), Some("VALIDATION"), "{body}");
    let history = app.ok(HISTORY, json!({"id": other})).await;
    assert_eq!(history["orderHistory"].as_array().unwrap().len(), 1);
}

async fn items_can_be_added_and_removed_while_pending(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_order("c-1").await;
    let add = json!({"input": {"orderId": id, "sku": "C", "name": "Cherry", "unitPrice": "0.10", "quantity": 3}});
    assert_eq!(app.ok(ADD_ITEM, add).await["addItem"]["version"], 2);
    let removed = app
        .ok(REMOVE_ITEM, json!({"input": {"orderId": id, "sku": "A"}}))
        .await;
    assert_eq!(removed["removeItem"]["version"], 3);
    let order = app
        .order_at(&id, "totalAmount items { sku lineTotal }", 3)
        .await;
    assert_eq!(order["totalAmount"], "5.55");
    assert_eq!(order["items"].as_array().unwrap().len(), 2);
    let body = app
        .gql(
            REMOVE_ITEM,
            json!({"input": {"orderId": id, "sku": "nope"}}),
        )
        .await;
    assert_eq!(error_code(&body), Some("BUSINESS_RULE"));
}
