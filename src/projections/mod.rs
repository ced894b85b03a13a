//! The projection engine: turns the event log into read models.
//!
//! Each projection reads the global log after its checkpoint in batches and
//! applies a batch and the new checkpoint in ONE transaction (invariant 5),
//! so after any crash the read model equals a rebuild from the log. After a
//! commit it announces what it applied on a broadcast channel; that is what
//! subscriptions listen to.

mod checkpoint;
pub mod customer_order_history;
pub mod order_details;
mod rate;
pub mod rebuild;
pub mod sales_stats;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sea_orm::{DatabaseTransaction, DbErr};
use serde_json::Value;
use thiserror::Error;
use tokio::sync::{broadcast, watch};

use crate::db::Db;
use crate::store::{EventStore, RecordedEvent, StoreError};
pub use checkpoint::{Checkpoint, ProjectionState};

/// What a projection did with one event: the aggregate whose read model
/// changed, at which version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touched {
    pub aggregate_id: String,
    pub version: i32,
    pub position: i64,
    pub event_type: String,
}

impl Touched {
    /// The event's own stream and version.
    pub fn by(event: &RecordedEvent) -> Touched {
        Touched {
            aggregate_id: event.stream_id.clone(),
            version: event.version,
            position: event.position,
            event_type: event.event_type.clone(),
        }
    }
}

/// Sent after a projection committed an event: the change is now readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionNotice {
    pub projection: &'static str,
    pub aggregate_id: String,
    pub version: i32,
    pub position: i64,
    pub event_type: String,
}

#[derive(Debug, Error)]
pub enum ProjectionError {
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("event {position} ({event_type}): {message}")]
    Handler {
        position: i64,
        event_type: String,
        message: String,
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

/// A read model built from events. Handlers write only through the given
/// transaction and only rows of the given generation.
#[async_trait]
pub trait Projection: Send + Sync + 'static {
    /// Stable name; the checkpoint's key.
    fn name(&self) -> &'static str;
    /// Whether this projection cares about an event type (others only move
    /// the checkpoint).
    fn handles(&self, event_type: &str) -> bool;
    /// Applies the handled events of a batch, in order, reading and writing
    /// each row once per batch. On failure, names the index (in `events`)
    /// of the event that failed; the caller rolls the whole batch back.
    async fn apply_batch(
        &self,
        txn: &DatabaseTransaction,
        generation: i32,
        events: &[&RecordedEvent],
    ) -> Result<Vec<Touched>, (usize, ProjectionError)>;
    /// Deletes every row of a generation.
    async fn clear(&self, txn: &DatabaseTransaction, generation: i32) -> Result<(), DbErr>;
    /// Every row of a generation as JSON, in a deterministic order, without
    /// the generation itself: for comparing a read model with a rebuild.
    async fn dump(&self, db: &Db, generation: i32) -> Result<Vec<Value>, DbErr>;
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

/// The projections this server runs.
pub fn default_projections() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(order_details::OrderDetails),
        Arc::new(customer_order_history::CustomerOrderHistory),
        Arc::new(sales_stats::SalesStats),
    ]
}

/// Tuning of the workers.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub batch_size: u64,
    /// How often an idle worker looks for events nobody told it about
    /// (appends by another instance, a lost wake-up).
    pub poll_interval: Duration,
    /// Cap of the retry backoff of a failed projection.
    pub max_backoff: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            batch_size: 500,
            poll_interval: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// What one step of a worker did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A batch was committed (`events` read, checkpoint now `position`).
    Processed { events: usize, position: i64 },
    /// Nothing after the checkpoint.
    Idle,
    /// Stopped at the event at `position`; everything before it is committed.
    Failed { position: i64, error: String },
    /// This generation has no checkpoint (it was replaced by a rebuild).
    Retired,
}

/// Runs one projection for one generation.
#[derive(Clone)]
pub struct ProjectionWorker {
    projection: Arc<dyn Projection>,
    read: ReadModels,
    generation: i32,
    config: EngineConfig,
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
        }
    }

    /// Creates this generation's checkpoint (at position 0) if missing.
    pub async fn ensure_checkpoint(&self) -> Result<Checkpoint, DbErr> {
        checkpoint::load_or_create(self.db(), self.projection.name(), self.generation).await
    }

    pub fn name(&self) -> &'static str {
        self.projection.name()
    }

    fn db(&self) -> &Db {
        self.read.store.db()
    }

    /// Reads the next batch after the checkpoint and applies it, with the
    /// new checkpoint, in one transaction. Tests drain a projection with it.
    pub async fn try_process_batch(&self) -> Result<Outcome, ProjectionError> {
        let name = self.projection.name();
        let Some(checkpoint) = checkpoint::load(self.db(), name, self.generation).await? else {
            return Ok(Outcome::Retired);
        };
        let batch = self
            .read
            .store
            .read_all(checkpoint.position, self.config.batch_size)
            .await?;
        if batch.is_empty() {
            return Ok(Outcome::Idle);
        }
        match self.apply_batch(checkpoint.position, &batch).await? {
            Ok(position) => Ok(Outcome::Processed {
                events: batch.len(),
                position,
            }),
            Err((failed_at, error)) => {
                // Keep everything before the failing event: it applied fine.
                if failed_at > 0 {
                    let prefix = &batch[..failed_at];
                    if let Err((_, e)) = self.apply_batch(checkpoint.position, prefix).await? {
                        tracing::warn!(projection = name, error = %e, "prefix failed on retry");
                    }
                }
                let event = &batch[failed_at];
                let message = error.to_string();
                checkpoint::mark_failed(self.db(), name, self.generation, event.position, &message)
                    .await?;
                metrics::counter!("chronicle_projection_failures_total", "projection" => name)
                    .increment(1);
                Ok(Outcome::Failed {
                    position: event.position,
                    error: message,
                })
            }
        }
    }

    /// Applies `batch` (which starts right after `from`) in one transaction.
    /// The inner error names the index of the event that failed.
    async fn apply_batch(
        &self,
        from: i64,
        batch: &[RecordedEvent],
    ) -> Result<Result<i64, (usize, ProjectionError)>, ProjectionError> {
        let name = self.projection.name();
        let tx = self.db().begin_write().await?;
        // Another worker (another instance, a restarted task) may have moved
        // the checkpoint since we read it: then this batch is not ours.
        let current = checkpoint::lock_position(&tx.txn, name, self.generation).await?;
        if current != from {
            tx.rollback().await?;
            return Ok(Ok(current));
        }
        let (indices, handled): (Vec<usize>, Vec<&RecordedEvent>) = batch
            .iter()
            .enumerate()
            .filter(|(_, e)| self.projection.handles(&e.event_type))
            .unzip();
        let touched = match self
            .projection
            .apply_batch(&tx.txn, self.generation, &handled)
            .await
        {
            Ok(touched) => touched,
            Err((i, e)) => {
                tx.rollback().await?;
                return Ok(Err((indices.get(i).copied().unwrap_or(0), e)));
            }
        };
        let last = batch.last().map(|e| (e.position, e.recorded_at));
        let Some((position, recorded_at)) = last else {
            tx.rollback().await?;
            return Ok(Ok(from));
        };
        checkpoint::advance(&tx.txn, name, self.generation, position, recorded_at).await?;
        tx.commit().await?;
        metrics::counter!("chronicle_projection_events_total", "projection" => name)
            .increment(batch.len() as u64);
        self.read.rates.record(name, self.generation, batch.len());
        for t in touched {
            // Nobody listening is fine.
            let _ = self.read.notices.send(ProjectionNotice {
                projection: name,
                aggregate_id: t.aggregate_id,
                version: t.version,
                position: t.position,
                event_type: t.event_type,
            });
        }
        Ok(Ok(position))
    }

    /// Processes batches until stopped or retired: wakes on appends (the
    /// store's head signal), polls as a fallback, and backs off while
    /// failing.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let name = self.projection.name();
        let mut head = self.read.store.subscribe_head();
        let mut backoff = Duration::from_millis(100);
        let mut last_live_check = tokio::time::Instant::now();
        loop {
            if *stop.borrow() {
                return;
            }
            let wait = match self.try_process_batch().await {
                Ok(Outcome::Processed { .. }) => {
                    backoff = Duration::from_millis(100);
                    continue;
                }
                Ok(Outcome::Idle) => {
                    backoff = Duration::from_millis(100);
                    // A rebuild may have replaced this generation. Checked
                    // at most once per poll interval, not on every append's
                    // wake-up, to keep the hot path short.
                    if last_live_check.elapsed() >= self.config.poll_interval {
                        last_live_check = tokio::time::Instant::now();
                        match checkpoint::live_generation(self.db(), name).await {
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
                _ = stop.changed() => {}
            }
        }
    }
}

/// The read side as the GraphQL layer sees it: the database, the notices
/// and the projections' names.
#[derive(Clone)]
pub struct ReadModels {
    pub store: EventStore,
    pub notices: broadcast::Sender<ProjectionNotice>,
    pub projections: Arc<Vec<Arc<dyn Projection>>>,
    /// Recent throughput per projection and generation.
    pub rates: rate::Rates,
    /// Rebuilds running in this process.
    pub jobs: rebuild::Jobs,
    /// How often live readers look for appends nobody told them about.
    pub poll_interval: Duration,
}

impl ReadModels {
    pub fn db(&self) -> &Db {
        self.store.db()
    }

    /// The live generation of a projection's read model.
    pub async fn live_generation(&self, name: &str) -> Result<i32, DbErr> {
        checkpoint::live_generation(self.db(), name).await
    }

    /// A projection by name.
    pub fn projection(&self, name: &str) -> Option<Arc<dyn Projection>> {
        self.projections.iter().find(|p| p.name() == name).cloned()
    }

    /// The checkpoints of every projection's live generation.
    pub async fn statuses(&self) -> Result<Vec<Checkpoint>, DbErr> {
        let mut out = Vec::new();
        for p in self.projections.iter() {
            let generation = self.live_generation(p.name()).await?;
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

/// Starts a supervisor per projection: it runs a worker on the live
/// generation and, when a rebuild replaces that generation, on the new one.
pub async fn start(
    read: &ReadModels,
    config: &EngineConfig,
    stop: watch::Receiver<bool>,
) -> Result<(), DbErr> {
    for p in read.projections.iter() {
        // Fail start-up (not a background task) if the database is unusable.
        read.live_generation(p.name()).await?;
        let (p, read, config, stop) = (p.clone(), read.clone(), config.clone(), stop.clone());
        tokio::spawn(async move {
            while !*stop.borrow() {
                match read.live_generation(p.name()).await {
                    Ok(generation) => {
                        ProjectionWorker::new(p.clone(), &read, generation, config.clone())
                            .run(stop.clone())
                            .await;
                    }
                    Err(e) => {
                        tracing::error!(projection = p.name(), error = %e, "cannot read the live generation");
                        tokio::time::sleep(config.poll_interval).await;
                    }
                }
            }
        });
    }
    Ok(())
}
