//! GraphQL output types. They are not the domain's types: adapters below
//! convert at the edge.

use async_graphql::{ComplexObject, Enum, ID, Json, SimpleObject};
use chrono::{DateTime, Utc};

use super::scalars::Money;
use crate::commands::CommandOutcome;
use crate::domain::order::{self, OrderLine};
use crate::store::{EventMetadata, RecordedEvent};

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::order::OrderStatus")]
pub enum OrderStatus {
    Pending,
    Placed,
    Paid,
    Shipped,
    Cancelled,
}

/// One line of an order.
#[derive(SimpleObject, Debug, Clone)]
pub struct OrderItem {
    pub sku: String,
    pub name: String,
    pub unit_price: Money,
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
            line_total: Money(l.unit_price * rust_decimal::Decimal::from(l.quantity)),
        }
    }
}

/// An order as a client sees it.
#[derive(SimpleObject, Debug, Clone)]
pub struct Order {
    pub id: ID,
    pub customer_id: ID,
    pub status: OrderStatus,
    pub items: Vec<OrderItem>,
    pub total_amount: Money,
    pub tracking_number: Option<String>,
    pub payment_reference: Option<String>,
    pub cancel_reason: Option<String>,
    /// The number of events applied: the stream version this state reflects.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Order {
    /// Builds the view of a folded stream.
    pub fn from_state(
        id: &str,
        state: &order::Order,
        version: i32,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Order {
        Order {
            id: ID(id.to_owned()),
            customer_id: ID(state.customer_id.clone()),
            status: state.status.into(),
            items: state.lines.iter().map(OrderItem::from).collect(),
            total_amount: Money(state.total),
            tracking_number: state.tracking_number.clone(),
            payment_reference: state.payment_reference.clone(),
            cancel_reason: state.cancel_reason.clone(),
            version,
            created_at,
            updated_at,
        }
    }
}

impl Order {
    /// The view of a read-model row.
    pub fn from_detail(d: &crate::projections::order_details::OrderDetail) -> Order {
        let state = &d.order;
        Order {
            id: ID(d.order_id.clone()),
            customer_id: ID(state.customer_id.clone()),
            status: state.status.into(),
            items: state.lines.iter().map(OrderItem::from).collect(),
            total_amount: Money(state.total),
            tracking_number: state.tracking_number.clone(),
            payment_reference: state.payment_reference.clone(),
            cancel_reason: state.cancel_reason.clone(),
            version: d.version,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// Who, when and why, as recorded with an event.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(name = "EventMetadata")]
pub struct EventMetadataView {
    pub user_id: Option<String>,
    pub correlation_id: Option<String>,
    pub causation_id: Option<String>,
    pub command_id: Option<String>,
    pub reason: Option<String>,
    pub client: Option<String>,
}

impl From<&EventMetadata> for EventMetadataView {
    fn from(m: &EventMetadata) -> Self {
        EventMetadataView {
            user_id: m.user_id.clone(),
            correlation_id: m.correlation_id.clone(),
            causation_id: m.causation_id.clone(),
            command_id: m.command_id.clone(),
            reason: m.reason.clone(),
            client: m.client.clone(),
        }
    }
}

/// One stored event (upcast to its current schema).
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct EventRecord {
    #[graphql(skip)]
    pub position_number: i64,
    pub event_id: ID,
    pub stream_id: ID,
    pub stream_type: String,
    pub version: i32,
    pub event_type: String,
    pub schema_version: i32,
    pub data: Json<serde_json::Value>,
    pub metadata: EventMetadataView,
    pub recorded_at: DateTime<Utc>,
}

#[ComplexObject]
impl EventRecord {
    /// The global position (a decimal i64), in commit order.
    async fn position(&self) -> String {
        self.position_number.to_string()
    }
}

impl From<&RecordedEvent> for EventRecord {
    fn from(e: &RecordedEvent) -> Self {
        EventRecord {
            position_number: e.position,
            event_id: ID(e.event_id.to_string()),
            stream_id: ID(e.stream_id.clone()),
            stream_type: e.stream_type.clone(),
            version: e.version,
            event_type: e.event_type.clone(),
            schema_version: e.schema_version,
            data: Json(e.data.clone()),
            metadata: (&e.metadata).into(),
            recorded_at: e.recorded_at,
        }
    }
}

/// What a command did.
#[derive(SimpleObject, Debug, Clone)]
pub struct CommandResult {
    pub aggregate_id: ID,
    /// The aggregate's version after the command.
    pub version: i32,
    /// The global position of the command's last event (a decimal i64):
    /// resume the `events` subscription from here.
    pub position: String,
    pub events: Vec<EventRecord>,
}

impl From<CommandOutcome> for CommandResult {
    fn from(o: CommandOutcome) -> Self {
        CommandResult {
            aggregate_id: ID(o.aggregate_id),
            version: o.version,
            position: o.position.to_string(),
            events: o.events.iter().map(EventRecord::from).collect(),
        }
    }
}
