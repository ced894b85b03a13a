//! Wiring: configuration, the shared `AppState`, start-up and `run`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Statement};
use tokio::net::TcpListener;

use crate::auth::Authenticator;
use crate::db::Db;
use crate::domain::order::OrderAggregate;
use crate::graphql::{AppSchema, build_schema};
use crate::projections::cache::ReadCache;
use crate::projections::{self, EngineConfig, Projection, ReadModels, Tasks};
use crate::store::{EventStore, Upcasters};
use tokio::sync::broadcast;

/// Notices buffered per subscriber before a slow one is told it lagged.
const NOTICE_BUFFER: usize = 1024;

/// Default request body limit: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// How long shutdown waits for background tasks (projection workers finish
/// the batch in hand, rebuilds stop at a batch boundary).
pub const TASK_SHUTDOWN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(4);

/// Server configuration (from the CLI and environment in `main`).
#[derive(Clone)]
pub struct Config {
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// HS256 secret; `None` runs the server open (loopback only).
    pub jwt_secret: Option<String>,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Projection worker tuning.
    pub engine: EngineConfig,
    /// Events between two snapshots of a stream.
    pub snapshot_every: i32,
    /// Streams whose folded state the command layer keeps in memory.
    pub state_cache: usize,
    /// The projections to run; `None` means `default_projections()`.
    pub projections: Option<Vec<Arc<dyn Projection>>>,
    /// The upcasters of every aggregate whose events this server reads
    /// (by default the Order aggregate's).
    pub upcasters: Upcasters,
    /// Whether to start the projection workers (tests may drive them by
    /// hand with `try_process_batch`).
    pub start_projections: bool,
    /// Per-request limits (shape, batch, response size, time, in flight).
    pub limits: crate::graphql::limits::Limits,
    /// Connection, browser and WebSocket settings.
    pub edge: crate::http::EdgeConfig,
    /// A separate, unauthenticated listener for /metrics (Prometheus), e.g.
    /// on an internal interface.
    pub metrics_addr: Option<SocketAddr>,
    /// Most `order_details` rows kept in memory for `order(id)` (0: none).
    pub read_cache_entries: usize,
    /// Most bytes of whole `order(id)` responses kept (0: none).
    pub response_cache_bytes: usize,
    /// This instance's name where instances are told apart: in
    /// `projections { instance }` and PostgreSQL's `application_name` of its
    /// leadership connections (default `<hostname>-<pid>`).
    pub instance_id: String,
    /// Relay every event to NATS JetStream (off when `None`).
    pub nats: Option<crate::relay::RelayConfig>,
    /// PostgreSQL connections of the request pool kept open (its floor;
    /// see [`Db::connect_pool`]).
    pub db_min_connections: u32,
}

impl Config {
    /// Defaults for everything but the database.
    pub fn new(database_url: impl Into<String>) -> Config {
        Config {
            database_url: database_url.into(),
            jwt_secret: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            engine: EngineConfig::default(),
            snapshot_every: crate::store::DEFAULT_SNAPSHOT_EVERY,
            state_cache: crate::store::DEFAULT_STATE_CACHE,
            projections: None,
            upcasters: Upcasters::new().with::<OrderAggregate>(),
            start_projections: true,
            limits: Default::default(),
            edge: Default::default(),
            metrics_addr: None,
            read_cache_entries: crate::projections::cache::DEFAULT_ENTRIES,
            response_cache_bytes: crate::graphql::responses::DEFAULT_BYTES,
            instance_id: crate::projections::default_instance_id(),
            nats: None,
            db_min_connections: crate::db::DEFAULT_MIN_CONNECTIONS,
        }
    }
}

/// Everything a request handler needs. One reference count to clone: the
/// router clones it for every request in each of its layers, and a clone of
/// the parts (dozens of reference counts) was a tenth of a small request.
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct AppParts {
    /// The configuration it was built from.
    pub config: Arc<Config>,
    /// The database.
    pub db: Db,
    /// The event store.
    pub store: EventStore,
    /// The read side (read models, notices, background tasks).
    pub read: ReadModels,
    /// Verifies bearer tokens.
    pub auth: Authenticator,
    /// The GraphQL schema.
    pub schema: AppSchema,
    /// Renders /metrics.
    pub metrics: PrometheusHandle,
}

impl AppState {
    /// The background tasks (projection workers, rebuilds) and their stop
    /// signal.
    pub fn tasks(&self) -> &Tasks {
        &self.read.tasks
    }
}

/// Runs all pending migrations. On PostgreSQL a session advisory lock keeps
/// several instances starting at once from migrating concurrently.
pub async fn migrate(db: &Db) -> anyhow::Result<()> {
    const MIGRATION_LOCK_KEY: i64 = 0x4348_524f_4e4d_4947; // "CHRONMIG"
    if db.is_postgres() {
        // Migrate inside one transaction that holds a transaction-scoped
        // lock: DDL is transactional on PostgreSQL, and the lock ends with it.
        let txn = sea_orm::TransactionTrait::begin(db.conn()).await?;
        txn.execute_raw(Statement::from_sql_and_values(
            db.backend(),
            "SELECT pg_advisory_xact_lock($1)",
            [MIGRATION_LOCK_KEY.into()],
        ))
        .await?;
        Migrator::up(&txn, None)
            .await
            .context("running migrations")?;
        txn.commit().await?;
    } else {
        Migrator::up(db.conn(), None)
            .await
            .context("running migrations")?;
    }
    Ok(())
}

/// Connections of the projection workers' pool: one per projection (a
/// worker holds one through its batch) and one for the shared read of the
/// log.
fn engine_connections(projections: usize) -> u32 {
    (projections as u32).saturating_add(1).clamp(2, 16)
}

/// Connects, migrates and assembles the application state.
pub async fn build_state(config: Config) -> anyhow::Result<AppState> {
    crate::projections::check_instance_id(&config.instance_id)
        .map_err(|e| anyhow::anyhow!("--instance-id: {e}"))?;
    let db = Db::connect_pool(
        &config.database_url,
        config.db_min_connections,
        crate::db::PG_MAX_CONNECTIONS,
    )
    .await
    .with_context(|| format!("connecting to {}", redact(&config.database_url)))?;
    migrate(&db).await?;
    let store = EventStore::open(db.clone(), config.upcasters.clone())
        .await
        .context("opening the event store")?
        .with_snapshot_every(config.snapshot_every)
        .with_state_cache(config.state_cache);
    let metrics = metrics_handle();
    let auth = Authenticator::new(config.jwt_secret.as_deref());
    let (notices, _) = broadcast::channel(NOTICE_BUFFER);
    let cache = ReadCache::new(config.read_cache_entries);
    let mut projections = config
        .projections
        .clone()
        .unwrap_or_else(|| projections::projections_with(Some(&cache)));
    if let Some(nats) = &config.nats {
        // Connects on its first batch: the server starts with NATS down.
        let relay = crate::relay::NatsRelay::new(nats.clone())
            .map_err(|e| anyhow::anyhow!("--nats-*: {e}"))?;
        projections.push(Arc::new(relay));
    }
    // The projection workers' own connections, all kept open: requests
    // can neither take them nor make a batch wait for a new one (a burst
    // of requests grew the shared pool, and the next batch paid ~90 ms for
    // its connection, in every subscriber's delivery). SQLite: the same
    // database handle, for its one writer lock.
    let engine_db = if db.is_postgres() {
        let n = engine_connections(projections.len());
        Db::connect_pool(&config.database_url, n, n)
            .await
            .context("connecting the projection workers")?
    } else {
        db.clone()
    };
    let read = ReadModels {
        store: store.clone(),
        engine_db,
        notices,
        router: Default::default(),
        projections: Arc::new(projections),
        rates: Default::default(),
        jobs: Default::default(),
        poll_interval: config.engine.poll_interval,
        tasks: Tasks::default(),
        cache,
        tail: Default::default(),
        leaders: crate::projections::Leaders::new(&config.instance_id),
    };
    let schema = build_schema(read.clone(), config.response_cache_bytes);
    if config.start_projections {
        projections::start(&read, &config.engine)
            .await
            .context("starting projections")?;
    }
    Ok(AppState(Arc::new(AppParts {
        config: Arc::new(config),
        db,
        store,
        read,
        auth,
        schema,
        metrics,
    })))
}

/// The process-wide Prometheus recorder (installed once; every app in the
/// process, as in tests, shares it).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("_seconds".into()),
                    &[
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    ],
                )
                .unwrap_or_else(|_| PrometheusBuilder::new());
            match builder.install_recorder() {
                Ok(handle) => handle,
                // Another recorder is installed (an embedding app's): still
                // render ours, just empty.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            }
        })
        .clone()
}

/// Refuses to serve an open (secret-less) server on a non-loopback address.
pub fn check_bind_address(addr: &SocketAddr, state: &AppState) -> anyhow::Result<()> {
    if state.auth.is_open() && !addr.ip().is_loopback() {
        anyhow::bail!(
            "refusing to listen on {addr} without CHRONICLE_JWT_SECRET: \
             an open server only binds loopback addresses"
        );
    }
    Ok(())
}

/// Serves HTTP on an already-bound listener until `shutdown` resolves,
/// then shuts down within `edge.shutdown_grace`, stops the background
/// tasks and waits for them (bounded by `TASK_SHUTDOWN_DEADLINE`).
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    check_bind_address(&addr, &state)?;
    if let Some(secret) = &state.config.jwt_secret {
        crate::auth::check_secret(secret).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let tasks = state.tasks().clone();
    let edge = crate::http::Edge::new(&state.config);
    if let Some(metrics_addr) = state.config.metrics_addr {
        let metrics_listener = TcpListener::bind(metrics_addr)
            .await
            .with_context(|| format!("binding the metrics listener {metrics_addr}"))?;
        let metrics_state = state.clone();
        let mut closing = edge.shutting_down();
        tracing::info!(addr = %metrics_addr, "metrics listening");
        tasks.spawn(async move {
            let app = axum::Router::new().route(
                "/metrics",
                axum::routing::get(move || {
                    let state = metrics_state.clone();
                    async move { crate::http::render_metrics(&state).await }
                }),
            );
            let _ = axum::serve(metrics_listener, app)
                .with_graceful_shutdown(async move {
                    let _ = closing.wait_for(|c| *c).await;
                })
                .await;
        });
    }
    let router = crate::http::router_with(state, edge.clone());
    tracing::info!(%addr, "chronicle listening");
    crate::http::serve(listener, router, edge, shutdown).await;
    // Projection workers finish the batch in hand, rebuilds stop at a
    // batch boundary.
    if !tasks.shutdown(TASK_SHUTDOWN_DEADLINE).await {
        tracing::warn!("background tasks did not stop in time; exiting anyway");
    }
    Ok(())
}

/// Hides a password in a database URL for logs.
///
/// ```
/// assert_eq!(chronicle::app::redact("postgres://u:pw@h/db"), "postgres://u:***@h/db");
/// assert_eq!(chronicle::app::redact("postgres://u@h/db"), "postgres://u@h/db");
/// ```
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => match url[scheme + 3..at].split_once(':') {
            Some((user, _password)) => {
                format!("{}://{}:***@{}", &url[..scheme], user, &url[at + 1..])
            }
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}
