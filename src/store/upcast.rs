//! Upcasters: old event payloads are rewritten to the current schema on
//! every read path (aggregate load, projections, history, the feed), so the
//! rest of the code only knows the newest shape. Stored rows never change
//! (invariant 1).
//!
//! The store knows no aggregate: each aggregate registers its typed steps
//! (`Aggregate::register_upcasters`), keyed by (stream type, event type,
//! schema version), so two aggregates may use the same event type name.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::domain::{Aggregate, Upcast, UpcastRegistry};

type Step = Arc<dyn Fn(Value) -> Result<Value, serde_json::Error> + Send + Sync>;

/// The upcasters of every aggregate this process knows. Cheap to clone.
#[derive(Clone, Default)]
pub struct Upcasters {
    steps: HashMap<(&'static str, &'static str, i32), Step>,
}

impl fmt::Debug for Upcasters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<_> = self.steps.keys().collect();
        keys.sort();
        f.debug_struct("Upcasters").field("steps", &keys).finish()
    }
}

impl UpcastRegistry for Upcasters {
    fn register<U: Upcast>(&mut self, stream_type: &'static str) {
        let step: Step = Arc::new(|data| {
            let old: U::From = serde_json::from_value(data)?;
            serde_json::to_value(U::upcast(old))
        });
        self.steps
            .insert((stream_type, U::EVENT_TYPE, U::FROM_VERSION), step);
    }
}

impl Upcasters {
    /// No upcasters at all.
    pub fn new() -> Upcasters {
        Upcasters::default()
    }

    /// Adds the upcasters of aggregate `A`.
    pub fn with<A: Aggregate>(mut self) -> Upcasters {
        A::register_upcasters(&mut self);
        self
    }

    /// Applies every matching step in turn; returns the final version and
    /// data, or why a step could not read the payload.
    pub fn upcast(
        &self,
        stream_type: &str,
        event_type: &str,
        mut version: i32,
        mut data: Value,
    ) -> Result<(i32, Value), serde_json::Error> {
        while let Some(step) = self.steps.get(&(stream_type, event_type, version)) {
            data = step(data)?;
            version += 1;
        }
        Ok((version, data))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::order::OrderAggregate;

    #[test]
    fn order_created_v1_gains_its_total_only_in_order_streams() {
        let upcasters = Upcasters::new().with::<OrderAggregate>();
        let v1 = json!({"customerId": "c", "items": [
            {"sku": "A", "name": "a", "unitPrice": "10.00", "quantity": 2},
            {"sku": "B", "name": "b", "unitPrice": "5.25", "quantity": 1}
        ]});
        let (version, data) = upcasters
            .upcast("Order", "OrderCreated", 1, v1.clone())
            .expect("upcasts");
        assert_eq!(version, 2);
        assert_eq!(data["total"], "25.25");
        // The same event type in another aggregate's stream is not touched.
        assert_eq!(
            upcasters
                .upcast("Invoice", "OrderCreated", 1, v1.clone())
                .expect("passes"),
            (1, v1)
        );
    }

    #[test]
    fn current_versions_pass_through() {
        let upcasters = Upcasters::new().with::<OrderAggregate>();
        let v2 = json!({"customerId": "c", "items": [], "total": "1"});
        assert_eq!(
            upcasters
                .upcast("Order", "OrderCreated", 2, v2.clone())
                .expect("passes"),
            (2, v2.clone())
        );
        assert_eq!(
            upcasters
                .upcast("Order", "OrderPlaced", 1, v2.clone())
                .expect("passes"),
            (1, v2)
        );
    }

    #[test]
    fn an_unreadable_old_payload_is_an_error_not_a_guess() {
        let upcasters = Upcasters::new().with::<OrderAggregate>();
        assert!(
            upcasters
                .upcast("Order", "OrderCreated", 1, json!({"items": 3}))
                .is_err()
        );
    }
}
