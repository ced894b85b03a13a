/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** Adds a line to a PENDING order. */
export type AddItemInput = {
  /**
   * Optional idempotency key (1 to 200 characters): a repeated
   * commandId returns the first result and appends nothing.
   */
  commandId?: string | number | null | undefined;
  /**
   * Optional: refuse the command with CONCURRENCY_CONFLICT unless the
   * aggregate is at this version. Without it, a command that loses a
   * race is retried on fresh state.
   */
  expectedVersion?: number | null | undefined;
  /** The product's name. */
  name: string;
  /** The order. */
  orderId: string | number;
  /** Units, positive. */
  quantity: number;
  /** The product's stock-keeping unit (not yet in the order). */
  sku: string;
  /** Price of one unit, positive. */
  unitPrice: string;
};

/** Cancels a PENDING or PLACED order. */
export type CancelOrderInput = {
  /**
   * Optional idempotency key (1 to 200 characters): a repeated
   * commandId returns the first result and appends nothing.
   */
  commandId?: string | number | null | undefined;
  /**
   * Optional: refuse the command with CONCURRENCY_CONFLICT unless the
   * aggregate is at this version. Without it, a command that loses a
   * race is retried on fresh state.
   */
  expectedVersion?: number | null | undefined;
  /** The order. */
  orderId: string | number;
  /** Why (kept in the event and its metadata). */
  reason: string;
};

/** Opens an order. */
export type CreateOrderInput = {
  /**
   * Optional idempotency key (1 to 200 characters): a repeated
   * commandId returns the first result and appends nothing.
   */
  commandId?: string | number | null | undefined;
  /** Whose order it is (customers may only name themselves). */
  customerId: string | number;
  /**
   * Optional: refuse the command with CONCURRENCY_CONFLICT unless the
   * aggregate is at this version. Without it, a command that loses a
   * race is retried on fresh state.
   */
  expectedVersion?: number | null | undefined;
  /** At least one line, at most 1,000, each sku once. */
  items: Array<OrderItemInput>;
};

/** Which events to return. All given conditions must hold. */
export type EventFilter = {
  /** Only events of these types. */
  eventTypes?: Array<string> | null | undefined;
  /** recordedAt >= from */
  from?: string | null | undefined;
  /** Only this stream's events. */
  streamId?: string | number | null | undefined;
  /** recordedAt <= to */
  to?: string | null | undefined;
  /** Only events of commands sent by this user. */
  userId?: string | null | undefined;
};

/** One line of a new order. */
export type OrderItemInput = {
  /** The product's name. */
  name: string;
  /** Units, positive. */
  quantity: number;
  /** The product's stock-keeping unit (unique within the order). */
  sku: string;
  /** Price of one unit, positive. */
  unitPrice: string;
};

/** Where an order is in its lifecycle. */
export type OrderStatus =
  /** Cancelled before payment. */
  | 'CANCELLED'
  /** Paid in full. */
  | 'PAID'
  /** Created; items may still change. */
  | 'PENDING'
  /** Submitted; awaiting payment. */
  | 'PLACED'
  /** Handed to the carrier. */
  | 'SHIPPED';

/** Pays a PLACED order in full. */
export type PayOrderInput = {
  /** Must equal the order's total. */
  amount: string;
  /**
   * Optional idempotency key (1 to 200 characters): a repeated
   * commandId returns the first result and appends nothing.
   */
  commandId?: string | number | null | undefined;
  /**
   * Optional: refuse the command with CONCURRENCY_CONFLICT unless the
   * aggregate is at this version. Without it, a command that loses a
   * race is retried on fresh state.
   */
  expectedVersion?: number | null | undefined;
  /** The order. */
  orderId: string | number;
  /** The payment provider's reference. */
  paymentReference: string;
};

/** Submits a PENDING order. */
export type PlaceOrderInput = {
  /**
   * Optional idempotency key (1 to 200 characters): a repeated
   * commandId returns the first result and appends nothing.
   */
  commandId?: string | number | null | undefined;
  /**
   * Optional: refuse the command with CONCURRENCY_CONFLICT unless the
   * aggregate is at this version. Without it, a command that loses a
   * race is retried on fresh state.
   */
  expectedVersion?: number | null | undefined;
  /** The order. */
  orderId: string | number;
};

/** Whether a projection is keeping up or stuck. */
export type ProjectionState =
  /** Stopped at `failedPosition`; retried with backoff. */
  | 'FAILED'
  /** Applying events as they come. */
  | 'RUNNING';

/** Where a rebuild is in its life. */
export type RebuildState =
  /** The rebuilt generation is live. */
  | 'DONE'
  /** Stopped by an error; the live generation is untouched. */
  | 'FAILED'
  /** Applying events (also after a restart stopped it: it resumes). */
  | 'RUNNING';

/** Removes a line from a PENDING order (never its last one). */
export type RemoveItemInput = {
  /**
   * Optional idempotency key (1 to 200 characters): a repeated
   * commandId returns the first result and appends nothing.
   */
  commandId?: string | number | null | undefined;
  /**
   * Optional: refuse the command with CONCURRENCY_CONFLICT unless the
   * aggregate is at this version. Without it, a command that loses a
   * race is retried on fresh state.
   */
  expectedVersion?: number | null | undefined;
  /** The order. */
  orderId: string | number;
  /** The line to remove. */
  sku: string;
};

/** Ships a PAID order. */
export type ShipOrderInput = {
  /**
   * Optional idempotency key (1 to 200 characters): a repeated
   * commandId returns the first result and appends nothing.
   */
  commandId?: string | number | null | undefined;
  /**
   * Optional: refuse the command with CONCURRENCY_CONFLICT unless the
   * aggregate is at this version. Without it, a command that loses a
   * race is retried on fresh state.
   */
  expectedVersion?: number | null | undefined;
  /** The order. */
  orderId: string | number;
  /** The carrier's tracking number. */
  trackingNumber: string;
};

export type OrderFieldsFragment = { id: string, customerId: string, status: OrderStatus, totalAmount: string, version: number, createdAt: string, updatedAt: string, trackingNumber: string | null, paymentReference: string | null, cancelReason: string | null, items: Array<{ sku: string, name: string, unitPrice: string, quantity: number, lineTotal: string }> };

export type OrdersQueryVariables = Exact<{
  status?: OrderStatus | null | undefined;
  customerId?: string | number | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type OrdersQuery = { orders: { edges: Array<{ cursor: string, node: { id: string, customerId: string, status: OrderStatus, totalAmount: string, version: number, updatedAt: string } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type OrderQueryVariables = Exact<{
  id: string | number;
  atVersion?: number | null | undefined;
}>;


export type OrderQuery = { order: { id: string, customerId: string, status: OrderStatus, totalAmount: string, version: number, createdAt: string, updatedAt: string, trackingNumber: string | null, paymentReference: string | null, cancelReason: string | null, items: Array<{ sku: string, name: string, unitPrice: string, quantity: number, lineTotal: string }> } | null };

export type OrderHistoryQueryVariables = Exact<{
  id: string | number;
}>;


export type OrderHistoryQuery = { orderHistory: Array<{ position: string, version: number, eventType: string, recordedAt: string, data: unknown, metadata: { userId: string | null, correlationId: string | null, commandId: string | null, reason: string | null } }> };

export type OrderUpdatedSubscriptionVariables = Exact<{
  id: string | number;
  afterVersion?: number | null | undefined;
}>;


export type OrderUpdatedSubscription = { orderUpdated: { id: string, customerId: string, status: OrderStatus, totalAmount: string, version: number, createdAt: string, updatedAt: string, trackingNumber: string | null, paymentReference: string | null, cancelReason: string | null, items: Array<{ sku: string, name: string, unitPrice: string, quantity: number, lineTotal: string }> } };

export type OrderChangesSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type OrderChangesSubscription = { projectionUpdated: { aggregateId: string, version: number, eventType: string, position: string } };

export type CreateOrderMutationVariables = Exact<{
  input: CreateOrderInput;
}>;


export type CreateOrderMutation = { createOrder: { aggregateId: string, version: number, position: string } };

export type AddItemMutationVariables = Exact<{
  input: AddItemInput;
}>;


export type AddItemMutation = { addItem: { aggregateId: string, version: number, position: string } };

export type RemoveItemMutationVariables = Exact<{
  input: RemoveItemInput;
}>;


export type RemoveItemMutation = { removeItem: { aggregateId: string, version: number, position: string } };

export type PlaceOrderMutationVariables = Exact<{
  input: PlaceOrderInput;
}>;


export type PlaceOrderMutation = { placeOrder: { aggregateId: string, version: number, position: string } };

export type PayOrderMutationVariables = Exact<{
  input: PayOrderInput;
}>;


export type PayOrderMutation = { payOrder: { aggregateId: string, version: number, position: string } };

export type ShipOrderMutationVariables = Exact<{
  input: ShipOrderInput;
}>;


export type ShipOrderMutation = { shipOrder: { aggregateId: string, version: number, position: string } };

export type CancelOrderMutationVariables = Exact<{
  input: CancelOrderInput;
}>;


export type CancelOrderMutation = { cancelOrder: { aggregateId: string, version: number, position: string } };

export type EventFeedSubscriptionVariables = Exact<{
  afterPosition?: string | null | undefined;
  filter?: EventFilter | null | undefined;
}>;


export type EventFeedSubscription = { events: { position: string, eventId: string, streamId: string, streamType: string, version: number, eventType: string, recordedAt: string, data: unknown, metadata: { userId: string | null, correlationId: string | null, reason: string | null } } };

export type ProjectionFieldsFragment = { name: string, position: string, head: string, lag: number, lagSeconds: number, eventsPerSecond: number, state: ProjectionState, lastError: string | null, generation: number, rebuild: { generation: number, replaces: number, state: RebuildState, position: string, head: string, lag: number, eventsDone: number, eventsPerSecond: number, error: string | null } | null };

export type ProjectionsQueryVariables = Exact<{ [key: string]: never; }>;


export type ProjectionsQuery = { projections: Array<{ name: string, position: string, head: string, lag: number, lagSeconds: number, eventsPerSecond: number, state: ProjectionState, lastError: string | null, generation: number, rebuild: { generation: number, replaces: number, state: RebuildState, position: string, head: string, lag: number, eventsDone: number, eventsPerSecond: number, error: string | null } | null }> };

export type ProjectionStatusSubscriptionVariables = Exact<{
  name: string;
}>;


export type ProjectionStatusSubscription = { projectionStatus: { name: string, position: string, head: string, lag: number, lagSeconds: number, eventsPerSecond: number, state: ProjectionState, lastError: string | null, generation: number, rebuild: { generation: number, replaces: number, state: RebuildState, position: string, head: string, lag: number, eventsDone: number, eventsPerSecond: number, error: string | null } | null } };

export type RebuildProjectionMutationVariables = Exact<{
  name: string;
}>;


export type RebuildProjectionMutation = { rebuildProjection: { projection: string, generation: number, state: RebuildState } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const OrderFieldsFragmentDoc = new TypedDocumentString(`
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
  items {
    sku
    name
    unitPrice
    quantity
    lineTotal
  }
}
    `, {"fragmentName":"OrderFields"}) as unknown as TypedDocumentString<OrderFieldsFragment, unknown>;
export const ProjectionFieldsFragmentDoc = new TypedDocumentString(`
    fragment ProjectionFields on ProjectionStatus {
  name
  position
  head
  lag
  lagSeconds
  eventsPerSecond
  state
  lastError
  generation
  rebuild {
    generation
    replaces
    state
    position
    head
    lag
    eventsDone
    eventsPerSecond
    error
  }
}
    `, {"fragmentName":"ProjectionFields"}) as unknown as TypedDocumentString<ProjectionFieldsFragment, unknown>;
export const OrdersDocument = new TypedDocumentString(`
    query Orders($status: OrderStatus, $customerId: ID, $first: Int, $after: String) {
  orders(status: $status, customerId: $customerId, first: $first, after: $after) {
    edges {
      cursor
      node {
        id
        customerId
        status
        totalAmount
        version
        updatedAt
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
    `) as unknown as TypedDocumentString<OrdersQuery, OrdersQueryVariables>;
export const OrderDocument = new TypedDocumentString(`
    query Order($id: ID!, $atVersion: Int) {
  order(id: $id, atVersion: $atVersion) {
    ...OrderFields
  }
}
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
  items {
    sku
    name
    unitPrice
    quantity
    lineTotal
  }
}`) as unknown as TypedDocumentString<OrderQuery, OrderQueryVariables>;
export const OrderHistoryDocument = new TypedDocumentString(`
    query OrderHistory($id: ID!) {
  orderHistory(id: $id) {
    position
    version
    eventType
    recordedAt
    data
    metadata {
      userId
      correlationId
      commandId
      reason
    }
  }
}
    `) as unknown as TypedDocumentString<OrderHistoryQuery, OrderHistoryQueryVariables>;
export const OrderUpdatedDocument = new TypedDocumentString(`
    subscription OrderUpdated($id: ID!, $afterVersion: Int) {
  orderUpdated(id: $id, afterVersion: $afterVersion) {
    ...OrderFields
  }
}
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
  items {
    sku
    name
    unitPrice
    quantity
    lineTotal
  }
}`) as unknown as TypedDocumentString<OrderUpdatedSubscription, OrderUpdatedSubscriptionVariables>;
export const OrderChangesDocument = new TypedDocumentString(`
    subscription OrderChanges {
  projectionUpdated(projection: "order_details") {
    aggregateId
    version
    eventType
    position
  }
}
    `) as unknown as TypedDocumentString<OrderChangesSubscription, OrderChangesSubscriptionVariables>;
export const CreateOrderDocument = new TypedDocumentString(`
    mutation CreateOrder($input: CreateOrderInput!) {
  createOrder(input: $input) {
    aggregateId
    version
    position
  }
}
    `) as unknown as TypedDocumentString<CreateOrderMutation, CreateOrderMutationVariables>;
export const AddItemDocument = new TypedDocumentString(`
    mutation AddItem($input: AddItemInput!) {
  addItem(input: $input) {
    aggregateId
    version
    position
  }
}
    `) as unknown as TypedDocumentString<AddItemMutation, AddItemMutationVariables>;
export const RemoveItemDocument = new TypedDocumentString(`
    mutation RemoveItem($input: RemoveItemInput!) {
  removeItem(input: $input) {
    aggregateId
    version
    position
  }
}
    `) as unknown as TypedDocumentString<RemoveItemMutation, RemoveItemMutationVariables>;
export const PlaceOrderDocument = new TypedDocumentString(`
    mutation PlaceOrder($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    aggregateId
    version
    position
  }
}
    `) as unknown as TypedDocumentString<PlaceOrderMutation, PlaceOrderMutationVariables>;
export const PayOrderDocument = new TypedDocumentString(`
    mutation PayOrder($input: PayOrderInput!) {
  payOrder(input: $input) {
    aggregateId
    version
    position
  }
}
    `) as unknown as TypedDocumentString<PayOrderMutation, PayOrderMutationVariables>;
export const ShipOrderDocument = new TypedDocumentString(`
    mutation ShipOrder($input: ShipOrderInput!) {
  shipOrder(input: $input) {
    aggregateId
    version
    position
  }
}
    `) as unknown as TypedDocumentString<ShipOrderMutation, ShipOrderMutationVariables>;
export const CancelOrderDocument = new TypedDocumentString(`
    mutation CancelOrder($input: CancelOrderInput!) {
  cancelOrder(input: $input) {
    aggregateId
    version
    position
  }
}
    `) as unknown as TypedDocumentString<CancelOrderMutation, CancelOrderMutationVariables>;
export const EventFeedDocument = new TypedDocumentString(`
    subscription EventFeed($afterPosition: String, $filter: EventFilter) {
  events(afterPosition: $afterPosition, filter: $filter) {
    position
    eventId
    streamId
    streamType
    version
    eventType
    recordedAt
    data
    metadata {
      userId
      correlationId
      reason
    }
  }
}
    `) as unknown as TypedDocumentString<EventFeedSubscription, EventFeedSubscriptionVariables>;
export const ProjectionsDocument = new TypedDocumentString(`
    query Projections {
  projections {
    ...ProjectionFields
  }
}
    fragment ProjectionFields on ProjectionStatus {
  name
  position
  head
  lag
  lagSeconds
  eventsPerSecond
  state
  lastError
  generation
  rebuild {
    generation
    replaces
    state
    position
    head
    lag
    eventsDone
    eventsPerSecond
    error
  }
}`) as unknown as TypedDocumentString<ProjectionsQuery, ProjectionsQueryVariables>;
export const ProjectionStatusDocument = new TypedDocumentString(`
    subscription ProjectionStatus($name: String!) {
  projectionStatus(name: $name) {
    ...ProjectionFields
  }
}
    fragment ProjectionFields on ProjectionStatus {
  name
  position
  head
  lag
  lagSeconds
  eventsPerSecond
  state
  lastError
  generation
  rebuild {
    generation
    replaces
    state
    position
    head
    lag
    eventsDone
    eventsPerSecond
    error
  }
}`) as unknown as TypedDocumentString<ProjectionStatusSubscription, ProjectionStatusSubscriptionVariables>;
export const RebuildProjectionDocument = new TypedDocumentString(`
    mutation RebuildProjection($name: String!) {
  rebuildProjection(name: $name) {
    projection
    generation
    state
  }
}
    `) as unknown as TypedDocumentString<RebuildProjectionMutation, RebuildProjectionMutationVariables>;