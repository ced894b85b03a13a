//! The one place errors become GraphQL errors with a stable
//! `extensions.code`. Internal details are logged, never sent.

use async_graphql::{ErrorExtensions, Value};

use sea_orm::DbErr;

use crate::commands::CommandError;
use crate::domain::RefusalKind;
use crate::store::StoreError;

/// The contract's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // the variants are the contract's codes, documented in DESIGN.md
pub enum ErrorCode {
    Validation,
    BusinessRule,
    NotFound,
    ConcurrencyConflict,
    Unauthenticated,
    Forbidden,
    Internal,
    /// The serialised response would exceed the configured maximum.
    ResponseTooLarge,
    /// The request ran past its time limit.
    Timeout,
    /// The server is at its in-flight request cap; retry later.
    Overloaded,
}

impl ErrorCode {
    /// The code as clients see it in `extensions.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Validation => "VALIDATION",
            ErrorCode::BusinessRule => "BUSINESS_RULE",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::ConcurrencyConflict => "CONCURRENCY_CONFLICT",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::ResponseTooLarge => "RESPONSE_TOO_LARGE",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::Overloaded => "OVERLOADED",
        }
    }
}

/// An error on its way to a client. Deliberately not `Display`, so `?`
/// converts it through `From<ApiError>` below and keeps its code.
#[derive(Debug)]
pub struct ApiError {
    /// `extensions.code`.
    pub code: ErrorCode,
    /// The message (safe to show).
    pub message: String,
    /// Further extensions (e.g. `expectedVersion`).
    pub extra: Vec<(&'static str, Value)>,
}

impl ApiError {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            extra: Vec::new(),
        }
    }

    /// VALIDATION: the request is malformed.
    pub fn validation(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Validation, message)
    }

    /// NOT_FOUND.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::NotFound, message)
    }

    /// FORBIDDEN: authenticated, but not allowed.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Forbidden, message)
    }

    /// UNAUTHENTICATED: no valid credentials.
    pub fn unauthenticated(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Unauthenticated, message)
    }

    /// Logs the cause with an id and returns an error that only names the id.
    pub fn internal(cause: &dyn std::fmt::Display) -> ApiError {
        let error_id = uuid::Uuid::new_v4();
        tracing::error!(%error_id, error = %cause, "internal error");
        ApiError::new(
            ErrorCode::Internal,
            format!("internal error (id {error_id}); the server log has the details"),
        )
    }

    /// Adds an extension.
    pub fn with(mut self, key: &'static str, value: impl Into<Value>) -> ApiError {
        self.extra.push((key, value.into()));
        self
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        async_graphql::Error::new(e.message).extend_with(|_, ext| {
            ext.set("code", e.code.as_str());
            for (k, v) in &e.extra {
                ext.set(*k, v.clone());
            }
        })
    }
}

impl From<RefusalKind> for ErrorCode {
    fn from(kind: RefusalKind) -> Self {
        match kind {
            RefusalKind::Validation => ErrorCode::Validation,
            RefusalKind::BusinessRule => ErrorCode::BusinessRule,
            RefusalKind::NotFound => ErrorCode::NotFound,
        }
    }
}

/// A database failure is an internal error (logged, never shown).
impl From<DbErr> for ApiError {
    fn from(e: DbErr) -> Self {
        ApiError::internal(&e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match CommandError::from(e) {
            CommandError::Store(e) => ApiError::internal(&e),
            other => other.into(),
        }
    }
}

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Refused { kind, message } => ApiError::new(kind.into(), message),
            e @ CommandError::Concurrency { expected, actual } => {
                ApiError::new(ErrorCode::ConcurrencyConflict, e.to_string())
                    .with("expectedVersion", expected)
                    .with("actualVersion", actual)
            }
            e @ CommandError::CommandIdReused(_) => ApiError::validation(e.to_string()),
            CommandError::Store(s) => ApiError::internal(&s),
        }
    }
}

/// Gives every error that has no code yet (parse and validation errors from
/// async-graphql itself) the code VALIDATION.
pub fn ensure_codes(response: &mut async_graphql::Response) {
    for error in &mut response.errors {
        let ext = error.extensions.get_or_insert_with(Default::default);
        if ext.get("code").is_none() {
            ext.set("code", ErrorCode::Validation.as_str());
        }
    }
}
