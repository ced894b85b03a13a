//! The event relay: every event, in global order, published to NATS
//! JetStream for other services (issue 11).
//!
//! It is a `Projection` named `nats_relay` without a read model, so the
//! engine gives it what every projection has: its own checkpoint, one
//! leader at a time on PostgreSQL, lag in `projections` and /metrics, and
//! FAILED with `lastError` and a retry with backoff when NATS refuses.
//!
//! Delivery: the engine hands it each batch in `deliver`, before the
//! batch's transaction (no database lock is held during network I/O). It
//! sends every publish of the batch, then awaits the acks in order; the
//! first failed or late ack names the failing event, and the engine commits
//! the checkpoint of the events before it. The checkpoint moves only after
//! every ack, so a crash between the ack and the commit publishes those
//! events again: at least once. Each message carries `Nats-Msg-Id` = the
//! event id, and the stream drops a repeated id within its duplicate window
//! (`DUPLICATE_WINDOW`), so consumers see each event once. A relay that
//! stays down longer than the window and had crashed between an ack and
//! its checkpoint can publish an event twice; consumers that must never
//! see one twice can dedupe by `Chronicle-Position`.

use std::fmt;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use async_nats::{HeaderMap, header::NATS_MESSAGE_ID};
use async_trait::async_trait;
use sea_orm::{DatabaseTransaction, DbErr};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::db::Db;
use crate::projections::{BatchError, Projection, ProjectionError, Touched};
use crate::store::RecordedEvent;

/// The relay's projection name (its checkpoint's key).
pub const NAME: &str = "nats_relay";
/// Default JetStream stream name.
pub const DEFAULT_STREAM: &str = "CHRONICLE_EVENTS";
/// Default subject prefix: subjects are `<prefix>.<stream type>.<event type>`.
pub const DEFAULT_SUBJECT_PREFIX: &str = "chronicle.events";
/// How long the stream remembers a `Nats-Msg-Id` to drop a repeat.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// Longest wait for one publish's ack (and for a JetStream API request).
pub const ACK_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for a connection to NATS.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where and how to relay.
#[derive(Clone)]
pub struct RelayConfig {
    /// The NATS server(s), e.g. `nats://user:pass@host:4222` (credentials
    /// are never logged).
    pub url: String,
    /// The JetStream stream (created if missing).
    pub stream: String,
    /// The subject prefix (dot-separated tokens, no wildcards).
    pub subject_prefix: String,
    /// Longest wait for one ack.
    pub ack_timeout: Duration,
    /// Longest wait for a connection.
    pub connect_timeout: Duration,
}

impl RelayConfig {
    /// Defaults (stream `CHRONICLE_EVENTS`, prefix `chronicle.events`) for
    /// the NATS server at `url`.
    pub fn new(url: impl Into<String>) -> RelayConfig {
        RelayConfig {
            url: url.into(),
            stream: DEFAULT_STREAM.into(),
            subject_prefix: DEFAULT_SUBJECT_PREFIX.into(),
            ack_timeout: ACK_TIMEOUT,
            connect_timeout: CONNECT_TIMEOUT,
        }
    }

    /// Refuses a stream name or prefix NATS would not accept.
    pub fn validate(&self) -> Result<(), String> {
        if self.url.trim().is_empty() {
            return Err("the NATS URL is empty".into());
        }
        let bad_name = |c: char| c == '.' || c == '*' || c == '>' || c.is_whitespace() || c == '/';
        if self.stream.is_empty() || self.stream.chars().any(bad_name) {
            return Err(format!(
                "invalid NATS stream name {:?}: not empty, no '.', '*', '>', '/' or whitespace",
                self.stream
            ));
        }
        let bad_token = |t: &str| t.is_empty() || t.chars().any(|c| sanitized(c) != c);
        if self.subject_prefix.split('.').any(bad_token) {
            return Err(format!(
                "invalid NATS subject prefix {:?}: dot-separated non-empty tokens without '*', '>' or whitespace",
                self.subject_prefix
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for RelayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelayConfig")
            .field("url", &redact(&self.url))
            .field("stream", &self.stream)
            .field("subject_prefix", &self.subject_prefix)
            .field("ack_timeout", &self.ack_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// The userinfo of each server in a (comma-separated) NATS URL list: the
/// user (if a password follows) and the secret (password or token).
fn userinfo(url: &str) -> impl Iterator<Item = (&str, Option<&str>, &str)> {
    url.split(',').map(str::trim).map(|server| {
        let start = server.find("://").map_or(0, |s| s + 3);
        match server.rfind('@') {
            Some(at) if at >= start => {
                let (user, secret) = match server[start..at].split_once(':') {
                    Some((user, password)) => (Some(user), password),
                    None => (None, &server[start..at]),
                };
                (&server[..start], user, secret)
            }
            _ => (server, None, ""),
        }
    })
}

/// The passwords and tokens in a NATS URL list.
fn secrets(url: &str) -> impl Iterator<Item = &str> {
    userinfo(url)
        .map(|(_, _, secret)| secret)
        .filter(|s| !s.is_empty())
}

/// A NATS URL list for logs: `nats://user:***@host`, `nats://***@host`
/// (a token).
pub fn redact(url: &str) -> String {
    let mut out = Vec::new();
    for (server, (scheme, user, secret)) in url.split(',').map(str::trim).zip(userinfo(url)) {
        if secret.is_empty() {
            out.push(server.to_owned());
            continue;
        }
        let host = server.rfind('@').map_or("", |at| &server[at + 1..]);
        out.push(match user {
            Some(user) => format!("{scheme}{user}:***@{host}"),
            None => format!("{scheme}***@{host}"),
        });
    }
    out.join(",")
}

/// A subject token's character: '.', '*', '>' and whitespace become '_'.
fn sanitized(c: char) -> char {
    if c == '.' || c == '*' || c == '>' || c.is_whitespace() || c.is_control() {
        '_'
    } else {
        c
    }
}

/// One subject token from free text (never empty, never a wildcard).
pub fn subject_token(text: &str) -> String {
    if text.is_empty() {
        return "_".into();
    }
    text.chars().map(sanitized).collect()
}

/// A header value without the characters that would break the header
/// block (CR, LF and other control characters become spaces).
fn header_value(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Whether the stream subject `pattern` covers every subject under
/// `prefix` (`<prefix>.<anything>`).
pub fn covers(pattern: &str, prefix: &str) -> bool {
    let target: Vec<&str> = prefix.split('.').collect();
    for (i, token) in pattern.split('.').enumerate() {
        if token == ">" {
            return true;
        }
        match target.get(i) {
            Some(t) if token == "*" || token == *t => {}
            _ => return false,
        }
    }
    false
}

/// The relay: a projection without a read model whose `deliver` publishes.
pub struct NatsRelay {
    config: RelayConfig,
    /// The JetStream context once connected and the stream ensured.
    connected: Mutex<Option<jetstream::Context>>,
}

impl NatsRelay {
    /// A relay that connects on first use (the server starts whether NATS
    /// is up or not); refuses a bad stream name or prefix.
    pub fn new(config: RelayConfig) -> Result<NatsRelay, String> {
        config.validate()?;
        Ok(NatsRelay {
            config,
            connected: Mutex::new(None),
        })
    }

    /// Its configuration.
    pub fn config(&self) -> &RelayConfig {
        &self.config
    }

    /// The subject of an event: `<prefix>.<stream type>.<event type>`.
    pub fn subject(&self, event: &RecordedEvent) -> String {
        format!(
            "{}.{}.{}",
            self.config.subject_prefix,
            subject_token(&event.stream_type),
            subject_token(&event.event_type)
        )
    }

    /// "NATS at <url without secrets>: <what>", the relay's error text.
    fn error(&self, what: impl fmt::Display) -> String {
        let mut what = what.to_string();
        // Whatever the client library says, no password or token in it.
        for secret in secrets(&self.config.url) {
            what = what.replace(secret, "***");
        }
        format!("NATS at {}: {what}", redact(&self.config.url))
    }

    /// The JetStream context: connects and ensures the stream on first use
    /// (and again after the stream went missing).
    pub async fn connect(&self) -> Result<jetstream::Context, String> {
        let mut connected = self.connected.lock().await;
        if let Some(js) = connected.as_ref() {
            return match js.client().connection_state() {
                async_nats::connection::State::Connected => Ok(js.clone()),
                // The client reconnects by itself; fail fast meanwhile
                // rather than wait for acks that cannot come.
                state => Err(self.error(format!("not connected ({state:?}); reconnecting"))),
            };
        }
        let client = self
            .connect_options()
            .name("chronicle-relay")
            .connection_timeout(self.config.connect_timeout)
            .request_timeout(Some(self.config.ack_timeout))
            .connect(self.config.url.as_str())
            .await
            .map_err(|e| self.error(format!("cannot connect: {e}")))?;
        let js = jetstream::ContextBuilder::new()
            .timeout(self.config.ack_timeout)
            .build(client);
        self.ensure_stream(&js).await?;
        tracing::info!(
            url = %redact(&self.config.url),
            stream = %self.config.stream,
            prefix = %self.config.subject_prefix,
            "relaying events to NATS JetStream"
        );
        *connected = Some(js.clone());
        Ok(js)
    }

    /// Credentials from the (first) URL: `user:password@` or `token@`. The
    /// client takes the addresses from the URL but not its credentials.
    fn connect_options(&self) -> async_nats::ConnectOptions {
        let options = async_nats::ConnectOptions::new();
        let first = self.config.url.split(',').next().unwrap_or_default().trim();
        let Ok(addr) = first.parse::<async_nats::ServerAddr>() else {
            return options;
        };
        match (addr.username(), addr.password()) {
            (Some(user), Some(password)) => {
                options.user_and_password(user.to_owned(), password.to_owned())
            }
            (Some(token), None) => options.token(token.to_owned()),
            _ => options,
        }
    }

    /// Creates the stream if missing; an existing one must take every
    /// subject under the prefix.
    async fn ensure_stream(&self, js: &jetstream::Context) -> Result<(), String> {
        let prefix = &self.config.subject_prefix;
        let stream = js
            .get_or_create_stream(stream::Config {
                name: self.config.stream.clone(),
                subjects: vec![format!("{prefix}.>")],
                duplicate_window: DUPLICATE_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(|e| {
                self.error(format!(
                    "cannot get or create stream {}: {e}",
                    self.config.stream
                ))
            })?;
        let info = stream.cached_info();
        let subjects = &info.config.subjects;
        if !subjects.iter().any(|s| covers(s, prefix)) {
            return Err(self.error(format!(
                "stream {} exists with subjects {subjects:?}, which do not cover {prefix}.>: \
                 add that subject to it or choose another --nats-stream or --nats-subject-prefix",
                self.config.stream
            )));
        }
        if info.config.duplicate_window < DUPLICATE_WINDOW {
            tracing::warn!(
                stream = %self.config.stream,
                window = ?info.config.duplicate_window,
                "the stream's duplicate window is shorter than 2 minutes: a republish after a crash may reach consumers twice"
            );
        }
        Ok(())
    }

    /// Forgets the connection (the next batch connects again and ensures
    /// the stream).
    async fn reset(&self) {
        *self.connected.lock().await = None;
    }

    /// The headers of an event's message.
    pub fn headers(event: &RecordedEvent) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(NATS_MESSAGE_ID, event.event_id.to_string().as_str());
        h.insert("Chronicle-Position", event.position.to_string().as_str());
        h.insert(
            "Chronicle-Stream-Id",
            header_value(&event.stream_id).as_str(),
        );
        h.insert(
            "Chronicle-Stream-Type",
            header_value(&event.stream_type).as_str(),
        );
        h.insert("Chronicle-Version", event.version.to_string().as_str());
        h.insert(
            "Chronicle-Event-Type",
            header_value(&event.event_type).as_str(),
        );
        h.insert(
            "Chronicle-Schema-Version",
            event.schema_version.to_string().as_str(),
        );
        h.insert(
            "Chronicle-Recorded-At",
            event.recorded_at.to_rfc3339().as_str(),
        );
        let m = &event.metadata;
        for (name, value) in [
            ("Chronicle-User-Id", &m.user_id),
            ("Chronicle-Correlation-Id", &m.correlation_id),
            ("Chronicle-Causation-Id", &m.causation_id),
            ("Chronicle-Command-Id", &m.command_id),
            ("Chronicle-Reason", &m.reason),
        ] {
            if let Some(value) = value {
                h.insert(name, header_value(value).as_str());
            }
        }
        h
    }

    /// The failure of the event at `index`.
    fn refused(&self, events: &[&RecordedEvent], index: usize, what: String) -> BatchError {
        let index = index.min(events.len().saturating_sub(1));
        match events.get(index) {
            Some(event) => BatchError::at(index, ProjectionError::handler(event, what)),
            None => BatchError::at(
                0,
                ProjectionError::Handler {
                    position: 0,
                    event_type: String::new(),
                    message: what,
                },
            ),
        }
    }
}

#[async_trait]
impl Projection for NatsRelay {
    fn name(&self) -> &'static str {
        NAME
    }

    fn handles(&self, _stream_type: &str, _event_type: &str) -> bool {
        true
    }

    /// Sends every publish of the batch, then awaits the acks in order.
    async fn deliver(&self, events: &[&RecordedEvent]) -> Result<(), BatchError> {
        let js = self
            .connect()
            .await
            .map_err(|e| self.refused(events, 0, e))?;
        let mut acks = Vec::with_capacity(events.len());
        for (i, event) in events.iter().enumerate() {
            let payload = serde_json::to_vec(&event.data).map_err(|e| {
                self.refused(events, i, format!("cannot encode the event's data: {e}"))
            })?;
            match js
                .publish_with_headers(self.subject(event), Self::headers(event), payload.into())
                .await
            {
                Ok(ack) => acks.push(ack),
                Err(e) => return Err(self.refused(events, i, self.error(format!("publish: {e}")))),
            }
        }
        for (i, ack) in acks.into_iter().enumerate() {
            if let Err(e) = ack.await {
                if e.kind() == jetstream::context::PublishErrorKind::StreamNotFound {
                    // Deleted under us: create it again on the next try.
                    self.reset().await;
                }
                return Err(self.refused(events, i, self.error(format!("publish ack: {e}"))));
            }
        }
        metrics::counter!("chronicle_relay_published_total").increment(events.len() as u64);
        Ok(())
    }

    /// Nothing to write: the engine's transaction only moves the checkpoint.
    async fn apply_batch(
        &self,
        _txn: &DatabaseTransaction,
        _generation: i32,
        _events: &[&RecordedEvent],
    ) -> Result<Vec<Touched>, BatchError> {
        Ok(Vec::new())
    }

    async fn clear(&self, _txn: &DatabaseTransaction, _generation: i32) -> Result<(), DbErr> {
        Ok(())
    }

    async fn dump(&self, _db: &Db, _generation: i32) -> Result<Vec<Value>, DbErr> {
        Ok(Vec::new())
    }

    fn rebuildable(&self) -> bool {
        false
    }

    fn announces(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_never_split_or_match_wildcards() {
        assert_eq!(subject_token("Order"), "Order");
        assert_eq!(subject_token("a.b *>\tc"), "a_b____c");
        assert_eq!(subject_token(""), "_");
    }

    #[test]
    fn stream_subjects_cover_the_prefix_or_not() {
        let p = "chronicle.events";
        assert!(covers("chronicle.events.>", p));
        assert!(covers(">", p));
        assert!(covers("chronicle.>", p));
        assert!(covers("*.events.>", p));
        assert!(!covers("chronicle.events.Order.>", p));
        assert!(!covers("chronicle.events", p));
        assert!(!covers("chronicle.events.*", p));
        assert!(!covers("other.>", p));
    }

    #[test]
    fn config_refuses_wildcards_and_hides_the_password() {
        let mut c = RelayConfig::new("nats://u:secret@h:4222");
        assert!(c.validate().is_ok());
        assert!(!format!("{c:?}").contains("secret"));
        c.subject_prefix = "a.*".into();
        assert!(c.validate().is_err());
        c.subject_prefix = "a..b".into();
        assert!(c.validate().is_err());
        c.subject_prefix = "a.b".into();
        c.stream = "A.B".into();
        assert!(c.validate().is_err());
    }

    #[test]
    fn secrets_never_reach_a_log_line() {
        assert_eq!(redact("nats://u:pw@h:4222"), "nats://u:***@h:4222");
        assert_eq!(redact("nats://tok3n@h:4222"), "nats://***@h:4222");
        assert_eq!(redact("nats://h:4222"), "nats://h:4222");
        assert_eq!(
            redact("nats://a:pw1@h1:4222, tls://tok@h2"),
            "nats://a:***@h1:4222,tls://***@h2"
        );
        assert_eq!(redact("u:pw@h:4222"), "u:***@h:4222");
        let relay = NatsRelay::new(RelayConfig::new("nats://tok3n@h:4222"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            relay.error("auth failed for tok3n"),
            "NATS at nats://***@h:4222: auth failed for ***"
        );
    }

    #[test]
    fn header_values_cannot_break_the_header_block() {
        assert_eq!(header_value("a\r\nB: c"), "a  B: c");
    }
}
