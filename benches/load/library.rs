//! Chronicle's command layer called in the bench process, the way the
//! cqrs-es peer calls its framework: `commands::execute` of a CreateOrder
//! on a fresh order id, from C concurrent tasks, over an `EventStore` on a
//! database of its own (no server, no HTTP, no projection workers), so
//! that the two libraries are compared on the same footing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use chronicle::commands::{self, CommandContext};
use chronicle::db::Db;
use chronicle::domain::order::{OrderAggregate, OrderCommand, OrderId, OrderLine};
use chronicle::store::{EventStore, Upcasters};
use rust_decimal::Decimal;

use crate::stats::{Stats, us};

/// Runs `commands` CreateOrder commands (after an uncounted warm-up of
/// `concurrency × 5`) from `concurrency` tasks against the database at
/// `url` (migrated here); their throughput and latencies.
pub async fn run(url: &str, commands: u64, concurrency: usize) -> anyhow::Result<Stats> {
    let db = Db::connect(url).await?;
    chronicle::migrate(&db).await?;
    let store = EventStore::open(db, Upcasters::new().with::<OrderAggregate>()).await?;
    let warmup = concurrency as u64 * 5;
    batch(&store, warmup, concurrency).await;
    let started = Instant::now();
    let (ok, errors, latencies) = batch(&store, commands, concurrency).await;
    let mut stats = Stats::from_parts(ok, started.elapsed(), latencies);
    stats.errors = errors;
    Ok(stats)
}

/// `n` commands from `concurrency` tasks: (ok, errors, latencies in µs).
async fn batch(store: &EventStore, n: u64, concurrency: usize) -> (u64, u64, Vec<u32>) {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (store, next) = (store.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut errors, mut latencies) = (0, 0, Vec::new());
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return (ok, errors, latencies);
                }
                let id = OrderId::from_uuid(uuid::Uuid::new_v4());
                let command = OrderCommand::CreateOrder {
                    customer_id: format!("load-c-{}", i % 100),
                    items: vec![OrderLine {
                        sku: "A".into(),
                        name: "Apple".into(),
                        unit_price: Decimal::new(1000, 2),
                        quantity: 1,
                    }],
                };
                let started = Instant::now();
                let outcome = commands::execute::<OrderAggregate>(
                    &store,
                    &id,
                    &command,
                    &CommandContext::default(),
                )
                .await;
                match outcome {
                    Ok(_) => {
                        ok += 1;
                        latencies.push(us(started.elapsed()));
                    }
                    Err(_) => errors += 1,
                }
            }
        }));
    }
    let (mut ok, mut errors, mut latencies) = (0, 0, Vec::new());
    for task in tasks {
        if let Ok((o, e, l)) = task.await {
            ok += o;
            errors += e;
            latencies.extend(l);
        }
    }
    (ok, errors, latencies)
}
