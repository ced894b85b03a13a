//! Push instead of polling: a client learns the moment a projection has
//! applied its change. `read_model_updates` is the loop every "this row
//! changed" subscription uses; `projectionUpdated` streams the notices.

use std::future::Future;

use async_graphql::{Context, ID, Result, SimpleObject, Subscription};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::error::ApiError;
use super::scalars::Position;
use super::{read_models, request_context};
use crate::projections::{ProjectionNotice, ReadModels};

/// A projection applied an event.
#[derive(SimpleObject, Debug, Clone)]
pub struct ProjectionUpdate {
    /// The projection that applied it.
    pub projection: String,
    /// The aggregate whose read model changed.
    pub aggregate_id: ID,
    /// The aggregate's version now readable.
    pub version: i32,
    /// The event's global position (a decimal i64).
    pub position: Position,
    /// The event's type.
    pub event_type: String,
}

impl From<ProjectionNotice> for ProjectionUpdate {
    fn from(n: ProjectionNotice) -> Self {
        ProjectionUpdate {
            projection: n.projection.to_owned(),
            aggregate_id: ID(n.aggregate_id),
            version: n.version,
            position: Position(n.position),
            event_type: n.event_type,
        }
    }
}

/// Counts a subscription in the active-subscriptions gauge while it lives.
pub(crate) struct SubscriptionGauge(&'static str);

impl SubscriptionGauge {
    /// Counts one more `name` subscription until dropped.
    pub(crate) fn new(name: &'static str) -> SubscriptionGauge {
        metrics::gauge!("chronicle_active_subscriptions", "subscription" => name).increment(1.0);
        SubscriptionGauge(name)
    }
}

impl Drop for SubscriptionGauge {
    fn drop(&mut self) {
        metrics::gauge!("chronicle_active_subscriptions", "subscription" => self.0).decrement(1.0);
    }
}

/// One aggregate's read-model row, each time `projection` applies an event
/// for it, and at once if it is already past `after_version`. `fetch`
/// reads the row as `(version, view)`; an error from it ends the stream.
/// Watches the aggregate's routed notices (not every notice: a write wakes
/// only its own subscribers) before the first read, so no change falls in
/// between; the watch holds the latest version, so a slow subscriber
/// re-reads the latest state, never an older one, never a version twice.
pub(crate) fn read_model_updates<T, F, Fut>(
    read: &ReadModels,
    gauge: &'static str,
    projection: &'static str,
    aggregate_id: String,
    after_version: i32,
    fetch: F,
) -> impl Stream<Item = Result<T>> + use<T, F, Fut>
where
    T: Send + 'static,
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = Result<Option<(i32, T)>, ApiError>> + Send,
{
    let mut watch = read.router.watch(projection, &aggregate_id);
    let guard = SubscriptionGauge::new(gauge);
    async_stream::stream! {
        let _guard = guard;
        let mut last_sent = after_version;
        let mut check = true;
        loop {
            if check {
                // Boxed: the read's future is large and lives only while
                // reading; inline it would be part of every idle
                // subscription's state.
                match Box::pin(fetch()).await {
                    Ok(Some((version, view))) if version > last_sent => {
                        last_sent = version;
                        yield Ok(view);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        yield Err(e.into());
                        return;
                    }
                }
            }
            check = match watch.changed().await {
                Some(version) => version > last_sent,
                None => return,
            };
        }
    }
}

/// The notices subscription.
#[derive(Default)]
pub struct ProjectionSubscription;

#[Subscription]
impl ProjectionSubscription {
    /// Every event a projection applies, optionally only for one projection
    /// and/or one aggregate. A subscriber that falls behind skips ahead.
    /// Staff and admins only.
    async fn projection_updated(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this projection's notices.")] projection: Option<String>,
        #[graphql(desc = "Only notices about this aggregate.")] aggregate_id: Option<ID>,
    ) -> Result<impl Stream<Item = ProjectionUpdate>> {
        request_context(ctx).require_staff()?;
        let read = read_models(ctx);
        if let Some(p) = &projection
            && read.projection(p).is_none()
        {
            return Err(ApiError::validation(format!("unknown projection {p}")).into());
        }
        let mut notices = read.notices.subscribe();
        let guard = SubscriptionGauge::new("projectionUpdated");
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
