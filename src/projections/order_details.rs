//! `order_details`: one row per order, the state clients read.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::Value;

use super::{Projection, ProjectionError, Touched};
use crate::db::Db;
use crate::domain::order::{self, Order, OrderEvent, OrderStatus};
use crate::store::RecordedEvent;

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
        pub status: String,
        #[sea_orm(column_type = "JsonBinary")]
        pub items: Json,
        pub total_amount: String,
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
    pub order_id: String,
    pub order: Order,
    pub version: i32,
    /// Position of the OrderCreated event: the listing order and cursor.
    pub created_position: i64,
    pub last_position: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl OrderDetail {
    fn from_model(m: entity::Model) -> Result<OrderDetail, DbErr> {
        let corrupt =
            |what: &str| DbErr::Custom(format!("order_details {}: bad {what}", m.order_id));
        let order = Order {
            customer_id: m.customer_id.clone(),
            status: OrderStatus::parse(&m.status).ok_or_else(|| corrupt("status"))?,
            lines: serde_json::from_value(m.items.clone()).map_err(|_| corrupt("items"))?,
            total: m
                .total_amount
                .parse::<Decimal>()
                .map_err(|_| corrupt("total"))?,
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

/// The projection.
pub struct OrderDetails;

#[async_trait]
impl Projection for OrderDetails {
    fn name(&self) -> &'static str {
        NAME
    }

    fn handles(&self, _event_type: &str) -> bool {
        true
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
        let existing = Entity::find_by_id((generation, event.stream_id.clone()))
            .one(txn)
            .await?;
        let touched = Some(Touched {
            aggregate_id: event.stream_id.clone(),
            version: event.version,
        });
        let Some(row) = existing else {
            let Some(state) = order::evolve(None, &decoded) else {
                return Err(ProjectionError::handler(
                    event,
                    "no order_details row for this order",
                ));
            };
            let items = serde_json::to_value(&state.lines).unwrap_or(Value::Null);
            entity::ActiveModel {
                generation: Set(generation),
                order_id: Set(event.stream_id.clone()),
                customer_id: Set(state.customer_id.clone()),
                status: Set(state.status.as_str().to_owned()),
                items: Set(items),
                total_amount: Set(state.total.to_string()),
                tracking_number: Set(None),
                payment_reference: Set(None),
                cancel_reason: Set(None),
                version: Set(event.version),
                created_position: Set(event.position),
                last_position: Set(event.position),
                created_at: Set(event.recorded_at),
                updated_at: Set(event.recorded_at),
            }
            .insert(txn)
            .await?;
            return Ok(touched);
        };
        if row.version >= event.version {
            return Ok(None); // already applied
        }
        let detail = OrderDetail::from_model(row.clone())?;
        let Some(state) = order::evolve(Some(detail.order), &decoded) else {
            return Err(ProjectionError::handler(
                event,
                "event does not fit the order",
            ));
        };
        let mut active = row.into_active_model();
        active.status = Set(state.status.as_str().to_owned());
        active.items = Set(serde_json::to_value(&state.lines).unwrap_or(Value::Null));
        active.total_amount = Set(state.total.to_string());
        active.tracking_number = Set(state.tracking_number);
        active.payment_reference = Set(state.payment_reference);
        active.cancel_reason = Set(state.cancel_reason);
        active.version = Set(event.version);
        active.last_position = Set(event.position);
        active.updated_at = Set(event.recorded_at);
        active.update(txn).await?;
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
            .order_by_asc(Column::OrderId)
            .all(db.conn())
            .await?;
        Ok(rows
            .into_iter()
            .map(|m| {
                serde_json::json!([
                    m.order_id,
                    m.customer_id,
                    m.status,
                    m.items,
                    m.total_amount,
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
pub async fn get(db: &Db, generation: i32, order_id: &str) -> Result<Option<OrderDetail>, DbErr> {
    Entity::find_by_id((generation, order_id.to_owned()))
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
        query = query.filter(Column::Status.eq(status.as_str()));
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
