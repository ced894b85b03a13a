//! Phases 2 and 3: `EventStore::append`, sequential and concurrent.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use chronicle::domain::DomainEvent;
use chronicle::domain::order::{OrderCreated, OrderEvent, OrderLine};
use chronicle::store::{AppendOutcome, EventMetadata, EventStore, ExpectedVersion, NewEvent};
use serde_json::Value;

use crate::figures::{Measured, sequentially};

/// A real `OrderCreated` (so the projections can apply the backlog later).
pub fn order_created(i: usize) -> NewEvent {
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

/// Phase 2: appends to fresh streams, one after another.
pub async fn bench_append_seq(
    store: &EventStore,
    first: usize,
    n: usize,
) -> anyhow::Result<Measured> {
    sequentially(first, n, async |i| append_one(store, i).await).await
}

/// Runs `op(i)` for n distinct i from `tasks` concurrent tasks, all released
/// at once; wall time and per-operation latencies.
pub async fn concurrently<F, Fut>(
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

/// Phase 3: appends to fresh streams from `tasks` concurrent tasks.
pub async fn bench_append_concurrent(
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
