//! `salesStats`: the analytics read model.

use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::error::ApiError;
use super::scalars::Money;
use super::{read_models, request_context};
use crate::projections::sales_stats;

/// One UTC day of sales.
#[derive(SimpleObject, Debug, Clone)]
pub struct DailySales {
    /// YYYY-MM-DD (UTC).
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
    /// Sum of payments received that day.
    pub revenue: Money,
}

impl From<sales_stats::DailySales> for DailySales {
    fn from(d: sales_stats::DailySales) -> Self {
        DailySales {
            day: d.day,
            orders_created: d.orders_created,
            orders_placed: d.orders_placed,
            orders_paid: d.orders_paid,
            orders_shipped: d.orders_shipped,
            orders_cancelled: d.orders_cancelled,
            revenue: Money(d.revenue),
        }
    }
}

/// Sales over a range of days, with totals.
#[derive(SimpleObject, Debug, Clone)]
pub struct SalesStats {
    /// Each day with any activity, oldest first.
    pub days: Vec<DailySales>,
    /// Orders created in the range.
    pub orders_created: i64,
    /// Orders placed in the range.
    pub orders_placed: i64,
    /// Orders paid in the range.
    pub orders_paid: i64,
    /// Orders shipped in the range.
    pub orders_shipped: i64,
    /// Orders cancelled in the range.
    pub orders_cancelled: i64,
    /// Payments received in the range.
    pub revenue: Money,
}

/// The sales query.
#[derive(Default)]
pub struct SalesQuery;

#[Object]
impl SalesQuery {
    /// Sales per UTC day in `[from, to]` (both optional, inclusive), with
    /// totals. Staff and admins only.
    async fn sales_stats(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "First day (UTC, inclusive).")] from: Option<NaiveDate>,
        #[graphql(desc = "Last day (UTC, inclusive).")] to: Option<NaiveDate>,
    ) -> Result<SalesStats> {
        request_context(ctx).require_staff()?;
        let read = read_models(ctx);
        let generation = read
            .live_generation(sales_stats::NAME)
            .await
            .map_err(ApiError::from)?;
        let from = from.map(|d| d.format("%Y-%m-%d").to_string());
        let to = to.map(|d| d.format("%Y-%m-%d").to_string());
        let days = sales_stats::list(read.db(), generation, from.as_deref(), to.as_deref())
            .await
            .map_err(ApiError::from)?;
        let sum = |f: fn(&sales_stats::DailySales) -> i64| {
            days.iter().map(f).fold(0i64, i64::saturating_add)
        };
        let revenue = days
            .iter()
            .try_fold(Decimal::ZERO, |acc, d| acc.checked_add(d.revenue))
            .ok_or_else(|| ApiError::internal(&"sales revenue over the range overflows"))?;
        Ok(SalesStats {
            orders_created: sum(|d| d.orders_created),
            orders_placed: sum(|d| d.orders_placed),
            orders_paid: sum(|d| d.orders_paid),
            orders_shipped: sum(|d| d.orders_shipped),
            orders_cancelled: sum(|d| d.orders_cancelled),
            revenue: Money(revenue),
            days: days.into_iter().map(DailySales::from).collect(),
        })
    }
}
