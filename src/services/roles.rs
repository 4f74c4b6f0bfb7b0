//! Roles as the rest of Charter sees them: predefined ones come from the policy, custom ones
//! from the database, both compiled to grants.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::Utc;
use entity::{membership, role};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QuerySelect, Set,
};
use uuid::Uuid;

use crate::authz::policy::PredefinedRole;
use crate::authz::{Grants, OrgAccess, Policy, SeatClass, require};
use crate::error::{ApiError, ApiResult};

/// A role with its compiled grants.
#[derive(Debug, Clone)]
pub struct RoleRecord {
    pub id: Uuid,
    pub organization_id: Option<Uuid>,
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub predefined: bool,
    pub owner: bool,
    pub seat_class: SeatClass,
    pub grants: Arc<Grants>,
}

impl From<&PredefinedRole> for RoleRecord {
    fn from(role: &PredefinedRole) -> Self {
        Self {
            id: role.id,
            organization_id: None,
            key: role.key.clone(),
            name: role.name.clone(),
            description: role.description.clone(),
            predefined: true,
            owner: role.owner,
            seat_class: role.seat_class,
            grants: Arc::new(role.grants.clone()),
        }
    }
}

/// Compiles a stored custom role against the policy in force.
fn from_model(policy: &Policy, model: role::Model) -> ApiResult<RoleRecord> {
    let grants: BTreeMap<String, String> = serde_json::from_str(&model.grants).map_err(|err| {
        ApiError::internal(format!("role {} has malformed grants: {err}", model.id))
    })?;
    let grants = policy.compile_grants(&grants).map_err(|problems| {
        ApiError::internal(format!(
            "role {} no longer fits the policy: {}",
            model.id,
            problems.join("; ")
        ))
    })?;
    Ok(RoleRecord {
        id: model.id,
        organization_id: model.organization_id,
        key: model.key,
        name: model.name,
        description: model.description,
        predefined: false,
        owner: false,
        seat_class: SeatClass::parse(&model.seat_class).unwrap_or(SeatClass::Licensed),
        grants: Arc::new(grants),
    })
}

/// Roles by id: predefined ones without a query, custom ones in one statement.
pub async fn load(
    db: &impl ConnectionTrait,
    policy: &Policy,
    ids: &[Uuid],
) -> ApiResult<HashMap<Uuid, RoleRecord>> {
    let mut found = HashMap::new();
    let mut custom = Vec::new();
    for id in ids {
        match policy.role(*id) {
            Some(role) => {
                found.insert(*id, RoleRecord::from(role));
            }
            None => custom.push(*id),
        }
    }
    if !custom.is_empty() {
        let models = role::Entity::find()
            .filter(role::Column::Id.is_in(custom))
            .filter(role::Column::Predefined.eq(false))
            .all(db)
            .await?;
        for model in models {
            let record = from_model(policy, model)?;
            found.insert(record.id, record);
        }
    }
    Ok(found)
}

/// The roles an organization can assign: the policy's, then its own custom ones.
pub async fn for_organization(
    db: &impl ConnectionTrait,
    policy: &Policy,
    access: &OrgAccess,
) -> ApiResult<Vec<RoleRecord>> {
    access.require(require::ROLE_READ)?;
    let mut roles: Vec<RoleRecord> = policy.roles().iter().map(RoleRecord::from).collect();
    let custom = role::Entity::find()
        .filter(role::Column::OrganizationId.eq(access.organization_id))
        .filter(role::Column::Predefined.eq(false))
        .all(db)
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
pub async fn member_counts(
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

/// Writes the policy's predefined roles to the database (memberships reference them by id),
/// and refuses to start when a role that members hold has left the policy.
pub async fn sync_predefined(db: &impl ConnectionTrait, policy: &Policy) -> anyhow::Result<()> {
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
            .exec(db)
            .await?;
    }
    let known: Vec<Uuid> = policy.roles().iter().map(|role| role.id).collect();
    let stale = role::Entity::find()
        .filter(role::Column::Predefined.eq(true))
        .filter(role::Column::Id.is_not_in(known))
        .all(db)
        .await?;
    for role in stale {
        let holders = membership::Entity::find()
            .filter(membership::Column::RoleId.eq(role.id))
            .count(db)
            .await?;
        anyhow::ensure!(
            holders == 0,
            "the policy no longer declares the predefined role `{}`, which {holders} member(s) hold; \
             reassign them or keep the role in the policy",
            role.key
        );
        role::Entity::delete_by_id(role.id).exec(db).await?;
    }
    Ok(())
}
