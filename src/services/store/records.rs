//! The floor under the gate: the records the gate reads to know a viewer's access
//! (memberships, organizations, roles) and their batched loads. No use case lives here, so the
//! gate (`scope`, `access`) stands on this and nothing above it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use entity::{membership, organization, role, user};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::authz::Refusal;
use crate::authz::policy::PredefinedRole;
use crate::authz::{Grants, Policy, SeatClass, Standing};
use crate::error::{ApiError, ApiResult};

/// One user's membership of one organization, as callers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    pub organization_id: Uuid,
    pub role_id: Uuid,
    /// Who invited the user, when they joined by invitation.
    pub invited_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<membership::Model> for MembershipRecord {
    fn from(model: membership::Model) -> Self {
        Self {
            id: model.id,
            user_id: model.user_id,
            organization_id: model.organization_id,
            role_id: model.role_id,
            invited_by: model.invited_by,
            created_at: model.created_at,
        }
    }
}

/// An organization as callers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationRecord {
    pub id: Uuid,
    pub public_id: String,
    pub name: String,
    /// Licensed seats.
    pub seats: i32,
    pub free_read_only_seats: bool,
    /// Licensed features, such as `custom_roles`.
    pub features: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// Whether members must have verified a second factor in their session.
    pub mfa_required: bool,
}

impl From<organization::Model> for OrganizationRecord {
    fn from(model: organization::Model) -> Self {
        Self {
            features: features(&model),
            id: model.id,
            public_id: model.public_id,
            name: model.name,
            seats: model.seats,
            free_read_only_seats: model.free_read_only_seats,
            created_at: model.created_at,
            mfa_required: model.mfa_required,
        }
    }
}

pub(crate) async fn load_organizations(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> ApiResult<HashMap<Uuid, organization::Model>> {
    Ok(organization::Entity::find()
        .filter(organization::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|org| (org.id, org))
        .collect())
}

/// The licensed features of an organization.
pub fn features(organization: &organization::Model) -> Vec<String> {
    serde_json::from_str(&organization.features).unwrap_or_else(|err| {
        tracing::error!(organization = %organization.id, error = %err, "malformed features");
        Vec::new()
    })
}

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

impl RoleRecord {
    /// The role as the rules on handing it out see it.
    pub fn standing(&self) -> Standing<'_> {
        Standing {
            owner: self.owner,
            grants: &self.grants,
        }
    }
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

/// Compiles grants stored as JSON (of the role or key `what`) against the policy in force.
pub(in crate::services) fn compile_stored(
    policy: &Policy,
    what: impl std::fmt::Display,
    stored: &str,
) -> ApiResult<Grants> {
    let grants: BTreeMap<String, String> = serde_json::from_str(stored)
        .map_err(|err| ApiError::internal(format!("{what} has malformed grants: {err}")))?;
    policy.compile_grants(&grants).map_err(|problems| {
        ApiError::internal(format!(
            "{what} no longer fits the policy: {}",
            problems.join("; ")
        ))
    })
}

/// Compiles a stored custom role against the policy in force.
pub(in crate::services) fn from_model(
    policy: &Policy,
    model: role::Model,
) -> ApiResult<RoleRecord> {
    let grants = compile_stored(policy, format_args!("role {}", model.id), &model.grants)?;
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
pub(crate) async fn load_roles(
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

/// Whether `domain` is one of the organization's verified domains.
pub(crate) async fn verified_domain(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
    domain: &str,
) -> ApiResult<bool> {
    use entity::organization_domain;
    Ok(organization_domain::Entity::find()
        .filter(organization_domain::Column::OrganizationId.eq(organization_id))
        .filter(organization_domain::Column::Domain.eq(domain))
        .filter(organization_domain::Column::VerifiedAt.is_not_null())
        .one(db)
        .await?
        .is_some())
}

/// The membership of `user_id` in `organization_id` that grants access: not suspended.
pub(crate) async fn active_membership(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    organization_id: Uuid,
) -> ApiResult<Option<membership::Model>> {
    Ok(membership(db, user_id, organization_id)
        .await?
        .filter(|m| m.suspended_at.is_none()))
}

/// The membership of `user_id` in `organization_id`, if any, suspended or not.
pub async fn membership(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    organization_id: Uuid,
) -> ApiResult<Option<membership::Model>> {
    Ok(membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .one(db)
        .await?)
}

/// A new membership row with its sort keys.
pub fn new_membership(
    user: &user::Model,
    organization_id: Uuid,
    role_id: Uuid,
    role_name: &str,
    invited_by: Option<Uuid>,
) -> membership::ActiveModel {
    use sea_orm::Set;
    membership::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        organization_id: Set(organization_id),
        role_id: Set(role_id),
        invited_by: Set(invited_by),
        created_at: Set(chrono::Utc::now()),
        sort_email: Set(user.email_lower.clone()),
        sort_name: Set(user.display_name.to_lowercase()),
        sort_role: Set(role_name.to_lowercase()),
        suspended_at: Set(None),
        scim_updated_at: Set(None),
        scim_external_id: Set(None),
        scim_attributes: Set(None),
    }
}

/// A role an organization can hand out: a predefined one, or one of its own custom roles.
pub(crate) async fn role_in_organization(
    db: &impl ConnectionTrait,
    policy: &Policy,
    organization_id: Uuid,
    role_id: Uuid,
) -> ApiResult<RoleRecord> {
    if let Some(role) = policy.role(role_id) {
        return Ok(RoleRecord::from(role));
    }
    let model = role::Entity::find_by_id(role_id)
        .one(db)
        .await?
        .filter(|model| model.organization_id == Some(organization_id))
        .ok_or(Refusal::RoleNotInOrganization)?;
    from_model(policy, model)
}
