//! `order_details`: one row per order, the state clients read.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashMap};

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::Value;

use super::columns::{MoneyColumn, StatusColumn};
use super::{BatchError, Projection, ProjectionError, Touched, decode_batch, upsert};
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

impl Pending {
    fn into_active(self, generation: i32) -> entity::ActiveModel {
        let d = self.detail;
        entity::ActiveModel {
            generation: Set(generation),
            order_id: Set(d.order_id),
            customer_id: Set(d.order.customer_id),
            status: Set(d.order.status.into()),
            items: Set(serde_json::to_value(&d.order.lines).unwrap_or(Value::Null)),
            total_amount: Set(d.order.total.into()),
            tracking_number: Set(d.order.tracking_number),
            payment_reference: Set(d.order.payment_reference),
            cancel_reason: Set(d.order.cancel_reason),
            version: Set(d.version),
            created_position: Set(d.created_position),
            last_position: Set(d.last_position),
            created_at: Set(d.created_at),
            updated_at: Set(d.updated_at),
        }
    }
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

    /// Reads each order of the batch once, folds its events in memory with
    /// the domain's `evolve`, and writes each changed row once.
    async fn apply_batch(
        &self,
        txn: &DatabaseTransaction,
        generation: i32,
        events: &[&RecordedEvent],
    ) -> Result<Vec<Touched>, BatchError> {
        let ids: BTreeSet<&str> = events.iter().map(|e| e.stream_id.as_str()).collect();
        let mut rows: HashMap<String, Pending> = HashMap::new();
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
        let mut touched = Vec::new();
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
        // Each changed row as committed, on its order's last touch, for the
        // read cache.
        let last_touch: HashMap<String, usize> = touched
            .iter()
            .enumerate()
            .map(|(i, t)| (t.aggregate_id.clone(), i))
            .collect();
        for row in rows.values().filter(|r| r.changed) {
            if let Some(&i) = last_touch.get(&row.detail.order_id) {
                touched[i].row = Some(std::sync::Arc::new(row.detail.clone()));
            }
        }
        // Every changed row, new or not, in one statement.
        let changed: Vec<entity::ActiveModel> = rows
            .into_values()
            .filter(|r| r.changed)
            .map(|r| r.into_active(generation))
            .collect();
        let replaced = [
            Column::CustomerId,
            Column::Status,
            Column::Items,
            Column::TotalAmount,
            Column::TrackingNumber,
            Column::PaymentReference,
            Column::CancelReason,
            Column::Version,
            Column::CreatedPosition,
            Column::LastPosition,
            Column::CreatedAt,
            Column::UpdatedAt,
        ];
        let key = [Column::Generation, Column::OrderId];
        upsert(
            txn,
            changed,
            OnConflict::columns(key).update_columns(replaced).to_owned(),
        )
        .await
        .map_err(|e| BatchError::at(0, e))?;
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
