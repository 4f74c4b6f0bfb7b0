//! Who you are: passwords, signing keys, tokens, and the principal of a request.

pub mod api_keys;
pub mod key_record;
pub mod key_store;
pub mod keys;
pub mod password;
pub mod resealing;
pub mod sealing;
pub mod signing_keys;
pub mod tokens;
mod user;

use std::sync::Arc;

use uuid::Uuid;

use crate::authz::Refusal;
use crate::authz::{KeyLimit, Proof};
use crate::error::ApiError;
pub use user::UserRecord;

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
        /// When the session last checked a Charter second factor (none: never).
        mfa_at: Option<chrono::DateTime<chrono::Utc>>,
        /// What the session proved, as the gate weighs it per organization.
        proof: Proof,
    },
    /// A live API key of an active holder who is still a member of the key's organization.
    Key {
        /// The key's holder (a person or a service account), as read with the key.
        user: UserRecord,
        key: Arc<KeyLimit>,
    },
    /// Credentials were presented but refused; the reason is safe to show.
    Rejected(String),
}

impl Principal {
    /// The authenticated user's id, or UNAUTHENTICATED.
    pub fn user_id(&self) -> Result<Uuid, ApiError> {
        match self {
            Principal::User { user, .. } | Principal::Key { user, .. } => Ok(user.id),
            Principal::Anonymous => Err(Refusal::SignInFirst.into()),
            Principal::Rejected(reason) => Err(ApiError::unauthenticated(reason.clone())),
        }
    }

    /// The organization the session acts in, when signed in.
    pub fn active_organization(&self) -> Option<Uuid> {
        match self {
            Principal::User {
                organization_id, ..
            } => *organization_id,
            Principal::Key { key, .. } => Some(key.organization_id),
            _ => None,
        }
    }

    pub fn session_id(&self) -> Result<Uuid, ApiError> {
        match self {
            Principal::User { session_id, .. } => Ok(*session_id),
            Principal::Key { .. } => Err(key_refused()),
            _ => self.user_id().map(|_| Uuid::nil()),
        }
    }

    /// What the request's credential proved (an API key counts as a second factor: a
    /// machine credential has no person to ask).
    pub fn proof(&self) -> Proof {
        match self {
            Principal::User { proof, .. } => *proof,
            Principal::Key { .. } => Proof::KEY,
            _ => Proof::default(),
        }
    }

    /// The key the request acts through, if it came with one.
    pub fn key(&self) -> Option<&Arc<KeyLimit>> {
        match self {
            Principal::Key { key, .. } => Some(key),
            _ => None,
        }
    }

    /// FORBIDDEN when the request came with an API key: account operations (signing in,
    /// sessions, passwords, profiles, creating or leaving organizations) need the person.
    pub fn not_a_key(&self) -> Result<(), ApiError> {
        match self {
            Principal::Key { .. } => Err(key_refused()),
            _ => Ok(()),
        }
    }
}

fn key_refused() -> ApiError {
    ApiError::forbidden(
        "an API key acts only on its organization's data; account operations need the person \
         signed in",
    )
}
