//! Queries over the read models: listings as Relay connections, sales
//! statistics and the projections' own status.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDate;

use super::error::ApiError;
use super::scalars::Money;
use super::types::{Order, OrderStatus};
use super::{read_models, request_context};
use crate::auth::Role;
use crate::projections::{
    Checkpoint, ProjectionState, customer_order_history, order_details, rebuild, sales_stats,
};

/// Page size when `first` is not given.
pub const DEFAULT_PAGE: i32 = 20;
/// Largest `first` accepted.
pub const MAX_PAGE: i32 = 100;

/// Encodes a listing position as an opaque cursor.
fn cursor(created_position: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("c1:{created_position}"))
}

fn parse_cursor(cursor: &str) -> Result<i64, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|s| s.strip_prefix("c1:").and_then(|p| p.parse().ok()))
        .ok_or_else(|| ApiError::validation("`after` is not a cursor this server issued"))
}

/// Validates a connection's `first` (default 20, at most 100).
pub(crate) fn page_size(first: Option<i32>) -> Result<u64, ApiError> {
    match first.unwrap_or(DEFAULT_PAGE) {
        n if n < 0 => Err(ApiError::validation("`first` must not be negative")),
        n if n > MAX_PAGE => Err(ApiError::validation(format!(
            "`first` must be at most {MAX_PAGE}"
        ))),
        n => Ok(n as u64),
    }
}

/// An order in a customer's history.
#[derive(SimpleObject, Debug, Clone)]
pub struct CustomerOrder {
    pub order_id: ID,
    pub status: OrderStatus,
    pub total_amount: Money,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// One UTC day of sales.
#[derive(SimpleObject, Debug, Clone)]
pub struct DailySales {
    /// YYYY-MM-DD (UTC).
    pub day: String,
    pub orders_created: i64,
    pub orders_placed: i64,
    pub orders_paid: i64,
    pub orders_shipped: i64,
    pub orders_cancelled: i64,
    /// Sum of payments received that day.
    pub revenue: Money,
}

/// Sales over a range of days, with totals.
#[derive(SimpleObject, Debug, Clone)]
pub struct SalesStats {
    pub days: Vec<DailySales>,
    pub orders_created: i64,
    pub orders_placed: i64,
    pub orders_paid: i64,
    pub orders_shipped: i64,
    pub orders_cancelled: i64,
    pub revenue: Money,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "ProjectionState")]
pub enum ProjectionStateGql {
    /// Applying events as they come.
    Running,
    /// Stopped at `failedPosition`; retried with backoff.
    Failed,
}

/// How far a projection has got.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(name = "ProjectionStatus")]
pub struct ProjectionStatus {
    pub name: String,
    /// The last position applied (a decimal i64).
    pub position: String,
    /// The latest position in the event store.
    pub head: String,
    /// Events in the store not yet applied.
    pub lag: i64,
    /// Age in seconds of the oldest event not yet applied (0 when caught up).
    pub lag_seconds: f64,
    #[graphql(name = "state")]
    pub state: ProjectionStateGql,
    pub last_error: Option<String>,
    /// Where a FAILED projection stopped.
    pub failed_position: Option<String>,
    /// Events applied per second over the last seconds (by this instance).
    pub events_per_second: f64,
    /// The read model generation being served.
    pub generation: i32,
    /// A rebuild in progress beside the live generation, if any.
    pub rebuild: Option<RebuildJob>,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebuildState {
    Running,
    /// The rebuilt generation is live.
    Done,
    Failed,
}

/// A rebuild of a read model beside the live one.
#[derive(SimpleObject, Debug, Clone)]
pub struct RebuildJob {
    pub projection: String,
    /// The generation being built.
    pub generation: i32,
    /// The generation it replaces.
    pub replaces: i32,
    /// How far the new generation has got (a decimal i64).
    pub position: String,
    pub head: String,
    /// Events still to apply before the switch.
    pub lag: i64,
    /// Events applied by this run so far (0 if run by another process).
    pub events_done: i64,
    pub events_per_second: f64,
    pub state: RebuildState,
    pub error: Option<String>,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl RebuildJob {
    pub(crate) fn from_status(s: &rebuild::RebuildStatus, lag: i64, rate: f64) -> RebuildJob {
        RebuildJob {
            projection: s.projection.clone(),
            generation: s.generation,
            replaces: s.replaces,
            position: s.position.to_string(),
            head: s.head.max(s.position).to_string(),
            lag,
            events_done: s.events_done as i64,
            events_per_second: rate,
            state: match s.state {
                rebuild::RebuildState::Running => RebuildState::Running,
                rebuild::RebuildState::Done => RebuildState::Done,
                rebuild::RebuildState::Failed => RebuildState::Failed,
            },
            error: s.error.clone(),
            started_at: Some(s.started_at),
        }
    }
}

#[derive(Default)]
pub struct ReadQuery;

#[Object]
impl ReadQuery {
    /// Orders, newest first; customers see only their own.
    async fn orders(
        &self,
        ctx: &Context<'_>,
        status: Option<OrderStatus>,
        customer_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Order>> {
        let rc = request_context(ctx);
        let (_, role, own) = rc.user()?;
        let customer_id = match (role, customer_id) {
            (Role::Customer, Some(c)) => {
                rc.require_customer_access(&c)?;
                Some(c.0)
            }
            (Role::Customer, None) => own.map(str::to_owned),
            (_, c) => c.map(|c| c.0),
        };
        let limit = page_size(first)?;
        let before = after.as_deref().map(parse_cursor).transpose()?;
        let read = read_models(ctx);
        let generation = read
            .live_generation(order_details::NAME)
            .await
            .map_err(|e| ApiError::internal(&e))?;
        let mut rows = order_details::list(
            read.db(),
            generation,
            status.map(Into::into),
            customer_id.as_deref(),
            before,
            limit + 1,
        )
        .await
        .map_err(|e| ApiError::internal(&e))?;
        let has_next = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let mut connection = Connection::new(before.is_some(), has_next);
        connection.edges.extend(
            rows.iter()
                .map(|d| Edge::new(cursor(d.created_position), Order::from_detail(d))),
        );
        Ok(connection)
    }

    /// A customer's orders, newest first.
    async fn customer_order_history(
        &self,
        ctx: &Context<'_>,
        customer_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, CustomerOrder>> {
        request_context(ctx).require_customer_access(&customer_id)?;
        let limit = page_size(first)?;
        let before = after.as_deref().map(parse_cursor).transpose()?;
        let read = read_models(ctx);
        let generation = read
            .live_generation(customer_order_history::NAME)
            .await
            .map_err(|e| ApiError::internal(&e))?;
        let mut rows =
            customer_order_history::list(read.db(), generation, &customer_id, before, limit + 1)
                .await
                .map_err(|e| ApiError::internal(&e))?;
        let has_next = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let mut connection = Connection::new(before.is_some(), has_next);
        connection.edges.extend(rows.into_iter().map(|r| {
            Edge::new(
                cursor(r.created_position),
                CustomerOrder {
                    order_id: ID(r.order_id),
                    status: r.status.into(),
                    total_amount: Money(r.total_amount),
                    created_at: r.created_at,
                    updated_at: r.updated_at,
                },
            )
        }));
        Ok(connection)
    }

    /// Sales per UTC day in `[from, to]` (both optional, inclusive).
    async fn sales_stats(
        &self,
        ctx: &Context<'_>,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<SalesStats> {
        request_context(ctx).require_staff()?;
        let read = read_models(ctx);
        let generation = read
            .live_generation(sales_stats::NAME)
            .await
            .map_err(|e| ApiError::internal(&e))?;
        let from = from.map(|d| d.format("%Y-%m-%d").to_string());
        let to = to.map(|d| d.format("%Y-%m-%d").to_string());
        let days = sales_stats::list(read.db(), generation, from.as_deref(), to.as_deref())
            .await
            .map_err(|e| ApiError::internal(&e))?;
        let sum = |f: fn(&sales_stats::DailySales) -> i64| days.iter().map(f).sum::<i64>();
        Ok(SalesStats {
            orders_created: sum(|d| d.orders_created),
            orders_placed: sum(|d| d.orders_placed),
            orders_paid: sum(|d| d.orders_paid),
            orders_shipped: sum(|d| d.orders_shipped),
            orders_cancelled: sum(|d| d.orders_cancelled),
            revenue: Money(days.iter().map(|d| d.revenue).sum()),
            days: days
                .into_iter()
                .map(|d| DailySales {
                    day: d.day,
                    orders_created: d.orders_created,
                    orders_placed: d.orders_placed,
                    orders_paid: d.orders_paid,
                    orders_shipped: d.orders_shipped,
                    orders_cancelled: d.orders_cancelled,
                    revenue: Money(d.revenue),
                })
                .collect(),
        })
    }

    /// Every projection: position, head, lag and state.
    async fn projections(&self, ctx: &Context<'_>) -> Result<Vec<ProjectionStatus>> {
        request_context(ctx).require_staff()?;
        let read = read_models(ctx);
        let statuses = read.statuses().await.map_err(|e| ApiError::internal(&e))?;
        let head = read.store.head_position().await.map_err(ApiError::from)?;
        let mut out = Vec::with_capacity(statuses.len());
        for c in statuses {
            out.push(status_of(read, &c, head).await?);
        }
        Ok(out)
    }
}

/// Lag figures of one checkpoint against the head, with any rebuild.
pub(crate) async fn status_of(
    read: &crate::projections::ReadModels,
    c: &Checkpoint,
    head: i64,
) -> Result<ProjectionStatus, ApiError> {
    let (lag, oldest) = read
        .store
        .lag_after(c.position)
        .await
        .map_err(ApiError::from)?;
    let lag_seconds = oldest
        .map(|t| (chrono::Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0)
        .unwrap_or(0.0);
    let rebuilding = read
        .rebuilding(&c.name)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let rebuild = match rebuilding {
        Some(r) => {
            let (rebuild_lag, _) = read
                .store
                .lag_after(r.position)
                .await
                .map_err(ApiError::from)?;
            let rate = read.rates.per_second(&r.name, r.generation);
            // This process's job knows more (events done, start); a rebuild
            // run elsewhere (the CLI) is described from its checkpoint.
            let status = read
                .jobs
                .get(&r.name)
                .filter(|j| j.generation == r.generation)
                .unwrap_or(rebuild::RebuildStatus {
                    projection: r.name.clone(),
                    generation: r.generation,
                    replaces: c.generation,
                    position: r.position,
                    head,
                    events_done: 0,
                    started_at: r.updated_at,
                    state: rebuild::RebuildState::Running,
                    error: r.last_error.clone(),
                });
            let status = rebuild::RebuildStatus {
                position: r.position,
                head,
                ..status
            };
            Some(RebuildJob::from_status(&status, rebuild_lag, rate))
        }
        None => None,
    };
    Ok(ProjectionStatus {
        name: c.name.clone(),
        position: c.position.to_string(),
        head: head.max(c.position).to_string(),
        lag,
        lag_seconds,
        state: match c.state {
            ProjectionState::Running => ProjectionStateGql::Running,
            ProjectionState::Failed => ProjectionStateGql::Failed,
        },
        last_error: c.last_error.clone(),
        failed_position: c.failed_position.map(|p| p.to_string()),
        events_per_second: read.rates.per_second(&c.name, c.generation),
        generation: c.generation,
        rebuild,
    })
}
