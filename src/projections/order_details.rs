//! `order_details`: one row per order, the state clients read, and its
//! lines as rows of their own (`order_detail_lines`), so that adding a
//! line writes that line and the order's small row, not every line again.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement,
};
use serde_json::Value;

use super::cache::ReadCache;
use super::columns::{MoneyColumn, StatusColumn};
use super::{BatchError, Projection, ProjectionError, Touched, decode_batch};
use crate::db::Db;
use crate::domain::Aggregate;
use crate::domain::order::{
    self, Order, OrderAggregate, OrderEvent, OrderId, OrderLine, OrderStatus,
};
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

/// `order_detail_lines`: one row per line of an order, in the order the
/// lines were added (`added_version`, then `line_index` within the event).
pub(crate) mod lines {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "order_detail_lines")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub order_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub generation: i32,
        #[sea_orm(primary_key, auto_increment = false)]
        pub sku: String,
        pub name: String,
        pub unit_price: super::MoneyColumn,
        pub quantity: i32,
        pub added_version: i32,
        pub line_index: i32,
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
    fn from_model(m: entity::Model, lines: Vec<OrderLine>) -> OrderDetail {
        let order = Order {
            customer_id: m.customer_id,
            status: m.status.0,
            lines,
            total: m.total_amount.0,
            tracking_number: m.tracking_number,
            payment_reference: m.payment_reference,
            cancel_reason: m.cancel_reason,
        };
        OrderDetail {
            order_id: m.order_id,
            order,
            version: m.version,
            created_position: m.created_position,
            last_position: m.last_position,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// Most order ids per `IN (…)` list of a read.
const IDS_PER_READ: usize = 500;

/// The lines of the given orders of a generation, each order's in the
/// order they were added.
async fn read_lines<C: ConnectionTrait>(
    conn: &C,
    generation: i32,
    ids: &[&str],
) -> Result<HashMap<String, Vec<OrderLine>>, DbErr> {
    let mut out: HashMap<String, Vec<OrderLine>> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_READ) {
        let rows = lines::Entity::find()
            .filter(lines::Column::Generation.eq(generation))
            .filter(lines::Column::OrderId.is_in(chunk.iter().copied()))
            .order_by_asc(lines::Column::OrderId)
            .order_by_asc(lines::Column::AddedVersion)
            .order_by_asc(lines::Column::LineIndex)
            .all(conn)
            .await?;
        for l in rows {
            out.entry(l.order_id).or_default().push(OrderLine {
                sku: l.sku,
                name: l.name,
                unit_price: l.unit_price.0,
                quantity: l.quantity,
            });
        }
    }
    Ok(out)
}

/// Orders' rows with their lines, in the order of `rows`.
async fn with_lines<C: ConnectionTrait>(
    conn: &C,
    generation: i32,
    rows: Vec<entity::Model>,
) -> Result<Vec<OrderDetail>, DbErr> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = rows.iter().map(|m| m.order_id.as_str()).collect();
    let mut lines = read_lines(conn, generation, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|m| {
            let l = lines.remove(&m.order_id).unwrap_or_default();
            OrderDetail::from_model(m, l)
        })
        .collect())
}

/// What a batch does to one line of an order (the last event touching
/// it decides).
enum LineWrite {
    /// Written as it is now.
    Put {
        line: OrderLine,
        added_version: i32,
        line_index: i32,
    },
    /// Removed.
    Delete,
}

/// A row being worked on within one batch.
struct Pending {
    detail: OrderDetail,
    changed: bool,
}

/// The columns an order's row is written with, in [`row_values`]' order;
/// all but the key (the first two) are replaced when the row exists.
const COLUMNS: [&str; 13] = [
    "generation",
    "order_id",
    "customer_id",
    "status",
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

/// The columns a line is written with, in [`line_values`]' order; the key
/// is the first three.
const LINE_COLUMNS: [&str; 8] = [
    "generation",
    "order_id",
    "sku",
    "name",
    "unit_price",
    "quantity",
    "added_version",
    "line_index",
];

/// A row's values, as the entity's columns convert them.
fn row_values(generation: i32, d: &OrderDetail, out: &mut Vec<sea_orm::Value>) {
    out.extend([
        generation.into(),
        d.order_id.clone().into(),
        d.order.customer_id.clone().into(),
        StatusColumn(d.order.status).into(),
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

/// A line's values, as [`lines::Model`]'s columns convert them.
fn line_values(
    generation: i32,
    order_id: &str,
    (line, added_version, line_index): (OrderLine, i32, i32),
    out: &mut Vec<sea_orm::Value>,
) {
    out.extend([
        generation.into(),
        order_id.to_owned().into(),
        line.sku.into(),
        line.name.into(),
        MoneyColumn(line.unit_price).into(),
        line.quantity.into(),
        added_version.into(),
        line_index.into(),
    ]);
}

/// The projection. With the server's read cache it continues an order
/// from its cached row when that row is exactly the state before the
/// batch (no read at all); otherwise it reads the row and its lines.
#[derive(Clone, Default)]
pub struct OrderDetails {
    cache: Option<ReadCache>,
}

impl OrderDetails {
    /// The projection, continuing orders from `cache` where it can.
    pub fn with_cache(cache: ReadCache) -> OrderDetails {
        OrderDetails { cache: Some(cache) }
    }

    /// Each order's state before the batch: from the read cache when it
    /// holds the row at exactly `first_version - 1` (a cached row is never
    /// older than the database's; see `cache`), else from the database.
    async fn rows_before(
        &self,
        txn: &DatabaseTransaction,
        generation: i32,
        first_version: &HashMap<&str, i32>,
    ) -> Result<HashMap<String, Pending>, DbErr> {
        let mut rows: HashMap<String, Pending> = HashMap::with_capacity(first_version.len());
        // An order whose first event in the batch is its first event ever
        // (version 1) has no row: that event was never applied, since rows
        // commit with the checkpoint (invariant 5). Only the others are
        // read. In a rebuild that is all of them but the orders spanning
        // two batches.
        let mut to_read: Vec<&str> = Vec::new();
        for (&id, &version) in first_version {
            if version <= 1 {
                continue;
            }
            let cached = self
                .cache
                .as_ref()
                .and_then(|c| c.order(generation, id))
                .filter(|row| row.version == version - 1);
            match cached {
                Some(row) => {
                    let detail = OrderDetail::clone(&row);
                    rows.insert(
                        detail.order_id.clone(),
                        Pending {
                            detail,
                            changed: false,
                        },
                    );
                }
                None => to_read.push(id),
            }
        }
        to_read.sort_unstable();
        for chunk in to_read.chunks(IDS_PER_READ) {
            let headers = Entity::find()
                .filter(Column::Generation.eq(generation))
                .filter(Column::OrderId.is_in(chunk.iter().copied()))
                .all(txn)
                .await?;
            for detail in with_lines(txn, generation, headers).await? {
                rows.insert(
                    detail.order_id.clone(),
                    Pending {
                        detail,
                        changed: false,
                    },
                );
            }
        }
        Ok(rows)
    }
}

#[async_trait]
impl Projection for OrderDetails {
    fn name(&self) -> &'static str {
        NAME
    }

    fn handles(&self, stream_type: &str, _event_type: &str) -> bool {
        stream_type == OrderAggregate::STREAM_TYPE
    }

    /// Takes each order of the batch once (from memory or the database),
    /// folds its events with the domain's `evolve`, and writes each changed
    /// order's row once and only the lines its events touched, in
    /// multi-row statements.
    async fn apply_batch(
        &self,
        txn: &DatabaseTransaction,
        generation: i32,
        events: &[&RecordedEvent],
    ) -> Result<Vec<Touched>, BatchError> {
        let mut first_version: HashMap<&str, i32> = HashMap::new();
        for e in events {
            first_version
                .entry(e.stream_id.as_str())
                .or_insert(e.version);
        }
        let mut rows = self
            .rows_before(txn, generation, &first_version)
            .await
            .map_err(|e| BatchError::at(0, e))?;
        // (order id, sku) -> what the batch leaves of that line.
        let mut line_writes: BTreeMap<(String, String), LineWrite> = BTreeMap::new();
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
            let key = |sku: &str| (event.stream_id.clone(), sku.to_owned());
            let put = |line: &OrderLine, line_index: usize| LineWrite::Put {
                line: line.clone(),
                added_version: event.version,
                line_index: line_index as i32,
            };
            match &decoded {
                OrderEvent::OrderCreated(e) => {
                    for (k, line) in e.items.iter().enumerate() {
                        line_writes.insert(key(&line.sku), put(line, k));
                    }
                }
                OrderEvent::ItemAdded(e) => {
                    line_writes.insert(key(&e.item.sku), put(&e.item, 0));
                }
                OrderEvent::ItemRemoved(e) => {
                    line_writes.insert(key(&e.sku), LineWrite::Delete);
                }
                _ => {}
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
        let mut deleted = Vec::new();
        let mut put = Vec::new();
        for ((order_id, sku), write) in line_writes {
            match write {
                LineWrite::Delete => deleted.push((order_id, sku)),
                LineWrite::Put {
                    line,
                    added_version,
                    line_index,
                } => line_values(
                    generation,
                    &order_id,
                    (line, added_version, line_index),
                    &mut put,
                ),
            }
        }
        // Upserts even for the rows not read: a plain INSERT would fail
        // where another projection writes the same rows (a test wraps this
        // one under another name, sharing its tables and generation).
        async {
            write_rows(txn, "order_details", &COLUMNS, 2, values).await?;
            delete_lines(txn, generation, deleted).await?;
            write_rows(txn, "order_detail_lines", &LINE_COLUMNS, 3, put).await
        }
        .await
        .map_err(|e| BatchError::at(0, e))?;
        for (i, detail) in committed {
            touched[i].row = Some(std::sync::Arc::new(detail));
        }
        Ok(touched)
    }

    async fn clear(&self, txn: &DatabaseTransaction, generation: i32) -> Result<(), DbErr> {
        super::clear_generation::<lines::Entity>(txn, lines::Column::Generation, generation)
            .await?;
        super::clear_generation::<Entity>(txn, Column::Generation, generation).await
    }

    async fn dump(&self, db: &Db, generation: i32) -> Result<Vec<Value>, DbErr> {
        let rows = Entity::find()
            .filter(Column::Generation.eq(generation))
            .order_by_asc(Column::OrderId)
            .all(db.conn())
            .await?;
        let rows = with_lines(db.conn(), generation, rows).await?;
        Ok(rows
            .into_iter()
            .map(|d| {
                serde_json::json!([
                    d.order_id,
                    d.order.customer_id,
                    d.order.status.to_string(),
                    d.order.lines,
                    d.order.total.to_string(),
                    d.order.tracking_number,
                    d.order.payment_reference,
                    d.order.cancel_reason,
                    d.version,
                    d.created_position,
                    d.last_position,
                    d.created_at,
                    d.updated_at
                ])
            })
            .collect())
    }
}

/// Rows per statement: at most 13,000 parameters, under both databases'
/// limits.
const ROWS_PER_STATEMENT: usize = 1_000;

/// Writes rows (their `columns`' values, flattened) into `table` in
/// multi-row INSERTs; a row whose key (the first `key` columns) is already
/// there is overwritten. Plain SQL: no ActiveModel per row, no query
/// builder per value.
async fn write_rows(
    txn: &DatabaseTransaction,
    table: &str,
    columns: &[&str],
    key: usize,
    values: Vec<sea_orm::Value>,
) -> Result<(), DbErr> {
    use std::fmt::Write;

    let backend = txn.get_database_backend();
    let per_row = columns.len();
    let mut values = values.into_iter();
    let mut left = values.len() / per_row;
    while left > 0 {
        let rows = left.min(ROWS_PER_STATEMENT);
        left -= rows;
        let mut sql = String::with_capacity(200 + rows * per_row * 8);
        let _ = write!(sql, "INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        let mut n = 0;
        for r in 0..rows {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for c in 0..per_row {
                n += 1;
                if c > 0 {
                    sql.push_str(", ");
                }
                placeholder(&mut sql, backend, n);
            }
            sql.push(')');
        }
        let _ = write!(
            sql,
            " ON CONFLICT ({}) DO UPDATE SET ",
            columns[..key].join(", ")
        );
        for (k, c) in columns[key..].iter().enumerate() {
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

/// The `n`th (from 1) bound parameter.
fn placeholder(sql: &mut String, backend: DbBackend, n: usize) {
    use std::fmt::Write;
    match backend {
        DbBackend::Postgres => {
            let _ = write!(sql, "${n}");
        }
        _ => sql.push('?'),
    }
}

/// Lines per DELETE statement (two parameters each).
const LINES_PER_DELETE: usize = 500;

/// Deletes the given (order id, sku) lines of a generation.
async fn delete_lines(
    txn: &DatabaseTransaction,
    generation: i32,
    deleted: Vec<(String, String)>,
) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    for chunk in deleted.chunks(LINES_PER_DELETE) {
        let mut sql = String::from("DELETE FROM order_detail_lines WHERE generation = ");
        placeholder(&mut sql, backend, 1);
        sql.push_str(" AND (");
        let mut values: Vec<sea_orm::Value> = Vec::with_capacity(1 + chunk.len() * 2);
        values.push(generation.into());
        for (k, (order_id, sku)) in chunk.iter().enumerate() {
            if k > 0 {
                sql.push_str(" OR ");
            }
            sql.push_str("(order_id = ");
            placeholder(&mut sql, backend, values.len() + 1);
            sql.push_str(" AND sku = ");
            placeholder(&mut sql, backend, values.len() + 2);
            sql.push(')');
            values.push(order_id.clone().into());
            values.push(sku.clone().into());
        }
        sql.push(')');
        txn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
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
    let Some(header) = Entity::find_by_id((generation, order_id.to_string()))
        .one(db.conn())
        .await?
    else {
        return Ok(None);
    };
    Ok(with_lines(db.conn(), generation, vec![header]).await?.pop())
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
    let headers = query
        .order_by_desc(Column::CreatedPosition)
        .limit(limit)
        .all(db.conn())
        .await?;
    with_lines(db.conn(), generation, headers).await
}
