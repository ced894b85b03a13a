//! The event store: an append-only log over SeaORM with optimistic
//! concurrency per stream, a global position in commit order, and a command
//! log that makes command ids idempotent.

mod appender;
mod entities;
mod states;
pub mod upcast;

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use crate::db::Db;
use entities::{command_log, events, snapshots};
pub use states::{CachedState, DEFAULT_STATE_CACHE, StateCache};
pub use upcast::Upcasters;

/// Key of the transaction-scoped advisory lock that serializes appends on
/// PostgreSQL (see ARCHITECTURE.md, "global order").
pub const APPEND_LOCK_KEY: i64 = 0x4348_524f_4e49_434c; // "CHRONICL"

/// What the writer believes the stream's version to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Append whatever the stream's version.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must be at exactly this version.
    Exact(i32),
}

impl ExpectedVersion {
    fn admits(self, actual: i32) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::Exact(v) => v == actual,
        }
    }

    /// The version number this expectation names (0 for no stream).
    pub fn as_number(self) -> Option<i32> {
        match self {
            ExpectedVersion::Any => None,
            ExpectedVersion::NoStream => Some(0),
            ExpectedVersion::Exact(v) => Some(v),
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any"),
            ExpectedVersion::NoStream => f.write_str("no stream"),
            ExpectedVersion::Exact(v) => write!(f, "{v}"),
        }
    }
}

/// Who did it, in what request, and why. Stored with every event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    /// Who sent the command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The request it came in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The command that caused the event (its command id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<String>,
    /// The command's idempotency key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_id: Option<String>,
    /// Why, when the command said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Free-form client information (user agent, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
}

/// An event to append.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// e.g. `OrderCreated`.
    pub event_type: String,
    /// The payload's schema version.
    pub schema_version: i32,
    /// The payload.
    pub data: Value,
    /// Who, when and why.
    pub metadata: EventMetadata,
}

/// An event as stored (after upcasting, on every read path).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedEvent {
    /// Global position, in commit order (invariant 3).
    pub position: i64,
    /// Unique id.
    pub event_id: Uuid,
    /// The stream (aggregate) it belongs to.
    pub stream_id: String,
    /// The aggregate type, e.g. `Order`.
    pub stream_type: String,
    /// Version within the stream, from 1 without gaps (invariant 2).
    pub version: i32,
    /// e.g. `OrderCreated`.
    pub event_type: String,
    /// The payload's schema version after upcasting.
    pub schema_version: i32,
    /// The payload, upcast to the current schema.
    pub data: Value,
    /// Who, when and why.
    pub metadata: EventMetadata,
    /// When it was committed.
    pub recorded_at: DateTime<Utc>,
}

impl RecordedEvent {
    /// Decodes the (upcast) payload into an adjacently tagged event enum
    /// (`{"type": …, "data": …}`), such as `OrderEvent`.
    ///
    /// The payload is read in place: no `{"type", "data"}` object is built
    /// (that was a deep copy of every payload on every decode).
    pub fn decode<E: serde::de::DeserializeOwned>(&self) -> Result<E, StoreError> {
        E::deserialize(Tagged {
            event_type: &self.event_type,
            data: &self.data,
        })
        .map_err(|e| StoreError::Corrupt {
            position: self.position,
            message: e.to_string(),
        })
    }
}

/// An event as the adjacently tagged map `{"type": event_type, "data":
/// data}`, without building it: what `RecordedEvent::decode` reads.
struct Tagged<'a> {
    event_type: &'a str,
    data: &'a Value,
}

impl<'de> serde::Deserializer<'de> for Tagged<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_map(TaggedFields {
            tagged: self,
            next: 0,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// The two entries of [`Tagged`], in order.
struct TaggedFields<'a> {
    tagged: Tagged<'a>,
    next: u8,
}

impl<'de> serde::de::MapAccess<'de> for TaggedFields<'de> {
    type Error = serde_json::Error;

    fn next_key_seed<K: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        use serde::de::value::BorrowedStrDeserializer;
        let key = match self.next {
            0 => "type",
            1 => "data",
            _ => return Ok(None),
        };
        seed.deserialize(BorrowedStrDeserializer::new(key))
            .map(Some)
    }

    fn next_value_seed<V: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        use serde::de::value::BorrowedStrDeserializer;
        self.next += 1;
        match self.next {
            1 => seed.deserialize(BorrowedStrDeserializer::new(self.tagged.event_type)),
            _ => seed.deserialize(self.tagged.data),
        }
    }
}

/// Conditions on events for the global feed; all given ones must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// Only this stream.
    pub stream_id: Option<String>,
    /// Only these event types.
    pub event_types: Option<Vec<String>>,
    /// recorded_at >= from.
    pub from: Option<DateTime<Utc>>,
    /// recorded_at <= to.
    pub to: Option<DateTime<Utc>>,
    /// Only events whose metadata names this user.
    pub user_id: Option<String>,
}

impl EventQuery {
    /// Whether an event meets every given condition.
    pub fn matches(&self, e: &RecordedEvent) -> bool {
        self.stream_id.as_ref().is_none_or(|s| *s == e.stream_id)
            && self
                .event_types
                .as_ref()
                .is_none_or(|types| types.contains(&e.event_type))
            && self.from.is_none_or(|from| e.recorded_at >= from)
            && self.to.is_none_or(|to| e.recorded_at <= to)
            && self
                .user_id
                .as_ref()
                .is_none_or(|u| e.metadata.user_id.as_ref() == Some(u))
    }
}

/// Marks an append as the effect of a command, for idempotent retries.
#[derive(Debug, Clone)]
pub struct CommandStamp {
    /// The idempotency key as stored (scoped to the caller by `commands`).
    pub command_id: String,
    /// The command's name (a reused id must name the same command).
    pub command_name: String,
    /// A fingerprint of the command's payload (a reused id must carry the
    /// same payload).
    pub payload_hash: i64,
}

/// What a command id was first used for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandEntry {
    /// The idempotency key.
    pub command_id: String,
    /// The command it was first used for.
    pub command_name: String,
    /// The stream it acted on.
    pub stream_id: String,
    /// Position of its first event.
    pub first_position: i64,
    /// Position of its last event.
    pub last_position: i64,
    /// The stream's version after it.
    pub version: i32,
    /// The fingerprint of its payload (absent for entries written before
    /// fingerprints were kept).
    pub payload_hash: Option<i64>,
}

/// One append of `EventStore::append_batch`.
#[derive(Debug, Clone)]
pub struct Append {
    /// The stream.
    pub stream_id: String,
    /// Its type, e.g. `Order`.
    pub stream_type: String,
    /// What the writer believes its version to be.
    pub expected: ExpectedVersion,
    /// The events, all or nothing.
    pub events: Vec<NewEvent>,
    /// The command they are the effect of, for idempotency.
    pub command: Option<CommandStamp>,
}

/// The result of an append.
#[derive(Debug, Clone)]
pub enum AppendOutcome {
    /// The events were written.
    Appended(Vec<RecordedEvent>),
    /// The command id had already been accepted; nothing was written.
    Duplicate(CommandEntry),
}

/// Why the store failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The stream is not at the expected version; nothing was written.
    #[error("stream {stream_id}: expected version {expected}, actual version {actual}")]
    Concurrency {
        /// The stream.
        stream_id: String,
        /// What the writer expected.
        expected: ExpectedVersion,
        /// The stream's version.
        actual: i32,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    /// A stored row does not decode (or an upcaster could not read it).
    #[error("stored event {position} cannot be decoded: {message}")]
    Corrupt {
        /// The event's position.
        position: i64,
        /// What was wrong.
        message: String,
    },
}

/// A stored snapshot of an aggregate's state after `version`.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The stream.
    pub stream_id: String,
    /// The stream version the state reflects.
    pub version: i32,
    /// The state's schema version (`Aggregate::STATE_SCHEMA_VERSION`).
    pub schema_version: i32,
    /// The serialized state.
    pub state: Value,
    /// When the event at `version` was recorded.
    pub event_recorded_at: DateTime<Utc>,
}

/// Streams remembered as having no snapshot (about 60 bytes each).
const NO_SNAPSHOT_HINTS: usize = 100_000;

/// Default number of events between two snapshots of a stream.
pub const DEFAULT_SNAPSHOT_EVERY: i32 = 100;

/// The event store. Cheap to clone.
#[derive(Clone)]
pub struct EventStore {
    db: Db,
    head: watch::Sender<i64>,
    snapshot_every: i32,
    upcasters: Arc<Upcasters>,
    /// Streams known to have no snapshot (in a state schema version): their
    /// latest state needs one query, not two. A hint only: a stale entry
    /// costs a longer replay, never a wrong state.
    no_snapshot: Arc<std::sync::Mutex<lru::LruCache<(String, i32), ()>>>,
    /// The command layer's folded states (see [`StateCache`]).
    states: StateCache,
    /// The group-commit queue (`None` in the appender's own copy, which
    /// writes directly).
    appender: Option<mpsc::Sender<appender::Request>>,
    /// This store's tag on its append notifications (PostgreSQL), so that
    /// its own listener skips them: the appender has moved the head
    /// already.
    origin: Arc<str>,
}

impl EventStore {
    /// Opens the store and reads the current head position. Events are
    /// upcast with `upcasters` on every read path.
    pub async fn open(db: Db, upcasters: Upcasters) -> Result<EventStore, StoreError> {
        let mut store = EventStore {
            db,
            head: watch::Sender::new(0),
            snapshot_every: DEFAULT_SNAPSHOT_EVERY,
            upcasters: Arc::new(upcasters),
            no_snapshot: Arc::new(std::sync::Mutex::new(lru::LruCache::new(
                NO_SNAPSHOT_HINTS.try_into().expect("non-zero"),
            ))),
            states: StateCache::new(DEFAULT_STATE_CACHE),
            appender: None,
            origin: uuid::Uuid::new_v4().simple().to_string().into(),
        };
        let head = store.head_position().await?;
        store.head.send_replace(head);
        let (tx, rx) = mpsc::channel(appender::QUEUE);
        appender::spawn(store.clone(), rx);
        store.appender = Some(tx);
        Ok(store)
    }

    /// The database this store writes to.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Takes a snapshot every `n` events per stream (n >= 1).
    pub fn with_snapshot_every(mut self, n: i32) -> EventStore {
        self.snapshot_every = n.max(1);
        self
    }

    /// Keeps the folded states of at most `streams` streams for the
    /// command layer (0: none).
    pub fn with_state_cache(mut self, streams: usize) -> EventStore {
        self.states = StateCache::new(streams);
        self
    }

    /// The command layer's folded states.
    pub fn states(&self) -> &StateCache {
        &self.states
    }

    /// Events between two snapshots of a stream.
    pub fn snapshot_every(&self) -> i32 {
        self.snapshot_every
    }

    /// Stores a snapshot (a second one for the same version is ignored).
    pub async fn save_snapshot(
        &self,
        stream_type: &str,
        snapshot: Snapshot,
    ) -> Result<(), StoreError> {
        let (snapshot_stream, snapshot_schema) =
            (snapshot.stream_id.clone(), snapshot.schema_version);
        let tx = self.db.begin_write().await?;
        snapshots::Entity::insert(snapshots::ActiveModel {
            stream_id: Set(snapshot.stream_id),
            stream_type: Set(stream_type.to_owned()),
            schema_version: Set(snapshot.schema_version),
            version: Set(snapshot.version),
            state: Set(snapshot.state),
            event_recorded_at: Set(snapshot.event_recorded_at),
            created_at: Set(Utc::now()),
        })
        .on_conflict(
            sea_orm::sea_query::OnConflict::columns([
                snapshots::Column::StreamId,
                snapshots::Column::SchemaVersion,
                snapshots::Column::Version,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&tx.txn)
        .await?;
        tx.commit().await?;
        self.hints().pop(&(snapshot_stream, snapshot_schema));
        Ok(())
    }

    fn hints(&self) -> std::sync::MutexGuard<'_, lru::LruCache<(String, i32), ()>> {
        // The cache holds no invariant a panic could break.
        self.no_snapshot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The newest snapshot of a stream in `schema_version`, for loading its
    /// latest state: streams known to have none cost no query.
    pub async fn newest_snapshot(
        &self,
        stream_id: &str,
        schema_version: i32,
    ) -> Result<Option<Snapshot>, StoreError> {
        let key = (stream_id.to_owned(), schema_version);
        if self.hints().get(&key).is_some() {
            return Ok(None);
        }
        let found = self
            .latest_snapshot(stream_id, schema_version, None, None)
            .await?;
        if found.is_none() {
            self.hints().put(key, ());
        }
        Ok(found)
    }

    /// The newest snapshot of a stream in `schema_version` that is at most
    /// `max_version` and was taken of events recorded at most at `as_of`.
    /// Snapshots of other schema versions are never returned.
    pub async fn latest_snapshot(
        &self,
        stream_id: &str,
        schema_version: i32,
        max_version: Option<i32>,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<Option<Snapshot>, StoreError> {
        let mut query = snapshots::Entity::find()
            .filter(snapshots::Column::StreamId.eq(stream_id))
            .filter(snapshots::Column::SchemaVersion.eq(schema_version));
        if let Some(max) = max_version {
            query = query.filter(snapshots::Column::Version.lte(max));
        }
        if let Some(t) = as_of {
            query = query.filter(snapshots::Column::EventRecordedAt.lte(t));
        }
        Ok(query
            .order_by_desc(snapshots::Column::Version)
            .one(self.db.conn())
            .await?
            .map(|m| Snapshot {
                stream_id: m.stream_id,
                version: m.version,
                schema_version: m.schema_version,
                state: m.state,
                event_recorded_at: m.event_recorded_at,
            }))
    }

    /// Every snapshot version kept for a stream (any schema), ascending.
    pub async fn snapshot_versions(&self, stream_id: &str) -> Result<Vec<i32>, StoreError> {
        Ok(snapshots::Entity::find()
            .select_only()
            .column(snapshots::Column::Version)
            .filter(snapshots::Column::StreamId.eq(stream_id))
            .order_by_asc(snapshots::Column::Version)
            .into_tuple()
            .all(self.db.conn())
            .await?)
    }

    /// The highest position this process knows to be committed.
    pub fn head(&self) -> i64 {
        *self.head.borrow()
    }

    /// A receiver that changes whenever this process appends (the new head).
    pub fn subscribe_head(&self) -> watch::Receiver<i64> {
        self.head.subscribe()
    }

    /// The tag this store puts on its append notifications.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Tells in-process listeners that events up to `position` exist (also
    /// used when another instance's append is learned of).
    pub fn advance_head(&self, position: i64) {
        self.head.send_if_modified(|h| {
            if position > *h {
                *h = position;
                true
            } else {
                false
            }
        });
    }

    /// Appends `new` to a stream, all or nothing.
    ///
    /// The append joins the next group commit (see `appender`): the version
    /// check, the command-id check, position assignment and the insert
    /// happen atomically, positions drawn only under the append lock (an
    /// advisory lock on PostgreSQL, taken by the INSERT and held through
    /// the commit; the write lock on SQLite), so positions are handed out in
    /// commit order; it returns once the write has committed.
    #[tracing::instrument(skip(self, new, command), fields(events = new.len()))]
    pub async fn append(
        &self,
        stream_id: &str,
        stream_type: &str,
        expected: ExpectedVersion,
        new: Vec<NewEvent>,
        command: Option<&CommandStamp>,
    ) -> Result<AppendOutcome, StoreError> {
        let (request, answer) =
            appender::Request::new(stream_id, stream_type, expected, new, command);
        match &self.appender {
            Some(queue) => queue.send(request).await.map_err(|_| appender::stopped())?,
            // The appender's own copy writes directly, as a batch of one.
            None => appender::write_batch(self, vec![request]).await,
        }
        answer.await.map_err(|_| appender::stopped())?
    }

    /// Writes several appends as ONE group commit, exactly as the appender
    /// batches concurrent ones (each judged on its own; a batch that fails
    /// as a whole is retried append by append). The outcomes are in the
    /// order given.
    pub async fn append_batch(
        &self,
        appends: Vec<Append>,
    ) -> Vec<Result<AppendOutcome, StoreError>> {
        let mut answers = Vec::with_capacity(appends.len());
        let requests = appends
            .into_iter()
            .map(|a| {
                let (request, answer) = appender::Request::new(
                    &a.stream_id,
                    &a.stream_type,
                    a.expected,
                    a.events,
                    a.command.as_ref(),
                );
                answers.push(answer);
                request
            })
            .collect();
        appender::write_batch(self, requests).await;
        let mut out = Vec::with_capacity(answers.len());
        for answer in answers {
            out.push(answer.await.unwrap_or_else(|_| {
                Err(StoreError::Corrupt {
                    position: 0,
                    message: "an append without an outcome".into(),
                })
            }));
        }
        out
    }

    /// The command log entry for a command id, if it was accepted.
    pub async fn find_command(&self, command_id: &str) -> Result<Option<CommandEntry>, StoreError> {
        find_command(self.db.conn(), command_id).await
    }

    /// The events a logged command appended.
    pub async fn command_events(
        &self,
        entry: &CommandEntry,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = events::Entity::find()
            .filter(events::Column::StreamId.eq(entry.stream_id.as_str()))
            .filter(events::Column::Position.between(entry.first_position, entry.last_position))
            .order_by_asc(events::Column::Position)
            .all(self.db.conn())
            .await?;
        rows.into_iter().map(|m| self.to_recorded(m)).collect()
    }

    /// The stream's current version (0 when it does not exist).
    pub async fn stream_version(&self, stream_id: &str) -> Result<i32, StoreError> {
        stream_version(self.db.conn(), stream_id).await
    }

    /// Events of one stream with `from <= version <= to`, in order.
    pub async fn read_stream(
        &self,
        stream_id: &str,
        from_version: i32,
        to_version: Option<i32>,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut query = events::Entity::find()
            .filter(events::Column::StreamId.eq(stream_id))
            .filter(events::Column::Version.gte(from_version));
        if let Some(to) = to_version {
            query = query.filter(events::Column::Version.lte(to));
        }
        let rows = query
            .order_by_asc(events::Column::Version)
            .all(self.db.conn())
            .await?;
        rows.into_iter().map(|m| self.to_recorded(m)).collect()
    }

    /// Up to `limit` events with a position greater than `after`, in
    /// position (= commit) order.
    pub async fn read_all(&self, after: i64, limit: u64) -> Result<Vec<RecordedEvent>, StoreError> {
        self.read_all_on(&self.db, after, limit).await
    }

    /// [`read_all`](Self::read_all) through another handle on the same
    /// database (the projection workers' own pool).
    pub async fn read_all_on(
        &self,
        db: &Db,
        after: i64,
        limit: u64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = events::Entity::find()
            .filter(events::Column::Position.gt(after))
            .order_by_asc(events::Column::Position)
            .limit(limit)
            .all(db.conn())
            .await?;
        rows.into_iter().map(|m| self.to_recorded(m)).collect()
    }

    /// Up to `limit` events after `after` that match `query`, in position
    /// order. Stream, types and time are filtered in SQL; the user (inside
    /// the metadata JSON) while scanning.
    pub async fn read_filtered(
        &self,
        after: i64,
        limit: usize,
        query: &EventQuery,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        const SCAN: u64 = 500;
        let mut out = Vec::new();
        let mut cursor = after;
        loop {
            let mut select = events::Entity::find().filter(events::Column::Position.gt(cursor));
            if let Some(stream) = &query.stream_id {
                select = select.filter(events::Column::StreamId.eq(stream.as_str()));
            }
            if let Some(types) = &query.event_types {
                select = select.filter(events::Column::EventType.is_in(types.iter().cloned()));
            }
            if let Some(from) = query.from {
                select = select.filter(events::Column::RecordedAt.gte(from));
            }
            if let Some(to) = query.to {
                select = select.filter(events::Column::RecordedAt.lte(to));
            }
            let rows = select
                .order_by_asc(events::Column::Position)
                .limit(SCAN)
                .all(self.db.conn())
                .await?;
            let exhausted = (rows.len() as u64) < SCAN;
            for row in rows {
                cursor = row.position;
                let event = self.to_recorded(row)?;
                if query.matches(&event) {
                    out.push(event);
                    if out.len() >= limit {
                        return Ok(out);
                    }
                }
            }
            if exhausted {
                return Ok(out);
            }
        }
    }

    /// How many events lie after `position`, and when the first of them
    /// was recorded: a consumer's lag.
    pub async fn lag_after(
        &self,
        position: i64,
    ) -> Result<(i64, Option<DateTime<Utc>>), StoreError> {
        let count = events::Entity::find()
            .filter(events::Column::Position.gt(position))
            .count(self.db.conn())
            .await?;
        let oldest: Option<DateTime<Utc>> = events::Entity::find()
            .select_only()
            .column(events::Column::RecordedAt)
            .filter(events::Column::Position.gt(position))
            .order_by_asc(events::Column::Position)
            .into_tuple()
            .one(self.db.conn())
            .await?;
        Ok((count as i64, oldest))
    }

    /// The highest position written so far (0 for an empty store).
    pub async fn head_position(&self) -> Result<i64, StoreError> {
        let head: Option<Option<i64>> = events::Entity::find()
            .select_only()
            .column_as(events::Column::Position.max(), "head")
            .into_tuple()
            .one(self.db.conn())
            .await?;
        Ok(head.flatten().unwrap_or(0))
    }
}

async fn stream_version<C: ConnectionTrait>(conn: &C, stream_id: &str) -> Result<i32, StoreError> {
    let version: Option<Option<i32>> = events::Entity::find()
        .select_only()
        .column_as(events::Column::Version.max(), "version")
        .filter(events::Column::StreamId.eq(stream_id))
        .into_tuple()
        .one(conn)
        .await?;
    Ok(version.flatten().unwrap_or(0))
}

async fn find_command<C: ConnectionTrait>(
    conn: &C,
    command_id: &str,
) -> Result<Option<CommandEntry>, StoreError> {
    Ok(command_log::Entity::find_by_id(command_id.to_owned())
        .one(conn)
        .await?
        .map(CommandEntry::from))
}

impl From<command_log::Model> for CommandEntry {
    fn from(m: command_log::Model) -> Self {
        CommandEntry {
            command_id: m.command_id,
            command_name: m.command_name,
            stream_id: m.stream_id,
            first_position: m.first_position,
            last_position: m.last_position,
            version: m.version,
            payload_hash: m.payload_hash,
        }
    }
}

impl EventStore {
    /// An event just written, as a read would return it (upcast like every
    /// read path), built from what was sent instead of read back.
    fn recorded_from_new(
        &self,
        position: i64,
        event_id: Uuid,
        request: &appender::Request,
        version: i32,
        event: &NewEvent,
        recorded_at: DateTime<Utc>,
    ) -> Result<RecordedEvent, StoreError> {
        let (schema_version, data) = self
            .upcasters
            .upcast(
                &request.stream_type,
                &event.event_type,
                event.schema_version,
                event.data.clone(),
            )
            .map_err(|e| StoreError::Corrupt {
                position,
                message: e.to_string(),
            })?;
        Ok(RecordedEvent {
            position,
            event_id,
            stream_id: request.stream_id.clone(),
            stream_type: request.stream_type.clone(),
            version,
            event_type: event.event_type.clone(),
            schema_version,
            data,
            metadata: event.metadata.clone(),
            recorded_at,
        })
    }

    /// A stored row as the rest of the code sees it: metadata decoded and
    /// the payload upcast to the current schema.
    fn to_recorded(&self, m: events::Model) -> Result<RecordedEvent, StoreError> {
        let corrupt = |e: serde_json::Error| StoreError::Corrupt {
            position: m.position,
            message: e.to_string(),
        };
        let metadata = serde_json::from_value(m.metadata).map_err(corrupt)?;
        let (schema_version, data) = self
            .upcasters
            .upcast(&m.stream_type, &m.event_type, m.schema_version, m.data)
            .map_err(corrupt)?;
        Ok(RecordedEvent {
            position: m.position,
            event_id: m.event_id,
            stream_id: m.stream_id,
            stream_type: m.stream_type,
            version: m.version,
            event_type: m.event_type,
            schema_version,
            data,
            metadata,
            recorded_at: m.recorded_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::order::OrderEvent;

    fn event(event_type: &str, data: Value) -> RecordedEvent {
        RecordedEvent {
            position: 7,
            event_id: Uuid::nil(),
            stream_id: "s".into(),
            stream_type: "Order".into(),
            version: 1,
            event_type: event_type.into(),
            schema_version: 2,
            data,
            metadata: EventMetadata::default(),
            recorded_at: DateTime::<Utc>::MIN_UTC,
        }
    }

    #[test]
    fn decoding_in_place_equals_decoding_the_tagged_object() {
        let cases = [
            (
                "OrderCreated",
                json!({"customerId": "c", "items": [
                    {"sku": "A", "name": "a", "unitPrice": "10.00", "quantity": 2}
                ], "total": "20.00"}),
            ),
            ("OrderPlaced", json!({"total": "20.00"})),
            ("OrderCancelled", json!({"reason": "r"})),
            ("OrderShipped", json!({"trackingNumber": "t"})),
            ("NoSuchEvent", json!({})),
            ("OrderCreated", json!({"customerId": 3})),
        ];
        for (event_type, data) in cases {
            let e = event(event_type, data.clone());
            let tagged: Result<OrderEvent, _> =
                serde_json::from_value(json!({"type": event_type, "data": data}));
            match (e.decode::<OrderEvent>(), tagged) {
                (Ok(a), Ok(b)) => assert_eq!(a, b),
                (Err(StoreError::Corrupt { position, message }), Err(b)) => {
                    assert_eq!(position, 7);
                    assert_eq!(message, b.to_string());
                }
                (a, b) => panic!("{event_type}: {a:?} vs {b:?}"),
            }
        }
    }
}
