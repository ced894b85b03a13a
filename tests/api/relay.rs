//! The NATS JetStream relay (issue 11): every event reaches the stream
//! once, in global order, with its headers; a SIGKILL mid-relay loses and
//! repeats nothing; the server runs with NATS down and catches up when it
//! comes back; the relay cannot be rebuilt.
//!
//! The tests that need NATS run when `TEST_NATS_URL` is set (CI sets it)
//! and say so when they are skipped. Each uses a stream and a subject
//! prefix of its own and deletes the stream at the end.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::DeliverPolicy, consumer::pull::OrderedConfig};
use chronicle::projections::EngineConfig;
use chronicle::relay::{self, RelayConfig};
use chronicle::store::RecordedEvent;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;

both_backends!(
    every_event_reaches_jetstream_once_in_global_order_with_its_headers,
    a_relay_killed_mid_relay_loses_and_repeats_nothing,
    with_nats_unreachable_the_server_runs_and_the_relay_catches_up_later,
    rebuilding_the_relay_is_refused,
    an_existing_stream_without_the_prefix_is_a_clear_error,
);

const BIN: &str = env!("CARGO_BIN_EXE_chronicle");

fn nats_url() -> Option<String> {
    let url = std::env::var("TEST_NATS_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!("skipped: TEST_NATS_URL is not set, so this NATS relay test did not run");
    }
    url
}

/// Quick polls and a short retry backoff, so a recovery shows quickly.
fn quick(config: &mut chronicle::Config) {
    config.engine = EngineConfig {
        poll_interval: Duration::from_millis(100),
        max_backoff: Duration::from_millis(500),
        ..EngineConfig::default()
    };
}

/// A stream and subject prefix of the test's own.
struct TestStream {
    js: jetstream::Context,
    name: String,
    prefix: String,
}

/// One message as a consumer received it.
#[derive(Debug)]
struct Received {
    subject: String,
    headers: HashMap<String, String>,
    payload: Value,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no header {name} in {:?}", self.headers))
    }
}

impl TestStream {
    async fn new(url: &str) -> TestStream {
        let client = async_nats::connect(url).await.expect("connect to NATS");
        let id = uuid::Uuid::new_v4().simple().to_string();
        TestStream {
            js: jetstream::new(client),
            name: format!("CHRONICLE_T_{}", id.to_uppercase()),
            prefix: format!("t{id}.events"),
        }
    }

    fn config(&self, url: &str) -> RelayConfig {
        RelayConfig {
            stream: self.name.clone(),
            subject_prefix: self.prefix.clone(),
            ..RelayConfig::new(url)
        }
    }

    fn args<'a>(&'a self, url: &'a str) -> [&'a str; 6] {
        [
            "--nats-url",
            url,
            "--nats-stream",
            &self.name,
            "--nats-subject-prefix",
            &self.prefix,
        ]
    }

    /// Messages in the stream (0 while it does not exist).
    async fn count(&self) -> u64 {
        match self.js.get_stream(&self.name).await {
            Ok(mut stream) => stream.info().await.map(|i| i.state.messages).unwrap_or(0),
            Err(_) => 0,
        }
    }

    /// Waits until the stream holds `n` messages, then reads them all with
    /// an ordered consumer and checks nothing else is there.
    async fn received(&self, n: usize) -> Vec<Received> {
        eventually(&format!("{n} messages in {}", self.name), || async {
            self.count().await >= n as u64
        })
        .await;
        let stream = self.js.get_stream(&self.name).await.expect("the stream");
        let consumer = stream
            .create_consumer(OrderedConfig {
                deliver_policy: DeliverPolicy::All,
                ..Default::default()
            })
            .await
            .expect("an ordered consumer");
        let mut messages = consumer.messages().await.expect("messages");
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let m = tokio::time::timeout(Duration::from_secs(10), messages.next())
                .await
                .expect("a message within 10 s")
                .expect("the consumer ended")
                .expect("a message");
            let headers = m
                .headers
                .iter()
                .flat_map(|h| h.iter())
                .map(|(k, v)| {
                    let v = v.first().map(|v| v.as_str().to_owned()).unwrap_or_default();
                    (k.to_string(), v)
                })
                .collect();
            out.push(Received {
                subject: m.subject.to_string(),
                headers,
                payload: serde_json::from_slice(&m.payload).expect("a JSON payload"),
            });
        }
        assert_eq!(
            self.count().await,
            n as u64,
            "the stream holds exactly the events, no duplicate"
        );
        out
    }

    async fn delete(self) {
        let _ = self.js.delete_stream(&self.name).await;
    }

    /// The messages are the events: same order, each once, with headers.
    fn assert_relayed(&self, events: &[RecordedEvent], got: &[Received]) {
        assert_eq!(got.len(), events.len(), "one message per event");
        for (e, m) in events.iter().zip(got) {
            assert_eq!(
                m.header("Chronicle-Position"),
                e.position.to_string(),
                "global order"
            );
            assert_eq!(m.header("Nats-Msg-Id"), e.event_id.to_string());
            assert_eq!(
                m.subject,
                format!("{}.{}.{}", self.prefix, e.stream_type, e.event_type)
            );
            assert_eq!(m.payload, e.data, "the payload is the event's data");
            assert_eq!(m.header("Chronicle-Stream-Id"), e.stream_id);
            assert_eq!(m.header("Chronicle-Stream-Type"), e.stream_type);
            assert_eq!(m.header("Chronicle-Version"), e.version.to_string());
            assert_eq!(m.header("Chronicle-Event-Type"), e.event_type);
            assert_eq!(
                m.header("Chronicle-Schema-Version"),
                e.schema_version.to_string()
            );
            assert_eq!(
                chrono::DateTime::parse_from_rfc3339(m.header("Chronicle-Recorded-At"))
                    .expect("an RFC 3339 time"),
                e.recorded_at
            );
            let meta = &e.metadata;
            for (name, value) in [
                ("Chronicle-User-Id", &meta.user_id),
                ("Chronicle-Correlation-Id", &meta.correlation_id),
                ("Chronicle-Causation-Id", &meta.causation_id),
                ("Chronicle-Command-Id", &meta.command_id),
                ("Chronicle-Reason", &meta.reason),
            ] {
                // Control characters (CR, LF) cannot go in a header.
                let expected = value.as_ref().map(|v| v.replace(char::is_control, " "));
                assert_eq!(
                    m.headers.get(name),
                    expected.as_ref(),
                    "{name} of event {}",
                    e.position
                );
            }
        }
    }
}

/// Every event in the log, in order.
async fn all_events(store: &chronicle::store::EventStore) -> Vec<RecordedEvent> {
    let mut out: Vec<RecordedEvent> = Vec::new();
    loop {
        let after = out.last().map_or(0, |e| e.position);
        let batch = store.read_all(after, 1_000).await.expect("read the log");
        if batch.is_empty() {
            return out;
        }
        out.extend(batch);
    }
}

/// The events of a database, read by a store of the test's own.
async fn events_of(url: &str) -> Vec<RecordedEvent> {
    let db = chronicle::db::Db::connect(url).await.expect("connect");
    let upcasters =
        chronicle::store::Upcasters::new().with::<chronicle::domain::order::OrderAggregate>();
    let store = chronicle::store::EventStore::open(db, upcasters)
        .await
        .expect("open the store");
    all_events(&store).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    name: String,
    lag: i64,
    state: String,
    last_error: Option<String>,
}

const STATUSES: &str = "{ projections { name lag state lastError } }";

async fn statuses(ep: &Endpoint) -> Vec<Status> {
    let data = ep.data(STATUSES, json!({})).await.expect("projections");
    serde_json::from_value(data["projections"].clone()).expect("statuses")
}

async fn relay_status(ep: &Endpoint) -> Status {
    statuses(ep)
        .await
        .into_iter()
        .find(|s| s.name == relay::NAME)
        .expect("projections lists nats_relay")
}

async fn every_event_reaches_jetstream_once_in_global_order_with_its_headers(backend: Backend) {
    let Some(url) = nats_url() else { return };
    let stream = TestStream::new(&url).await;
    let config = stream.config(&url);
    let app = spawn_app_with(backend, |c| {
        quick(c);
        c.nats = Some(config);
    })
    .await;
    // Several orders advanced at once, with a command id and a reason in
    // the metadata.
    let orders = futures::future::join_all((0..6).map(|i| {
        let app = &app;
        async move {
            let id = app.create_order(&format!("c-relay-{i}")).await;
            app.add_item(&id, "C", "1.50", 2).await;
            app.run(
                Op::Place,
                json!({"orderId": id, "commandId": format!("place-{id}")}),
            )
            .await;
            match i % 3 {
                0 => {
                    app.pay(&id, "28.25").await;
                    app.ship(&id, "TRACK-1").await;
                }
                1 => {
                    app.cancel(&id, "changed my mind").await;
                }
                _ => {}
            }
            id
        }
    }))
    .await;
    assert_eq!(orders.len(), 6);
    eventually("nats_relay to catch up", || async {
        relay_status(&app).await.lag == 0
    })
    .await;
    let events = all_events(&app.state.store).await;
    let got = stream.received(events.len()).await;
    stream.assert_relayed(&events, &got);
    let status = relay_status(&app).await;
    assert_eq!(
        (status.state.as_str(), status.last_error),
        ("RUNNING", None)
    );
    assert!(
        app.state.read.leaders.runs(relay::NAME),
        "this instance leads the relay"
    );
    // /metrics has its gauges (every app of this test binary shares one
    // registry, so the value is checked eventually).
    eventually("the relay's lag gauge at 0", || async {
        app.metrics_text()
            .await
            .lines()
            .any(|l| l == "chronicle_projection_lag_events{projection=\"nats_relay\"} 0")
    })
    .await;
    if backend == Backend::Sqlite {
        let (server, db) = app.into_parts();
        server.stop().await.unwrap();
        db.close().await.unwrap();
        stream.delete().await;
        return;
    }

    // PostgreSQL: a second instance with the same relay waits while the
    // first leads it, takes over when it stops, and nothing is published
    // twice or skipped.
    let config = stream.config(&url);
    let b = Server::start(&app.db_url(), |c| {
        quick(c);
        c.nats = Some(config);
    })
    .await
    .unwrap();
    // Several of B's polls (100 ms) go by while A leads.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(app.state.read.leaders.runs(relay::NAME));
    assert!(
        !b.state.read.leaders.runs(relay::NAME),
        "B does not relay too"
    );
    let order = b.create_order("c-relay-b").await;
    eventually("A to relay B's write", || async {
        relay_status(&b).await.lag == 0
    })
    .await;
    let (a, db) = app.into_parts();
    a.stop().await.unwrap();
    eventually("B to take the relay over", || async {
        b.state.read.leaders.runs(relay::NAME)
    })
    .await;
    b.place(&order).await;
    eventually("B to relay its own write", || async {
        relay_status(&b).await.lag == 0
    })
    .await;
    let events = all_events(&b.state.store).await;
    let got = stream.received(events.len()).await;
    stream.assert_relayed(&events, &got);
    b.stop().await.unwrap();
    db.close().await.unwrap();
    stream.delete().await;
}

/// Appends an order with lines until `stop` (or the server is gone).
async fn write_until(
    addr: std::net::SocketAddr,
    tag: String,
    stop: tokio_util::sync::CancellationToken,
) -> u64 {
    let ep = Endpoint::at(addr);
    let mut n = 0;
    while !stop.is_cancelled() {
        let created = ep
            .command(
                Op::Create,
                json!({"customerId": tag, "items": [
                    {"sku": "A", "name": "Apple", "unitPrice": "10.00", "quantity": 1}
                ]}),
            )
            .await;
        let Ok(created) = created else { return n };
        n += 1;
        for sku in ["B", "C", "D"] {
            let added = ep
                .command(
                    Op::AddItem,
                    json!({"orderId": created.aggregate_id, "sku": sku, "name": sku, "unitPrice": "1.00", "quantity": 1}),
                )
                .await;
            if added.is_err() {
                return n;
            }
            n += 1;
        }
    }
    n
}

async fn a_relay_killed_mid_relay_loses_and_repeats_nothing(backend: Backend) {
    let Some(url) = nats_url() else { return };
    let stream = TestStream::new(&url).await;
    let db = TestDb::new(backend).await;
    // A backlog first, written by an instance without the relay, so that
    // the relay's first instance has thousands of events to publish.
    let p0 = ServerProcess::start("P0", BIN, &db.url, &[], &[])
        .await
        .unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let writers: Vec<_> = (0..8)
        .map(|w| tokio::spawn(write_until(p0.addr, format!("c-{w}"), stop.clone())))
        .collect();
    eventually("a backlog of 3000 events", || async {
        head_of(&p0).await >= 3_000
    })
    .await;
    stop.cancel();
    for w in writers {
        w.await.unwrap();
    }
    p0.stop().await.unwrap();

    // A relays while writers keep writing, and is SIGKILLed mid-relay.
    let a = ServerProcess::start("A", BIN, &db.url, &stream.args(&url), &[])
        .await
        .unwrap();
    let relay_started = Instant::now();
    let stop = tokio_util::sync::CancellationToken::new();
    let writers: Vec<_> = (0..4)
        .map(|w| tokio::spawn(write_until(a.addr, format!("c-a{w}"), stop.clone())))
        .collect();
    eventually("A to have published some events", || async {
        stream.count().await > 0
    })
    .await;
    a.kill9().await.unwrap();
    let published_at_kill = stream.count().await;
    stop.cancel();
    for w in writers {
        w.await.unwrap();
    }
    let committed_at_kill = events_of(&db.url).await.len() as u64;
    eprintln!(
        "killed A {:?} after it started relaying: {published_at_kill} of {committed_at_kill} events published",
        relay_started.elapsed()
    );
    assert!(
        0 < published_at_kill && published_at_kill < committed_at_kill,
        "the kill landed mid-relay ({published_at_kill} of {committed_at_kill} published)"
    );

    // B takes over on the same database, more writes come, it catches up.
    let b = ServerProcess::start("B", BIN, &db.url, &stream.args(&url), &[])
        .await
        .unwrap();
    let resumed = Instant::now();
    let stop = tokio_util::sync::CancellationToken::new();
    let writers: Vec<_> = (0..4)
        .map(|w| tokio::spawn(write_until(b.addr, format!("c-b{w}"), stop.clone())))
        .collect();
    let head_at_restart = head_of(&b).await;
    eventually("B to have written more", || async {
        head_of(&b).await > head_at_restart + 200
    })
    .await;
    stop.cancel();
    let mut written_on_b = 0;
    for w in writers {
        written_on_b += w.await.unwrap();
    }
    assert!(written_on_b > 0);
    eventually("B's relay to catch up", || async {
        let s = relay_status(&b).await;
        assert!(
            !s.last_error.as_deref().unwrap_or("").contains("panicked"),
            "{s:?}"
        );
        s.lag == 0
    })
    .await;
    let events = events_of(&db.url).await;
    eprintln!(
        "B relayed {} events (the rest of the backlog and its own writes) in {:?}",
        events.len() as u64 - published_at_kill,
        resumed.elapsed()
    );
    let got = stream.received(events.len()).await;
    stream.assert_relayed(&events, &got);
    assert_eq!(b.panics(), 0, "{}", b.log_tail());
    b.stop().await.unwrap();
    db.close().await.unwrap();
    stream.delete().await;
}

/// The store's head position as a process reports it (0 on an error).
async fn head_of(ep: &Endpoint) -> u64 {
    match ep.data("{ projections { head } }", json!({})).await {
        Ok(d) => d["projections"][0]["head"]
            .as_str()
            .and_then(|h| h.parse().ok())
            .unwrap_or(0),
        Err(_) => 0,
    }
}

/// A port nothing listens on.
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

async fn with_nats_unreachable_the_server_runs_and_the_relay_catches_up_later(backend: Backend) {
    let port = closed_port().await;
    let url = format!("nats://relay:s3cret-pw@127.0.0.1:{port}");
    let id = uuid::Uuid::new_v4().simple().to_string();
    let config = RelayConfig {
        stream: format!("CHRONICLE_T_{}", id.to_uppercase()),
        subject_prefix: format!("t{id}.events"),
        ..RelayConfig::new(&url)
    };
    let app = spawn_app_with(backend, |c| {
        quick(c);
        c.nats = Some(config.clone());
    })
    .await;
    let order = app.create_order("c-down").await;
    app.place(&order).await;
    let seen = std::cell::RefCell::new(None);
    eventually("nats_relay to show FAILED with a NATS error", || async {
        let s = relay_status(&app).await;
        let failed = s.state == "FAILED" && s.last_error.is_some();
        *seen.borrow_mut() = Some(s);
        failed
    })
    .await;
    let status = seen.into_inner().expect("a status");
    let error = status.last_error.clone().unwrap_or_default();
    assert!(error.contains("NATS at nats://"), "{error}");
    assert!(!error.contains("s3cret-pw"), "the password leaked: {error}");
    assert!(!error.contains("panicked"), "{error}");
    assert_eq!(status.lag, 2, "nothing was relayed");
    // The read models do not wait for NATS.
    eventually("the other projections at lag 0", || async {
        statuses(&app)
            .await
            .iter()
            .filter(|s| s.name != relay::NAME)
            .all(|s| s.lag == 0 && s.state == "RUNNING")
    })
    .await;
    assert_eq!(app.order_at(&order, 2).await.status, "PLACED");
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert!(ready.status().is_success());

    // NATS comes up on that port: the relay catches up by itself.
    let Some(test_url) = nats_url() else { return };
    let store_dir = tempfile::tempdir().unwrap();
    let server = [
        "nats-server",
        "/usr/sbin/nats-server",
        "/usr/bin/nats-server",
    ]
    .iter()
    .find_map(|bin| {
        tokio::process::Command::new(bin)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string()])
            .args(["--user", "relay", "--pass", "s3cret-pw", "-sd"])
            .arg(store_dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .ok()
    });
    let Some(mut server) = server else {
        eprintln!("skipped the recovery half: no nats-server binary (TEST_NATS_URL={test_url})");
        return;
    };
    let last_error = std::cell::RefCell::new(None);
    eventually("nats_relay to recover and catch up", || async {
        let s = relay_status(&app).await;
        if s.last_error != *last_error.borrow() {
            eprintln!("nats_relay: {s:?}");
            *last_error.borrow_mut() = s.last_error.clone();
        }
        s.lag == 0 && s.state == "RUNNING" && s.last_error.is_none()
    })
    .await;
    let client =
        async_nats::ConnectOptions::with_user_and_password("relay".into(), "s3cret-pw".into())
            .connect(format!("nats://127.0.0.1:{port}"))
            .await
            .expect("connect to the new NATS");
    let stream = TestStream {
        js: jetstream::new(client),
        name: config.stream.clone(),
        prefix: config.subject_prefix.clone(),
    };
    let events = all_events(&app.state.store).await;
    let got = stream.received(events.len()).await;
    stream.assert_relayed(&events, &got);
    let (app_server, db) = app.into_parts();
    app_server.stop().await.unwrap();
    db.close().await.unwrap();
    stream.delete().await;
    let _ = server.kill().await;
}

const REBUILD: &str = "mutation($name: String!) { rebuildProjection(name: $name) { generation } }";

async fn rebuilding_the_relay_is_refused(backend: Backend) {
    // Configured (NATS need not be reachable for this) or not, the relay
    // cannot be rebuilt: it would publish every event again.
    let port = closed_port().await;
    let with_relay = spawn_app_with(backend, |c| {
        c.nats = Some(RelayConfig::new(format!("nats://127.0.0.1:{port}")));
    })
    .await;
    let without = spawn_app(backend).await;
    for app in [&with_relay, &without] {
        let body = app.gql(REBUILD, json!({"name": relay::NAME})).await;
        assert_eq!(error_code(&body), Some("VALIDATION"), "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or("");
        assert!(message.contains("nats_relay cannot be rebuilt"), "{body}");
    }
    // Other projections still can be.
    let body = with_relay
        .gql(REBUILD, json!({"name": "sales_stats"}))
        .await;
    assert!(body.get("errors").is_none(), "{body}");

    // The command line says the same and exits non-zero, touching nothing.
    let url = with_relay.db_url();
    let out = tokio::process::Command::new(BIN)
        .args(["rebuild", relay::NAME, "--database-url", &url])
        .env_remove("DATABASE_URL")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("nats_relay cannot be rebuilt"), "{stderr}");
    for app in [with_relay, without] {
        let (server, db) = app.into_parts();
        server.stop().await.unwrap();
        db.close().await.unwrap();
    }
}

async fn an_existing_stream_without_the_prefix_is_a_clear_error(backend: Backend) {
    let Some(url) = nats_url() else { return };
    let stream = TestStream::new(&url).await;
    stream
        .js
        .create_stream(jetstream::stream::Config {
            name: stream.name.clone(),
            subjects: vec![format!("{}.Order.>", stream.prefix)],
            ..Default::default()
        })
        .await
        .expect("a stream that takes only Order subjects");
    let config = stream.config(&url);
    let app = spawn_app_with(backend, |c| {
        quick(c);
        c.nats = Some(config);
    })
    .await;
    app.create_order("c-subjects").await;
    eventually("nats_relay to fail on the stream's subjects", || async {
        let s = relay_status(&app).await;
        s.state == "FAILED"
            && s.last_error.as_deref().is_some_and(|e| {
                e.contains(&format!("stream {} exists with subjects", stream.name))
                    && e.contains(&format!("do not cover {}.>", stream.prefix))
            })
    })
    .await;
    assert_eq!(stream.count().await, 0, "nothing was published");
    let (server, db) = app.into_parts();
    server.stop().await.unwrap();
    db.close().await.unwrap();
    stream.delete().await;
}
