//! One integration-test binary: the real server on port 0, over HTTP (and
//! WebSocket), on SQLite and PostgreSQL.

mod helpers;

mod concurrency;
mod http;
mod lifecycle;
mod schema;
mod store;
mod validation;
