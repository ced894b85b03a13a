//! `sales_stats`: an analytics read model, per UTC day: orders created,
//! placed, paid, shipped and cancelled, and revenue (sum of payments).

use async_trait::async_trait;
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, Set,
};
use serde_json::Value;

use super::{Projection, ProjectionError, Touched};
use crate::db::Db;
use crate::domain::order::OrderEvent;
use crate::store::RecordedEvent;

pub const NAME: &str = "sales_stats";

pub(crate) mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "sales_stats")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub generation: i32,
        #[sea_orm(primary_key, auto_increment = false)]
        pub day: String,
        pub orders_created: i64,
        pub orders_placed: i64,
        pub orders_paid: i64,
        pub orders_shipped: i64,
        pub orders_cancelled: i64,
        pub revenue: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use entity::{Column, Entity};

/// One day of sales.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DailySales {
    /// YYYY-MM-DD, UTC.
    pub day: String,
    pub orders_created: i64,
    pub orders_placed: i64,
    pub orders_paid: i64,
    pub orders_shipped: i64,
    pub orders_cancelled: i64,
    pub revenue: Decimal,
}

/// The projection.
pub struct SalesStats;

#[async_trait]
impl Projection for SalesStats {
    fn name(&self) -> &'static str {
        NAME
    }

    fn handles(&self, event_type: &str) -> bool {
        matches!(
            event_type,
            "OrderCreated" | "OrderPlaced" | "OrderPaid" | "OrderShipped" | "OrderCancelled"
        )
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
        let day = event.recorded_at.format("%Y-%m-%d").to_string();
        let existing = Entity::find_by_id((generation, day.clone()))
            .one(txn)
            .await?;
        let mut stats = match &existing {
            Some(m) => from_model(m.clone())?,
            None => DailySales {
                day: day.clone(),
                ..DailySales::default()
            },
        };
        match &decoded {
            OrderEvent::OrderCreated(_) => stats.orders_created += 1,
            OrderEvent::OrderPlaced(_) => stats.orders_placed += 1,
            OrderEvent::OrderPaid(e) => {
                stats.orders_paid += 1;
                stats.revenue += e.amount;
            }
            OrderEvent::OrderShipped(_) => stats.orders_shipped += 1,
            OrderEvent::OrderCancelled(_) => stats.orders_cancelled += 1,
            OrderEvent::ItemAdded(_) | OrderEvent::ItemRemoved(_) => return Ok(None),
        }
        let is_new = existing.is_none();
        let mut active = match existing {
            Some(m) => m.into_active_model(),
            None => entity::ActiveModel {
                generation: Set(generation),
                day: Set(day),
                ..Default::default()
            },
        };
        active.orders_created = Set(stats.orders_created);
        active.orders_placed = Set(stats.orders_placed);
        active.orders_paid = Set(stats.orders_paid);
        active.orders_shipped = Set(stats.orders_shipped);
        active.orders_cancelled = Set(stats.orders_cancelled);
        active.revenue = Set(stats.revenue.to_string());
        if is_new {
            active.insert(txn).await?;
        } else {
            active.update(txn).await?;
        }
        Ok(Some(Touched {
            aggregate_id: event.stream_id.clone(),
            version: event.version,
        }))
    }

    async fn clear(&self, txn: &DatabaseTransaction, generation: i32) -> Result<(), DbErr> {
        Entity::delete_many()
            .filter(Column::Generation.eq(generation))
            .exec(txn)
            .await?;
        Ok(())
    }

    async fn dump(&self, db: &Db, generation: i32) -> Result<Vec<Value>, DbErr> {
        Ok(list(db, generation, None, None)
            .await?
            .into_iter()
            .map(|d| {
                serde_json::json!([
                    d.day,
                    d.orders_created,
                    d.orders_placed,
                    d.orders_paid,
                    d.orders_shipped,
                    d.orders_cancelled,
                    d.revenue.to_string()
                ])
            })
            .collect())
    }
}

fn from_model(m: entity::Model) -> Result<DailySales, DbErr> {
    Ok(DailySales {
        revenue: m
            .revenue
            .parse()
            .map_err(|_| DbErr::Custom(format!("sales_stats {}: bad revenue", m.day)))?,
        day: m.day,
        orders_created: m.orders_created,
        orders_placed: m.orders_placed,
        orders_paid: m.orders_paid,
        orders_shipped: m.orders_shipped,
        orders_cancelled: m.orders_cancelled,
    })
}

/// Days in `[from, to]` (YYYY-MM-DD, inclusive), oldest first.
pub async fn list(
    db: &Db,
    generation: i32,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Vec<DailySales>, DbErr> {
    let mut query = Entity::find().filter(Column::Generation.eq(generation));
    if let Some(from) = from {
        query = query.filter(Column::Day.gte(from));
    }
    if let Some(to) = to {
        query = query.filter(Column::Day.lte(to));
    }
    query
        .order_by_asc(Column::Day)
        .all(db.conn())
        .await?
        .into_iter()
        .map(from_model)
        .collect()
}
