//! The Order aggregate: PENDING -> PLACED -> PAID -> SHIPPED, and CANCELLED
//! from PENDING or PLACED.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{Aggregate, DomainError, DomainEvent};

/// Most lines an order may hold; keeps a stream bounded.
pub const MAX_LINES: usize = 1_000;
const MAX_TEXT: usize = 200;

/// Lifecycle of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Pending,
    Placed,
    Paid,
    Shipped,
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

    /// Parses the stored name back.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "PENDING" => OrderStatus::Pending,
            "PLACED" => OrderStatus::Placed,
            "PAID" => OrderStatus::Paid,
            "SHIPPED" => OrderStatus::Shipped,
            "CANCELLED" => OrderStatus::Cancelled,
            _ => return None,
        })
    }
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    pub sku: String,
    pub name: String,
    pub unit_price: Decimal,
    pub quantity: i32,
}

impl OrderLine {
    fn amount(&self) -> Option<Decimal> {
        self.unit_price.checked_mul(Decimal::from(self.quantity))
    }
}

/// The state of an order as the aggregate knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub customer_id: String,
    pub status: OrderStatus,
    pub lines: Vec<OrderLine>,
    pub total: Decimal,
    pub tracking_number: Option<String>,
    pub payment_reference: Option<String>,
    pub cancel_reason: Option<String>,
}

/// What a caller may ask of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderCommand {
    CreateOrder {
        customer_id: String,
        items: Vec<OrderLine>,
    },
    AddItem(OrderLine),
    RemoveItem {
        sku: String,
    },
    PlaceOrder,
    PayOrder {
        amount: Decimal,
        payment_reference: String,
    },
    ShipOrder {
        tracking_number: String,
    },
    CancelOrder {
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
pub enum OrderEvent {
    OrderCreated(OrderCreated),
    ItemAdded(ItemAdded),
    ItemRemoved(ItemRemoved),
    OrderPlaced(OrderPlaced),
    OrderPaid(OrderPaid),
    OrderShipped(OrderShipped),
    OrderCancelled(OrderCancelled),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCreated {
    pub customer_id: String,
    pub items: Vec<OrderLine>,
    /// Added in schema version 2; version 1 rows are upcast on read.
    pub total: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemAdded {
    pub item: OrderLine,
    /// The order total after the line was added.
    pub total: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemRemoved {
    pub sku: String,
    /// The order total after the line was removed.
    pub total: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderPlaced {
    pub total: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderPaid {
    pub amount: Decimal,
    pub payment_reference: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderShipped {
    pub tracking_number: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCancelled {
    pub reason: String,
    pub previous_status: OrderStatus,
    pub total: Decimal,
}

impl OrderEvent {
    /// The status an order has after this event.
    pub fn resulting_status(&self, before: Option<OrderStatus>) -> OrderStatus {
        match self {
            OrderEvent::OrderCreated(_) => OrderStatus::Pending,
            OrderEvent::ItemAdded(_) | OrderEvent::ItemRemoved(_) => {
                before.unwrap_or(OrderStatus::Pending)
            }
            OrderEvent::OrderPlaced(_) => OrderStatus::Placed,
            OrderEvent::OrderPaid(_) => OrderStatus::Paid,
            OrderEvent::OrderShipped(_) => OrderStatus::Shipped,
            OrderEvent::OrderCancelled(_) => OrderStatus::Cancelled,
        }
    }
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

/// The Order aggregate (a type-level name for its decide/evolve pair).
pub struct OrderAggregate;

impl Aggregate for OrderAggregate {
    const STREAM_TYPE: &'static str = "Order";
    const STATE_SCHEMA_VERSION: i32 = 1;
    type State = Option<Order>;
    type Command = OrderCommand;
    type Event = OrderEvent;

    fn creates_stream(command: &OrderCommand) -> bool {
        matches!(command, OrderCommand::CreateOrder { .. })
    }

    fn decide(
        state: &Option<Order>,
        command: &OrderCommand,
    ) -> Result<Vec<OrderEvent>, DomainError> {
        decide(state.as_ref(), command)
    }

    fn evolve(state: Option<Order>, event: &OrderEvent) -> Option<Order> {
        evolve(state, event)
    }
}

fn validation(msg: impl Into<String>) -> DomainError {
    DomainError::Validation(msg.into())
}

fn rule(msg: impl Into<String>) -> DomainError {
    DomainError::BusinessRule(msg.into())
}

fn check_text(field: &str, value: &str) -> Result<(), DomainError> {
    if value.trim().is_empty() {
        return Err(validation(format!("{field} must not be empty")));
    }
    if value.chars().count() > MAX_TEXT {
        return Err(validation(format!(
            "{field} must be at most {MAX_TEXT} characters"
        )));
    }
    Ok(())
}

fn check_line(line: &OrderLine) -> Result<(), DomainError> {
    check_text("sku", &line.sku)?;
    check_text("name", &line.name)?;
    if line.unit_price <= Decimal::ZERO {
        return Err(validation(format!(
            "unitPrice of {} must be positive",
            line.sku
        )));
    }
    if line.quantity <= 0 {
        return Err(validation(format!(
            "quantity of {} must be positive",
            line.sku
        )));
    }
    if line.amount().is_none() {
        return Err(validation(format!("amount of {} is too large", line.sku)));
    }
    Ok(())
}

fn total_of(lines: &[OrderLine]) -> Result<Decimal, DomainError> {
    lines
        .iter()
        .try_fold(Decimal::ZERO, |acc, l| {
            l.amount().and_then(|a| acc.checked_add(a))
        })
        .ok_or_else(|| validation("order total is too large"))
}

fn require_status(order: &Order, allowed: &[OrderStatus], action: &str) -> Result<(), DomainError> {
    if allowed.contains(&order.status) {
        Ok(())
    } else {
        Err(rule(format!(
            "cannot {action} an order that is {}",
            order.status.as_str()
        )))
    }
}

/// Command handling: a pure function of state and command.
pub fn decide(
    state: Option<&Order>,
    command: &OrderCommand,
) -> Result<Vec<OrderEvent>, DomainError> {
    let order = match (state, command) {
        (Some(_), OrderCommand::CreateOrder { .. }) => {
            return Err(rule("order already exists"));
        }
        (None, OrderCommand::CreateOrder { customer_id, items }) => {
            check_text("customerId", customer_id)?;
            if items.is_empty() {
                return Err(validation("an order needs at least one item"));
            }
            if items.len() > MAX_LINES {
                return Err(validation(format!(
                    "an order holds at most {MAX_LINES} lines"
                )));
            }
            for (i, line) in items.iter().enumerate() {
                check_line(line)?;
                if items[..i].iter().any(|l| l.sku == line.sku) {
                    return Err(validation(format!("sku {} appears twice", line.sku)));
                }
            }
            return Ok(vec![OrderEvent::OrderCreated(OrderCreated {
                customer_id: customer_id.clone(),
                items: items.clone(),
                total: total_of(items)?,
            })]);
        }
        (None, _) => return Err(DomainError::NotFound("order not found".into())),
        (Some(order), _) => order,
    };

    let event = match command {
        OrderCommand::CreateOrder { .. } => unreachable!("handled above"),
        OrderCommand::AddItem(line) => {
            check_line(line)?;
            require_status(order, &[OrderStatus::Pending], "add items to")?;
            if order.lines.iter().any(|l| l.sku == line.sku) {
                return Err(rule(format!("sku {} is already in the order", line.sku)));
            }
            if order.lines.len() >= MAX_LINES {
                return Err(rule(format!("an order holds at most {MAX_LINES} lines")));
            }
            let total = line
                .amount()
                .and_then(|a| order.total.checked_add(a))
                .ok_or_else(|| validation("order total is too large"))?;
            OrderEvent::ItemAdded(ItemAdded {
                item: line.clone(),
                total,
            })
        }
        OrderCommand::RemoveItem { sku } => {
            check_text("sku", sku)?;
            require_status(order, &[OrderStatus::Pending], "remove items from")?;
            let Some(line) = order.lines.iter().find(|l| &l.sku == sku) else {
                return Err(rule(format!("sku {sku} is not in the order")));
            };
            if order.lines.len() == 1 {
                return Err(rule("an order needs at least one item; cancel it instead"));
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
                return Err(validation("amount must be positive"));
            }
            require_status(order, &[OrderStatus::Placed], "pay")?;
            if *amount != order.total {
                return Err(rule(format!(
                    "amount {amount} does not equal the order total {}",
                    order.total
                )));
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
mod tests {
    //! Given events, when a command, then events or an error. No database.
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().expect("test literal")
    }

    fn line(sku: &str, price: &str, qty: i32) -> OrderLine {
        OrderLine {
            sku: sku.into(),
            name: format!("{sku} name"),
            unit_price: dec(price),
            quantity: qty,
        }
    }

    fn created() -> OrderEvent {
        OrderEvent::OrderCreated(OrderCreated {
            customer_id: "c-1".into(),
            items: vec![line("A", "10.00", 2), line("B", "5.25", 1)],
            total: dec("25.25"),
        })
    }
    fn placed() -> OrderEvent {
        OrderEvent::OrderPlaced(OrderPlaced {
            total: dec("25.25"),
        })
    }
    fn paid() -> OrderEvent {
        OrderEvent::OrderPaid(OrderPaid {
            amount: dec("25.25"),
            payment_reference: "pay-1".into(),
        })
    }
    fn shipped() -> OrderEvent {
        OrderEvent::OrderShipped(OrderShipped {
            tracking_number: "TRK".into(),
        })
    }
    fn cancelled(from: OrderStatus) -> OrderEvent {
        OrderEvent::OrderCancelled(OrderCancelled {
            reason: "changed my mind".into(),
            previous_status: from,
            total: dec("25.25"),
        })
    }

    struct Given(Vec<OrderEvent>);
    fn given(events: &[OrderEvent]) -> Given {
        Given(events.to_vec())
    }
    impl Given {
        fn when(self, cmd: OrderCommand) -> Result<Vec<OrderEvent>, DomainError> {
            let state = self.0.iter().fold(None, evolve);
            decide(state.as_ref(), &cmd)
        }
    }
    fn is_rule(r: Result<Vec<OrderEvent>, DomainError>) -> bool {
        matches!(r, Err(DomainError::BusinessRule(_)))
    }
    fn is_validation(r: Result<Vec<OrderEvent>, DomainError>) -> bool {
        matches!(r, Err(DomainError::Validation(_)))
    }

    fn create_cmd(items: Vec<OrderLine>) -> OrderCommand {
        OrderCommand::CreateOrder {
            customer_id: "c-1".into(),
            items,
        }
    }
    fn cancel() -> OrderCommand {
        OrderCommand::CancelOrder {
            reason: "changed my mind".into(),
        }
    }
    fn pay(amount: &str) -> OrderCommand {
        OrderCommand::PayOrder {
            amount: dec(amount),
            payment_reference: "pay-1".into(),
        }
    }
    fn ship() -> OrderCommand {
        OrderCommand::ShipOrder {
            tracking_number: "TRK".into(),
        }
    }

    #[test]
    fn create_computes_the_total() {
        let events = given(&[])
            .when(create_cmd(vec![
                line("A", "10.00", 2),
                line("B", "5.25", 1),
            ]))
            .unwrap();
        assert_eq!(events, vec![created()]);
    }

    #[test]
    fn create_refuses_bad_input() {
        assert!(is_validation(given(&[]).when(create_cmd(vec![]))));
        assert!(is_validation(
            given(&[]).when(create_cmd(vec![line("A", "1", -1)]))
        ));
        assert!(is_validation(
            given(&[]).when(create_cmd(vec![line("A", "1", 0)]))
        ));
        assert!(is_validation(
            given(&[]).when(create_cmd(vec![line("A", "-1", 1)]))
        ));
        assert!(is_validation(
            given(&[]).when(create_cmd(vec![line("A", "0", 1)]))
        ));
        assert!(is_validation(
            given(&[]).when(create_cmd(vec![line("", "1", 1)]))
        ));
        assert!(is_validation(
            given(&[]).when(create_cmd(vec![line("A", "1", 1), line("A", "2", 1)]))
        ));
        let too_many = (0..=MAX_LINES)
            .map(|i| line(&format!("S{i}"), "1", 1))
            .collect();
        assert!(is_validation(given(&[]).when(create_cmd(too_many))));
        assert!(is_validation(given(&[]).when(OrderCommand::CreateOrder {
            customer_id: " ".into(),
            items: vec![line("A", "1", 1)],
        })));
        let huge = line("A", "79228162514264337593543950335", 2);
        assert!(is_validation(given(&[]).when(create_cmd(vec![huge]))));
    }

    #[test]
    fn create_twice_is_refused() {
        assert!(is_rule(
            given(&[created()]).when(create_cmd(vec![line("A", "1", 1)]))
        ));
    }

    #[test]
    fn commands_on_a_missing_order_are_not_found() {
        for cmd in [OrderCommand::PlaceOrder, cancel(), ship(), pay("1")] {
            assert!(matches!(
                given(&[]).when(cmd),
                Err(DomainError::NotFound(_))
            ));
        }
    }

    #[test]
    fn add_and_remove_items_while_pending_keep_the_total() {
        let added = given(&[created()])
            .when(OrderCommand::AddItem(line("C", "1.50", 2)))
            .unwrap();
        assert_eq!(
            added,
            vec![OrderEvent::ItemAdded(ItemAdded {
                item: line("C", "1.50", 2),
                total: dec("28.25"),
            })]
        );
        let removed = given(&[created()])
            .when(OrderCommand::RemoveItem { sku: "A".into() })
            .unwrap();
        assert_eq!(
            removed,
            vec![OrderEvent::ItemRemoved(ItemRemoved {
                sku: "A".into(),
                total: dec("5.25"),
            })]
        );
    }

    #[test]
    fn item_edits_are_refused_outside_pending_or_when_they_break_a_rule() {
        assert!(is_rule(
            given(&[created(), placed()]).when(OrderCommand::AddItem(line("C", "1", 1)))
        ));
        assert!(is_rule(
            given(&[created(), placed()]).when(OrderCommand::RemoveItem { sku: "A".into() })
        ));
        assert!(is_rule(
            given(&[created()]).when(OrderCommand::AddItem(line("A", "1", 1)))
        ));
        assert!(is_rule(
            given(&[created()]).when(OrderCommand::RemoveItem { sku: "Z".into() })
        ));
        assert!(is_validation(
            given(&[created()]).when(OrderCommand::AddItem(line("C", "1", 0)))
        ));
        let single = OrderEvent::OrderCreated(OrderCreated {
            customer_id: "c".into(),
            items: vec![line("A", "1", 1)],
            total: dec("1"),
        });
        assert!(is_rule(
            given(&[single]).when(OrderCommand::RemoveItem { sku: "A".into() })
        ));
    }

    #[test]
    fn an_order_holds_at_most_max_lines() {
        let mut history = vec![created()];
        history.extend((3..MAX_LINES).map(|i| {
            OrderEvent::ItemAdded(ItemAdded {
                item: line(&format!("S{i}"), "1", 1),
                total: dec("1"),
            })
        }));
        assert!(
            given(&history)
                .when(OrderCommand::AddItem(line("LAST", "1", 1)))
                .is_ok()
        );
        history.push(OrderEvent::ItemAdded(ItemAdded {
            item: line("LAST", "1", 1),
            total: dec("1"),
        }));
        assert!(is_rule(
            given(&history).when(OrderCommand::AddItem(line("MORE", "1", 1)))
        ));
    }

    #[test]
    fn full_lifecycle() {
        assert_eq!(
            given(&[created()]).when(OrderCommand::PlaceOrder).unwrap(),
            vec![placed()]
        );
        assert_eq!(
            given(&[created(), placed()]).when(pay("25.25")).unwrap(),
            vec![paid()]
        );
        assert_eq!(
            given(&[created(), placed(), paid()]).when(ship()).unwrap(),
            vec![shipped()]
        );
        let state = [created(), placed(), paid(), shipped()]
            .iter()
            .fold(None, evolve)
            .unwrap();
        assert_eq!(state.status, OrderStatus::Shipped);
        assert_eq!(state.tracking_number.as_deref(), Some("TRK"));
    }

    #[test]
    fn pay_must_match_the_total_exactly() {
        assert!(is_rule(given(&[created(), placed()]).when(pay("25.24"))));
        assert!(is_rule(given(&[created(), placed()]).when(pay("100"))));
        // 25.250 is the same amount as 25.25.
        assert!(given(&[created(), placed()]).when(pay("25.250")).is_ok());
        assert!(is_validation(
            given(&[created(), placed()]).when(pay("-25.25"))
        ));
        assert!(is_validation(given(&[created(), placed()]).when(
            OrderCommand::PayOrder {
                amount: dec("25.25"),
                payment_reference: "".into(),
            }
        )));
    }

    #[test]
    fn cancel_from_pending_or_placed_only() {
        assert_eq!(
            given(&[created()]).when(cancel()).unwrap(),
            vec![cancelled(OrderStatus::Pending)]
        );
        assert_eq!(
            given(&[created(), placed()]).when(cancel()).unwrap(),
            vec![cancelled(OrderStatus::Placed)]
        );
        assert!(is_rule(
            given(&[created(), placed(), paid()]).when(cancel())
        ));
        assert!(is_rule(
            given(&[created(), placed(), paid(), shipped()]).when(cancel())
        ));
        assert!(is_rule(
            given(&[created(), cancelled(OrderStatus::Pending)]).when(cancel())
        ));
        assert!(is_validation(
            given(&[created()]).when(OrderCommand::CancelOrder { reason: "".into() })
        ));
    }

    #[test]
    fn every_other_transition_is_refused() {
        let pending = vec![created()];
        let placed_h = vec![created(), placed()];
        let paid_h = vec![created(), placed(), paid()];
        let shipped_h = vec![created(), placed(), paid(), shipped()];
        let cancelled_h = vec![created(), cancelled(OrderStatus::Pending)];
        // place: only from PENDING
        for h in [&placed_h, &paid_h, &shipped_h, &cancelled_h] {
            assert!(is_rule(given(h).when(OrderCommand::PlaceOrder)));
        }
        // pay: only from PLACED
        for h in [&pending, &paid_h, &shipped_h, &cancelled_h] {
            assert!(is_rule(given(h).when(pay("25.25"))));
        }
        // ship: only from PAID
        for h in [&pending, &placed_h, &shipped_h, &cancelled_h] {
            assert!(is_rule(given(h).when(ship())));
        }
        // item edits: only from PENDING
        for h in [&placed_h, &paid_h, &shipped_h, &cancelled_h] {
            assert!(is_rule(
                given(h).when(OrderCommand::AddItem(line("N", "1", 1)))
            ));
        }
    }

    #[test]
    fn events_round_trip_through_json_with_money_as_strings() {
        let json = serde_json::to_value(created()).unwrap();
        assert_eq!(json["type"], "OrderCreated");
        assert_eq!(json["data"]["total"], "25.25");
        assert_eq!(json["data"]["items"][0]["unitPrice"], "10.00");
        let back: OrderEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, created());
    }

    #[test]
    fn evolve_ignores_events_that_do_not_fit() {
        assert_eq!(evolve(None, &placed()), None);
    }
}
