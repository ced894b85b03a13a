//! Given / when / then for any [`Aggregate`], without a database.
//!
//! ```
//! use chronicle_domain::order::{OrderAggregate, OrderCommand, OrderError};
//! use chronicle_domain::testing::given;
//!
//! given::<OrderAggregate>(&[])
//!     .when(OrderCommand::PlaceOrder)
//!     .then_err(OrderError::NotFound);
//! ```

use std::fmt::Debug;

use crate::Aggregate;

/// The history a command is decided against.
pub struct Given<A: Aggregate> {
    state: A::State,
}

/// Starts a test from these past events (folded with `evolve`).
pub fn given<A: Aggregate>(events: &[A::Event]) -> Given<A> {
    Given {
        state: events.iter().fold(A::State::default(), A::evolve),
    }
}

impl<A: Aggregate> Given<A> {
    /// Decides `command` against the history.
    pub fn when(self, command: A::Command) -> Then<A> {
        Then {
            result: A::decide(&self.state, &command),
        }
    }
}

/// What `decide` answered.
pub struct Then<A: Aggregate> {
    result: Result<Vec<A::Event>, A::Error>,
}

impl<A: Aggregate> Then<A>
where
    A::Event: PartialEq + Debug,
    A::Error: PartialEq + Debug,
{
    /// Asserts that exactly these events were decided.
    #[track_caller]
    pub fn then(self, expected: impl Into<Vec<A::Event>>) {
        match self.result {
            Ok(events) => assert_eq!(events, expected.into(), "decided other events"),
            Err(e) => panic!("expected events, but the command was refused: {e:?}"),
        }
    }

    /// Asserts that the command was refused by exactly this rule.
    #[track_caller]
    pub fn then_err(self, expected: A::Error) {
        match self.result {
            Ok(events) => panic!("expected refusal {expected:?}, but it decided {events:?}"),
            Err(e) => assert_eq!(e, expected, "refused by another rule"),
        }
    }

    /// Asserts success and returns the events, for further checks.
    #[track_caller]
    pub fn events(self) -> Vec<A::Event> {
        match self.result {
            Ok(events) => events,
            Err(e) => panic!("expected events, but the command was refused: {e:?}"),
        }
    }
}
