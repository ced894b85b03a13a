//! The operations console at `/` (embedded from web/dist), and GraphiQL
//! links: `GET /graphql?query=...` from a browser opens GraphiQL on that
//! query, embedded so that it cannot break out of the page's script.

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
async fn console_page_and_its_assets_are_served() {
    let app = spawn_app(Backend::Sqlite).await;
    let resp = get(&app, "/", "text/html").await;
    assert_eq!(resp.status(), 200);
    assert!(header(&resp, "content-type").starts_with("text/html"));
    assert_eq!(header(&resp, "cache-control"), "no-cache");
    assert!(header(&resp, "content-security-policy").contains("connect-src 'self' ws: wss:"));
    let html = resp.text().await.expect("body");
    assert!(html.contains("<div id=\"app\">"), "{html}");

    // Every script and stylesheet the page names is served, cached for good.
    let mut checked = 0;
    for (attr, expected) in [("src=\"", "text/javascript"), ("href=\"", "text/css")] {
        let mut rest = html.as_str();
        while let Some(start) = rest.find(attr) {
            rest = &rest[start + attr.len()..];
            let url = &rest[..rest.find('"').expect("closing quote")];
            if !url.starts_with("/assets/") {
                continue;
            }
            let asset = get(&app, url, "*/*").await;
            assert_eq!(asset.status(), 200, "{url}");
            assert!(
                header(&asset, "content-type").starts_with(expected),
                "{url}"
            );
            assert_eq!(
                header(&asset, "cache-control"),
                "public, max-age=31536000, immutable",
                "{url}"
            );
            assert!(!asset.bytes().await.expect("body").is_empty(), "{url}");
            checked += 1;
        }
    }
    assert!(
        checked >= 2,
        "the page names no script or no stylesheet: {html}"
    );

    for missing in ["/assets/nope.js", "/assets/..%2F..%2FCargo.toml", "/nope"] {
        assert_eq!(get(&app, missing, "*/*").await.status(), 404, "{missing}");
    }
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
