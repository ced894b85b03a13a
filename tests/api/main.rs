//! One integration-test binary: the real server on port 0, over HTTP (and
//! WebSocket), on SQLite and PostgreSQL.

mod helpers;

mod history;

mod concurrency;
mod connections;
mod edge;
mod graphiql;
mod http;
mod lifecycle;
mod limits;
mod paging;
mod projections;
mod schema;
mod store;
mod subscriptions;
mod tokens;
mod validation;
mod ws_protocol;
