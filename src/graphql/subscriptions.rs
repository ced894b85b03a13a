//! Push instead of polling: a client learns the moment a projection has
//! applied its change.

use async_graphql::{Context, ID, Result, SimpleObject, Subscription};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::error::ApiError;
use super::events::SubscriptionGauge;
use super::order::parse_order_id;
use super::types::Order;
use super::{read_models, request_context};
use crate::projections::{ProjectionNotice, order_details};

/// A projection applied an event.
#[derive(SimpleObject, Debug, Clone)]
pub struct ProjectionUpdate {
    pub projection: String,
    pub aggregate_id: ID,
    pub version: i32,
    /// The event's global position (a decimal i64).
    pub position: String,
    pub event_type: String,
}

impl From<ProjectionNotice> for ProjectionUpdate {
    fn from(n: ProjectionNotice) -> Self {
        ProjectionUpdate {
            projection: n.projection.to_owned(),
            aggregate_id: ID(n.aggregate_id),
            version: n.version,
            position: n.position.to_string(),
            event_type: n.event_type,
        }
    }
}

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
        id: ID,
        after_version: Option<i32>,
    ) -> Result<impl Stream<Item = Result<Order>>> {
        let rc = request_context(ctx);
        rc.user()?;
        let id = parse_order_id(&id)?;
        let read = read_models(ctx).clone();
        // Subscribe before the first read, so no change falls in between.
        let mut notices = read.notices.subscribe();
        let mut last_sent = after_version.unwrap_or(0);
        metrics::gauge!("chronicle_active_subscriptions", "subscription" => "orderUpdated")
            .increment(1.0);
        let guard = SubscriptionGauge("orderUpdated");
        Ok(async_stream::stream! {
            let _guard = guard;
            let mut check = true;
            loop {
                if check {
                    let current = async {
                        let generation = read.live_generation(order_details::NAME).await?;
                        order_details::get(read.db(), generation, &id).await
                    }
                    .await;
                    match current {
                        Ok(Some(detail)) if detail.version > last_sent => {
                            if let Err(e) = rc.require_customer_access(&detail.order.customer_id) {
                                yield Err(e.into());
                                return;
                            }
                            last_sent = detail.version;
                            yield Ok(Order::from_detail(&detail));
                        }
                        Ok(_) => {}
                        Err(e) => {
                            yield Err(ApiError::internal(&e).into());
                            return;
                        }
                    }
                }
                check = match notices.recv().await {
                    Ok(n) => n.projection == order_details::NAME && n.aggregate_id == id && n.version > last_sent,
                    // Fell behind: whatever we missed, the row has the latest.
                    Err(RecvError::Lagged(_)) => true,
                    Err(RecvError::Closed) => return,
                };
            }
        })
    }

    /// Every event a projection applies, optionally only for one projection
    /// and/or one aggregate. A subscriber that falls behind skips ahead.
    async fn projection_updated(
        &self,
        ctx: &Context<'_>,
        projection: Option<String>,
        aggregate_id: Option<ID>,
    ) -> Result<impl Stream<Item = ProjectionUpdate>> {
        let rc = request_context(ctx);
        rc.require_staff()?;
        let read = read_models(ctx);
        if let Some(p) = &projection
            && !read.projections.iter().any(|known| known.name() == p)
        {
            return Err(ApiError::validation(format!("unknown projection {p}")).into());
        }
        let mut notices = read.notices.subscribe();
        metrics::gauge!("chronicle_active_subscriptions", "subscription" => "projectionUpdated")
            .increment(1.0);
        let guard = SubscriptionGauge("projectionUpdated");
        Ok(async_stream::stream! {
            let _guard = guard;
            loop {
                match notices.recv().await {
                    Ok(n) => {
                        let wanted = projection.as_deref().is_none_or(|p| p == n.projection)
                            && aggregate_id.as_ref().is_none_or(|a| a.0 == n.aggregate_id);
                        if wanted {
                            yield ProjectionUpdate::from(n);
                        }
                    }
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "projectionUpdated subscriber fell behind");
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        })
    }
}
