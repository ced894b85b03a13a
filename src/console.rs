//! The operations console (`web/`, a Preact app) at `/`. Its Vite bundle is
//! committed in web/dist and embedded at compile time by build.rs, so the
//! server serves it with no Node step and no files beside the binary.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Every file of web/dist: path relative to it, bytes. A fixed table, so
/// no request path can reach the file system.
const FILES: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/console_files.rs"));

/// The console talks only to this server: its scripts, styles and the
/// GraphQL endpoint (HTTP and WebSocket).
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; \
    base-uri 'none'; frame-ancestors 'none'";

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") | Some("mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn file(name: &str, cache_control: &'static str) -> Response {
    let Some((_, body)) = FILES.iter().find(|(n, _)| *n == name) else {
        return (StatusCode::NOT_FOUND, "no such console file").into_response();
    };
    let mut response = (*body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(name)),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// `GET /`: the console's page. Revalidated on every load, so a new build
/// (new asset names) is picked up at once.
pub async fn index() -> Response {
    let mut response = file("index.html", "no-cache");
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    response
}

/// `GET /assets/{*path}`: a bundle file. Vite puts a content hash in every
/// name under assets/, so a name never changes meaning: cached for good.
pub async fn asset(Path(path): Path<String>) -> Response {
    file(
        &format!("assets/{path}"),
        "public, max-age=31536000, immutable",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_is_embedded_and_its_page_names_its_assets() {
        let (_, index) = FILES
            .iter()
            .find(|(n, _)| *n == "index.html")
            .expect("index.html");
        let html = std::str::from_utf8(index).expect("utf-8");
        let assets: Vec<_> = FILES
            .iter()
            .filter(|(n, _)| n.starts_with("assets/"))
            .collect();
        assert!(assets.iter().any(|(n, _)| n.ends_with(".js")));
        for (name, _) in assets {
            assert!(html.contains(&format!("/{name}")), "{name} is not used");
        }
    }

    #[tokio::test]
    async fn unknown_or_escaping_paths_are_404() {
        for bad in ["../index.html", "nope.js", "", "../../Cargo.toml"] {
            let resp = asset(Path(bad.into())).await;
            assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{bad}");
        }
    }
}
