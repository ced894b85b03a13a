//! `customer_order_history`: per customer, their orders newest first.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, prelude::Expr,
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

    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        generation: i32,
        event: &RecordedEvent,
    ) -> Result<Option<Touched>, ProjectionError> {
        if event.stream_type != "Order" {
            return Ok(None);
        }
        let decoded: OrderEvent = event.decode()?;
        let touched = Some(Touched {
            aggregate_id: event.stream_id.clone(),
            version: event.version,
        });
        if let OrderEvent::OrderCreated(created) = &decoded {
            entity::ActiveModel {
                generation: Set(generation),
                customer_id: Set(created.customer_id.clone()),
                order_id: Set(event.stream_id.clone()),
                status: Set(OrderStatus::Pending.as_str().to_owned()),
                total_amount: Set(created.total.to_string()),
                created_position: Set(event.position),
                created_at: Set(event.recorded_at),
                updated_at: Set(event.recorded_at),
            }
            .insert(txn)
            .await?;
            return Ok(touched);
        }
        let total = match &decoded {
            OrderEvent::ItemAdded(e) => Some(e.total),
            OrderEvent::ItemRemoved(e) => Some(e.total),
            OrderEvent::OrderPlaced(e) => Some(e.total),
            _ => None,
        };
        let mut update = Entity::update_many()
            .col_expr(Column::UpdatedAt, Expr::value(event.recorded_at))
            .filter(Column::Generation.eq(generation))
            .filter(Column::OrderId.eq(event.stream_id.as_str()));
        if let Some(total) = total {
            update = update.col_expr(Column::TotalAmount, Expr::value(total.to_string()));
        }
        let status = match &decoded {
            OrderEvent::OrderPlaced(_)
            | OrderEvent::OrderPaid(_)
            | OrderEvent::OrderShipped(_)
            | OrderEvent::OrderCancelled(_) => Some(decoded.resulting_status(None)),
            _ => None,
        };
        if let Some(status) = status {
            update = update.col_expr(Column::Status, Expr::value(status.as_str()));
        }
        let result = update.exec(txn).await?;
        if result.rows_affected == 0 {
            return Err(ProjectionError::handler(
                event,
                "no history row for this order",
            ));
        }
        Ok(touched)
    }

    async fn clear(&self, txn: &DatabaseTransaction, generation: i32) -> Result<(), DbErr> {
        Entity::delete_many()
            .filter(Column::Generation.eq(generation))
            .exec(txn)
            .await?;
        Ok(())
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
