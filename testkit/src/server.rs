//! The real server on 127.0.0.1:0.

use std::net::SocketAddr;
use std::ops::Deref;
use std::time::Duration;

use anyhow::{Context, bail};
use chronicle::{AppState, Config};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::db::{Backend, TestDb};

/// The client's timeout for one request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A client of one address: a server in this process, a server process or
/// a load balancer in front of several. The GraphQL helpers (here, in
/// `typed` and `ws`) are its methods.
pub struct Endpoint {
    /// Where it listens.
    pub addr: SocketAddr,
    /// A client reused for every request.
    pub client: reqwest::Client,
}

impl Endpoint {
    /// A client of `addr` (keep-alive, the [`REQUEST_TIMEOUT`]).
    pub fn at(addr: SocketAddr) -> Endpoint {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .no_proxy()
            .build()
            .expect("an HTTP client");
        Endpoint { addr, client }
    }
}

/// The server (`chronicle::build_state` + `chronicle::run`) on 127.0.0.1:0
/// over a given database, with a client for it. Dropping it signals
/// shutdown; [`Server::stop`] also waits for it.
pub struct Server {
    endpoint: Endpoint,
    /// The server's state (its store, database, projections).
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    /// Starts the server over the database at `url`, `configure` adjusting
    /// the defaults.
    pub async fn start(url: &str, configure: impl FnOnce(&mut Config)) -> anyhow::Result<Server> {
        let mut config = Config::new(url);
        // Tests run side by side on one PostgreSQL (100 connections): each
        // server keeps two open and opens more as it needs them.
        config.db_min_connections = 2;
        configure(&mut config);
        let state = chronicle::build_state(config)
            .await
            .context("build_state")?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("bind")?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(chronicle::run(listener, state.clone(), async {
            let _ = rx.await;
        }));
        Ok(Server {
            endpoint: Endpoint::at(addr),
            state,
            shutdown: Some(tx),
            task,
        })
    }

    /// Signals shutdown and waits (10 s deadline) for the server to end.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match tokio::time::timeout(Duration::from_secs(10), &mut self.task).await {
            Ok(Ok(result)) => result.context("the server ended with an error"),
            Ok(Err(e)) => Err(e).context("the server task failed"),
            Err(_) => {
                self.task.abort();
                bail!("the server did not shut down within 10 s; aborted it")
            }
        }
    }
}

impl Deref for Server {
    type Target = Endpoint;

    fn deref(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl Endpoint {
    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// POSTs a GraphQL request with extra headers; the whole response body,
    /// whatever its status.
    pub async fn try_gql_with(
        &self,
        query: &str,
        variables: Value,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<(reqwest::StatusCode, Value)> {
        let mut req = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({"query": query, "variables": variables}));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.context("send")?;
        let status = resp.status();
        let body = resp.json().await.context("a JSON response body")?;
        Ok((status, body))
    }

    /// The text of `/metrics` (Prometheus); panics unless it is served.
    pub async fn metrics_text(&self) -> String {
        let resp = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("GET /metrics");
        assert!(resp.status().is_success(), "/metrics: {}", resp.status());
        resp.text().await.expect("/metrics text")
    }

    /// POSTs a GraphQL request and returns the whole response body.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.gql_with(query, variables, &[]).await
    }

    /// [`Endpoint::gql`] with extra headers.
    pub async fn gql_with(&self, query: &str, variables: Value, headers: &[(&str, &str)]) -> Value {
        match self.try_gql_with(query, variables, headers).await {
            Ok((_, body)) => body,
            Err(e) => panic!("GraphQL request failed: {e:#}"),
        }
    }

    /// Runs a query that must succeed (a 2xx status, no `errors`); returns
    /// `data`.
    pub async fn data(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        let (status, mut body) = self.try_gql_with(query, variables, &[]).await?;
        if !status.is_success() || body.get("errors").is_some() {
            bail!("HTTP {status}: {body}");
        }
        Ok(body["data"].take())
    }

    /// [`Endpoint::data`] that panics on failure.
    pub async fn ok(&self, query: &str, variables: Value) -> Value {
        match self.data(query, variables).await {
            Ok(data) => data,
            Err(e) => panic!("unexpected errors: {e:#}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A running server over its own fresh database (dropped with it).
pub struct TestApp {
    server: Server,
    /// Kept so the database lives as long as the server.
    db: TestDb,
}

impl Deref for TestApp {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.server
    }
}

impl TestApp {
    /// The server and the database apart, e.g. to stop the server and keep
    /// the database for another one.
    pub fn into_parts(self) -> (Server, TestDb) {
        (self.server, self.db)
    }

    /// The database URL this server uses.
    pub fn db_url(&self) -> String {
        self.db.url.clone()
    }
}

/// The server with the default configuration over a fresh database.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Starts the server on 127.0.0.1:0 over a fresh database, `configure`
/// adjusting the configuration.
pub async fn spawn_app_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
    let db = TestDb::new(backend).await;
    let server = Server::start(&db.url, configure)
        .await
        .unwrap_or_else(|e| panic!("start the server: {e:#}"));
    TestApp { server, db }
}
