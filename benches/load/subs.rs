//! GraphQL subscriptions over `graphql-transport-ws` (tokio-tungstenite):
//! many subscriptions per WebSocket, every update timestamped on arrival.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a handshake may take.
const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(20);

/// `orderUpdated` with just what the latency needs.
pub const ORDER_UPDATED: &str =
    "subscription($id: ID!, $v: Int) { orderUpdated(id: $id, afterVersion: $v) { id version } }";

/// The notices of the read model `orderUpdated` reads.
const PROJECTION_UPDATED: &str =
    "subscription { projectionUpdated(projection: \"order_details\") { aggregateId version } }";

/// One update as it arrived: (order id, version, when).
pub type Arrival = (String, i64, Instant);

/// A WebSocket whose reader runs in its own task, recording every
/// `orderUpdated` it receives.
pub struct Subscriber {
    sink: SplitSink<Ws, Message>,
    reader: tokio::task::JoinHandle<Vec<Arrival>>,
    stop: Arc<AtomicBool>,
}

/// Counters shared by every reader.
#[derive(Default)]
pub struct Counters {
    /// `next` messages received.
    pub updates: AtomicU64,
    /// `error` messages, and closes by the server.
    pub errors: AtomicU64,
}

/// Opens a WebSocket (`graphql-transport-ws`) and completes the handshake.
async fn connect(addr: SocketAddr) -> anyhow::Result<Ws> {
    let mut request = format!("ws://{addr}/graphql").into_client_request()?;
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
    let (mut ws, _) = tokio::time::timeout(
        HANDSHAKE_DEADLINE,
        tokio_tungstenite::connect_async(request),
    )
    .await
    .context("WebSocket connect timed out")??;
    ws.send(Message::Text(
        json!({"type": "connection_init", "payload": {}})
            .to_string()
            .into(),
    ))
    .await?;
    let deadline = Instant::now() + HANDSHAKE_DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = tokio::time::timeout(left, ws.next())
            .await
            .context("no connection_ack")?
            .context("WebSocket closed before connection_ack")??;
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t)?;
            match v["type"].as_str() {
                Some("connection_ack") => return Ok(ws),
                Some("ping") => continue,
                _ => bail!("unexpected handshake message {v}"),
            }
        }
    }
}

async fn read_loop(
    mut stream: SplitStream<Ws>,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    record: bool,
) -> Vec<Arrival> {
    let mut arrivals = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let msg = match tokio::time::timeout(Duration::from_millis(200), stream.next()).await {
            Err(_) => continue,
            Ok(None) | Ok(Some(Err(_))) => break,
            Ok(Some(Ok(m))) => m,
        };
        let now = Instant::now();
        let text = match msg {
            Message::Text(t) => t,
            Message::Close(_) => {
                if !stop.load(Ordering::Relaxed) {
                    counters.errors.fetch_add(1, Ordering::Relaxed);
                }
                break;
            }
            _ => continue,
        };
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            counters.errors.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        match v["type"].as_str() {
            Some("next") => {
                counters.updates.fetch_add(1, Ordering::Relaxed);
                // `orderUpdated { id version }` or `projectionUpdated
                // { aggregateId version }`.
                let data = &v["payload"]["data"];
                let o = if data["orderUpdated"].is_object() {
                    &data["orderUpdated"]
                } else {
                    &data["projectionUpdated"]
                };
                let id = o["id"].as_str().or_else(|| o["aggregateId"].as_str());
                match (id, o["version"].as_i64()) {
                    (Some(id), Some(version)) if record => {
                        arrivals.push((id.to_owned(), version, now));
                    }
                    (Some(_), Some(_)) => {}
                    _ => {
                        counters.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Some("error") => {
                counters.errors.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
    arrivals
}

impl Subscriber {
    /// A WebSocket subscribed to `orderUpdated` for each (order, version
    /// already seen); its reader records arrivals when `record`.
    pub async fn open(
        addr: SocketAddr,
        orders: &[(String, i64)],
        counters: Arc<Counters>,
        record: bool,
    ) -> anyhow::Result<Subscriber> {
        let subscribes = orders.iter().enumerate().map(|(k, (id, version))| {
            json!({"id": format!("s{k}"), "type": "subscribe",
                "payload": {"query": ORDER_UPDATED, "variables": {"id": id, "v": version}}})
        });
        Subscriber::open_with(addr, subscribes, counters, record).await
    }

    /// A WebSocket subscribed to `projectionUpdated` of `order_details`:
    /// when each (order, version) became readable, as a client hears it.
    pub async fn open_notices(
        addr: SocketAddr,
        counters: Arc<Counters>,
    ) -> anyhow::Result<Subscriber> {
        let subscribe = json!({"id": "n", "type": "subscribe",
            "payload": {"query": PROJECTION_UPDATED}});
        Subscriber::open_with(addr, [subscribe], counters, true).await
    }

    /// A WebSocket that sent `subscribes`, its reader in a task.
    async fn open_with(
        addr: SocketAddr,
        subscribes: impl IntoIterator<Item = Value>,
        counters: Arc<Counters>,
        record: bool,
    ) -> anyhow::Result<Subscriber> {
        let ws = connect(addr).await?;
        let (mut sink, stream) = ws.split();
        for msg in subscribes {
            sink.feed(Message::Text(msg.to_string().into())).await?;
        }
        sink.flush().await?;
        let stop = Arc::new(AtomicBool::new(false));
        let reader = tokio::spawn(read_loop(stream, stop.clone(), counters, record));
        Ok(Subscriber { sink, reader, stop })
    }

    /// Closes the socket; the arrivals recorded.
    pub async fn close(mut self) -> Vec<Arrival> {
        self.stop.store(true, Ordering::Relaxed);
        let _ = tokio::time::timeout(Duration::from_secs(2), self.sink.close()).await;
        match tokio::time::timeout(Duration::from_secs(5), &mut self.reader).await {
            Ok(Ok(a)) => a,
            _ => {
                self.reader.abort();
                Vec::new()
            }
        }
    }
}

/// Opens `sockets` WebSockets, socket k subscribed to `per_socket[k]`,
/// at most 16 handshakes at a time.
pub async fn open_many(
    addr: SocketAddr,
    per_socket: Vec<Vec<(String, i64)>>,
    counters: Arc<Counters>,
    record: bool,
) -> anyhow::Result<Vec<Subscriber>> {
    let results: Vec<anyhow::Result<Subscriber>> = futures::stream::iter(per_socket)
        .map(|orders| {
            let counters = counters.clone();
            async move { Subscriber::open(addr, &orders, counters, record).await }
        })
        .buffered(16)
        .collect()
        .await;
    results.into_iter().collect()
}

/// The server's `chronicle_active_subscriptions` gauge (all kinds summed),
/// from /metrics.
pub async fn active_subscriptions(
    client: &reqwest::Client,
    addr: SocketAddr,
) -> anyhow::Result<f64> {
    metric_sum(client, addr, "chronicle_active_subscriptions").await
}

/// The sum of the /metrics samples whose line starts with `prefix` (a
/// metric name, optionally with the start of its labels).
pub async fn metric_sum(
    client: &reqwest::Client,
    addr: SocketAddr,
    prefix: &str,
) -> anyhow::Result<f64> {
    let text = client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    Ok(text
        .lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum())
}

/// Waits (up to `deadline`) until the gauge reaches `want`; the last value.
pub async fn wait_for_subscriptions(
    client: &reqwest::Client,
    addr: SocketAddr,
    want: f64,
    deadline: Duration,
) -> f64 {
    let until = Instant::now() + deadline;
    let mut last = 0.0;
    while Instant::now() < until {
        if let Ok(n) = active_subscriptions(client, addr).await {
            last = n;
            if n >= want {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    last
}
