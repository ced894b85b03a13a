//! The Order commands as mutations. Each resolver parses its input once
//! (ids, money), checks who may send it, and hands a domain command to the
//! generic `commands::execute`.

use async_graphql::{Context, ID, InputObject, Object, Result};

use super::{order_owner, parse_order_id};
use crate::auth::Role;
use crate::commands;
use crate::domain::order::{OrderAggregate, OrderCommand, OrderId, OrderLine};
use crate::graphql::error::ApiError;
use crate::graphql::scalars::Money;
use crate::graphql::types::{CommandOptions, CommandResult};
use crate::graphql::{request_context, store};

/// One line of a new order.
#[derive(InputObject, Debug)]
pub struct OrderItemInput {
    /// The product's stock-keeping unit (unique within the order).
    pub sku: String,
    /// The product's name.
    pub name: String,
    /// Price of one unit, positive.
    pub unit_price: Money,
    /// Units, positive.
    pub quantity: i32,
}

impl From<OrderItemInput> for OrderLine {
    fn from(i: OrderItemInput) -> Self {
        OrderLine {
            sku: i.sku,
            name: i.name,
            unit_price: i.unit_price.0,
            quantity: i.quantity,
        }
    }
}

/// Opens an order.
#[derive(InputObject, Debug)]
pub struct CreateOrderInput {
    /// Whose order it is (customers may only name themselves).
    pub customer_id: ID,
    /// At least one line, at most 1,000, each sku once.
    pub items: Vec<OrderItemInput>,
    #[graphql(flatten)]
    #[allow(missing_docs)]
    pub options: CommandOptions,
}

/// Adds a line to a PENDING order.
#[derive(InputObject, Debug)]
pub struct AddItemInput {
    /// The order.
    pub order_id: ID,
    /// The product's stock-keeping unit (not yet in the order).
    pub sku: String,
    /// The product's name.
    pub name: String,
    /// Price of one unit, positive.
    pub unit_price: Money,
    /// Units, positive.
    pub quantity: i32,
    #[graphql(flatten)]
    #[allow(missing_docs)]
    pub options: CommandOptions,
}

/// Removes a line from a PENDING order (never its last one).
#[derive(InputObject, Debug)]
pub struct RemoveItemInput {
    /// The order.
    pub order_id: ID,
    /// The line to remove.
    pub sku: String,
    #[graphql(flatten)]
    #[allow(missing_docs)]
    pub options: CommandOptions,
}

/// Submits a PENDING order.
#[derive(InputObject, Debug)]
pub struct PlaceOrderInput {
    /// The order.
    pub order_id: ID,
    #[graphql(flatten)]
    #[allow(missing_docs)]
    pub options: CommandOptions,
}

/// Pays a PLACED order in full.
#[derive(InputObject, Debug)]
pub struct PayOrderInput {
    /// The order.
    pub order_id: ID,
    /// Must equal the order's total.
    pub amount: Money,
    /// The payment provider's reference.
    pub payment_reference: String,
    #[graphql(flatten)]
    #[allow(missing_docs)]
    pub options: CommandOptions,
}

/// Ships a PAID order.
#[derive(InputObject, Debug)]
pub struct ShipOrderInput {
    /// The order.
    pub order_id: ID,
    /// The carrier's tracking number.
    pub tracking_number: String,
    #[graphql(flatten)]
    #[allow(missing_docs)]
    pub options: CommandOptions,
}

/// Cancels a PENDING or PLACED order.
#[derive(InputObject, Debug)]
pub struct CancelOrderInput {
    /// The order.
    pub order_id: ID,
    /// Why (kept in the event and its metadata).
    pub reason: String,
    #[graphql(flatten)]
    #[allow(missing_docs)]
    pub options: CommandOptions,
}

/// Which roles may send which Order command:
///
/// | command | customer | staff | admin |
/// | --- | --- | --- | --- |
/// | createOrder, addItem, removeItem, placeOrder, cancelOrder | own orders | any | any |
/// | payOrder, shipOrder | no (FORBIDDEN) | any | any |
pub fn permitted(role: Role, command: &OrderCommand) -> bool {
    match command {
        OrderCommand::PayOrder { .. } | OrderCommand::ShipOrder { .. } => role != Role::Customer,
        OrderCommand::CreateOrder { .. }
        | OrderCommand::AddItem(_)
        | OrderCommand::RemoveItem { .. }
        | OrderCommand::PlaceOrder
        | OrderCommand::CancelOrder { .. } => true,
    }
}

/// Runs an Order command on behalf of the request's caller. The caller and
/// the options are checked before the order id, so an anonymous caller
/// learns nothing about ids.
async fn run(
    ctx: &Context<'_>,
    order_id: Result<OrderId, ApiError>,
    command: OrderCommand,
    options: &CommandOptions,
    reason: Option<String>,
) -> Result<CommandResult> {
    let rc = request_context(ctx);
    let cmd_ctx = rc.command(options, reason)?;
    let order_id = order_id?;
    let store = store(ctx);
    let (_, role, _) = rc.user()?;
    if !permitted(role, &command) {
        return Err(
            ApiError::forbidden(format!("{} is for staff and admins", command.name())).into(),
        );
    }
    // Customers act only on their own orders; another customer's order is
    // answered as if it did not exist.
    if role == Role::Customer {
        if let OrderCommand::CreateOrder { customer_id, .. } = &command {
            rc.require_customer_access(customer_id)?;
        } else if let Some(owner) = order_owner(store, &order_id).await?
            && !rc.sees_customer(&owner)?
        {
            return Err(ApiError::not_found("order not found").into());
        }
    }
    let outcome = commands::execute::<OrderAggregate>(store, &order_id, &command, &cmd_ctx)
        .await
        .map_err(ApiError::from)?;
    Ok(outcome.into())
}

/// The Order commands.
#[derive(Default)]
pub struct OrderMutation;

#[Object]
impl OrderMutation {
    /// Opens an order (PENDING) with its first lines; the result's
    /// `aggregateId` is the new order's id.
    async fn create_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer and the lines.")] input: CreateOrderInput,
    ) -> Result<CommandResult> {
        let order_id = Ok(OrderId::from_uuid(uuid::Uuid::new_v4()));
        let command = OrderCommand::CreateOrder {
            customer_id: input.customer_id.0,
            items: input.items.into_iter().map(OrderLine::from).collect(),
        };
        run(ctx, order_id, command, &input.options, None).await
    }

    /// Adds a line to a PENDING order.
    async fn add_item(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order and the new line.")] input: AddItemInput,
    ) -> Result<CommandResult> {
        let order_id = parse_order_id(&input.order_id);
        let command = OrderCommand::AddItem(OrderLine {
            sku: input.sku,
            name: input.name,
            unit_price: input.unit_price.0,
            quantity: input.quantity,
        });
        run(ctx, order_id, command, &input.options, None).await
    }

    /// Removes a line from a PENDING order (not its last one: cancel instead).
    async fn remove_item(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order and the sku to remove.")] input: RemoveItemInput,
    ) -> Result<CommandResult> {
        let order_id = parse_order_id(&input.order_id);
        let command = OrderCommand::RemoveItem { sku: input.sku };
        run(ctx, order_id, command, &input.options, None).await
    }

    /// Submits a PENDING order (PENDING → PLACED).
    async fn place_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order.")] input: PlaceOrderInput,
    ) -> Result<CommandResult> {
        let order_id = parse_order_id(&input.order_id);
        run(
            ctx,
            order_id,
            OrderCommand::PlaceOrder,
            &input.options,
            None,
        )
        .await
    }

    /// Records the payment of a PLACED order (PLACED → PAID); the amount
    /// must equal the total.
    async fn pay_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order, the amount and the payment reference.")] input: PayOrderInput,
    ) -> Result<CommandResult> {
        let order_id = parse_order_id(&input.order_id);
        let command = OrderCommand::PayOrder {
            amount: input.amount.0,
            payment_reference: input.payment_reference,
        };
        run(ctx, order_id, command, &input.options, None).await
    }

    /// Ships a PAID order (PAID → SHIPPED).
    async fn ship_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order and its tracking number.")] input: ShipOrderInput,
    ) -> Result<CommandResult> {
        let order_id = parse_order_id(&input.order_id);
        let command = OrderCommand::ShipOrder {
            tracking_number: input.tracking_number,
        };
        run(ctx, order_id, command, &input.options, None).await
    }

    /// Cancels a PENDING or PLACED order; the reason is kept in the event
    /// and in its metadata.
    async fn cancel_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order and why it is cancelled.")] input: CancelOrderInput,
    ) -> Result<CommandResult> {
        let order_id = parse_order_id(&input.order_id);
        let reason = input.reason;
        let command = OrderCommand::CancelOrder {
            reason: reason.clone(),
        };
        run(ctx, order_id, command, &input.options, Some(reason)).await
    }
}
