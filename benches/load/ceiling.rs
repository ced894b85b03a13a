//! The client's own ceiling: a trivial in-process HTTP server answering
//! every POST /graphql with a canned `{ __typename }` response.

use std::net::SocketAddr;

use axum::Router;
use axum::http::header;
use axum::routing::post;

/// Starts the canned server on 127.0.0.1:0 in this runtime; its address
/// and a handle that stops it when aborted.
pub async fn start() -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let app = Router::new().route(
        "/graphql",
        post(|| async {
            (
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"data":{"__typename":"Query"}}"#,
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr, task))
}
