//! The Order aggregate at the GraphQL edge: its types, its queries (the
//! read models, time travel, the audit trail, listings), its commands
//! (`mutations`) and its subscription (`subscription`).

mod mutations;
mod subscription;

use std::sync::Arc;

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

pub use mutations::OrderMutation;
pub use subscription::OrderSubscription;

use super::error::ApiError;
use super::paging::{listing_cursor, listing_page};
use super::scalars::Money;
use super::types::EventRecord;
use super::{RequestContext, read_models, request_context, store};
use crate::auth::Role;
use crate::commands::{self, LoadTarget};
use crate::domain::order::{self, OrderAggregate, OrderId, OrderLine};
use crate::projections::{ReadModels, customer_order_history, order_details};
use crate::store::EventStore;

/// Parses an order id argument (a UUID) once, at the edge.
pub(crate) fn parse_order_id(id: &ID) -> Result<OrderId, ApiError> {
    id.parse::<OrderId>()
        .map_err(|e| ApiError::validation(e.to_string()))
}

/// Where an order is in its lifecycle.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::order::OrderStatus")]
pub enum OrderStatus {
    /// Created; items may still change.
    Pending,
    /// Submitted; awaiting payment.
    Placed,
    /// Paid in full.
    Paid,
    /// Handed to the carrier.
    Shipped,
    /// Cancelled before payment.
    Cancelled,
}

/// One line of an order.
#[derive(SimpleObject, Debug, Clone)]
pub struct OrderItem {
    /// The product's stock-keeping unit (unique within the order).
    pub sku: String,
    /// The product's name.
    pub name: String,
    /// Price of one unit.
    pub unit_price: Money,
    /// Units ordered.
    pub quantity: i32,
    /// unitPrice × quantity.
    pub line_total: Money,
}

impl From<&OrderLine> for OrderItem {
    fn from(l: &OrderLine) -> Self {
        OrderItem {
            sku: l.sku.clone(),
            name: l.name.clone(),
            unit_price: Money(l.unit_price),
            quantity: l.quantity,
            line_total: Money(l.amount().unwrap_or_default()),
        }
    }
}

// A view over the read model's row (or a state folded for time travel),
// whose fields are computed only when a query selects them: a subscription
// that wants `{ id version }` of an order with many lines copies none of
// them.
#[derive(Debug, Clone)]
pub struct Order(OrderSource);

#[derive(Debug, Clone)]
enum OrderSource {
    /// The `order_details` row, shared with the read cache.
    Row(Arc<order_details::OrderDetail>),
    /// A state folded from the events (time travel).
    Folded(Box<Folded>),
}

#[derive(Debug, Clone)]
struct Folded {
    id: String,
    state: order::Order,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Order {
    /// The view of an order's state at a version.
    pub fn new(
        id: &str,
        state: order::Order,
        version: i32,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Order {
        Order(OrderSource::Folded(Box::new(Folded {
            id: id.to_owned(),
            state,
            version,
            created_at,
            updated_at,
        })))
    }

    /// The view of a read-model row.
    pub fn from_detail(d: Arc<order_details::OrderDetail>) -> Order {
        Order(OrderSource::Row(d))
    }

    /// What either source holds, borrowed.
    fn view(&self) -> View<'_> {
        match &self.0 {
            OrderSource::Row(d) => View {
                id: &d.order_id,
                state: &d.order,
                version: d.version,
                created_at: d.created_at,
                updated_at: d.updated_at,
            },
            OrderSource::Folded(f) => View {
                id: &f.id,
                state: &f.state,
                version: f.version,
                created_at: f.created_at,
                updated_at: f.updated_at,
            },
        }
    }

    fn state(&self) -> &order::Order {
        self.view().state
    }
}

struct View<'a> {
    id: &'a str,
    state: &'a order::Order,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// An order as a client sees it.
#[Object]
impl Order {
    /// The order's id (a UUID).
    async fn id(&self) -> ID {
        ID(self.view().id.to_owned())
    }

    /// Whose order it is.
    async fn customer_id(&self) -> ID {
        ID(self.state().customer_id.clone())
    }

    /// Where it is in its lifecycle.
    async fn status(&self) -> OrderStatus {
        self.state().status.into()
    }

    /// Its lines, in the order they were added.
    async fn items(&self) -> Vec<OrderItem> {
        self.state().lines.iter().map(OrderItem::from).collect()
    }

    /// Sum of the lines.
    async fn total_amount(&self) -> Money {
        Money(self.state().total)
    }

    /// Set once shipped.
    async fn tracking_number(&self) -> Option<&str> {
        self.state().tracking_number.as_deref()
    }

    /// Set once paid.
    async fn payment_reference(&self) -> Option<&str> {
        self.state().payment_reference.as_deref()
    }

    /// Set once cancelled.
    async fn cancel_reason(&self) -> Option<&str> {
        self.state().cancel_reason.as_deref()
    }

    /// The number of events applied: the stream version this state reflects.
    async fn version(&self) -> i32 {
        self.view().version
    }

    /// When the order was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.view().created_at
    }

    /// When its last (applied) event was recorded.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.view().updated_at
    }
}

/// An order in a customer's history.
#[derive(SimpleObject, Debug, Clone)]
pub struct CustomerOrder {
    /// The order's id.
    pub order_id: ID,
    /// Its current status.
    pub status: OrderStatus,
    /// Its current total.
    pub total_amount: Money,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<customer_order_history::CustomerOrder> for CustomerOrder {
    fn from(r: customer_order_history::CustomerOrder) -> Self {
        CustomerOrder {
            order_id: ID(r.order_id),
            status: r.status.into(),
            total_amount: Money(r.total_amount),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// The customer an order belongs to, from its first event (the log, not a
/// read model, so it is known the moment the order is created); `None`
/// when there is no such order.
pub(crate) async fn order_owner(
    store: &EventStore,
    id: &OrderId,
) -> Result<Option<String>, ApiError> {
    let first = store.read_stream(&id.to_string(), 1, Some(1)).await?;
    let Some(created) = first.first() else {
        return Ok(None);
    };
    Ok(order::evolve(None, &created.decode()?).map(|o| o.customer_id))
}

/// "No such order", the same whether it does not exist or is not the
/// caller's.
pub(crate) fn order_not_found(id: &OrderId) -> ApiError {
    ApiError::not_found(format!("order {id} not found"))
}

/// The order's row in the live `order_details` read model (from memory
/// when this process may cache it; see `projections::cache`).
pub(crate) async fn read_order(
    read: &ReadModels,
    id: &OrderId,
) -> Result<Option<std::sync::Arc<order_details::OrderDetail>>, ApiError> {
    Ok(crate::projections::cache::read_order(read, id).await?)
}

/// Order queries.
#[derive(Default)]
pub struct OrderQuery;

#[Object]
impl OrderQuery {
    /// An order's current state from the `order_details` read model (it
    /// trails the write by the projection's lag; subscribe to
    /// `orderUpdated` to know when a write is readable), or, with `asOf` or
    /// `atVersion`, its state rebuilt from the events at that time or
    /// version. Null when it did not exist.
    async fn order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order's id (a UUID).")] id: ID,
        #[graphql(
            desc = "Time travel: the state including every event recorded at or before this time."
        )]
        as_of: Option<DateTime<Utc>>,
        #[graphql(
            desc = "Time travel: the state right after the event with this version (from 1)."
        )]
        at_version: Option<i32>,
    ) -> Result<Option<Order>> {
        let rc = request_context(ctx);
        rc.user()?;
        let id = parse_order_id(&id)?;
        let target = match (as_of, at_version) {
            (Some(_), Some(_)) => {
                return Err(ApiError::validation("give asOf or atVersion, not both").into());
            }
            (_, Some(v)) if v < 1 => {
                return Err(ApiError::validation("atVersion starts at 1").into());
            }
            (Some(t), None) => LoadTarget::AsOf(t),
            (None, Some(v)) => LoadTarget::AtVersion(v),
            (None, None) => {
                let detail = read_order(read_models(ctx), &id).await?;
                let visible = match detail {
                    Some(d) if rc.sees_customer(&d.order.customer_id)? => Some(d),
                    _ => None,
                };
                if let Some(rows) = ctx.data_opt::<Arc<super::responses::ReadRows>>() {
                    rows.served(visible.as_ref());
                }
                return Ok(visible.map(Order::from_detail));
            }
        };
        let store = store(ctx);
        let loaded = commands::load::<OrderAggregate>(store, &id, target)
            .await
            .map_err(ApiError::from)?;
        // Who may see it is settled before anything about it is said.
        if let Some(state) = &loaded.state
            && !rc.sees_customer(&state.customer_id)?
        {
            return Ok(None);
        }
        if let Some(v) = at_version
            && loaded.version < v
            && loaded.version > 0
        {
            return Err(ApiError::validation(format!(
                "atVersion {v} is past the end of the order (version {})",
                loaded.version
            ))
            .into());
        }
        let (Some(state), Some(updated_at)) = (loaded.state, loaded.updated_at) else {
            return Ok(None);
        };
        let stream_id = id.to_string();
        let created = store
            .read_stream(&stream_id, 1, Some(1))
            .await
            .map_err(ApiError::from)?;
        let created_at = created.first().map_or(updated_at, |e| e.recorded_at);
        Ok(Some(Order::new(
            &stream_id,
            state,
            loaded.version,
            created_at,
            updated_at,
        )))
    }

    /// The audit trail of one order: every event with who, when and why.
    async fn order_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order's id (a UUID).")] id: ID,
    ) -> Result<Vec<EventRecord>> {
        let rc = request_context(ctx);
        rc.user()?;
        let id = parse_order_id(&id)?;
        let events = store(ctx)
            .read_stream(&id.to_string(), 1, None)
            .await
            .map_err(ApiError::from)?;
        let Some(created) = events.first() else {
            return Err(order_not_found(&id).into());
        };
        let state = order::evolve(None, &created.decode().map_err(ApiError::from)?);
        if let Some(state) = state
            && !rc.sees_customer(&state.customer_id)?
        {
            return Err(order_not_found(&id).into());
        }
        Ok(events.iter().map(EventRecord::from).collect())
    }

    /// Orders, newest first; customers see only their own.
    async fn orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only orders in this status.")] status: Option<OrderStatus>,
        #[graphql(desc = "Only this customer's orders (customers may only name themselves).")]
        customer_id: Option<ID>,
        #[graphql(desc = "Page size (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page.")] after: Option<String>,
    ) -> Result<Connection<String, Order>> {
        let rc = request_context(ctx);
        let customer_id = listing_customer(&rc, customer_id)?;
        let page = listing_page(first, after.as_deref())?;
        let read = read_models(ctx);
        let generation = read
            .live_generation(order_details::NAME)
            .await
            .map_err(ApiError::from)?;
        let rows = order_details::list(
            read.db(),
            generation,
            status.map(Into::into),
            customer_id.as_deref(),
            page.after,
            page.fetch(),
        )
        .await
        .map_err(ApiError::from)?;
        Ok(page.connection(
            rows,
            |d| listing_cursor(d.created_position),
            |d| Order::from_detail(Arc::new(d)),
        ))
    }

    /// A customer's orders, newest first.
    async fn customer_order_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer (customers may only name themselves).")] customer_id: ID,
        #[graphql(desc = "Page size (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page.")] after: Option<String>,
    ) -> Result<Connection<String, CustomerOrder>> {
        request_context(ctx).require_customer_access(&customer_id)?;
        let page = listing_page(first, after.as_deref())?;
        let read = read_models(ctx);
        let generation = read
            .live_generation(customer_order_history::NAME)
            .await
            .map_err(ApiError::from)?;
        let rows = customer_order_history::list(
            read.db(),
            generation,
            &customer_id,
            page.after,
            page.fetch(),
        )
        .await
        .map_err(ApiError::from)?;
        Ok(page.connection(
            rows,
            |r| listing_cursor(r.created_position),
            CustomerOrder::from,
        ))
    }
}

/// The customer filter of a listing: customers see only their own orders.
fn listing_customer(rc: &RequestContext, asked: Option<ID>) -> Result<Option<String>, ApiError> {
    let (_, role, own) = rc.user()?;
    Ok(match (role, asked) {
        (Role::Customer, Some(c)) => {
            rc.require_customer_access(&c)?;
            Some(c.0)
        }
        (Role::Customer, None) => own.map(str::to_owned),
        (_, c) => c.map(|c| c.0),
    })
}
