//! The `chronicle` command line: parse, set up tracing, hand over to the library.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "chronicle",
    version,
    about = "An event-sourced GraphQL API server"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve(Box<ServeArgs>),
    /// Apply pending migrations and exit.
    Migrate(DbArgs),
    /// Print the GraphQL schema (SDL, sorted) and exit.
    Schema,
    /// Rebuild a projection's read model beside the live one, then switch
    /// to it; a running server keeps serving the old one until then.
    Rebuild {
        /// order_details, customer_order_history or sales_stats.
        projection: String,
        /// Events applied per transaction (smaller: shorter transactions,
        /// a quicker stop on SIGTERM).
        #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        batch_size: u64,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Args, Clone)]
struct DbArgs {
    /// sqlite://FILE?mode=rwc or postgres://USER@HOST/DB
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://chronicle.db?mode=rwc"
    )]
    database_url: String,
}

#[derive(Args, Clone)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CHRONICLE_ADDR", default_value = "127.0.0.1:8000")]
    addr: SocketAddr,
    /// This instance's name, shown in `projections { instance }` and as
    /// PostgreSQL's application_name of its leadership connections
    /// (default <hostname>-<pid>).
    #[arg(long, env = "CHRONICLE_INSTANCE_ID", value_parser = parse_instance_id)]
    instance_id: Option<String>,
    #[command(flatten)]
    db: DbArgs,
    /// HS256 secret for JWT bearer tokens; without one the server is open
    /// (everyone is admin) and only binds loopback addresses.
    #[arg(long, env = "CHRONICLE_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// Events between two snapshots of a stream.
    #[arg(long, env = "CHRONICLE_SNAPSHOT_EVERY", default_value_t = chronicle::store::DEFAULT_SNAPSHOT_EVERY)]
    snapshot_every: i32,
    /// Streams whose folded state commands keep in memory, so the next
    /// command on a stream reads nothing before it appends (0: none;
    /// about 1 KiB per stream plus its lines).
    #[arg(long, env = "CHRONICLE_STATE_CACHE", default_value_t = chronicle::store::DEFAULT_STATE_CACHE, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=10_000_000))]
    state_cache: usize,
    /// PostgreSQL connections kept open of the request pool's 20 (the
    /// projection workers have their own, always open); a request that
    /// finds none idle opens one, which costs it tens of milliseconds under
    /// load. Ignored on SQLite.
    #[arg(long, env = "CHRONICLE_DB_MIN_CONNECTIONS", default_value_t = chronicle::db::DEFAULT_MIN_CONNECTIONS, value_parser = clap::value_parser!(u32).range(0..=chronicle::db::PG_MAX_CONNECTIONS as i64))]
    db_min_connections: u32,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "CHRONICLE_MAX_BODY_BYTES", default_value_t = chronicle::app::DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// How often, in milliseconds, an idle projection worker looks for
    /// events nobody told it about, and a waiting instance tries for a
    /// projection's leadership (PostgreSQL). Notifications deliver
    /// sooner; this is the fallback and the takeover delay.
    #[arg(long, env = "CHRONICLE_POLL_INTERVAL_MS", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    poll_interval_ms: u64,
    /// Least milliseconds between two batches of a caught-up projection:
    /// appends that arrive meanwhile are applied in one transaction (a
    /// steady stream of commands costs one projection transaction per
    /// interval, not one per command), at up to this much more delay
    /// before a write is readable. 0 applies each append as it comes.
    #[arg(long, env = "CHRONICLE_PROJECTION_BATCH_INTERVAL_MS", default_value_t = chronicle::projections::DEFAULT_BATCH_INTERVAL.as_millis() as u64, value_parser = clap::value_parser!(u64).range(0..=1_000))]
    projection_batch_interval_ms: u64,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    edge: EdgeArgs,
    #[command(flatten)]
    nats: NatsArgs,
}

/// Relaying every event to NATS JetStream (README: "Relaying events to
/// NATS JetStream").
#[derive(Args, Clone)]
struct NatsArgs {
    /// NATS server URL (e.g. nats://127.0.0.1:4222); turns the relay on.
    /// Its password, if any, is never logged.
    #[arg(long, env = "CHRONICLE_NATS_URL", hide_env_values = true)]
    nats_url: Option<String>,
    /// JetStream stream the events go to (created if missing).
    #[arg(long, env = "CHRONICLE_NATS_STREAM", default_value = chronicle::relay::DEFAULT_STREAM)]
    nats_stream: String,
    /// Subject prefix: events go to <prefix>.<stream type>.<event type>.
    #[arg(long, env = "CHRONICLE_NATS_SUBJECT_PREFIX", default_value = chronicle::relay::DEFAULT_SUBJECT_PREFIX)]
    nats_subject_prefix: String,
}

impl NatsArgs {
    fn config(&self) -> Option<chronicle::relay::RelayConfig> {
        let url = self
            .nats_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())?;
        Some(chronicle::relay::RelayConfig {
            stream: self.nats_stream.clone(),
            subject_prefix: self.nats_subject_prefix.clone(),
            ..chronicle::relay::RelayConfig::new(url)
        })
    }
}

/// Per-request limits (SECURITY.md explains each).
#[derive(Args, Clone)]
struct LimitArgs {
    /// Deepest selection, fragments expanded.
    #[arg(long, env = "CHRONICLE_MAX_DEPTH", default_value_t = 16)]
    max_depth: usize,
    /// Field selections per operation, fragments expanded.
    #[arg(long, env = "CHRONICLE_MAX_FIELDS", default_value_t = 1_000)]
    max_fields: usize,
    /// Aliased fields per operation.
    #[arg(long, env = "CHRONICLE_MAX_ALIASES", default_value_t = 30)]
    max_aliases: usize,
    /// Root fields per operation.
    #[arg(long, env = "CHRONICLE_MAX_ROOT_FIELDS", default_value_t = 20)]
    max_root_fields: usize,
    /// Estimated nodes per operation (lists multiplied by `first`).
    #[arg(long, env = "CHRONICLE_MAX_NODES", default_value_t = 50_000)]
    max_nodes: u64,
    /// Operations per batched request; 0 turns batching off.
    #[arg(long, env = "CHRONICLE_MAX_BATCH", default_value_t = 10)]
    max_batch: usize,
    /// Largest response body, in bytes.
    #[arg(long, env = "CHRONICLE_MAX_RESPONSE_BYTES", default_value_t = 16 * 1024 * 1024)]
    max_response_bytes: usize,
    /// Execution time limit of one request, in seconds.
    #[arg(long, env = "CHRONICLE_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    request_timeout_secs: u64,
    /// GraphQL HTTP requests in flight at once (503 past it).
    #[arg(long, env = "CHRONICLE_MAX_IN_FLIGHT", default_value_t = 256)]
    max_in_flight: usize,
}

/// Connections, browsers, WebSockets and what anonymous callers may see.
#[derive(Args, Clone)]
struct EdgeArgs {
    /// Browser origins allowed to call the API (CORS and WebSocket Origin),
    /// e.g. http://localhost:5173; repeat or separate with commas. Without
    /// any, only same-origin pages may.
    #[arg(
        long = "cors-origin",
        env = "CHRONICLE_CORS_ORIGINS",
        value_delimiter = ','
    )]
    cors_origins: Vec<String>,
    /// Seconds a client has to send request headers (also the keep-alive
    /// idle timeout).
    #[arg(long, env = "CHRONICLE_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    header_timeout_secs: u64,
    /// Seconds a client has to send a request body.
    #[arg(long, env = "CHRONICLE_BODY_TIMEOUT_SECS", default_value_t = 30)]
    body_timeout_secs: u64,
    /// Open connections at once; more are closed immediately.
    #[arg(long, env = "CHRONICLE_MAX_CONNECTIONS", default_value_t = 1_024)]
    max_connections: usize,
    /// Seconds shutdown waits for requests in flight.
    #[arg(long, env = "CHRONICLE_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    shutdown_grace_secs: u64,
    /// Seconds a WebSocket has to send connection_init (4408 past it).
    #[arg(long, env = "CHRONICLE_WS_INIT_TIMEOUT_SECS", default_value_t = 10)]
    ws_init_timeout_secs: u64,
    /// Subscriptions at once on one WebSocket.
    #[arg(
        long,
        env = "CHRONICLE_MAX_SUBSCRIPTIONS_PER_CONNECTION",
        default_value_t = 100
    )]
    max_subscriptions_per_connection: usize,
    /// WebSockets at once per user (per peer address when open).
    #[arg(
        long,
        env = "CHRONICLE_MAX_SOCKETS_PER_PRINCIPAL",
        default_value_t = 32
    )]
    max_sockets_per_principal: usize,
    /// With a JWT secret: let callers without a token introspect.
    #[arg(long, env = "CHRONICLE_PUBLIC_INTROSPECTION")]
    public_introspection: bool,
    /// With a JWT secret: give callers without a token "Did you mean" hints.
    #[arg(long, env = "CHRONICLE_PUBLIC_SUGGESTIONS")]
    public_suggestions: bool,
    /// With a JWT secret: serve GraphiQL to callers without a token.
    #[arg(long, env = "CHRONICLE_PUBLIC_GRAPHIQL")]
    public_graphiql: bool,
    /// With a JWT secret: serve /metrics on the main listener without a token.
    #[arg(long, env = "CHRONICLE_PUBLIC_METRICS")]
    public_metrics: bool,
    /// A separate listener for /metrics only (no authentication), e.g.
    /// 127.0.0.1:9100.
    #[arg(long, env = "CHRONICLE_METRICS_ADDR")]
    metrics_addr: Option<SocketAddr>,
    /// Most order rows kept in memory for `order(id)` (0 turns it off).
    #[arg(long, env = "CHRONICLE_READ_CACHE_ENTRIES", default_value_t = chronicle::projections::cache::DEFAULT_ENTRIES as u64, value_parser = clap::value_parser!(u64).range(0..=10_000_000))]
    read_cache_entries: u64,
    /// Most bytes of whole `order(id)` responses kept in memory, answered
    /// again while the orders they read are unchanged (0 turns it off).
    #[arg(long, env = "CHRONICLE_RESPONSE_CACHE_BYTES", default_value_t = chronicle::graphql::responses::DEFAULT_BYTES as u64, value_parser = clap::value_parser!(u64).range(0..=17_179_869_184))]
    response_cache_bytes: u64,
}

/// mimalloc instead of the system allocator: a server allocates and frees
/// small objects (JSON values, rows, GraphQL requests) on every request
/// across threads, where glibc's malloc spent a third of a rebuild's CPU and
/// left idle subscriptions' memory fragmented (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        None => serve(cli.serve).await,
        Some(Command::Serve(args)) => serve(*args).await,
        Some(Command::Migrate(args)) => {
            let db = chronicle::db::Db::connect(&args.database_url)
                .await
                .context("connecting to the database")?;
            chronicle::migrate(&db).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Some(Command::Schema) => {
            print!("{}", chronicle::graphql::sdl_of_default_schema());
            Ok(())
        }
        Some(Command::Rebuild {
            projection,
            batch_size,
            db,
        }) => rebuild(&projection, batch_size, db).await,
    }
}

async fn rebuild(name: &str, batch_size: u64, db: DbArgs) -> anyhow::Result<()> {
    use chronicle::projections::{EngineConfig, rebuild};
    use indicatif::{ProgressBar, ProgressStyle};

    let mut config = chronicle::Config::new(db.database_url);
    config.start_projections = false;
    let state = chronicle::build_state(config).await?;
    let engine = EngineConfig {
        batch_size,
        ..EngineConfig::default()
    };
    let job = match rebuild::prepare(&state.read, name, &engine).await {
        Ok(Ok(job)) => job,
        Ok(Err(running)) => anyhow::bail!("a rebuild of {name} is already running: {running:?}"),
        Err(e @ rebuild::RebuildError::NotRebuildable(_)) => anyhow::bail!("{e}"),
        // The relay is refused whether or not this command could run it.
        Err(rebuild::RebuildError::UnknownProjection(n)) if n == chronicle::relay::NAME => {
            anyhow::bail!("{}", rebuild::RebuildError::NotRebuildable(n))
        }
        Err(rebuild::RebuildError::UnknownProjection(_)) => {
            let known: Vec<_> = state.read.projections.iter().map(|p| p.name()).collect();
            anyhow::bail!("unknown projection {name}; known: {}", known.join(", "))
        }
        Err(e) => return Err(e).context("preparing the rebuild"),
    };
    let start = job.status().clone();
    let (total, _) = state.store.lag_after(start.position).await?;
    eprintln!(
        "rebuilding {name}: generation {} beside live generation {}, from position {} ({total} events)",
        start.generation, start.replaces, start.position
    );
    // SIGTERM / Ctrl-C stop the rebuild at the next batch boundary; the
    // unfinished generation is resumed by the next run.
    let stop = state.tasks().stop.clone();
    let on_signal = tokio::spawn(async move {
        shutdown_signal().await;
        stop.cancel();
    });
    let plain = !std::io::stderr().is_terminal();
    let mut last_line = std::time::Instant::now();
    let mut first = true;
    let bar = ProgressBar::new(total.max(0) as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} events  {per_sec}  elapsed {elapsed_precise}  left {eta_precise}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let status = job
        .run(|s| {
            // New events may arrive while rebuilding: grow the bar.
            let done = s.events_done;
            if done > bar.length().unwrap_or(0) {
                bar.set_length(done);
            }
            bar.set_position(done);
            // Without a terminal the bar is hidden: log the first batch,
            // then a line a second.
            if plain && (first || last_line.elapsed() >= std::time::Duration::from_secs(1)) {
                first = false;
                last_line = std::time::Instant::now();
                eprintln!(
                    "rebuilding {name}: position {}, {done} events applied",
                    s.position
                );
            }
        })
        .await;
    on_signal.abort();
    bar.finish();
    match status.state {
        rebuild::RebuildState::Done => {
            eprintln!(
                "{name}: generation {} is live ({} events applied)",
                status.generation, status.events_done
            );
            Ok(())
        }
        rebuild::RebuildState::Running => anyhow::bail!(
            "rebuild of {name} stopped at position {}; the live read model is untouched and a new run resumes",
            status.position
        ),
        rebuild::RebuildState::Failed => anyhow::bail!(
            "rebuild of {name} failed: {}; the live read model is untouched and a new run resumes",
            status.error.unwrap_or_default()
        ),
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = chronicle::Config::new(args.db.database_url);
    config.jwt_secret = args.jwt_secret.filter(|s| !s.is_empty());
    config.max_body_bytes = args.max_body_bytes;
    config.snapshot_every = args.snapshot_every;
    config.state_cache = args.state_cache;
    config.db_min_connections = args.db_min_connections;
    config.engine.poll_interval = Duration::from_millis(args.poll_interval_ms);
    config.engine.batch_interval = Duration::from_millis(args.projection_batch_interval_ms);
    if let Some(secret) = &config.jwt_secret {
        chronicle::auth::check_secret(secret).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let l = &args.limits;
    config.limits = chronicle::graphql::limits::Limits {
        max_depth: l.max_depth,
        max_fields: l.max_fields,
        max_aliases: l.max_aliases,
        max_root_fields: l.max_root_fields,
        max_nodes: l.max_nodes,
        max_batch: l.max_batch,
        max_response_bytes: l.max_response_bytes,
        request_timeout: Duration::from_secs(l.request_timeout_secs),
        max_in_flight: l.max_in_flight,
        ..Default::default()
    };
    let e = &args.edge;
    config.edge = chronicle::http::EdgeConfig {
        cors_origins: e
            .cors_origins
            .iter()
            .map(|o| o.trim().to_owned())
            .filter(|o| !o.is_empty())
            .collect(),
        header_read_timeout: Duration::from_secs(e.header_timeout_secs),
        body_read_timeout: Duration::from_secs(e.body_timeout_secs),
        max_connections: e.max_connections,
        shutdown_grace: Duration::from_secs(e.shutdown_grace_secs),
        ws_init_timeout: Duration::from_secs(e.ws_init_timeout_secs),
        max_subscriptions_per_connection: e.max_subscriptions_per_connection,
        max_sockets_per_principal: e.max_sockets_per_principal,
        public_introspection: e.public_introspection,
        public_suggestions: e.public_suggestions,
        public_graphiql: e.public_graphiql,
        public_metrics: e.public_metrics,
    };
    config.metrics_addr = e.metrics_addr;
    config.read_cache_entries = e.read_cache_entries as usize;
    config.response_cache_bytes = usize::try_from(e.response_cache_bytes).unwrap_or(usize::MAX);
    if let Some(id) = &args.instance_id {
        config.instance_id = id.clone();
    }
    config.nats = args.nats.config();
    let state = chronicle::build_state(config).await?;
    chronicle::app::check_bind_address(&args.addr, &state)?;
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("binding {}", args.addr))?;
    chronicle::run(listener, state, shutdown_signal()).await
}

fn parse_instance_id(id: &str) -> Result<String, String> {
    chronicle::projections::check_instance_id(id).map(|()| id.to_owned())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}
