//! GraphiQL served entirely by this server: the page and its vendored
//! scripts and styles (assets/graphiql/, see its README), so the IDE works
//! where no CDN can be reached.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// The URL prefix the page loads its assets from; route
/// `/graphiql/{file}` to [`asset`].
const ASSET_PREFIX: &str = "/graphiql/";

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The only files [`asset`] serves: name, Content-Type, bytes. A fixed
/// table rather than a directory lookup, so no request path can reach the
/// file system and the binary needs no files beside it.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "react.production.min.js",
        JS,
        include_bytes!("../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        JS,
        include_bytes!("../assets/graphiql/react-dom.production.min.js"),
    ),
    (
        "graphiql.min.js",
        JS,
        include_bytes!("../assets/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        CSS,
        include_bytes!("../assets/graphiql/graphiql.min.css"),
    ),
];

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; font-src 'self' data:; img-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; form-action 'none'">
<title>Chronicle GraphiQL</title>
<link rel="stylesheet" href="__PREFIX__graphiql.min.css">
<style>
  html, body { height: 100%; margin: 0; }
  #graphiql { height: 100vh; }
</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL&hellip;</div>
<script src="__PREFIX__react.production.min.js"></script>
<script src="__PREFIX__react-dom.production.min.js"></script>
<script src="__PREFIX__graphiql.min.js"></script>
<script>
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  if (typeof GraphiQL === "undefined" || typeof ReactDOM === "undefined") {
    root.textContent = "GraphiQL's scripts did not load from __PREFIX__.";
    return;
  }

  var endpoint = new URL(__ENDPOINT__, location.href).href;
  var ws = new URL(__WS_PATH__, location.href);
  ws.protocol = ws.protocol === "https:" ? "wss:" : "ws:";

  // The server answers JSON only, never multipart (no @defer/@stream).
  var base = GraphiQL.createFetcher({
    url: endpoint,
    subscriptionUrl: ws.href,
    enableIncrementalDelivery: false
  });

  function authorization(headers) {
    for (var name in headers || {}) {
      if (name.toLowerCase() === "authorization" && typeof headers[name] === "string") {
        return headers[name];
      }
    }
    return undefined;
  }

  // The same test GraphiQL's fetcher uses to pick the WebSocket.
  function isSubscription(document, operationName) {
    var name = operationName || undefined;
    return !!document && document.definitions.some(function (d) {
      return d.kind === "OperationDefinition" && d.operation === "subscription" &&
        (d.name ? d.name.value : undefined) === name;
    });
  }

  // GraphiQL turns the headers editor's entries into the WebSocket's
  // connectionParams as they are. The server reads `authorization` there,
  // so hand it exactly that, and nothing else, for subscriptions.
  function fetcher(params, opts) {
    if (opts && isSubscription(opts.documentAST, params.operationName)) {
      var auth = authorization(opts.headers);
      opts = Object.assign({}, opts, { headers: auth ? { authorization: auth } : {} });
    }
    return base(params, opts);
  }

  // What a `/graphql?query=...` link asked for (null when nothing).
  var initial = __INITIAL__;
  var props = { fetcher: fetcher };
  if (initial.query !== null) props.query = initial.query;
  if (initial.variables !== null) props.variables = initial.variables;

  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, props));
})();
</script>
</body>
</html>
"#;

/// A JSON value as a literal safe inside an inline `<script>`: `<`, `>` and
/// `&` escaped (only ever inside JSON strings), so a value can never close
/// the script element.
fn js_value(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

fn js_string(value: &str) -> String {
    js_value(&serde_json::Value::from(value))
}

/// What GraphiQL opens with: from a link like
/// `/graphql?query=...&variables=...` (both attacker-controlled text).
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct Prefill {
    /// The operation to show in the editor.
    pub query: Option<String>,
    /// The variables (JSON text) to show.
    pub variables: Option<String>,
}

/// The GraphiQL page. Its scripts and styles come from `/graphiql/` on this
/// server ([`asset`]); it names no other host.
///
/// Queries and mutations are POSTed as JSON to `endpoint`; subscriptions go
/// over WebSocket (graphql-transport-ws) to `ws_endpoint_path` on the page's
/// own host, `wss:` when the page came over HTTPS. Headers typed in
/// GraphiQL's headers editor are sent with every HTTP request; for a
/// subscription the `Authorization` one is sent as the connection params
/// `{ "authorization": "<value>" }`. The page's Content-Security-Policy
/// allows connections only to its own origin (and WebSockets), so both must
/// be on this server.
///
/// `prefill` opens the editor with a query (and variables) instead of the
/// last one GraphiQL remembers; it is embedded as escaped JSON.
pub fn page(endpoint: &str, ws_endpoint_path: &str, prefill: &Prefill) -> Html<String> {
    let initial = serde_json::json!({"query": prefill.query, "variables": prefill.variables});
    // The request's text goes in last, in one replacement, so nothing it
    // contains is ever taken for a placeholder.
    Html(
        PAGE.replace("__PREFIX__", ASSET_PREFIX)
            .replace("__ENDPOINT__", &js_string(endpoint))
            .replace("__WS_PATH__", &js_string(ws_endpoint_path))
            .replace("__INITIAL__", &js_value(&initial)),
    )
}

/// Serves one vendored GraphiQL file by name (route `/graphiql/{file}`).
/// Only the files the page uses are known; any other name is 404.
pub async fn asset(Path(file): Path<String>) -> Response {
    let Some((_, content_type, body)) = ASSETS.iter().find(|(name, _, _)| *name == file) else {
        return (StatusCode::NOT_FOUND, "no such GraphiQL asset").into_response();
    };
    let mut response = (*body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The files change only with a new build; a day of caching spares the
    // browser 1.6 MB per visit while still picking up an upgrade soon.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_loads_only_local_assets() {
        let Html(html) = page("/graphql", "/graphql/ws", &Prefill::default());
        assert!(!html.contains("http://") && !html.contains("https://"));
        for (name, _, _) in ASSETS {
            assert!(html.contains(&format!("\"/graphiql/{name}\"")), "{name}");
        }
        assert!(html.contains(r#"new URL("/graphql", location.href)"#));
        assert!(html.contains(r#"new URL("/graphql/ws", location.href)"#));
    }

    #[test]
    fn endpoint_cannot_break_out_of_the_script() {
        let Html(html) = page(
            "/x</script><script>alert(1)</script>",
            "/ws",
            &Prefill::default(),
        );
        assert_eq!(html.matches("</script>").count(), 4);
        assert!(
            html.contains(
                r#""/x\u003c/script\u003e\u003cscript\u003ealert(1)\u003c/script\u003e""#
            )
        );
    }

    #[test]
    fn prefill_is_embedded_once_and_escaped() {
        let prefill = Prefill {
            query: Some("{ a } </script><script>alert(1)</script> __ENDPOINT__ __INITIAL__".into()),
            variables: Some(r#"{"x": "</SCRIPT>"}"#.into()),
        };
        let Html(html) = page("/graphql", "/graphql", &prefill);
        assert_eq!(html.matches("</script>").count(), 4);
        assert!(!html.to_lowercase().contains("</script><script>alert"));
        assert!(html.contains(
            r#""query":"{ a } \u003c/script\u003e\u003cscript\u003ealert(1)\u003c/script\u003e __ENDPOINT__ __INITIAL__""#
        ));
        assert!(html.contains(r#""variables":"{\"x\": \"\u003c/SCRIPT\u003e\"}""#));
        let Html(plain) = page("/graphql", "/graphql", &Prefill::default());
        assert!(plain.contains(r#"var initial = {"query":null,"variables":null};"#));
    }

    #[tokio::test]
    async fn assets_are_a_fixed_list() {
        let ok = asset(Path("graphiql.min.css".into())).await;
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(ok.headers()[header::CONTENT_TYPE], CSS);
        assert_eq!(ok.headers()[header::CACHE_CONTROL], "public, max-age=86400");
        for bad in ["../Cargo.toml", "graphiql.min.js.map", "README.md", ""] {
            let resp = asset(Path(bad.into())).await;
            assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{bad}");
        }
    }
}
