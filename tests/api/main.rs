//! One integration-test binary: the real server on port 0, over HTTP (and
//! WebSocket), on SQLite and PostgreSQL.

mod helpers;
#[allow(unused_imports)]
use chronicle_testkit::both_backends;

mod cluster;
mod group_commit;
mod history;
mod leadership;
mod read_cache;

mod concurrency;
mod connections;
mod console;
mod corpus;
mod edge;
mod graphiql;
mod hardening;
mod http;
mod lifecycle;
mod limits;
mod migrations;
mod paging;
mod projections;
mod relay;
mod schema;
mod second_aggregate;
mod shutdown;
mod store;
mod subscriptions;
mod tokens;
mod validation;
mod ws_protocol;
