//! Migrations over data written by earlier versions, on both backends.

use chronicle::db::Db;
use chronicle::domain::order::OrderId;
use chronicle::projections::Projection;
use chronicle::projections::order_details::{self, OrderDetails};
use chronicle::store::{EventMetadata, RecordedEvent};
use migration::MigratorTrait;
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

both_backends!(lines_stored_as_json_become_rows_in_their_order_and_the_projection_continues_them);

/// Migration 5: an `order_details` row written with its lines in the
/// `items` JSON array (migrations 1–4) keeps every line, in the array's
/// order (not the SKUs' order), once the lines are rows; the projection
/// then adds and removes lines of that order as of any other.
async fn lines_stored_as_json_become_rows_in_their_order_and_the_projection_continues_them(
    backend: Backend,
) {
    let db = TestDb::new(backend).await;
    let conn = Db::connect(&db.url).await.unwrap();
    migration::Migrator::up(conn.conn(), Some(4)).await.unwrap();
    let id = uuid::Uuid::new_v4();
    let items = json!([
        {"sku": "zeta", "name": "Zeta \"quoted\" ünïcode", "unitPrice": "10.25", "quantity": 2},
        {"sku": "alpha", "name": "Alpha", "unitPrice": "0.0001", "quantity": 1},
        {"sku": "mid", "name": "Mid", "unitPrice": "999999999.9999", "quantity": 1000000},
    ])
    .to_string();
    let p: Vec<String> = match backend {
        Backend::Postgres => ["$1", "$2", "CAST($3 AS jsonb)", "$4", "$5"]
            .map(String::from)
            .to_vec(),
        Backend::Sqlite => vec!["?".to_owned(); 5],
    };
    let now = chrono::Utc::now();
    conn.conn()
        .execute_raw(Statement::from_sql_and_values(
            conn.backend(),
            format!(
                "INSERT INTO order_details (generation, order_id, customer_id, status, items, \
                 total_amount, version, created_position, last_position, created_at, updated_at) \
                 VALUES ({}, {}, 'c-1', 'PENDING', {}, '1000000010.5001', 3, 1, 3, {}, {})",
                p[0], p[1], p[2], p[3], p[4]
            ),
            [
                1i32.into(),
                id.to_string().into(),
                items.into(),
                now.into(),
                now.into(),
            ],
        ))
        .await
        .unwrap();
    chronicle::migrate(&conn).await.unwrap();

    let order_id = OrderId::from_uuid(id);
    let row = order_details::get(&conn, 1, &order_id)
        .await
        .unwrap()
        .expect("the row survives");
    let skus = |row: &order_details::OrderDetail| -> Vec<String> {
        row.order.lines.iter().map(|l| l.sku.clone()).collect()
    };
    assert_eq!(skus(&row), ["zeta", "alpha", "mid"]);
    assert_eq!(row.order.lines[0].name, "Zeta \"quoted\" ünïcode");
    assert_eq!(row.order.lines[0].quantity, 2);
    assert_eq!(row.order.lines[1].unit_price.to_string(), "0.0001");
    assert_eq!(row.order.lines[2].unit_price.to_string(), "999999999.9999");
    assert_eq!(row.order.lines[2].quantity, 1_000_000);
    assert_eq!(row.version, 3);

    // The projection goes on from the migrated row: a line added after
    // them comes last, a removed one goes.
    let event = |version: i32, event_type: &str, data: serde_json::Value| RecordedEvent {
        position: 3 + i64::from(version),
        event_id: uuid::Uuid::new_v4(),
        stream_id: id.to_string(),
        stream_type: "Order".into(),
        version,
        event_type: event_type.into(),
        schema_version: 1,
        data,
        metadata: EventMetadata::default(),
        recorded_at: now,
    };
    let added = event(
        4,
        "ItemAdded",
        json!({"item": {"sku": "aardvark", "name": "A", "unitPrice": "1", "quantity": 1}, "total": "1000000011.5001"}),
    );
    let removed = event(
        5,
        "ItemRemoved",
        json!({"sku": "alpha", "total": "1000000011.5000"}),
    );
    let txn = conn.conn().begin().await.unwrap();
    OrderDetails::default()
        .apply_batch(&txn, 1, &[&added, &removed])
        .await
        .unwrap();
    txn.commit().await.unwrap();
    let row = order_details::get(&conn, 1, &order_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(skus(&row), ["zeta", "mid", "aardvark"]);
    assert_eq!(row.version, 5);
    assert_eq!(row.order.total.to_string(), "1000000011.5000");
}
