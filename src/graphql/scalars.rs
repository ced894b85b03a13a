//! Custom scalars.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use rust_decimal::Decimal;

/// Money: a decimal number sent and received as a string ("25.25"), never
/// a float, so no amount is ever rounded on the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money(pub Decimal);

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
