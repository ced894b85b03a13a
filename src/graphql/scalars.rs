//! Custom scalars and value types at the GraphQL edge.

use std::borrow::Cow;

use async_graphql::parser::types::Field;
use async_graphql::registry::Registry;
use async_graphql::{
    ContextSelectionSet, InputValueError, InputValueResult, OutputType, Positioned, Scalar,
    ScalarType, ServerResult, Value,
};
use rust_decimal::Decimal;

use super::error::ApiError;

/// Money: a decimal number sent and received as a string ("25.25"), never
/// a float, so no amount is ever rounded on the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money(pub Decimal);

/// An exact decimal number as a string, e.g. "25.25" (whole numbers may
/// also be sent as JSON integers). Money is never a float.
#[Scalar(name = "Decimal")]
impl ScalarType for Money {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => s
                .trim()
                .parse::<Decimal>()
                .map(Money)
                .map_err(|_| InputValueError::custom(format!("{s:?} is not a decimal number"))),
            // Whole numbers are exact; fractions must come as strings.
            Value::Number(n) if n.is_i64() => Ok(Money(Decimal::from(n.as_i64().unwrap_or(0)))),
            _ => Err(InputValueError::custom(
                "a Decimal is a string such as \"25.25\"",
            )),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

/// A global position in the event log (commit order). On the wire it is a
/// `String` holding a decimal i64, as the contract says; in Rust it is
/// never a bare string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position(pub i64);

impl Position {
    /// Parses a client-sent position (`what` names the argument in the
    /// error): a non-negative decimal integer in a string.
    pub fn parse(what: &str, value: &str) -> Result<Position, ApiError> {
        value
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|p| *p >= 0)
            .map(Position)
            .ok_or_else(|| {
                ApiError::validation(format!("{what} must be a non-negative integer in a string"))
            })
    }
}

impl From<i64> for Position {
    fn from(p: i64) -> Self {
        Position(p)
    }
}

impl OutputType for Position {
    fn type_name() -> Cow<'static, str> {
        <String as OutputType>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <String as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        _ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        Ok(Value::String(self.0.to_string()))
    }
}
