//! The command line.

use anyhow::bail;
use chronicle_testkit::Backend;
use clap::{Parser, ValueEnum};

/// The default PostgreSQL admin database when BENCH_DATABASE_URL is unset.
pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const MAX_N: usize = 100_000;

/// Which database to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database next to BENCH_DATABASE_URL (default
    /// postgres://postgres@127.0.0.1:5432/test).
    #[value(alias = "postgresql", alias = "pg")]
    Postgres,
}

/// A self-contained benchmark of chronicle's write path, in ratios.
#[derive(Debug, Parser)]
#[command(name = "bench")]
struct Cli {
    /// The database.
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: BackendArg,
    /// Operations in the store phases (80 to 100000).
    #[arg(long, default_value_t = 2000)]
    n: usize,
    /// Requests per HTTP phase (8 to 100000; default N/4).
    #[arg(long)]
    http_n: Option<usize>,
}

/// The parsed and checked options.
#[derive(Debug)]
pub struct Args {
    /// The database.
    pub backend: Backend,
    /// Operations in the store phases.
    pub n: usize,
    /// Requests per HTTP phase.
    pub http_n: usize,
}

impl Args {
    /// Parses the command line (`--help` prints the usage and exits).
    pub fn parse() -> anyhow::Result<Args> {
        let cli = Cli::parse();
        let http_n = cli.http_n.unwrap_or(cli.n / 4);
        if !(80..=MAX_N).contains(&cli.n) || !(8..=MAX_N).contains(&http_n) {
            bail!("--n must be between 80 and {MAX_N}, --http-n between 8 and {MAX_N}");
        }
        let backend = match cli.backend {
            BackendArg::Sqlite => Backend::Sqlite,
            BackendArg::Postgres => Backend::Postgres,
        };
        Ok(Args {
            backend,
            n: cli.n,
            http_n,
        })
    }
}
