//! The accept loop: HTTP/1.1 over hyper with a header read timeout (which
//! hyper re-arms while a keep-alive connection idles), a cap on open
//! connections (so idle sockets cannot use up file descriptors: when full,
//! the oldest connection that has not sent a request yet is closed to make
//! room, or the new one is closed at once), and a shutdown bounded in time.

use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::{AbortHandle, JoinSet};
use tower::ServiceExt;

use super::Edge;

/// Serves `router` on `listener` until `shutdown` resolves, then: stops
/// accepting, closes WebSockets (1001), lets in-flight requests finish, and
/// drops whatever is left when `shutdown_grace` has passed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    edge: Arc<Edge>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let config = edge.config.clone();
    let cap = connection_cap(config.max_connections);
    let slots = Arc::new(Semaphore::new(cap));
    // Open connections in accept order, with whether each has sent a request.
    let mut tracked: VecDeque<(Arc<AtomicBool>, AbortHandle)> = VecDeque::new();
    let (closing_tx, closing_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let slot = match slots.clone().try_acquire_owned() {
                    Ok(slot) => slot,
                    Err(_) => {
                        // Full: the oldest connection that has not sent a
                        // request yet makes room, so silent connections
                        // cannot lock clients out until they time out.
                        let Some(victim) = oldest_silent(&mut tracked) else {
                            tracing::debug!(%peer, "connection cap reached: closing the new connection");
                            drop(stream);
                            continue;
                        };
                        victim.abort();
                        match tokio::time::timeout(
                            Duration::from_millis(500),
                            slots.clone().acquire_owned(),
                        )
                        .await
                        {
                            Ok(Ok(slot)) => slot,
                            _ => {
                                drop(stream);
                                continue;
                            }
                        }
                    }
                };
                let router = router.clone();
                let closing = closing_rx.clone();
                let header_timeout = config.header_read_timeout;
                let started = Arc::new(AtomicBool::new(false));
                let seen = started.clone();
                let handle = connections.spawn(async move {
                    connection(stream, peer, router, header_timeout, closing, seen).await;
                    drop(slot);
                });
                if tracked.len() >= 2 * cap {
                    tracked.retain(|(_, h)| !h.is_finished());
                }
                tracked.push_back((started, handle));
            }
        }
    }
    drop(listener);
    tracing::info!("shutting down: no new connections; finishing requests in flight");
    edge.begin_shutdown();
    closing_tx.send_replace(true);
    let deadline = tokio::time::Instant::now() + config.shutdown_grace;
    loop {
        if connections.is_empty() && edge.open_sockets() == 0 {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {
                tracing::warn!(
                    connections = connections.len(),
                    websockets = edge.open_sockets(),
                    "shutdown deadline passed: dropping what is left"
                );
                connections.abort_all();
                break;
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            // WebSockets live outside the set (hyper hands them over); look
            // again shortly.
            _ = tokio::time::sleep(Duration::from_millis(10)), if connections.is_empty() => {}
        }
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    header_timeout: Duration,
    mut closing: watch::Receiver<bool>,
    started: Arc<AtomicBool>,
) {
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        started.store(true, Ordering::Relaxed);
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    let conn = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        }
        _ = async { let _ = closing.wait_for(|c| *c).await; } => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// The oldest live connection that has not sent a request, taken out of
/// `tracked` (finished ones are dropped on the way).
fn oldest_silent(tracked: &mut VecDeque<(Arc<AtomicBool>, AbortHandle)>) -> Option<AbortHandle> {
    tracked.retain(|(_, h)| !h.is_finished());
    let at = tracked
        .iter()
        .position(|(started, _)| !started.load(Ordering::Relaxed))?;
    tracked.remove(at).map(|(_, h)| h)
}

/// The configured connection cap, lowered to leave file descriptors for the
/// database pool, logs and the listener when the process limit is lower.
fn connection_cap(configured: usize) -> usize {
    const RESERVED: usize = 64;
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits
                .lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|n| n.parse::<usize>().ok())
        });
    match soft {
        Some(soft) if soft.saturating_sub(RESERVED) < configured => {
            let cap = soft.saturating_sub(RESERVED).max(1);
            tracing::warn!(
                configured,
                cap,
                open_files_limit = soft,
                "the open-files limit is below the connection cap: lowering the cap"
            );
            cap
        }
        _ => configured.max(1),
    }
}
