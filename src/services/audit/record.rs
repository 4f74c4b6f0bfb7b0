//! What the audit service hands out: plain records of events, and the logs a reader may read.

use chrono::{DateTime, Utc};
use entity::audit_event;
use uuid::Uuid;

use super::Scope;
use super::search::{self, EventPage, Filter};
use crate::error::ApiResult;
use crate::services::store::scope::OrgScope;
use crate::services::{AppState, Page};

/// One recorded event as callers see it, with its place in the hash chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub id: Uuid,
    /// `org:<id>` for an organization's events, `user:<id>` for a user's security events.
    pub chain: String,
    /// Position in the chain, from 1.
    pub seq: i64,
    pub organization_id: Option<Uuid>,
    pub subject_user_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub actor_email: Option<String>,
    /// The API key the actor acted through, when it was one.
    pub actor_api_key_id: Option<Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub at: DateTime<Utc>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub description: String,
    /// JSON of what changed, as stored.
    pub payload: String,
    pub prev_hash: String,
    pub hash: String,
}

impl From<audit_event::Model> for EventRecord {
    fn from(model: audit_event::Model) -> Self {
        Self {
            id: model.id,
            chain: model.chain,
            seq: model.seq,
            organization_id: model.organization_id,
            subject_user_id: model.subject_user_id,
            actor_id: model.actor_id,
            actor_email: model.actor_email,
            actor_api_key_id: model.actor_api_key_id,
            ip: model.ip,
            user_agent: model.user_agent,
            at: model.at,
            action: model.action,
            target_type: model.target_type,
            target_id: model.target_id,
            description: model.description,
            payload: model.payload,
            prev_hash: model.prev_hash,
            hash: model.hash,
        }
    }
}

/// A log a reader may read: an organization's, through the gate passed for it, or a user's own
/// security events, through their identity.
#[derive(Clone)]
pub enum Log {
    Organization(OrgScope),
    OwnSecurity { state: AppState, user_id: Uuid },
}

impl Log {
    fn parts(&self) -> (&sea_orm::DatabaseConnection, Scope) {
        match self {
            Log::Organization(scope) => (scope.db(), Scope::Organization(scope.organization_id())),
            Log::OwnSecurity { state, user_id } => (&state.db, Scope::User(*user_id)),
        }
    }

    /// A page of the log's events matching `filter`, newest first.
    pub async fn page(&self, filter: &Filter, page: EventPage) -> ApiResult<Page<EventRecord>> {
        let (db, scope) = self.parts();
        Ok(search::page(db, scope, filter, page).await?.map(Into::into))
    }

    /// How many of the log's events match `filter`.
    pub async fn count(&self, filter: &Filter) -> ApiResult<u64> {
        let (db, scope) = self.parts();
        search::count(db, scope, filter).await
    }
}

/// The events `ids` that exist, whatever their log, as records (for the loader; the caller
/// checks the viewer may see each).
pub async fn records(
    state: &AppState,
    ids: &[Uuid],
) -> ApiResult<std::collections::HashMap<Uuid, EventRecord>> {
    let mut found = std::collections::HashMap::new();
    for id in ids {
        if let Some(event) = search::find(&state.db, *id).await? {
            found.insert(*id, event.into());
        }
    }
    Ok(found)
}
