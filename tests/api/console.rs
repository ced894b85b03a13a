//! GraphiQL links: `GET /graphql?query=...` from a browser opens GraphiQL
//! on that query, embedded so that it cannot break out of the page's script.

use crate::helpers::{Backend, TestApp, spawn_app};

async fn get(app: &TestApp, path: &str, accept: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header("accept", accept)
        .send()
        .await
        .expect("send")
}

fn header(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .expect("ascii")
        .to_owned()
}

#[tokio::test]
async fn graphiql_link_opens_graphiql_with_the_query() {
    let app = spawn_app(Backend::Sqlite).await;
    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(&[
            ("query", "{ orders(first: 1) { edges { cursor } } }"),
            ("variables", r#"{"a": 1}"#),
        ])
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    assert!(header(&resp, "content-type").starts_with("text/html"));
    let html = resp.text().await.expect("body");
    assert!(html.contains("GraphiQL"), "{html}");
    assert!(
        html.contains(
            r#"{"query":"{ orders(first: 1) { edges { cursor } } }","variables":"{\"a\": 1}"}"#
        ),
        "{html}"
    );
}

#[tokio::test]
async fn a_hostile_query_in_a_graphiql_link_stays_inside_its_string() {
    let app = spawn_app(Backend::Sqlite).await;
    let plain = get(&app, "/graphql", "text/html")
        .await
        .text()
        .await
        .expect("body");
    let hostile = "{ __typename } </script><script>alert(1)</script><!-- __INITIAL__";
    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", hostile)])
        .header("accept", "text/html")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.expect("body");
    assert_eq!(
        html.matches("</script>").count(),
        plain.matches("</script>").count(),
        "the query closed a script element:\n{html}"
    );
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("<!--"), "{html}");
    assert!(html.contains(
        r#""{ __typename } \u003c/script\u003e\u003cscript\u003ealert(1)\u003c/script\u003e\u003c!-- __INITIAL__""#
    ));
}

#[tokio::test]
async fn a_graphql_client_still_gets_json_from_get() {
    let app = spawn_app(Backend::Sqlite).await;
    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ __typename }")])
        .header(
            "accept",
            "application/graphql-response+json, application/json",
        )
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
}
