//! Sessions and tokens (issue 8, item 8): `nbf`, a small leeway, a minimum
//! secret length, fixed error messages, and what callers without a token
//! may see in secured mode. SQLite only: nothing here depends on storage.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::ws_protocol::{SECRET, token};

fn sign(claims: Value) -> String {
    use jsonwebtoken::{EncodingKey, Header, encode};
    format!(
        "Bearer {}",
        encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes())
        )
        .unwrap()
    )
}

async fn message_for(app: &TestApp, authorization: &str) -> (u16, String) {
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("authorization", authorization)
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    (
        status,
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .to_owned(),
    )
}

#[tokio::test]
async fn tokens_are_checked_strictly_and_refused_with_fixed_messages() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.jwt_secret = Some(SECRET.into())).await;
    let now = chrono::Utc::now().timestamp();
    let cases = [
        // Not valid before an hour from now.
        (
            sign(json!({"sub": "a", "role": "staff", "exp": now + 7200, "nbf": now + 3600})),
            "invalid token: not yet valid",
        ),
        // Expired 10 s ago: past a 5 s leeway (60 s used to let it through).
        (
            sign(json!({"sub": "a", "role": "staff", "exp": now - 10})),
            "invalid token: expired",
        ),
        (
            sign(json!({"sub": "a", "role": "root", "exp": now + 60})),
            "invalid token: unknown role",
        ),
        (
            sign(json!({"sub": "a", "exp": now + 60})),
            "invalid token: missing claim role",
        ),
        (
            sign(json!({"role": "staff", "exp": now + 60})),
            "invalid token: missing claim sub",
        ),
        ("Bearer not.a.token".to_owned(), "invalid token: malformed"),
    ];
    for (authorization, expected) in cases {
        let (status, message) = message_for(&app, &authorization).await;
        assert_eq!(status, 401, "{expected}");
        assert_eq!(message, expected);
    }

    // alg "none" and a foreign algorithm: one message, no library internals.
    use base64::Engine;
    let b64 = |v: Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
    };
    let claims = b64(json!({"sub": "a", "role": "admin", "exp": now + 60}));
    for alg in ["none", "HS512", "RS256"] {
        let forged = format!(
            "Bearer {}.{}.",
            b64(json!({"alg": alg, "typ": "JWT"})),
            claims
        );
        let (status, message) = message_for(&app, &forged).await;
        assert_eq!(status, 401);
        assert_eq!(message, "invalid token: unsupported algorithm", "{alg}");
    }
    let wrong_key = {
        use jsonwebtoken::{EncodingKey, Header, encode};
        let t = encode(
            &Header::default(),
            &json!({"sub": "a", "role": "admin", "exp": now + 60}),
            &EncodingKey::from_secret(b"another-secret-another-secret-another"),
        )
        .unwrap();
        format!("Bearer {t}")
    };
    let (_, message) = message_for(&app, &wrong_key).await;
    assert_eq!(message, "invalid token: bad signature");

    // A good token passes.
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("authorization", token("sam", "staff", None, 60))
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn a_short_secret_is_refused_at_start_up() {
    let db = TestDb::new(Backend::Sqlite).await;
    let mut config = chronicle::Config::new(db.url.clone());
    config.db_min_connections = 2;
    config.jwt_secret = Some("k".repeat(31));
    let state = chronicle::build_state(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error = chronicle::run(listener, state, async {})
        .await
        .expect_err("a 31-byte secret must be refused");
    let error = error.to_string();
    assert!(error.contains("at least 32"), "{error}");
}

#[tokio::test]
async fn anonymous_callers_on_a_secured_server_see_no_schema_graphiql_or_metrics() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.jwt_secret = Some(SECRET.into())).await;
    let staff = token("sam", "staff", None, 3600);
    let customer = token("cat", "customer", Some("c-1"), 3600);
    let introspect = "{ __schema { types { name } } }";

    let body = app.gql(introspect, json!({})).await;
    assert!(
        body["data"]["__schema"]["types"].as_array().is_none(),
        "{body}"
    );
    let body = app
        .gql_with(introspect, json!({}), &[("authorization", &staff)])
        .await;
    assert!(body["data"]["__schema"]["types"].is_array(), "{body}");

    let body = app.gql("{ ordrs { edges { cursor } } }", json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap().to_owned();
    assert!(!message.contains("Did you mean"), "{message}");
    let body = app
        .gql_with(
            "{ ordrs { edges { cursor } } }",
            json!({}),
            &[("authorization", &customer)],
        )
        .await;
    let message = body["errors"][0]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("Did you mean"), "{message}");

    let page = |auth: Option<&str>| {
        let mut req = app
            .client
            .get(app.url("/graphql"))
            .header("accept", "text/html");
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        req.send()
    };
    assert_eq!(page(None).await.unwrap().status(), 404);
    assert_eq!(page(Some(&staff)).await.unwrap().status(), 200);

    let metrics = |auth: Option<&str>| {
        let mut req = app.client.get(app.url("/metrics"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        req.send()
    };
    assert_eq!(metrics(None).await.unwrap().status(), 401);
    assert_eq!(metrics(Some(&customer)).await.unwrap().status(), 401);
    assert_eq!(metrics(Some(&staff)).await.unwrap().status(), 200);

    // Each is a setting.
    let open = spawn_app_with(Backend::Sqlite, |c| {
        c.jwt_secret = Some(SECRET.into());
        c.edge.public_introspection = true;
        c.edge.public_metrics = true;
        c.edge.public_graphiql = true;
    })
    .await;
    let body = open.gql(introspect, json!({})).await;
    assert!(body["data"]["__schema"]["types"].is_array(), "{body}");
    let resp = open.client.get(open.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn metrics_can_be_served_on_their_own_listener() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.jwt_secret = Some(SECRET.into());
        c.metrics_addr = Some(addr);
    })
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Ok(resp) = app
            .client
            .get(format!("http://{addr}/metrics"))
            .send()
            .await
        {
            assert_eq!(resp.status(), 200);
            let text = resp.text().await.unwrap();
            assert!(text.contains("chronicle_"), "{text}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "metrics listener never up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
