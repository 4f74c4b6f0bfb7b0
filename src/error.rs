//! The error type shown to clients, with its closed set of codes.
//!
//! `ApiError` deliberately does not implement `Display`: async-graphql converts any `Display`
//! value into an error carrying its text, and that blanket conversion must never apply here.
//! Internal failures are logged with their detail and reach the client as INTERNAL only.

use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, SqlErr};

/// The closed set of codes a client can see in `extensions.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    InvalidInput,
    Conflict,
    SeatLimitReached,
    LastOwner,
    PermissionDependency,
    FeatureNotLicensed,
    RateLimited,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::InvalidInput => "INVALID_INPUT",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::SeatLimitReached => "SEAT_LIMIT_REACHED",
            ErrorCode::LastOwner => "LAST_OWNER",
            ErrorCode::PermissionDependency => "PERMISSION_DEPENDENCY",
            ErrorCode::FeatureNotLicensed => "FEATURE_NOT_LICENSED",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    /// The HTTP status of a response that carries only this error (a list download, say):
    /// GraphQL responses themselves are 200 whatever their errors.
    pub fn http_status(self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden | ErrorCode::FeatureNotLicensed => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::InvalidInput | ErrorCode::PermissionDependency => StatusCode::BAD_REQUEST,
            ErrorCode::Conflict | ErrorCode::SeatLimitReached | ErrorCode::LastOwner => {
                StatusCode::CONFLICT
            }
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Every code, for tests and documentation.
    pub const ALL: [ErrorCode; 11] = [
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::InvalidInput,
        ErrorCode::Conflict,
        ErrorCode::SeatLimitReached,
        ErrorCode::LastOwner,
        ErrorCode::PermissionDependency,
        ErrorCode::FeatureNotLicensed,
        ErrorCode::RateLimited,
        ErrorCode::Internal,
    ];
}

/// An error a client may see: a code, a message safe to show, and optionally the input field at fault.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<&'static str>,
    /// Structured detail for clients, shown as `extensions.<name>` (for example the grants a
    /// role is missing).
    pub detail: Option<(&'static str, serde_json::Value)>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            detail: None,
        }
    }

    /// Adds structured detail, shown as `extensions.<name>`.
    pub fn with_detail(mut self, name: &'static str, value: serde_json::Value) -> Self {
        self.detail = Some((name, value));
        self
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    /// INVALID_INPUT naming the input field at fault.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::InvalidInput,
            message: format!("{field}: {}", message.into()),
            field: Some(field),
            detail: None,
        }
    }

    /// Logs `detail` and returns an INTERNAL error that says nothing of it.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(ErrorCode::Internal, "internal error")
    }
}

impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                tracing::debug!(error = %err, "unique constraint violation");
                return ApiError::conflict("a record with the same unique value already exists");
            }
            // A change raced another that removed what it refers to (or that still refers to
            // what it removes): the database refused it, and trying again gets a clear answer.
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
                tracing::info!(error = %err, "foreign key violation");
                return ApiError::conflict(
                    "a record this change refers to was changed at the same moment; try again",
                );
            }
            _ => {}
        }
        ApiError::internal(format!("database: {err}"))
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        async_graphql::Error::new(err.message).extend_with(|_, extensions| {
            extensions.set("code", err.code.as_str());
            if let Some(field) = err.field {
                extensions.set("field", field);
            }
            if let Some((name, value)) = err.detail {
                match async_graphql::Value::from_json(value) {
                    Ok(value) => extensions.set(name, value),
                    Err(error) => tracing::error!(%error, "unrepresentable error detail"),
                }
            }
        })
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// An error with its causes, one after the other, for a log line.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
