//! Stopping cleanly: SIGTERM during a rebuild (the real `chronicle rebuild`
//! process) stops it at a batch boundary within 5 s, the live generation
//! keeps serving, and the next run resumes where it stopped.

use std::process::Stdio;
use std::time::{Duration, Instant};

use chronicle::commands::encode;
use chronicle::domain::order::{ItemAdded, OrderCreated, OrderEvent, OrderLine};
use chronicle::projections::order_details;
use chronicle::store::{EventMetadata, ExpectedVersion};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{ChildStderr, Command};

use crate::both_backends;
use crate::helpers::*;

both_backends!(sigterm_during_a_rebuild_stops_it_and_the_next_run_resumes);

fn line(sku: String) -> OrderLine {
    OrderLine {
        sku,
        name: "n".into(),
        unit_price: "1".parse().expect("decimal"),
        quantity: 1,
    }
}

/// `orders` orders of `events_each` events each, appended directly.
async fn seed(app: &TestApp, orders: usize, events_each: usize) {
    let metadata = EventMetadata::default();
    for o in 0..orders {
        let mut events = vec![OrderEvent::OrderCreated(OrderCreated {
            customer_id: format!("c-{o}"),
            items: vec![line("S0".into())],
            total: "1".parse().expect("decimal"),
        })];
        events.extend((1..events_each).map(|i| {
            OrderEvent::ItemAdded(ItemAdded {
                item: line(format!("S{i}")),
                total: "1".parse().expect("decimal"),
            })
        }));
        let new = events.iter().map(|e| encode(e, &metadata)).collect();
        app.state
            .store
            .append(
                &uuid::Uuid::new_v4().to_string(),
                "Order",
                ExpectedVersion::NoStream,
                new,
                None,
            )
            .await
            .expect("seed");
    }
}

async fn live_dump(app: &TestApp) -> (i32, Vec<Value>) {
    let read = &app.state.read;
    let generation = read
        .live_generation(order_details::NAME)
        .await
        .expect("generation");
    let dump = read
        .projection(order_details::NAME)
        .expect("projection")
        .dump(&app.state.db, generation)
        .await
        .expect("dump");
    (generation, dump)
}

fn rebuild_command(app: &TestApp) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chronicle"));
    command
        .args(["rebuild", "order_details", "--batch-size", "50"])
        .args(["--database-url", &app.db_url()])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// The next stderr line containing `needle`, within a deadline.
async fn line_with(lines: &mut Lines<BufReader<ChildStderr>>, needle: &str) -> String {
    let deadline = Duration::from_secs(60);
    tokio::time::timeout(deadline, async {
        while let Some(line) = lines.next_line().await.expect("read stderr") {
            if line.contains(needle) {
                return line;
            }
        }
        panic!("stderr ended without a line containing {needle:?}");
    })
    .await
    .unwrap_or_else(|_| panic!("no line containing {needle:?} within {deadline:?}"))
}

/// The number after `word ` in `line`.
fn number_after(line: &str, word: &str) -> i64 {
    line.split(&format!("{word} "))
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {word:?} in {line:?}"))
}

async fn sigterm_during_a_rebuild_stops_it_and_the_next_run_resumes(backend: Backend) {
    let app = spawn_app(backend).await;
    seed(&app, 20, 500).await;
    let head = app.state.store.head_position().await.expect("head");
    eventually("the live read model to catch up", || async {
        let data = app.ok("{ projections { name lag } }", json!({})).await;
        data["projections"]
            .as_array()
            .is_some_and(|ps| ps.iter().all(|p| p["lag"] == 0))
    })
    .await;
    let (live_before, before) = live_dump(&app).await;
    assert_eq!(before.len(), 20);

    // First run: SIGTERM once it has applied its first batch.
    let mut child = rebuild_command(&app)
        .spawn()
        .expect("spawn chronicle rebuild");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let started = line_with(&mut lines, "beside live generation").await;
    let generation = number_after(&started, "generation");
    line_with(&mut lines, "events applied").await;
    let pid = child.id().expect("pid").to_string();
    let signalled = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .expect("the rebuild exits within 5 s of SIGTERM")
        .expect("wait");
    let exit_time = signalled.elapsed();
    assert!(!status.success(), "a stopped rebuild is not a success");
    let stopped = line_with(&mut lines, "stopped at position").await;
    let stopped_at = number_after(&stopped, "position");
    assert!(
        stopped_at > 0 && stopped_at < head,
        "stopped part-way: {stopped_at} of {head}"
    );
    eprintln!("rebuild stopped {exit_time:?} after SIGTERM at position {stopped_at}");

    // The live generation still serves, unchanged; the rebuild is visible.
    let (live_now, now) = live_dump(&app).await;
    assert_eq!((live_now, &now), (live_before, &before));
    let listed = app
        .ok(
            "{ orders(first: 100) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["orders"]["edges"].as_array().map(Vec::len), Some(20));
    let status = app
        .ok(
            "{ projections { name rebuild { generation position } } }",
            json!({}),
        )
        .await;
    let rebuilding = status["projections"]
        .as_array()
        .expect("list")
        .iter()
        .find(|p| p["name"] == order_details::NAME)
        .map(|p| p["rebuild"].clone())
        .expect("order_details");
    assert_eq!(rebuilding["generation"], generation);
    assert_eq!(rebuilding["position"], stopped_at.to_string());

    // Second run: resumes the same generation from where it stopped.
    let mut child = rebuild_command(&app)
        .spawn()
        .expect("spawn chronicle rebuild");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let resumed = line_with(&mut lines, "beside live generation").await;
    assert_eq!(number_after(&resumed, "generation"), generation);
    assert_eq!(number_after(&resumed, "from position"), stopped_at);
    let status = tokio::time::timeout(Duration::from_secs(120), child.wait())
        .await
        .expect("the resumed rebuild finishes")
        .expect("wait");
    assert!(status.success(), "the resumed rebuild succeeds");
    let (live_after, after) = live_dump(&app).await;
    assert_eq!(live_after, i32::try_from(generation).expect("small"));
    assert_eq!(after, before, "the rebuilt read model equals the old one");
}
