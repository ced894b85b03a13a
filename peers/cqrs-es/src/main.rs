//! The cqrs-es + postgres-es peer of chronicle's load benchmark
//! (`cargo bench --bench load`, PostgreSQL): N CreateOrder commands, each
//! on a new aggregate, from C concurrent tasks through cqrs-es's
//! `CqrsFramework` over `PostgresEventRepository` (its own tables
//! `cqrs_events` / `cqrs_snapshots`, created if missing), then one JSON
//! line on stdout: commands, errors, commands/s, p50 and p99 in ms.
//!
//! ```sh
//! cargo build --release --manifest-path peers/cqrs-es/Cargo.toml
//! peers/cqrs-es/target/release/cqrs-es-peer \
//!     --database-url postgres://postgres@127.0.0.1:5432/DB --commands 2000 --concurrency 8
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, CqrsFramework, DomainEvent};
use postgres_es::PostgresEventRepository;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The command line.
#[derive(Parser)]
struct Args {
    /// postgres://USER@HOST:PORT/DB
    #[arg(long)]
    database_url: String,
    /// Commands to run (after an uncounted warm-up of C × 5).
    #[arg(long, default_value_t = 2_000)]
    commands: u64,
    /// Concurrent tasks.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
}

/// One order line, as chronicle's OrderCreated carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderLine {
    sku: String,
    name: String,
    #[serde(with = "rust_decimal::serde::str")]
    unit_price: Decimal,
    quantity: i32,
}

/// CreateOrder: a customer and lines.
struct CreateOrder {
    customer_id: String,
    items: Vec<OrderLine>,
}

/// The one event (same payload as chronicle's OrderCreated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum OrderEvent {
    #[serde(rename_all = "camelCase")]
    OrderCreated {
        customer_id: String,
        items: Vec<OrderLine>,
        #[serde(with = "rust_decimal::serde::str")]
        total: Decimal,
    },
}

impl DomainEvent for OrderEvent {
    fn event_type(&self) -> String {
        "OrderCreated".into()
    }
    fn event_version(&self) -> String {
        "1".into()
    }
}

/// Why a command was refused.
#[derive(Debug)]
struct OrderError(String);

impl std::fmt::Display for OrderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OrderError {}

/// The order: created or not.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Order {
    created: bool,
    total: Decimal,
}

impl Aggregate for Order {
    const TYPE: &'static str = "Order";
    type Command = CreateOrder;
    type Event = OrderEvent;
    type Error = OrderError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _service: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        if self.created {
            return Err(OrderError("the order already exists".into()));
        }
        if command.items.is_empty() || command.items.iter().any(|l| l.quantity <= 0) {
            return Err(OrderError(
                "an order needs lines with positive quantities".into(),
            ));
        }
        let total = command
            .items
            .iter()
            .map(|l| l.unit_price * Decimal::from(l.quantity))
            .sum();
        sink.write(
            OrderEvent::OrderCreated {
                customer_id: command.customer_id,
                items: command.items,
                total,
            },
            self,
        )
        .await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            OrderEvent::OrderCreated { total, .. } => {
                self.created = true;
                self.total = total;
            }
        }
    }
}

fn command(n: u64) -> CreateOrder {
    CreateOrder {
        customer_id: format!("load-c-{}", n % 100),
        items: vec![OrderLine {
            sku: "A".into(),
            name: "Apple".into(),
            unit_price: Decimal::new(1000, 2),
            quantity: 1,
        }],
    }
}

type Cqrs = CqrsFramework<Order, PersistedEventStore<PostgresEventRepository, Order>>;

fn percentile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

/// Runs `n` commands from `c` tasks; (latencies, errors, wall time).
async fn run(cqrs: &Arc<Cqrs>, n: u64, c: usize, first: u64) -> (Vec<Duration>, u64, Duration) {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..c {
        let (cqrs, next) = (cqrs.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let id = uuid::Uuid::new_v4().to_string();
                let t = Instant::now();
                match cqrs.execute(&id, command(first + i)).await {
                    Ok(()) => lat.push(t.elapsed()),
                    Err(e) => {
                        if errors == 0 {
                            eprintln!("cqrs-es-peer: {e}");
                        }
                        errors += 1;
                    }
                }
            }
            (lat, errors)
        }));
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            lat.extend(l);
            errors += e;
        } else {
            errors += 1;
        }
    }
    (lat, errors, started.elapsed())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let c = args.concurrency.max(1);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(u32::try_from(c).unwrap_or(64).clamp(1, 64))
        .acquire_timeout(Duration::from_secs(30))
        .connect(&args.database_url)
        .await?;
    for ddl in [
        "CREATE TABLE IF NOT EXISTS cqrs_events (aggregate_type text NOT NULL, \
         aggregate_id text NOT NULL, sequence bigint CHECK (sequence >= 0) NOT NULL, \
         event_type text NOT NULL, event_version text NOT NULL, payload json NOT NULL, \
         metadata json NOT NULL, PRIMARY KEY (aggregate_type, aggregate_id, sequence))",
        "CREATE TABLE IF NOT EXISTS cqrs_snapshots (aggregate_type text NOT NULL, \
         aggregate_id text NOT NULL, last_sequence bigint CHECK (last_sequence >= 0) NOT NULL, \
         current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL, payload json NOT NULL, \
         PRIMARY KEY (aggregate_type, aggregate_id, last_sequence))",
    ] {
        sqlx::query(ddl).execute(&pool).await?;
    }
    let repo = PostgresEventRepository::new(pool).with_tables("cqrs_events", "cqrs_snapshots");
    let store = PersistedEventStore::new_event_store(repo);
    let cqrs = Arc::new(CqrsFramework::new(store, vec![], ()));
    let warm = (c as u64 * 5).min(args.commands.max(1));
    run(&cqrs, warm, c, 0).await;
    let (mut lat, errors, elapsed) = run(&cqrs, args.commands, c, warm).await;
    lat.sort_unstable();
    println!(
        "{}",
        serde_json::json!({
            "concurrency": c,
            "commands": lat.len(),
            "errors": errors,
            "commands_per_sec": lat.len() as f64 / elapsed.as_secs_f64(),
            "p50_ms": percentile_ms(&lat, 50.0),
            "p99_ms": percentile_ms(&lat, 99.0),
        })
    );
    Ok(())
}
