//! `sales_stats`: an analytics read model, per UTC day: orders created,
//! placed, paid, shipped and cancelled, and revenue (sum of payments).

use async_trait::async_trait;
use rust_decimal::Decimal;
use std::collections::{BTreeSet, HashMap};

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::Value;

use super::columns::MoneyColumn;
use super::{BatchError, Projection, ProjectionError, Touched, decode_batch, upsert};
use crate::db::Db;
use crate::domain::Aggregate;
use crate::domain::order::{OrderAggregate, OrderEvent};
use crate::store::RecordedEvent;

/// The projection's (and checkpoint's) name.
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
        pub revenue: super::MoneyColumn,
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
    /// Orders created that day.
    pub orders_created: i64,
    /// Orders placed that day.
    pub orders_placed: i64,
    /// Orders paid that day.
    pub orders_paid: i64,
    /// Orders shipped that day.
    pub orders_shipped: i64,
    /// Orders cancelled that day.
    pub orders_cancelled: i64,
    /// Sum of the payments received that day.
    pub revenue: Decimal,
}

/// The projection.
pub struct SalesStats;

#[async_trait]
impl Projection for SalesStats {
    fn name(&self) -> &'static str {
        NAME
    }

    fn handles(&self, stream_type: &str, event_type: &str) -> bool {
        stream_type == OrderAggregate::STREAM_TYPE
            && matches!(
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
    ) -> Result<Vec<Touched>, BatchError> {
        let day_of = |e: &RecordedEvent| e.recorded_at.format("%Y-%m-%d").to_string();
        let days: BTreeSet<String> = events.iter().map(|e| day_of(e)).collect();
        let mut rows: HashMap<String, DailySales> = HashMap::new();
        if !days.is_empty() {
            let existing = Entity::find()
                .filter(Column::Generation.eq(generation))
                .filter(Column::Day.is_in(days.iter().cloned()))
                .all(txn)
                .await
                .map_err(|e| BatchError::at(0, e))?;
            for m in existing {
                let stats = from_model(m);
                rows.insert(stats.day.clone(), stats);
            }
        }
        let mut touched = Vec::new();
        for item in decode_batch::<OrderAggregate>(events) {
            let (i, event, decoded) = item?;
            let day = day_of(event);
            let stats = rows.entry(day.clone()).or_insert_with(|| DailySales {
                day,
                ..DailySales::default()
            });
            // Checked arithmetic: an overflow fails this projection at this
            // event (FAILED, with the position), never a panic.
            let overflow =
                || BatchError::at(i, ProjectionError::handler(event, "sales figures overflow"));
            let count = |n: &mut i64| -> Result<(), BatchError> {
                *n = n.checked_add(1).ok_or_else(overflow)?;
                Ok(())
            };
            match &decoded {
                OrderEvent::OrderCreated(_) => count(&mut stats.orders_created)?,
                OrderEvent::OrderPlaced(_) => count(&mut stats.orders_placed)?,
                OrderEvent::OrderPaid(e) => {
                    count(&mut stats.orders_paid)?;
                    stats.revenue = stats.revenue.checked_add(e.amount).ok_or_else(overflow)?;
                }
                OrderEvent::OrderShipped(_) => count(&mut stats.orders_shipped)?,
                OrderEvent::OrderCancelled(_) => count(&mut stats.orders_cancelled)?,
                OrderEvent::ItemAdded(_) | OrderEvent::ItemRemoved(_) => continue,
            }
            touched.push(Touched::by(event));
        }
        // Every day touched, in one statement (a batch spans a few days).
        let days: Vec<entity::ActiveModel> = rows
            .into_values()
            .map(|stats| entity::ActiveModel {
                generation: Set(generation),
                day: Set(stats.day),
                orders_created: Set(stats.orders_created),
                orders_placed: Set(stats.orders_placed),
                orders_paid: Set(stats.orders_paid),
                orders_shipped: Set(stats.orders_shipped),
                orders_cancelled: Set(stats.orders_cancelled),
                revenue: Set(stats.revenue.into()),
            })
            .collect();
        let replaced = [
            Column::OrdersCreated,
            Column::OrdersPlaced,
            Column::OrdersPaid,
            Column::OrdersShipped,
            Column::OrdersCancelled,
            Column::Revenue,
        ];
        let key = [Column::Generation, Column::Day];
        upsert(
            txn,
            days,
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

fn from_model(m: entity::Model) -> DailySales {
    DailySales {
        revenue: m.revenue.0,
        day: m.day,
        orders_created: m.orders_created,
        orders_placed: m.orders_placed,
        orders_paid: m.orders_paid,
        orders_shipped: m.orders_shipped,
        orders_cancelled: m.orders_cancelled,
    }
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
    Ok(query
        .order_by_asc(Column::Day)
        .all(db.conn())
        .await?
        .into_iter()
        .map(from_model)
        .collect())
}
