//! GraphQL types shared by every aggregate: the event record, command
//! results and the options every command takes. They are not the domain's
//! or the store's types: adapters below convert at the edge.

use async_graphql::{ID, InputObject, Json, SimpleObject};
use chrono::{DateTime, Utc};

use super::error::ApiError;
use super::scalars::Position;
use crate::commands::CommandOutcome;
use crate::store::{EventMetadata, RecordedEvent};

/// Who, when and why, as recorded with an event.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(name = "EventMetadata")]
pub struct EventMetadataView {
    /// The user who sent the command (the token's `sub`).
    pub user_id: Option<String>,
    /// The request the command came in (`x-correlation-id`).
    pub correlation_id: Option<String>,
    /// The command that caused the event.
    pub causation_id: Option<String>,
    /// The command's idempotency key.
    pub command_id: Option<String>,
    /// Why, when the command said (e.g. a cancellation reason).
    pub reason: Option<String>,
    /// The client (user agent).
    pub client: Option<String>,
}

impl From<&EventMetadata> for EventMetadataView {
    fn from(m: &EventMetadata) -> Self {
        EventMetadataView {
            user_id: m.user_id.clone(),
            correlation_id: m.correlation_id.clone(),
            causation_id: m.causation_id.clone(),
            command_id: m.command_id.clone(),
            reason: m.reason.clone(),
            client: m.client.clone(),
        }
    }
}

/// One stored event (upcast to its current schema).
#[derive(SimpleObject, Debug, Clone)]
pub struct EventRecord {
    /// The global position (a decimal i64), in commit order.
    pub position: Position,
    /// Unique id of the event.
    pub event_id: ID,
    /// The stream (aggregate) it belongs to.
    pub stream_id: ID,
    /// The kind of aggregate, e.g. `Order`.
    pub stream_type: String,
    /// Its version within the stream (1, 2, …).
    pub version: i32,
    /// e.g. `OrderPlaced`.
    pub event_type: String,
    /// The payload's schema version (after upcasting).
    pub schema_version: i32,
    /// The payload.
    pub data: Json<serde_json::Value>,
    /// Who, when and why.
    pub metadata: EventMetadataView,
    /// When it was committed.
    pub recorded_at: DateTime<Utc>,
}

impl From<&RecordedEvent> for EventRecord {
    fn from(e: &RecordedEvent) -> Self {
        EventRecord {
            position: Position(e.position),
            event_id: ID(e.event_id.to_string()),
            stream_id: ID(e.stream_id.clone()),
            stream_type: e.stream_type.clone(),
            version: e.version,
            event_type: e.event_type.clone(),
            schema_version: e.schema_version,
            data: Json(e.data.clone()),
            metadata: (&e.metadata).into(),
            recorded_at: e.recorded_at,
        }
    }
}

/// What a command did.
#[derive(SimpleObject, Debug, Clone)]
pub struct CommandResult {
    /// The aggregate the command acted on (for createOrder: the new id).
    pub aggregate_id: ID,
    /// The aggregate's version after the command.
    pub version: i32,
    /// The global position of the command's last event (a decimal i64):
    /// resume the `events` subscription from here.
    pub position: Position,
    /// The events the command appended.
    pub events: Vec<EventRecord>,
}

impl From<CommandOutcome> for CommandResult {
    fn from(o: CommandOutcome) -> Self {
        CommandResult {
            aggregate_id: ID(o.aggregate_id),
            version: o.version,
            position: Position(o.position),
            events: o.events.iter().map(EventRecord::from).collect(),
        }
    }
}

/// The options every command input takes (flattened into each input, so
/// on the wire they are fields of `CreateOrderInput`, `PlaceOrderInput`, …).
#[derive(InputObject, Debug, Clone, Default)]
pub struct CommandOptions {
    /// Optional idempotency key (1 to 200 characters): a repeated
    /// commandId returns the first result and appends nothing.
    pub command_id: Option<ID>,
    /// Optional: refuse the command with CONCURRENCY_CONFLICT unless the
    /// aggregate is at this version. Without it, a command that loses a
    /// race is retried on fresh state.
    pub expected_version: Option<i32>,
}

impl CommandOptions {
    /// Checks the options (the command id's length, a non-negative
    /// version); returns the command id.
    pub fn validate(&self) -> Result<Option<String>, ApiError> {
        if let Some(id) = &self.command_id
            && (id.trim().is_empty()
                || id.chars().count() > 200
                || id.chars().any(char::is_control))
        {
            return Err(ApiError::validation(
                "commandId must be 1 to 200 characters, without control characters",
            ));
        }
        if let Some(v) = self.expected_version
            && v < 0
        {
            return Err(ApiError::validation("expectedVersion must not be negative"));
        }
        Ok(self.command_id.as_ref().map(|c| c.0.clone()))
    }
}
