//! `customer_order_history`: per customer, their orders newest first.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, prelude::Expr,
};
use serde_json::Value;

use super::columns::{MoneyColumn, StatusColumn};
use super::{BatchError, Projection, ProjectionError, Touched, decode_batch};
use crate::db::Db;
use crate::domain::Aggregate;
use crate::domain::order::{OrderAggregate, OrderEvent, OrderStatus};
use crate::store::RecordedEvent;

/// The projection's (and checkpoint's) name.
pub const NAME: &str = "customer_order_history";

pub(crate) mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "customer_order_history")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub generation: i32,
        #[sea_orm(primary_key, auto_increment = false)]
        pub customer_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub order_id: String,
        pub status: super::StatusColumn,
        pub total_amount: super::MoneyColumn,
        pub created_position: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use entity::{Column, Entity};

/// One line of a customer's history.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerOrder {
    /// The order's id.
    pub order_id: String,
    /// Its current status.
    pub status: OrderStatus,
    /// Its current total.
    pub total_amount: Decimal,
    /// Position of its OrderCreated event: the listing order and cursor.
    pub created_position: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its last event was recorded.
    pub updated_at: DateTime<Utc>,
}

/// One order's changes within a batch.
#[derive(Default)]
struct Pending {
    /// Set when the batch creates the order.
    insert: Option<entity::Model>,
    status: Option<OrderStatus>,
    total: Option<Decimal>,
    updated_at: Option<DateTime<Utc>>,
    /// The batch index of the order's last event, for error reports.
    last_index: usize,
}

/// The projection.
pub struct CustomerOrderHistory;

#[async_trait]
impl Projection for CustomerOrderHistory {
    fn name(&self) -> &'static str {
        NAME
    }

    fn handles(&self, stream_type: &str, _event_type: &str) -> bool {
        // Every Order event can change a status or a total.
        stream_type == OrderAggregate::STREAM_TYPE
    }

    /// Gathers each order's final status and total over the batch, then
    /// writes each order once.
    async fn apply_batch(
        &self,
        txn: &DatabaseTransaction,
        generation: i32,
        events: &[&RecordedEvent],
    ) -> Result<Vec<Touched>, BatchError> {
        let mut pending: HashMap<String, Pending> = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        let mut touched = Vec::new();
        for item in decode_batch::<OrderAggregate>(events) {
            let (i, event, decoded) = item?;
            let entry = pending.entry(event.stream_id.clone()).or_insert_with(|| {
                order.push(event.stream_id.clone());
                Pending::default()
            });
            entry.last_index = i;
            entry.updated_at = Some(event.recorded_at);
            match &decoded {
                OrderEvent::OrderCreated(created) => {
                    entry.insert = Some(entity::Model {
                        generation,
                        customer_id: created.customer_id.clone(),
                        order_id: event.stream_id.clone(),
                        status: OrderStatus::Pending.into(),
                        total_amount: created.total.into(),
                        created_position: event.position,
                        created_at: event.recorded_at,
                        updated_at: event.recorded_at,
                    });
                }
                OrderEvent::ItemAdded(e) => entry.total = Some(e.total),
                OrderEvent::ItemRemoved(e) => entry.total = Some(e.total),
                OrderEvent::OrderPlaced(e) => {
                    entry.total = Some(e.total);
                    entry.status = Some(OrderStatus::Placed);
                }
                OrderEvent::OrderPaid(_) => entry.status = Some(OrderStatus::Paid),
                OrderEvent::OrderShipped(_) => entry.status = Some(OrderStatus::Shipped),
                OrderEvent::OrderCancelled(_) => entry.status = Some(OrderStatus::Cancelled),
            }
            if let Some(row) = &mut entry.insert {
                if let Some(status) = entry.status {
                    row.status = status.into();
                }
                if let Some(total) = entry.total {
                    row.total_amount = total.into();
                }
                row.updated_at = event.recorded_at;
            }
            touched.push(Touched::by(event));
        }
        let mut inserts = Vec::new();
        for id in order {
            let Some(p) = pending.remove(&id) else {
                continue;
            };
            if let Some(row) = p.insert {
                inserts.push(row.into_active_model());
                continue;
            }
            let mut update = Entity::update_many()
                .filter(Column::Generation.eq(generation))
                .filter(Column::OrderId.eq(id.as_str()));
            if let Some(at) = p.updated_at {
                update = update.col_expr(Column::UpdatedAt, Expr::value(at));
            }
            if let Some(total) = p.total {
                update = update.col_expr(Column::TotalAmount, Expr::value(MoneyColumn(total)));
            }
            if let Some(status) = p.status {
                update = update.col_expr(Column::Status, Expr::value(StatusColumn(status)));
            }
            let result = update
                .exec(txn)
                .await
                .map_err(|e| BatchError::at(p.last_index, e))?;
            if result.rows_affected == 0 {
                let event = events[p.last_index];
                return Err(BatchError::at(
                    p.last_index,
                    ProjectionError::handler(event, "no history row for this order"),
                ));
            }
        }
        if !inserts.is_empty() {
            Entity::insert_many(inserts)
                .exec_without_returning(txn)
                .await
                .map_err(|e| BatchError::at(0, e))?;
        }
        Ok(touched)
    }

    async fn clear(&self, txn: &DatabaseTransaction, generation: i32) -> Result<(), DbErr> {
        super::clear_generation::<Entity>(txn, Column::Generation, generation).await
    }

    async fn dump(&self, db: &Db, generation: i32) -> Result<Vec<Value>, DbErr> {
        let rows = Entity::find()
            .filter(Column::Generation.eq(generation))
            .order_by_asc(Column::CustomerId)
            .order_by_asc(Column::OrderId)
            .all(db.conn())
            .await?;
        Ok(rows
            .into_iter()
            .map(|m| {
                serde_json::json!([
                    m.customer_id,
                    m.order_id,
                    m.status.to_string(),
                    m.total_amount.to_string(),
                    m.created_position,
                    m.created_at,
                    m.updated_at
                ])
            })
            .collect())
    }
}

/// A customer's orders newest first, after a cursor (a created_position).
pub async fn list(
    db: &Db,
    generation: i32,
    customer_id: &str,
    before_position: Option<i64>,
    limit: u64,
) -> Result<Vec<CustomerOrder>, DbErr> {
    let mut query = Entity::find()
        .filter(Column::Generation.eq(generation))
        .filter(Column::CustomerId.eq(customer_id));
    if let Some(before) = before_position {
        query = query.filter(Column::CreatedPosition.lt(before));
    }
    let rows = query
        .order_by_desc(Column::CreatedPosition)
        .limit(limit)
        .all(db.conn())
        .await?;
    Ok(rows
        .into_iter()
        .map(|m| CustomerOrder {
            status: m.status.0,
            total_amount: m.total_amount.0,
            order_id: m.order_id,
            created_position: m.created_position,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
        .collect())
}
