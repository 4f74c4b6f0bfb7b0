//! Signing in as a machine: a request whose bearer credential is an API key's secret, and a key
//! presented as OAuth client credentials. Keys are issued, rotated and revoked by their
//! organization (`organization::api_keys`); this reads them.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use entity::{api_key, membership, user};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::auth::Principal;
use crate::auth::api_keys::{self as secrets, Malformed};
use crate::authz::{KeyLimit, Policy};
use crate::error::{ApiError, ApiResult};
use crate::services::AppState;
use crate::services::identity::users;
use crate::services::store::records;
use crate::services::store::scope::claim_once;

/// The one answer for an unknown, revoked or expired key, a disabled holder and a holder who
/// is no longer a member: which of them it was is not the presenter's to learn.
pub const INVALID_KEY: &str = "the API key is not valid";

/// The answer for a secret that Charter could not have made (a typo, a cut copy).
pub const MALFORMED_KEY: &str =
    "the API key is malformed: its checksum does not match (was it copied whole?)";

/// `lastUsedAt` is written at most this often per key.
fn last_used_interval() -> Duration {
    Duration::seconds(60)
}

/// Whether a key may still be used at `now`.
pub(in crate::services) fn live(model: &api_key::Model, now: DateTime<Utc>) -> bool {
    model.revoked_at.is_none() && model.expires_at.is_none_or(|at| at > now)
}

/// A live key of an active holder who is still a member of its organization, with the holder,
/// in one statement.
async fn usable(
    db: &impl ConnectionTrait,
    filter: sea_orm::Condition,
) -> ApiResult<Option<(api_key::Model, user::Model)>> {
    let member = Query::select()
        .expr(Expr::val(1))
        .from(membership::Entity)
        .and_where(
            Expr::col((membership::Entity, membership::Column::UserId))
                .equals((api_key::Entity, api_key::Column::HolderId)),
        )
        .and_where(
            Expr::col((membership::Entity, membership::Column::OrganizationId))
                .equals((api_key::Entity, api_key::Column::OrganizationId)),
        )
        .and_where(Expr::col((membership::Entity, membership::Column::SuspendedAt)).is_null())
        .to_owned();
    let found = api_key::Entity::find()
        .filter(filter)
        .filter(Expr::exists(member))
        .find_also_related(user::Entity)
        .one(db)
        .await?;
    let now = Utc::now();
    Ok(match found {
        Some((key, Some(holder))) if live(&key, now) && holder.status == users::ACTIVE => {
            Some((key, holder))
        }
        _ => None,
    })
}

/// The limit a usable key puts on its holder's access.
fn limit_of(policy: &Policy, key: &api_key::Model) -> ApiResult<Arc<KeyLimit>> {
    let grants = records::compile_stored(policy, format_args!("API key {}", key.id), &key.grants)?;
    Ok(Arc::new(KeyLimit {
        key_id: key.id,
        holder_id: key.holder_id,
        organization_id: key.organization_id,
        grants,
    }))
}

/// The principal of a request whose bearer credential is an API key's secret.
pub async fn authenticate(state: &AppState, secret: &str) -> ApiResult<Principal> {
    let hash = match secrets::checked_hash(secret) {
        Ok(hash) => hash,
        Err(Malformed) => return Ok(Principal::Rejected(MALFORMED_KEY.into())),
    };
    let filter = sea_orm::Condition::all().add(api_key::Column::SecretHash.eq(hash.clone()));
    let Some((key, holder)) = usable(&state.db, filter).await? else {
        return Ok(Principal::Rejected(INVALID_KEY.into()));
    };
    // The index found the row by its hash; the comparison that decides is constant-time.
    if !secrets::hash_matches(&hash, &key.secret_hash) {
        return Ok(Principal::Rejected(INVALID_KEY.into()));
    }
    note_use(state, &key);
    Ok(Principal::Key {
        key: limit_of(&state.policy, &key)?,
        user: holder.into(),
    })
}

/// Records that `key` was used, at most once a minute per key and off the request's path: the
/// write runs on its own task, and only the first of several processes racing wins it.
fn note_use(state: &AppState, key: &api_key::Model) {
    let now = Utc::now();
    let cutoff = now - last_used_interval();
    if key.last_used_at.is_some_and(|at| at > cutoff) || !claim_use(key.id, now) {
        return;
    }
    let db = state.db.clone();
    let id = key.id;
    tokio::spawn(async move {
        let claim = api_key::Entity::update_many()
            .col_expr(api_key::Column::LastUsedAt, Expr::value(now))
            .filter(api_key::Column::Id.eq(id))
            .filter(
                sea_orm::Condition::any()
                    .add(api_key::Column::LastUsedAt.is_null())
                    .add(api_key::Column::LastUsedAt.lte(cutoff)),
            );
        let written = claim_once(&db, claim).await;
        if let Err(err) = written {
            tracing::warn!(key = %id, error = %err.message, "could not record an API key's use");
        }
    });
}

/// Whether this process is the one to write `key`'s use now: a burst of requests with a key
/// whose `lastUsedAt` is stale sends one write, not one per request. Entries older than the
/// interval are dropped once the map is large, so it stays bounded by the keys in use.
fn claim_use(key: Uuid, now: DateTime<Utc>) -> bool {
    static RECENT: std::sync::OnceLock<std::sync::Mutex<HashMap<Uuid, DateTime<Utc>>>> =
        std::sync::OnceLock::new();
    let cutoff = now - last_used_interval();
    let mut recent = RECENT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poison| poison.into_inner());
    if recent.get(&key).is_some_and(|at| *at > cutoff) {
        return false;
    }
    if recent.len() >= 10_000 {
        recent.retain(|_, at| *at > cutoff);
    }
    recent.insert(key, now);
    true
}

/// A key presented as OAuth client credentials (its id and secret), with the effective grants
/// it has now: the intersection of its own and its holder's role.
pub struct ClientCredentials {
    pub key: Arc<KeyLimit>,
    pub permissions: Vec<(String, String)>,
}

/// Checks client credentials: the key `client_id`, live, its holder active and a member, and
/// `secret` its secret (compared in constant time). Any failure is the one INVALID_KEY.
pub async fn client_credentials(
    state: &AppState,
    client_id: &str,
    secret: &str,
) -> ApiResult<ClientCredentials> {
    let invalid = || ApiError::unauthenticated(INVALID_KEY);
    let id = Uuid::parse_str(client_id).map_err(|_| invalid())?;
    let hash = secrets::checked_hash(secret).map_err(|Malformed| invalid())?;
    let filter = sea_orm::Condition::all().add(api_key::Column::Id.eq(id));
    let (key, _) = usable(&state.db, filter).await?.ok_or_else(invalid)?;
    if !secrets::hash_matches(&hash, &key.secret_hash) {
        return Err(invalid());
    }
    let limit = limit_of(&state.policy, &key)?;
    let access = crate::services::store::access::load_one(
        &state.db,
        &state.policy,
        key.holder_id,
        key.organization_id,
    )
    .await?
    .and_then(|access| access.limited(&limit))
    .ok_or_else(invalid)?;
    note_use(state, &key);
    let permissions = state
        .policy
        .describe(access.grants())
        .zip(access.grants().levels())
        .filter(|(_, level)| **level > 0)
        .map(|((resource, level), _)| (resource.to_owned(), level.to_owned()))
        .collect();
    Ok(ClientCredentials {
        key: limit,
        permissions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keys_use_is_claimed_once_a_minute() {
        let key = Uuid::now_v7();
        let now = Utc::now();
        assert!(claim_use(key, now));
        assert!(!claim_use(key, now + Duration::seconds(59)));
        assert!(claim_use(Uuid::now_v7(), now), "another key is its own");
        assert!(claim_use(key, now + Duration::seconds(61)));
    }
}
