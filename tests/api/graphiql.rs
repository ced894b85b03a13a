//! GraphiQL works offline: the page names no other host, and every script
//! and stylesheet it loads comes from this server.

use crate::helpers::{Backend, spawn_app};

/// The values of every `src="..."` and `href="..."` attribute in `html`.
fn linked_urls(html: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(start) = rest.find(attr) {
            rest = &rest[start + attr.len()..];
            let end = rest.find('"').expect("closing quote");
            urls.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    urls
}

async fn graphiql_page(app: &crate::helpers::TestApp) -> String {
    let resp = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    resp.text().await.expect("body")
}

#[tokio::test]
async fn graphiql_page_names_no_cdn() {
    let app = spawn_app(Backend::Sqlite).await;
    let html = graphiql_page(&app).await;

    assert!(html.contains("GraphiQL"), "not the GraphiQL page: {html}");
    let lower = html.to_lowercase();
    for needle in ["http://", "https://", "unpkg", "jsdelivr", "cdn"] {
        assert!(
            !lower.contains(needle),
            "the GraphiQL page mentions {needle:?}:\n{html}"
        );
    }
}

#[tokio::test]
async fn graphiql_assets_are_served_by_the_server() {
    let app = spawn_app(Backend::Sqlite).await;
    let html = graphiql_page(&app).await;

    let urls = linked_urls(&html);
    assert!(
        urls.iter().any(|u| u.ends_with(".js")) && urls.iter().any(|u| u.ends_with(".css")),
        "the page loads no script or no stylesheet: {urls:?}"
    );
    for url in &urls {
        assert!(url.starts_with("/graphiql/"), "{url} is not a local asset");
        let resp = app.client.get(app.url(url)).send().await.expect("send");
        assert_eq!(resp.status(), 200, "{url}");
        let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
        let expected = if url.ends_with(".css") {
            "text/css"
        } else {
            "text/javascript"
        };
        assert!(content_type.starts_with(expected), "{url}: {content_type}");
        assert_eq!(
            resp.headers()["cache-control"],
            "public, max-age=86400",
            "{url}"
        );
        let body = resp.bytes().await.expect("body");
        assert!(!body.is_empty(), "{url} is empty");
    }
}

#[tokio::test]
async fn unknown_graphiql_asset_is_404() {
    let app = spawn_app(Backend::Sqlite).await;
    for path in [
        "/graphiql/nope.js",
        "/graphiql/graphiql.min.js.map",
        "/graphiql/README.md",
        "/graphiql/..%2FCargo.toml",
    ] {
        let resp = app.client.get(app.url(path)).send().await.expect("send");
        assert_eq!(resp.status(), 404, "{path}");
    }
}
