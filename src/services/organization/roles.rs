//! Roles as the rest of Charter sees them: predefined ones come from the policy, custom ones
//! from the database, both compiled to grants.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use entity::{invitation, membership, role};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QuerySelect, Set,
};
use uuid::Uuid;

use crate::authz::{OrgAccess, Policy, Refusal, SeatClass, power, rules};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::services::AppState;
use crate::services::audit::Action;
pub use crate::services::store::records::RoleRecord;
pub(crate) use crate::services::store::records::load_roles as load;
pub(in crate::services) use crate::services::store::records::{compile_stored, from_model};
use crate::services::store::scope::{self, Admitted, OrgChange, OrgScope};
use serde_json::json;

/// The roles an organization can assign: the policy's, then its own custom ones.
pub async fn for_organization(scope: &OrgScope) -> ApiResult<Vec<RoleRecord>> {
    let policy = scope.policy();
    let mut roles: Vec<RoleRecord> = policy.roles().iter().map(RoleRecord::from).collect();
    let custom = role::Entity::find()
        .filter(role::Column::OrganizationId.eq(scope.organization_id()))
        .filter(role::Column::Predefined.eq(false))
        .all(scope.db())
        .await?;
    for model in custom {
        roles.push(from_model(policy, model)?);
    }
    Ok(roles)
}

#[derive(Debug, FromQueryResult)]
struct RoleCount {
    organization_id: Uuid,
    role_id: Uuid,
    count: i64,
}

/// How many members hold each `(organization, role)` pair, in one statement.
pub(in crate::services) async fn member_counts(
    db: &impl ConnectionTrait,
    keys: &[(Uuid, Uuid)],
) -> ApiResult<HashMap<(Uuid, Uuid), i64>> {
    let organizations: Vec<Uuid> = keys.iter().map(|(org, _)| *org).collect();
    let roles: Vec<Uuid> = keys.iter().map(|(_, role)| *role).collect();
    let rows = membership::Entity::find()
        .select_only()
        .column(membership::Column::OrganizationId)
        .column(membership::Column::RoleId)
        .column_as(Expr::col(membership::Column::Id).count(), "count")
        .filter(membership::Column::OrganizationId.is_in(organizations))
        .filter(membership::Column::RoleId.is_in(roles))
        .group_by(membership::Column::OrganizationId)
        .group_by(membership::Column::RoleId)
        .into_model::<RoleCount>()
        .all(db)
        .await?;
    let mut counts: HashMap<(Uuid, Uuid), i64> = keys.iter().map(|key| (*key, 0)).collect();
    for row in rows {
        counts.insert((row.organization_id, row.role_id), row.count);
    }
    Ok(counts)
}

/// [`load`], for a reader holding the application's state.
pub async fn records(state: &AppState, ids: &[Uuid]) -> ApiResult<HashMap<Uuid, RoleRecord>> {
    load(&state.db, &state.policy, ids).await
}

/// [`member_counts`] of roles of organizations whose gate was passed: `(organization, role)`.
pub async fn admitted_member_counts(
    state: &AppState,
    keys: &[Admitted<(Uuid, Uuid)>],
) -> ApiResult<HashMap<Admitted<(Uuid, Uuid)>, i64>> {
    scope::batched(keys, async |plain| member_counts(&state.db, plain).await).await
}

/// Writes the policy's predefined roles to the database (memberships reference them by id),
/// and refuses to start when a role that members hold has left the policy.
pub async fn sync_predefined(txn: &impl ConnectionTrait, policy: &Policy) -> anyhow::Result<()> {
    for role in policy.roles() {
        let grants: BTreeMap<&str, &str> = policy.describe(&role.grants).collect();
        let model = role::ActiveModel {
            id: Set(role.id),
            organization_id: Set(None),
            key: Set(role.key.clone()),
            name: Set(role.name.clone()),
            description: Set(role.description.clone()),
            predefined: Set(true),
            seat_class: Set(role.seat_class.as_str().to_owned()),
            grants: Set(serde_json::to_string(&grants)?),
            created_at: Set(Utc::now()),
        };
        crate::services::organization::memberships::rename_role_sort_key(txn, role.id, &role.name)
            .await
            .map_err(|err| anyhow::anyhow!("{}", err.message))?;
        role::Entity::insert(model)
            .on_conflict(
                OnConflict::column(role::Column::Id)
                    .update_columns([
                        role::Column::Key,
                        role::Column::Name,
                        role::Column::Description,
                        role::Column::SeatClass,
                        role::Column::Grants,
                    ])
                    .to_owned(),
            )
            .exec(txn)
            .await?;
    }
    let known: Vec<Uuid> = policy.roles().iter().map(|role| role.id).collect();
    let stale = role::Entity::find()
        .filter(role::Column::Predefined.eq(true))
        .filter(role::Column::Id.is_not_in(known))
        .all(txn)
        .await?;
    for role in stale {
        let (members, pending) = holders(txn, role.id).await?;
        anyhow::ensure!(
            members + pending == 0,
            "the policy no longer declares the predefined role `{}`, which {members} member(s) \
             and {pending} pending invitation(s) hold; reassign or revoke them, or keep the role \
             in the policy",
            role.key
        );
        invitation::Entity::delete_many()
            .filter(invitation::Column::RoleId.eq(role.id))
            .exec(txn)
            .await?;
        role::Entity::delete_by_id(role.id).exec(txn).await?;
    }
    Ok(())
}

/// What a caller asks a custom role to be.
#[derive(Debug, Clone, Default)]
pub struct RoleSpec {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub grants: Option<Vec<(String, String)>>,
    pub add_missing_dependencies: bool,
}

/// At most this many custom roles per organization.
pub const MAX_CUSTOM_ROLES: u64 = 100;

/// Creates a custom role (rules 5, 8 and 9): the `custom_roles` feature, valid grants that
/// satisfy the dependencies (or have the missing ones added) and stay within the actor's own
/// grants, and a name unique in the organization.
pub async fn create(change: &OrgChange, spec: RoleSpec) -> ApiResult<RoleRecord> {
    require_custom_roles(change.access())?;
    let name = role_name(spec.name.as_deref().unwrap_or_default())?;
    let description = role_description(spec.description.flatten())?;
    let grants = spec.grants.unwrap_or_default();
    let model = change
        .write(async |tx| {
            let policy = tx.policy();
            let levels = checked_levels(tx.access, &grants, spec.add_missing_dependencies)?;
            let existing = role::Entity::find()
                .filter(role::Column::OrganizationId.eq(tx.organization_id()))
                .filter(role::Column::Predefined.eq(false))
                .count(tx.txn)
                .await?;
            if existing >= MAX_CUSTOM_ROLES {
                return Err(ApiError::conflict(format!(
                    "an organization has at most {MAX_CUSTOM_ROLES} custom roles"
                )));
            }
            ensure_name_free(tx.txn, policy, tx.organization_id(), &name, None).await?;
            let model = role::ActiveModel {
                id: Set(Uuid::now_v7()),
                organization_id: Set(Some(tx.organization_id())),
                key: Set(role_key(&name)),
                name: Set(name),
                description: Set(description),
                predefined: Set(false),
                seat_class: Set(SeatClass::Licensed.as_str().to_owned()),
                grants: Set(stored_grants(policy, &levels)?),
                created_at: Set(Utc::now()),
            }
            .insert(tx.txn)
            .await
            .map_err(name_conflict)?;
            let event = tx
                .event(
                    Action::RoleCreated,
                    format!("created the role {}", model.name),
                )
                .target("role", model.id)
                .payload(json!({ "after": role_json(&model) }));
            Ok((model, Some(event)))
        })
        .await?;
    from_model(change.policy(), model)
}

fn role_json(model: &role::Model) -> serde_json::Value {
    json!({
        "name": model.name,
        "description": model.description,
        "grants": serde_json::from_str::<serde_json::Value>(&model.grants).unwrap_or_default(),
    })
}

/// Edits a custom role of the organization; predefined roles and the role the actor holds
/// cannot be edited.
pub async fn update(change: &OrgChange, role_id: Uuid, spec: RoleSpec) -> ApiResult<RoleRecord> {
    require_custom_roles(change.access())?;
    let model = change
        .write(async |tx| {
            let policy = tx.policy();
            let model = editable_role(tx.txn, tx.access, role_id).await?;
            let mut active: role::ActiveModel = model.clone().into();
            if let Some(name) = spec.name.as_deref() {
                let name = role_name(name)?;
                ensure_name_free(tx.txn, policy, tx.organization_id(), &name, Some(role_id))
                    .await?;
                active.key = Set(role_key(&name));
                active.name = Set(name);
            }
            if let Some(description) = spec.description {
                active.description = Set(role_description(description)?);
            }
            if let Some(grants) = spec.grants.as_deref() {
                let levels = checked_levels(tx.access, grants, spec.add_missing_dependencies)?;
                active.grants = Set(stored_grants(policy, &levels)?);
            }
            let before = role_json(&model);
            let model = active.update(tx.txn).await.map_err(name_conflict)?;
            crate::services::organization::memberships::rename_role_sort_key(
                tx.txn,
                model.id,
                &model.name,
            )
            .await?;
            let event = tx
                .event(
                    Action::RoleUpdated,
                    format!("updated the role {}", model.name),
                )
                .target("role", model.id)
                .payload(json!({ "before": before, "after": role_json(&model) }));
            Ok((model, Some(event)))
        })
        .await?;
    from_model(change.policy(), model)
}

/// Deletes a custom role that no member and no pending invitation holds, with the role's
/// finished invitations (accepted, revoked or expired), which nobody can use any more. Under
/// the organization's lock, like assignments and invitations: nobody is given the role, and
/// no invitation starts holding it, between the count of holders and the delete.
pub async fn delete(change: &OrgChange, role_id: Uuid) -> ApiResult<()> {
    change
        .write(async |tx| {
            let model = editable_role(tx.txn, tx.access, role_id).await?;
            let (members, pending) = holders(tx.txn, role_id).await?;
            if members + pending > 0 {
                return Err(ApiError::conflict(format!(
                    "{members} member(s) and {pending} pending invitation(s) hold this role; \
                     assign the members another role and revoke the invitations first"
                ))
                .with_detail("memberCount", json!(members)));
            }
            let finished = invitation::Entity::delete_many()
                .filter(invitation::Column::RoleId.eq(role_id))
                .exec(tx.txn)
                .await?
                .rows_affected;
            role::Entity::delete_by_id(role_id).exec(tx.txn).await?;
            let event = tx
                .event(
                    Action::RoleDeleted,
                    format!("deleted the role {}", model.name),
                )
                .target("role", model.id)
                .payload(json!({
                    "before": role_json(&model),
                    "finishedInvitationsRemoved": finished,
                }));
            Ok(((), Some(event)))
        })
        .await
}

/// How many members hold `role_id`, and how many pending invitations that can still be
/// accepted (their seat and their role are held for them).
async fn holders(txn: &impl ConnectionTrait, role_id: Uuid) -> Result<(u64, u64), sea_orm::DbErr> {
    let members = membership::Entity::find()
        .filter(membership::Column::RoleId.eq(role_id))
        .count(txn)
        .await?;
    let pending = invitation::Entity::find()
        .filter(invitation::Column::RoleId.eq(role_id))
        .filter(invitation::Column::Status.eq("pending"))
        .filter(invitation::Column::ExpiresAt.gt(Utc::now()))
        .count(txn)
        .await?;
    Ok((members, pending))
}

fn require_custom_roles(access: &OrgAccess) -> ApiResult<()> {
    if access.has_feature(crate::authz::policy::CUSTOM_ROLES) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::FeatureNotLicensed,
            "custom roles need the `custom_roles` license feature",
        ))
    }
}

/// A custom role of the actor's organization that the actor may edit.
async fn editable_role(
    txn: &impl ConnectionTrait,
    access: &OrgAccess,
    role_id: Uuid,
) -> ApiResult<role::Model> {
    if access.policy().role(role_id).is_some() {
        return Err(Refusal::PredefinedRole.into());
    }
    let model = role::Entity::find_by_id(role_id)
        .one(txn)
        .await?
        .filter(|model| model.organization_id == Some(access.organization_id()))
        .ok_or(crate::authz::Refusal::RoleNotInOrganization)?;
    power::not_the_held_role(access.role_id(), role_id)?;
    Ok(model)
}

fn role_name(name: &str) -> ApiResult<String> {
    crate::domain::RoleName::parse("name", name).map(crate::domain::RoleName::into_inner)
}

fn role_description(description: Option<String>) -> ApiResult<Option<String>> {
    crate::domain::text::description("description", description.as_deref())
}

/// A stable key from a role name: lowercase letters, digits and underscores.
fn role_key(name: &str) -> String {
    let mut key = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            key.push(c);
        } else if !key.ends_with('_') {
            key.push('_');
        }
    }
    format!("custom_{}", key.trim_matches('_'))
}

async fn ensure_name_free(
    txn: &impl ConnectionTrait,
    policy: &Policy,
    organization_id: Uuid,
    name: &str,
    except: Option<Uuid>,
) -> ApiResult<()> {
    let wanted = name.to_lowercase();
    let taken_by_policy = policy
        .roles()
        .iter()
        .any(|role| role.name.to_lowercase() == wanted);
    let custom = role::Entity::find()
        .filter(role::Column::OrganizationId.eq(organization_id))
        .all(txn)
        .await?;
    let taken = custom
        .iter()
        .any(|role| Some(role.id) != except && role.name.to_lowercase() == wanted);
    if taken_by_policy || taken {
        return Err(ApiError::conflict(format!(
            "a role named `{name}` already exists in this organization"
        ))
        .with_detail("field", serde_json::json!("name")));
    }
    Ok(())
}

fn name_conflict(err: sea_orm::DbErr) -> ApiError {
    match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            ApiError::conflict("a role with this name already exists in this organization")
        }
        _ => err.into(),
    }
}

/// Validates requested grants into levels that satisfy the dependencies (adding what is
/// missing when asked) and stay within the actor's own grants: for a role, and for an API key.
pub(in crate::services) fn checked_levels(
    access: &OrgAccess,
    grants: &[(String, String)],
    add_missing: bool,
) -> ApiResult<Vec<u8>> {
    let policy = access.policy();
    let mut levels = vec![0u8; policy.resources().len()];
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (resource, level) in grants {
        if !seen.insert(resource.as_str()) {
            problems.push(format!("resource `{resource}` is granted twice"));
            continue;
        }
        match policy.level_of(resource, level) {
            Some((index, level)) => levels[index] = level,
            None if policy.resources().iter().any(|r| &r.key == resource) => {
                problems.push(format!("resource `{resource}` has no level `{level}`"))
            }
            None => problems.push(format!("unknown resource `{resource}`")),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid("grants", problems.join("; "))
            .with_detail("problems", serde_json::json!(problems)));
    }
    let describe = |resource: usize, level: u8| {
        let resource = &policy.resources()[resource];
        serde_json::json!({ "resource": resource.key, "level": resource.levels[level as usize] })
    };
    match rules::role_levels(policy, access.grants(), levels, add_missing) {
        Ok(levels) => Ok(levels),
        Err(rules::RoleGrantError::Missing(missing)) => {
            let listed: Vec<serde_json::Value> = missing
                .iter()
                .map(|m| {
                    let mut grant = describe(m.resource, m.level);
                    grant["requiredBy"] = describe(m.required_by.0, m.required_by.1);
                    grant
                })
                .collect();
            let text: Vec<String> = missing
                .iter()
                .map(|m| {
                    let (needed, by) = (
                        &policy.resources()[m.resource],
                        &policy.resources()[m.required_by.0],
                    );
                    format!(
                        "{} `{}` (required by {} `{}`)",
                        needed.key,
                        needed.levels[m.level as usize],
                        by.key,
                        by.levels[m.required_by.1 as usize]
                    )
                })
                .collect();
            Err(ApiError::new(
                ErrorCode::PermissionDependency,
                format!("the grants are missing {}", text.join(", ")),
            )
            .with_detail("missing", serde_json::json!(listed)))
        }
        Err(rules::RoleGrantError::AboveCeiling(above)) => {
            Err(Refusal::above_ceiling(policy, &above).into())
        }
    }
}

/// The JSON stored for a role: every grant above the lowest level.
pub(in crate::services) fn stored_grants(policy: &Policy, levels: &[u8]) -> ApiResult<String> {
    let grants: BTreeMap<&str, &str> = levels
        .iter()
        .enumerate()
        .filter(|&(_, &level)| level > 0)
        .map(|(index, &level)| {
            let resource = &policy.resources()[index];
            (
                resource.key.as_str(),
                resource.levels[level as usize].as_str(),
            )
        })
        .collect();
    serde_json::to_string(&grants).map_err(ApiError::internal)
}
