//! Command handling: load an aggregate, decide, append — with optimistic
//! concurrency, bounded retries and idempotent command ids. Generic over
//! `Aggregate`, so a second aggregate reuses all of it.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use thiserror::Error;

use crate::domain::{Aggregate, DomainEvent, Refusal, RefusalKind};
use crate::store::{
    AppendOutcome, CachedState, CommandEntry, CommandStamp, EventMetadata, EventStore,
    ExpectedVersion, NewEvent, RecordedEvent, Snapshot, StoreError,
};

/// How often a command without `expectedVersion` is retried on fresh state
/// after losing a race before the conflict is reported.
const MAX_ATTEMPTS: u32 = 8;

/// Who sent a command and how; becomes event metadata.
#[derive(Debug, Clone, Default)]
pub struct CommandContext {
    /// Who sent it.
    pub user_id: Option<String>,
    /// The request it came in (ties events to logs).
    pub correlation_id: Option<String>,
    /// The client's idempotency key: a repeat returns the first result.
    pub command_id: Option<String>,
    /// Whose command ids these are: the same id from another caller is
    /// another command (and never replays the first caller's result).
    pub scope: Option<String>,
    /// When set, the command is refused unless the stream is at this version.
    pub expected_version: Option<i32>,
    /// Why, when the command says (e.g. a cancellation reason).
    pub reason: Option<String>,
    /// Free-form client information (user agent).
    pub client: Option<String>,
}

/// What a command did.
#[derive(Debug, Clone)]
pub struct CommandOutcome {
    /// The stream the command acted on.
    pub aggregate_id: String,
    /// The stream's version after the command.
    pub version: i32,
    /// The global position of the command's last event.
    pub position: i64,
    /// The events it appended (or appended the first time, on a repeat).
    pub events: Vec<RecordedEvent>,
}

/// Why a command did not take effect.
#[derive(Debug, Error)]
pub enum CommandError {
    /// The aggregate refused it (the domain error, in words, and its kind).
    #[error("{message}")]
    Refused {
        /// Validation, business rule or not found.
        kind: RefusalKind,
        /// The domain error's message.
        message: String,
    },
    /// `expectedVersion` did not match, or every retry lost a race.
    #[error("expected version {expected}, but the stream is at version {actual}")]
    Concurrency {
        /// The version the caller expected.
        expected: i32,
        /// The stream's version.
        actual: i32,
    },
    /// The command id was first used for another command or stream.
    #[error("commandId {0} was already used for a different command")]
    CommandIdReused(String),
    /// The store failed (logged; INTERNAL for clients).
    #[error(transparent)]
    Store(StoreError),
}

impl CommandError {
    /// Erases an aggregate's refusal to its kind and message.
    pub fn refused(e: &impl Refusal) -> CommandError {
        CommandError::Refused {
            kind: e.kind(),
            message: e.to_string(),
        }
    }

    /// The `outcome` label of the command metrics.
    fn outcome(&self) -> &'static str {
        match self {
            CommandError::Refused { .. } => "rejected",
            CommandError::Concurrency { .. } => "conflict",
            CommandError::CommandIdReused(_) => "rejected",
            CommandError::Store(_) => "error",
        }
    }
}

impl From<StoreError> for CommandError {
    /// A store conflict is the command's conflict; anything else stays a
    /// store error.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Concurrency {
                expected, actual, ..
            } => CommandError::Concurrency {
                expected: expected.as_number().unwrap_or(actual),
                actual,
            },
            other => CommandError::Store(other),
        }
    }
}

/// An aggregate's state rebuilt from its stream.
#[derive(Debug, Clone)]
pub struct Loaded<S> {
    /// The folded state.
    pub state: S,
    /// The version the state reflects (0: the stream did not exist).
    pub version: i32,
    /// When the event at `version` was recorded.
    pub updated_at: Option<DateTime<Utc>>,
    /// The snapshot the fold started from, if any.
    pub snapshot_version: Option<i32>,
    /// How many events were read and applied (after the snapshot).
    pub events_read: usize,
}

/// Which state of a stream to rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadTarget {
    /// Everything appended so far.
    Latest,
    /// The state after the event with this version.
    AtVersion(i32),
    /// The state including every event recorded at or before this time.
    AsOf(DateTime<Utc>),
}

/// Rebuilds an aggregate: the newest usable snapshot (one of the code's
/// state schema version, at or before the target) plus the events after
/// it. A snapshot that does not decode is ignored and the stream replayed.
pub async fn load<A: Aggregate>(
    store: &EventStore,
    id: &A::Id,
    target: LoadTarget,
) -> Result<Loaded<A::State>, StoreError> {
    load_stream::<A>(store, &id.to_string(), target).await
}

async fn load_stream<A: Aggregate>(
    store: &EventStore,
    stream_id: &str,
    target: LoadTarget,
) -> Result<Loaded<A::State>, StoreError> {
    let (max_version, as_of) = match target {
        LoadTarget::Latest => (None, None),
        LoadTarget::AtVersion(v) => (Some(v), None),
        LoadTarget::AsOf(t) => (None, Some(t)),
    };
    let snapshot = match target {
        LoadTarget::Latest => {
            store
                .newest_snapshot(stream_id, A::STATE_SCHEMA_VERSION)
                .await?
        }
        _ => {
            store
                .latest_snapshot(stream_id, A::STATE_SCHEMA_VERSION, max_version, as_of)
                .await?
        }
    };
    let snapshot = snapshot
        .and_then(|snap| match serde_json::from_value::<A::State>(snap.state.clone()) {
            Ok(state) => Some((snap, state)),
            Err(e) => {
                tracing::warn!(stream_id, version = snap.version, error = %e, "ignoring undecodable snapshot");
                None
            }
        });
    let (mut state, mut version, mut updated_at, snapshot_version) = match snapshot {
        Some((snap, state)) => (
            state,
            snap.version,
            Some(snap.event_recorded_at),
            Some(snap.version),
        ),
        None => (A::State::default(), 0, None, None),
    };
    let events = store
        .read_stream(stream_id, version + 1, max_version)
        .await?;
    let mut events_read = 0;
    for event in &events {
        if as_of.is_some_and(|t| event.recorded_at > t) {
            break;
        }
        state = A::evolve(state, &event.decode::<A::Event>()?);
        version = event.version;
        updated_at = Some(event.recorded_at);
        events_read += 1;
    }
    Ok(Loaded {
        state,
        version,
        updated_at,
        snapshot_version,
        events_read,
    })
}

/// Turns a domain event into a row to append.
pub fn encode<E: DomainEvent + Serialize>(event: &E, metadata: &EventMetadata) -> NewEvent {
    // The enum is adjacently tagged ({"type", "data"}): keep only the payload.
    let data = serde_json::to_value(event)
        .ok()
        .and_then(|mut v| v.get_mut("data").map(serde_json::Value::take))
        .unwrap_or(serde_json::Value::Null);
    NewEvent {
        event_type: event.event_type().to_owned(),
        schema_version: event.schema_version(),
        data,
        metadata: metadata.clone(),
    }
}

impl<S> From<CachedState<S>> for Loaded<S> {
    /// A state kept in the store's `StateCache` (or the empty one): read
    /// from no snapshot and no events.
    fn from(kept: CachedState<S>) -> Self {
        Loaded {
            state: kept.state,
            version: kept.version,
            updated_at: kept.updated_at,
            snapshot_version: None,
            events_read: 0,
        }
    }
}

impl<S> From<Loaded<S>> for CachedState<S> {
    fn from(loaded: Loaded<S>) -> Self {
        CachedState {
            state: loaded.state,
            version: loaded.version,
            updated_at: loaded.updated_at,
        }
    }
}

/// Counts a use of the `StateCache` (`hit`, `miss`, `stale`).
fn count_kept_state(result: &'static str) {
    metrics::counter!("chronicle_state_cache_total", "result" => result).increment(1);
}

/// Takes a snapshot of `state` (the stream's state after `last`) when the
/// append from `before_version` to `last` crossed a multiple of the store's
/// snapshot interval. A snapshot is a cache: failing to write one is
/// logged, never an error for the command.
async fn maybe_snapshot<A: Aggregate>(
    store: &EventStore,
    stream_id: &str,
    before_version: i32,
    state: &A::State,
    last: &RecordedEvent,
) {
    let every = store.snapshot_every();
    if before_version / every == last.version / every {
        return;
    }
    let Ok(state) = serde_json::to_value(state) else {
        return;
    };
    let snapshot = Snapshot {
        stream_id: stream_id.to_owned(),
        version: last.version,
        schema_version: A::STATE_SCHEMA_VERSION,
        state,
        event_recorded_at: last.recorded_at,
    };
    if let Err(e) = store.save_snapshot(A::STREAM_TYPE, snapshot).await {
        tracing::warn!(stream_id, error = %e, "could not save a snapshot");
    }
}

/// Runs one command against one stream, and counts it in the command
/// metrics (`chronicle_commands_total`, `chronicle_command_duration_seconds`
/// by command and outcome).
#[tracing::instrument(skip(store, id, command, ctx), fields(stream_type = A::STREAM_TYPE, stream_id = %id, command_id = ctx.command_id))]
pub async fn execute<A: Aggregate>(
    store: &EventStore,
    id: &A::Id,
    command: &A::Command,
    ctx: &CommandContext,
) -> Result<CommandOutcome, CommandError> {
    let started = Instant::now();
    let name = A::command_name(command);
    let result = execute_inner::<A>(store, &id.to_string(), name, command, ctx).await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) => e.outcome(),
    };
    metrics::counter!("chronicle_commands_total", "command" => name, "outcome" => outcome)
        .increment(1);
    metrics::histogram!("chronicle_command_duration_seconds", "command" => name, "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
    result
}

async fn execute_inner<A: Aggregate>(
    store: &EventStore,
    stream_id: &str,
    command_name: &'static str,
    command: &A::Command,
    ctx: &CommandContext,
) -> Result<CommandOutcome, CommandError> {
    let stamp = ctx.command_id.as_ref().map(|id| CommandStamp {
        command_id: scoped_command_id(ctx.scope.as_deref(), id),
        command_name: command_name.to_owned(),
        payload_hash: fingerprint(command),
    });
    // A creation needs no reads: its stream does not exist yet, and if it
    // does (or its command id was used) the append says so, and the loop
    // below then judges it on the stored state.
    let creates = A::creates_stream(command) && ctx.expected_version.is_none_or(|v| v == 0);
    // A retry of an accepted command returns the first result, whatever has
    // happened to the stream since.
    if !creates
        && let Some(stamp) = &stamp
        && let Some(entry) = store.find_command(&stamp.command_id).await?
    {
        return replay::<A>(store, entry, stream_id, stamp, ctx, command).await;
    }
    // Every event names the command that caused it: the client's id, or
    // one drawn for this command.
    let command_id = ctx
        .command_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let metadata = EventMetadata {
        user_id: ctx.user_id.clone(),
        correlation_id: ctx.correlation_id.clone(),
        causation_id: Some(command_id.clone()),
        command_id: Some(command_id),
        reason: ctx.reason.clone(),
        client: ctx.client.clone(),
    };
    let states = store.states();
    let mut trust_cache = true;
    let mut attempt = 0;
    loop {
        attempt += 1;
        // The state this instance's last command on the stream left, if it
        // is still kept (and, with `expectedVersion`, at that version: if
        // not, only the stream can say whether the caller is behind).
        let first_creation = creates && attempt == 1;
        let cached = if first_creation || !trust_cache {
            None
        } else {
            let kept = states
                .take::<A::State>(A::STREAM_TYPE, A::STATE_SCHEMA_VERSION, stream_id)
                .filter(|c| ctx.expected_version.is_none_or(|v| v == c.version));
            count_kept_state(if kept.is_some() { "hit" } else { "miss" });
            kept
        };
        let from_cache = cached.is_some();
        let loaded = match cached {
            Some(kept) => kept.into(),
            None if first_creation => Loaded::from(CachedState {
                state: A::State::default(),
                version: 0,
                updated_at: None,
            }),
            None => load_stream::<A>(store, stream_id, LoadTarget::Latest).await?,
        };
        if let Some(expected) = ctx.expected_version
            && expected != loaded.version
        {
            return Err(CommandError::Concurrency {
                expected,
                actual: loaded.version,
            });
        }
        let events = match A::decide(&loaded.state, command) {
            Ok(events) => events,
            // A refusal appends nothing, so no version check would catch a
            // kept state that is stale: judge the command again on the
            // stream as stored.
            Err(_) if from_cache => {
                count_kept_state("stale");
                trust_cache = false;
                attempt -= 1;
                continue;
            }
            Err(e) => {
                if loaded.version > 0 {
                    let kept = CachedState::from(loaded);
                    states.put(A::STREAM_TYPE, A::STATE_SCHEMA_VERSION, stream_id, kept);
                }
                return Err(CommandError::refused(&e));
            }
        };
        let new = events.iter().map(|e| encode(e, &metadata)).collect();
        let expected = if loaded.version == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(loaded.version)
        };
        match store
            .append(stream_id, A::STREAM_TYPE, expected, new, stamp.as_ref())
            .await
        {
            Ok(AppendOutcome::Appended(recorded)) => {
                if let Some(last) = recorded.last() {
                    let state = events.iter().fold(loaded.state, A::evolve);
                    maybe_snapshot::<A>(store, stream_id, loaded.version, &state, last).await;
                    let after = CachedState {
                        state,
                        version: last.version,
                        updated_at: Some(last.recorded_at),
                    };
                    states.put(A::STREAM_TYPE, A::STATE_SCHEMA_VERSION, stream_id, after);
                }
                let events = recorded;
                let last = events.last().map(|e| (e.version, e.position));
                let (version, position) = last.unwrap_or((loaded.version, 0));
                metrics::counter!("chronicle_events_appended_total").increment(events.len() as u64);
                return Ok(CommandOutcome {
                    aggregate_id: stream_id.to_owned(),
                    version,
                    position,
                    events,
                });
            }
            Ok(AppendOutcome::Duplicate(entry)) => {
                let stamp = stamp.as_ref().ok_or_else(|| {
                    CommandError::Store(StoreError::Corrupt {
                        position: entry.last_position,
                        message: "a duplicate without a command id".into(),
                    })
                })?;
                return replay::<A>(store, entry, stream_id, stamp, ctx, command).await;
            }
            // The kept state was behind the stream (another instance
            // appended): judge the command again on the stream as stored,
            // at once. This is not a lost race, and costs no attempt.
            Err(StoreError::Concurrency { .. }) if from_cache => {
                count_kept_state("stale");
                trust_cache = false;
                attempt -= 1;
            }
            Err(StoreError::Concurrency { actual, .. })
                if ctx.expected_version.is_none() && attempt < MAX_ATTEMPTS =>
            {
                tracing::debug!(attempt, actual, "lost a race; retrying on fresh state");
                // A little jitter so racers do not collide in lock step.
                let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 8);
                tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 2 + jitter)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The stored key of a client's command id: scoped to the caller, and
/// unambiguous (the scope is length-prefixed).
fn scoped_command_id(scope: Option<&str>, command_id: &str) -> String {
    let scope = scope.unwrap_or("");
    format!("{}:{scope}:{command_id}", scope.len())
}

/// A stable fingerprint of a command's payload (FNV-1a over its `Debug`
/// form): equal for a retry, different for another command under the same
/// id. Not a security boundary: ids are scoped to the caller already.
fn fingerprint(command: &impl std::fmt::Debug) -> i64 {
    let text = format!("{command:?}");
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    i64::from_ne_bytes(hash.to_ne_bytes())
}

async fn replay<A: Aggregate>(
    store: &EventStore,
    entry: CommandEntry,
    stream_id: &str,
    stamp: &CommandStamp,
    ctx: &CommandContext,
    command: &A::Command,
) -> Result<CommandOutcome, CommandError> {
    // A creation names a fresh stream id on every try, so only the command
    // and its payload can be compared; any other command must name the
    // same stream.
    let same_stream = A::creates_stream(command) || entry.stream_id == stream_id;
    let same_payload = entry
        .payload_hash
        .is_none_or(|hash| hash == stamp.payload_hash);
    if entry.command_name != stamp.command_name || !same_stream || !same_payload {
        return Err(CommandError::CommandIdReused(
            ctx.command_id.clone().unwrap_or_default(),
        ));
    }
    let events = store.command_events(&entry).await?;
    Ok(CommandOutcome {
        aggregate_id: entry.stream_id,
        version: entry.version,
        position: entry.last_position,
        events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_ids_are_scoped_unambiguously() {
        assert_ne!(
            scoped_command_id(Some("a"), "b:c"),
            scoped_command_id(Some("a:b"), "c")
        );
        assert_eq!(scoped_command_id(Some("alice"), "k"), "5:alice:k");
    }

    #[test]
    fn fingerprints_tell_payloads_apart() {
        assert_eq!(fingerprint(&("place", 1)), fingerprint(&("place", 1)));
        assert_ne!(
            fingerprint(&("pay", "10.00")),
            fingerprint(&("pay", "10.01"))
        );
    }
}
