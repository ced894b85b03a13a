//! What chronicle's integration tests and its benchmark share: a fresh
//! database per run ([`TestDb`], SQLite or PostgreSQL), the real server on
//! 127.0.0.1:0 ([`Server`], [`spawn_app`]) or as a child process
//! ([`ServerProcess`]), a client of either ([`Endpoint`]), the GraphQL documents, typed
//! responses for the common operations ([`CommandResult`], [`Order`],
//! [`HistoryEntry`], [`GqlError`]), a WebSocket client speaking both
//! subprotocols ([`WsClient`]) and [`eventually`].
//!
//! Every storage test runs on SQLite and on PostgreSQL from one body through
//! [`both_backends!`].

mod db;
mod documents;
mod process;
mod server;
mod typed;
mod ws;

use std::time::Duration;

pub use db::{Backend, TestDb, postgres_base_url};
pub use documents::*;
pub use process::{ServerProcess, listening_addr, strip_ansi};
pub use server::{Endpoint, REQUEST_TIMEOUT, Server, TestApp, spawn_app, spawn_app_with};
pub use typed::{
    CommandResult, EventRef, GqlError, HistoryEntry, Metadata, Op, Order, OrderItem, ProjectionLag,
    error_code,
};
pub use ws::WsClient;

/// Generates `<name>::sqlite` and `<name>::postgres` tests from one async
/// body `async fn name(backend: Backend)`. The PostgreSQL test runs when
/// `TEST_DATABASE_URL` is set and says so when it is skipped.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name($crate::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if $crate::postgres_base_url().is_none() {
                    eprintln!("skipped: TEST_DATABASE_URL is not set, so this PostgreSQL test did not run");
                    return;
                }
                super::$name($crate::Backend::Postgres).await
            }
        }
    )+};
}

/// How long [`eventually`] and the other waits in this crate wait.
pub const DEADLINE: Duration = Duration::from_secs(30);
/// How often they poll.
pub const POLL: Duration = Duration::from_millis(20);

/// Waits until `check` holds, polling every [`POLL`] up to [`DEADLINE`]
/// (it fails loudly when the deadline passes; used for eventually-consistent
/// reads).
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}
