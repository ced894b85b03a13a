// Every operation the console sends. `npm run codegen` turns these into
// typed documents in src/gql/ (checked for staleness in CI).
import { graphql } from './gql';

export const OrderFields = graphql(`
  fragment OrderFields on Order {
    id
    customerId
    status
    totalAmount
    version
    createdAt
    updatedAt
    trackingNumber
    paymentReference
    cancelReason
    items { sku name unitPrice quantity lineTotal }
  }
`);

export const OrdersQuery = graphql(`
  query Orders($status: OrderStatus, $customerId: ID, $first: Int, $after: String) {
    orders(status: $status, customerId: $customerId, first: $first, after: $after) {
      edges { cursor node { id customerId status totalAmount version updatedAt } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const OrderQuery = graphql(`
  query Order($id: ID!, $atVersion: Int) {
    order(id: $id, atVersion: $atVersion) { ...OrderFields }
  }
`);

export const OrderHistoryQuery = graphql(`
  query OrderHistory($id: ID!) {
    orderHistory(id: $id) {
      position version eventType recordedAt data
      metadata { userId correlationId commandId reason }
    }
  }
`);

export const OrderUpdatedSubscription = graphql(`
  subscription OrderUpdated($id: ID!, $afterVersion: Int) {
    orderUpdated(id: $id, afterVersion: $afterVersion) { ...OrderFields }
  }
`);

export const OrderChangesSubscription = graphql(`
  subscription OrderChanges {
    projectionUpdated(projection: "order_details") { aggregateId version eventType position }
  }
`);

export const CreateOrderMutation = graphql(`
  mutation CreateOrder($input: CreateOrderInput!) {
    createOrder(input: $input) { aggregateId version position }
  }
`);

export const AddItemMutation = graphql(`
  mutation AddItem($input: AddItemInput!) {
    addItem(input: $input) { aggregateId version position }
  }
`);

export const RemoveItemMutation = graphql(`
  mutation RemoveItem($input: RemoveItemInput!) {
    removeItem(input: $input) { aggregateId version position }
  }
`);

export const PlaceOrderMutation = graphql(`
  mutation PlaceOrder($input: PlaceOrderInput!) {
    placeOrder(input: $input) { aggregateId version position }
  }
`);

export const PayOrderMutation = graphql(`
  mutation PayOrder($input: PayOrderInput!) {
    payOrder(input: $input) { aggregateId version position }
  }
`);

export const ShipOrderMutation = graphql(`
  mutation ShipOrder($input: ShipOrderInput!) {
    shipOrder(input: $input) { aggregateId version position }
  }
`);

export const CancelOrderMutation = graphql(`
  mutation CancelOrder($input: CancelOrderInput!) {
    cancelOrder(input: $input) { aggregateId version position }
  }
`);

export const EventFeedSubscription = graphql(`
  subscription EventFeed($afterPosition: String, $filter: EventFilter) {
    events(afterPosition: $afterPosition, filter: $filter) {
      position eventId streamId streamType version eventType recordedAt data
      metadata { userId correlationId reason }
    }
  }
`);

export const ProjectionFields = graphql(`
  fragment ProjectionFields on ProjectionStatus {
    name position head lag lagSeconds eventsPerSecond state lastError generation
    rebuild { generation replaces state position head lag eventsDone eventsPerSecond error }
  }
`);

export const ProjectionsQuery = graphql(`
  query Projections {
    projections { ...ProjectionFields }
  }
`);

export const ProjectionStatusSubscription = graphql(`
  subscription ProjectionStatus($name: String!) {
    projectionStatus(name: $name) { ...ProjectionFields }
  }
`);

export const RebuildProjectionMutation = graphql(`
  mutation RebuildProjection($name: String!) {
    rebuildProjection(name: $name) { projection generation state }
  }
`);
