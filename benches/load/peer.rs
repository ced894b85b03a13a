//! The cqrs-es + postgres-es peer (peers/cqrs-es), run as a child process.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

/// The command that builds the peer.
pub const BUILD_HINT: &str = "cargo build --release --manifest-path peers/cqrs-es/Cargo.toml";

/// The JSON line the peer prints.
#[derive(Debug, Clone, Deserialize)]
pub struct PeerResult {
    /// Successful commands.
    pub commands: u64,
    /// Failed commands.
    pub errors: u64,
    /// Commands per second.
    pub commands_per_sec: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
}

/// Runs `bin --database-url URL --commands N --concurrency C` (5 minute
/// deadline); its last stdout line, parsed.
pub async fn run(
    bin: &Path,
    url: &str,
    commands: u64,
    concurrency: usize,
) -> anyhow::Result<PeerResult> {
    let out = tokio::time::timeout(
        Duration::from_secs(300),
        tokio::process::Command::new(bin)
            .args(["--database-url", url])
            .args(["--commands", &commands.to_string()])
            .args(["--concurrency", &concurrency.to_string()])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .context("the cqrs-es peer took more than 5 minutes")??;
    if !out.status.success() {
        bail!(
            "the cqrs-es peer failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .context("no JSON line from the peer")?;
    Ok(serde_json::from_str(line)?)
}
