//! Operating the read side: each projection's status (position, lag,
//! state), rebuilding a projection without downtime and watching it.

use std::time::Duration;

use async_graphql::{Context, Enum, Object, Result, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures::Stream;

use super::error::ApiError;
use super::scalars::Position;
use super::{read_models, request_context};
use crate::auth::Role;
use crate::projections::{Checkpoint, EngineConfig, ReadModels, rebuild};

/// Batch size of rebuilds: larger than live batches, for throughput.
const REBUILD_BATCH: u64 = 1_000;

/// Whether a projection is keeping up or stuck.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "ProjectionState",
    remote = "crate::projections::ProjectionState"
)]
pub enum ProjectionStateGql {
    /// Applying events as they come.
    Running,
    /// Stopped at `failedPosition`; retried with backoff.
    Failed,
}

/// Where a rebuild is in its life.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::projections::rebuild::RebuildState")]
pub enum RebuildState {
    /// Applying events (also after a restart stopped it: it resumes).
    Running,
    /// The rebuilt generation is live.
    Done,
    /// Stopped by an error; the live generation is untouched.
    Failed,
}

/// How far a projection has got.
#[derive(SimpleObject, Debug, Clone)]
pub struct ProjectionStatus {
    /// The projection's name (e.g. `order_details`).
    pub name: String,
    /// The last position applied (a decimal i64).
    pub position: Position,
    /// The latest position in the event store.
    pub head: Position,
    /// Events in the store not yet applied.
    pub lag: i64,
    /// Age in seconds of the oldest event not yet applied (0 when caught up).
    pub lag_seconds: f64,
    /// Running or failed.
    pub state: ProjectionStateGql,
    /// Why it failed, while failed.
    pub last_error: Option<String>,
    /// Where a FAILED projection stopped.
    pub failed_position: Option<Position>,
    /// Events applied per second over the last seconds (by this instance).
    pub events_per_second: f64,
    /// The read model generation being served.
    pub generation: i32,
    /// A rebuild in progress beside the live generation, if any.
    pub rebuild: Option<RebuildJob>,
    /// The instance running it now (its `--instance-id`); null while none
    /// does, e.g. between an instance's death and the takeover.
    pub instance: Option<String>,
}

/// A rebuild of a read model beside the live one.
#[derive(SimpleObject, Debug, Clone)]
pub struct RebuildJob {
    /// The projection being rebuilt.
    pub projection: String,
    /// The generation being built.
    pub generation: i32,
    /// The generation it replaces.
    pub replaces: i32,
    /// How far the new generation has got (a decimal i64).
    pub position: Position,
    /// The latest position in the event store.
    pub head: Position,
    /// Events still to apply before the switch.
    pub lag: i64,
    /// Events applied by this run so far (0 if run by another process).
    pub events_done: i64,
    /// Events applied per second over the last seconds.
    pub events_per_second: f64,
    /// Running, done or failed.
    pub state: RebuildState,
    /// Why it failed.
    pub error: Option<String>,
    /// When this run started.
    pub started_at: Option<DateTime<Utc>>,
}

impl RebuildJob {
    fn from_status(s: &rebuild::RebuildStatus, lag: i64, rate: f64) -> RebuildJob {
        RebuildJob {
            projection: s.projection.clone(),
            generation: s.generation,
            replaces: s.replaces,
            position: Position(s.position),
            head: Position(s.head.max(s.position)),
            lag,
            events_done: i64::try_from(s.events_done).unwrap_or(i64::MAX),
            events_per_second: rate,
            state: s.state.into(),
            error: s.error.clone(),
            started_at: Some(s.started_at),
        }
    }
}

/// Lag figures of one checkpoint against the head, with any rebuild.
async fn status_of(
    read: &ReadModels,
    c: &Checkpoint,
    head: i64,
    instance: Option<String>,
) -> Result<ProjectionStatus, ApiError> {
    let (lag, oldest) = read.store.lag_after(c.position).await?;
    let lag_seconds = oldest
        .map(|t| (Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0)
        .unwrap_or(0.0);
    let rebuild = match read.rebuilding(&c.name).await? {
        Some(r) => {
            let (rebuild_lag, _) = read.store.lag_after(r.position).await?;
            let rate = read.rates.per_second(&r.name, r.generation);
            // This process's job knows more (events done, start); a rebuild
            // run elsewhere (the CLI) is described from its checkpoint.
            let status = read
                .jobs
                .get(&r.name)
                .filter(|j| j.generation == r.generation)
                .unwrap_or(rebuild::RebuildStatus {
                    projection: r.name.clone(),
                    generation: r.generation,
                    replaces: c.generation,
                    position: r.position,
                    head,
                    events_done: 0,
                    started_at: r.updated_at,
                    state: rebuild::RebuildState::Running,
                    error: r.last_error.clone(),
                });
            let status = rebuild::RebuildStatus {
                position: r.position,
                head,
                ..status
            };
            Some(RebuildJob::from_status(&status, rebuild_lag, rate))
        }
        None => None,
    };
    Ok(ProjectionStatus {
        name: c.name.clone(),
        position: Position(c.position),
        head: Position(head.max(c.position)),
        lag,
        lag_seconds,
        state: c.state.into(),
        last_error: c.last_error.clone(),
        failed_position: c.failed_position.map(Position),
        events_per_second: read.rates.per_second(&c.name, c.generation),
        generation: c.generation,
        rebuild,
        instance,
    })
}

/// One projection's status, by name.
async fn status_named(read: &ReadModels, name: &str) -> Result<ProjectionStatus, ApiError> {
    let generation = read.live_generation(name).await?;
    let checkpoint = read
        .statuses()
        .await?
        .into_iter()
        .find(|c| c.name == name && c.generation == generation)
        .ok_or_else(|| ApiError::not_found(format!("projection {name}")))?;
    let head = read.store.head_position().await?;
    let mut runners = read.leaders.runners(read.db(), &[name]).await?;
    status_of(read, &checkpoint, head, runners.remove(name)).await
}

/// The operations queries.
#[derive(Default)]
pub struct AdminQuery;

#[Object]
impl AdminQuery {
    /// Every projection: position, head, lag and state. Staff and admins only.
    async fn projections(&self, ctx: &Context<'_>) -> Result<Vec<ProjectionStatus>> {
        request_context(ctx).require_staff()?;
        let read = read_models(ctx);
        let statuses = read.statuses().await.map_err(ApiError::from)?;
        let head = read.store.head_position().await.map_err(ApiError::from)?;
        let names: Vec<&str> = statuses.iter().map(|c| c.name.as_str()).collect();
        let mut runners = read
            .leaders
            .runners(read.db(), &names)
            .await
            .map_err(ApiError::from)?;
        let mut out = Vec::with_capacity(statuses.len());
        for c in &statuses {
            let instance = runners.remove(&c.name);
            out.push(status_of(read, c, head, instance).await?);
        }
        Ok(out)
    }
}

/// The operations mutations.
#[derive(Default)]
pub struct AdminMutation;

#[Object]
impl AdminMutation {
    /// Rebuilds a projection's read model from the whole log, beside the
    /// live one; queries keep answering from the live one until the new one
    /// has caught up and replaces it in one step. Admins only. If a rebuild
    /// of that projection is already running here, returns it.
    async fn rebuild_projection(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The projection (e.g. `order_details`).")] name: String,
    ) -> Result<RebuildJob> {
        match request_context(ctx).user()? {
            (_, Role::Admin, _) => {}
            _ => return Err(ApiError::forbidden("rebuilding a projection is for admins").into()),
        }
        let read = read_models(ctx).clone();
        let config = EngineConfig {
            batch_size: REBUILD_BATCH,
            ..EngineConfig::default()
        };
        let job = match rebuild::prepare(&read, &name, &config).await {
            Err(rebuild::RebuildError::UnknownProjection(n)) => {
                return Err(ApiError::validation(format!("unknown projection {n}")).into());
            }
            Err(e) => return Err(ApiError::internal(&e).into()),
            Ok(Err(running)) => running,
            Ok(Ok(job)) => {
                let status = job.status().clone();
                read.tasks.spawn(job.run(|_| {}));
                status
            }
        };
        let (lag, _) = read
            .store
            .lag_after(job.position)
            .await
            .map_err(ApiError::from)?;
        Ok(RebuildJob::from_status(&job, lag, 0.0))
    }
}

/// What makes a projection status worth sending again: generation,
/// position, the rebuild's generation and position, failing or not.
type StatusKey = (i32, i64, Option<(i32, i64)>, bool);

/// The operations subscriptions.
#[derive(Default)]
pub struct AdminSubscription;

#[Subscription]
impl AdminSubscription {
    /// A projection's status (lag, state, rebuild progress) whenever it
    /// changes; checked twice a second, so it also sees rebuilds run by
    /// another process. Staff and admins only.
    async fn projection_status(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The projection (e.g. `order_details`).")] name: String,
    ) -> Result<impl Stream<Item = Result<ProjectionStatus>>> {
        request_context(ctx).require_staff()?;
        let read = read_models(ctx).clone();
        if read.projection(&name).is_none() {
            return Err(ApiError::validation(format!("unknown projection {name}")).into());
        }
        Ok(async_stream::stream! {
            let mut last: Option<StatusKey> = None;
            loop {
                match status_named(&read, &name).await {
                    Ok(s) => {
                        let key = (
                            s.generation,
                            s.position.0,
                            s.rebuild.as_ref().map(|r| (r.generation, r.position.0)),
                            s.last_error.is_some(),
                        );
                        if last.as_ref() != Some(&key) {
                            last = Some(key);
                            yield Ok(s);
                        }
                    }
                    Err(e) => {
                        yield Err(e.into());
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    }
}
