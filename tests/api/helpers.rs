//! The testkit (`chronicle-testkit`): `spawn_app()`, the real server on port
//! 0 over a fresh database, typed GraphQL helpers and `both_backends!`, which
//! runs every storage test on SQLite and on PostgreSQL from one body.

pub use chronicle_testkit::*;
