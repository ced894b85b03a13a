//! What a phase measured, and how it is printed.

use std::time::{Duration, Instant};

/// One measured phase: wall time and per-operation latencies.
pub struct Measured {
    pub ops: usize,
    pub elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Measured {
    pub fn new(elapsed: Duration, mut latencies: Vec<Duration>) -> Measured {
        latencies.sort_unstable();
        Measured {
            ops: latencies.len(),
            elapsed,
            latencies,
        }
    }

    /// One figure from several rounds: total time, all latencies.
    pub fn merge(parts: Vec<Measured>) -> Measured {
        let elapsed = parts.iter().map(|m| m.elapsed).sum();
        let latencies = parts.into_iter().flat_map(|m| m.latencies).collect();
        Measured::new(elapsed, latencies)
    }

    pub fn per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }
}

/// `a`'s throughput over `b`'s.
pub fn ratio(a: &Measured, b: &Measured) -> f64 {
    a.per_sec() / b.per_sec()
}

/// Runs `op(i)` for each i in `first..first + n`, one after another; wall
/// time and per-operation latencies.
pub async fn sequentially(
    first: usize,
    n: usize,
    mut op: impl AsyncFnMut(usize) -> anyhow::Result<()>,
) -> anyhow::Result<Measured> {
    let mut latencies = Vec::with_capacity(n);
    let started = Instant::now();
    for i in first..first + n {
        let t = Instant::now();
        op(i).await?;
        latencies.push(t.elapsed());
    }
    Ok(Measured::new(started.elapsed(), latencies))
}

/// How long the projections took to report lag 0.
pub struct Lag {
    /// Largest per-projection lag at the first poll.
    pub backlog: i64,
    /// From the reference instant until every projection reported lag 0.
    pub catch_up: Duration,
    pub polls: usize,
    /// Mean latency of one `projections` query (the resolution of `catch_up`).
    pub poll_mean: Duration,
}

impl Lag {
    /// Events per second the slowest projection applied while draining the
    /// lag seen at the first poll (projections run in parallel, each over
    /// every event). Meaningless for a backlog of a handful of events.
    pub fn events_per_sec(&self) -> Option<f64> {
        (self.backlog > 0).then(|| self.backlog as f64 / self.catch_up.as_secs_f64())
    }
}

/// Milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// A progress line on stderr (stdout is the report).
pub fn progress(msg: impl AsRef<str>) {
    eprintln!("[bench] {}", msg.as_ref());
}
