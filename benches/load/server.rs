//! The real release server as a child process: `chronicle serve` on
//! 127.0.0.1:0, its address read from its log, killed when dropped.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use chronicle_testkit::{listening_addr, strip_ansi};

use crate::progress;

/// How long the server has to report its address and answer /readyz.
const START_DEADLINE: Duration = Duration::from_secs(60);
/// Server log lines echoed to stderr per process (the rest are counted).
const ECHO_LINES: u64 = 40;

/// The flags every benchmark server gets: the limits the scenarios need
/// raised (all sockets come from one loopback address, which an open
/// server treats as one principal).
pub const SERVER_FLAGS: &[&str] = &[
    "--max-sockets-per-principal",
    "512",
    "--max-connections",
    "4096",
    "--max-subscriptions-per-connection",
    "100",
];

/// A running `chronicle serve`. Dropping it kills the process.
pub struct ServerProc {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its process id.
    pub pid: u32,
    /// WARN and ERROR lines it logged so far.
    pub warnings: Arc<AtomicU64>,
    /// The first WARN/ERROR line.
    pub first_warning: Arc<std::sync::Mutex<Option<String>>>,
    /// The latest WARN/ERROR line.
    pub last_warning: Arc<std::sync::Mutex<Option<String>>>,
}

/// The binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_chronicle")
}

impl ServerProc {
    /// Starts `chronicle serve --addr 127.0.0.1:0 --database-url <url>` with
    /// [`SERVER_FLAGS`]; returns once /readyz answers 200.
    pub async fn start(database_url: &str) -> anyhow::Result<ServerProc> {
        let mut child = Command::new(binary())
            .arg("serve")
            .args(["--addr", "127.0.0.1:0", "--database-url", database_url])
            .args(SERVER_FLAGS)
            .env("RUST_LOG", "warn,chronicle::app=info")
            .env("NO_COLOR", "1")
            .env_remove("CHRONICLE_JWT_SECRET")
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary()))?;
        let pid = child.id().context("the server has no pid")?;
        let stderr = child.stderr.take().context("server stderr")?;
        let warnings = Arc::new(AtomicU64::new(0));
        let first_warning = Arc::new(std::sync::Mutex::new(None));
        let last_warning = Arc::new(std::sync::Mutex::new(None));
        let (addr_tx, addr_rx) = tokio::sync::oneshot::channel::<SocketAddr>();
        {
            let warnings = warnings.clone();
            let first_warning = first_warning.clone();
            let last_warning = last_warning.clone();
            tokio::spawn(async move {
                let mut addr_tx = Some(addr_tx);
                let mut lines = BufReader::new(stderr).lines();
                let mut echoed = 0u64;
                while let Ok(Some(line)) = lines.next_line().await {
                    let line = strip_ansi(&line);
                    if let Some(tx) = addr_tx.take_if(|_| line.contains("chronicle listening")) {
                        if let Some(addr) = listening_addr(&line) {
                            let _ = tx.send(addr);
                        }
                        continue;
                    }
                    if line.contains(" WARN ") || line.contains(" ERROR ") {
                        warnings.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut f) = first_warning.lock() {
                            f.get_or_insert_with(|| line.clone());
                        }
                        if let Ok(mut l) = last_warning.lock() {
                            *l = Some(line.clone());
                        }
                    }
                    if echoed < ECHO_LINES {
                        echoed += 1;
                        eprintln!("[server {pid}] {line}");
                    }
                }
            });
        }
        let addr = tokio::time::timeout(START_DEADLINE, addr_rx)
            .await
            .context("the server did not report its address in time")?
            .context("the server exited before listening (see its log above)")?;
        let server = ServerProc {
            child,
            addr,
            pid,
            warnings,
            first_warning,
            last_warning,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(5))
            .build()?;
        let deadline = Instant::now() + START_DEADLINE;
        let url = format!("http://{}/readyz", self.addr);
        loop {
            if let Ok(r) = client.get(&url).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!("{url} did not answer 200 within {START_DEADLINE:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// WARN/ERROR lines logged so far.
    pub fn warning_count(&self) -> u64 {
        self.warnings.load(Ordering::Relaxed)
    }

    /// The latest WARN/ERROR line.
    pub fn last_warning(&self) -> String {
        self.last_warning
            .lock()
            .ok()
            .and_then(|l| l.clone())
            .unwrap_or_default()
    }

    /// The resident set size, from /proc/<pid>/status, in bytes.
    pub fn rss_bytes(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let kb = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .context("VmRSS in /proc/<pid>/status")?;
        Ok(kb * 1024)
    }

    /// SIGTERM, then waits (15 s) for a clean exit; kills it otherwise.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        match tokio::time::timeout(Duration::from_secs(15), self.child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => {
                progress(format!("server {} exited with {status}", self.pid));
                Ok(())
            }
            Ok(Err(e)) => Err(e.into()),
            Err(_) => {
                let _ = self.child.start_kill();
                bail!("the server did not stop within 15 s after SIGTERM; killed it")
            }
        }
    }
}
