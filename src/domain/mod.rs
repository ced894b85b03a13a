//! The pure core: aggregates, commands, events and business rules.
//!
//! Architecture invariant: nothing in here does I/O or knows about SeaORM,
//! axum or async-graphql. `decide` is a pure function of state and command,
//! `evolve` never fails.

pub mod order;

use thiserror::Error;

/// Why a command was refused by the domain.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    /// The command itself is malformed (empty items, non-positive numbers, …).
    #[error("{0}")]
    Validation(String),
    /// The command is well formed but the aggregate's state forbids it.
    #[error("{0}")]
    BusinessRule(String),
    /// The command targets an aggregate that does not exist.
    #[error("{0}")]
    NotFound(String),
}

/// An event that can be stored: it names its type and the schema version of
/// its payload so the store can upcast old rows.
pub trait DomainEvent: Sized {
    /// The stored `event_type`, e.g. `OrderCreated`.
    fn event_type(&self) -> &'static str;
    /// The schema version this code writes for this event type.
    fn schema_version(&self) -> i32;
}

/// An event-sourced aggregate: a pure `decide`/`evolve` pair over a state.
/// A second aggregate is a new module implementing this, not a fork.
pub trait Aggregate {
    /// The stored `stream_type`, e.g. `Order`.
    const STREAM_TYPE: &'static str;
    /// Schema version of the serialized state, kept with each snapshot.
    const STATE_SCHEMA_VERSION: i32;
    /// The state before the first event is `State::default()`.
    type State: Default + Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned;
    type Command: Send + Sync;
    type Event: DomainEvent + Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned;

    /// Whether the command starts a new stream (its id is chosen per try).
    fn creates_stream(command: &Self::Command) -> bool;
    /// Command handling: a pure function of state and command.
    fn decide(
        state: &Self::State,
        command: &Self::Command,
    ) -> Result<Vec<Self::Event>, DomainError>;
    /// Evolution: never fails, never does I/O.
    fn evolve(state: Self::State, event: &Self::Event) -> Self::State;
}
