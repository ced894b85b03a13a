//! Upcasters: old event payloads are rewritten to the current schema on
//! every read path (aggregate load, projections, history, the feed), so the
//! rest of the code only knows the newest shape. Stored rows never change.

use rust_decimal::Decimal;
use serde_json::Value;

/// One step: turns `(event_type, from_version)` data into `from_version + 1`.
struct Upcaster {
    event_type: &'static str,
    from_version: i32,
    apply: fn(Value) -> Value,
}

const CHAIN: &[Upcaster] = &[Upcaster {
    event_type: "OrderCreated",
    from_version: 1,
    apply: order_created_v1_to_v2,
}];

/// Applies every matching step in turn; returns the final version and data.
pub fn upcast(event_type: &str, mut version: i32, mut data: Value) -> (i32, Value) {
    while let Some(step) = CHAIN
        .iter()
        .find(|u| u.event_type == event_type && u.from_version == version)
    {
        data = (step.apply)(data);
        version += 1;
    }
    (version, data)
}

/// OrderCreated v1 had no `total`; v2 carries the sum of the lines.
fn order_created_v1_to_v2(mut data: Value) -> Value {
    let total = data
        .get("items")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| {
                    let price = match item.get("unitPrice")? {
                        Value::String(s) => s.parse::<Decimal>().ok()?,
                        Value::Number(n) => n.to_string().parse::<Decimal>().ok()?,
                        _ => return None,
                    };
                    let quantity = item.get("quantity")?.as_i64()?;
                    price.checked_mul(Decimal::from(quantity))
                })
                .fold(Decimal::ZERO, |acc, amount| acc + amount)
        })
        .unwrap_or_default();
    if let Value::Object(map) = &mut data {
        map.insert("total".into(), Value::String(total.to_string()));
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn order_created_v1_gains_its_total() {
        let v1 = json!({"customerId": "c", "items": [
            {"sku": "A", "name": "a", "unitPrice": "10.00", "quantity": 2},
            {"sku": "B", "name": "b", "unitPrice": "5.25", "quantity": 1}
        ]});
        let (version, data) = upcast("OrderCreated", 1, v1);
        assert_eq!(version, 2);
        assert_eq!(data["total"], "25.25");
    }

    #[test]
    fn current_versions_pass_through() {
        let v2 = json!({"customerId": "c", "items": [], "total": "1"});
        assert_eq!(upcast("OrderCreated", 2, v2.clone()), (2, v2.clone()));
        assert_eq!(upcast("OrderPlaced", 1, v2.clone()), (1, v2));
    }
}
