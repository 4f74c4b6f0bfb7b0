//! Service accounts: non-human members of one organization, for scripts, agents and other
//! services, which act only through API keys.
//!
//! A service account is a user of the `service` kind (with the same id) and a membership: it
//! holds a role like any member (assignRole works on it), takes a licensed seat unless its role
//! is free, never holds the owner role, and has no password, so it cannot sign in.

use chrono::{DateTime, Utc};
use entity::{membership, service_account, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::authz::{power, seats};
use crate::domain::CredentialName;
use crate::error::{ApiError, ApiResult};
use crate::services::audit::Action;
use crate::services::organization::members;
use crate::services::store::records;
use crate::services::store::scope::{OrgChange, OrgScope};
use crate::services::store::seats::ensure_licensed_seat;
use crate::services::{
    AppState, Page, PageArgs, identity::users, organization::api_keys, organization::memberships,
};

/// Service accounts an organization may have.
pub const MAX_PER_ORGANIZATION: u64 = 100;

/// The domain of the placeholder email a service account's user carries (users are keyed by
/// email): `.invalid` is reserved (RFC 2606), so no mail is ever sent there and no person can
/// claim it.
const EMAIL_DOMAIN: &str = "service-accounts.invalid";

/// A service account as callers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccountRecord {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<service_account::Model> for ServiceAccountRecord {
    fn from(model: service_account::Model) -> Self {
        Self {
            id: model.id,
            organization_id: model.organization_id,
            name: model.name,
            description: model.description,
            created_by: model.created_by,
            created_at: model.created_at,
        }
    }
}

/// The service accounts `ids` that exist, whatever their organization (for the loader; the
/// caller passes the gate of each one's organization).
pub async fn records(
    state: &AppState,
    ids: &[Uuid],
) -> ApiResult<std::collections::HashMap<Uuid, ServiceAccountRecord>> {
    Ok(service_account::Entity::find()
        .filter(service_account::Column::Id.is_in(ids.iter().copied()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|model| (model.id, model.into()))
        .collect())
}

/// The memberships of the service accounts `ids` (each belongs to one organization).
pub async fn memberships(
    state: &AppState,
    ids: &[Uuid],
) -> ApiResult<std::collections::HashMap<Uuid, memberships::MembershipRecord>> {
    Ok(membership::Entity::find()
        .filter(membership::Column::UserId.is_in(ids.iter().copied()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|model| (model.user_id, model.into()))
        .collect())
}

/// The organization's service accounts.
fn of_organization(scope: &OrgScope) -> sea_orm::Select<service_account::Entity> {
    service_account::Entity::find()
        .filter(service_account::Column::OrganizationId.eq(scope.organization_id()))
}

/// How many service accounts the organization has.
pub async fn count(scope: &OrgScope) -> ApiResult<u64> {
    Ok(of_organization(scope).count(scope.db()).await?)
}

/// A page of the organization's service accounts, oldest first.
pub async fn page(scope: &OrgScope, args: PageArgs) -> ApiResult<Page<ServiceAccountRecord>> {
    let mut select = of_organization(scope)
        .order_by_asc(service_account::Column::Id)
        .limit(args.first + 1);
    if let Some(after) = args.after {
        select = select.filter(service_account::Column::Id.gt(after));
    }
    let rows = select.all(scope.db()).await?;
    Ok(Page::from_rows(rows, args.first).map(Into::into))
}

/// What a caller asks a service account to be.
#[derive(Debug, Clone, Default)]
pub struct AccountSpec {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub role_id: Option<Uuid>,
}

fn checked_name(name: &str) -> ApiResult<String> {
    Ok(CredentialName::parse("name", name)?.into_inner())
}

fn checked_description(description: Option<String>) -> ApiResult<Option<String>> {
    crate::domain::text::description("description", description.as_deref())
}

async fn ensure_name_free(
    txn: &impl ConnectionTrait,
    organization_id: Uuid,
    name: &str,
    except: Option<Uuid>,
) -> ApiResult<()> {
    let taken = service_account::Entity::find()
        .filter(service_account::Column::OrganizationId.eq(organization_id))
        .filter(service_account::Column::NameLower.eq(name.to_lowercase()))
        .one(txn)
        .await?
        .is_some_and(|account| Some(account.id) != except);
    if taken {
        Err(ApiError::conflict(
            "a service account with this name already exists in this organization",
        ))
    } else {
        Ok(())
    }
}

/// Creates a service account holding `role` (within the creator's grant ceiling, never the
/// owner role, a licensed seat unless the role is free).
pub async fn create(change: &OrgChange, spec: AccountSpec) -> ApiResult<ServiceAccountRecord> {
    let name = checked_name(spec.name.as_deref().unwrap_or_default())?;
    let description = checked_description(spec.description.flatten())?;
    let role_id = spec
        .role_id
        .ok_or_else(|| ApiError::invalid("roleId", "is required"))?;
    let creator = change.actor().user_id;
    let model = change
        .write(async |tx| {
            let (txn, policy, org) = (tx.txn, tx.policy(), tx.organization);
            let role = records::role_in_organization(txn, policy, org.id, role_id).await?;
            power::may_hold(true, role.standing())?;
            power::may_hand_out(policy, tx.access.standing(), role.standing())?;
            ensure_room(txn, org.id).await?;
            ensure_name_free(txn, org.id, &name, None).await?;
            if seats::takes_licensed_seat(role.seat_class, org.free_read_only_seats) {
                ensure_licensed_seat(txn, policy, org).await?;
            }
            let user = service_user(&name).insert(txn).await?;
            let id = user.id;
            let account = service_account::ActiveModel {
                id: Set(id),
                organization_id: Set(org.id),
                name: Set(name.clone()),
                name_lower: Set(name.to_lowercase()),
                description: Set(description),
                created_by: Set(creator),
                created_at: Set(user.created_at),
            }
            .insert(txn)
            .await?;
            records::new_membership(&user, org.id, role.id, &role.name, creator)
                .insert(txn)
                .await?;
            let event = tx
                .event(
                    Action::ServiceAccountCreated,
                    format!("created the service account {name} ({})", role.name),
                )
                .target("service_account", id)
                .payload(json!({ "after": {
                    "name": account.name,
                    "description": account.description,
                    "role": role.key,
                } }));
            Ok((account, Some(event)))
        })
        .await?;
    Ok(model.into())
}

/// The account row of a new service account named `name`: no password, no email anyone
/// can receive mail at.
fn service_user(name: &str) -> user::ActiveModel {
    let id = Uuid::now_v7();
    let email = format!("{}@{EMAIL_DOMAIN}", id.simple());
    user::ActiveModel {
        id: Set(id),
        email: Set(email.clone()),
        email_lower: Set(email),
        display_name: Set(name.to_owned()),
        password_hash: Set(None),
        default_organization_id: Set(None),
        status: Set(users::ACTIVE.to_owned()),
        is_operator: Set(false),
        created_at: Set(Utc::now()),
        kind: Set(users::SERVICE.to_owned()),
        mfa_enabled: Set(false),
    }
}

/// CONFLICT when the organization has as many service accounts as it may.
async fn ensure_room(txn: &impl ConnectionTrait, organization_id: Uuid) -> ApiResult<()> {
    let existing = service_account::Entity::find()
        .filter(service_account::Column::OrganizationId.eq(organization_id))
        .count(txn)
        .await?;
    if existing >= MAX_PER_ORGANIZATION {
        return Err(ApiError::conflict(format!(
            "an organization has at most {MAX_PER_ORGANIZATION} service accounts"
        )));
    }
    Ok(())
}

async fn account_in(
    txn: &impl ConnectionTrait,
    organization_id: Uuid,
    id: Uuid,
) -> ApiResult<service_account::Model> {
    service_account::Entity::find_by_id(id)
        .one(txn)
        .await?
        .filter(|account| account.organization_id == organization_id)
        .ok_or_else(|| ApiError::not_found("service account"))
}

/// Renames or redescribes a service account (its role changes through assignRole).
pub async fn update(
    change: &OrgChange,
    id: Uuid,
    spec: AccountSpec,
) -> ApiResult<ServiceAccountRecord> {
    let name = spec.name.as_deref().map(checked_name).transpose()?;
    let description = spec.description.map(checked_description).transpose()?;
    let model = change
        .write(async |tx| {
            let txn = tx.txn;
            let before = account_in(txn, tx.organization_id(), id).await?;
            let mut active: service_account::ActiveModel = before.clone().into();
            if let Some(name) = &name {
                ensure_name_free(txn, tx.organization_id(), name, Some(id)).await?;
                active.name = Set(name.clone());
                active.name_lower = Set(name.to_lowercase());
                user::Entity::update_many()
                    .col_expr(
                        user::Column::DisplayName,
                        sea_orm::sea_query::Expr::value(name.clone()),
                    )
                    .filter(user::Column::Id.eq(id))
                    .exec(txn)
                    .await?;
                membership::Entity::update_many()
                    .col_expr(
                        membership::Column::SortName,
                        sea_orm::sea_query::Expr::value(name.to_lowercase()),
                    )
                    .filter(membership::Column::UserId.eq(id))
                    .exec(txn)
                    .await?;
            }
            if let Some(description) = &description {
                active.description = Set(description.clone());
            }
            let after = active.update(txn).await?;
            if after == before {
                return Ok((after, None));
            }
            let event = tx
                .event(
                    Action::ServiceAccountUpdated,
                    format!("updated the service account {}", after.name),
                )
                .target("service_account", id)
                .payload(json!({
                    "before": { "name": before.name, "description": before.description },
                    "after": { "name": after.name, "description": after.description },
                }));
            Ok((after, Some(event)))
        })
        .await?;
    Ok(model.into())
}

/// Deletes a service account: its keys are revoked, its membership ends (freeing its seat),
/// and its user is disabled and kept, so that the audit log's references to it still resolve.
pub async fn delete(change: &OrgChange, id: Uuid) -> ApiResult<()> {
    change
        .write(async |tx| {
            let txn = tx.txn;
            let account = account_in(txn, tx.organization_id(), id).await?;
            let revoked = match records::membership(txn, id, tx.organization_id()).await? {
                Some(membership) => members::delete_membership(txn, &membership).await?,
                None => api_keys::revoke_held(txn, tx.organization_id(), id).await?,
            };
            service_account::Entity::delete_by_id(id).exec(txn).await?;
            user::Entity::update_many()
                .col_expr(
                    user::Column::Status,
                    sea_orm::sea_query::Expr::value(users::DISABLED),
                )
                .filter(user::Column::Id.eq(id))
                .exec(txn)
                .await?;
            let event = tx
                .event(
                    Action::ServiceAccountDeleted,
                    format!("deleted the service account {}", account.name),
                )
                .target("service_account", id)
                .payload(json!({
                    "before": { "name": account.name, "description": account.description },
                    "revokedKeys": revoked,
                }));
            Ok(((), Some(event)))
        })
        .await
}
