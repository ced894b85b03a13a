//! Given events, when a command, then events or the exact rule that
//! refused it. No database.

use super::*;
use crate::testing::given;

type Order = OrderAggregate;

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
fn wrong_status(action: &'static str, status: OrderStatus) -> OrderError {
    OrderError::WrongStatus { action, status }
}
fn sku(s: &str) -> String {
    s.to_owned()
}

#[test]
fn create_computes_the_total() {
    given::<Order>(&[])
        .when(create_cmd(vec![
            line("A", "10.00", 2),
            line("B", "5.25", 1),
        ]))
        .then([created()]);
}

#[test]
fn create_refuses_bad_input_naming_the_rule() {
    given::<Order>(&[])
        .when(create_cmd(vec![]))
        .then_err(OrderError::NoItems);
    given::<Order>(&[])
        .when(create_cmd(vec![line("A", "1", -1)]))
        .then_err(OrderError::NonPositiveQuantity { sku: sku("A") });
    given::<Order>(&[])
        .when(create_cmd(vec![line("A", "1", 0)]))
        .then_err(OrderError::NonPositiveQuantity { sku: sku("A") });
    given::<Order>(&[])
        .when(create_cmd(vec![line("A", "-1", 1)]))
        .then_err(OrderError::NonPositivePrice { sku: sku("A") });
    given::<Order>(&[])
        .when(create_cmd(vec![line("A", "0", 1)]))
        .then_err(OrderError::NonPositivePrice { sku: sku("A") });
    given::<Order>(&[])
        .when(create_cmd(vec![line("", "1", 1)]))
        .then_err(OrderError::EmptyText { field: "sku" });
    given::<Order>(&[])
        .when(create_cmd(vec![line("A", "1", 1), line("A", "2", 1)]))
        .then_err(OrderError::DuplicateSku { sku: sku("A") });
    let too_many = (0..=MAX_LINES)
        .map(|i| line(&format!("S{i}"), "1", 1))
        .collect();
    given::<Order>(&[])
        .when(create_cmd(too_many))
        .then_err(OrderError::TooManyItems);
    given::<Order>(&[])
        .when(OrderCommand::CreateOrder {
            customer_id: " ".into(),
            items: vec![line("A", "1", 1)],
        })
        .then_err(OrderError::EmptyText {
            field: "customerId",
        });
    // Amounts are bounded where they enter, so no total (nor any sum a
    // read model keeps) can overflow.
    given::<Order>(&[])
        .when(create_cmd(vec![line(
            "A",
            "79228162514264337593543950335",
            2,
        )]))
        .then_err(OrderError::PriceTooHigh { sku: sku("A") });
    given::<Order>(&[])
        .when(create_cmd(vec![line("A", "1000000000.0001", 1)]))
        .then_err(OrderError::PriceTooHigh { sku: sku("A") });
    given::<Order>(&[])
        .when(create_cmd(vec![line("A", "1000000000", MAX_QUANTITY)]))
        .events();
    given::<Order>(&[])
        .when(create_cmd(vec![line("A", "1", MAX_QUANTITY + 1)]))
        .then_err(OrderError::QuantityTooHigh { sku: sku("A") });
    given::<Order>(&[])
        .when(create_cmd(vec![line("A", "0.00001", 1)]))
        .then_err(OrderError::TooManyDecimals { field: "unitPrice" });
    // 1.50000 is 1.5: trailing zeros are not decimal places.
    given::<Order>(&[])
        .when(create_cmd(vec![line("A", "1.50000", 1)]))
        .events();
    given::<Order>(&[])
        .when(create_cmd(vec![line("A\u{0}", "1", 1)]))
        .then_err(OrderError::ControlCharacter { field: "sku" });
    given::<Order>(&[])
        .when(OrderCommand::CreateOrder {
            customer_id: "c\n1".into(),
            items: vec![line("A", "1", 1)],
        })
        .then_err(OrderError::ControlCharacter {
            field: "customerId",
        });
    let long = "x".repeat(MAX_TEXT + 1);
    given::<Order>(&[])
        .when(create_cmd(vec![line(&long, "1", 1)]))
        .then_err(OrderError::TextTooLong { field: "sku" });
}

#[test]
fn create_twice_is_refused() {
    given::<Order>(&[created()])
        .when(create_cmd(vec![line("A", "1", 1)]))
        .then_err(OrderError::AlreadyExists);
}

#[test]
fn commands_on_a_missing_order_are_not_found() {
    for cmd in [OrderCommand::PlaceOrder, cancel(), ship(), pay("1")] {
        given::<Order>(&[]).when(cmd).then_err(OrderError::NotFound);
    }
}

#[test]
fn add_and_remove_items_while_pending_keep_the_total() {
    given::<Order>(&[created()])
        .when(OrderCommand::AddItem(line("C", "1.50", 2)))
        .then([OrderEvent::ItemAdded(ItemAdded {
            item: line("C", "1.50", 2),
            total: dec("28.25"),
        })]);
    given::<Order>(&[created()])
        .when(OrderCommand::RemoveItem { sku: "A".into() })
        .then([OrderEvent::ItemRemoved(ItemRemoved {
            sku: "A".into(),
            total: dec("5.25"),
        })]);
}

#[test]
fn item_edits_are_refused_outside_pending_or_when_they_break_a_rule() {
    given::<Order>(&[created(), placed()])
        .when(OrderCommand::AddItem(line("C", "1", 1)))
        .then_err(wrong_status("add items to", OrderStatus::Placed));
    given::<Order>(&[created(), placed()])
        .when(OrderCommand::RemoveItem { sku: "A".into() })
        .then_err(wrong_status("remove items from", OrderStatus::Placed));
    given::<Order>(&[created()])
        .when(OrderCommand::AddItem(line("A", "1", 1)))
        .then_err(OrderError::SkuAlreadyInOrder { sku: sku("A") });
    given::<Order>(&[created()])
        .when(OrderCommand::RemoveItem { sku: "Z".into() })
        .then_err(OrderError::SkuNotInOrder { sku: sku("Z") });
    given::<Order>(&[created()])
        .when(OrderCommand::AddItem(line("C", "1", 0)))
        .then_err(OrderError::NonPositiveQuantity { sku: sku("C") });
    let single = OrderEvent::OrderCreated(OrderCreated {
        customer_id: "c".into(),
        items: vec![line("A", "1", 1)],
        total: dec("1"),
    });
    given::<Order>(&[single])
        .when(OrderCommand::RemoveItem { sku: "A".into() })
        .then_err(OrderError::LastItem);
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
    given::<Order>(&history)
        .when(OrderCommand::AddItem(line("LAST", "1", 1)))
        .events();
    history.push(OrderEvent::ItemAdded(ItemAdded {
        item: line("LAST", "1", 1),
        total: dec("1"),
    }));
    given::<Order>(&history)
        .when(OrderCommand::AddItem(line("MORE", "1", 1)))
        .then_err(OrderError::OrderFull);
}

#[test]
fn full_lifecycle() {
    given::<Order>(&[created()])
        .when(OrderCommand::PlaceOrder)
        .then([placed()]);
    given::<Order>(&[created(), placed()])
        .when(pay("25.25"))
        .then([paid()]);
    given::<Order>(&[created(), placed(), paid()])
        .when(ship())
        .then([shipped()]);
    let state = [created(), placed(), paid(), shipped()]
        .iter()
        .fold(None, evolve)
        .expect("an order");
    assert_eq!(state.status, OrderStatus::Shipped);
    assert_eq!(state.tracking_number.as_deref(), Some("TRK"));
}

#[test]
fn pay_must_match_the_total_exactly() {
    let history = [created(), placed()];
    given::<Order>(&history)
        .when(pay("25.24"))
        .then_err(OrderError::AmountMismatch {
            amount: dec("25.24"),
            total: dec("25.25"),
        });
    given::<Order>(&history)
        .when(pay("100"))
        .then_err(OrderError::AmountMismatch {
            amount: dec("100"),
            total: dec("25.25"),
        });
    // 25.250 is the same amount as 25.25.
    given::<Order>(&history).when(pay("25.250")).events();
    given::<Order>(&history)
        .when(pay("-25.25"))
        .then_err(OrderError::NonPositiveAmount);
    given::<Order>(&history)
        .when(pay("25.25001"))
        .then_err(OrderError::TooManyDecimals { field: "amount" });
    given::<Order>(&history)
        .when(OrderCommand::PayOrder {
            amount: dec("25.25"),
            payment_reference: "".into(),
        })
        .then_err(OrderError::EmptyText {
            field: "paymentReference",
        });
}

#[test]
fn cancel_from_pending_or_placed_only() {
    given::<Order>(&[created()])
        .when(cancel())
        .then([cancelled(OrderStatus::Pending)]);
    given::<Order>(&[created(), placed()])
        .when(cancel())
        .then([cancelled(OrderStatus::Placed)]);
    given::<Order>(&[created(), placed(), paid()])
        .when(cancel())
        .then_err(wrong_status("cancel", OrderStatus::Paid));
    given::<Order>(&[created(), placed(), paid(), shipped()])
        .when(cancel())
        .then_err(wrong_status("cancel", OrderStatus::Shipped));
    given::<Order>(&[created(), cancelled(OrderStatus::Pending)])
        .when(cancel())
        .then_err(wrong_status("cancel", OrderStatus::Cancelled));
    given::<Order>(&[created()])
        .when(OrderCommand::CancelOrder { reason: "".into() })
        .then_err(OrderError::EmptyText { field: "reason" });
}

#[test]
fn every_other_transition_is_refused() {
    use OrderStatus::*;
    let pending = vec![created()];
    let placed_h = vec![created(), placed()];
    let paid_h = vec![created(), placed(), paid()];
    let shipped_h = vec![created(), placed(), paid(), shipped()];
    let cancelled_h = vec![created(), cancelled(Pending)];
    // place: only from PENDING
    for (h, status) in [
        (&placed_h, Placed),
        (&paid_h, Paid),
        (&shipped_h, Shipped),
        (&cancelled_h, Cancelled),
    ] {
        given::<Order>(h)
            .when(OrderCommand::PlaceOrder)
            .then_err(wrong_status("place", status));
        // item edits: only from PENDING
        given::<Order>(h)
            .when(OrderCommand::AddItem(line("N", "1", 1)))
            .then_err(wrong_status("add items to", status));
    }
    // pay: only from PLACED
    for (h, status) in [
        (&pending, Pending),
        (&paid_h, Paid),
        (&shipped_h, Shipped),
        (&cancelled_h, Cancelled),
    ] {
        given::<Order>(h)
            .when(pay("25.25"))
            .then_err(wrong_status("pay", status));
    }
    // ship: only from PAID
    for (h, status) in [
        (&pending, Pending),
        (&placed_h, Placed),
        (&shipped_h, Shipped),
        (&cancelled_h, Cancelled),
    ] {
        given::<Order>(h)
            .when(ship())
            .then_err(wrong_status("ship", status));
    }
}

#[test]
fn refusals_fall_into_the_api_categories() {
    assert_eq!(OrderError::NoItems.kind(), RefusalKind::Validation);
    assert_eq!(
        wrong_status("pay", OrderStatus::Pending).kind(),
        RefusalKind::BusinessRule
    );
    assert_eq!(OrderError::NotFound.kind(), RefusalKind::NotFound);
    assert_eq!(
        wrong_status("add items to", OrderStatus::Placed).to_string(),
        "cannot add items to an order that is PLACED"
    );
}

#[test]
fn events_round_trip_through_json_with_money_as_strings() {
    let json = serde_json::to_value(created()).expect("json");
    assert_eq!(json["type"], "OrderCreated");
    assert_eq!(json["data"]["total"], "25.25");
    assert_eq!(json["data"]["items"][0]["unitPrice"], "10.00");
    let back: OrderEvent = serde_json::from_value(json).expect("decodes");
    assert_eq!(back, created());
}

#[test]
fn order_created_v1_gains_its_total() {
    let v1: OrderCreatedV1 = serde_json::from_value(serde_json::json!({
        "customerId": "c", "items": [
            {"sku": "A", "name": "a", "unitPrice": "10.00", "quantity": 2},
            {"sku": "B", "name": "b", "unitPrice": "5.25", "quantity": 1}
        ]
    }))
    .expect("v1 payload");
    assert_eq!(OrderCreatedV1ToV2::upcast(v1).total, dec("25.25"));
}

#[test]
fn order_ids_parse_once_and_print_canonically() {
    let id: OrderId = " 6F9619FF-8B86-D011-B42D-00C04FC964FF "
        .parse()
        .expect("uuid");
    assert_eq!(id.to_string(), "6f9619ff-8b86-d011-b42d-00c04fc964ff");
    assert!("not-a-uuid".parse::<OrderId>().is_err());
    assert_eq!("PAID".parse::<OrderStatus>(), Ok(OrderStatus::Paid));
    assert!("paid".parse::<OrderStatus>().is_err());
}

#[test]
fn evolve_ignores_events_that_do_not_fit() {
    assert_eq!(evolve(None, &placed()), None);
}
