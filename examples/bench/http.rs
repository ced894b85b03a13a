//! Phases 4 and 5: the real server over HTTP, and the read side's lag.

use std::time::{Duration, Instant};

use anyhow::{bail, ensure};
use chronicle_testkit::{Op, Server, TYPENAME};
use serde_json::json;

use crate::args::Args;
use crate::figures::{Lag, Measured, progress, sequentially};

const LAG_POLL: Duration = Duration::from_millis(10);
const LAG_DEADLINE: Duration = Duration::from_secs(60);

/// The server over the benchmark's database, its projection workers started
/// or not.
pub async fn start(url: &str, start_projections: bool) -> anyhow::Result<Server> {
    Server::start(url, |config| config.start_projections = start_projections).await
}

/// Stops the server, reporting (not failing on) an unclean end.
pub async fn stop(server: Server) {
    if let Err(e) = server.stop().await {
        progress(format!("{e:#}"));
    }
}

/// createOrder with one item for customer `bench-c-<i mod 100>`; the id.
async fn create_order(server: &Server, i: usize) -> anyhow::Result<String> {
    let input = json!({"customerId": format!("bench-c-{}", i % 100), "items": [
        {"sku": "A", "name": "Apple", "unitPrice": "10.00", "quantity": 1}
    ]});
    Ok(server.command(Op::Create, input).await?.aggregate_id)
}

async fn place_order(server: &Server, id: &str) -> anyhow::Result<()> {
    let placed = server.command(Op::Place, json!({ "orderId": id })).await?;
    ensure!(
        placed.version == 2,
        "unexpected placeOrder result {placed:?}"
    );
    Ok(())
}

/// Polls `projections` every 10 ms until every lag is 0 (60 s deadline);
/// times it from `since`.
async fn wait_for_lag_zero(server: &Server, since: Instant) -> anyhow::Result<Lag> {
    let deadline = since + LAG_DEADLINE;
    let mut backlog = None;
    let mut polls = 0;
    let mut polling = Duration::ZERO;
    loop {
        let t = Instant::now();
        let lags = server.projection_lags().await?;
        polling += t.elapsed();
        polls += 1;
        let max = lags.iter().map(|p| p.lag).max().unwrap_or(0);
        backlog.get_or_insert(max);
        if max == 0 {
            return Ok(Lag {
                backlog: backlog.unwrap_or(0),
                catch_up: since.elapsed(),
                polls,
                poll_mean: polling / u32::try_from(polls).unwrap_or(u32::MAX),
            });
        }
        if Instant::now() >= deadline {
            bail!("projections still lagging after {LAG_DEADLINE:?}: {lags:?}");
        }
        tokio::time::sleep(LAG_POLL).await;
    }
}

/// A warm-up and then `m` measured createOrder requests.
pub async fn create_orders(server: &Server, m: usize) -> anyhow::Result<Measured> {
    for i in 0..(m / 20).clamp(5, 50) {
        create_order(server, i).await?;
    }
    sequentially(0, m, async |i| create_order(server, i).await.map(drop)).await
}

/// What phases 4a–4c and 5a–5c measured.
pub struct HttpOutcome {
    pub typename: Measured,
    pub create: Measured,
    pub place: Measured,
    pub startup_lag: Lag,
    pub create_lag: Lag,
    pub place_lag: Lag,
}

/// Phases 5a, 4a, 4b, 5b, 4c, 5c on a server started at `since`.
pub async fn phases(args: &Args, server: &Server, since: Instant) -> anyhow::Result<HttpOutcome> {
    let m = args.http_n;
    let warm = (m / 20).clamp(5, 50);
    let startup_lag = wait_for_lag_zero(server, since).await?;

    // Warm-up of every request kind, then let the read side settle.
    for _ in 0..warm {
        server.data(TYPENAME, json!({})).await?;
    }
    let mut warm_ids = Vec::with_capacity(warm);
    for i in 0..warm {
        warm_ids.push(create_order(server, i).await?);
    }
    for id in &warm_ids {
        place_order(server, id).await?;
    }
    wait_for_lag_zero(server, Instant::now()).await?;

    progress(format!("4a. {{ __typename }} x {m}"));
    let typename = sequentially(0, m, async |_| {
        let data = server.data(TYPENAME, json!({})).await?;
        ensure!(data["__typename"].is_string(), "unexpected {data}");
        Ok(())
    })
    .await?;

    progress(format!("4b. createOrder x {m}"));
    let mut ids = Vec::with_capacity(m);
    let create = sequentially(0, m, async |i| {
        ids.push(create_order(server, i).await?);
        Ok(())
    })
    .await?;
    progress("5b. lag after the last createOrder");
    let create_lag = wait_for_lag_zero(server, Instant::now()).await?;

    progress(format!("4c. placeOrder x {m}"));
    let place = sequentially(0, m, async |i| place_order(server, &ids[i]).await).await?;
    progress("5c. lag after the last placeOrder");
    let place_lag = wait_for_lag_zero(server, Instant::now()).await?;

    Ok(HttpOutcome {
        typename,
        create,
        place,
        startup_lag,
        create_lag,
        place_lag,
    })
}
