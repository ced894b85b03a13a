//! Order queries and the Order commands as mutations.

use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};

use super::error::ApiError;
use super::scalars::Money;
use super::types::{CommandResult, EventRecord, Order};
use super::{request_context, store};
use crate::commands::{self, CommandContext, LoadTarget};
use crate::domain::order::{OrderAggregate, OrderCommand, OrderLine};
use crate::projections::order_details;

/// Parses an order id (a UUID) into its canonical form.
pub(crate) fn parse_order_id(id: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(id.trim())
        .map(|u| u.to_string())
        .map_err(|_| ApiError::validation(format!("{id:?} is not a valid order id (a UUID)")))
}

#[derive(InputObject, Debug)]
pub struct OrderItemInput {
    pub sku: String,
    pub name: String,
    pub unit_price: Money,
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

#[derive(InputObject, Debug)]
pub struct CreateOrderInput {
    pub customer_id: ID,
    pub items: Vec<OrderItemInput>,
    /// Optional; a repeated commandId returns the first result.
    pub command_id: Option<ID>,
    pub expected_version: Option<i32>,
}

#[derive(InputObject, Debug)]
pub struct AddItemInput {
    pub order_id: ID,
    pub sku: String,
    pub name: String,
    pub unit_price: Money,
    pub quantity: i32,
    pub command_id: Option<ID>,
    pub expected_version: Option<i32>,
}

#[derive(InputObject, Debug)]
pub struct RemoveItemInput {
    pub order_id: ID,
    pub sku: String,
    pub command_id: Option<ID>,
    pub expected_version: Option<i32>,
}

#[derive(InputObject, Debug)]
pub struct PlaceOrderInput {
    pub order_id: ID,
    pub command_id: Option<ID>,
    pub expected_version: Option<i32>,
}

#[derive(InputObject, Debug)]
pub struct PayOrderInput {
    pub order_id: ID,
    /// Must equal the order's total.
    pub amount: Money,
    pub payment_reference: String,
    pub command_id: Option<ID>,
    pub expected_version: Option<i32>,
}

#[derive(InputObject, Debug)]
pub struct ShipOrderInput {
    pub order_id: ID,
    pub tracking_number: String,
    pub command_id: Option<ID>,
    pub expected_version: Option<i32>,
}

#[derive(InputObject, Debug)]
pub struct CancelOrderInput {
    pub order_id: ID,
    pub reason: String,
    pub command_id: Option<ID>,
    pub expected_version: Option<i32>,
}

#[derive(Default)]
pub struct OrderQuery;

#[Object]
impl OrderQuery {
    /// An order's current state from the `order_details` read model (it
    /// trails the write by the projection's lag; subscribe to
    /// `orderUpdated` to know when a write is readable), or, with `asOf` or
    /// `atVersion`, its state rebuilt from the events at that time or
    /// version. Null when it did not exist.
    async fn order(
        &self,
        ctx: &Context<'_>,
        id: ID,
        as_of: Option<DateTime<Utc>>,
        at_version: Option<i32>,
    ) -> Result<Option<Order>> {
        let rc = request_context(ctx);
        rc.user()?;
        let id = parse_order_id(&id)?;
        if as_of.is_some() && at_version.is_some() {
            return Err(ApiError::validation("give asOf or atVersion, not both").into());
        }
        if let Some(v) = at_version
            && v < 1
        {
            return Err(ApiError::validation("atVersion starts at 1").into());
        }
        let store = store(ctx);
        if as_of.is_none() && at_version.is_none() {
            let read = super::read_models(ctx);
            let detail = async {
                let generation = read.live_generation(order_details::NAME).await?;
                order_details::get(read.db(), generation, &id).await
            }
            .await
            .map_err(|e| ApiError::internal(&e))?;
            let Some(detail) = detail else {
                return Ok(None);
            };
            rc.require_customer_access(&detail.order.customer_id)?;
            return Ok(Some(Order::from_detail(&detail)));
        }
        let target = match (as_of, at_version) {
            (Some(t), _) => LoadTarget::AsOf(t),
            (_, Some(v)) => LoadTarget::AtVersion(v),
            (None, None) => LoadTarget::Latest,
        };
        let loaded = commands::load::<OrderAggregate>(store, &id, target)
            .await
            .map_err(ApiError::from)?;
        if let Some(v) = at_version
            && loaded.version < v
            && loaded.version > 0
        {
            return Err(ApiError::validation(format!(
                "atVersion {v} is past the end of the order (version {})",
                loaded.version
            ))
            .into());
        }
        let (Some(state), Some(updated_at)) = (&loaded.state, loaded.updated_at) else {
            return Ok(None);
        };
        rc.require_customer_access(&state.customer_id)?;
        let created = store
            .read_stream(&id, 1, Some(1))
            .await
            .map_err(ApiError::from)?;
        let created_at = created.first().map_or(updated_at, |e| e.recorded_at);
        Ok(Some(Order::from_state(
            &id,
            state,
            loaded.version,
            created_at,
            updated_at,
        )))
    }

    /// The audit trail of one order: every event with who, when and why.
    async fn order_history(&self, ctx: &Context<'_>, id: ID) -> Result<Vec<EventRecord>> {
        let rc = request_context(ctx);
        rc.user()?;
        let id = parse_order_id(&id)?;
        let events = store(ctx)
            .read_stream(&id, 1, None)
            .await
            .map_err(ApiError::from)?;
        let Some(created) = events.first() else {
            return Err(ApiError::not_found(format!("order {id} not found")).into());
        };
        let state = crate::domain::order::evolve(None, &created.decode().map_err(ApiError::from)?);
        if let Some(state) = state {
            rc.require_customer_access(&state.customer_id)?;
        }
        Ok(events.iter().map(EventRecord::from).collect())
    }
}

#[derive(Default)]
pub struct OrderMutation;

/// Runs an Order command on behalf of the request's caller.
async fn run(
    ctx: &Context<'_>,
    order_id: &str,
    command: OrderCommand,
    cmd_ctx: CommandContext,
) -> Result<CommandResult> {
    let rc = request_context(ctx);
    let store = store(ctx);
    let started = std::time::Instant::now();
    let name = command.name();
    // Customers act only on their own orders.
    if let (_, crate::auth::Role::Customer, _) = rc.user()? {
        if let OrderCommand::CreateOrder { customer_id, .. } = &command {
            rc.require_customer_access(customer_id)?;
        } else if let Some(order) =
            commands::load::<OrderAggregate>(store, order_id, LoadTarget::Latest)
                .await
                .map_err(ApiError::from)?
                .state
        {
            rc.require_customer_access(&order.customer_id)?;
        }
    }
    let result =
        commands::execute::<OrderAggregate>(store, order_id, name, &command, &cmd_ctx).await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(commands::CommandError::Domain(_)) => "rejected",
        Err(commands::CommandError::Concurrency { .. }) => "conflict",
        Err(_) => "error",
    };
    metrics::counter!("chronicle_commands_total", "command" => name, "outcome" => outcome)
        .increment(1);
    metrics::histogram!("chronicle_command_duration_seconds", "command" => name, "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
    Ok(result.map_err(ApiError::from)?.into())
}

fn ids(command_id: Option<ID>) -> Option<String> {
    command_id.map(|c| c.0)
}

#[Object]
impl OrderMutation {
    async fn create_order(
        &self,
        ctx: &Context<'_>,
        input: CreateOrderInput,
    ) -> Result<CommandResult> {
        let cmd_ctx =
            request_context(ctx).command(ids(input.command_id), input.expected_version, None)?;
        let order_id = uuid::Uuid::new_v4().to_string();
        let command = OrderCommand::CreateOrder {
            customer_id: input.customer_id.0,
            items: input.items.into_iter().map(OrderLine::from).collect(),
        };
        run(ctx, &order_id, command, cmd_ctx).await
    }

    async fn add_item(&self, ctx: &Context<'_>, input: AddItemInput) -> Result<CommandResult> {
        let cmd_ctx =
            request_context(ctx).command(ids(input.command_id), input.expected_version, None)?;
        let order_id = parse_order_id(&input.order_id)?;
        let command = OrderCommand::AddItem(OrderLine {
            sku: input.sku,
            name: input.name,
            unit_price: input.unit_price.0,
            quantity: input.quantity,
        });
        run(ctx, &order_id, command, cmd_ctx).await
    }

    async fn remove_item(
        &self,
        ctx: &Context<'_>,
        input: RemoveItemInput,
    ) -> Result<CommandResult> {
        let cmd_ctx =
            request_context(ctx).command(ids(input.command_id), input.expected_version, None)?;
        let order_id = parse_order_id(&input.order_id)?;
        run(
            ctx,
            &order_id,
            OrderCommand::RemoveItem { sku: input.sku },
            cmd_ctx,
        )
        .await
    }

    async fn place_order(
        &self,
        ctx: &Context<'_>,
        input: PlaceOrderInput,
    ) -> Result<CommandResult> {
        let cmd_ctx =
            request_context(ctx).command(ids(input.command_id), input.expected_version, None)?;
        let order_id = parse_order_id(&input.order_id)?;
        run(ctx, &order_id, OrderCommand::PlaceOrder, cmd_ctx).await
    }

    async fn pay_order(&self, ctx: &Context<'_>, input: PayOrderInput) -> Result<CommandResult> {
        let cmd_ctx =
            request_context(ctx).command(ids(input.command_id), input.expected_version, None)?;
        let order_id = parse_order_id(&input.order_id)?;
        let command = OrderCommand::PayOrder {
            amount: input.amount.0,
            payment_reference: input.payment_reference,
        };
        run(ctx, &order_id, command, cmd_ctx).await
    }

    async fn ship_order(&self, ctx: &Context<'_>, input: ShipOrderInput) -> Result<CommandResult> {
        let cmd_ctx =
            request_context(ctx).command(ids(input.command_id), input.expected_version, None)?;
        let order_id = parse_order_id(&input.order_id)?;
        let command = OrderCommand::ShipOrder {
            tracking_number: input.tracking_number,
        };
        run(ctx, &order_id, command, cmd_ctx).await
    }

    async fn cancel_order(
        &self,
        ctx: &Context<'_>,
        input: CancelOrderInput,
    ) -> Result<CommandResult> {
        let cmd_ctx = request_context(ctx).command(
            ids(input.command_id),
            input.expected_version,
            Some(input.reason.clone()),
        )?;
        let order_id = parse_order_id(&input.order_id)?;
        let command = OrderCommand::CancelOrder {
            reason: input.reason,
        };
        run(ctx, &order_id, command, cmd_ctx).await
    }
}
