//! Typed read-model columns: the domain's values stored as text (the
//! columns' SQL type), converted once here instead of re-parsed in each
//! projection. The domain crate knows nothing of SeaORM, so these are
//! newtypes of the adapter layer.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use sea_orm::DeriveValueType;

use crate::domain::order::OrderStatus;

/// Gives a newtype the `Display`/`FromStr` of what it wraps, which is what
/// `DeriveValueType` (as a string column) needs.
macro_rules! text_column {
    ($name:ident($inner:ty)) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = <$inner as FromStr>::Err;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }

        impl From<$inner> for $name {
            fn from(value: $inner) -> Self {
                $name(value)
            }
        }
    };
}

/// An order status in a text column (`PENDING`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, DeriveValueType)]
#[sea_orm(value_type = "String")]
pub struct StatusColumn(pub OrderStatus);
text_column!(StatusColumn(OrderStatus));

/// An exact decimal amount in a text column (`"25.25"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, DeriveValueType)]
#[sea_orm(value_type = "String")]
pub struct MoneyColumn(pub Decimal);
text_column!(MoneyColumn(Decimal));
