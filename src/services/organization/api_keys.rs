//! API keys: credentials of a member (a personal key) or of a service account, for scripts,
//! agents and other services.
//!
//! A key never outranks its holder: it is created with at most its creator's grants, and at
//! every request it acts with the intersection of its grants and its holder's role as read for
//! that request ([`crate::authz::OrgAccess::limited`]). It acts only in its organization and
//! never performs account operations ([`crate::auth::Principal::not_a_key`]).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use entity::{api_key, service_account};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::api_keys::{self as secrets};
use crate::authz::{Grants, Policy};
use crate::domain::CredentialName;
use crate::error::{ApiError, ApiResult};
use crate::services::audit::Action;
use crate::services::identity::keys::live;
use crate::services::store::scope::{OrgChange, OrgScope, Tx};
use crate::services::{AppState, Page, PageArgs, organization::roles};

/// Unrevoked keys one holder may have in an organization.
pub const MAX_KEYS_PER_HOLDER: u64 = 50;
/// The longest a key may be made to last, in days.
pub const MAX_EXPIRY_DAYS: i32 = 365;

/// A key as callers see it: never its secret, nor the secret's hash.
#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub holder_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub grants: Arc<Grants>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

fn record(policy: &Policy, model: api_key::Model) -> ApiResult<ApiKeyRecord> {
    let grants =
        roles::compile_stored(policy, format_args!("API key {}", model.id), &model.grants)?;
    Ok(ApiKeyRecord {
        id: model.id,
        organization_id: model.organization_id,
        holder_id: model.holder_id,
        name: model.name,
        prefix: model.prefix,
        grants: Arc::new(grants),
        created_by: model.created_by,
        created_at: model.created_at,
        expires_at: model.expires_at,
        last_used_at: model.last_used_at,
        revoked_at: model.revoked_at,
    })
}

/// The keys `ids` that exist, whatever their organization (for the loader; the caller passes
/// the gate of each key's organization before showing it).
pub async fn records(state: &AppState, ids: &[Uuid]) -> ApiResult<HashMap<Uuid, ApiKeyRecord>> {
    let models = api_key::Entity::find()
        .filter(api_key::Column::Id.is_in(ids.iter().copied()))
        .all(&state.db)
        .await?;
    models
        .into_iter()
        .map(|model| Ok((model.id, record(&state.policy, model)?)))
        .collect()
}

/// A page of the organization's keys, oldest first: every key, or only `holder`'s (what a
/// member without `api_key: read` sees: their own).
pub async fn page(
    scope: &OrgScope,
    holder: Option<Uuid>,
    args: PageArgs,
) -> ApiResult<Page<ApiKeyRecord>> {
    let mut select = of_organization(scope, holder)
        .order_by_asc(api_key::Column::Id)
        .limit(args.first + 1);
    if let Some(after) = args.after {
        select = select.filter(api_key::Column::Id.gt(after));
    }
    let rows = select.all(scope.db()).await?;
    let rows = rows
        .into_iter()
        .map(|model| record(scope.policy(), model))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Page::from_rows(rows, args.first))
}

/// How many keys [`page`] would walk.
pub async fn count(scope: &OrgScope, holder: Option<Uuid>) -> ApiResult<u64> {
    Ok(of_organization(scope, holder).count(scope.db()).await?)
}

/// The organization's keys: all of them, or only `holder`'s.
fn of_organization(scope: &OrgScope, holder: Option<Uuid>) -> sea_orm::Select<api_key::Entity> {
    let select =
        api_key::Entity::find().filter(api_key::Column::OrganizationId.eq(scope.organization_id()));
    match holder {
        Some(holder) => select.filter(api_key::Column::HolderId.eq(holder)),
        None => select,
    }
}

/// What a caller asks a new key to be.
#[derive(Debug, Clone, Default)]
pub struct KeySpec {
    /// The service account to hold the key; none for a personal key of the creator.
    pub service_account_id: Option<Uuid>,
    pub name: String,
    pub grants: Vec<(String, String)>,
    pub expires_in_days: Option<i32>,
    pub add_missing_dependencies: bool,
}

/// A key just made (or rotated), with its secret: shown this once, stored only as a hash.
pub struct IssuedKey {
    pub key: ApiKeyRecord,
    pub secret: String,
}

/// Creates a key: its grants valid, satisfying the policy's dependencies and within the
/// creator's own (the grant ceiling); held by the creator, or by a service account of the
/// organization (whose gate asked `api_key: manage`).
pub async fn create(change: &OrgChange, spec: KeySpec) -> ApiResult<IssuedKey> {
    let name = CredentialName::parse("name", &spec.name)?.into_inner();
    let expires_at = expiry(spec.expires_in_days)?;
    let made = secrets::new_secret();
    let creator = change.actor().user_id;
    let model = change
        .write(async |tx| {
            let policy = tx.policy();
            let levels =
                roles::checked_levels(tx.access, &spec.grants, spec.add_missing_dependencies)?;
            let holder = holder_with_room(tx, spec.service_account_id).await?;
            let model = api_key::ActiveModel {
                id: Set(Uuid::now_v7()),
                organization_id: Set(tx.organization_id()),
                holder_id: Set(holder),
                name: Set(name),
                prefix: Set(made.shown_prefix.clone()),
                secret_hash: Set(made.hash.clone()),
                grants: Set(roles::stored_grants(policy, &levels)?),
                created_by: Set(creator),
                created_at: Set(Utc::now()),
                expires_at: Set(expires_at),
                last_used_at: Set(None),
                revoked_at: Set(None),
            }
            .insert(tx.txn)
            .await?;
            let event = tx
                .event(
                    Action::ApiKeyCreated,
                    format!("created the API key {} ({})", model.name, model.prefix),
                )
                .target("api_key", model.id)
                .payload(json!({ "after": key_json(&model, spec.service_account_id.is_some()) }));
            Ok((model, Some(event)))
        })
        .await?;
    Ok(IssuedKey {
        key: record(change.policy(), model)?,
        secret: made.secret,
    })
}

/// When a key made now for `days` expires (1 to 365 days; none: never).
fn expiry(days: Option<i32>) -> ApiResult<Option<DateTime<Utc>>> {
    match days {
        None => Ok(None),
        Some(days) if (1..=MAX_EXPIRY_DAYS).contains(&days) => {
            Ok(Some(Utc::now() + Duration::days(days.into())))
        }
        Some(_) => Err(ApiError::invalid(
            "expiresInDays",
            format!("must be between 1 and {MAX_EXPIRY_DAYS}"),
        )),
    }
}

/// Who a new key is for (the service account `service_account_id` of the organization, or
/// the caller), refused when they hold as many unrevoked keys as a holder may.
async fn holder_with_room(tx: &Tx<'_>, service_account_id: Option<Uuid>) -> ApiResult<Uuid> {
    let holder = match service_account_id {
        Some(id) => {
            service_account::Entity::find_by_id(id)
                .one(tx.txn)
                .await?
                .filter(|account| account.organization_id == tx.organization_id())
                .ok_or_else(|| ApiError::not_found("service account"))?
                .id
        }
        None => tx.access.user_id(),
    };
    let held = api_key::Entity::find()
        .filter(api_key::Column::OrganizationId.eq(tx.organization_id()))
        .filter(api_key::Column::HolderId.eq(holder))
        .filter(api_key::Column::RevokedAt.is_null())
        .count(tx.txn)
        .await?;
    if held >= MAX_KEYS_PER_HOLDER {
        return Err(ApiError::conflict(format!(
            "a holder has at most {MAX_KEYS_PER_HOLDER} unrevoked keys in an organization; \
             revoke one first"
        )));
    }
    Ok(holder)
}

/// What an event says of a key: never its secret nor the secret's hash.
fn key_json(model: &api_key::Model, service_account: bool) -> serde_json::Value {
    json!({
        "name": model.name,
        "prefix": model.prefix,
        "holderId": model.holder_id,
        "serviceAccount": service_account,
        "grants": serde_json::from_str::<serde_json::Value>(&model.grants).unwrap_or_default(),
        "expiresAt": model.expires_at,
    })
}

/// The key `id` of the organization, read under its lock.
async fn key_in(
    txn: &impl ConnectionTrait,
    organization_id: Uuid,
    id: Uuid,
) -> ApiResult<api_key::Model> {
    api_key::Entity::find_by_id(id)
        .one(txn)
        .await?
        .filter(|key| key.organization_id == organization_id)
        .ok_or_else(|| ApiError::not_found("API key"))
}

/// Revokes a key: it stops on the next request. Revoking a revoked key changes nothing.
pub async fn revoke(change: &OrgChange, id: Uuid) -> ApiResult<ApiKeyRecord> {
    let model = change
        .write(async |tx| {
            let key = key_in(tx.txn, tx.organization_id(), id).await?;
            if key.revoked_at.is_some() {
                return Ok((key, None));
            }
            let mut active: api_key::ActiveModel = key.into();
            active.revoked_at = Set(Some(Utc::now()));
            let key = active.update(tx.txn).await?;
            let event = tx
                .event(
                    Action::ApiKeyRevoked,
                    format!("revoked the API key {} ({})", key.name, key.prefix),
                )
                .target("api_key", key.id)
                .payload(json!({ "before": { "revokedAt": null }, "after": { "revokedAt": key.revoked_at } }));
            Ok((key, Some(event)))
        })
        .await?;
    record(change.policy(), model)
}

/// Gives a live key a new secret: the old one stops at once, the key keeps its id, grants and
/// expiry.
pub async fn rotate(change: &OrgChange, id: Uuid) -> ApiResult<IssuedKey> {
    let made = secrets::new_secret();
    let model = change
        .write(async |tx| {
            let key = key_in(tx.txn, tx.organization_id(), id).await?;
            if !live(&key, Utc::now()) {
                return Err(ApiError::conflict(
                    "the API key is revoked or expired; create a new one",
                ));
            }
            let before = key.prefix.clone();
            let mut active: api_key::ActiveModel = key.into();
            active.secret_hash = Set(made.hash.clone());
            active.prefix = Set(made.shown_prefix.clone());
            let key = active.update(tx.txn).await?;
            let event = tx
                .event(
                    Action::ApiKeyRotated,
                    format!("rotated the API key {} ({before})", key.name),
                )
                .target("api_key", key.id)
                .payload(
                    json!({ "before": { "prefix": before }, "after": { "prefix": key.prefix } }),
                );
            Ok((key, Some(event)))
        })
        .await?;
    Ok(IssuedKey {
        key: record(change.policy(), model)?,
        secret: made.secret,
    })
}

/// Revokes the keys `holder` holds in the organization, inside the transaction of the change
/// that ends their membership there.
pub(in crate::services) async fn revoke_held(
    txn: &impl ConnectionTrait,
    organization_id: Uuid,
    holder: Uuid,
) -> ApiResult<u64> {
    Ok(api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(api_key::Column::OrganizationId.eq(organization_id))
        .filter(api_key::Column::HolderId.eq(holder))
        .filter(api_key::Column::RevokedAt.is_null())
        .exec(txn)
        .await?
        .rows_affected)
}
