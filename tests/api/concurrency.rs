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
