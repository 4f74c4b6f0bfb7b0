//! Who you are: passwords, signing keys, tokens, and the principal of a request.

pub mod keys;
pub mod password;
pub mod tokens;

use uuid::Uuid;

use crate::error::ApiError;
use crate::services::users::UserRecord;

/// The caller of one request, established from its bearer token and its session in the database.
#[derive(Debug, Clone)]
pub enum Principal {
    /// No credentials were presented.
    Anonymous,
    /// A valid access token of a live session of an active user.
    User {
        /// The user as read with the session, in this request.
        user: UserRecord,
        session_id: Uuid,
        organization_id: Option<Uuid>,
    },
    /// Credentials were presented but refused; the reason is safe to show.
    Rejected(String),
}

impl Principal {
    /// The authenticated user's id, or UNAUTHENTICATED.
    pub fn user_id(&self) -> Result<Uuid, ApiError> {
        match self {
            Principal::User { user, .. } => Ok(user.id),
            Principal::Anonymous => Err(ApiError::unauthenticated("sign in first")),
            Principal::Rejected(reason) => Err(ApiError::unauthenticated(reason.clone())),
        }
    }

    /// The organization the session acts in, when signed in.
    pub fn active_organization(&self) -> Option<Uuid> {
        match self {
            Principal::User {
                organization_id, ..
            } => *organization_id,
            _ => None,
        }
    }

    pub fn session_id(&self) -> Result<Uuid, ApiError> {
        match self {
            Principal::User { session_id, .. } => Ok(*session_id),
            _ => self.user_id().map(|_| Uuid::nil()),
        }
    }
}
