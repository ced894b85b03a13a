//! Chronicle: an event-sourced GraphQL API server.
//!
//! Layers, each depending only on those before it:
//! `domain` (pure, its own crate) <- `store` <- `commands` / `projections`
//! <- `graphql` <- `http`. `app` wires them into an `AppState`; `main.rs`
//! is a thin CLI. ARCHITECTURE.md has the codemap and the numbered
//! invariants the code cites.

pub mod app;
pub mod auth;
pub mod commands;
pub mod console;
pub mod db;
pub mod graphiql;
pub mod graphql;
pub mod http;
pub mod projections;
pub mod relay;
pub mod store;

pub use app::{AppState, Config, build_state, migrate, run};
/// The pure domain (the `chronicle-domain` crate).
pub use chronicle_domain as domain;
