/* eslint-disable */
import * as types from './graphql';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment OrderFields on Order {\n    id\n    customerId\n    status\n    totalAmount\n    version\n    createdAt\n    updatedAt\n    trackingNumber\n    paymentReference\n    cancelReason\n    items { sku name unitPrice quantity lineTotal }\n  }\n": typeof types.OrderFieldsFragmentDoc,
    "\n  query Orders($status: OrderStatus, $customerId: ID, $first: Int, $after: String) {\n    orders(status: $status, customerId: $customerId, first: $first, after: $after) {\n      edges { cursor node { id customerId status totalAmount version updatedAt } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": typeof types.OrdersDocument,
    "\n  query Order($id: ID!, $atVersion: Int) {\n    order(id: $id, atVersion: $atVersion) { ...OrderFields }\n  }\n": typeof types.OrderDocument,
    "\n  query OrderHistory($id: ID!) {\n    orderHistory(id: $id) {\n      position version eventType recordedAt data\n      metadata { userId correlationId commandId reason }\n    }\n  }\n": typeof types.OrderHistoryDocument,
    "\n  subscription OrderUpdated($id: ID!, $afterVersion: Int) {\n    orderUpdated(id: $id, afterVersion: $afterVersion) { ...OrderFields }\n  }\n": typeof types.OrderUpdatedDocument,
    "\n  subscription OrderChanges {\n    projectionUpdated(projection: \"order_details\") { aggregateId version eventType position }\n  }\n": typeof types.OrderChangesDocument,
    "\n  mutation CreateOrder($input: CreateOrderInput!) {\n    createOrder(input: $input) { aggregateId version position }\n  }\n": typeof types.CreateOrderDocument,
    "\n  mutation AddItem($input: AddItemInput!) {\n    addItem(input: $input) { aggregateId version position }\n  }\n": typeof types.AddItemDocument,
    "\n  mutation RemoveItem($input: RemoveItemInput!) {\n    removeItem(input: $input) { aggregateId version position }\n  }\n": typeof types.RemoveItemDocument,
    "\n  mutation PlaceOrder($input: PlaceOrderInput!) {\n    placeOrder(input: $input) { aggregateId version position }\n  }\n": typeof types.PlaceOrderDocument,
    "\n  mutation PayOrder($input: PayOrderInput!) {\n    payOrder(input: $input) { aggregateId version position }\n  }\n": typeof types.PayOrderDocument,
    "\n  mutation ShipOrder($input: ShipOrderInput!) {\n    shipOrder(input: $input) { aggregateId version position }\n  }\n": typeof types.ShipOrderDocument,
    "\n  mutation CancelOrder($input: CancelOrderInput!) {\n    cancelOrder(input: $input) { aggregateId version position }\n  }\n": typeof types.CancelOrderDocument,
    "\n  subscription EventFeed($afterPosition: String, $filter: EventFilter) {\n    events(afterPosition: $afterPosition, filter: $filter) {\n      position eventId streamId streamType version eventType recordedAt data\n      metadata { userId correlationId reason }\n    }\n  }\n": typeof types.EventFeedDocument,
    "\n  fragment ProjectionFields on ProjectionStatus {\n    name position head lag lagSeconds eventsPerSecond state lastError generation\n    rebuild { generation replaces state position head lag eventsDone eventsPerSecond error }\n  }\n": typeof types.ProjectionFieldsFragmentDoc,
    "\n  query Projections {\n    projections { ...ProjectionFields }\n  }\n": typeof types.ProjectionsDocument,
    "\n  subscription ProjectionStatus($name: String!) {\n    projectionStatus(name: $name) { ...ProjectionFields }\n  }\n": typeof types.ProjectionStatusDocument,
    "\n  mutation RebuildProjection($name: String!) {\n    rebuildProjection(name: $name) { projection generation state }\n  }\n": typeof types.RebuildProjectionDocument,
};
const documents: Documents = {
    "\n  fragment OrderFields on Order {\n    id\n    customerId\n    status\n    totalAmount\n    version\n    createdAt\n    updatedAt\n    trackingNumber\n    paymentReference\n    cancelReason\n    items { sku name unitPrice quantity lineTotal }\n  }\n": types.OrderFieldsFragmentDoc,
    "\n  query Orders($status: OrderStatus, $customerId: ID, $first: Int, $after: String) {\n    orders(status: $status, customerId: $customerId, first: $first, after: $after) {\n      edges { cursor node { id customerId status totalAmount version updatedAt } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": types.OrdersDocument,
    "\n  query Order($id: ID!, $atVersion: Int) {\n    order(id: $id, atVersion: $atVersion) { ...OrderFields }\n  }\n": types.OrderDocument,
    "\n  query OrderHistory($id: ID!) {\n    orderHistory(id: $id) {\n      position version eventType recordedAt data\n      metadata { userId correlationId commandId reason }\n    }\n  }\n": types.OrderHistoryDocument,
    "\n  subscription OrderUpdated($id: ID!, $afterVersion: Int) {\n    orderUpdated(id: $id, afterVersion: $afterVersion) { ...OrderFields }\n  }\n": types.OrderUpdatedDocument,
    "\n  subscription OrderChanges {\n    projectionUpdated(projection: \"order_details\") { aggregateId version eventType position }\n  }\n": types.OrderChangesDocument,
    "\n  mutation CreateOrder($input: CreateOrderInput!) {\n    createOrder(input: $input) { aggregateId version position }\n  }\n": types.CreateOrderDocument,
    "\n  mutation AddItem($input: AddItemInput!) {\n    addItem(input: $input) { aggregateId version position }\n  }\n": types.AddItemDocument,
    "\n  mutation RemoveItem($input: RemoveItemInput!) {\n    removeItem(input: $input) { aggregateId version position }\n  }\n": types.RemoveItemDocument,
    "\n  mutation PlaceOrder($input: PlaceOrderInput!) {\n    placeOrder(input: $input) { aggregateId version position }\n  }\n": types.PlaceOrderDocument,
    "\n  mutation PayOrder($input: PayOrderInput!) {\n    payOrder(input: $input) { aggregateId version position }\n  }\n": types.PayOrderDocument,
    "\n  mutation ShipOrder($input: ShipOrderInput!) {\n    shipOrder(input: $input) { aggregateId version position }\n  }\n": types.ShipOrderDocument,
    "\n  mutation CancelOrder($input: CancelOrderInput!) {\n    cancelOrder(input: $input) { aggregateId version position }\n  }\n": types.CancelOrderDocument,
    "\n  subscription EventFeed($afterPosition: String, $filter: EventFilter) {\n    events(afterPosition: $afterPosition, filter: $filter) {\n      position eventId streamId streamType version eventType recordedAt data\n      metadata { userId correlationId reason }\n    }\n  }\n": types.EventFeedDocument,
    "\n  fragment ProjectionFields on ProjectionStatus {\n    name position head lag lagSeconds eventsPerSecond state lastError generation\n    rebuild { generation replaces state position head lag eventsDone eventsPerSecond error }\n  }\n": types.ProjectionFieldsFragmentDoc,
    "\n  query Projections {\n    projections { ...ProjectionFields }\n  }\n": types.ProjectionsDocument,
    "\n  subscription ProjectionStatus($name: String!) {\n    projectionStatus(name: $name) { ...ProjectionFields }\n  }\n": types.ProjectionStatusDocument,
    "\n  mutation RebuildProjection($name: String!) {\n    rebuildProjection(name: $name) { projection generation state }\n  }\n": types.RebuildProjectionDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment OrderFields on Order {\n    id\n    customerId\n    status\n    totalAmount\n    version\n    createdAt\n    updatedAt\n    trackingNumber\n    paymentReference\n    cancelReason\n    items { sku name unitPrice quantity lineTotal }\n  }\n"): typeof import('./graphql').OrderFieldsFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Orders($status: OrderStatus, $customerId: ID, $first: Int, $after: String) {\n    orders(status: $status, customerId: $customerId, first: $first, after: $after) {\n      edges { cursor node { id customerId status totalAmount version updatedAt } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"): typeof import('./graphql').OrdersDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Order($id: ID!, $atVersion: Int) {\n    order(id: $id, atVersion: $atVersion) { ...OrderFields }\n  }\n"): typeof import('./graphql').OrderDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query OrderHistory($id: ID!) {\n    orderHistory(id: $id) {\n      position version eventType recordedAt data\n      metadata { userId correlationId commandId reason }\n    }\n  }\n"): typeof import('./graphql').OrderHistoryDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription OrderUpdated($id: ID!, $afterVersion: Int) {\n    orderUpdated(id: $id, afterVersion: $afterVersion) { ...OrderFields }\n  }\n"): typeof import('./graphql').OrderUpdatedDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription OrderChanges {\n    projectionUpdated(projection: \"order_details\") { aggregateId version eventType position }\n  }\n"): typeof import('./graphql').OrderChangesDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateOrder($input: CreateOrderInput!) {\n    createOrder(input: $input) { aggregateId version position }\n  }\n"): typeof import('./graphql').CreateOrderDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AddItem($input: AddItemInput!) {\n    addItem(input: $input) { aggregateId version position }\n  }\n"): typeof import('./graphql').AddItemDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RemoveItem($input: RemoveItemInput!) {\n    removeItem(input: $input) { aggregateId version position }\n  }\n"): typeof import('./graphql').RemoveItemDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation PlaceOrder($input: PlaceOrderInput!) {\n    placeOrder(input: $input) { aggregateId version position }\n  }\n"): typeof import('./graphql').PlaceOrderDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation PayOrder($input: PayOrderInput!) {\n    payOrder(input: $input) { aggregateId version position }\n  }\n"): typeof import('./graphql').PayOrderDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ShipOrder($input: ShipOrderInput!) {\n    shipOrder(input: $input) { aggregateId version position }\n  }\n"): typeof import('./graphql').ShipOrderDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CancelOrder($input: CancelOrderInput!) {\n    cancelOrder(input: $input) { aggregateId version position }\n  }\n"): typeof import('./graphql').CancelOrderDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription EventFeed($afterPosition: String, $filter: EventFilter) {\n    events(afterPosition: $afterPosition, filter: $filter) {\n      position eventId streamId streamType version eventType recordedAt data\n      metadata { userId correlationId reason }\n    }\n  }\n"): typeof import('./graphql').EventFeedDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ProjectionFields on ProjectionStatus {\n    name position head lag lagSeconds eventsPerSecond state lastError generation\n    rebuild { generation replaces state position head lag eventsDone eventsPerSecond error }\n  }\n"): typeof import('./graphql').ProjectionFieldsFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Projections {\n    projections { ...ProjectionFields }\n  }\n"): typeof import('./graphql').ProjectionsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ProjectionStatus($name: String!) {\n    projectionStatus(name: $name) { ...ProjectionFields }\n  }\n"): typeof import('./graphql').ProjectionStatusDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RebuildProjection($name: String!) {\n    rebuildProjection(name: $name) { projection generation state }\n  }\n"): typeof import('./graphql').RebuildProjectionDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
