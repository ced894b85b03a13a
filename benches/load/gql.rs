//! One keep-alive HTTP client for every GraphQL request.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// Per-request timeout of the load client.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A reqwest client (keep-alive, no proxy, TCP_NODELAY) bound to one
/// `/graphql` URL. Cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct Gql {
    client: reqwest::Client,
    url: String,
}

impl Gql {
    /// A client for `http://<addr>/graphql`.
    pub fn new(addr: std::net::SocketAddr) -> anyhow::Result<Gql> {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .no_proxy()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(1024)
            .build()?;
        Ok(Gql {
            client,
            url: format!("http://{addr}/graphql"),
        })
    }

    /// The underlying client (for other paths of the same server).
    pub fn http(&self) -> &reqwest::Client {
        &self.client
    }

    /// POSTs a request; `data` when the status is 2xx and there are no
    /// `errors`, an error naming the status and the first error otherwise.
    pub async fn post(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        let body = serde_json::to_vec(&json!({"query": query, "variables": variables}))?;
        let resp = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .context("send")?;
        let status = resp.status();
        let bytes = resp.bytes().await.context("response body")?;
        let mut v: Value = serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "HTTP {status}: not JSON: {}",
                String::from_utf8_lossy(&bytes)
            )
        })?;
        if let Some(e) = v.get("errors").and_then(|e| e.get(0)) {
            bail!(
                "HTTP {status}: {} {}",
                e["extensions"]["code"].as_str().unwrap_or("-"),
                e["message"].as_str().unwrap_or("")
            );
        }
        if !status.is_success() {
            bail!("HTTP {status}: {v}");
        }
        Ok(v["data"].take())
    }
}
