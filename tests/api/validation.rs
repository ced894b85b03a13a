//! Bad input gets a clear error with a stable code, and writes nothing.

use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

both_backends!(bad_inputs_are_refused_with_codes, unknown_and_malformed_ids);

async fn bad_inputs_are_refused_with_codes(backend: Backend) {
    let app = spawn_app(backend).await;
    let create = |items: serde_json::Value| json!({"input": {"customerId": "c-1", "items": items}});
    let cases = [
        ("empty items", create(json!([]))),
        (
            "negative quantity",
            create(json!([{"sku": "A", "name": "a", "unitPrice": "1.00", "quantity": -1}])),
        ),
        (
            "zero price",
            create(json!([{"sku": "A", "name": "a", "unitPrice": "0", "quantity": 1}])),
        ),
        (
            "non-numeric price",
            create(json!([{"sku": "A", "name": "a", "unitPrice": "abc", "quantity": 1}])),
        ),
        (
            "float price",
            create(json!([{"sku": "A", "name": "a", "unitPrice": 10.5, "quantity": 1}])),
        ),
        (
            "missing field",
            create(json!([{"sku": "A", "unitPrice": "1", "quantity": 1}])),
        ),
        (
            "duplicate sku",
            create(json!([
                {"sku": "A", "name": "a", "unitPrice": "1", "quantity": 1},
                {"sku": "A", "name": "a", "unitPrice": "1", "quantity": 1}
            ])),
        ),
    ];
    for (what, input) in cases {
        let body = app.gql(CREATE, input).await;
        let code = error_code(&body);
        assert!(
            matches!(code, Some("VALIDATION") | Some("BUSINESS_RULE")),
            "{what}: {body}"
        );
        assert!(
            body["data"].is_null() || body["data"]["createOrder"].is_null(),
            "{what}"
        );
    }
    // Not even a query parses? Still a coded error.
    let body = app.gql("query { nope", json!({})).await;
    assert_eq!(error_code(&body), Some("VALIDATION"));
    let body = app.gql("query { unknownField }", json!({})).await;
    assert_eq!(error_code(&body), Some("VALIDATION"));
    assert!(
        app.state.store.read_all(0, 10).await.unwrap().is_empty(),
        "nothing written"
    );
}

async fn unknown_and_malformed_ids(backend: Backend) {
    let app = spawn_app(backend).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    app.try_place(&unknown)
        .await
        .unwrap_err()
        .assert_refused("NOT_FOUND", "order not found");
    app.try_place("not-a-uuid")
        .await
        .unwrap_err()
        .assert_refused("VALIDATION", "not a valid order id");
    let body = app.gql(HISTORY, json!({"id": unknown})).await;
    assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body}");
    let body = app
        .gql(
            "query($id: ID!) { order(id: $id) { id } }",
            json!({"id": "x'; drop table events;--"}),
        )
        .await;
    assert_eq!(error_code(&body), Some("VALIDATION"), "{body}");
    assert!(app.order(&unknown).await.is_none());
    assert!(
        app.state.store.read_all(0, 10).await.unwrap().is_empty(),
        "nothing written"
    );
}
