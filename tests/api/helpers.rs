//! `spawn_app()`: the real server on port 0 over a fresh database, and typed
//! GraphQL helpers. Every storage test runs on SQLite and on PostgreSQL from
//! one body through `both_backends!`.

use std::net::SocketAddr;
use std::time::Duration;

use chronicle::{AppState, Config};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates `<name>::sqlite` and `<name>::postgres` tests from one async
/// body `async fn name(backend: Backend)`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if $crate::helpers::postgres_base_url().is_none() {
                    eprintln!("skipped: TEST_DATABASE_URL is not set, so this PostgreSQL test did not run");
                    return;
                }
                super::$name($crate::helpers::Backend::Postgres).await
            }
        }
    )+};
}

/// TEST_DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/test.
pub fn postgres_base_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// A fresh, empty database for one test; dropped with it.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
                TestDb {
                    url,
                    _dir: Some(dir),
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let base = postgres_base_url().expect("TEST_DATABASE_URL");
                let name = format!("chronicle_t_{}", uuid::Uuid::new_v4().simple());
                let admin = sea_orm::Database::connect(base.as_str())
                    .await
                    .expect("TEST_DATABASE_URL is set but PostgreSQL is unreachable");
                use sea_orm::ConnectionTrait;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                TestDb {
                    url: replace_db_name(&base, &name),
                    _dir: None,
                    pg_name: Some(name),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (Some(name), Some(base)) = (self.pg_name.take(), postgres_base_url()) else {
            return;
        };
        // Drop runs inside the test's runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                use sea_orm::ConnectionTrait;
                let admin = sea_orm::Database::connect(base.as_str()).await.ok()?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .ok()?;
                admin.close().await.ok()
            })
        })
        .join();
    }
}

fn replace_db_name(url: &str, name: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let slash = head.rfind('/').expect("database url with a path");
    let mut out = format!("{}/{}", &head[..slash], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A running server.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub state: AppState,
    /// Kept so the database lives as long as the server.
    _db: TestDb,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Starts the server on 127.0.0.1:0 over a fresh database.
pub async fn spawn_app_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
    let db = TestDb::new(backend).await;
    let mut config = Config::new(db.url.clone());
    configure(&mut config);
    let state = chronicle::build_state(config).await.expect("build state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = oneshot::channel::<()>();
    let server_state = state.clone();
    tokio::spawn(async move {
        chronicle::run(listener, server_state, async {
            let _ = rx.await;
        })
        .await
        .expect("server");
    });
    TestApp {
        addr,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client"),
        state,
        _db: db,
        shutdown: Some(tx),
    }
}

impl TestApp {
    /// The database URL this server uses.
    pub fn db_url(&self) -> String {
        self._db.url.clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// POSTs a GraphQL request and returns the whole response body.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.gql_with(query, variables, &[]).await
    }

    pub async fn gql_with(&self, query: &str, variables: Value, headers: &[(&str, &str)]) -> Value {
        let mut req = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({"query": query, "variables": variables}));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("send");
        resp.json().await.expect("json body")
    }

    /// Runs a query that must succeed; returns `data`.
    pub async fn ok(&self, query: &str, variables: Value) -> Value {
        let body = self.gql(query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// Creates an order with two lines (total 25.25); returns its id.
    pub async fn create_order(&self, customer: &str) -> String {
        let data = self
            .ok(
                CREATE,
                json!({"input": {"customerId": customer, "items": [
                    {"sku": "A", "name": "Apple", "unitPrice": "10.00", "quantity": 2},
                    {"sku": "B", "name": "Banana", "unitPrice": "5.25", "quantity": 1}
                ]}}),
            )
            .await;
        data["createOrder"]["aggregateId"]
            .as_str()
            .expect("aggregateId")
            .to_owned()
    }
}

pub const CREATE: &str = "mutation($input: CreateOrderInput!) { createOrder(input: $input) { aggregateId version position events { eventType version position } } }";
pub const PLACE: &str = "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { aggregateId version position } }";
pub const PAY: &str =
    "mutation($input: PayOrderInput!) { payOrder(input: $input) { aggregateId version position } }";
pub const SHIP: &str = "mutation($input: ShipOrderInput!) { shipOrder(input: $input) { aggregateId version position } }";
pub const CANCEL: &str = "mutation($input: CancelOrderInput!) { cancelOrder(input: $input) { aggregateId version position } }";
pub const ADD_ITEM: &str =
    "mutation($input: AddItemInput!) { addItem(input: $input) { aggregateId version position } }";
pub const REMOVE_ITEM: &str = "mutation($input: RemoveItemInput!) { removeItem(input: $input) { aggregateId version position } }";
pub const HISTORY: &str = "query($id: ID!) { orderHistory(id: $id) { version eventType position metadata { userId correlationId causationId commandId reason } } }";

/// The `extensions.code` of the first error, if any.
pub fn error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

/// Waits until `check` holds, polling with a deadline (it fails loudly when
/// the deadline passes; used for eventually-consistent reads).
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl TestApp {
    /// Reads `order(id)` from the read model once it reflects `version`.
    pub async fn order_at(&self, id: &str, fields: &str, version: i64) -> Value {
        let query = format!("query($id: ID!) {{ order(id: $id) {{ version {fields} }} }}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let data = self.ok(&query, json!({"id": id})).await;
            if data["order"]["version"].as_i64().unwrap_or(0) >= version {
                return data["order"].clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for order {id} at version {version}: {data}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Opens a GraphQL WebSocket with the given subprotocol
    /// (`graphql-transport-ws` or `graphql-ws`) and completes the handshake.
    pub async fn ws(&self, protocol: &'static str, init: Value) -> WsClient {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://{}/graphql", self.addr)
            .into_client_request()
            .expect("ws request");
        request
            .headers_mut()
            .insert("sec-websocket-protocol", protocol.parse().expect("header"));
        let (stream, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("ws connect");
        let mut client = WsClient { stream, protocol };
        client
            .send(json!({"type": "connection_init", "payload": init}))
            .await;
        let ack = client.recv().await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        client
    }
}

/// A GraphQL WebSocket client speaking either subprotocol.
pub struct WsClient {
    stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    protocol: &'static str,
}

impl WsClient {
    async fn send(&mut self, message: Value) {
        use futures::SinkExt;
        use tokio_tungstenite::tungstenite::Message;
        self.stream
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("ws send");
    }

    /// The next protocol message (pings and keep-alives skipped), within a
    /// deadline.
    pub async fn recv(&mut self) -> Value {
        use futures::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            let next = tokio::time::timeout(Duration::from_secs(30), self.stream.next())
                .await
                .expect("timed out waiting for a WebSocket message")
                .expect("WebSocket closed")
                .expect("WebSocket error");
            let text = match next {
                Message::Text(t) => t.to_string(),
                Message::Close(frame) => panic!("WebSocket closed by server: {frame:?}"),
                _ => continue,
            };
            let value: Value = serde_json::from_str(&text).expect("json message");
            match value["type"].as_str() {
                Some("ka") | Some("ping") | Some("pong") => continue,
                _ => return value,
            }
        }
    }

    /// Starts a subscription under `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let kind = if self.protocol == "graphql-ws" {
            "start"
        } else {
            "subscribe"
        };
        self.send(
            json!({"id": id, "type": kind, "payload": {"query": query, "variables": variables}}),
        )
        .await;
    }

    /// The `data` of the next result; panics on an error message.
    pub async fn next_data(&mut self) -> Value {
        let message = self.recv().await;
        let data_type = if self.protocol == "graphql-ws" {
            "data"
        } else {
            "next"
        };
        assert_eq!(message["type"], data_type, "{message}");
        assert!(message["payload"].get("errors").is_none(), "{message}");
        message["payload"]["data"].clone()
    }

    /// The next message, whatever it is (for error cases).
    pub async fn next_message(&mut self) -> Value {
        self.recv().await
    }
}
