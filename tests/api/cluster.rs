//! Several `chronicle serve` processes on one PostgreSQL database (issue
//! 11): what one instance writes, subscribers on another hear of; a leader
//! killed with SIGKILL mid-load is replaced and the read models still equal
//! a rebuild; three instances behind HAProxy (`deploy/haproxy/haproxy.cfg`,
//! run unchanged) serve 1,000 orders. Real processes, real sockets:
//! PostgreSQL only (skipped, and saying so, without TEST_DATABASE_URL).

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chronicle::projections::{EngineConfig, Outcome, ProjectionWorker};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_chronicle");
const HAPROXY_CFG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/haproxy/haproxy.cfg");
const NAMES: [&str; 3] = ["order_details", "customer_order_history", "sales_stats"];

const ORDER_UPDATED: &str = "subscription($id: ID!, $after: Int) { orderUpdated(id: $id, afterVersion: $after) { id status version } }";
const PROJECTION_UPDATED: &str = "subscription { projectionUpdated(projection: \"order_details\") { aggregateId version position } }";
const FEED: &str = "subscription($after: String) { events(afterPosition: $after) { position streamId version eventType } }";
const SALES: &str = "{ salesStats { ordersCreated ordersPlaced ordersPaid revenue } }";
const PROJECTION_POSITIONS: &str = "{ projections { name position head lag } }";

/// Whether TEST_DATABASE_URL is set; says so when it is not.
fn postgres_available() -> bool {
    if postgres_base_url().is_some() {
        return true;
    }
    eprintln!("skipped: TEST_DATABASE_URL is not set, so this PostgreSQL cluster test did not run");
    false
}

/// Starts `chronicle serve` with `--instance-id <name>`.
async fn start(name: &str, db: &TestDb, args: &[&str]) -> ServerProcess {
    let mut all = vec!["--instance-id", name];
    all.extend_from_slice(args);
    ServerProcess::start(name, BIN, &db.url, &all, &[])
        .await
        .unwrap_or_else(|e| panic!("starting instance {name}: {e:#}"))
}

/// `projections { name instance }` as `endpoint` reports it: the instance
/// running each projection (none between a death and the takeover).
async fn runners(endpoint: &Endpoint) -> anyhow::Result<HashMap<String, Option<String>>> {
    let data = endpoint
        .data("{ projections { name instance } }", json!({}))
        .await?;
    Ok(data["projections"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or_default().to_owned(),
                p["instance"].as_str().map(str::to_owned),
            )
        })
        .collect())
}

/// Asserts that `endpoint` reports `instance` running every projection.
async fn assert_runs_all(endpoint: &Endpoint, instance: &str) {
    let runners = runners(endpoint).await.expect("projections");
    assert!(
        runners.len() == NAMES.len() && runners.values().all(|r| r.as_deref() == Some(instance)),
        "{instance} runs every projection: {runners:?}"
    );
}

/// Waits until every projection has applied everything (lag 0) as seen by
/// `endpoint`.
async fn caught_up(endpoint: &Endpoint, who: &str) {
    eventually(&format!("every projection caught up ({who})"), || async {
        endpoint
            .projection_lags()
            .await
            .is_ok_and(|lags| lags.len() == NAMES.len() && lags.iter().all(|p| p.lag == 0))
    })
    .await;
}

/// Starts the first instance and makes it the leader of every projection:
/// alone on the database, it is the only candidate; once a write has gone
/// through every projection, its supervisors hold the leadership and the
/// instances started later wait.
async fn first_leader(name: &str, db: &TestDb, args: &[&str]) -> ServerProcess {
    let a = start(name, db, args).await;
    a.create_order("warm-up").await;
    caught_up(&a, name).await;
    a
}

/// Every projection's checkpoint position, as `endpoint` reports it.
async fn positions(endpoint: &Endpoint) -> anyhow::Result<HashMap<String, i64>> {
    let data = endpoint.data(PROJECTION_POSITIONS, json!({})).await?;
    let mut out = HashMap::new();
    for p in data["projections"].as_array().into_iter().flatten() {
        let name = p["name"].as_str().unwrap_or_default().to_owned();
        let position = p["position"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(-1);
        out.insert(name, position);
    }
    Ok(out)
}

/// Rebuilds every projection from the log into a spare generation, in this
/// process over the same database, and compares it with the live read
/// model row for row. Call it when the instances are idle and caught up.
async fn assert_read_models_equal_a_rebuild(db: &TestDb) {
    let mut config = chronicle::Config::new(db.url.clone());
    config.db_min_connections = 2;
    config.start_projections = false;
    let state = chronicle::build_state(config)
        .await
        .expect("the database, in process");
    let engine = EngineConfig {
        batch_size: 1_000,
        ..EngineConfig::default()
    };
    const SPARE: i32 = 9_000;
    for p in state.read.projections.iter() {
        let name = p.name();
        let live = state.read.live_generation(name).await.unwrap();
        let rebuild = ProjectionWorker::new(p.clone(), &state.read, SPARE, engine.clone());
        rebuild.ensure_checkpoint().await.unwrap();
        loop {
            match rebuild.try_process_batch().await.unwrap() {
                Outcome::Processed { .. } => continue,
                Outcome::Idle => break,
                other => panic!("rebuilding {name}: {other:?}"),
            }
        }
        let db = state.store.db();
        let served = p.dump(db, live).await.unwrap();
        let fresh = p.dump(db, SPARE).await.unwrap();
        if served != fresh {
            let first = served
                .iter()
                .zip(&fresh)
                .position(|(s, f)| s != f)
                .unwrap_or(served.len().min(fresh.len()));
            panic!(
                "{name}: the live read model ({} rows) differs from a rebuild ({} rows); first difference at row {first}:\nlive:    {:?}\nrebuild: {:?}",
                served.len(),
                fresh.len(),
                served.get(first),
                fresh.get(first)
            );
        }
        eprintln!(
            "{name}: live generation {live} equals a rebuild from the log ({} rows)",
            served.len()
        );
    }
    drop(state);
}

/// The lines of an instance's /metrics starting with `prefix`, as (the
/// line's labels, the value).
async fn metric_lines(instance: &Endpoint, prefix: &str) -> Vec<(String, f64)> {
    instance
        .metrics_text()
        .await
        .lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| {
            let (labels, value) = l.rsplit_once(' ')?;
            Some((labels.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// Events each projection applied in this instance (its own count: an
/// instance counts only the batches it committed), from /metrics.
async fn applied(instance: &Endpoint) -> HashMap<&'static str, f64> {
    let lines = metric_lines(instance, "chronicle_projection_events_total{").await;
    NAMES
        .iter()
        .map(|&name| {
            let label = format!("projection=\"{name}\"");
            let n = lines
                .iter()
                .filter(|(labels, _)| labels.contains(&label))
                .fold(0.0, |sum, (_, n)| sum + n);
            (name, n)
        })
        .collect()
}

fn assert_no_panics(instances: &[&ServerProcess]) {
    for i in instances {
        assert_eq!(
            i.panics(),
            0,
            "instance {} logged a panic; its log ends:\n{}",
            i.name,
            i.log_tail()
        );
    }
}

/// p50 and max of `samples` (milliseconds).
fn p50_max(samples: &mut [f64]) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    (samples[samples.len() / 2], samples[samples.len() - 1])
}

/// A writes, B (which runs no projection: A leads them all) tells its
/// subscribers. Polling is a minute apart, so only the PostgreSQL
/// notifications can deliver in time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_what_each_writes() {
    if !postgres_available() {
        return;
    }
    const ORDERS: usize = 50;
    let db = TestDb::new(Backend::Postgres).await;
    let deaf = ["--poll-interval-ms", "60000"];
    let a = first_leader("A", &db, &deaf).await;
    let b = start("B", &db, &deaf).await;
    assert_runs_all(&b, "A").await;

    // The feed on B from just before A's next write: its first message is
    // that write, so the subscription is live before the measured orders.
    let mut feed = b.ws("graphql-transport-ws", json!({})).await;
    let mut batches = b.ws("graphql-transport-ws", json!({})).await;
    batches
        .subscribe("batches", PROJECTION_UPDATED, json!({}))
        .await;
    let first = a.create("feed-start").await;
    let start = first.events[0].position;
    feed.subscribe("feed", FEED, json!({ "after": (start - 1).to_string() }))
        .await;
    let event = feed.next_data().await;
    assert_eq!(
        event["events"]["position"],
        start.to_string(),
        "the feed starts at A's write: {event}"
    );
    // projectionUpdated sends nothing until a batch: write on A until B
    // reports one (each try waits for the report a few seconds).
    let mut tries = 0;
    loop {
        tries += 1;
        assert!(tries <= 10, "B never reported a batch of A's");
        let id = a.create_order("batches-start").await;
        let reported = tokio::time::timeout(Duration::from_secs(3), async {
            loop {
                let data = batches.next_data().await;
                if data["projectionUpdated"]["aggregateId"] == id.as_str() {
                    return;
                }
            }
        })
        .await;
        if reported.is_ok() {
            break;
        }
    }

    // orderUpdated on B, PLACED sent to A: how long after A's answer does
    // B's subscriber hear of it?
    let mut orders = b.ws("graphql-transport-ws", json!({})).await;
    let mut delays = Vec::new();
    let mut written = Vec::new();
    let mut last_position = start;
    for i in 0..ORDERS {
        let id = a.create_order(&format!("c-{i}")).await;
        let sub = format!("o{i}");
        orders
            .subscribe(&sub, ORDER_UPDATED, json!({ "id": id, "after": 0 }))
            .await;
        // The current state first: the subscription is live.
        let pending = orders.next_message().await;
        assert_eq!(pending["id"], sub.as_str(), "{pending}");
        assert_eq!(
            pending["payload"]["data"]["orderUpdated"]["version"], 1,
            "{pending}"
        );
        let sent = Instant::now();
        let ((placed, answered), (message, heard)) = tokio::join!(
            async {
                let placed = a.place(&id).await;
                (placed, Instant::now())
            },
            async {
                let message = orders.next_message().await;
                (message, Instant::now())
            }
        );
        assert_eq!(message["id"], sub.as_str(), "{message}");
        let update = &message["payload"]["data"]["orderUpdated"];
        assert_eq!(update["status"], "PLACED", "{message}");
        assert_eq!(update["version"], 2, "{message}");
        // Signed: B may hear of it before A's answer reaches the client.
        let delay = if heard >= answered {
            heard.duration_since(answered).as_secs_f64() * 1e3
        } else {
            -(answered.duration_since(heard).as_secs_f64() * 1e3)
        };
        assert!(
            heard.duration_since(sent) < Duration::from_secs(10),
            "order {i}: B heard of PLACED {:?} after placeOrder was sent (the poll interval is 60 s)",
            heard.duration_since(sent)
        );
        delays.push(delay);
        written.push(id);
        last_position = placed.position;
    }
    let (p50, max) = p50_max(&mut delays);
    eprintln!(
        "orderUpdated on B after A answered placeOrder, {ORDERS} orders: p50 {p50:.1} ms, max {max:.1} ms (poll interval 60 s)"
    );

    // The feed on B has every event A appended since `start`, in order,
    // each once.
    let head = last_position;
    let mut seen = vec![start];
    while *seen.last().unwrap() < head {
        let data = feed.next_data().await;
        seen.push(
            data["events"]["position"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap(),
        );
    }
    let log: Vec<i64> = {
        let mut config = chronicle::Config::new(db.url.clone());
        config.db_min_connections = 2;
        config.start_projections = false;
        let state = chronicle::build_state(config).await.unwrap();
        let events = state.store.read_all(start - 1, 10_000).await.unwrap();
        drop(state);
        events.iter().map(|e| e.position).collect()
    };
    assert_eq!(seen, log, "B's feed is the log after {start}, each once");
    assert!(
        seen.windows(2).all(|w| w[1] == w[0] + 1),
        "positions are consecutive: {seen:?}"
    );
    assert_eq!(seen.len(), 1 + tries + 2 * ORDERS);

    // projectionUpdated on B reported A's order_details batches: both
    // versions of every measured order.
    let mut wanted: BTreeSet<(String, i64)> = written
        .iter()
        .flat_map(|id| [(id.clone(), 1), (id.clone(), 2)])
        .collect();
    while !wanted.is_empty() {
        let data = batches.next_data().await;
        let update = &data["projectionUpdated"];
        wanted.remove(&(
            update["aggregateId"].as_str().unwrap().to_owned(),
            update["version"].as_i64().unwrap(),
        ));
    }

    // All of it came from A's batches: B applied nothing.
    assert_runs_all(&a, "A").await;
    assert_runs_all(&b, "A").await;
    let (on_a, on_b) = (applied(&a).await, applied(&b).await);
    assert!(
        NAMES.iter().all(|n| on_a[n] > 0.0 && on_b[n] == 0.0),
        "A runs every projection, B none: A {on_a:?}, B {on_b:?}"
    );
    assert_no_panics(&[&a, &b]);
    drop((feed, batches, orders));
    b.stop().await.unwrap();
    a.stop().await.unwrap();
    db.close().await.unwrap();
}

/// A `projectionUpdated` subscription (order_details) on `instance`, read
/// in the background so that it never falls behind: (aggregate id,
/// version) of each notice, in order.
async fn watch_batches(
    instance: &Endpoint,
) -> (
    tokio::task::JoinHandle<()>,
    tokio::sync::mpsc::UnboundedReceiver<(String, i64)>,
) {
    let mut ws = instance.ws("graphql-transport-ws", json!({})).await;
    ws.subscribe("batches", PROJECTION_UPDATED, json!({})).await;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        loop {
            let data = ws.next_data().await;
            let update = &data["projectionUpdated"];
            let notice = (
                update["aggregateId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                update["version"].as_i64().unwrap_or(-1),
            );
            if tx.send(notice).is_err() {
                return;
            }
        }
    });
    (task, rx)
}

/// Takes notices from `rx` until every one of `wanted` has come (30 s
/// deadline); returns how many came more than once, or those that never
/// came.
async fn expect_notices(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<(String, i64)>,
    mut wanted: BTreeSet<(String, i64)>,
) -> Result<usize, BTreeSet<(String, i64)>> {
    let all = wanted.clone();
    let mut repeated = 0;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !wanted.is_empty() {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(notice)) => {
                if !wanted.remove(&notice) && all.contains(&notice) {
                    repeated += 1;
                }
            }
            _ => return Err(wanted),
        }
    }
    Ok(repeated)
}

/// Failed attempts of [`command_anywhere`]: refused connections (the
/// instance was dead; nothing was sent) and the others (e.g. the instance
/// died with the request in flight: it may or may not have run).
#[derive(Default)]
struct Failures {
    refused: AtomicUsize,
    unknown: AtomicUsize,
}

/// The outcome of a command sent with a `commandId`, retried on the next
/// instance while it fails (a dead instance refuses the connection; one
/// that died mid-request leaves the outcome unknown, and the retry returns
/// the first result if there was one).
async fn command_anywhere(
    instances: &[Endpoint],
    first: usize,
    op: Op,
    mut input: Value,
    failures: &Failures,
) -> CommandResult {
    input["commandId"] = json!(uuid::Uuid::new_v4().to_string());
    let mut errors = Vec::new();
    for attempt in 0..3 * instances.len() {
        let target = &instances[(first + attempt) % instances.len()];
        match target.command(op, input.clone()).await {
            Ok(result) => return result,
            Err(e) => {
                let refused = e.chain().any(|cause| {
                    cause
                        .downcast_ref::<reqwest::Error>()
                        .is_some_and(|r| r.is_connect())
                });
                if refused {
                    failures.refused.fetch_add(1, Ordering::Relaxed);
                } else {
                    failures.unknown.fetch_add(1, Ordering::Relaxed);
                }
                errors.push(format!("{}: {e:#}", target.addr));
                if attempt % instances.len() == instances.len() - 1 {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
    panic!("{} failed on every instance: {errors:#?}", op.field());
}

/// A leads; B and C wait. Writers go through all three; A is killed with
/// SIGKILL mid-load. One of B and C takes over each projection from its
/// checkpoint within seconds, the writes go on, and in the end every read
/// model equals a rebuild from the log: nothing lost, no batch applied
/// twice (the sales counts would show it).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_leader_is_replaced_and_read_models_equal_a_rebuild() {
    if !postgres_available() {
        return;
    }
    const WRITERS: usize = 12;
    const ORDERS: usize = 300;
    const KILL_AFTER: usize = 100;
    let db = TestDb::new(Backend::Postgres).await;
    let a = first_leader("A", &db, &[]).await;
    let b = start("B", &db, &[]).await;
    let c = start("C", &db, &[]).await;
    let addrs: Vec<SocketAddr> = vec![a.addr, b.addr, c.addr];
    for i in [&a, &b, &c] {
        assert_runs_all(i, "A").await;
    }
    // Subscribers on B and C, which will take over from A: they are told of
    // every batch, A's before the kill, the new leader's after it.
    let (watch_b, mut notices_b) = watch_batches(&b).await;
    let (watch_c, mut notices_c) = watch_batches(&c).await;
    // Live once each has reported a write made after it subscribed.
    let mut tries = 0;
    'live: loop {
        tries += 1;
        assert!(tries <= 10, "B and C never reported a batch of A's");
        let id = a.create_order("batches-start").await;
        for rx in [&mut notices_b, &mut notices_c] {
            let reported = tokio::time::timeout(Duration::from_secs(3), async {
                while let Some((seen, _)) = rx.recv().await {
                    if seen == id {
                        return;
                    }
                }
            })
            .await;
            if reported.is_err() {
                continue 'live;
            }
        }
        break;
    }

    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Failures::default());
    let started = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (next, done, failures) = (next.clone(), done.clone(), failures.clone());
            let instances: Vec<Endpoint> = addrs.iter().map(|&addr| Endpoint::at(addr)).collect();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= ORDERS {
                        return ids;
                    }
                    let create = json!({"customerId": format!("c-{}", i % 20), "items": [
                        {"sku": "A", "name": "Apple", "unitPrice": "10.00", "quantity": 2},
                        {"sku": "B", "name": "Banana", "unitPrice": "5.25", "quantity": 1}
                    ]});
                    // Each command to the next instance, so every instance
                    // takes writes (and A's death lands mid-order).
                    let created = command_anywhere(&instances, w + i, Op::Create, create, &failures).await;
                    let id = created.aggregate_id;
                    let placed = command_anywhere(&instances, w + i + 1, Op::Place, json!({"orderId": id}), &failures).await;
                    assert_eq!(placed.version, 2);
                    let paid = command_anywhere(
                        &instances,
                        w + i + 2,
                        Op::Pay,
                        json!({"orderId": id, "amount": "25.25", "paymentReference": format!("p-{i}")}),
                        &failures,
                    )
                    .await;
                    assert_eq!(paid.version, 3);
                    ids.push(id);
                    done.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();

    eventually(
        "the writers to complete the orders before the kill",
        || async { done.load(Ordering::SeqCst) >= KILL_AFTER },
    )
    .await;
    assert_no_panics(&[&a]);
    // Until now A ran every projection and B and C none.
    let (on_a, on_b, on_c) = (applied(&a).await, applied(&b).await, applied(&c).await);
    assert!(
        NAMES
            .iter()
            .all(|n| on_a[n] > 0.0 && on_b[n] == 0.0 && on_c[n] == 0.0),
        "before the kill A runs every projection: A {on_a:?}, B {on_b:?}, C {on_c:?}"
    );
    let status = a.kill9().await.unwrap();
    let killed = Instant::now();
    eprintln!(
        "killed A ({status}) after {} orders, {:?} into the load",
        done.load(Ordering::SeqCst),
        started.elapsed()
    );
    let at_kill = positions(&b).await.unwrap_or_default();
    // A write after the kill: only a new leader can apply it.
    let after_kill = b.create("after-kill").await.position;
    let mut last = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(p) = positions(&b).await {
            if NAMES
                .iter()
                .all(|n| p.get(*n).is_some_and(|&pos| pos >= after_kill))
            {
                break;
            }
            last = p;
        }
        assert!(
            Instant::now() < deadline,
            "no instance took over every projection within 30 s of the kill: {last:?}, want {after_kill}\nB:\n{}\nC:\n{}",
            b.log_tail(),
            c.log_tail()
        );
        tokio::time::sleep(POLL).await;
    }
    let takeover = killed.elapsed();
    eprintln!("every projection applied a write made after the kill {takeover:?} after it");
    // Each projection has one runner again, B or C, and both say which.
    eventually("B and C to agree on who runs each projection", || async {
        let (Ok(from_b), Ok(from_c)) = (runners(&b).await, runners(&c).await) else {
            return false;
        };
        from_b == from_c
            && from_b.len() == NAMES.len()
            && from_b
                .values()
                .all(|r| matches!(r.as_deref(), Some("B") | Some("C")))
    })
    .await;
    eprintln!("running after the kill: {:?}", runners(&b).await.unwrap());

    let mut ids = Vec::new();
    for w in writers {
        ids.extend(w.await.expect("a writer failed"));
    }
    let elapsed = started.elapsed();
    assert_eq!(ids.len(), ORDERS);
    eprintln!(
        "{ORDERS} orders (3 commands each) by {WRITERS} writers in {elapsed:?}: {:.0} commands/s; retried on another instance with the same commandId: {} refused by dead A, {} in flight or failing",
        (3 * ORDERS) as f64 / elapsed.as_secs_f64(),
        failures.refused.load(Ordering::SeqCst),
        failures.unknown.load(Ordering::SeqCst)
    );
    // Writes went on through B and C; both see the read models at the head.
    caught_up(&b, "B").await;
    caught_up(&c, "C").await;
    // Each projection was taken over by exactly one of B and C, and stayed
    // there (the write after the kill gave every projection work).
    let (on_b, on_c) = (applied(&b).await, applied(&c).await);
    eprintln!("events applied since the kill: B {on_b:?}, C {on_c:?}");
    let runners_now = runners(&b).await.unwrap();
    for name in NAMES {
        assert!(
            (on_b[name] > 0.0) != (on_c[name] > 0.0),
            "{name} ran in exactly one of B and C after the kill: B {on_b:?}, C {on_c:?}"
        );
        let ran = if on_b[name] > 0.0 { "B" } else { "C" };
        assert_eq!(
            runners_now[name].as_deref(),
            Some(ran),
            "{name}: the instance that applied its events is the one `projections` names"
        );
    }

    for id in &ids {
        let order = c.order(id).await.expect("every order is readable");
        assert_eq!((order.status.as_str(), order.version), ("PAID", 3), "{id}");
    }
    // The subscribers on B and C heard of every version of every order,
    // across the handover.
    let wanted: BTreeSet<(String, i64)> = ids
        .iter()
        .flat_map(|id| (1..=3).map(|v| (id.clone(), v)))
        .collect();
    let mut repeated = Vec::new();
    for (who, rx) in [("B", &mut notices_b), ("C", &mut notices_c)] {
        match expect_notices(rx, wanted.clone()).await {
            Ok(n) => repeated.push(n),
            Err(missing) => {
                let mut at = Vec::new();
                for (id, version) in &missing {
                    let history = b.history(id).await;
                    let position = history
                        .iter()
                        .find(|e| e.version == *version)
                        .map(|e| e.position);
                    at.push((position, version, id.clone()));
                }
                at.sort();
                panic!(
                    "projectionUpdated on {who}: {} notices never came (position, version, order): {at:?}; the checkpoints just after the kill: {at_kill:?}",
                    missing.len()
                );
            }
        }
    }
    let (repeated_b, repeated_c) = (repeated[0], repeated[1]);
    eprintln!(
        "projectionUpdated on B and C: all {} notices of the orders came; repeated: B {repeated_b}, C {repeated_c}",
        3 * ORDERS
    );
    watch_b.abort();
    watch_c.abort();
    let sales = b.ok(SALES, json!({})).await["salesStats"].clone();
    // The warm-up, batches-start and after-kill orders, created only.
    assert_eq!(sales["ordersCreated"], ORDERS + 2 + tries, "{sales}");
    assert_eq!(sales["ordersPlaced"], ORDERS, "{sales}");
    assert_eq!(sales["ordersPaid"], ORDERS, "{sales}");
    assert_eq!(
        sales["revenue"].as_str().unwrap().parse::<f64>().unwrap(),
        25.25 * ORDERS as f64,
        "{sales}"
    );
    assert_read_models_equal_a_rebuild(&db).await;
    assert!(
        takeover < Duration::from_secs(10),
        "takeover took {takeover:?}"
    );
    assert_no_panics(&[&b, &c]);
    b.stop().await.unwrap();
    c.stop().await.unwrap();
    db.close().await.unwrap();
}

/// `haproxy` on the PATH or Debian's /usr/sbin/haproxy.
fn haproxy_binary() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([std::path::PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("haproxy"))
        .find(|p| p.is_file())
}

/// Two ports nobody listens on now (bound at once, then released).
fn free_addrs() -> (SocketAddr, SocketAddr) {
    let bind = || std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let (one, two) = (bind(), bind());
    (one.local_addr().unwrap(), two.local_addr().unwrap())
}

/// HAProxy's CSV statistics: (server, column) → value, for the
/// `chronicle` backend's servers.
async fn haproxy_stats(
    client: &reqwest::Client,
    stats: SocketAddr,
) -> HashMap<String, HashMap<String, String>> {
    let Ok(resp) = client.get(format!("http://{stats}/stats;csv")).send().await else {
        return HashMap::new();
    };
    let text = resp.text().await.unwrap_or_default();
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .trim_start_matches("# ")
        .split(',')
        .collect();
    let mut out = HashMap::new();
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.first() != Some(&"chronicle") || !fields[1].starts_with("chronicle") {
            continue;
        }
        let row = header
            .iter()
            .zip(&fields)
            .map(|(h, v)| (h.to_string(), v.to_string()))
            .collect();
        out.insert(fields[1].to_owned(), row);
    }
    out
}

/// Commands an instance executed successfully, from its /metrics.
async fn commands_ok(instance: &ServerProcess) -> u64 {
    metric_lines(instance, "chronicle_commands_total{")
        .await
        .iter()
        .filter(|(labels, _)| labels.contains("outcome=\"ok\""))
        .map(|(_, n)| *n)
        .sum::<f64>() as u64
}

/// Three instances behind HAProxy with the committed configuration; every
/// request through the balancer: 1,000 orders created, placed and paid by
/// concurrent clients, each watching its order through a WebSocket the
/// balancer passes to any instance, and seeing its own writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_behind_haproxy() {
    if !postgres_available() {
        return;
    }
    let Some(haproxy) = haproxy_binary() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "haproxy is not installed: CI must run deploy/haproxy/install.sh first"
        );
        eprintln!("skipped: haproxy is not installed; run deploy/haproxy/install.sh");
        return;
    };
    const CLIENTS: usize = 24;
    const ORDERS: usize = 1_000;
    let db = TestDb::new(Backend::Postgres).await;
    let a = first_leader("A", &db, &[]).await;
    let b = start("B", &db, &[]).await;
    let c = start("C", &db, &[]).await;

    let (lb_addr, stats_addr) = free_addrs();
    let mut proxy = tokio::process::Command::new(&haproxy)
        .args(["-f", HAPROXY_CFG, "-db"])
        .env("CHRONICLE_LB_ADDR", lb_addr.to_string())
        .env("CHRONICLE_LB_STATS_ADDR", stats_addr.to_string())
        .env("CHRONICLE_BACKEND_1", a.addr.to_string())
        .env("CHRONICLE_BACKEND_2", b.addr.to_string())
        .env("CHRONICLE_BACKEND_3", c.addr.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", haproxy.display()));
    let proxy_log = proxy.stderr.take().expect("haproxy stderr");
    tokio::spawn(async move {
        let mut lines = BufReader::new(proxy_log).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("[haproxy] {line}");
        }
    });
    let lb = Endpoint::at(lb_addr);
    eventually("HAProxy to listen with every instance UP", || async {
        let stats = haproxy_stats(&lb.client, stats_addr).await;
        stats.len() == 3
            && stats
                .values()
                .all(|s| s.get("status").is_some_and(|v| v == "UP"))
            && lb
                .client
                .get(lb.url("/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
    })
    .await;
    let before: HashMap<String, u64> = haproxy_stats(&lb.client, stats_addr)
        .await
        .into_iter()
        .map(|(s, row)| (s, row["stot"].parse().unwrap_or(0)))
        .collect();

    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let next = next.clone();
            tokio::spawn(async move {
                let lb = Endpoint::at(lb_addr);
                let mut ids = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= ORDERS {
                        return ids;
                    }
                    let id = lb.create_order(&format!("c-{}", i % 50)).await;
                    // Whichever instance the balancer picks for the socket
                    // hears of writes made through any other.
                    let mut ws = lb.ws("graphql-transport-ws", json!({})).await;
                    ws.subscribe("o", ORDER_UPDATED, json!({ "id": id, "after": 1 }))
                        .await;
                    let placed = lb.place(&id).await;
                    let seen = ws.next_data().await["orderUpdated"].clone();
                    assert_eq!(
                        (seen["status"].as_str(), seen["version"].as_i64()),
                        (Some("PLACED"), Some(placed.version)),
                        "order {id} after placeOrder: {seen}"
                    );
                    let paid = lb.pay(&id, "25.25").await;
                    let seen = ws.next_data().await["orderUpdated"].clone();
                    assert_eq!(
                        (seen["status"].as_str(), seen["version"].as_i64()),
                        (Some("PAID"), Some(paid.version)),
                        "order {id} after payOrder: {seen}"
                    );
                    ids.push(id);
                }
            })
        })
        .collect();
    let mut ids = Vec::new();
    for client in clients {
        ids.extend(client.await.expect("a client failed"));
    }
    let elapsed = started.elapsed();
    assert_eq!(ids.len(), ORDERS);
    eprintln!(
        "through HAProxy: {ORDERS} orders (3 commands, 1 WebSocket, 2 updates each) by {CLIENTS} clients in {elapsed:?}: {:.0} orders/s, {:.0} commands/s",
        ORDERS as f64 / elapsed.as_secs_f64(),
        (3 * ORDERS) as f64 / elapsed.as_secs_f64()
    );

    // Every instance took a share: HAProxy's count per server and each
    // instance's own count of the commands it ran.
    let stats = haproxy_stats(&lb.client, stats_addr).await;
    let mut total = 0;
    let mut per_server = Vec::new();
    for server in ["chronicle1", "chronicle2", "chronicle3"] {
        let stot: u64 = stats[server]["stot"].parse().unwrap();
        let n = stot - before.get(server).copied().unwrap_or(0);
        total += n;
        per_server.push((server, n));
    }
    eprintln!("requests and WebSockets per server (HAProxy stot): {per_server:?}");
    for (server, n) in &per_server {
        assert!(
            *n * 5 >= total,
            "{server} took {n} of {total}: round robin should spread the load"
        );
    }
    let mut commands = Vec::new();
    for i in [&a, &b, &c] {
        commands.push((i.name.clone(), commands_ok(i).await));
    }
    eprintln!("commands run per instance (/metrics): {commands:?}");
    assert!(commands.iter().all(|(_, n)| *n > 0), "{commands:?}");
    assert_eq!(
        commands.iter().map(|(_, n)| n).sum::<u64>(),
        3 * ORDERS as u64 + 1,
        "{commands:?}"
    );

    caught_up(&lb, "through HAProxy").await;
    // Requests went everywhere; each projection ran in one instance (A).
    assert_runs_all(&lb, "A").await;
    let mut on_each = Vec::new();
    for i in [&a, &b, &c] {
        on_each.push(applied(i).await);
    }
    for name in NAMES {
        let running = on_each.iter().filter(|m| m[name] > 0.0).count();
        assert_eq!(running, 1, "{name} runs in one instance: {on_each:?}");
    }
    let sales = lb.ok(SALES, json!({})).await["salesStats"].clone();
    assert_eq!(sales["ordersCreated"], ORDERS + 1, "{sales}");
    assert_eq!(sales["ordersPaid"], ORDERS, "{sales}");
    assert_read_models_equal_a_rebuild(&db).await;
    assert_no_panics(&[&a, &b, &c]);

    proxy.start_kill().ok();
    let _ = proxy.wait().await;
    a.stop().await.unwrap();
    b.stop().await.unwrap();
    c.stop().await.unwrap();
    db.close().await.unwrap();
}
