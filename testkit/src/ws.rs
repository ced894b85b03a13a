//! A GraphQL WebSocket client speaking `graphql-transport-ws` and
//! `graphql-ws`.

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::server::Endpoint;

impl Endpoint {
    /// Opens a GraphQL WebSocket with the given subprotocol
    /// (`graphql-transport-ws` or `graphql-ws`) and completes the handshake.
    pub async fn ws(&self, protocol: &'static str, init: Value) -> WsClient {
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
        self.stream
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("ws send");
    }

    /// The next protocol message (pings and keep-alives skipped), within a
    /// deadline.
    pub async fn recv(&mut self) -> Value {
        loop {
            let next = tokio::time::timeout(crate::DEADLINE, self.stream.next())
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

    /// Ends the subscription `id` (`complete`, or `stop` in the legacy
    /// protocol).
    pub async fn complete(&mut self, id: &str) {
        let kind = if self.protocol == "graphql-ws" {
            "stop"
        } else {
            "complete"
        };
        self.send(json!({"id": id, "type": kind})).await;
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
