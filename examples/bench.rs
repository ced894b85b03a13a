//! A self-contained benchmark of chronicle's write path, in ratios.
//!
//! ```sh
//! cargo run --release --example bench -- --backend sqlite
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!     cargo run --release --example bench -- --backend postgres
//! ```
//!
//! Options: `--backend sqlite|postgres` (default sqlite), `--n N` (operations
//! for the store phases, default 2000), `--http-n M` (requests per HTTP phase,
//! default N / 4 = 500).
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

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chronicle::Config;
use chronicle::db::Db;
use chronicle::domain::DomainEvent;
use chronicle::domain::order::{OrderAggregate, OrderCreated, OrderEvent, OrderLine};
use chronicle::store::{
    AppendOutcome, EventMetadata, EventStore, ExpectedVersion, NewEvent, Upcasters,
};
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use serde_json::{Value, json};
use tokio::sync::oneshot;

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const CONCURRENT_TASKS: usize = 8;
/// Rounds the store phases are interleaved in.
const ROUNDS: usize = 10;
const MAX_N: usize = 100_000;
const LAG_POLL: Duration = Duration::from_millis(10);
const LAG_DEADLINE: Duration = Duration::from_secs(60);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const OVERALL_DEADLINE: Duration = Duration::from_secs(30 * 60);

const TYPENAME: &str = "{ __typename }";
const CREATE: &str = "mutation($input: CreateOrderInput!) { createOrder(input: $input) { aggregateId version position } }";
const PLACE: &str = "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { version } }";
const PROJECTIONS: &str = "{ projections { name lag } }";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

struct Args {
    backend: Backend,
    n: usize,
    http_n: usize,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut backend = Backend::Sqlite;
    let mut n = 2000;
    let mut http_n = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--backend" => {
                backend = match value("--backend")?.as_str() {
                    "sqlite" => Backend::Sqlite,
                    "postgres" | "postgresql" | "pg" => Backend::Postgres,
                    other => bail!("unknown backend {other:?} (sqlite or postgres)"),
                }
            }
            "--n" => n = value("--n")?.parse().context("--n")?,
            "--http-n" => http_n = Some(value("--http-n")?.parse().context("--http-n")?),
            "-h" | "--help" => {
                println!(
                    "usage: bench [--backend sqlite|postgres] [--n N] [--http-n M]\n\
                     N: operations in the store phases (default 2000)\n\
                     M: requests per HTTP phase (default N/4)\n\
                     PostgreSQL: BENCH_DATABASE_URL (default {DEFAULT_PG_URL})"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    let http_n = http_n.unwrap_or(n / 4);
    if !(80..=MAX_N).contains(&n) || !(8..=MAX_N).contains(&http_n) {
        bail!("--n must be between 80 and {MAX_N}, --http-n between 8 and {MAX_N}");
    }
    Ok(Args { backend, n, http_n })
}

// ---------------------------------------------------------------- figures

/// One measured phase: wall time and per-operation latencies.
struct Measured {
    ops: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Measured {
    fn new(elapsed: Duration, mut latencies: Vec<Duration>) -> Measured {
        latencies.sort_unstable();
        Measured {
            ops: latencies.len(),
            elapsed,
            latencies,
        }
    }

    /// One figure from several rounds: total time, all latencies.
    fn merge(parts: Vec<Measured>) -> Measured {
        let elapsed = parts.iter().map(|m| m.elapsed).sum();
        let latencies = parts.into_iter().flat_map(|m| m.latencies).collect();
        Measured::new(elapsed, latencies)
    }

    fn per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }
}

/// How long the projections took to report lag 0.
struct Lag {
    /// Largest per-projection lag at the first poll.
    backlog: i64,
    /// From the reference instant until every projection reported lag 0.
    catch_up: Duration,
    polls: usize,
    /// Mean latency of one `projections` query (the resolution of `catch_up`).
    poll_mean: Duration,
}

impl Lag {
    /// Events per second the slowest projection applied while draining the
    /// lag seen at the first poll (projections run in parallel, each over
    /// every event). Meaningless for a backlog of a handful of events.
    fn events_per_sec(&self) -> Option<f64> {
        (self.backlog > 0).then(|| self.backlog as f64 / self.catch_up.as_secs_f64())
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn progress(msg: impl AsRef<str>) {
    eprintln!("[bench] {}", msg.as_ref());
}

// --------------------------------------------------------------- database

/// A fresh database for the run: a temp dir, or a PostgreSQL database that
/// `cleanup` drops.
struct BenchDb {
    url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>, // (admin url, database name)
}

impl BenchDb {
    async fn create(backend: Backend) -> anyhow::Result<BenchDb> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().context("temp dir")?;
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("bench.db").display()
                );
                Ok(BenchDb {
                    url,
                    _dir: Some(dir),
                    pg: None,
                })
            }
            Backend::Postgres => {
                let admin_url = std::env::var("BENCH_DATABASE_URL")
                    .ok()
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| DEFAULT_PG_URL.to_owned());
                let name = format!("chronicle_bench_{}", uuid::Uuid::new_v4().simple());
                let admin = sea_orm::Database::connect(admin_url.as_str())
                    .await
                    .with_context(|| {
                        format!("connecting to {}", chronicle::app::redact(&admin_url))
                    })?;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .context("CREATE DATABASE")?;
                admin.close().await.ok();
                Ok(BenchDb {
                    url: replace_db_name(&admin_url, &name)?,
                    _dir: None,
                    pg: Some((admin_url, name)),
                })
            }
        }
    }

    async fn cleanup(self) {
        let Some((admin_url, name)) = &self.pg else {
            return;
        };
        let dropped = async {
            let admin = sea_orm::Database::connect(admin_url.as_str()).await?;
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await?;
            admin.close().await
        };
        match tokio::time::timeout(Duration::from_secs(30), dropped).await {
            Ok(Ok(())) => progress(format!("dropped database {name}")),
            Ok(Err(e)) => progress(format!("could not drop database {name}: {e}")),
            Err(_) => progress(format!("timed out dropping database {name}")),
        }
    }
}

fn replace_db_name(url: &str, name: &str) -> anyhow::Result<String> {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let slash = head
        .rfind('/')
        .filter(|&i| i > head.find("://").map_or(0, |s| s + 2))
        .context("BENCH_DATABASE_URL needs a database path, e.g. …:5432/test")?;
    let mut out = format!("{}/{}", &head[..slash], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

// ------------------------------------------------------- 1. raw inserts

const RAW_TABLE: &str = "bench_raw";

async fn create_raw_table(db: &Db) -> anyhow::Result<()> {
    // The shape of `events`: bigint autoincrement position, text, int, JSON.
    let ddl = match db.backend() {
        DbBackend::Postgres => format!(
            "CREATE TABLE {RAW_TABLE} (position BIGSERIAL PRIMARY KEY, \
             stream_id TEXT NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL)"
        ),
        _ => format!(
            "CREATE TABLE {RAW_TABLE} (position INTEGER PRIMARY KEY AUTOINCREMENT, \
             stream_id TEXT NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL)"
        ),
    };
    db.conn().execute_unprepared(&ddl).await?;
    Ok(())
}

fn raw_insert(db: &Db, i: usize, payload: &str) -> Statement {
    let sql = match db.backend() {
        DbBackend::Postgres => {
            format!("INSERT INTO {RAW_TABLE} (stream_id, version, data) VALUES ($1, $2, $3)")
        }
        _ => format!("INSERT INTO {RAW_TABLE} (stream_id, version, data) VALUES (?, ?, ?)"),
    };
    Statement::from_sql_and_values(
        db.backend(),
        sql,
        [
            format!("raw-{i}").into(),
            1i32.into(),
            payload.to_owned().into(),
        ],
    )
}

/// N INSERTs, each in an explicit BEGIN … COMMIT (the append path's shape).
async fn bench_raw_txn(db: &Db, first: usize, n: usize, payload: &str) -> anyhow::Result<Measured> {
    let mut latencies = Vec::with_capacity(n);
    let started = Instant::now();
    for i in first..first + n {
        let t = Instant::now();
        let txn = db.conn().begin().await?;
        txn.execute_raw(raw_insert(db, i, payload)).await?;
        txn.commit().await?;
        latencies.push(t.elapsed());
    }
    Ok(Measured::new(started.elapsed(), latencies))
}

const RAW_EVENTS_TABLE: &str = "bench_events_copy";

/// A copy of `events` with the same columns, types and indexes (but no
/// triggers, and its own sequence), for 1c.
async fn create_raw_events_table(db: &Db) -> anyhow::Result<()> {
    let t = RAW_EVENTS_TABLE;
    let table = match db.backend() {
        DbBackend::Postgres => format!(
            "CREATE TABLE {t} (position BIGSERIAL PRIMARY KEY, event_id UUID NOT NULL UNIQUE, \
             stream_id VARCHAR(200) NOT NULL, stream_type VARCHAR(100) NOT NULL, \
             version INTEGER NOT NULL, event_type VARCHAR(200) NOT NULL, \
             schema_version INTEGER NOT NULL, data JSONB NOT NULL, metadata JSONB NOT NULL, \
             recorded_at TIMESTAMPTZ NOT NULL)"
        ),
        _ => format!(
            "CREATE TABLE {t} (position INTEGER PRIMARY KEY AUTOINCREMENT, \
             event_id uuid_text NOT NULL UNIQUE, stream_id varchar(200) NOT NULL, \
             stream_type varchar(100) NOT NULL, version integer NOT NULL, \
             event_type varchar(200) NOT NULL, schema_version integer NOT NULL, \
             data jsonb_text NOT NULL, metadata jsonb_text NOT NULL, \
             recorded_at timestamp_with_timezone_text NOT NULL)"
        ),
    };
    db.conn().execute_unprepared(&table).await?;
    for ddl in [
        format!("CREATE UNIQUE INDEX ux_{t}_stream_version ON {t} (stream_id, version)"),
        format!("CREATE INDEX ix_{t}_event_type ON {t} (event_type, position)"),
        format!("CREATE INDEX ix_{t}_recorded_at ON {t} (recorded_at)"),
    ] {
        db.conn().execute_unprepared(&ddl).await?;
    }
    Ok(())
}

/// One event row bound with the same value types the `events` entity binds.
fn raw_event_insert(db: &Db, i: usize) -> Statement {
    let event = order_created(i);
    let metadata = serde_json::to_value(&event.metadata).unwrap_or(Value::Null);
    let columns = "event_id, stream_id, stream_type, version, event_type, schema_version, \
                   data, metadata, recorded_at";
    let placeholders = match db.backend() {
        DbBackend::Postgres => "$1, $2, $3, $4, $5, $6, $7, $8, $9",
        _ => "?, ?, ?, ?, ?, ?, ?, ?, ?",
    };
    Statement::from_sql_and_values(
        db.backend(),
        format!("INSERT INTO {RAW_EVENTS_TABLE} ({columns}) VALUES ({placeholders})"),
        [
            uuid::Uuid::new_v4().into(),
            uuid::Uuid::new_v4().to_string().into(),
            "Order".into(),
            1i32.into(),
            event.event_type.into(),
            event.schema_version.into(),
            event.data.into(),
            metadata.into(),
            chrono::Utc::now().into(),
        ],
    )
}

/// N event-shaped INSERTs into the copy of `events`, each in its own
/// BEGIN … COMMIT: the database's share of an append.
async fn bench_raw_events(db: &Db, first: usize, n: usize) -> anyhow::Result<Measured> {
    let mut latencies = Vec::with_capacity(n);
    let started = Instant::now();
    for i in first..first + n {
        let t = Instant::now();
        let txn = db.conn().begin().await?;
        txn.execute_raw(raw_event_insert(db, i)).await?;
        txn.commit().await?;
        latencies.push(t.elapsed());
    }
    Ok(Measured::new(started.elapsed(), latencies))
}

/// N INSERTs in autocommit mode (an implicit transaction each).
async fn bench_raw_autocommit(
    db: &Db,
    first: usize,
    n: usize,
    payload: &str,
) -> anyhow::Result<Measured> {
    let mut latencies = Vec::with_capacity(n);
    let started = Instant::now();
    for i in first..first + n {
        let t = Instant::now();
        db.conn().execute_raw(raw_insert(db, i, payload)).await?;
        latencies.push(t.elapsed());
    }
    Ok(Measured::new(started.elapsed(), latencies))
}

// ------------------------------------------------------ 2./3. appends

/// A real `OrderCreated` (so the projections can apply the backlog later).
fn order_created(i: usize) -> NewEvent {
    let event = OrderEvent::OrderCreated(OrderCreated {
        customer_id: format!("bench-c-{}", i % 100),
        items: vec![OrderLine {
            sku: "A".into(),
            name: "Apple".into(),
            unit_price: "10.00".parse().expect("decimal"),
            quantity: 1,
        }],
        total: "10.00".parse().expect("decimal"),
    });
    let data = serde_json::to_value(&event)
        .ok()
        .and_then(|mut v| v.get_mut("data").map(Value::take))
        .unwrap_or(Value::Null);
    NewEvent {
        event_type: event.event_type().to_owned(),
        schema_version: event.schema_version(),
        data,
        metadata: EventMetadata {
            user_id: Some("bench".into()),
            correlation_id: Some(format!("bench-{i}")),
            ..EventMetadata::default()
        },
    }
}

async fn append_one(store: &EventStore, i: usize) -> anyhow::Result<()> {
    let stream = uuid::Uuid::new_v4().to_string();
    match store
        .append(
            &stream,
            "Order",
            ExpectedVersion::NoStream,
            vec![order_created(i)],
            None,
        )
        .await?
    {
        AppendOutcome::Appended(events) if events.len() == 1 => Ok(()),
        other => bail!("unexpected append outcome: {other:?}"),
    }
}

async fn bench_append_seq(store: &EventStore, first: usize, n: usize) -> anyhow::Result<Measured> {
    let mut latencies = Vec::with_capacity(n);
    let started = Instant::now();
    for i in first..first + n {
        let t = Instant::now();
        append_one(store, i).await?;
        latencies.push(t.elapsed());
    }
    Ok(Measured::new(started.elapsed(), latencies))
}

/// Runs `op(i)` for n distinct i from `tasks` concurrent tasks, all released
/// at once; wall time and per-operation latencies.
async fn concurrently<F, Fut>(
    first: usize,
    n: usize,
    tasks: usize,
    op: F,
) -> anyhow::Result<Measured>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let start = Arc::new(tokio::sync::Barrier::new(tasks + 1));
    let mut handles = Vec::with_capacity(tasks);
    for t in 0..tasks {
        // Spread n over the tasks, remainder to the first ones.
        let count = n / tasks + usize::from(t < n % tasks);
        let base = first + t * n.div_ceil(tasks);
        let op = op.clone();
        let start = start.clone();
        handles.push(tokio::spawn(async move {
            start.wait().await;
            let mut latencies = Vec::with_capacity(count);
            for i in base..base + count {
                let t = Instant::now();
                op(i).await?;
                latencies.push(t.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    start.wait().await;
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(n);
    for h in handles {
        latencies.extend(h.await.context("benchmark task panicked")??);
    }
    Ok(Measured::new(started.elapsed(), latencies))
}

async fn bench_append_concurrent(
    store: &EventStore,
    first: usize,
    n: usize,
    tasks: usize,
) -> anyhow::Result<Measured> {
    let store = store.clone();
    concurrently(first, n, tasks, move |i| {
        let store = store.clone();
        async move { append_one(&store, i).await }
    })
    .await
}

/// Raw INSERTs from concurrent tasks, each in a write transaction of the
/// project's discipline (`Db::begin_write`: a plain BEGIN on PostgreSQL, the
/// process write lock + BEGIN on SQLite): what concurrency gives without the
/// append lock.
async fn bench_raw_concurrent(
    db: &Db,
    first: usize,
    n: usize,
    tasks: usize,
    payload: &str,
) -> anyhow::Result<Measured> {
    let db = db.clone();
    let payload: Arc<str> = payload.into();
    concurrently(first, n, tasks, move |i| {
        let db = db.clone();
        let payload = payload.clone();
        async move {
            let tx = db.begin_write().await?;
            tx.txn.execute_raw(raw_insert(&db, i, &payload)).await?;
            tx.commit().await?;
            Ok(())
        }
    })
    .await
}

// ------------------------------------------------------------ 4. HTTP

struct Server {
    addr: SocketAddr,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    async fn start(url: &str, start_projections: bool) -> anyhow::Result<Server> {
        let mut config = Config::new(url);
        config.start_projections = start_projections;
        let state = chronicle::build_state(config)
            .await
            .context("build_state")?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(chronicle::run(listener, state, async {
            let _ = rx.await;
        }));
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .no_proxy()
            .build()?;
        Ok(Server {
            addr,
            client,
            shutdown: Some(tx),
            task,
        })
    }

    async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match tokio::time::timeout(Duration::from_secs(10), &mut self.task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => progress(format!("server ended with an error: {e:#}")),
            Ok(Err(e)) => progress(format!("server task failed: {e}")),
            Err(_) => {
                progress("server did not shut down within 10 s; aborting it");
                self.task.abort();
            }
        }
    }

    /// POSTs a GraphQL request; fails on transport errors and on `errors`.
    async fn gql(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        let resp = self
            .client
            .post(format!("http://{}/graphql", self.addr))
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await?;
        let status = resp.status();
        let mut body: Value = resp.json().await.context("response body")?;
        if !status.is_success() || body.get("errors").is_some() {
            bail!("HTTP {status}: {body}");
        }
        Ok(body["data"].take())
    }

    async fn create_order(&self, i: usize) -> anyhow::Result<String> {
        let data = self
            .gql(
                CREATE,
                json!({"input": {"customerId": format!("bench-c-{}", i % 100), "items": [
                    {"sku": "A", "name": "Apple", "unitPrice": "10.00", "quantity": 1}
                ]}}),
            )
            .await?;
        data["createOrder"]["aggregateId"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("no aggregateId in {data}"))
    }

    async fn place_order(&self, id: &str) -> anyhow::Result<()> {
        let data = self.gql(PLACE, json!({"input": {"orderId": id}})).await?;
        match data["placeOrder"]["version"].as_i64() {
            Some(2) => Ok(()),
            _ => bail!("unexpected placeOrder result {data}"),
        }
    }

    /// Every projection's lag.
    async fn lags(&self) -> anyhow::Result<Vec<(String, i64)>> {
        let data = self.gql(PROJECTIONS, json!({})).await?;
        let list = data["projections"]
            .as_array()
            .with_context(|| format!("no projections in {data}"))?;
        list.iter()
            .map(|p| {
                Ok((
                    p["name"].as_str().unwrap_or("?").to_owned(),
                    p["lag"]
                        .as_i64()
                        .with_context(|| format!("no lag in {p}"))?,
                ))
            })
            .collect()
    }

    /// Polls `projections` every 10 ms until every lag is 0 (60 s deadline);
    /// times it from `since`.
    async fn wait_for_lag_zero(&self, since: Instant) -> anyhow::Result<Lag> {
        let deadline = since + LAG_DEADLINE;
        let mut backlog = None;
        let mut polls = 0;
        let mut polling = Duration::ZERO;
        loop {
            let t = Instant::now();
            let lags = self.lags().await?;
            polling += t.elapsed();
            polls += 1;
            let max = lags.iter().map(|(_, l)| *l).max().unwrap_or(0);
            backlog.get_or_insert(max);
            if max == 0 {
                return Ok(Lag {
                    backlog: backlog.unwrap_or(0),
                    catch_up: since.elapsed(),
                    polls,
                    poll_mean: polling / u32::try_from(polls).unwrap_or(u32::MAX),
                });
            }
            if Instant::now() >= deadline {
                bail!("projections still lagging after {LAG_DEADLINE:?}: {lags:?}");
            }
            tokio::time::sleep(LAG_POLL).await;
        }
    }
}

async fn bench_requests<F, Fut>(n: usize, mut op: F) -> anyhow::Result<Measured>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut latencies = Vec::with_capacity(n);
    let started = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        op(i).await?;
        latencies.push(t.elapsed());
    }
    Ok(Measured::new(started.elapsed(), latencies))
}

// ------------------------------------------------------------ the run

struct Results {
    raw_txn: Measured,
    raw_auto: Measured,
    raw_events: Measured,
    raw_conc: Measured,
    append_seq: Measured,
    append_conc: Measured,
    typename: Measured,
    create: Measured,
    place: Measured,
    create_no_proj: Measured,
    startup_lag: Lag,
    create_lag: Lag,
    place_lag: Lag,
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
    create_raw_table(&db).await?;
    create_raw_events_table(&db).await?;

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
    let server = Server::start(url, true).await?;
    let outcome = http_phases(args, &server, since).await;
    server.stop().await;
    let (typename, create, place, startup_lag, create_lag, place_lag) = outcome?;

    // Context for 4b: the same createOrder run against a server whose
    // projection workers are not started (nothing else writes meanwhile).
    let m = args.http_n;
    progress(format!(
        "4d. createOrder x {m}, projection workers not started"
    ));
    let server = Server::start(url, false).await?;
    let outcome = create_orders(&server, m).await;
    server.stop().await;
    let create_no_proj = outcome?;

    Ok(Results {
        raw_txn,
        raw_auto,
        raw_events,
        raw_conc,
        append_seq,
        append_conc,
        typename,
        create,
        place,
        create_no_proj,
        startup_lag,
        create_lag,
        place_lag,
        backlog_events,
    })
}

/// A warm-up and then `m` measured createOrder requests.
async fn create_orders(server: &Server, m: usize) -> anyhow::Result<Measured> {
    for i in 0..(m / 20).clamp(5, 50) {
        server.create_order(i).await?;
    }
    bench_requests(m, |i| async move { server.create_order(i).await.map(drop) }).await
}

type HttpOutcome = (Measured, Measured, Measured, Lag, Lag, Lag);

async fn http_phases(args: &Args, server: &Server, since: Instant) -> anyhow::Result<HttpOutcome> {
    let m = args.http_n;
    let warm = (m / 20).clamp(5, 50);
    let startup_lag = server.wait_for_lag_zero(since).await?;

    // Warm-up of every request kind, then let the read side settle.
    for _ in 0..warm {
        server.gql(TYPENAME, json!({})).await?;
    }
    let mut warm_ids = Vec::with_capacity(warm);
    for i in 0..warm {
        warm_ids.push(server.create_order(i).await?);
    }
    for id in &warm_ids {
        server.place_order(id).await?;
    }
    server.wait_for_lag_zero(Instant::now()).await?;

    progress(format!("4a. {{ __typename }} x {m}"));
    let typename = bench_requests(m, |_| async {
        let data = server.gql(TYPENAME, json!({})).await?;
        anyhow::ensure!(data["__typename"].is_string(), "unexpected {data}");
        Ok(())
    })
    .await?;

    progress(format!("4b. createOrder x {m}"));
    let mut ids = Vec::with_capacity(m);
    let create = {
        let mut latencies = Vec::with_capacity(m);
        let started = Instant::now();
        for i in 0..m {
            let t = Instant::now();
            ids.push(server.create_order(i).await?);
            latencies.push(t.elapsed());
        }
        Measured::new(started.elapsed(), latencies)
    };
    progress("5b. lag after the last createOrder");
    let create_lag = server.wait_for_lag_zero(Instant::now()).await?;

    progress(format!("4c. placeOrder x {m}"));
    let place = bench_requests(m, |i| server.place_order(&ids[i])).await?;
    progress("5c. lag after the last placeOrder");
    let place_lag = server.wait_for_lag_zero(Instant::now()).await?;

    Ok((typename, create, place, startup_lag, create_lag, place_lag))
}

fn report(args: &Args, r: &Results) -> String {
    let mut out = String::new();
    let ratio = |a: &Measured, b: &Measured| a.per_sec() / b.per_sec();
    let _ = writeln!(
        out,
        "\n### {} — N = {} (store), {} (HTTP), {} concurrent tasks\n",
        args.backend.name(),
        args.n,
        args.http_n,
        CONCURRENT_TASKS
    );
    let _ = writeln!(
        out,
        "| # | measurement | ratio | vs | ops/s | p50 ms | p99 ms |"
    );
    let _ = writeln!(out, "|---|---|---:|---|---:|---:|---:|");
    let rows: [(&str, &str, &Measured, f64, &str); 10] = [
        (
            "1",
            "raw INSERT, own BEGIN/COMMIT (baseline)",
            &r.raw_txn,
            1.0,
            "—",
        ),
        (
            "1b",
            "raw INSERT, autocommit",
            &r.raw_auto,
            ratio(&r.raw_auto, &r.raw_txn),
            "1",
        ),
        (
            "1c",
            "raw INSERT into a copy of `events` (all columns + indexes), own BEGIN/COMMIT",
            &r.raw_events,
            ratio(&r.raw_events, &r.raw_txn),
            "1",
        ),
        (
            "2",
            "EventStore::append, sequential",
            &r.append_seq,
            ratio(&r.append_seq, &r.raw_txn),
            "1",
        ),
        (
            "3",
            "EventStore::append, 8 tasks",
            &r.append_conc,
            ratio(&r.append_conc, &r.append_seq),
            "2",
        ),
        (
            "3b",
            "raw INSERT, own BEGIN/COMMIT, 8 tasks",
            &r.raw_conc,
            ratio(&r.raw_conc, &r.raw_txn),
            "1",
        ),
        (
            "4a",
            "HTTP `{ __typename }` (baseline)",
            &r.typename,
            1.0,
            "—",
        ),
        (
            "4b",
            "HTTP createOrder",
            &r.create,
            ratio(&r.create, &r.typename),
            "4a",
        ),
        (
            "4c",
            "HTTP placeOrder",
            &r.place,
            ratio(&r.place, &r.typename),
            "4a",
        ),
        (
            "4d",
            "HTTP createOrder, projection workers not started",
            &r.create_no_proj,
            ratio(&r.create_no_proj, &r.typename),
            "4a",
        ),
    ];
    for (id, what, m, ratio, vs) in rows {
        let _ = writeln!(
            out,
            "| {id} | {what} | {ratio:.3} | {vs} | {:.0} | {} | {} |",
            m.per_sec(),
            ms(m.percentile(50.0)),
            ms(m.percentile(99.0)),
        );
    }
    let _ = writeln!(
        out,
        "\nDerived: append(2) / raw events-copy INSERT(1c) = {:.3}; createOrder / append(2) = {:.3}; createOrder with / without projections (4b/4d) = {:.3}; \
         placeOrder / createOrder = {:.3}; \
         append(2) / raw autocommit(1b) = {:.3}; append 8 tasks(3) / raw 8 tasks(3b) = {:.3}\n",
        ratio(&r.append_seq, &r.raw_events),
        ratio(&r.create, &r.append_seq),
        ratio(&r.create, &r.create_no_proj),
        ratio(&r.place, &r.create),
        ratio(&r.append_seq, &r.raw_auto),
        ratio(&r.append_conc, &r.raw_conc),
    );
    let _ = writeln!(
        out,
        "| # | read side: all lags 0 after … | events | max lag at 1st poll | time to lag 0 ms | \
         drain events/s (lag ÷ time) | sustained events/s (events ÷ (phase + time)) | polls | ms per poll |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    let lags = [
        (
            "5a",
            "server start (backlog of phases 2–3)",
            r.backlog_events as usize,
            Duration::ZERO,
            &r.startup_lag,
        ),
        (
            "5b",
            "last createOrder response",
            r.create.ops,
            r.create.elapsed,
            &r.create_lag,
        ),
        (
            "5c",
            "last placeOrder response",
            r.place.ops,
            r.place.elapsed,
            &r.place_lag,
        ),
    ];
    for (id, what, events, phase, lag) in lags {
        let sustained = events as f64 / (phase + lag.catch_up).as_secs_f64();
        let _ = writeln!(
            out,
            "| {id} | {what} | {events} | {} | {} | {} | {sustained:.0} | {} | {} |",
            lag.backlog,
            ms(lag.catch_up),
            lag.events_per_sec()
                .map_or("— (0 at 1st poll)".to_owned(), |r| format!("{r:.0}")),
            lag.polls,
            ms(lag.poll_mean),
        );
    }
    out
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = parse_args()?;
    let db = BenchDb::create(args.backend).await?;
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
    db.cleanup().await;
    let results = outcome?;
    print!("{}", report(&args, &results));
    Ok(())
}
