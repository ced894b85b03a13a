//! `order_details`: one row per order, the state clients read.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashMap};

use sea_orm::{
    ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::Value;

use super::columns::{MoneyColumn, StatusColumn};
use super::{BatchError, Projection, ProjectionError, Touched, decode_batch};
use crate::db::Db;
use crate::domain::Aggregate;
use crate::domain::order::{self, Order, OrderAggregate, OrderId, OrderStatus};
use crate::store::RecordedEvent;

/// The projection's (and checkpoint's) name.
pub const NAME: &str = "order_details";

pub(crate) mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "order_details")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub generation: i32,
        #[sea_orm(primary_key, auto_increment = false)]
        pub order_id: String,
        pub customer_id: String,
        pub status: super::StatusColumn,
        #[sea_orm(column_type = "JsonBinary")]
        pub items: Json,
        pub total_amount: super::MoneyColumn,
        pub tracking_number: Option<String>,
        pub payment_reference: Option<String>,
        pub cancel_reason: Option<String>,
        pub version: i32,
        pub created_position: i64,
        pub last_position: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use entity::{Column, Entity};

/// An order as the read model holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderDetail {
    /// The order's id.
    pub order_id: String,
    /// Its state, as the aggregate would fold it.
    pub order: Order,
    /// The stream version this row reflects.
    pub version: i32,
    /// Position of the OrderCreated event: the listing order and cursor.
    pub created_position: i64,
    /// Position of the last event applied.
    pub last_position: i64,
    /// When the order was created.
    pub created_at: DateTime<Utc>,
    /// When its last event was recorded.
    pub updated_at: DateTime<Utc>,
}

impl OrderDetail {
    fn from_model(m: entity::Model) -> Result<OrderDetail, DbErr> {
        let order = Order {
            customer_id: m.customer_id.clone(),
            status: m.status.0,
            lines: serde_json::from_value(m.items.clone())
                .map_err(|_| DbErr::Custom(format!("order_details {}: bad items", m.order_id)))?,
            total: m.total_amount.0,
            tracking_number: m.tracking_number.clone(),
            payment_reference: m.payment_reference.clone(),
            cancel_reason: m.cancel_reason.clone(),
        };
        Ok(OrderDetail {
            order_id: m.order_id,
            order,
            version: m.version,
            created_position: m.created_position,
            last_position: m.last_position,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// A row being worked on within one batch.
struct Pending {
    detail: OrderDetail,
    changed: bool,
}

/// The columns a row is written with, in [`row_values`]' order; all but
/// the key are replaced when the row exists.
const COLUMNS: [&str; 14] = [
    "generation",
    "order_id",
    "customer_id",
    "status",
    "items",
    "total_amount",
    "tracking_number",
    "payment_reference",
    "cancel_reason",
    "version",
    "created_position",
    "last_position",
    "created_at",
    "updated_at",
];

/// Position of `items` in [`COLUMNS`] (a JSONB parameter on PostgreSQL).
const ITEMS: usize = 4;

/// A row's values, as the entity's columns convert them.
fn row_values(generation: i32, d: &OrderDetail, out: &mut Vec<sea_orm::Value>) {
    // The lines straight to JSON text: no `serde_json::Value` in between.
    let items = serde_json::to_string(&d.order.lines).unwrap_or_else(|_| "null".into());
    out.extend([
        generation.into(),
        d.order_id.clone().into(),
        d.order.customer_id.clone().into(),
        StatusColumn(d.order.status).into(),
        items.into(),
        MoneyColumn(d.order.total).into(),
        d.order.tracking_number.clone().into(),
        d.order.payment_reference.clone().into(),
        d.order.cancel_reason.clone().into(),
        d.version.into(),
        d.created_position.into(),
        d.last_position.into(),
        d.created_at.into(),
        d.updated_at.into(),
    ]);
}

/// The projection.
pub struct OrderDetails;

#[async_trait]
impl Projection for OrderDetails {
    fn name(&self) -> &'static str {
        NAME
    }

    fn handles(&self, stream_type: &str, _event_type: &str) -> bool {
        stream_type == OrderAggregate::STREAM_TYPE
    }

    /// Reads each order of the batch once (those that exist), folds its
    /// events in memory with the domain's `evolve`, and writes each changed
    /// row once, in multi-row upserts.
    async fn apply_batch(
        &self,
        txn: &DatabaseTransaction,
        generation: i32,
        events: &[&RecordedEvent],
    ) -> Result<Vec<Touched>, BatchError> {
        // An order whose first event in the batch is its first event ever
        // (version 1) has no row: that event was never applied, since rows
        // commit with the checkpoint (invariant 5). Only the others are
        // read. In a rebuild that is all of them but the orders spanning
        // two batches.
        let mut first_version: HashMap<&str, i32> = HashMap::new();
        for e in events {
            first_version
                .entry(e.stream_id.as_str())
                .or_insert(e.version);
        }
        let ids: BTreeSet<&str> = first_version
            .iter()
            .filter(|(_, version)| **version > 1)
            .map(|(id, _)| *id)
            .collect();
        let mut rows: HashMap<String, Pending> = HashMap::with_capacity(first_version.len());
        if !ids.is_empty() {
            let existing = Entity::find()
                .filter(Column::Generation.eq(generation))
                .filter(Column::OrderId.is_in(ids.iter().copied()))
                .all(txn)
                .await
                .map_err(|e| BatchError::at(0, e))?;
            for m in existing {
                let detail = OrderDetail::from_model(m).map_err(|e| BatchError::at(0, e))?;
                rows.insert(
                    detail.order_id.clone(),
                    Pending {
                        detail,
                        changed: false,
                    },
                );
            }
        }
        let mut touched = Vec::with_capacity(events.len());
        for item in decode_batch::<OrderAggregate>(events) {
            let (i, event, decoded) = item?;
            match rows.get_mut(&event.stream_id) {
                None => {
                    let Some(order) = order::evolve(None, &decoded) else {
                        let e =
                            ProjectionError::handler(event, "no order_details row for this order");
                        return Err(BatchError::at(i, e));
                    };
                    let detail = OrderDetail {
                        order_id: event.stream_id.clone(),
                        order,
                        version: event.version,
                        created_position: event.position,
                        last_position: event.position,
                        created_at: event.recorded_at,
                        updated_at: event.recorded_at,
                    };
                    rows.insert(
                        event.stream_id.clone(),
                        Pending {
                            detail,
                            changed: true,
                        },
                    );
                }
                Some(row) => {
                    if row.detail.version >= event.version {
                        continue; // already applied
                    }
                    // Take the state instead of cloning it: a long order
                    // (1,000 lines) would otherwise be copied per event.
                    let current = std::mem::take(&mut row.detail.order);
                    let Some(order) = order::evolve(Some(current), &decoded) else {
                        return Err(BatchError::at(
                            i,
                            ProjectionError::handler(event, "event does not fit the order"),
                        ));
                    };
                    row.detail.order = order;
                    row.detail.version = event.version;
                    row.detail.last_position = event.position;
                    row.detail.updated_at = event.recorded_at;
                    row.changed = true;
                }
            }
            touched.push(Touched::by(event));
        }
        // Each changed row is written, then handed (moved, not copied) to
        // its order's last touch, for the read cache.
        let last_touch: HashMap<&str, usize> = touched
            .iter()
            .enumerate()
            .map(|(i, t)| (t.aggregate_id.as_str(), i))
            .collect();
        let mut values = Vec::new();
        let mut committed = Vec::new();
        for row in rows.into_values().filter(|r| r.changed) {
            row_values(generation, &row.detail, &mut values);
            if let Some(&i) = last_touch.get(row.detail.order_id.as_str()) {
                committed.push((i, row.detail));
            }
        }
        drop(last_touch);
        // An upsert even for the rows not read: a plain INSERT would fail
        // where another projection writes the same rows (a test wraps this
        // one under another name, sharing its table and generation).
        write_rows(txn, values)
            .await
            .map_err(|e| BatchError::at(0, e))?;
        for (i, detail) in committed {
            touched[i].row = Some(std::sync::Arc::new(detail));
        }
        Ok(touched)
    }

    async fn clear(&self, txn: &DatabaseTransaction, generation: i32) -> Result<(), DbErr> {
        super::clear_generation::<Entity>(txn, Column::Generation, generation).await
    }

    async fn dump(&self, db: &Db, generation: i32) -> Result<Vec<Value>, DbErr> {
        let rows = Entity::find()
            .filter(Column::Generation.eq(generation))
            .order_by_asc(Column::OrderId)
            .all(db.conn())
            .await?;
        Ok(rows
            .into_iter()
            .map(|m| {
                serde_json::json!([
                    m.order_id,
                    m.customer_id,
                    m.status.to_string(),
                    m.items,
                    m.total_amount.to_string(),
                    m.tracking_number,
                    m.payment_reference,
                    m.cancel_reason,
                    m.version,
                    m.created_position,
                    m.last_position,
                    m.created_at,
                    m.updated_at
                ])
            })
            .collect())
    }
}

/// Rows per statement: 14,000 parameters, under both databases' limits.
const ROWS_PER_STATEMENT: usize = 1_000;

/// Writes rows (their [`COLUMNS`] values, flattened) in multi-row INSERTs;
/// rows already there are overwritten (all but the key). Plain SQL: no
/// ActiveModel per row, no query builder per value.
async fn write_rows(txn: &DatabaseTransaction, values: Vec<sea_orm::Value>) -> Result<(), DbErr> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    use std::fmt::Write;

    let backend = txn.get_database_backend();
    let per_row = COLUMNS.len();
    let mut values = values.into_iter();
    let mut left = values.len() / per_row;
    while left > 0 {
        let rows = left.min(ROWS_PER_STATEMENT);
        left -= rows;
        let mut sql = String::with_capacity(200 + rows * per_row * 8);
        sql.push_str("INSERT INTO order_details (");
        sql.push_str(&COLUMNS.join(", "));
        sql.push_str(") VALUES ");
        let mut n = 0;
        for r in 0..rows {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for c in 0..per_row {
                n += 1;
                if c > 0 {
                    sql.push_str(", ");
                }
                match backend {
                    DbBackend::Postgres if c == ITEMS => {
                        let _ = write!(sql, "CAST(${n} AS jsonb)");
                    }
                    DbBackend::Postgres => {
                        let _ = write!(sql, "${n}");
                    }
                    _ => sql.push('?'),
                }
            }
            sql.push(')');
        }
        sql.push_str(" ON CONFLICT (generation, order_id) DO UPDATE SET ");
        for (k, c) in COLUMNS[2..].iter().enumerate() {
            if k > 0 {
                sql.push_str(", ");
            }
            let _ = write!(sql, "{c} = excluded.{c}");
        }
        let chunk: Vec<sea_orm::Value> = values.by_ref().take(rows * per_row).collect();
        txn.execute_raw(Statement::from_sql_and_values(backend, sql, chunk))
            .await?;
    }
    Ok(())
}

/// One order from the live read model.
pub async fn get(
    db: &Db,
    generation: i32,
    order_id: &OrderId,
) -> Result<Option<OrderDetail>, DbErr> {
    Entity::find_by_id((generation, order_id.to_string()))
        .one(db.conn())
        .await?
        .map(OrderDetail::from_model)
        .transpose()
}

/// Orders newest first, optionally filtered, after a cursor (a
/// created_position), at most `limit` of them.
pub async fn list(
    db: &Db,
    generation: i32,
    status: Option<OrderStatus>,
    customer_id: Option<&str>,
    before_position: Option<i64>,
    limit: u64,
) -> Result<Vec<OrderDetail>, DbErr> {
    let mut query = Entity::find().filter(Column::Generation.eq(generation));
    if let Some(status) = status {
        query = query.filter(Column::Status.eq(StatusColumn(status)));
    }
    if let Some(customer) = customer_id {
        query = query.filter(Column::CustomerId.eq(customer));
    }
    if let Some(before) = before_position {
        query = query.filter(Column::CreatedPosition.lt(before));
    }
    query
        .order_by_desc(Column::CreatedPosition)
        .limit(limit)
        .all(db.conn())
        .await?
        .into_iter()
        .map(OrderDetail::from_model)
        .collect()
}
