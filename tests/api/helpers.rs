//! The testkit (`chronicle-testkit`): `spawn_app()`, the real server on port
//! 0 over a fresh database, typed GraphQL helpers and `both_backends!`, which
//! runs every storage test on SQLite and on PostgreSQL from one body.

pub use chronicle_testkit::*;

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::json;

/// Writes an OrderCreated in schema version 1 (no total), as an older
/// release stored it.
pub async fn insert_v1_order(app: &TestApp, id: &str, customer: &str) {
    let db = app.state.store.db();
    let sql = match db.backend() {
        DbBackend::Postgres => {
            "INSERT INTO events (event_id, stream_id, stream_type, version, event_type, schema_version, data, metadata, recorded_at) VALUES ($1, $2, 'Order', 1, 'OrderCreated', 1, $3, $4, $5)"
        }
        _ => {
            "INSERT INTO events (event_id, stream_id, stream_type, version, event_type, schema_version, data, metadata, recorded_at) VALUES (?, ?, 'Order', 1, 'OrderCreated', 1, ?, ?, ?)"
        }
    };
    let data = json!({"customerId": customer, "items": [
        {"sku": "A", "name": "a", "unitPrice": "10.00", "quantity": 2},
        {"sku": "B", "name": "b", "unitPrice": "5.25", "quantity": 1}
    ]});
    db.conn()
        .execute_raw(Statement::from_sql_and_values(
            db.backend(),
            sql,
            [
                uuid::Uuid::new_v4().into(),
                id.to_owned().into(),
                data.into(),
                json!({"user_id": "legacy"}).into(),
                chrono::Utc::now().into(),
            ],
        ))
        .await
        .unwrap();
    let head = app.state.store.head_position().await.unwrap();
    app.state.store.advance_head(head);
}
