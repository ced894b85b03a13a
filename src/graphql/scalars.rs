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

/// An exact decimal number as a string, e.g. "25.25": digits with an
/// optional sign and at most 4 decimal places (no exponent, no
/// separators); whole numbers may also be sent as JSON integers. Money is
/// never a float and never rounded.
#[Scalar(name = "Decimal")]
impl ScalarType for Money {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => parse_money(s).map(Money).map_err(InputValueError::custom),
            // Whole numbers are exact; fractions must come as strings.
            Value::Number(n) => n
                .as_i64()
                .map(|i| Money(Decimal::from(i)))
                .ok_or_else(|| InputValueError::custom("a Decimal is a string such as \"25.25\"")),
            _ => Err(InputValueError::custom(
                "a Decimal is a string such as \"25.25\"",
            )),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

/// Most decimal places a `Decimal` input may have.
pub const MAX_SCALE: usize = 4;

/// Parses `[-]digits[.digits]` exactly, with at most `MAX_SCALE` places.
fn parse_money(text: &str) -> Result<Decimal, String> {
    let s = text.trim();
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    let shown: String = text.chars().take(40).collect();
    if whole.is_empty() || !digits(whole) || !digits(fraction) || unsigned.ends_with('.') {
        return Err(format!(
            "{shown:?} is not a decimal number such as \"25.25\""
        ));
    }
    if fraction.len() > MAX_SCALE {
        return Err(format!(
            "{shown:?} has more than {MAX_SCALE} decimal places"
        ));
    }
    Decimal::from_str_exact(s).map_err(|_| format!("{shown:?} is too large for a Decimal"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_exact_or_refused() {
        assert_eq!(parse_money("25.25"), Ok("25.25".parse().expect("decimal")));
        assert_eq!(parse_money("-3"), Ok(Decimal::from(-3)));
        assert_eq!(
            parse_money(" 0.0001 "),
            Ok("0.0001".parse().expect("decimal"))
        );
        for bad in [
            "1_0", "1e5", "1E5", "", ".5", "5.", "+5", "1.00001", "NaN", "inf", "1,5", "0x10",
            "--1", "1.2.3", "١٢",
        ] {
            assert!(parse_money(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(parse_money(&"9".repeat(40)).is_err(), "too large");
    }
}
