//! Typed responses for the common operations.

use anyhow::Context;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use crate::documents::*;
use crate::server::Endpoint;

/// An order command: its document and the field its result is under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `createOrder`
    Create,
    /// `placeOrder`
    Place,
    /// `payOrder`
    Pay,
    /// `shipOrder`
    Ship,
    /// `cancelOrder`
    Cancel,
    /// `addItem`
    AddItem,
    /// `removeItem`
    RemoveItem,
}

impl Op {
    /// The GraphQL document.
    pub fn document(self) -> &'static str {
        match self {
            Op::Create => CREATE,
            Op::Place => PLACE,
            Op::Pay => PAY,
            Op::Ship => SHIP,
            Op::Cancel => CANCEL,
            Op::AddItem => ADD_ITEM,
            Op::RemoveItem => REMOVE_ITEM,
        }
    }

    /// The mutation field.
    pub fn field(self) -> &'static str {
        match self {
            Op::Create => "createOrder",
            Op::Place => "placeOrder",
            Op::Pay => "payOrder",
            Op::Ship => "shipOrder",
            Op::Cancel => "cancelOrder",
            Op::AddItem => "addItem",
            Op::RemoveItem => "removeItem",
        }
    }
}

/// A `Position` (a string on the wire, so that it survives JavaScript) as
/// an `i64`; numbers are accepted too.
fn position<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => s.parse().map_err(D::Error::custom),
        Value::Number(n) => n.as_i64().ok_or_else(|| D::Error::custom("position")),
        other => Err(D::Error::custom(format!("not a position: {other}"))),
    }
}

/// The result of a command.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandResult {
    /// The order's id.
    pub aggregate_id: String,
    /// The order's version after the command.
    pub version: i64,
    /// The position of the last event appended.
    #[serde(deserialize_with = "position")]
    pub position: i64,
    /// The events appended (only `createOrder` asks for them).
    #[serde(default)]
    pub events: Vec<EventRef>,
}

/// One event of a [`CommandResult`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRef {
    /// e.g. `OrderCreated`.
    pub event_type: String,
    /// The stream version it took.
    pub version: i64,
    /// Its global position.
    #[serde(deserialize_with = "position")]
    pub position: i64,
}

/// One entry of `orderHistory`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// The stream version.
    pub version: i64,
    /// e.g. `OrderPlaced`.
    pub event_type: String,
    /// The global position.
    #[serde(deserialize_with = "position")]
    pub position: i64,
    /// Who and why.
    pub metadata: Metadata,
}

/// An event's metadata as `orderHistory` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// The caller (`anonymous` without a token).
    pub user_id: Option<String>,
    /// The correlation id.
    pub correlation_id: Option<String>,
    /// The causation id.
    pub causation_id: Option<String>,
    /// The command id, when the command carried one.
    pub command_id: Option<String>,
    /// The reason, e.g. of a cancellation.
    pub reason: Option<String>,
}

/// The `order(id)` read model ([`ORDER_FIELDS`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// The order's id.
    pub id: String,
    /// Its customer.
    pub customer_id: String,
    /// e.g. `PENDING`, `SHIPPED`.
    pub status: String,
    /// A decimal string, e.g. `25.25`.
    pub total_amount: String,
    /// Set once shipped.
    pub tracking_number: Option<String>,
    /// Set once paid.
    pub payment_reference: Option<String>,
    /// Set once cancelled.
    pub cancel_reason: Option<String>,
    /// The version of the order the read model reflects.
    pub version: i64,
    /// Its lines, in order.
    pub items: Vec<OrderItem>,
}

/// One line of an [`Order`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderItem {
    /// The SKU.
    pub sku: String,
    /// The name.
    pub name: String,
    /// A decimal string.
    pub unit_price: String,
    /// How many.
    pub quantity: i64,
    /// `unit_price × quantity`, a decimal string.
    pub line_total: String,
}

/// The first error of a refused request.
#[derive(Debug, Clone)]
pub struct GqlError {
    /// `extensions.code`, e.g. `BUSINESS_RULE`.
    pub code: Option<String>,
    /// The message.
    pub message: String,
    /// The whole response body.
    pub body: Value,
}

impl GqlError {
    /// The first error of `body`, if it has one.
    pub fn from_body(body: &Value) -> Option<GqlError> {
        let first = body.get("errors")?.get(0)?;
        Some(GqlError {
            code: first["extensions"]["code"].as_str().map(str::to_owned),
            message: first["message"].as_str().unwrap_or_default().to_owned(),
            body: body.clone(),
        })
    }

    /// `extensions` of the error (e.g. `expectedVersion`).
    pub fn extensions(&self) -> &Value {
        &self.body["errors"][0]["extensions"]
    }

    /// Asserts the code and that the message names the rule (`rule` is a
    /// part of it).
    #[track_caller]
    pub fn assert_refused(&self, code: &str, rule: &str) {
        assert_eq!(self.code.as_deref(), Some(code), "{}", self.body);
        assert!(
            self.message.contains(rule),
            "refused for another reason: {:?} does not name {rule:?}",
            self.message
        );
    }
}

impl std::fmt::Display for GqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = self.code.as_deref().unwrap_or("no code");
        write!(f, "{code}: {}", self.message)
    }
}

impl std::error::Error for GqlError {}

/// A projection's name and lag, from [`PROJECTIONS`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProjectionLag {
    /// The projection.
    pub name: String,
    /// Events between its checkpoint and the head of the store.
    pub lag: i64,
}

/// The result of a command that must have succeeded.
#[track_caller]
fn must(op: Op, result: Result<CommandResult, GqlError>) -> CommandResult {
    result.unwrap_or_else(|e| panic!("{} refused: {}", op.field(), e.body))
}

/// The `extensions.code` of the first error, if any.
pub fn error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

impl Endpoint {
    /// Runs a query, deserializing `data.<field>`; a refusal as a
    /// [`GqlError`]. Panics on transport failures and on a shape that does
    /// not deserialize.
    pub async fn try_query<T: DeserializeOwned>(
        &self,
        query: &str,
        field: &str,
        variables: Value,
    ) -> Result<T, GqlError> {
        let body = self.gql(query, variables).await;
        if let Some(error) = GqlError::from_body(&body) {
            return Err(error);
        }
        Ok(serde_json::from_value(body["data"][field].clone())
            .unwrap_or_else(|e| panic!("unexpected {field}: {e}: {body}")))
    }

    /// Runs an order command with `input`; any failure (transport,
    /// refusal, shape) as an error (for the benchmark).
    pub async fn command(&self, op: Op, input: Value) -> anyhow::Result<CommandResult> {
        let mut data = self.data(op.document(), json!({ "input": input })).await?;
        serde_json::from_value(data[op.field()].take())
            .with_context(|| format!("unexpected {} result", op.field()))
    }

    /// Every projection's lag ([`PROJECTIONS`]).
    pub async fn projection_lags(&self) -> anyhow::Result<Vec<ProjectionLag>> {
        let mut data = self.data(PROJECTIONS, json!({})).await?;
        serde_json::from_value(data["projections"].take()).context("unexpected projections")
    }

    /// Runs an order command with `input`.
    pub async fn try_run(&self, op: Op, input: Value) -> Result<CommandResult, GqlError> {
        self.try_query(op.document(), op.field(), json!({ "input": input }))
            .await
    }

    /// Runs an order command that must succeed.
    pub async fn run(&self, op: Op, input: Value) -> CommandResult {
        must(op, self.try_run(op, input).await)
    }

    /// Runs an order command that must be refused.
    pub async fn refused(&self, op: Op, input: Value) -> GqlError {
        match self.try_run(op, input).await {
            Ok(result) => panic!("{} succeeded: {result:?}", op.field()),
            Err(e) => e,
        }
    }

    /// Creates an order for `customer` with two lines (A: 2 × 10.00, B: 1 ×
    /// 5.25; total 25.25).
    pub async fn create(&self, customer: &str) -> CommandResult {
        self.run(
            Op::Create,
            json!({"customerId": customer, "items": [
                {"sku": "A", "name": "Apple", "unitPrice": "10.00", "quantity": 2},
                {"sku": "B", "name": "Banana", "unitPrice": "5.25", "quantity": 1}
            ]}),
        )
        .await
    }

    /// [`Endpoint::create`], returning the id.
    pub async fn create_order(&self, customer: &str) -> String {
        self.create(customer).await.aggregate_id
    }

    /// `placeOrder`.
    pub async fn try_place(&self, id: &str) -> Result<CommandResult, GqlError> {
        self.try_run(Op::Place, json!({ "orderId": id })).await
    }

    /// `placeOrder` that must succeed.
    pub async fn place(&self, id: &str) -> CommandResult {
        must(Op::Place, self.try_place(id).await)
    }

    /// `payOrder` of `amount` with reference `pay-1`.
    pub async fn try_pay(&self, id: &str, amount: &str) -> Result<CommandResult, GqlError> {
        self.try_run(
            Op::Pay,
            json!({"orderId": id, "amount": amount, "paymentReference": "pay-1"}),
        )
        .await
    }

    /// `payOrder` that must succeed.
    pub async fn pay(&self, id: &str, amount: &str) -> CommandResult {
        must(Op::Pay, self.try_pay(id, amount).await)
    }

    /// `shipOrder` with `tracking`.
    pub async fn try_ship(&self, id: &str, tracking: &str) -> Result<CommandResult, GqlError> {
        self.try_run(Op::Ship, json!({"orderId": id, "trackingNumber": tracking}))
            .await
    }

    /// `shipOrder` that must succeed.
    pub async fn ship(&self, id: &str, tracking: &str) -> CommandResult {
        must(Op::Ship, self.try_ship(id, tracking).await)
    }

    /// `cancelOrder` for `reason`.
    pub async fn try_cancel(&self, id: &str, reason: &str) -> Result<CommandResult, GqlError> {
        self.try_run(Op::Cancel, json!({"orderId": id, "reason": reason}))
            .await
    }

    /// `cancelOrder` that must succeed.
    pub async fn cancel(&self, id: &str, reason: &str) -> CommandResult {
        must(Op::Cancel, self.try_cancel(id, reason).await)
    }

    /// `addItem` of `quantity` × `sku` at `unit_price` (named after the sku).
    pub async fn try_add_item(
        &self,
        id: &str,
        sku: &str,
        unit_price: &str,
        quantity: i64,
    ) -> Result<CommandResult, GqlError> {
        self.try_run(
            Op::AddItem,
            json!({"orderId": id, "sku": sku, "name": sku, "unitPrice": unit_price, "quantity": quantity}),
        )
        .await
    }

    /// `addItem` that must succeed.
    pub async fn add_item(
        &self,
        id: &str,
        sku: &str,
        unit_price: &str,
        quantity: i64,
    ) -> CommandResult {
        must(
            Op::AddItem,
            self.try_add_item(id, sku, unit_price, quantity).await,
        )
    }

    /// `removeItem` of `sku`.
    pub async fn try_remove_item(&self, id: &str, sku: &str) -> Result<CommandResult, GqlError> {
        self.try_run(Op::RemoveItem, json!({"orderId": id, "sku": sku}))
            .await
    }

    /// `removeItem` that must succeed.
    pub async fn remove_item(&self, id: &str, sku: &str) -> CommandResult {
        must(Op::RemoveItem, self.try_remove_item(id, sku).await)
    }

    /// `orderHistory(id)`.
    pub async fn history(&self, id: &str) -> Vec<HistoryEntry> {
        self.try_query(HISTORY, "orderHistory", json!({ "id": id }))
            .await
            .unwrap_or_else(|e| panic!("orderHistory refused: {}", e.body))
    }

    /// `order(id)` from the read model, if it has the order.
    pub async fn order(&self, id: &str) -> Option<Order> {
        let query = format!("query($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}");
        self.try_query(&query, "order", json!({ "id": id }))
            .await
            .unwrap_or_else(|e| panic!("order refused: {}", e.body))
    }

    /// `order(id)` once the read model reflects `version` (30 s deadline).
    pub async fn order_at(&self, id: &str, version: i64) -> Order {
        let deadline = tokio::time::Instant::now() + crate::DEADLINE;
        loop {
            let order = self.order(id).await;
            match order {
                Some(order) if order.version >= version => return order,
                _ => assert!(
                    tokio::time::Instant::now() < deadline,
                    "timed out waiting for order {id} at version {version}: {order:?}"
                ),
            }
            tokio::time::sleep(crate::POLL).await;
        }
    }
}
