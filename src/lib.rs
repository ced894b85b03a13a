//! Chronicle: an event-sourced GraphQL API server.
//!
//! Layers, each depending only on those before it:
//! `domain` (pure) <- `store` <- `commands` / `projections` <- `graphql` <- `http`.
//! `app` wires them into an `AppState`; `main.rs` is a thin CLI.

pub mod app;
pub mod auth;
pub mod commands;
pub mod console;
pub mod db;
pub mod domain;
pub mod graphiql;
pub mod graphql;
pub mod http;
pub mod projections;
pub mod store;

pub use app::{AppState, Config, build_state, migrate, run};
