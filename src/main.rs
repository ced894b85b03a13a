//! The `chronicle` command line: parse, set up tracing, hand over to the library.

use std::io::IsTerminal;
use std::net::SocketAddr;

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
    Serve(ServeArgs),
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
    #[command(flatten)]
    db: DbArgs,
    /// HS256 secret for JWT bearer tokens; without one the server is open
    /// (everyone is admin) and only binds loopback addresses.
    #[arg(long, env = "CHRONICLE_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// Events between two snapshots of a stream.
    #[arg(long, env = "CHRONICLE_SNAPSHOT_EVERY", default_value_t = chronicle::store::DEFAULT_SNAPSHOT_EVERY)]
    snapshot_every: i32,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "CHRONICLE_MAX_BODY_BYTES", default_value_t = chronicle::app::DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
}

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
        Some(Command::Serve(args)) => serve(args).await,
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
    let state = chronicle::build_state(config).await?;
    chronicle::app::check_bind_address(&args.addr, &state)?;
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("binding {}", args.addr))?;
    chronicle::run(listener, state, shutdown_signal()).await
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
