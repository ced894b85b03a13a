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

use super::{Projection, ProjectionError, Touched};
use crate::db::Db;
use crate::domain::order::{OrderEvent, OrderStatus};
use crate::store::RecordedEvent;

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
        pub status: String,
        pub total_amount: String,
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
    pub order_id: String,
    pub status: OrderStatus,
    pub total_amount: Decimal,
    pub created_position: i64,
    pub created_at: DateTime<Utc>,
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

    fn handles(&self, event_type: &str) -> bool {
        event_type.starts_with("Order") || event_type.starts_with("Item")
    }

    /// Gathers each order's final status and total over the batch, then
    /// writes each order once.
    async fn apply_batch(
        &self,
        txn: &DatabaseTransaction,
        generation: i32,
        events: &[&RecordedEvent],
    ) -> Result<Vec<Touched>, (usize, ProjectionError)> {
        let mut pending: HashMap<String, Pending> = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        let mut touched = Vec::new();
        for (i, event) in events.iter().enumerate() {
            if event.stream_type != "Order" {
                continue;
            }
            let decoded: OrderEvent = event.decode().map_err(|e| (i, e.into()))?;
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
                        status: OrderStatus::Pending.as_str().to_owned(),
                        total_amount: created.total.to_string(),
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
                    row.status = status.as_str().to_owned();
                }
                if let Some(total) = entry.total {
                    row.total_amount = total.to_string();
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
                update = update.col_expr(Column::TotalAmount, Expr::value(total.to_string()));
            }
            if let Some(status) = p.status {
                update = update.col_expr(Column::Status, Expr::value(status.as_str()));
            }
            let result = update
                .exec(txn)
                .await
                .map_err(|e| (p.last_index, e.into()))?;
            if result.rows_affected == 0 {
                let event = events[p.last_index];
                return Err((
                    p.last_index,
                    ProjectionError::handler(event, "no history row for this order"),
                ));
            }
        }
        if !inserts.is_empty() {
            Entity::insert_many(inserts)
                .exec_without_returning(txn)
                .await
                .map_err(|e| (0, e.into()))?;
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
                    m.status,
                    m.total_amount,
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
    query
        .order_by_desc(Column::CreatedPosition)
        .limit(limit)
        .all(db.conn())
        .await?
        .into_iter()
        .map(|m| {
            Ok(CustomerOrder {
                status: OrderStatus::parse(&m.status)
                    .ok_or_else(|| DbErr::Custom(format!("bad status {}", m.status)))?,
                total_amount: m
                    .total_amount
                    .parse()
                    .map_err(|_| DbErr::Custom(format!("bad total {}", m.total_amount)))?,
                order_id: m.order_id,
                created_position: m.created_position,
                created_at: m.created_at,
                updated_at: m.updated_at,
            })
        })
        .collect()
}
