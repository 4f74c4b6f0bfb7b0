//! The capability to change one's own account: password, second factors, profile, default
//! organization. Like [`OrgChange`](super::scope::OrgChange) it can only be had from the
//! request's principal, here a person signed in with a session (never an API key), so a
//! self-service use case cannot be pointed at somebody else's account.

use sea_orm::DatabaseTransaction;
use uuid::Uuid;

use crate::auth::{Principal, UserRecord};
use crate::error::ApiResult;
use crate::services::AppState;
use crate::services::audit::{Actor, Event};

/// A person acting on their own account in this request.
#[derive(Clone)]
pub struct OwnAccount {
    state: AppState,
    user: UserRecord,
    session_id: Uuid,
    actor: Actor,
}

impl OwnAccount {
    /// The account of the person `principal` is: UNAUTHENTICATED without a session, FORBIDDEN
    /// for an API key (a machine has no account of its own to change).
    pub fn of(state: &AppState, principal: &Principal, actor: Actor) -> ApiResult<Self> {
        let session_id = principal.session_id()?;
        let Principal::User { user, .. } = principal else {
            return Err(crate::authz::Refusal::SignInFirst.into());
        };
        Ok(Self {
            state: state.clone(),
            user: user.clone(),
            session_id,
            actor,
        })
    }

    pub fn user(&self) -> &UserRecord {
        &self.user
    }

    pub fn user_id(&self) -> Uuid {
        self.user.id
    }

    /// The session the change is made from (a second factor checked now counts for it).
    pub fn session_id(&self) -> Uuid {
        self.session_id
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Runs `change` through the write path as this person's, recording the events it returns.
    pub async fn write<T>(
        &self,
        change: impl AsyncFnOnce(&DatabaseTransaction) -> ApiResult<(T, Vec<Event>)>,
    ) -> ApiResult<T> {
        super::scope::write(&self.state.db, &self.actor, change).await
    }
}
