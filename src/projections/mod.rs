//! The projection engine: turns the event log into read models.
//!
//! Each projection reads the global log after its checkpoint in batches and
//! applies a batch and the new checkpoint in ONE transaction (invariant 5),
//! so after any crash the read model equals a rebuild from the log. After a
//! commit it announces what it applied on a broadcast channel; that is what
//! subscriptions listen to.

pub mod cache;
mod checkpoint;
mod columns;
pub mod customer_order_history;
pub mod follow;
pub mod leader;
pub mod order_details;
mod rate;
pub mod rebuild;
mod router;
pub mod sales_stats;

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::FutureExt;
use sea_orm::{DatabaseTransaction, DbErr};
use serde_json::Value;
use thiserror::Error;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::db::Db;
use crate::domain::Aggregate;
use crate::store::{EventStore, RecordedEvent, StoreError};
pub use checkpoint::{Checkpoint, ProjectionState};
pub use router::{NoticeRouter, RoutedWatch};

/// What a projection did with one event: the aggregate whose read model
/// changed, at which version, and (for a projection whose rows are kept in
/// memory) the row as committed.
#[derive(Clone)]
pub struct Touched {
    /// The stream (aggregate) whose rows changed.
    pub aggregate_id: String,
    /// The stream version the rows now reflect.
    pub version: i32,
    /// The event's global position.
    pub position: i64,
    /// The event's type.
    pub event_type: String,
    /// The aggregate's row after the batch, for the read cache (set on its
    /// last event of the batch by projections the cache knows).
    pub row: Option<Arc<dyn std::any::Any + Send + Sync>>,
}

impl fmt::Debug for Touched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Touched")
            .field("aggregate_id", &self.aggregate_id)
            .field("version", &self.version)
            .field("position", &self.position)
            .field("event_type", &self.event_type)
            .field("row", &self.row.is_some())
            .finish()
    }
}

impl PartialEq for Touched {
    /// The same change (the row is a copy of what the change wrote).
    fn eq(&self, other: &Touched) -> bool {
        (
            &self.aggregate_id,
            self.version,
            self.position,
            &self.event_type,
        ) == (
            &other.aggregate_id,
            other.version,
            other.position,
            &other.event_type,
        )
    }
}

impl Eq for Touched {}

impl Touched {
    /// The event's own stream and version.
    pub fn by(event: &RecordedEvent) -> Touched {
        Touched {
            aggregate_id: event.stream_id.clone(),
            version: event.version,
            position: event.position,
            event_type: event.event_type.clone(),
            row: None,
        }
    }
}

/// Sent after a projection committed an event: the change is now readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionNotice {
    /// The projection that applied it.
    pub projection: &'static str,
    /// The stream (aggregate) whose read model changed.
    pub aggregate_id: String,
    /// The stream version now readable.
    pub version: i32,
    /// The event's global position.
    pub position: i64,
    /// The event's type.
    pub event_type: String,
}

/// Why a projection step failed.
#[derive(Debug, Error)]
pub enum ProjectionError {
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    /// Reading the log failed (or an event did not decode).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A handler refused an event.
    #[error("event {position} ({event_type}): {message}")]
    Handler {
        /// The event's position.
        position: i64,
        /// The event's type.
        event_type: String,
        /// What was wrong.
        message: String,
    },
    /// A handler panicked on an event (caught; the projection is FAILED).
    #[error("event {position} ({event_type}): handler panicked: {message}")]
    Panicked {
        /// The event's position.
        position: i64,
        /// The event's type.
        event_type: String,
        /// The panic's message.
        message: String,
    },
    /// This generation's checkpoint is gone (a rebuild replaced it).
    #[error("the checkpoint of generation {generation} disappeared")]
    CheckpointGone {
        /// The generation.
        generation: i32,
    },
}

impl ProjectionError {
    /// A handler error about one event.
    pub fn handler(event: &RecordedEvent, message: impl Into<String>) -> ProjectionError {
        ProjectionError::Handler {
            position: event.position,
            event_type: event.event_type.clone(),
            message: message.into(),
        }
    }
}

/// A batch that a projection could not apply: the index (in the slice it
/// was given) of the event that failed, and why. The engine rolls the whole
/// batch back and commits only the events before `index`.
#[derive(Debug)]
pub struct BatchError {
    /// Index of the failing event in the batch handed to `apply_batch`.
    pub index: usize,
    /// Why it failed.
    pub error: ProjectionError,
}

impl BatchError {
    /// The event at `index` failed with `error`.
    pub fn at(index: usize, error: impl Into<ProjectionError>) -> BatchError {
        BatchError {
            index,
            error: error.into(),
        }
    }
}

/// The handled events of aggregate `A` in a batch, decoded, each with its
/// index in the batch: the loop every projection starts with, written once.
/// Events of other stream types are skipped; an event that does not decode
/// is a `BatchError` at its index.
pub fn decode_batch<'a, A: Aggregate>(
    events: &'a [&'a RecordedEvent],
) -> impl Iterator<Item = Result<(usize, &'a RecordedEvent, A::Event), BatchError>> + 'a {
    events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.stream_type == A::STREAM_TYPE)
        .map(|(i, e)| {
            e.decode::<A::Event>()
                .map(|decoded| (i, *e, decoded))
                .map_err(|err| BatchError::at(i, err))
        })
}

/// A read model built from events. Handlers write only through the given
/// transaction and only rows of the given generation.
#[async_trait]
pub trait Projection: Send + Sync + 'static {
    /// Stable name; the checkpoint's key.
    fn name(&self) -> &'static str;
    /// Whether this projection cares about an event (others only move the
    /// checkpoint).
    fn handles(&self, stream_type: &str, event_type: &str) -> bool;
    /// Applies the handled events of a batch, in order, reading and writing
    /// each row once per batch. On failure, names the event that failed;
    /// the caller rolls the whole batch back.
    async fn apply_batch(
        &self,
        txn: &DatabaseTransaction,
        generation: i32,
        events: &[&RecordedEvent],
    ) -> Result<Vec<Touched>, BatchError>;
    /// Deletes every row of a generation.
    async fn clear(&self, txn: &DatabaseTransaction, generation: i32) -> Result<(), DbErr>;
    /// Every row of a generation as JSON, in a deterministic order, without
    /// the generation itself: for comparing a read model with a rebuild.
    async fn dump(&self, db: &Db, generation: i32) -> Result<Vec<Value>, DbErr>;
    /// Effects outside the database (the NATS relay's publishes) of the
    /// handled events of a batch, in order. Called before the batch's
    /// transaction begins, so no database lock (SQLite's write lock, the
    /// checkpoint row) is held during network I/O. At least once: a batch
    /// is delivered again after a crash before its commit, when a later
    /// event of it is refused (the prefix is applied again) or when another
    /// worker moved the checkpoint meanwhile. On failure, names the event
    /// that failed, like `apply_batch`.
    async fn deliver(&self, _events: &[&RecordedEvent]) -> Result<(), BatchError> {
        Ok(())
    }
    /// Whether `rebuildProjection` / `chronicle rebuild` may replay it from
    /// position 0 (not the relay: that would publish every event again).
    fn rebuildable(&self) -> bool {
        true
    }
    /// Whether it announces what it applied to subscribers (an instance
    /// that does not run it announces its batches from the log; pointless
    /// for a projection without a read model).
    fn announces(&self) -> bool {
        true
    }
}

/// Deletes every row of `generation` from a read-model table.
pub(crate) async fn clear_generation<E: sea_orm::EntityTrait>(
    txn: &DatabaseTransaction,
    generation_column: E::Column,
    generation: i32,
) -> Result<(), DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter};
    E::delete_many()
        .filter(generation_column.eq(generation))
        .exec(txn)
        .await?;
    Ok(())
}

/// Inserts `rows`, replacing those already there (`conflict` names the
/// key and the columns replaced): a batch's writes in one statement per
/// 1,000 rows, far under both databases' limits on bound parameters.
pub(crate) async fn upsert<A>(
    txn: &DatabaseTransaction,
    rows: Vec<A>,
    conflict: sea_orm::sea_query::OnConflict,
) -> Result<(), DbErr>
where
    A: sea_orm::ActiveModelTrait + Clone + Send,
{
    use sea_orm::EntityTrait;
    for chunk in rows.chunks(1_000) {
        A::Entity::insert_many(chunk.iter().cloned())
            .on_conflict(conflict.clone())
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// The projections this server runs.
pub fn default_projections() -> Vec<Arc<dyn Projection>> {
    projections_with(None)
}

/// [`default_projections`], `order_details` continuing orders from the
/// server's read cache where it can.
pub fn projections_with(cache: Option<&cache::ReadCache>) -> Vec<Arc<dyn Projection>> {
    let order_details = match cache {
        Some(cache) => order_details::OrderDetails::with_cache(cache.clone()),
        None => order_details::OrderDetails::default(),
    };
    vec![
        Arc::new(order_details),
        Arc::new(customer_order_history::CustomerOrderHistory),
        Arc::new(sales_stats::SalesStats),
    ]
}

/// The default of [`EngineConfig::batch_interval`].
pub const DEFAULT_BATCH_INTERVAL: Duration = Duration::from_millis(2);

/// Tuning of the workers.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Most events read and applied per transaction.
    pub batch_size: u64,
    /// How often an idle worker looks for events nobody told it about
    /// (appends by another instance, a lost wake-up).
    pub poll_interval: Duration,
    /// Cap of the retry backoff of a failed projection.
    pub max_backoff: Duration,
    /// Least time between the start of one caught-up batch and the next:
    /// events appended meanwhile are applied together, so a steady stream
    /// of appends costs one transaction per interval per projection, not
    /// one per append. Zero applies each append as it comes.
    pub batch_interval: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            batch_size: 500,
            poll_interval: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            batch_interval: DEFAULT_BATCH_INTERVAL,
        }
    }
}

/// What one step of a worker did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A batch was committed (`events` read, checkpoint now `position`).
    Processed {
        /// Events read (handled or not).
        events: usize,
        /// The checkpoint after the batch.
        position: i64,
    },
    /// Nothing after the checkpoint.
    Idle,
    /// Stopped at the event at `position`; everything before it is committed.
    Failed {
        /// The failing event's position.
        position: i64,
        /// Why.
        error: String,
    },
    /// This generation has no checkpoint (it was replaced by a rebuild).
    Retired,
}

/// What applying one batch in one transaction came to.
enum Applied {
    /// Committed; the checkpoint is now at this position.
    Committed(i64),
    /// Another worker had moved the checkpoint (to this position) since
    /// the batch was read: nothing was written.
    Moved(i64),
    /// The projection refused (or panicked on) an event: rolled back.
    Refused(BatchError),
    /// The generation's checkpoint is gone (a rebuild replaced it).
    Retired,
}

/// A worker's position when it does not know it.
const UNKNOWN: i64 = i64::MIN;

/// Runs one projection for one generation.
#[derive(Clone)]
pub struct ProjectionWorker {
    projection: Arc<dyn Projection>,
    read: ReadModels,
    generation: i32,
    config: EngineConfig,
    /// The checkpoint as this worker last committed or read it
    /// ([`UNKNOWN`] before it has, and after anything unexpected): saves
    /// reading it before each batch. If another worker moved it since, the
    /// conditional advance says so and nothing is written.
    known: Arc<std::sync::atomic::AtomicI64>,
}

impl ProjectionWorker {
    /// A worker that announces what it applies on `read.notices`.
    pub fn new(
        projection: Arc<dyn Projection>,
        read: &ReadModels,
        generation: i32,
        config: EngineConfig,
    ) -> ProjectionWorker {
        ProjectionWorker {
            projection,
            read: read.clone(),
            generation,
            config,
            known: Arc::new(std::sync::atomic::AtomicI64::new(UNKNOWN)),
        }
    }

    /// Creates this generation's checkpoint (at position 0) if missing.
    pub async fn ensure_checkpoint(&self) -> Result<Checkpoint, DbErr> {
        checkpoint::load_or_create(self.db(), self.projection.name(), self.generation).await
    }

    /// The projection's name.
    pub fn name(&self) -> &'static str {
        self.projection.name()
    }

    /// Most events it reads and applies per transaction.
    pub(crate) fn batch_size(&self) -> u64 {
        self.config.batch_size
    }

    fn db(&self) -> &Db {
        &self.read.engine_db
    }

    /// Reads the next batch after the checkpoint and applies it, with the
    /// new checkpoint, in one transaction (invariant 5). Tests drain a
    /// projection with it.
    pub async fn try_process_batch(&self) -> Result<Outcome, ProjectionError> {
        use std::sync::atomic::Ordering::Relaxed;
        // Forget the position unless this step ends cleanly.
        let known = self.known.swap(UNKNOWN, Relaxed);
        let outcome = self.process_batch(known).await;
        // (An idle step stores the position it found itself.)
        if let Ok(Outcome::Processed { position, .. }) = outcome {
            self.known.store(position, Relaxed);
        }
        outcome
    }

    async fn process_batch(&self, known: i64) -> Result<Outcome, ProjectionError> {
        let name = self.projection.name();
        let from = if known == UNKNOWN {
            match checkpoint::load(self.db(), name, self.generation).await? {
                Some(checkpoint) => checkpoint.position,
                None => return Ok(Outcome::Retired),
            }
        } else {
            known
        };
        let batch = self
            .read
            .tail
            .read(
                &self.read.store,
                &self.read.engine_db,
                from,
                self.config.batch_size,
            )
            .await?;
        self.process_read(from, &batch).await
    }

    /// The checkpoint's position (as known, else read), `None` when this
    /// generation's checkpoint is gone.
    pub(crate) async fn position(&self) -> Result<Option<i64>, DbErr> {
        let known = self.known.load(std::sync::atomic::Ordering::Relaxed);
        if known != UNKNOWN {
            return Ok(Some(known));
        }
        Ok(
            checkpoint::load(self.db(), self.projection.name(), self.generation)
                .await?
                .map(|c| c.position),
        )
    }

    /// [`try_process_batch`](Self::try_process_batch) with the batch
    /// already read: `batch` is what `read_all(from, …)` returned. Lets a
    /// rebuild read its next batch while this one is written.
    pub(crate) async fn try_process_read(
        &self,
        from: i64,
        batch: &[RecordedEvent],
    ) -> Result<Outcome, ProjectionError> {
        use std::sync::atomic::Ordering::Relaxed;
        self.known.store(UNKNOWN, Relaxed);
        let outcome = self.process_read(from, batch).await;
        if let Ok(Outcome::Processed { position, .. }) = outcome {
            self.known.store(position, Relaxed);
        }
        outcome
    }

    async fn process_read(
        &self,
        from: i64,
        batch: &[RecordedEvent],
    ) -> Result<Outcome, ProjectionError> {
        let name = self.projection.name();
        if batch.is_empty() {
            // Remember where it is (loaded or already known).
            self.known.store(from, std::sync::atomic::Ordering::Relaxed);
            return Ok(Outcome::Idle);
        }
        let refused = match self.apply(from, batch).await? {
            Applied::Committed(position) | Applied::Moved(position) => {
                return Ok(Outcome::Processed {
                    events: batch.len(),
                    position,
                });
            }
            Applied::Retired => return Ok(Outcome::Retired),
            Applied::Refused(refused) => refused,
        };
        // Keep everything before the failing event: it applied fine.
        if refused.index > 0
            && let Applied::Refused(again) = self.apply(from, &batch[..refused.index]).await?
        {
            tracing::warn!(projection = name, error = %again.error, "prefix failed on retry");
        }
        let event = &batch[refused.index.min(batch.len() - 1)];
        let message = refused.error.to_string();
        checkpoint::mark_failed(self.db(), name, self.generation, event.position, &message).await?;
        metrics::counter!("chronicle_projection_failures_total", "projection" => name).increment(1);
        Ok(Outcome::Failed {
            position: event.position,
            error: message,
        })
    }

    /// Applies `batch` (which starts right after `from`) in one transaction.
    /// A panic in the handler is caught: it is attributed to the first event
    /// that panics on its own, found by applying the events one at a time.
    async fn apply(&self, from: i64, batch: &[RecordedEvent]) -> Result<Applied, ProjectionError> {
        match AssertUnwindSafe(self.apply_once(from, batch))
            .catch_unwind()
            .await
        {
            Ok(applied) => applied,
            Err(panic) if batch.len() == 1 => {
                let event = &batch[0];
                Ok(Applied::Refused(BatchError::at(
                    0,
                    ProjectionError::Panicked {
                        position: event.position,
                        event_type: event.event_type.clone(),
                        message: panic_message(panic.as_ref()),
                    },
                )))
            }
            Err(_) => {
                for (i, event) in batch.iter().enumerate() {
                    let from = if i == 0 { from } else { batch[i - 1].position };
                    match Box::pin(self.apply(from, std::slice::from_ref(event))).await? {
                        Applied::Committed(_) | Applied::Moved(_) => {}
                        Applied::Retired => return Ok(Applied::Retired),
                        Applied::Refused(e) => {
                            // The events before it are committed one by one
                            // already; report the index for the caller.
                            return Ok(Applied::Refused(BatchError::at(i, e.error)));
                        }
                    }
                }
                // Panicked as a batch, fine one by one (a flaky handler).
                Ok(Applied::Committed(batch[batch.len() - 1].position))
            }
        }
    }

    async fn apply_once(
        &self,
        from: i64,
        batch: &[RecordedEvent],
    ) -> Result<Applied, ProjectionError> {
        let name = self.projection.name();
        let Some(last) = batch.last() else {
            return Ok(Applied::Moved(from));
        };
        let (indices, handled): (Vec<usize>, Vec<&RecordedEvent>) = batch
            .iter()
            .enumerate()
            .filter(|(_, e)| self.projection.handles(&e.stream_type, &e.event_type))
            .unzip();
        if !handled.is_empty()
            && let Err(refused) = self.projection.deliver(&handled).await
        {
            let index = indices.get(refused.index).copied().unwrap_or(0);
            return Ok(Applied::Refused(BatchError::at(index, refused.error)));
        }
        let tx = self.db().begin_write().await?;
        // First move the checkpoint, if it is still where this batch starts:
        // another worker (another instance, a restarted task) may have moved
        // it since, and then this batch is not ours. On PostgreSQL the same
        // statement queues the notice other instances announce this batch
        // from (delivered on commit; see `follow`), and lets the commit skip
        // waiting for its WAL flush: a read model is rebuilt from the log,
        // and a crash can only lose whole recent batches, read model and
        // checkpoint together, which the worker then applies again
        // (invariant 5). That spares an fsync per batch per projection on
        // the disk the commands' commits wait for.
        let notify = self.db().is_postgres().then(|| {
            (
                follow::BATCH_CHANNEL,
                follow::batch_payload(
                    name,
                    self.generation,
                    from,
                    last.position,
                    self.read.leaders.origin(),
                ),
            )
        });
        let ours = checkpoint::advance_from(
            &tx.txn,
            name,
            self.generation,
            (from, last.position),
            last.recorded_at,
            notify,
        )
        .await?;
        if !ours {
            tx.rollback().await?;
            return match checkpoint::load(self.db(), name, self.generation).await? {
                Some(c) => Ok(Applied::Moved(c.position)),
                None => Ok(Applied::Retired),
            };
        }
        let touched = match self
            .projection
            .apply_batch(&tx.txn, self.generation, &handled)
            .await
        {
            Ok(touched) => touched,
            Err(refused) => {
                tx.rollback().await?;
                let index = indices.get(refused.index).copied().unwrap_or(0);
                return Ok(Applied::Refused(BatchError::at(index, refused.error)));
            }
        };
        // Cached copies of the touched rows go before the commit makes the
        // new versions readable (see `cache`).
        let in_flight = self
            .read
            .cache
            .begin_commit(name, self.generation, &touched);
        tx.commit().await?;
        // The committed rows go into memory, so the writes just made (and
        // their subscribers' reads) are served from it.
        self.read.cache.committed(name, self.generation, &touched);
        drop(in_flight);
        metrics::counter!("chronicle_projection_events_total", "projection" => name)
            .increment(batch.len() as u64);
        self.read.rates.record(name, self.generation, batch.len());
        for t in touched {
            self.read.router.publish(name, &t.aggregate_id, t.version);
            // Nobody listening is fine.
            let _ = self.read.notices.send(ProjectionNotice {
                projection: name,
                aggregate_id: t.aggregate_id,
                version: t.version,
                position: t.position,
                event_type: t.event_type,
            });
        }
        Ok(Applied::Committed(last.position))
    }

    /// Processes batches until stopped or retired: wakes on appends (the
    /// store's head signal), polls as a fallback, and backs off while
    /// failing. A stop takes effect between batches, so the batch in hand
    /// is committed (or rolled back) first.
    pub async fn run(self, stop: CancellationToken) {
        let name = self.projection.name();
        let mut head = self.read.store.subscribe_head();
        let mut backoff = Duration::from_millis(100);
        let mut last_live_check = tokio::time::Instant::now();
        loop {
            if stop.is_cancelled() {
                return;
            }
            let step = tokio::time::Instant::now();
            let wait = match self.try_process_batch().await {
                Ok(Outcome::Processed { events, .. }) => {
                    backoff = Duration::from_millis(100);
                    if events as u64 >= self.config.batch_size {
                        continue; // behind: the next batch at once
                    }
                    // Caught up: what arrives in the rest of the interval
                    // waits for the next batch.
                    let until = step + self.config.batch_interval;
                    tokio::select! {
                        _ = tokio::time::sleep_until(until) => {}
                        _ = stop.cancelled() => return,
                    }
                    continue;
                }
                Ok(Outcome::Idle) => {
                    backoff = Duration::from_millis(100);
                    // A rebuild may have replaced this generation. Checked
                    // at most once per poll interval, not on every append's
                    // wake-up, to keep the hot path short.
                    if last_live_check.elapsed() >= self.config.poll_interval {
                        last_live_check = tokio::time::Instant::now();
                        match self.read.fresh_live_generation_on(self.db(), name).await {
                            Ok(live) if live != self.generation => return,
                            _ => {}
                        }
                    }
                    self.config.poll_interval
                }
                Ok(Outcome::Retired) => return,
                Ok(Outcome::Failed { position, error }) => {
                    tracing::error!(projection = name, position, %error, ?backoff, "projection failed; will retry");
                    let wait = backoff;
                    backoff = (backoff * 2).min(self.config.max_backoff);
                    wait
                }
                Err(e) => {
                    tracing::error!(projection = name, error = %e, ?backoff, "projection step failed; will retry");
                    let wait = backoff;
                    backoff = (backoff * 2).min(self.config.max_backoff);
                    wait
                }
            };
            tokio::select! {
                _ = head.changed() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = stop.cancelled() => {}
            }
        }
    }
}

/// The text of a caught panic.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// The read side as the GraphQL layer sees it: the database, the notices
/// and the projections' names.
#[derive(Clone)]
pub struct ReadModels {
    /// The event store (and through it the database).
    pub store: EventStore,
    /// The projection workers' database handle: on PostgreSQL a pool of
    /// their own, kept open (see `app::build_state`); on SQLite the store's.
    pub engine_db: Db,
    /// What projections applied, as it commits (for `projectionUpdated`).
    pub notices: broadcast::Sender<ProjectionNotice>,
    /// The same, routed to the watchers of each aggregate (for
    /// `orderUpdated` and the like).
    pub router: NoticeRouter,
    /// The projections this process runs.
    pub projections: Arc<Vec<Arc<dyn Projection>>>,
    /// Recent throughput per projection and generation.
    pub rates: rate::Rates,
    /// Rebuilds running in this process.
    pub jobs: rebuild::Jobs,
    /// How often live readers look for appends nobody told them about.
    pub poll_interval: Duration,
    /// The background tasks (workers, rebuilds) and their stop signal.
    pub tasks: Tasks,
    /// Live generations and hot rows in memory.
    pub cache: cache::ReadCache,
    /// The last read of the log, shared by the workers.
    pub tail: SharedTail,
    /// Which projections this process runs now (leads, on PostgreSQL).
    pub leaders: Leaders,
}

/// The projections this process is running now, and the name it runs
/// them under.
#[derive(Clone)]
pub struct Leaders {
    running: Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>,
    instance: Arc<str>,
    /// Tags this process's projection batches in their notifications, so
    /// that `follow` tells apart the batches its own workers announced.
    /// Random, not the instance id: ids are chosen by operators and may
    /// repeat (two servers in one test process share the default one).
    origin: Arc<str>,
}

impl Default for Leaders {
    fn default() -> Self {
        Leaders::new(&default_instance_id())
    }
}

/// `<hostname>-<pid>`: unique among running instances unless two hosts
/// share a name.
pub fn default_instance_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| check_instance_id(h).is_ok())
        .unwrap_or_else(|| "chronicle".to_owned());
    let id = format!("{host}-{}", std::process::id());
    let cut = id.len().saturating_sub(MAX_INSTANCE_ID);
    id[cut..].to_owned()
}

/// Longest instance id (PostgreSQL keeps 63 bytes of an application name,
/// and the id is prefixed).
pub const MAX_INSTANCE_ID: usize = 48;

/// An instance id is 1–48 characters of ASCII letters, digits, `.`, `_`,
/// `:` and `-`.
pub fn check_instance_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_INSTANCE_ID {
        return Err(format!(
            "an instance id has 1 to {MAX_INSTANCE_ID} characters, not {}",
            id.len()
        ));
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')))
    {
        return Err(format!(
            "an instance id has only ASCII letters, digits, '.', '_', ':' and '-', not {c:?}"
        ));
    }
    Ok(())
}

impl Leaders {
    /// Leadership under the name `instance` (already checked).
    pub fn new(instance: &str) -> Leaders {
        Leaders {
            running: Default::default(),
            instance: instance.into(),
            origin: uuid::Uuid::new_v4().simple().to_string().into(),
        }
    }

    /// This process's tag on the notifications of its projection batches.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// This instance's id.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    fn set(&self, name: &str, running: bool) {
        let mut set = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if running {
            set.insert(name.to_owned());
        } else {
            set.remove(name);
        }
    }

    /// Whether this process runs (leads) `name` now.
    pub fn runs(&self, name: &str) -> bool {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(name)
    }

    /// Which instance runs each of `names` now (absent: none does). On
    /// PostgreSQL read from the advisory locks held (any instance's); with
    /// SQLite this process is the only one.
    pub async fn runners(
        &self,
        db: &Db,
        names: &[&str],
    ) -> Result<std::collections::HashMap<String, String>, DbErr> {
        if db.is_postgres() {
            return leader::holders(db, names).await;
        }
        Ok(names
            .iter()
            .filter(|n| self.runs(n))
            .map(|n| (n.to_string(), self.instance.to_string()))
            .collect())
    }
}

/// One read of the log handed to every worker that asks for the same
/// events: when an append wakes all projections, the new events are read
/// once, not once per projection. Reads are single-flight (one at a time,
/// the others wait and reuse it). A read is reused only while nothing was
/// appended in this process since and for `REUSE_FOR` at most (appends by
/// another instance are not signalled here).
#[derive(Clone, Default)]
pub struct SharedTail {
    last: Arc<tokio::sync::Mutex<Option<TailRead>>>,
}

struct TailRead {
    after: i64,
    limit: u64,
    head: i64,
    at: tokio::time::Instant,
    events: Arc<Vec<RecordedEvent>>,
}

/// How long one read of the log may be reused.
const REUSE_FOR: Duration = Duration::from_millis(50);

impl SharedTail {
    /// Up to `limit` events after `after`, in position order, read
    /// through `db`.
    pub async fn read(
        &self,
        store: &EventStore,
        db: &Db,
        after: i64,
        limit: u64,
    ) -> Result<Arc<Vec<RecordedEvent>>, StoreError> {
        let mut last = self.last.lock().await;
        let head = store.head();
        if let Some(t) = last.as_ref()
            && t.after == after
            && t.limit == limit
            && t.head >= head
            && t.at.elapsed() < REUSE_FOR
        {
            metrics::counter!("chronicle_projection_reads_total", "source" => "shared")
                .increment(1);
            return Ok(t.events.clone());
        }
        let events = Arc::new(store.read_all_on(db, after, limit).await?);
        metrics::counter!("chronicle_projection_reads_total", "source" => "database").increment(1);
        *last = Some(TailRead {
            after,
            limit,
            head,
            at: tokio::time::Instant::now(),
            events: events.clone(),
        });
        Ok(events)
    }
}

/// Every background task of a process, so that shutdown can stop them and
/// wait for them (with a deadline) instead of leaving them detached.
#[derive(Clone, Default)]
pub struct Tasks {
    /// Tracks the spawned tasks.
    pub tracker: TaskTracker,
    /// Cancelled when the process stops; tasks stop at their next batch
    /// boundary.
    pub stop: CancellationToken,
}

impl Tasks {
    /// Spawns a tracked task.
    pub fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tracker.spawn(task)
    }

    /// Tells every task to stop and waits up to `deadline` for them.
    /// Returns whether they all finished in time.
    pub async fn shutdown(&self, deadline: Duration) -> bool {
        self.stop.cancel();
        self.tracker.close();
        tokio::time::timeout(deadline, self.tracker.wait())
            .await
            .is_ok()
    }
}

impl ReadModels {
    /// The database.
    pub fn db(&self) -> &Db {
        self.store.db()
    }

    /// The live generation of a projection's read model, from memory once
    /// known (this process updates it when it switches generations; a
    /// switch by another process is learned by the workers' periodic check
    /// and by `fresh_live_generation`).
    pub async fn live_generation(&self, name: &str) -> Result<i32, DbErr> {
        match self.cache.live(name) {
            Some(generation) => Ok(generation),
            None => self.fresh_live_generation(name).await,
        }
    }

    /// The live generation as the database has it now (and remembered).
    pub async fn fresh_live_generation(&self, name: &str) -> Result<i32, DbErr> {
        self.fresh_live_generation_on(self.db(), name).await
    }

    /// [`fresh_live_generation`](Self::fresh_live_generation) through `db`
    /// (the workers ask through their own connections).
    async fn fresh_live_generation_on(&self, db: &Db, name: &str) -> Result<i32, DbErr> {
        let generation = checkpoint::live_generation(db, name).await?;
        self.cache.set_live(name, generation);
        Ok(generation)
    }

    /// A projection by name.
    pub fn projection(&self, name: &str) -> Option<Arc<dyn Projection>> {
        self.projections.iter().find(|p| p.name() == name).cloned()
    }

    /// The checkpoints of every projection's live generation.
    pub async fn statuses(&self) -> Result<Vec<Checkpoint>, DbErr> {
        let mut out = Vec::new();
        for p in self.projections.iter() {
            let generation = self.fresh_live_generation(p.name()).await?;
            out.push(checkpoint::load_or_create(self.db(), p.name(), generation).await?);
        }
        Ok(out)
    }

    /// The checkpoint of a rebuild in progress (a generation newer than the
    /// live one), if any.
    pub async fn rebuilding(&self, name: &str) -> Result<Option<Checkpoint>, DbErr> {
        checkpoint::newest_not_live(self.db(), name).await
    }
}

/// Starts a supervisor per projection (tracked in `read.tasks`): it runs a
/// worker on the live generation and, when a rebuild replaces that
/// generation, on the new one, until the tasks are stopped. On PostgreSQL
/// it first becomes the projection's leader (see `leader`): one instance
/// runs each projection, the others wait to take over.
pub async fn start(read: &ReadModels, config: &EngineConfig) -> Result<(), DbErr> {
    if read.db().is_postgres() {
        let (follower, poll, stop) = (read.clone(), config.poll_interval, read.tasks.stop.clone());
        read.tasks.spawn(follow::run(follower, poll, stop));
    }
    for p in read.projections.iter() {
        // Fail start-up (not a background task) if the database is unusable.
        read.fresh_live_generation(p.name()).await?;
        let (p, read, config) = (p.clone(), read.clone(), config.clone());
        let stop = read.tasks.stop.clone();
        read.tasks.clone().spawn(async move {
            while !stop.is_cancelled() {
                let leadership = if read.db().is_postgres() {
                    match leader::try_acquire(read.db(), p.name(), read.leaders.instance()).await {
                        Ok(Some(held)) => Some(held),
                        Ok(None) => {
                            read.leaders.set(p.name(), false);
                            pause(config.poll_interval, &stop).await;
                            continue;
                        }
                        Err(e) => {
                            tracing::error!(projection = p.name(), error = %e, "cannot try for leadership");
                            pause(config.poll_interval, &stop).await;
                            continue;
                        }
                    }
                } else {
                    None
                };
                lead(&p, &read, &config, leadership, &stop).await;
            }
        });
    }
    Ok(())
}

/// Waits `wait` or until stopped.
async fn pause(wait: Duration, stop: &CancellationToken) {
    tokio::select! {
        _ = tokio::time::sleep(wait) => {}
        _ = stop.cancelled() => {}
    }
}

/// Runs a projection while this process leads it: until stopped or, on
/// PostgreSQL, until the leadership's connection is lost (checked every
/// poll interval). Caching its rows is allowed only meanwhile.
async fn lead(
    p: &Arc<dyn Projection>,
    read: &ReadModels,
    config: &EngineConfig,
    leadership: Option<leader::Leadership>,
    stop: &CancellationToken,
) {
    let name = p.name();
    let leading = stop.child_token();
    read.leaders.set(name, true);
    read.cache.set_owner(name, true);
    let work = async {
        while !leading.is_cancelled() {
            match read.fresh_live_generation_on(&read.engine_db, name).await {
                Ok(generation) => {
                    ProjectionWorker::new(p.clone(), read, generation, config.clone())
                        .run(leading.clone())
                        .await;
                }
                Err(e) => {
                    tracing::error!(projection = name, error = %e, "cannot read the live generation");
                    pause(config.poll_interval, &leading).await;
                }
            }
        }
    };
    let watch = async {
        let Some(mut held) = leadership else {
            return;
        };
        loop {
            pause(config.poll_interval, &leading).await;
            if leading.is_cancelled() {
                held.release().await;
                return;
            }
            if !held.alive().await {
                tracing::warn!(
                    projection = name,
                    "lost the leadership connection; stepping down"
                );
                // Stop serving cached rows before anyone else can lead.
                read.cache.set_owner(name, false);
                read.leaders.set(name, false);
                leading.cancel();
                return;
            }
        }
    };
    tokio::join!(work, watch);
    read.cache.set_owner(name, false);
    read.leaders.set(name, false);
}
