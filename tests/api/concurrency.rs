//! Racing writers through the running server.

use futures::future::join_all;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

both_backends!(
    forty_racing_places_with_expected_version_give_one_success,
    forty_racing_cancels_without_expected_version_give_one_success,
    racing_retries_of_one_command_id_append_once,
);

async fn forty_racing_places_with_expected_version_give_one_success(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_order("c-1").await;
    let bodies = join_all((0..40).map(|_| {
        app.gql(
            PLACE,
            json!({"input": {"orderId": id, "expectedVersion": 1}}),
        )
    }))
    .await;
    let ok = bodies.iter().filter(|b| b.get("errors").is_none()).count();
    let conflicts = bodies
        .iter()
        .filter(|b| error_code(b) == Some("CONCURRENCY_CONFLICT"))
        .count();
    assert_eq!((ok, conflicts), (1, 39), "{bodies:?}");
    let history = app.ok(HISTORY, json!({"id": id})).await;
    let versions: Vec<i64> = history["orderHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [1, 2]);
}

async fn forty_racing_cancels_without_expected_version_give_one_success(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_order("c-1").await;
    let bodies = join_all(
        (0..40).map(|_| app.gql(CANCEL, json!({"input": {"orderId": id, "reason": "race"}}))),
    )
    .await;
    let ok = bodies.iter().filter(|b| b.get("errors").is_none()).count();
    let refused = bodies
        .iter()
        .filter(|b| error_code(b) == Some("BUSINESS_RULE"))
        .count();
    assert_eq!((ok, refused), (1, 39), "{bodies:?}");
    let history = app.ok(HISTORY, json!({"id": id})).await;
    assert_eq!(history["orderHistory"].as_array().unwrap().len(), 2);
}

async fn racing_retries_of_one_command_id_append_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let input = json!({"input": {"customerId": "c-1", "commandId": "same", "items": [
        {"sku": "A", "name": "Apple", "unitPrice": "1", "quantity": 1}
    ]}});
    let bodies = join_all((0..12).map(|_| app.gql(CREATE, input.clone()))).await;
    for body in &bodies {
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(body, &bodies[0], "every retry returns the first result");
    }
    let head = app.state.store.head_position().await.unwrap();
    assert_eq!(
        head,
        bodies[0]["data"]["createOrder"]["position"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
    );
    let all = app.state.store.read_all(0, 100).await.unwrap();
    assert_eq!(all.len(), 1, "one OrderCreated in the whole store");
}
