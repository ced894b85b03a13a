//! A fixed number of clients looping for a fixed time; latencies and
//! errors.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

/// What one load phase measured.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Successful operations in the measured window.
    pub ok: u64,
    /// Failed operations in the measured window (HTTP errors, GraphQL
    /// errors, timeouts).
    pub errors: u64,
    /// From the end of the warm-up until the last measured operation ended.
    pub elapsed: Duration,
    /// Sorted latencies of the successful operations, in microseconds.
    latencies: Vec<u32>,
    /// The first error seen, if any.
    pub first_error: Option<String>,
}

impl Stats {
    /// A figure from a count, a wall time and latencies.
    pub fn from_parts(ok: u64, elapsed: Duration, mut latencies: Vec<u32>) -> Stats {
        latencies.sort_unstable();
        Stats {
            ok,
            errors: 0,
            elapsed,
            latencies,
            first_error: None,
        }
    }

    /// Successful operations per second.
    pub fn per_sec(&self) -> f64 {
        if self.elapsed.is_zero() {
            return 0.0;
        }
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    /// The q-th percentile latency (0–100) in milliseconds.
    pub fn pct_ms(&self, q: f64) -> f64 {
        percentile_ms(&self.latencies, q)
    }
}

/// The q-th percentile (nearest rank) of sorted microseconds, in ms.
pub fn percentile_ms(sorted_us: &[u32], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let rank = ((q / 100.0) * sorted_us.len() as f64).ceil() as usize;
    f64::from(sorted_us[rank.clamp(1, sorted_us.len()) - 1]) / 1000.0
}

/// Microseconds of a duration, saturated.
pub fn us(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// Runs `op(client, n)` from `clients` concurrent tasks, each in a loop:
/// first for `warmup` (not counted), then for `measure`. An operation
/// that returns `Ok(false)` had nothing to do: that client stops.
pub async fn run_load<F, Fut>(clients: usize, warmup: Duration, measure: Duration, op: F) -> Stats
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<bool>> + Send + 'static,
{
    let op = Arc::new(op);
    let barrier = Arc::new(tokio::sync::Barrier::new(clients + 1));
    let mut handles = Vec::with_capacity(clients);
    for client in 0..clients {
        let op = op.clone();
        let barrier = barrier.clone();
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            let start = Instant::now();
            let (warm_end, end) = (start + warmup, start + warmup + measure);
            let mut out = Stats::default();
            let mut last_end = warm_end;
            let mut n = 0u64;
            loop {
                let t = Instant::now();
                if t >= end {
                    break;
                }
                let counted = t >= warm_end;
                let r = op(client, n).await;
                n += 1;
                let done = Instant::now();
                match r {
                    Ok(false) => break,
                    Ok(true) if counted => {
                        out.ok += 1;
                        out.latencies.push(us(done - t));
                        last_end = last_end.max(done);
                    }
                    Err(e) if counted => {
                        out.errors += 1;
                        last_end = last_end.max(done);
                        out.first_error.get_or_insert_with(|| format!("{e:#}"));
                    }
                    Err(_) => {
                        // A failure in the warm-up: do not spin.
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    Ok(true) => {}
                }
            }
            (out, last_end.saturating_duration_since(warm_end))
        }));
    }
    barrier.wait().await;
    let mut all = Stats::default();
    for h in handles {
        match h.await.context("a load client panicked") {
            Ok((s, elapsed)) => {
                all.ok += s.ok;
                all.errors += s.errors;
                all.latencies.extend(s.latencies);
                all.elapsed = all.elapsed.max(elapsed);
                if all.first_error.is_none() {
                    all.first_error = s.first_error;
                }
            }
            Err(e) => {
                all.errors += 1;
                all.first_error.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    all.latencies.sort_unstable();
    all
}
