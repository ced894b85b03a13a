//! A self-contained benchmark of chronicle's write path, in ratios.
//!
//! ```sh
//! cargo run --release --example bench -- --backend sqlite
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!     cargo run --release --example bench -- --backend postgres
//! ```
//!
//! Options (`--help`): `--backend sqlite|postgres` (default sqlite), `--n N`
//! (operations for the store phases, default 2000), `--http-n M` (requests
//! per HTTP phase, default N / 4 = 500).
//!
//! Machines are noisy, so every figure is reported as a RATIO against a
//! baseline measured in the same run on the same database:
//!
//! 1. raw database: N single-row INSERTs, each in its own BEGIN … COMMIT,
//!    into a scratch table shaped like `events` (bigint autoincrement
//!    position, text, int, JSON text), through the same SeaORM pool;
//!    1b. the same in autocommit mode (context: the cost of BEGIN/COMMIT);
//!    1c. event rows into a copy of `events` with all its columns and
//!    indexes (context: the database's share of an append);
//! 2. `EventStore::append` of one real `OrderCreated` event to a fresh
//!    stream (`ExpectedVersion::NoStream`), sequentially (ratio vs 1);
//! 3. the same from 8 concurrent tasks (ratio vs 2);
//!    3b. raw INSERTs from 8 concurrent tasks (ratio vs 1): what concurrency
//!    buys the database without the append lock;
//! 4. the real server over HTTP (`build_state` + `run` on 127.0.0.1:0, one
//!    reused reqwest client, sequential): `{ __typename }` (baseline), then
//!    `createOrder` (one item), then `placeOrder` on those orders (ratios vs
//!    the bare query, p50/p99 latency);
//! 5. read-side lag: time until the `projections` query reports lag 0 for
//!    every projection (polled every 10 ms, 60 s deadline) after the server
//!    starts on the backlog of phases 2–3 (5a), after the last createOrder
//!    response (5b) and after the last placeOrder response (5c);
//!    4d. (context) createOrder again on a second server over the same
//!    database whose projection workers are not started: what the read
//!    side's writes cost the command path.
//!
//! Phases 1–3 run interleaved in 10 rounds (1, 1b, 1c, 2, 3b, 3, 1, …) after
//! an uncounted warm-up, so that a burst of machine noise hits a baseline
//! and its candidate alike.
//!
//! Everything is bounded (counts, per-request timeouts, a 60 s lag deadline,
//! an overall deadline) and only talks to 127.0.0.1 (or BENCH_DATABASE_URL).
//! On PostgreSQL a fresh database `chronicle_bench_<uuid>` is created and
//! dropped at the end; SQLite lives in a temporary directory.
//!
//! Modules: `args` (the command line), `figures` (measurements, percentiles,
//! ratios), `raw` (phase 1), `store` (phases 2–3), `http` (phases 4–5),
//! `report` (the Markdown tables). The database, the server and the GraphQL
//! documents come from `chronicle-testkit`, as in the tests.

mod args;
mod figures;
mod http;
mod raw;
mod report;
mod store;

use std::time::{Duration, Instant};

use anyhow::Context;
use chronicle::db::Db;
use chronicle::domain::order::OrderAggregate;
use chronicle::store::{EventStore, Upcasters};
use chronicle_testkit::{Backend, TestDb};

use crate::args::{Args, DEFAULT_PG_URL};
use crate::figures::{Measured, progress};
use crate::http::HttpOutcome;
use crate::raw::{bench_raw_autocommit, bench_raw_concurrent, bench_raw_events, bench_raw_txn};
use crate::store::{bench_append_concurrent, bench_append_seq, order_created};

/// Tasks in the concurrent phases.
pub const CONCURRENT_TASKS: usize = 8;
/// Rounds the store phases are interleaved in.
const ROUNDS: usize = 10;
const OVERALL_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// Every figure of a run.
pub struct Results {
    raw_txn: Measured,
    raw_auto: Measured,
    raw_events: Measured,
    raw_conc: Measured,
    append_seq: Measured,
    append_conc: Measured,
    http: HttpOutcome,
    create_no_proj: Measured,
    /// Events in the store when the server started (phases 2–3 + warm-up).
    backlog_events: i64,
}

async fn run(args: &Args, url: &str) -> anyhow::Result<Results> {
    let n = args.n;
    let warm = (n / 20).clamp(5, 100);
    let payload = serde_json::to_string(&order_created(0).data)?;

    // Phases 1–3 on a bare store (no server, no projections running).
    let db = Db::connect(url).await.context("Db::connect")?;
    chronicle::migrate(&db).await.context("migrate")?;
    let store = EventStore::open(db.clone(), Upcasters::new().with::<OrderAggregate>()).await?;
    raw::create_tables(&db).await?;

    // Warm-up of each kind (pool connections, statement caches), not counted.
    bench_raw_txn(&db, 0, warm, &payload).await?;
    bench_raw_autocommit(&db, 0, warm, &payload).await?;
    bench_raw_events(&db, 0, warm).await?;
    bench_append_seq(&store, 0, warm).await?;

    // The store phases run interleaved in rounds, so that a burst of noise
    // from the machine hits baseline and candidate alike.
    progress(format!(
        "1–3. raw INSERT / EventStore::append, {n} each, in {ROUNDS} interleaved rounds"
    ));
    let (mut raw_txn, mut raw_auto, mut raw_conc) = (Vec::new(), Vec::new(), Vec::new());
    let mut raw_events = Vec::new();
    let (mut append_seq, mut append_conc) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let k = n / ROUNDS + usize::from(round < n % ROUNDS);
        let first = warm + round * n.div_ceil(ROUNDS);
        raw_txn.push(bench_raw_txn(&db, first, k, &payload).await?);
        raw_auto.push(bench_raw_autocommit(&db, first, k, &payload).await?);
        raw_events.push(bench_raw_events(&db, first, k).await?);
        append_seq.push(bench_append_seq(&store, first, k).await?);
        raw_conc.push(bench_raw_concurrent(&db, first, k, CONCURRENT_TASKS, &payload).await?);
        append_conc.push(bench_append_concurrent(&store, first, k, CONCURRENT_TASKS).await?);
    }
    let raw_txn = Measured::merge(raw_txn);
    let raw_auto = Measured::merge(raw_auto);
    let raw_events = Measured::merge(raw_events);
    let raw_conc = Measured::merge(raw_conc);
    let append_seq = Measured::merge(append_seq);
    let append_conc = Measured::merge(append_conc);
    let backlog_events = store.head_position().await?;
    drop(store);
    db.conn().clone().close().await.ok();

    // Phase 4: the real server. Its projections start on the backlog of
    // phases 2–3: time how long they take to catch up (phase 5a).
    progress(format!(
        "5a. starting the server; projections catch up on {backlog_events} events"
    ));
    let since = Instant::now();
    let server = http::start(url, true).await?;
    let outcome = http::phases(args, &server, since).await;
    http::stop(server).await;
    let http = outcome?;

    // Context for 4b: the same createOrder run against a server whose
    // projection workers are not started (nothing else writes meanwhile).
    let m = args.http_n;
    progress(format!(
        "4d. createOrder x {m}, projection workers not started"
    ));
    let server = http::start(url, false).await?;
    let outcome = http::create_orders(&server, m).await;
    http::stop(server).await;
    let create_no_proj = outcome?;

    Ok(Results {
        raw_txn,
        raw_auto,
        raw_events,
        raw_conc,
        append_seq,
        append_conc,
        http,
        create_no_proj,
        backlog_events,
    })
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse()?;
    let admin_url = std::env::var("BENCH_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_PG_URL.to_owned());
    let admin_url = (args.backend == Backend::Postgres).then_some(admin_url.as_str());
    let db = TestDb::create(args.backend, admin_url, "chronicle_bench_").await?;
    progress(format!(
        "backend {}, database {}",
        args.backend.name(),
        chronicle::app::redact(&db.url)
    ));
    let outcome = tokio::select! {
        r = tokio::time::timeout(OVERALL_DEADLINE, run(&args, &db.url)) => {
            r.unwrap_or_else(|_| Err(anyhow::anyhow!("overall deadline of {OVERALL_DEADLINE:?} passed")))
        }
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    let name = db.pg_name().map(str::to_owned);
    match (db.close().await, name) {
        (Ok(()), Some(name)) => progress(format!("dropped database {name}")),
        (Err(e), _) => progress(format!("could not drop the database: {e:#}")),
        (Ok(()), None) => {}
    }
    let results = outcome?;
    print!("{}", report::report(&args, &results));
    Ok(())
}
