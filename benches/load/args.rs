//! The command line of `cargo bench --bench load -- …`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// The default PostgreSQL admin database when BENCH_DATABASE_URL is unset.
pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Which databases to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database `chronicle_load_<uuid>` next to BENCH_DATABASE_URL.
    #[value(alias = "postgresql", alias = "pg")]
    Postgres,
    /// SQLite, then PostgreSQL.
    Both,
}

/// The real `chronicle serve` under load, every scenario beside a baseline
/// measured in the same run. Markdown on stdout, progress on stderr.
#[derive(Debug, Clone, Parser)]
#[command(name = "load")]
pub struct Args {
    /// The database(s).
    #[arg(long, value_enum, default_value = "both")]
    pub backend: BackendArg,
    /// Small counts and short phases: the whole run in under 2 minutes.
    #[arg(long)]
    pub quick: bool,
    /// Rewrite BENCHMARKS.md with this run's tables and machine (the full
    /// run, without --quick, is the one meant for it).
    #[arg(long)]
    pub write: bool,
    /// Seconds each measured load phase runs (default 5; quick 0.8).
    #[arg(long)]
    pub secs: Option<f64>,
    /// Seconds of uncounted warm-up before each phase (default 1; quick 0.2).
    #[arg(long)]
    pub warmup_secs: Option<f64>,
    /// Client counts of the command scenario.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1, 8, 32, 64])]
    pub clients: Vec<usize>,
    /// Clients of the read scenario.
    #[arg(long, default_value_t = 32)]
    pub read_clients: usize,
    /// Subscribers of the delivery scenario (100 per WebSocket).
    #[arg(long, default_value_t = 1_000)]
    pub subscribers: usize,
    /// Commands per second of the delivery scenario's second phase, a
    /// fixed rate below capacity (0: skip that phase).
    #[arg(long, default_value_t = 200.0)]
    pub delivery_rate: f64,
    /// Idle subscriptions of the memory scenario (100 per WebSocket).
    #[arg(long, default_value_t = 10_000)]
    pub idle_subscriptions: usize,
    /// Events in the small store of the history scenario.
    #[arg(long, default_value_t = 1_000)]
    pub small_events: u64,
    /// Events in the large store of the history scenario (default
    /// 1,000,000; quick 100,000).
    #[arg(long)]
    pub large_events: Option<u64>,
    /// Events replayed by the rebuild scenario (default 50,000; quick 10,000).
    #[arg(long)]
    pub rebuild_events: Option<u64>,
    /// Commands per cqrs-es peer run (default 2,000; quick 300).
    #[arg(long)]
    pub peer_commands: Option<u64>,
    /// The cqrs-es peer binary (relative paths are from the crate root).
    #[arg(long, default_value = "peers/cqrs-es/target/release/cqrs-es-peer")]
    pub cqrs_es_bin: PathBuf,
    /// Overall deadline per backend, in seconds (default 1800; quick 150).
    #[arg(long)]
    pub deadline_secs: Option<u64>,
    /// Where --write writes (relative to the crate root).
    #[arg(long, default_value = "BENCHMARKS.md")]
    pub out: PathBuf,
    /// Run only these scenarios (numbers 1–7, comma-separated; 2 also runs
    /// 1, whose orders it reads; 5 and 6 share their store). Not with
    /// --write.
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u8).range(1..=7))]
    pub only: Vec<u8>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long = "bench", hide = true)]
    pub cargo_bench: bool,
}

impl Args {
    /// Whether scenario `n` runs.
    pub fn wants(&self, n: u8) -> bool {
        self.only.is_empty() || self.only.contains(&n)
    }
    /// Seconds of one measured phase.
    pub fn measure(&self) -> Duration {
        Duration::from_secs_f64(self.secs.unwrap_or(if self.quick { 0.8 } else { 5.0 }))
    }
    /// Seconds of warm-up before one phase.
    pub fn warmup(&self) -> Duration {
        Duration::from_secs_f64(
            self.warmup_secs
                .unwrap_or(if self.quick { 0.2 } else { 1.0 }),
        )
    }
    /// Events of the large store.
    pub fn large_events(&self) -> u64 {
        self.large_events
            .unwrap_or(if self.quick { 100_000 } else { 1_000_000 })
    }
    /// Events the rebuild replays.
    pub fn rebuild_events(&self) -> u64 {
        self.rebuild_events
            .unwrap_or(if self.quick { 10_000 } else { 50_000 })
    }
    /// Commands per peer run.
    pub fn peer_commands(&self) -> u64 {
        self.peer_commands
            .unwrap_or(if self.quick { 300 } else { 2_000 })
    }
    /// The per-backend deadline.
    pub fn deadline(&self) -> Duration {
        Duration::from_secs(
            self.deadline_secs
                .unwrap_or(if self.quick { 150 } else { 1_800 }),
        )
    }
    /// A path relative to the crate root (absolute paths unchanged).
    pub fn in_crate(path: &std::path::Path) -> PathBuf {
        if path.is_absolute() {
            path.to_owned()
        } else {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
        }
    }
}
