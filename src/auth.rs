//! Who is calling: JWT (HS256) bearer tokens, or an open server when no
//! secret is configured (everyone is admin, user "anonymous"; such a server
//! only binds loopback addresses).

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use serde::Deserialize;

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sees and changes only their own orders.
    Customer,
    /// Sees and changes every order.
    Staff,
    /// Staff, plus operations (rebuilds).
    Admin,
}

/// The authenticated caller, or nobody.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No (valid) credentials on a server that requires them.
    Anonymous,
    /// A verified caller.
    User {
        /// The token's `sub`.
        user_id: String,
        /// The token's `role`.
        role: Role,
        /// The token's `customer_id` (customers only).
        customer_id: Option<String>,
    },
}

impl Principal {
    /// The caller on a server without a JWT secret.
    pub fn open_admin() -> Principal {
        Principal::User {
            user_id: "anonymous".into(),
            role: Role::Admin,
            customer_id: None,
        }
    }
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    role: String,
    #[serde(default)]
    customer_id: Option<String>,
}

/// Why credentials were refused. The message is safe to show to clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AuthError(pub String);

/// Verifies bearer tokens.
#[derive(Clone)]
pub struct Authenticator {
    key: Option<DecodingKey>,
}

impl Authenticator {
    /// Verifies HS256 tokens signed with `secret`; `None` runs open.
    pub fn new(secret: Option<&str>) -> Authenticator {
        Authenticator {
            key: secret.map(|s| DecodingKey::from_secret(s.as_bytes())),
        }
    }

    /// Whether the server runs open (no secret configured).
    pub fn is_open(&self) -> bool {
        self.key.is_none()
    }

    /// Turns an `Authorization` value (`Bearer <jwt>`) into a principal.
    /// No value means `Anonymous`; a bad value is an error.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, AuthError> {
        let Some(key) = &self.key else {
            return Ok(Principal::open_admin());
        };
        let Some(value) = authorization.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(Principal::Anonymous);
        };
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| AuthError("authorization must be 'Bearer <token>'".into()))?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        let claims = decode::<Claims>(token.trim(), key, &validation)
            .map_err(|e| AuthError(format!("invalid token: {e}")))?
            .claims;
        let role = match claims.role.as_str() {
            "customer" => Role::Customer,
            "staff" => Role::Staff,
            "admin" => Role::Admin,
            other => return Err(AuthError(format!("unknown role {other}"))),
        };
        if role == Role::Customer && claims.customer_id.is_none() {
            return Err(AuthError(
                "a customer token needs a customer_id claim".into(),
            ));
        }
        Ok(Principal::User {
            user_id: claims.sub,
            role,
            customer_id: claims.customer_id,
        })
    }
}
