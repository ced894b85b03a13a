//! Issue 8's domain-side findings, each a test that failed before the fix:
//! roles per command (every cell), command ids scoped to the caller and
//! bound to their payload, a command id on every event, NUL characters and
//! inexact money refused on both backends, no existence oracle for
//! customers, `orderUpdated` on an unknown order, a panicking projection
//! marked FAILED at its event.

use std::sync::Arc;

use async_trait::async_trait;
use chronicle::db::Db;
use chronicle::projections::{
    BatchError, Projection, Touched, default_projections, order_details::OrderDetails,
};
use chronicle::store::RecordedEvent;
use sea_orm::{DatabaseTransaction, DbErr};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;

const SECRET: &str = "a-test-secret-of-at-least-32-bytes!!";

fn token(sub: &str, role: &str, customer: Option<&str>) -> String {
    use jsonwebtoken::{EncodingKey, Header, encode};
    let exp = chrono::Utc::now().timestamp() + 3600;
    let claims = json!({"sub": sub, "role": role, "customer_id": customer, "exp": exp});
    let jwt = encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("token");
    format!("Bearer {jwt}")
}

async fn secured(backend: Backend) -> TestApp {
    spawn_app_with(backend, |c| c.jwt_secret = Some(SECRET.into())).await
}

/// Runs a mutation as `who` and returns the body.
async fn as_user(app: &TestApp, who: &str, query: &str, variables: Value) -> Value {
    app.gql_with(query, variables, &[("authorization", who)])
        .await
}

fn items() -> Value {
    json!([
        {"sku": "A", "name": "Apple", "unitPrice": "10.00", "quantity": 2},
        {"sku": "B", "name": "Banana", "unitPrice": "5.25", "quantity": 1}
    ])
}

/// Creates an order for customer c-1 (as staff) and advances it to where
/// `command` applies; returns its id.
async fn order_ready_for(app: &TestApp, staff: &str, command: &str) -> String {
    let body = as_user(
        app,
        staff,
        CREATE,
        json!({"input": {"customerId": "c-1", "items": items()}}),
    )
    .await;
    let id = body["data"]["createOrder"]["aggregateId"]
        .as_str()
        .unwrap_or_else(|| panic!("created: {body}"))
        .to_owned();
    let steps: &[(&str, Value)] = match command {
        "pay" => &[(PLACE, json!({"orderId": id}))],
        "ship" => &[
            (PLACE, json!({"orderId": id})),
            (
                PAY,
                json!({"orderId": id, "amount": "25.25", "paymentReference": "p"}),
            ),
        ],
        _ => &[],
    };
    for (query, input) in steps {
        let body = as_user(app, staff, query, json!({"input": input})).await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    id
}

/// The document and input of each command against order `id`.
fn command(name: &str, id: &str) -> (&'static str, Value) {
    let input = match name {
        "addItem" => {
            json!({"orderId": id, "sku": "C", "name": "c", "unitPrice": "1", "quantity": 1})
        }
        "removeItem" => json!({"orderId": id, "sku": "A"}),
        "place" => json!({"orderId": id}),
        "cancel" => json!({"orderId": id, "reason": "no"}),
        "pay" => json!({"orderId": id, "amount": "25.25", "paymentReference": "p"}),
        "ship" => json!({"orderId": id, "trackingNumber": "T"}),
        other => panic!("unknown command {other}"),
    };
    let query = match name {
        "addItem" => ADD_ITEM,
        "removeItem" => REMOVE_ITEM,
        "place" => PLACE,
        "cancel" => CANCEL,
        "pay" => PAY,
        _ => SHIP,
    };
    (query, json!({"input": input}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn roles_decide_who_may_send_which_command() {
    let app = secured(Backend::Sqlite).await;
    let staff = token("sam", "staff", None);
    let admin = token("ada", "admin", None);
    let owner = token("alice", "customer", Some("c-1"));
    let other = token("bob", "customer", Some("c-2"));

    // createOrder: customers for themselves only; staff and admins for anyone.
    let create = |customer: &str| json!({"input": {"customerId": customer, "items": items()}});
    for (who, customer, expected) in [
        (&owner, "c-1", None),
        (&other, "c-1", Some("FORBIDDEN")),
        (&staff, "c-1", None),
        (&admin, "c-1", None),
        (&String::new(), "c-1", Some("UNAUTHENTICATED")),
    ] {
        let body = as_user(&app, who, CREATE, create(customer)).await;
        assert_eq!(error_code(&body), expected, "createOrder: {body}");
    }

    // Every other command, for every caller: the table in
    // graphql/order/mutations.rs::permitted.
    let table: [(&str, [Option<&str>; 5]); 6] = [
        //            owner, other customer, staff, admin, anonymous
        (
            "addItem",
            [None, Some("NOT_FOUND"), None, None, Some("UNAUTHENTICATED")],
        ),
        (
            "removeItem",
            [None, Some("NOT_FOUND"), None, None, Some("UNAUTHENTICATED")],
        ),
        (
            "place",
            [None, Some("NOT_FOUND"), None, None, Some("UNAUTHENTICATED")],
        ),
        (
            "cancel",
            [None, Some("NOT_FOUND"), None, None, Some("UNAUTHENTICATED")],
        ),
        (
            "pay",
            [
                Some("FORBIDDEN"),
                Some("FORBIDDEN"),
                None,
                None,
                Some("UNAUTHENTICATED"),
            ],
        ),
        (
            "ship",
            [
                Some("FORBIDDEN"),
                Some("FORBIDDEN"),
                None,
                None,
                Some("UNAUTHENTICATED"),
            ],
        ),
    ];
    let callers = [&owner, &other, &staff, &admin, &String::new()];
    for (name, expectations) in table {
        for (who, expected) in callers.iter().zip(expectations) {
            let id = order_ready_for(&app, &staff, name).await;
            let before = app.state.store.stream_version(&id).await.expect("version");
            let (query, input) = command(name, &id);
            let body = as_user(&app, who, query, input).await;
            assert_eq!(error_code(&body), expected, "{name}: {body}");
            let after = app.state.store.stream_version(&id).await.expect("version");
            assert_eq!(after, before + i32::from(expected.is_none()), "{name}");
        }
    }
}

both_backends!(
    command_ids_are_scoped_to_the_caller,
    nul_characters_and_inexact_money_are_validation_errors,
    a_panicking_projection_is_failed_at_its_event,
);

async fn command_ids_are_scoped_to_the_caller(backend: Backend) {
    let app = secured(backend).await;
    let alice = token("alice", "customer", Some("c-1"));
    let bob = token("bob", "customer", Some("c-2"));
    let create = |customer: &str, sku: &str| {
        json!({"input": {"customerId": customer, "commandId": "same-key", "items": [
            {"sku": sku, "name": "n", "unitPrice": "7", "quantity": 1}
        ]}})
    };
    let first = as_user(&app, &alice, CREATE, create("c-1", "SECRET")).await;
    let alices = first["data"]["createOrder"]["aggregateId"].clone();
    assert!(alices.is_string(), "{first}");

    // Bob's command with the same id is his own command: a new order, and
    // nothing of Alice's in the answer.
    let bobs = as_user(&app, &bob, CREATE, create("c-2", "MINE")).await;
    assert!(bobs.get("errors").is_none(), "{bobs}");
    assert_ne!(bobs["data"]["createOrder"]["aggregateId"], alices);
    assert!(!bobs.to_string().contains("SECRET"), "{bobs}");

    // Alice's retry still returns her first result and appends nothing.
    let head = app.state.store.head_position().await.expect("head");
    let retry = as_user(&app, &alice, CREATE, create("c-1", "SECRET")).await;
    assert_eq!(retry["data"]["createOrder"]["aggregateId"], alices);
    // The same id with another payload is refused, and appends nothing.
    let reused = as_user(&app, &alice, CREATE, create("c-1", "OTHER")).await;
    assert_eq!(error_code(&reused), Some("VALIDATION"), "{reused}");
    assert_eq!(app.state.store.head_position().await.expect("head"), head);

    // A command without a command id still names its command in every
    // event's metadata (one drawn per command).
    let id = alices.as_str().expect("id");
    for _ in 0..2 {
        let body = as_user(&app, &alice, ADD_ITEM, json!({"input": {"orderId": id, "sku": format!("S{}", uuid::Uuid::new_v4().simple()), "name": "n", "unitPrice": "1", "quantity": 1}})).await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    let history = as_user(&app, &alice, HISTORY, json!({"id": id})).await;
    let metadata: Vec<&Value> = history["data"]["orderHistory"]
        .as_array()
        .expect("history")
        .iter()
        .map(|e| &e["metadata"])
        .collect();
    assert_eq!(metadata.len(), 3);
    assert_eq!(metadata[0]["commandId"], "same-key");
    for m in &metadata {
        assert!(m["commandId"].is_string(), "{m}");
        assert_eq!(m["causationId"], m["commandId"]);
    }
    assert_ne!(metadata[1]["commandId"], metadata[2]["commandId"]);
}

async fn nul_characters_and_inexact_money_are_validation_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let create = |name: &str, price: Value| {
        json!({"input": {"customerId": "c-1", "items": [
            {"sku": "A", "name": name, "unitPrice": price, "quantity": 1}
        ]}})
    };
    for variables in [
        create("a\u{0}b", json!("1")),
        create("ok", json!("1_0")),
        create("ok", json!("1e5")),
        create("ok", json!("1.00001")),
        create("ok", json!(1.5)),
        create("ok", json!("NaN")),
        create("ok", json!("79228162514264337593543950335")),
        create("line\nbreak", json!("1")),
    ] {
        let body = app.gql(CREATE, variables.clone()).await;
        assert_eq!(error_code(&body), Some("VALIDATION"), "{variables}: {body}");
    }
    // NULs in the query text, escaped, and in read arguments.
    for query in [
        r#"mutation { createOrder(input: {customerId: "c\u0000", items: [{sku: "A", name: "a", unitPrice: "1", quantity: 1}]}) { version } }"#,
        r#"{ orders(customerId: "\u0000") { edges { cursor } } }"#,
        r#"{ events(filter: {userId: "\u{0}"}) { edges { cursor } } }"#,
    ] {
        let body = app.gql(query, json!({})).await;
        assert_eq!(error_code(&body), Some("VALIDATION"), "{query}: {body}");
    }
    let body = app
        .gql(
            "query($c: ID) { customerOrderHistory(customerId: $c) { edges { cursor } } }",
            json!({"c": "x\u{0}"}),
        )
        .await;
    assert_eq!(error_code(&body), Some("VALIDATION"), "{body}");
    // Nothing was stored.
    assert_eq!(app.state.store.head_position().await.expect("head"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_customer_cannot_tell_other_orders_from_missing_ones() {
    let app = secured(Backend::Sqlite).await;
    let alice = token("alice", "customer", Some("c-1"));
    let bob = token("bob", "customer", Some("c-2"));
    let created = as_user(
        &app,
        &alice,
        CREATE,
        json!({"input": {"customerId": "c-1", "items": items()}}),
    )
    .await;
    let alices = created["data"]["createOrder"]["aggregateId"]
        .as_str()
        .expect("id")
        .to_owned();
    let missing = uuid::Uuid::new_v4().to_string();
    let answers = |id: String| {
        let bob = bob.clone();
        let app = &app;
        async move {
            let mut out = Vec::new();
            for (query, variables) in [
                (
                    "query($id: ID!) { order(id: $id) { version } }",
                    json!({"id": id}),
                ),
                (
                    "query($id: ID!) { order(id: $id, atVersion: 99) { version } }",
                    json!({"id": id}),
                ),
                (
                    "query($id: ID!) { order(id: $id, atVersion: 1) { version } }",
                    json!({"id": id}),
                ),
                (HISTORY, json!({"id": id})),
                (PLACE, json!({"input": {"orderId": id}})),
            ] {
                let body = as_user(app, &bob, query, variables).await;
                // The id itself may appear in a message; nothing else may differ.
                out.push(body.to_string().replace(&id, "<id>"));
            }
            out
        }
    };
    let for_alices = answers(alices.clone()).await;
    let for_missing = answers(missing).await;
    assert_eq!(for_alices, for_missing);
    assert!(!for_alices.iter().any(|a| a.contains("FORBIDDEN")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn order_updated_on_an_unknown_order_is_not_found() {
    let app = spawn_app(Backend::Sqlite).await;
    for protocol in ["graphql-transport-ws", "graphql-ws"] {
        let mut ws = app.ws(protocol, json!({})).await;
        ws.subscribe(
            "1",
            "subscription($id: ID!) { orderUpdated(id: $id) { version } }",
            json!({"id": uuid::Uuid::new_v4().to_string()}),
        )
        .await;
        let message = ws.next_message().await;
        let text = message.to_string();
        assert!(text.contains("NOT_FOUND"), "{protocol}: {text}");
    }
}

/// The request guards hold on both WebSocket protocols as over HTTP: a NUL
/// (in the text or in a variable) and a shape over the limits are refused
/// before anything runs, and the socket carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn websocket_operations_meet_the_guards_of_http() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.limits.max_aliases = 2).await;
    let refused = [
        (
            "subscription { events(afterPosition: \"\\u0000\") { position } }",
            json!({}),
            "NUL",
        ),
        (
            "subscription { events(afterPosition: \"0\") { position } }",
            json!({"unused": ["a\u{0}"]}),
            "NUL",
        ),
        (
            "subscription { e: events(afterPosition: \"0\") { a: position b: position } }",
            json!({}),
            "maxAliases",
        ),
        (
            "{ a: __typename b: __typename c: __typename }",
            json!({}),
            "maxAliases",
        ),
    ];
    // The first message of operation `id` other than its `complete`.
    async fn answer(ws: &mut WsClient, id: &str) -> String {
        loop {
            let message = ws.next_message().await;
            if message["id"] == id && message["type"] != "complete" {
                return message.to_string();
            }
        }
    }
    for protocol in ["graphql-transport-ws", "graphql-ws"] {
        let mut ws = app.ws(protocol, json!({})).await;
        for (n, (query, variables, wanted)) in refused.iter().enumerate() {
            ws.subscribe(&n.to_string(), query, variables.clone()).await;
            let text = answer(&mut ws, &n.to_string()).await;
            assert!(text.contains("VALIDATION"), "{protocol} {query}: {text}");
            assert!(text.contains(wanted), "{protocol} {query}: {text}");
        }
        // Within the limits, on the same socket: answered.
        ws.subscribe("ok", "{ a: __typename b: __typename }", json!({}))
            .await;
        let text = answer(&mut ws, "ok").await;
        assert!(text.contains("\"a\":\"Query\""), "{protocol}: {text}");
    }
}

/// `order_details`, except that it panics on every OrderPlaced.
struct Panicky;

#[async_trait]
impl Projection for Panicky {
    fn name(&self) -> &'static str {
        "panicky"
    }
    fn handles(&self, stream_type: &str, event_type: &str) -> bool {
        OrderDetails::default().handles(stream_type, event_type)
    }
    async fn apply_batch(
        &self,
        txn: &DatabaseTransaction,
        generation: i32,
        events: &[&RecordedEvent],
    ) -> Result<Vec<Touched>, BatchError> {
        if events.iter().any(|e| e.event_type == "OrderPlaced") {
            panic!("injected panic on OrderPlaced");
        }
        OrderDetails::default()
            .apply_batch(txn, generation, events)
            .await
    }
    async fn clear(&self, txn: &DatabaseTransaction, generation: i32) -> Result<(), DbErr> {
        OrderDetails::default().clear(txn, generation).await
    }
    async fn dump(&self, db: &Db, generation: i32) -> Result<Vec<Value>, DbErr> {
        OrderDetails::default().dump(db, generation).await
    }
}

async fn a_panicking_projection_is_failed_at_its_event(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        let mut projections = default_projections();
        projections.push(Arc::new(Panicky));
        c.projections = Some(projections);
    })
    .await;
    let id = app.create_order("c-1").await;
    let position = app.place(&id).await.position.to_string();
    // The other projections carry on...
    let order = app.order_at(&id, 2).await;
    assert_eq!(order.status, "PLACED");
    // ...and the panicking one says FAILED, where and why.
    eventually("panicky to be FAILED", || async {
        let data = app
            .ok(
                "{ projections { name state position failedPosition lastError } }",
                json!({}),
            )
            .await;
        let panicky = data["projections"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "panicky").cloned())
            .unwrap_or_default();
        panicky["state"] == "FAILED"
            && panicky["failedPosition"] == position.as_str()
            && panicky["lastError"]
                .as_str()
                .is_some_and(|e| e.contains("injected panic"))
            && panicky["position"] != position.as_str()
    })
    .await;
}
