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
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    customer_id: Option<String>,
    #[serde(default)]
    exp: Option<i64>,
}

/// Why credentials were refused. The message is one of a few fixed texts,
/// safe to show to clients (the JWT library's own errors are not).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AuthError(pub String);

impl AuthError {
    fn fixed(message: &str) -> AuthError {
        AuthError(message.to_owned())
    }
}

/// The shortest JWT secret accepted (HS256 wants a key as long as its hash).
pub const MIN_SECRET_BYTES: usize = 32;

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECONDS: u64 = 5;

/// Refuses a secret too short to resist brute force.
pub fn check_secret(secret: &str) -> Result<(), AuthError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(AuthError(format!(
            "the JWT secret is {} bytes; at least {MIN_SECRET_BYTES} are required \
             (e.g. `openssl rand -base64 48`)",
            secret.len()
        )));
    }
    Ok(())
}

/// A principal and when its credentials stop being valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Who is calling.
    pub principal: Principal,
    /// The token's `exp` (seconds since the epoch); `None` on an open server
    /// or without a token.
    pub expires_at: Option<i64>,
}

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
        self.authenticate_session(authorization)
            .map(|s| s.principal)
    }

    /// Like [`Authenticator::authenticate`], with the token's expiry.
    pub fn authenticate_session(&self, authorization: Option<&str>) -> Result<Session, AuthError> {
        let Some(key) = &self.key else {
            return Ok(Session {
                principal: Principal::open_admin(),
                expires_at: None,
            });
        };
        let Some(value) = authorization.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(Session {
                principal: Principal::Anonymous,
                expires_at: None,
            });
        };
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| AuthError::fixed("authorization must be 'Bearer <token>'"))?
            .trim();
        check_algorithm(token)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        let claims = decode::<Claims>(token, key, &validation)
            .map_err(|e| map_jwt_error(&e))?
            .claims;
        let sub = claims
            .sub
            .filter(|s| !s.is_empty())
            .ok_or_else(|| AuthError::fixed("invalid token: missing claim sub"))?;
        let role = match claims.role.as_deref() {
            Some("customer") => Role::Customer,
            Some("staff") => Role::Staff,
            Some("admin") => Role::Admin,
            Some(_) => return Err(AuthError::fixed("invalid token: unknown role")),
            None => return Err(AuthError::fixed("invalid token: missing claim role")),
        };
        if role == Role::Customer && claims.customer_id.is_none() {
            return Err(AuthError::fixed(
                "invalid token: missing claim customer_id (required for customers)",
            ));
        }
        Ok(Session {
            principal: Principal::User {
                user_id: sub,
                role,
                customer_id: claims.customer_id,
            },
            expires_at: claims.exp,
        })
    }
}

/// Refuses any algorithm but HS256 with a fixed message, before the
/// library's header parsing (whose errors name its internals).
fn check_algorithm(token: &str) -> Result<(), AuthError> {
    use base64::Engine;
    let malformed = || AuthError::fixed("invalid token: malformed");
    let header = token.split('.').next().ok_or_else(malformed)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .map_err(|_| malformed())?;
    let header: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
    match header.get("alg").and_then(|a| a.as_str()) {
        Some("HS256") => Ok(()),
        Some(_) => Err(AuthError::fixed("invalid token: unsupported algorithm")),
        None => Err(malformed()),
    }
}

fn map_jwt_error(e: &jsonwebtoken::errors::Error) -> AuthError {
    use jsonwebtoken::errors::ErrorKind;
    AuthError::fixed(match e.kind() {
        ErrorKind::ExpiredSignature => "invalid token: expired",
        ErrorKind::ImmatureSignature => "invalid token: not yet valid",
        ErrorKind::InvalidSignature => "invalid token: bad signature",
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            "invalid token: unsupported algorithm"
        }
        ErrorKind::MissingRequiredClaim(claim) if claim == "exp" => {
            "invalid token: missing claim exp"
        }
        ErrorKind::MissingRequiredClaim(claim) if claim == "sub" => {
            "invalid token: missing claim sub"
        }
        ErrorKind::MissingRequiredClaim(_) => "invalid token: missing claim",
        _ => "invalid token: malformed",
    })
}
