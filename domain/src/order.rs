//! The Order aggregate: PENDING -> PLACED -> PAID -> SHIPPED, and CANCELLED
//! from PENDING or PLACED.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

use crate::{Aggregate, DomainEvent, Refusal, RefusalKind, StreamId, Upcast, UpcastRegistry};

/// Most lines an order may hold; keeps a stream bounded.
pub const MAX_LINES: usize = 1_000;
/// Longest text field (sku, name, references, reasons), in characters.
pub const MAX_TEXT: usize = 200;
/// Highest unit price (and so, with `MAX_QUANTITY` and `MAX_LINES`, every
/// total fits a `Decimal` and any sum of totals a read model keeps).
pub const MAX_UNIT_PRICE: u64 = 1_000_000_000;
/// Most units of one line.
pub const MAX_QUANTITY: i32 = 1_000_000;
/// Most decimal places of a price or an amount.
pub const MAX_SCALE: u32 = 4;

/// An order's id: a UUID, parsed once where it enters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OrderId(Uuid);

impl OrderId {
    /// Wraps a UUID (new ids are drawn outside the domain, which has no
    /// randomness).
    pub fn from_uuid(id: Uuid) -> OrderId {
        OrderId(id)
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// A string that is not an order id.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0:?} is not a valid order id (a UUID)")]
pub struct InvalidOrderId(pub String);

impl FromStr for OrderId {
    type Err = InvalidOrderId;

    fn from_str(s: &str) -> Result<OrderId, InvalidOrderId> {
        Uuid::parse_str(s.trim())
            .map(OrderId)
            .map_err(|_| InvalidOrderId(s.chars().take(64).collect()))
    }
}

impl StreamId for OrderId {}

/// Lifecycle of an order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// Created, items may still change.
    #[default]
    Pending,
    /// Submitted by the customer; awaiting payment.
    Placed,
    /// Paid in full.
    Paid,
    /// Handed to the carrier.
    Shipped,
    /// Cancelled before payment.
    Cancelled,
}

impl OrderStatus {
    /// The name stored in read models and shown to clients.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "PENDING",
            OrderStatus::Placed => "PLACED",
            OrderStatus::Paid => "PAID",
            OrderStatus::Shipped => "SHIPPED",
            OrderStatus::Cancelled => "CANCELLED",
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored status name that this code does not know.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown order status {0:?}")]
pub struct UnknownStatus(pub String);

impl FromStr for OrderStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<OrderStatus, UnknownStatus> {
        Ok(match s {
            "PENDING" => OrderStatus::Pending,
            "PLACED" => OrderStatus::Placed,
            "PAID" => OrderStatus::Paid,
            "SHIPPED" => OrderStatus::Shipped,
            "CANCELLED" => OrderStatus::Cancelled,
            other => return Err(UnknownStatus(other.to_owned())),
        })
    }
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    /// The product's stock-keeping unit; unique within an order.
    pub sku: String,
    /// The product's name as shown to the customer.
    pub name: String,
    /// Price of one unit, positive.
    pub unit_price: Decimal,
    /// Units ordered, positive.
    pub quantity: i32,
}

impl OrderLine {
    /// unit price × quantity, `None` when it does not fit a `Decimal`.
    pub fn amount(&self) -> Option<Decimal> {
        self.unit_price.checked_mul(Decimal::from(self.quantity))
    }
}

/// The state of an order as the aggregate knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// Whose order it is.
    pub customer_id: String,
    /// Where it is in its lifecycle.
    pub status: OrderStatus,
    /// Its lines, in the order they were added.
    pub lines: Vec<OrderLine>,
    /// Sum of the lines' amounts.
    pub total: Decimal,
    /// Set when shipped.
    pub tracking_number: Option<String>,
    /// Set when paid.
    pub payment_reference: Option<String>,
    /// Set when cancelled.
    pub cancel_reason: Option<String>,
}

/// What a caller may ask of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderCommand {
    /// Open a new order with at least one line.
    CreateOrder {
        /// Whose order it is.
        customer_id: String,
        /// Its first lines.
        items: Vec<OrderLine>,
    },
    /// Add a line (PENDING only).
    AddItem(OrderLine),
    /// Remove a line by sku (PENDING only; never the last one).
    RemoveItem {
        /// The line to remove.
        sku: String,
    },
    /// Submit the order (PENDING only).
    PlaceOrder,
    /// Pay the whole total (PLACED only).
    PayOrder {
        /// Must equal the order's total.
        amount: Decimal,
        /// The payment provider's reference.
        payment_reference: String,
    },
    /// Hand over to the carrier (PAID only).
    ShipOrder {
        /// The carrier's tracking number.
        tracking_number: String,
    },
    /// Cancel (PENDING or PLACED only).
    CancelOrder {
        /// Why; kept in the event and its metadata.
        reason: String,
    },
}

impl OrderCommand {
    /// A stable name, used in logs, metrics and the idempotency log.
    pub fn name(&self) -> &'static str {
        match self {
            OrderCommand::CreateOrder { .. } => "createOrder",
            OrderCommand::AddItem(_) => "addItem",
            OrderCommand::RemoveItem { .. } => "removeItem",
            OrderCommand::PlaceOrder => "placeOrder",
            OrderCommand::PayOrder { .. } => "payOrder",
            OrderCommand::ShipOrder { .. } => "shipOrder",
            OrderCommand::CancelOrder { .. } => "cancelOrder",
        }
    }
}

/// Facts about an order. Each carries what read models need (totals, the
/// status it leads to) so projections never re-derive business rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
#[allow(missing_docs)] // each variant is documented on its payload type
pub enum OrderEvent {
    OrderCreated(OrderCreated),
    ItemAdded(ItemAdded),
    ItemRemoved(ItemRemoved),
    OrderPlaced(OrderPlaced),
    OrderPaid(OrderPaid),
    OrderShipped(OrderShipped),
    OrderCancelled(OrderCancelled),
}

/// An order was opened (schema version 2: with its total).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCreated {
    /// Whose order it is.
    pub customer_id: String,
    /// Its first lines.
    pub items: Vec<OrderLine>,
    /// Added in schema version 2; version 1 rows are upcast on read.
    pub total: Decimal,
}

/// OrderCreated as schema version 1 stored it: without a total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCreatedV1 {
    /// Whose order it is.
    pub customer_id: String,
    /// Its first lines.
    pub items: Vec<OrderLine>,
}

/// Upcaster: OrderCreated v1 → v2 gains the sum of its lines.
pub struct OrderCreatedV1ToV2;

impl Upcast for OrderCreatedV1ToV2 {
    const EVENT_TYPE: &'static str = "OrderCreated";
    const FROM_VERSION: i32 = 1;
    type From = OrderCreatedV1;
    type To = OrderCreated;

    fn upcast(old: OrderCreatedV1) -> OrderCreated {
        // Lines were validated when written; an amount that does not fit
        // (impossible for stored rows) counts as zero rather than failing.
        let total = old
            .items
            .iter()
            .filter_map(OrderLine::amount)
            .fold(Decimal::ZERO, |acc, amount| {
                acc.checked_add(amount).unwrap_or(acc)
            });
        OrderCreated {
            customer_id: old.customer_id,
            items: old.items,
            total,
        }
    }
}

/// A line was added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemAdded {
    /// The new line.
    pub item: OrderLine,
    /// The order total after the line was added.
    pub total: Decimal,
}

/// A line was removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemRemoved {
    /// The removed line's sku.
    pub sku: String,
    /// The order total after the line was removed.
    pub total: Decimal,
}

/// The customer submitted the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderPlaced {
    /// The total at the time it was placed.
    pub total: Decimal,
}

/// The order was paid in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderPaid {
    /// The amount received (equal to the total).
    pub amount: Decimal,
    /// The payment provider's reference.
    pub payment_reference: String,
}

/// The order left with a carrier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderShipped {
    /// The carrier's tracking number.
    pub tracking_number: String,
}

/// The order was cancelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCancelled {
    /// Why.
    pub reason: String,
    /// The status it was cancelled from.
    pub previous_status: OrderStatus,
    /// The total at the time.
    pub total: Decimal,
}

impl DomainEvent for OrderEvent {
    fn event_type(&self) -> &'static str {
        match self {
            OrderEvent::OrderCreated(_) => "OrderCreated",
            OrderEvent::ItemAdded(_) => "ItemAdded",
            OrderEvent::ItemRemoved(_) => "ItemRemoved",
            OrderEvent::OrderPlaced(_) => "OrderPlaced",
            OrderEvent::OrderPaid(_) => "OrderPaid",
            OrderEvent::OrderShipped(_) => "OrderShipped",
            OrderEvent::OrderCancelled(_) => "OrderCancelled",
        }
    }

    fn schema_version(&self) -> i32 {
        match self {
            OrderEvent::OrderCreated(_) => 2,
            _ => 1,
        }
    }
}

/// Why the Order aggregate refused a command: one variant per rule.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OrderError {
    /// A text field is empty or blank.
    #[error("{field} must not be empty")]
    EmptyText {
        /// The field's name in the API.
        field: &'static str,
    },
    /// A text field is longer than [`MAX_TEXT`].
    #[error("{field} must be at most {MAX_TEXT} characters")]
    TextTooLong {
        /// The field's name in the API.
        field: &'static str,
    },
    /// A text field holds a control character (NUL, newline, …).
    #[error("{field} must not contain control characters")]
    ControlCharacter {
        /// The field's name in the API.
        field: &'static str,
    },
    /// A line's unit price is above [`MAX_UNIT_PRICE`].
    #[error("unitPrice of {sku} must be at most {MAX_UNIT_PRICE}")]
    PriceTooHigh {
        /// The line's sku.
        sku: String,
    },
    /// A line's quantity is above [`MAX_QUANTITY`].
    #[error("quantity of {sku} must be at most {MAX_QUANTITY}")]
    QuantityTooHigh {
        /// The line's sku.
        sku: String,
    },
    /// A price or amount has more than [`MAX_SCALE`] decimal places.
    #[error("{field} must have at most {MAX_SCALE} decimal places")]
    TooManyDecimals {
        /// The field's name in the API.
        field: &'static str,
    },
    /// A line's unit price is zero or negative.
    #[error("unitPrice of {sku} must be positive")]
    NonPositivePrice {
        /// The line's sku.
        sku: String,
    },
    /// A line's quantity is zero or negative.
    #[error("quantity of {sku} must be positive")]
    NonPositiveQuantity {
        /// The line's sku.
        sku: String,
    },
    /// unit price × quantity does not fit a decimal.
    #[error("amount of {sku} is too large")]
    LineAmountTooLarge {
        /// The line's sku.
        sku: String,
    },
    /// The order total does not fit a decimal.
    #[error("order total is too large")]
    TotalTooLarge,
    /// CreateOrder without items.
    #[error("an order needs at least one item")]
    NoItems,
    /// CreateOrder with more than [`MAX_LINES`] items.
    #[error("an order holds at most {MAX_LINES} lines")]
    TooManyItems,
    /// CreateOrder naming one sku twice.
    #[error("sku {sku} appears twice")]
    DuplicateSku {
        /// The repeated sku.
        sku: String,
    },
    /// A payment of zero or less.
    #[error("amount must be positive")]
    NonPositiveAmount,
    /// CreateOrder on an existing stream.
    #[error("order already exists")]
    AlreadyExists,
    /// The command is not allowed in the order's status.
    #[error("cannot {action} an order that is {status}")]
    WrongStatus {
        /// What was attempted ("place", "pay", "add items to", …).
        action: &'static str,
        /// The order's status.
        status: OrderStatus,
    },
    /// AddItem for a sku already in the order.
    #[error("sku {sku} is already in the order")]
    SkuAlreadyInOrder {
        /// The sku.
        sku: String,
    },
    /// RemoveItem for a sku not in the order.
    #[error("sku {sku} is not in the order")]
    SkuNotInOrder {
        /// The sku.
        sku: String,
    },
    /// RemoveItem of the only line.
    #[error("an order needs at least one item; cancel it instead")]
    LastItem,
    /// AddItem to an order that already holds [`MAX_LINES`] lines.
    #[error("an order holds at most {MAX_LINES} lines")]
    OrderFull,
    /// A payment that is not the total.
    #[error("amount {amount} does not equal the order total {total}")]
    AmountMismatch {
        /// What was offered.
        amount: Decimal,
        /// What is owed.
        total: Decimal,
    },
    /// A command other than CreateOrder on a stream that does not exist.
    #[error("order not found")]
    NotFound,
}

impl Refusal for OrderError {
    fn kind(&self) -> RefusalKind {
        use OrderError::*;
        match self {
            EmptyText { .. }
            | TextTooLong { .. }
            | ControlCharacter { .. }
            | PriceTooHigh { .. }
            | QuantityTooHigh { .. }
            | TooManyDecimals { .. }
            | NonPositivePrice { .. }
            | NonPositiveQuantity { .. }
            | LineAmountTooLarge { .. }
            | TotalTooLarge
            | NoItems
            | TooManyItems
            | DuplicateSku { .. }
            | NonPositiveAmount => RefusalKind::Validation,
            AlreadyExists
            | WrongStatus { .. }
            | SkuAlreadyInOrder { .. }
            | SkuNotInOrder { .. }
            | LastItem
            | OrderFull
            | AmountMismatch { .. } => RefusalKind::BusinessRule,
            NotFound => RefusalKind::NotFound,
        }
    }
}

/// The Order aggregate (a type-level name for its decide/evolve pair).
pub struct OrderAggregate;

impl Aggregate for OrderAggregate {
    const STREAM_TYPE: &'static str = "Order";
    const STATE_SCHEMA_VERSION: i32 = 1;
    type Id = OrderId;
    type State = Option<Order>;
    type Command = OrderCommand;
    type Event = OrderEvent;
    type Error = OrderError;

    fn command_name(command: &OrderCommand) -> &'static str {
        command.name()
    }

    fn creates_stream(command: &OrderCommand) -> bool {
        matches!(command, OrderCommand::CreateOrder { .. })
    }

    fn decide(
        state: &Option<Order>,
        command: &OrderCommand,
    ) -> Result<Vec<OrderEvent>, OrderError> {
        decide(state.as_ref(), command)
    }

    fn evolve(state: Option<Order>, event: &OrderEvent) -> Option<Order> {
        evolve(state, event)
    }

    fn register_upcasters(registry: &mut impl UpcastRegistry) {
        registry.register::<OrderCreatedV1ToV2>(Self::STREAM_TYPE);
    }
}

fn check_text(field: &'static str, value: &str) -> Result<(), OrderError> {
    if value.trim().is_empty() {
        return Err(OrderError::EmptyText { field });
    }
    if value.chars().count() > MAX_TEXT {
        return Err(OrderError::TextTooLong { field });
    }
    if value.chars().any(char::is_control) {
        return Err(OrderError::ControlCharacter { field });
    }
    Ok(())
}

fn check_scale(field: &'static str, value: Decimal) -> Result<(), OrderError> {
    if value.normalize().scale() > MAX_SCALE {
        return Err(OrderError::TooManyDecimals { field });
    }
    Ok(())
}

fn check_line(line: &OrderLine) -> Result<(), OrderError> {
    check_text("sku", &line.sku)?;
    check_text("name", &line.name)?;
    let sku = || line.sku.clone();
    if line.unit_price <= Decimal::ZERO {
        return Err(OrderError::NonPositivePrice { sku: sku() });
    }
    if line.unit_price > Decimal::from(MAX_UNIT_PRICE) {
        return Err(OrderError::PriceTooHigh { sku: sku() });
    }
    check_scale("unitPrice", line.unit_price)?;
    if line.quantity <= 0 {
        return Err(OrderError::NonPositiveQuantity { sku: sku() });
    }
    if line.quantity > MAX_QUANTITY {
        return Err(OrderError::QuantityTooHigh { sku: sku() });
    }
    if line.amount().is_none() {
        return Err(OrderError::LineAmountTooLarge { sku: sku() });
    }
    Ok(())
}

fn total_of(lines: &[OrderLine]) -> Result<Decimal, OrderError> {
    lines
        .iter()
        .try_fold(Decimal::ZERO, |acc, l| {
            l.amount().and_then(|a| acc.checked_add(a))
        })
        .ok_or(OrderError::TotalTooLarge)
}

fn require_status(
    order: &Order,
    allowed: &[OrderStatus],
    action: &'static str,
) -> Result<(), OrderError> {
    if allowed.contains(&order.status) {
        Ok(())
    } else {
        Err(OrderError::WrongStatus {
            action,
            status: order.status,
        })
    }
}

/// Command handling: a pure function of state and command.
pub fn decide(
    state: Option<&Order>,
    command: &OrderCommand,
) -> Result<Vec<OrderEvent>, OrderError> {
    let order = match (state, command) {
        (Some(_), OrderCommand::CreateOrder { .. }) => return Err(OrderError::AlreadyExists),
        (None, OrderCommand::CreateOrder { customer_id, items }) => {
            check_text("customerId", customer_id)?;
            if items.is_empty() {
                return Err(OrderError::NoItems);
            }
            if items.len() > MAX_LINES {
                return Err(OrderError::TooManyItems);
            }
            for (i, line) in items.iter().enumerate() {
                check_line(line)?;
                if items[..i].iter().any(|l| l.sku == line.sku) {
                    return Err(OrderError::DuplicateSku {
                        sku: line.sku.clone(),
                    });
                }
            }
            return Ok(vec![OrderEvent::OrderCreated(OrderCreated {
                customer_id: customer_id.clone(),
                items: items.clone(),
                total: total_of(items)?,
            })]);
        }
        (None, _) => return Err(OrderError::NotFound),
        (Some(order), _) => order,
    };

    let event = match command {
        OrderCommand::CreateOrder { .. } => unreachable!("handled above"),
        OrderCommand::AddItem(line) => {
            check_line(line)?;
            require_status(order, &[OrderStatus::Pending], "add items to")?;
            if order.lines.iter().any(|l| l.sku == line.sku) {
                return Err(OrderError::SkuAlreadyInOrder {
                    sku: line.sku.clone(),
                });
            }
            if order.lines.len() >= MAX_LINES {
                return Err(OrderError::OrderFull);
            }
            let total = line
                .amount()
                .and_then(|a| order.total.checked_add(a))
                .ok_or(OrderError::TotalTooLarge)?;
            OrderEvent::ItemAdded(ItemAdded {
                item: line.clone(),
                total,
            })
        }
        OrderCommand::RemoveItem { sku } => {
            check_text("sku", sku)?;
            require_status(order, &[OrderStatus::Pending], "remove items from")?;
            let Some(line) = order.lines.iter().find(|l| &l.sku == sku) else {
                return Err(OrderError::SkuNotInOrder { sku: sku.clone() });
            };
            if order.lines.len() == 1 {
                return Err(OrderError::LastItem);
            }
            let total = order.total - line.amount().unwrap_or_default();
            OrderEvent::ItemRemoved(ItemRemoved {
                sku: sku.clone(),
                total,
            })
        }
        OrderCommand::PlaceOrder => {
            require_status(order, &[OrderStatus::Pending], "place")?;
            OrderEvent::OrderPlaced(OrderPlaced { total: order.total })
        }
        OrderCommand::PayOrder {
            amount,
            payment_reference,
        } => {
            check_text("paymentReference", payment_reference)?;
            if *amount <= Decimal::ZERO {
                return Err(OrderError::NonPositiveAmount);
            }
            check_scale("amount", *amount)?;
            require_status(order, &[OrderStatus::Placed], "pay")?;
            if *amount != order.total {
                return Err(OrderError::AmountMismatch {
                    amount: *amount,
                    total: order.total,
                });
            }
            OrderEvent::OrderPaid(OrderPaid {
                amount: *amount,
                payment_reference: payment_reference.clone(),
            })
        }
        OrderCommand::ShipOrder { tracking_number } => {
            check_text("trackingNumber", tracking_number)?;
            require_status(order, &[OrderStatus::Paid], "ship")?;
            OrderEvent::OrderShipped(OrderShipped {
                tracking_number: tracking_number.clone(),
            })
        }
        OrderCommand::CancelOrder { reason } => {
            check_text("reason", reason)?;
            require_status(
                order,
                &[OrderStatus::Pending, OrderStatus::Placed],
                "cancel",
            )?;
            OrderEvent::OrderCancelled(OrderCancelled {
                reason: reason.clone(),
                previous_status: order.status,
                total: order.total,
            })
        }
    };
    Ok(vec![event])
}

/// Applies one event. Never fails: an event that does not fit the state (which
/// `decide` never produces) leaves the state as it is.
pub fn evolve(state: Option<Order>, event: &OrderEvent) -> Option<Order> {
    let Some(mut order) = state else {
        return match event {
            OrderEvent::OrderCreated(e) => Some(Order {
                customer_id: e.customer_id.clone(),
                status: OrderStatus::Pending,
                lines: e.items.clone(),
                total: e.total,
                tracking_number: None,
                payment_reference: None,
                cancel_reason: None,
            }),
            _ => None,
        };
    };
    match event {
        OrderEvent::OrderCreated(_) => {}
        OrderEvent::ItemAdded(e) => {
            order.lines.push(e.item.clone());
            order.total = e.total;
        }
        OrderEvent::ItemRemoved(e) => {
            order.lines.retain(|l| l.sku != e.sku);
            order.total = e.total;
        }
        OrderEvent::OrderPlaced(e) => {
            order.status = OrderStatus::Placed;
            order.total = e.total;
        }
        OrderEvent::OrderPaid(e) => {
            order.status = OrderStatus::Paid;
            order.payment_reference = Some(e.payment_reference.clone());
        }
        OrderEvent::OrderShipped(e) => {
            order.status = OrderStatus::Shipped;
            order.tracking_number = Some(e.tracking_number.clone());
        }
        OrderEvent::OrderCancelled(e) => {
            order.status = OrderStatus::Cancelled;
            order.cancel_reason = Some(e.reason.clone());
        }
    }
    Some(order)
}

#[cfg(test)]
mod tests;
