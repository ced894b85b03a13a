//! Rebuilding a read model without downtime: a new generation is built
//! beside the live one from position 0 while queries keep reading the live
//! one; once it has caught up, one transaction makes it live, and the old
//! generation is deleted. A crash leaves the live generation serving and
//! the new one resumable from its own checkpoint.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;

use super::{EngineConfig, Outcome, ProjectionError, ProjectionWorker, ReadModels, checkpoint};
use crate::store::{RecordedEvent, StoreError};

/// How long the replaced generation's rows stay after the switch.
const RETIRE_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Where a rebuild stands.
#[derive(Debug, Clone, PartialEq)]
pub struct RebuildStatus {
    /// The projection being rebuilt.
    pub projection: String,
    /// The generation being built.
    pub generation: i32,
    /// The generation it replaces.
    pub replaces: i32,
    /// How far the new generation has got.
    pub position: i64,
    /// The store's head when last looked at.
    pub head: i64,
    /// Events applied by this run.
    pub events_done: u64,
    /// When this run started.
    pub started_at: DateTime<Utc>,
    /// Running, done or failed.
    pub state: RebuildState,
    /// Why it failed.
    pub error: Option<String>,
}

/// Where a rebuild is in its life. A rebuild stopped by shutdown stays
/// `Running`: its generation is unfinished and the next run resumes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebuildState {
    /// Applying events (or stopped at a batch boundary, resumable).
    Running,
    /// The new generation is live.
    Done,
    /// Stopped by an error; the live generation is untouched.
    Failed,
}

/// Rebuilds running in this process, by projection name.
#[derive(Clone, Default)]
pub struct Jobs {
    inner: Arc<Mutex<HashMap<String, RebuildStatus>>>,
}

impl Jobs {
    /// The last known status of a rebuild of `name` run here.
    pub fn get(&self, name: &str) -> Option<RebuildStatus> {
        self.inner.lock().ok()?.get(name).cloned()
    }

    fn set(&self, status: &RebuildStatus) {
        if let Ok(mut map) = self.inner.lock() {
            map.insert(status.projection.clone(), status.clone());
        }
    }

    /// Registers a start unless a rebuild of `name` is already running here.
    fn try_claim(&self, status: &RebuildStatus) -> Result<(), RebuildStatus> {
        let Ok(mut map) = self.inner.lock() else {
            return Ok(());
        };
        match map.get(&status.projection) {
            Some(running) if running.state == RebuildState::Running => Err(running.clone()),
            _ => {
                map.insert(status.projection.clone(), status.clone());
                Ok(())
            }
        }
    }
}

/// Why a rebuild could not start.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    /// No projection has that name.
    #[error("unknown projection {0}")]
    UnknownProjection(String),
    /// The projection cannot be replayed from position 0 (the NATS relay:
    /// it would publish every event again).
    #[error(
        "projection {0} cannot be rebuilt: replaying it would repeat its effects outside the database (for nats_relay: publish every event again)"
    )]
    NotRebuildable(String),
    /// Preparing it failed.
    #[error(transparent)]
    Projection(#[from] ProjectionError),
}

impl From<sea_orm::DbErr> for RebuildError {
    fn from(e: sea_orm::DbErr) -> Self {
        RebuildError::Projection(e.into())
    }
}

/// A prepared rebuild: the generation is chosen and its checkpoint exists.
pub struct Rebuild {
    worker: ProjectionWorker,
    read: ReadModels,
    status: RebuildStatus,
}

/// Prepares a rebuild of `name`: resumes an unfinished one (a generation
/// newer than the live one) or starts a new generation at position 0.
/// If this process already runs one for `name`, returns its status instead.
pub async fn prepare(
    read: &ReadModels,
    name: &str,
    config: &EngineConfig,
) -> Result<Result<Rebuild, RebuildStatus>, RebuildError> {
    let projection = read
        .projection(name)
        .ok_or_else(|| RebuildError::UnknownProjection(name.to_owned()))?;
    if !projection.rebuildable() {
        return Err(RebuildError::NotRebuildable(name.to_owned()));
    }
    let live = read.fresh_live_generation(name).await?;
    let generation = match checkpoint::newest_not_live(read.db(), name).await? {
        Some(unfinished) => unfinished.generation,
        None => checkpoint::max_generation(read.db(), name).await? + 1,
    };
    // The rebuild's notices must not reach subscribers: they would see
    // every order again. It gets a channel nobody listens to.
    let (quiet, _) = broadcast::channel(1);
    let rebuild_read = ReadModels {
        notices: quiet,
        router: Default::default(),
        // Its reads are far behind the live workers': do not share them.
        tail: Default::default(),
        // Nor their connections: a rebuild works through the request pool.
        engine_db: read.db().clone(),
        ..read.clone()
    };
    let worker = ProjectionWorker::new(projection, &rebuild_read, generation, config.clone());
    let checkpoint = worker.ensure_checkpoint().await?;
    let head = read
        .store
        .head_position()
        .await
        .map_err(ProjectionError::from)?;
    let status = RebuildStatus {
        projection: name.to_owned(),
        generation,
        replaces: live,
        position: checkpoint.position,
        head,
        events_done: 0,
        started_at: Utc::now(),
        state: RebuildState::Running,
        error: None,
    };
    if let Err(running) = read.jobs.try_claim(&status) {
        return Ok(Err(running));
    }
    Ok(Ok(Rebuild {
        worker,
        read: read.clone(),
        status,
    }))
}

impl Rebuild {
    /// Where it stands.
    pub fn status(&self) -> &RebuildStatus {
        &self.status
    }

    /// Runs to completion, calling `progress` after every batch. When the
    /// process's tasks are stopped it returns at the next batch boundary
    /// with the state still `Running` (resumable by the next run).
    pub async fn run(mut self, mut progress: impl FnMut(&RebuildStatus)) -> RebuildStatus {
        let started = Instant::now();
        let result = self.run_inner(&mut progress).await;
        match result {
            Ok(true) => self.status.state = RebuildState::Done,
            Ok(false) => {
                tracing::info!(projection = %self.status.projection, position = self.status.position, "rebuild stopped; the next run resumes");
            }
            Err(e) => {
                tracing::error!(projection = %self.status.projection, error = %e, "rebuild failed");
                self.status.state = RebuildState::Failed;
                self.status.error = Some(e.to_string());
            }
        }
        tracing::info!(
            projection = %self.status.projection,
            generation = self.status.generation,
            events = self.status.events_done,
            seconds = started.elapsed().as_secs_f64(),
            state = ?self.status.state,
            "rebuild finished"
        );
        self.read.jobs.set(&self.status);
        progress(&self.status);
        self.status
    }

    /// Whether it finished (false: stopped at a batch boundary).
    ///
    /// The next batch is read while the current one is written (a task of
    /// its own: on another core, the read and the events' decoding overlap
    /// the write), so a batch costs about the longer of the two instead of
    /// their sum. A read ahead is used only if the batch before it was
    /// committed where it was expected to end.
    async fn run_inner(
        &mut self,
        progress: &mut impl FnMut(&RebuildStatus),
    ) -> Result<bool, ProjectionError> {
        let name = self.status.projection.clone();
        let stop = self.read.tasks.stop.clone();
        let size = self.worker.batch_size();
        let mut ahead: Option<(i64, ReadAhead)> = None;
        loop {
            if stop.is_cancelled() {
                return Ok(false);
            }
            let Some(from) = self.worker.position().await? else {
                return Err(ProjectionError::CheckpointGone {
                    generation: self.status.generation,
                });
            };
            let batch = match ahead.take() {
                Some((after, read)) if after == from => read.events().await?,
                _ => self.read.store.read_all(from, size).await?,
            };
            metrics::counter!("chronicle_projection_reads_total", "source" => "database")
                .increment(1);
            if let Some(last) = batch.last() {
                ahead = Some((
                    last.position,
                    ReadAhead::start(&self.read, last.position, size),
                ));
            }
            match self.worker.try_process_read(from, &batch).await? {
                Outcome::Processed { events, position } => {
                    self.status.events_done += events as u64;
                    self.status.position = position;
                    self.status.head = self.read.store.head_position().await?.max(position);
                    self.read.jobs.set(&self.status);
                    progress(&self.status);
                }
                Outcome::Idle => {
                    // Caught up with the log: switch, unless the live
                    // generation is still ahead (then catch up more).
                    let live = self.read.fresh_live_generation(&name).await?;
                    if live == self.status.generation {
                        // Another process running the same rebuild switched
                        // first; there is nothing left to retire here.
                        return Ok(true);
                    }
                    if checkpoint::swap_live(self.read.db(), &name, live, self.status.generation)
                        .await?
                    {
                        self.read.cache.set_live(&name, self.status.generation);
                        self.status.replaces = live;
                        // A query reads the live generation, then its rows, in
                        // two statements; give reads that saw the old number
                        // time to finish before its rows go (unless stopping).
                        tokio::select! {
                            _ = tokio::time::sleep(RETIRE_GRACE) => {}
                            _ = stop.cancelled() => {}
                        }
                        self.retire(live).await?;
                        return Ok(true);
                    }
                    tokio::task::yield_now().await;
                }
                Outcome::Failed { position, error } => {
                    return Err(ProjectionError::Handler {
                        position,
                        event_type: String::new(),
                        message: error,
                    });
                }
                Outcome::Retired => {
                    return Err(ProjectionError::CheckpointGone {
                        generation: self.status.generation,
                    });
                }
            }
        }
    }

    /// Deletes the replaced generation's rows and checkpoint.
    async fn retire(&self, old: i32) -> Result<(), ProjectionError> {
        let name = &self.status.projection;
        let projection = self
            .read
            .projection(name)
            .ok_or_else(|| sea_orm::DbErr::Custom(format!("unknown projection {name}")))?;
        let tx = self.read.db().begin_write().await?;
        projection.clear(&tx.txn, old).await?;
        checkpoint::delete(&tx.txn, name, old).await?;
        tx.commit().await?;
        self.read.cache.retire(name, old);
        Ok(())
    }
}

/// The read of the next batch, running beside the write of the current
/// one; dropped (and stopped) if not needed.
struct ReadAhead(tokio_util::task::AbortOnDropHandle<Result<Vec<RecordedEvent>, StoreError>>);

impl ReadAhead {
    fn start(read: &ReadModels, after: i64, limit: u64) -> ReadAhead {
        let store = read.store.clone();
        ReadAhead(tokio_util::task::AbortOnDropHandle::new(tokio::spawn(
            async move { store.read_all(after, limit).await },
        )))
    }

    async fn events(self) -> Result<Vec<RecordedEvent>, ProjectionError> {
        match self.0.await {
            Ok(read) => Ok(read?),
            Err(e) => Err(ProjectionError::Store(StoreError::Database(
                sea_orm::DbErr::Custom(format!("reading ahead: {e}")),
            ))),
        }
    }
}
