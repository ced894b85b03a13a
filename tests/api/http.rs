//! The HTTP surface: status codes, limits, health, GET, correlation ids.

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;

both_backends!(malformed_and_oversized_bodies_leave_the_server_healthy);

async fn malformed_and_oversized_bodies_leave_the_server_healthy(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_order("c-1").await;

    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body("{\"query\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(error_code(&body), Some("VALIDATION"));

    // An 8 MiB body, announced the way a careful client (curl) does: the
    // server must refuse it from the headers, before reading it. A raw
    // socket, since reqwest cannot send `Expect: 100-continue`.
    let status = {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut socket = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        let head = format!(
            "POST /graphql HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
            app.addr,
            8 * 1024 * 1024
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 1024];
        let n = socket.read(&mut buf).await.unwrap();
        String::from_utf8_lossy(&buf[..n])
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");

    // A body over the limit that streams in without a length is cut off too.
    let chunks =
        futures::stream::iter((0..9).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024 * 1024])));
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await;
    if let Ok(resp) = resp {
        // (The server may also just close the connection mid-upload.)
        assert_eq!(resp.status(), 413);
    }

    // Still healthy, and nothing already stored was touched.
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(app.history(&id).await.len(), 1);
}

#[tokio::test]
async fn get_queries_work_and_get_mutations_are_refused() {
    let app = spawn_app(Backend::Sqlite).await;
    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ __typename }")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"]["__typename"], "Query");

    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(&[(
            "query",
            "mutation { placeOrder(input: {orderId: \"00000000-0000-0000-0000-000000000000\"}) { version } }",
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert!(app.state.store.read_all(0, 1).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_correlation_id_is_echoed_and_stored() {
    let app = spawn_app(Backend::Sqlite).await;
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("x-correlation-id", "req-42")
        .json(
            &json!({"query": CREATE, "variables": {"input": {"customerId": "c", "items": [
                {"sku": "A", "name": "a", "unitPrice": "1", "quantity": 1}
            ]}}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-correlation-id"], "req-42");
    let body: Value = resp.json().await.unwrap();
    let id = body["data"]["createOrder"]["aggregateId"].as_str().unwrap();
    let history = app.history(id).await;
    assert_eq!(
        history[0].metadata.correlation_id.as_deref(),
        Some("req-42")
    );

    // Without one, the server makes one up and says which.
    let resp = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    assert!(!resp.headers()["x-correlation-id"].is_empty());
}

#[tokio::test]
async fn jwt_auth_identifies_users_and_guards_orders() {
    use jsonwebtoken::{EncodingKey, Header, encode};
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.jwt_secret = Some("s3cret-s3cret-s3cret-s3cret-s3cret".into())
    })
    .await;
    let token = |sub: &str, role: &str, customer: Option<&str>| {
        let exp = chrono::Utc::now().timestamp() + 3600;
        let claims = json!({"sub": sub, "role": role, "customer_id": customer, "exp": exp});
        format!(
            "Bearer {}",
            encode(
                &Header::default(),
                &claims,
                &EncodingKey::from_secret(b"s3cret-s3cret-s3cret-s3cret-s3cret")
            )
            .unwrap()
        )
    };
    let input = json!({"input": {"customerId": "c-1", "items": [
        {"sku": "A", "name": "a", "unitPrice": "1", "quantity": 1}
    ]}});

    // No token: UNAUTHENTICATED. A bad token: 401.
    assert_eq!(
        error_code(&app.gql(CREATE, input.clone()).await),
        Some("UNAUTHENTICATED")
    );
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("authorization", "Bearer nonsense")
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // A customer creates their own order; the user lands in the metadata.
    let alice = token("alice", "customer", Some("c-1"));
    let body = app
        .gql_with(CREATE, input.clone(), &[("authorization", &alice)])
        .await;
    let id = body["data"]["createOrder"]["aggregateId"]
        .as_str()
        .expect("created")
        .to_owned();
    let history = app
        .gql_with(HISTORY, json!({"id": id}), &[("authorization", &alice)])
        .await;
    assert_eq!(
        history["data"]["orderHistory"][0]["metadata"]["userId"],
        "alice"
    );

    // Another customer may neither create for c-1 nor touch the order.
    let bob = token("bob", "customer", Some("c-2"));
    let body = app
        .gql_with(CREATE, input, &[("authorization", &bob)])
        .await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"));
    // Someone else's order is answered exactly like one that does not
    // exist (no oracle).
    let body = app
        .gql_with(
            PLACE,
            json!({"input": {"orderId": id}}),
            &[("authorization", &bob)],
        )
        .await;
    assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body}");
    let missing = app
        .gql_with(
            PLACE,
            json!({"input": {"orderId": uuid::Uuid::new_v4().to_string()}}),
            &[("authorization", &bob)],
        )
        .await;
    assert_eq!(error_code(&missing), Some("NOT_FOUND"));
    assert_eq!(
        body["errors"][0]["message"],
        missing["errors"][0]["message"]
    );

    // Staff may.
    let staff = token("sam", "staff", None);
    let body = app
        .gql_with(
            PLACE,
            json!({"input": {"orderId": id}}),
            &[("authorization", &staff)],
        )
        .await;
    assert_eq!(body["data"]["placeOrder"]["version"], 2, "{body}");
}
