//! The GraphQL documents the tests and the benchmark send.

/// `createOrder`, with the events it appended.
pub const CREATE: &str = "mutation($input: CreateOrderInput!) { createOrder(input: $input) { aggregateId version position events { eventType version position } } }";
/// `placeOrder`.
pub const PLACE: &str = "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { aggregateId version position } }";
/// `payOrder`.
pub const PAY: &str =
    "mutation($input: PayOrderInput!) { payOrder(input: $input) { aggregateId version position } }";
/// `shipOrder`.
pub const SHIP: &str = "mutation($input: ShipOrderInput!) { shipOrder(input: $input) { aggregateId version position } }";
/// `cancelOrder`.
pub const CANCEL: &str = "mutation($input: CancelOrderInput!) { cancelOrder(input: $input) { aggregateId version position } }";
/// `addItem`.
pub const ADD_ITEM: &str =
    "mutation($input: AddItemInput!) { addItem(input: $input) { aggregateId version position } }";
/// `removeItem`.
pub const REMOVE_ITEM: &str = "mutation($input: RemoveItemInput!) { removeItem(input: $input) { aggregateId version position } }";
/// `orderHistory(id)` with the metadata.
pub const HISTORY: &str = "query($id: ID!) { orderHistory(id: $id) { version eventType position metadata { userId correlationId causationId commandId reason } } }";
/// Every field of `Order` that [`crate::Order`] reads.
pub const ORDER_FIELDS: &str = "id customerId status totalAmount trackingNumber paymentReference cancelReason version items { sku name unitPrice quantity lineTotal }";
/// The smallest query: a baseline for the transport.
pub const TYPENAME: &str = "{ __typename }";
/// Every projection's name and lag.
pub const PROJECTIONS: &str = "{ projections { name lag } }";
