//! The real binary as a child process: `chronicle serve` on 127.0.0.1:0,
//! its address read from its log, SIGKILLed when dropped. For what only
//! separate processes show: several instances on one database, a crash
//! (SIGKILL) mid-write, a load balancer in front.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::ops::Deref;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::server::Endpoint;

/// How long a process has to report its address and answer /readyz.
const START_DEADLINE: Duration = Duration::from_secs(60);
/// Log lines kept per process for a failing test's message.
const KEPT_LINES: usize = 200;

/// A running `chronicle serve`, with a client for it. Dropping it kills the
/// process.
pub struct ServerProcess {
    endpoint: Endpoint,
    child: Child,
    /// Its process id.
    pub pid: u32,
    /// A name for messages (`A`, `B`, ...).
    pub name: String,
    log: Arc<Mutex<Log>>,
}

#[derive(Default)]
struct Log {
    tail: VecDeque<String>,
    panics: usize,
}

impl Deref for ServerProcess {
    type Target = Endpoint;

    fn deref(&self) -> &Endpoint {
        &self.endpoint
    }
}

/// A log line without its colour codes.
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The address in the server's `chronicle listening addr=…` log line.
pub fn listening_addr(line: &str) -> Option<SocketAddr> {
    if !line.contains("chronicle listening") {
        return None;
    }
    line.split_whitespace()
        .find_map(|w| w.strip_prefix("addr="))
        .and_then(|a| a.parse().ok())
}

impl ServerProcess {
    /// Starts `<binary> serve --addr 127.0.0.1:0 --database-url <url>
    /// <args>` with `envs` (an open server: no JWT secret); returns once
    /// /readyz answers 200. `binary` is the test's
    /// `env!("CARGO_BIN_EXE_chronicle")`.
    pub async fn start(
        name: &str,
        binary: &str,
        database_url: &str,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> anyhow::Result<ServerProcess> {
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .args(["--addr", "127.0.0.1:0", "--database-url", database_url])
            .args(args)
            .env("RUST_LOG", "warn,chronicle::app=info")
            .env("NO_COLOR", "1")
            .env_remove("CHRONICLE_JWT_SECRET")
            .env_remove("DATABASE_URL")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {binary}"))?;
        let pid = child.id().context("the server has no pid")?;
        let stderr = child.stderr.take().context("server stderr")?;
        let log = Arc::new(Mutex::new(Log::default()));
        let (addr_tx, addr_rx) = tokio::sync::oneshot::channel::<SocketAddr>();
        {
            let log = log.clone();
            let name = name.to_owned();
            tokio::spawn(async move {
                let mut addr_tx = Some(addr_tx);
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let line = strip_ansi(&line);
                    if let Some(tx) = addr_tx.take_if(|_| line.contains("chronicle listening"))
                        && let Some(addr) = listening_addr(&line)
                    {
                        let _ = tx.send(addr);
                    }
                    eprintln!("[{name} {pid}] {line}");
                    let mut log = log.lock().expect("log lock");
                    if line.contains("panicked") {
                        log.panics += 1;
                    }
                    if log.tail.len() == KEPT_LINES {
                        log.tail.pop_front();
                    }
                    log.tail.push_back(line);
                }
            });
        }
        let addr = tokio::time::timeout(START_DEADLINE, addr_rx)
            .await
            .context("the server did not report its address in time")?
            .context("the server exited before listening (see its log above)")?;
        let server = ServerProcess {
            endpoint: Endpoint::at(addr),
            child,
            pid,
            name: name.to_owned(),
            log,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_DEADLINE;
        let url = self.url("/readyz");
        loop {
            if let Ok(r) = self.client.get(&url).send().await
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

    /// Lines containing `panicked` the process logged so far.
    pub fn panics(&self) -> usize {
        self.log.lock().expect("log lock").panics
    }

    /// The last lines it logged (at most 200), for a failure message.
    pub fn log_tail(&self) -> String {
        let log = self.log.lock().expect("log lock");
        log.tail.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// SIGKILL: the process dies mid-whatever, without its shutdown.
    pub async fn kill9(mut self) -> anyhow::Result<ExitStatus> {
        self.child.start_kill().context("SIGKILL")?;
        tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .context("the process did not die within 10 s of SIGKILL")?
            .context("wait")
    }

    /// SIGTERM, then waits (15 s) for a clean exit.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .context("kill -TERM")?;
        if !sent.success() {
            bail!("kill -TERM {} failed", self.pid);
        }
        let status = tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .context("the process did not exit within 15 s of SIGTERM")?
            .context("wait")?;
        if !status.success() {
            bail!(
                "{} exited with {status}; its log ends:\n{}",
                self.name,
                self.log_tail()
            );
        }
        Ok(())
    }
}
