//! Push instead of polling: a client learns the moment a projection has
//! applied its change. `read_model_updates` is the loop every "this row
//! changed" subscription uses; `projectionUpdated` streams the notices.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::parser::types::Selection;
use async_graphql::{Context, ID, Result, SimpleObject, Subscription};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::error::ApiError;
use super::scalars::Position;
use super::{read_models, request_context};
use crate::projections::{ProjectionNotice, RoutedWatch};

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

/// How long a subscription stays in its executor after a delivery, waiting
/// for the next change, before it parks (see [`Parking`]).
const HOT_FOR: Duration = Duration::from_secs(5);

/// Lets a read-model subscription leave async-graphql's executor while
/// nothing changes. An idle subscription inside the executor costs about
/// 13 KB of heap (the executor's streams and generators, the document, the
/// variables); a parked one keeps only what it needs to wake: its watch,
/// the version it last sent and its gauge. The WebSocket layer that runs
/// the operation puts a `Parking` into each execution's data; when the
/// resolver's stream ends with [`Parked`] state in it, the operation is not
/// complete: the layer waits on [`Parked::wait`] and executes the operation
/// again with the state handed back, and the resolver continues from it
/// (no version skipped, none sent twice). Without a `Parking` (the legacy
/// protocol, or more than one root field) a subscription waits inside the
/// executor as before.
pub(crate) struct Parking {
    state: Mutex<ParkState>,
}

#[derive(Default)]
struct ParkState {
    /// Taken by the one resolver that may park in this execution.
    claimed: bool,
    /// What the previous execution parked, handed to this one.
    resume: Option<Parked>,
    /// What this execution parked.
    parked: Option<Parked>,
}

/// A parked subscription: the watch it registered before its first read
/// (so no change falls between two executions), the last version it sent
/// and its place in the active-subscriptions gauge.
pub(crate) struct Parked {
    watch: RoutedWatch,
    last_sent: i32,
    gauge: SubscriptionGauge,
    _parked: ParkedGauge,
}

/// Counts a parked subscription in `chronicle_parked_subscriptions`.
struct ParkedGauge;

impl ParkedGauge {
    fn new() -> ParkedGauge {
        metrics::gauge!("chronicle_parked_subscriptions").increment(1.0);
        ParkedGauge
    }
}

impl Drop for ParkedGauge {
    fn drop(&mut self) {
        metrics::gauge!("chronicle_parked_subscriptions").decrement(1.0);
    }
}

impl Parked {
    /// Waits until a version newer than the one last sent is readable;
    /// false when the router is gone (the server is stopping).
    pub(crate) async fn wait(&mut self) -> bool {
        loop {
            match self.watch.changed().await {
                Some(version) if version > self.last_sent => return true,
                Some(_) => {}
                None => return false,
            }
        }
    }
}

impl Parking {
    /// A parking for an execution; `resume` is what the previous execution
    /// of the same operation parked.
    pub(crate) fn new(resume: Option<Parked>) -> Parking {
        Parking {
            state: Mutex::new(ParkState {
                resume,
                ..ParkState::default()
            }),
        }
    }

    /// What this execution parked, if it did.
    pub(crate) fn take_parked(&self) -> Option<Parked> {
        self.lock().parked.take()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ParkState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The parking a resolver of `ctx` may use: only when the operation has
    /// exactly one root field (then the end of the execution's stream is
    /// that field's), and only by one resolver.
    pub(crate) fn claim(ctx: &Context<'_>) -> Option<(Arc<Parking>, Option<Parked>)> {
        let parking = ctx.data_opt::<Arc<Parking>>()?;
        let root = &ctx.query_env.operation.node.selection_set.node.items;
        if root.len() != 1 || !matches!(root[0].node, Selection::Field(_)) {
            return None;
        }
        let mut state = parking.lock();
        if state.claimed {
            return None;
        }
        state.claimed = true;
        let resume = state.resume.take();
        drop(state);
        Some((parking.clone(), resume))
    }

    /// Whether this execution continues a parked subscription (checks made
    /// when it was first executed need not be made again).
    pub(crate) fn resuming(ctx: &Context<'_>) -> bool {
        ctx.data_opt::<Arc<Parking>>()
            .is_some_and(|p| p.lock().resume.is_some())
    }

    fn park(&self, parked: Parked) {
        self.lock().parked = Some(parked);
    }
}

/// One aggregate's read-model row, each time `projection` applies an event
/// for it, and at once if it is already past `after_version`. `fetch`
/// reads the row as `(version, view)`; an error from it ends the stream.
/// Watches the aggregate's routed notices (not every notice: a write wakes
/// only its own subscribers) before the first read, so no change falls in
/// between; the watch holds the latest version, so a slow subscriber
/// re-reads the latest state, never an older one, never a version twice.
/// With a [`Parking`] the stream parks when it has nothing to send: at
/// once when a read found nothing new, or [`HOT_FOR`] after a delivery.
pub(crate) fn read_model_updates<T, F, Fut>(
    ctx: &Context<'_>,
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
    let (parking, resume) = match Parking::claim(ctx) {
        Some((parking, resume)) => (Some(parking), resume),
        None => (None, None),
    };
    let (mut watch, mut last_sent, guard) = match resume {
        Some(p) => (p.watch, p.last_sent, p.gauge),
        None => (
            read_models(ctx).router.watch(projection, &aggregate_id),
            after_version,
            SubscriptionGauge::new(gauge),
        ),
    };
    async_stream::stream! {
        let mut check = true;
        loop {
            let mut sent = false;
            if check {
                // Boxed: the read's future is large and lives only while
                // reading; inline it would be part of every idle
                // subscription's state.
                match Box::pin(fetch()).await {
                    Ok(Some((version, view))) if version > last_sent => {
                        last_sent = version;
                        sent = true;
                        yield Ok(view);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        yield Err(e.into());
                        return;
                    }
                }
            }
            let next = match &parking {
                None => watch.changed().await,
                Some(parking) => {
                    let waited = if sent {
                        tokio::time::timeout(HOT_FOR, watch.changed()).await.ok()
                    } else {
                        None
                    };
                    match waited {
                        Some(next) => next,
                        None => {
                            parking.park(Parked {
                                watch,
                                last_sent,
                                gauge: guard,
                                _parked: ParkedGauge::new(),
                            });
                            return;
                        }
                    }
                }
            };
            check = match next {
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
