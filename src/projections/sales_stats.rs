//! `sales_stats`: an analytics read model, per UTC day: orders created,
//! placed, paid, shipped and cancelled, and revenue (sum of payments).

use async_trait::async_trait;
use rust_decimal::Decimal;
use std::collections::{BTreeSet, HashMap};

use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter,
    QueryOrder, Set,
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

    /// Counts in memory per day, then writes each day's row once.
    async fn apply_batch(
        &self,
        txn: &DatabaseTransaction,
        generation: i32,
        events: &[&RecordedEvent],
    ) -> Result<Vec<Touched>, (usize, ProjectionError)> {
        let day_of = |e: &RecordedEvent| e.recorded_at.format("%Y-%m-%d").to_string();
        let days: BTreeSet<String> = events.iter().map(|e| day_of(e)).collect();
        // (stats, exists in the table)
        let mut rows: HashMap<String, (DailySales, bool)> = HashMap::new();
        if !days.is_empty() {
            let existing = Entity::find()
                .filter(Column::Generation.eq(generation))
                .filter(Column::Day.is_in(days.iter().cloned()))
                .all(txn)
                .await
                .map_err(|e| (0, e.into()))?;
            for m in existing {
                let stats = from_model(m).map_err(|e| (0, e.into()))?;
                rows.insert(stats.day.clone(), (stats, true));
            }
        }
        let mut touched = Vec::new();
        for (i, event) in events.iter().enumerate() {
            if event.stream_type != "Order" {
                continue;
            }
            let decoded: OrderEvent = event.decode().map_err(|e| (i, e.into()))?;
            let day = day_of(event);
            let (stats, _) = rows.entry(day.clone()).or_insert_with(|| {
                (
                    DailySales {
                        day,
                        ..DailySales::default()
                    },
                    false,
                )
            });
            match &decoded {
                OrderEvent::OrderCreated(_) => stats.orders_created += 1,
                OrderEvent::OrderPlaced(_) => stats.orders_placed += 1,
                OrderEvent::OrderPaid(e) => {
                    stats.orders_paid += 1;
                    stats.revenue += e.amount;
                }
                OrderEvent::OrderShipped(_) => stats.orders_shipped += 1,
                OrderEvent::OrderCancelled(_) => stats.orders_cancelled += 1,
                OrderEvent::ItemAdded(_) | OrderEvent::ItemRemoved(_) => continue,
            }
            touched.push(Touched::by(event));
        }
        for (stats, exists) in rows.into_values() {
            let active = entity::ActiveModel {
                generation: Set(generation),
                day: Set(stats.day),
                orders_created: Set(stats.orders_created),
                orders_placed: Set(stats.orders_placed),
                orders_paid: Set(stats.orders_paid),
                orders_shipped: Set(stats.orders_shipped),
                orders_cancelled: Set(stats.orders_cancelled),
                revenue: Set(stats.revenue.to_string()),
            };
            let written = if exists {
                active.update(txn).await.map(|_| ())
            } else {
                active.insert(txn).await.map(|_| ())
            };
            written.map_err(|e| (0, e.into()))?;
        }
        Ok(touched)
    }

    async fn clear(&self, txn: &DatabaseTransaction, generation: i32) -> Result<(), DbErr> {
        super::clear_generation::<Entity>(txn, Column::Generation, generation).await
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
