//! Chronicle's pure core: aggregates, commands, events and business rules.
//!
//! Architecture invariant: nothing in this crate does I/O or knows about
//! SeaORM, axum or async-graphql; its dependencies (serde, rust_decimal,
//! thiserror, uuid without random generation) make that a compile-time
//! fact. `decide` is a pure function of state and command, `evolve` never
//! fails (invariant 7 in ARCHITECTURE.md).

pub mod order;
pub mod testing;

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The category of a refused command, which is all the layers above need to
/// know to answer a client (the message says the rest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalKind {
    /// The command itself is malformed (empty items, non-positive numbers, …).
    Validation,
    /// The command is well formed but the aggregate's state forbids it.
    BusinessRule,
    /// The command targets an aggregate that does not exist.
    NotFound,
}

/// Why an aggregate refused a command: a domain error enum per aggregate
/// (`OrderError`), each variant naming the rule, so that tests can assert
/// the exact rule that fired.
pub trait Refusal: std::error::Error + Send + Sync + 'static {
    /// The category of this refusal.
    fn kind(&self) -> RefusalKind;
}

/// An event that can be stored: it names its type and the schema version of
/// its payload so the store can upcast old rows.
pub trait DomainEvent: Sized {
    /// The stored `event_type`, e.g. `OrderCreated`.
    fn event_type(&self) -> &'static str;
    /// The schema version this code writes for this event type.
    fn schema_version(&self) -> i32;
}

/// The id of an aggregate's stream: parsed once at the edge, written as a
/// string in the store.
pub trait StreamId: fmt::Display + fmt::Debug + Clone + Send + Sync + 'static {}

impl StreamId for String {}

/// One step that rewrites a stored payload of `EVENT_TYPE` from schema
/// version `FROM_VERSION` to `FROM_VERSION + 1`. Typed: the store decodes
/// the old shape, calls `upcast`, and encodes the new one.
pub trait Upcast: 'static {
    /// The event type this step applies to (within its aggregate's streams).
    const EVENT_TYPE: &'static str;
    /// The schema version this step reads; it produces the next one.
    const FROM_VERSION: i32;
    /// The payload as stored at `FROM_VERSION`.
    type From: DeserializeOwned;
    /// The payload at `FROM_VERSION + 1`.
    type To: Serialize;
    /// Rewrites one payload. Pure, never fails.
    fn upcast(old: Self::From) -> Self::To;
}

/// Where an aggregate registers its upcasters (the store implements it).
pub trait UpcastRegistry {
    /// Registers `U` for events of streams of `stream_type`.
    fn register<U: Upcast>(&mut self, stream_type: &'static str);
}

/// An event-sourced aggregate: a pure `decide`/`evolve` pair over a state.
/// A second aggregate is a new type implementing this, not a fork: the
/// store, command handling, snapshots and projections are generic over it.
pub trait Aggregate: 'static {
    /// The stored `stream_type`, e.g. `Order`.
    const STREAM_TYPE: &'static str;
    /// Schema version of the serialized state, kept with each snapshot.
    const STATE_SCHEMA_VERSION: i32;
    /// The stream id type (e.g. `OrderId`).
    type Id: StreamId;
    /// The state before the first event is `State::default()`.
    type State: Default + Clone + Send + Sync + Serialize + DeserializeOwned;
    /// What callers may ask. `Debug` gives the fingerprint that tells a
    /// retry (same command id, same payload) from a reuse.
    type Command: fmt::Debug + Send + Sync;
    /// What happened; adjacently tagged (`{"type", "data"}`) in JSON.
    type Event: DomainEvent + Clone + Send + Sync + Serialize + DeserializeOwned;
    /// Why a command is refused.
    type Error: Refusal;

    /// A stable name of the command, for logs, metrics and the idempotency log.
    fn command_name(command: &Self::Command) -> &'static str;
    /// Whether the command starts a new stream (its id is chosen per try).
    fn creates_stream(command: &Self::Command) -> bool;
    /// Command handling: a pure function of state and command.
    fn decide(
        state: &Self::State,
        command: &Self::Command,
    ) -> Result<Vec<Self::Event>, Self::Error>;
    /// Evolution: never fails, never does I/O.
    fn evolve(state: Self::State, event: &Self::Event) -> Self::State;
    /// Registers the upcasters of this aggregate's old event schemas.
    fn register_upcasters(registry: &mut impl UpcastRegistry) {
        let _ = registry;
    }
}
