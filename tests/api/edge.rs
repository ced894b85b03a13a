//! Browsers and the GraphQL-over-HTTP spec (issue 8, items 4 and 10, HTTP
//! side): CORS, Origin checks, 415 for non-JSON bodies, response media
//! types, no `data` on request errors, `Allow` on 405. SQLite only: nothing
//! here depends on storage.

use serde_json::{Value, json};

use crate::helpers::*;

const DEV_ORIGIN: &str = "http://localhost:5173";

async fn orders_count(app: &TestApp) -> usize {
    app.state.store.read_all(0, 100).await.unwrap().len()
}

#[tokio::test]
async fn preflights_are_answered_for_allowed_origins_only() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.edge.cors_origins = vec![DEV_ORIGIN.into()]
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type, authorization",
            )
            .send()
    };
    let resp = preflight(DEV_ORIGIN).await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    assert_eq!(resp.headers()["access-control-allow-origin"], DEV_ORIGIN);
    let methods = resp.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(methods.contains("POST"), "{methods}");
    let headers = resp.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(headers.contains("authorization"), "{headers}");

    // The allowed origin's actual request works and may read the answer.
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("origin", DEV_ORIGIN)
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["access-control-allow-origin"], DEV_ORIGIN);

    // Another origin gets no CORS grant, and its requests are refused.
    let resp = preflight("https://evil.example").await.unwrap();
    assert!(
        resp.headers().get("access-control-allow-origin").is_none(),
        "{:?}",
        resp.headers()
    );
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("origin", "https://evil.example")
        .json(
            &json!({"query": CREATE, "variables": {"input": {"customerId": "c", "items": [
            {"sku": "A", "name": "a", "unitPrice": "1", "quantity": 1}]}}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(orders_count(&app).await, 0);
}

#[tokio::test]
async fn by_default_only_same_origin_pages_may_call() {
    let app = spawn_app(Backend::Sqlite).await;
    let same = format!("http://{}", app.addr);
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("origin", same.as_str())
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("origin", DEV_ORIGIN)
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    // Non-browser clients send no Origin: fine.
    let body = app.gql("{ __typename }", json!({})).await;
    assert_eq!(body["data"]["__typename"], "Query");
}

#[tokio::test]
async fn non_json_bodies_are_refused_with_415() {
    let app = spawn_app(Backend::Sqlite).await;
    let mutation = json!({"query": CREATE, "variables": {"input": {"customerId": "c", "items": [
        {"sku": "A", "name": "a", "unitPrice": "1", "quantity": 1}]}}})
    .to_string();
    for content_type in [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut req = app.client.post(app.url("/graphql")).body(mutation.clone());
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 415, "{content_type:?}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(error_code(&body), Some("VALIDATION"));
    }
    assert_eq!(orders_count(&app).await, 0, "no order may be created");
    // JSON with a charset, and the GraphQL response type, are fine.
    for content_type in [
        "application/json; charset=utf-8",
        "application/graphql-response+json",
    ] {
        let resp = app
            .client
            .post(app.url("/graphql"))
            .header("content-type", content_type)
            .body(r#"{"query":"{ __typename }"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{content_type}");
    }
}

async fn post_accepting(app: &TestApp, accept: &str, body: &str) -> (u16, String, Value) {
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .header("accept", accept)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    (status, ct, resp.json().await.unwrap())
}

#[tokio::test]
async fn response_media_types_and_request_errors_follow_graphql_over_http() {
    let app = spawn_app(Backend::Sqlite).await;
    const GRAPHQL_JSON: &str = "application/graphql-response+json";
    let parse_error = r#"{"query":"{"}"#;
    let validation_error = r#"{"query":"{ noSuchField }"}"#;

    let (status, ct, body) =
        post_accepting(&app, GRAPHQL_JSON, r#"{"query":"{ __typename }"}"#).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with(GRAPHQL_JSON), "{ct}");
    assert_eq!(body["data"]["__typename"], "Query");

    for request in [parse_error, validation_error] {
        let (status, ct, body) = post_accepting(&app, GRAPHQL_JSON, request).await;
        assert_eq!(status, 400, "{request}: {body}");
        assert!(ct.starts_with(GRAPHQL_JSON), "{ct}");
        assert!(body.get("data").is_none(), "{body}");
        assert_eq!(error_code(&body), Some("VALIDATION"));

        let (status, ct, body) = post_accepting(&app, "application/json", request).await;
        assert_eq!(status, 200, "{request}: {body}");
        assert!(ct.starts_with("application/json"), "{ct}");
        assert!(body.get("data").is_none(), "{body}");
    }

    // An execution error keeps `data` (null or partial) and status 200.
    let (status, _, body) = post_accepting(
        &app,
        GRAPHQL_JSON,
        r#"{"query":"{ order(id: \"not-a-uuid\") { id } }"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("data").is_some(), "{body}");

    // A body without a `query` string is a bad request, not a bad document.
    for body in [
        r#"{"qeury":"{ __typename }"}"#,
        r#"{"query":7}"#,
        "[]",
        "[{}]",
    ] {
        let (status, _, reply) = post_accepting(&app, "application/json", body).await;
        assert_eq!(status, 400, "{body}: {reply}");
        assert_eq!(error_code(&reply), Some("VALIDATION"));
    }

    // */* and no Accept mean JSON.
    let (status, ct, _) = post_accepting(&app, "*/*", r#"{"query":"{ __typename }"}"#).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("application/json"), "{ct}");
}

#[tokio::test]
async fn method_not_allowed_names_the_allowed_methods() {
    let app = spawn_app(Backend::Sqlite).await;
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let resp = app
            .client
            .request(method.clone(), app.url("/graphql"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 405, "{method}");
        let allow = resp.headers()["allow"].to_str().unwrap().to_owned();
        assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    }
    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "mutation { __typename }")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "POST");
}

#[tokio::test]
async fn websocket_upgrades_from_foreign_origins_are_refused() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.edge.cors_origins = vec![DEV_ORIGIN.into()]
    })
    .await;
    let connect = |origin: Option<String>| {
        let mut request = format!("ws://{}/graphql", app.addr)
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        if let Some(o) = origin {
            request.headers_mut().insert("origin", o.parse().unwrap());
        }
        tokio_tungstenite::connect_async(request)
    };
    match connect(Some("https://evil.example".into())).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 403)
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a foreign origin was upgraded"),
    }
    assert!(connect(Some(DEV_ORIGIN.into())).await.is_ok());
    assert!(connect(Some(format!("http://{}", app.addr))).await.is_ok());
    assert!(connect(None).await.is_ok(), "no Origin: not a browser");
}
