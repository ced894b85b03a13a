//! `orderUpdated`: an order's read model, pushed when it changes.

use async_graphql::{Context, ID, Result, Subscription};
use futures::Stream;

use super::{Order, order_not_found, order_owner, parse_order_id, read_order};
use crate::graphql::subscriptions::{Parking, read_model_updates};
use crate::graphql::{read_models, request_context, store};
use crate::projections::order_details;

/// The Order subscription.
#[derive(Default)]
pub struct OrderSubscription;

#[Subscription]
impl OrderSubscription {
    /// The order's read model each time its projection applies an event
    /// for it; at once if the read model is already past `afterVersion`
    /// (or exists, without it). Subscribe after a mutation with
    /// `afterVersion: result.version - 1` and the first message is a state
    /// at least as new as the write. A subscriber that falls behind gets the
    /// latest state, never an older one, never the same version twice.
    async fn order_updated(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order's id (a UUID).")] id: ID,
        #[graphql(
            desc = "The version the client already has (default 0: send the current state)."
        )]
        after_version: Option<i32>,
    ) -> Result<impl Stream<Item = Result<Order>>> {
        let rc = request_context(ctx).into_owned();
        rc.user()?;
        let id = parse_order_id(&id)?;
        // An order that does not exist (or is not the caller's) is refused
        // at once, not left silent. The log knows an order the moment it is
        // created, even before its read model does; the read model (most
        // often in memory) knows the owner of any order it holds, which
        // spares a read of the log. A parked subscription woken again was
        // checked when it began (and each read checks the customer again).
        if !Parking::resuming(ctx) {
            let owner = match read_order(read_models(ctx), &id).await? {
                Some(detail) => Some(detail.order.customer_id.clone()),
                None => order_owner(store(ctx), &id).await?,
            };
            match owner {
                Some(owner) if rc.sees_customer(&owner)? => {}
                _ => return Err(order_not_found(&id).into()),
            }
        }
        let read = read_models(ctx).clone();
        let fetch = move || {
            let (read, rc) = (read.clone(), rc.clone());
            async move {
                let Some(detail) = read_order(&read, &id).await? else {
                    return Ok(None);
                };
                if !rc.sees_customer(&detail.order.customer_id)? {
                    return Err(order_not_found(&id));
                }
                Ok(Some((detail.version, Order::from_detail(detail))))
            }
        };
        Ok(read_model_updates(
            ctx,
            "orderUpdated",
            order_details::NAME,
            id.to_string(),
            after_version.unwrap_or(0),
            fetch,
        ))
    }
}
