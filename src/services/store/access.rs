//! The viewer's effective access in organizations, read from the database for each request.

use std::collections::HashMap;
use std::sync::Arc;

use entity::membership;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::auth::Principal;
use crate::authz::{KeyLimit, MembershipFacts, OrgAccess, Policy, Proof};
use crate::error::ApiResult;
use crate::services::AppState;
use crate::services::store::records::{self, MembershipRecord, OrganizationRecord};

/// Who a request outside GraphQL acts as: a user, and the key they act through, if any.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user_id: Uuid,
    pub key: Option<Arc<KeyLimit>>,
    /// What the viewer's credential proved (see [`Principal::proof`]).
    pub proof: Proof,
}

impl Viewer {
    /// A user acting with their own role (not through a key).
    pub fn user(user_id: Uuid) -> Self {
        Self {
            user_id,
            key: None,
            proof: Proof::default(),
        }
    }

    /// The viewer of a request authenticated as `principal`; UNAUTHENTICATED without one.
    pub fn of(principal: &Principal) -> ApiResult<Self> {
        Ok(Self {
            user_id: principal.user_id()?,
            key: principal.key().cloned(),
            proof: principal.proof(),
        })
    }
}

/// `access` as seen through `key`, when the viewer acts through one (see
/// [`OrgAccess::limited`]): none outside the key's organization; none outside the organization
/// a session is bound to by how it signed in (see [`Proof::reaches`]); and weighed with what
/// the session proved.
pub fn limit(
    access: Option<OrgAccess>,
    key: Option<&Arc<KeyLimit>>,
    proof: Proof,
) -> Option<OrgAccess> {
    let access = match key {
        Some(key) => access?.limited(key),
        None => access,
    }?;
    proof
        .reaches(access.organization_id())
        .then(|| access.with_proof(proof))
}

/// [`limit`] of every access in `found`.
pub fn limit_all(
    found: HashMap<Uuid, OrgAccess>,
    key: Option<&Arc<KeyLimit>>,
    proof: Proof,
) -> HashMap<Uuid, OrgAccess> {
    found
        .into_iter()
        .filter_map(|(org, access)| Some((org, limit(Some(access), key, proof)?)))
        .collect()
}

/// The viewer's access from their memberships and the organizations of those memberships,
/// both already read in this request; their roles are read here (every request reads them).
pub async fn of_viewer(
    state: &AppState,
    viewer: Uuid,
    memberships: Vec<MembershipRecord>,
    organizations: &HashMap<Uuid, OrganizationRecord>,
) -> ApiResult<HashMap<Uuid, OrgAccess>> {
    combine(&state.db, &state.policy, viewer, memberships, organizations).await
}

/// The memberships of `viewer` in each of `organization_ids` where they are a member.
pub async fn viewer_memberships(
    state: &AppState,
    viewer: Uuid,
    organization_ids: &[Uuid],
) -> ApiResult<HashMap<Uuid, MembershipRecord>> {
    Ok(memberships_in(&state.db, viewer, organization_ids)
        .await?
        .into_iter()
        .map(|m| (m.organization_id, m.into()))
        .collect())
}

async fn memberships_in(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    organization_ids: &[Uuid],
) -> ApiResult<Vec<membership::Model>> {
    // A suspended membership grants nothing: its sessions and keys reach nothing there.
    Ok(membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::OrganizationId.is_in(organization_ids.iter().copied()))
        .filter(membership::Column::SuspendedAt.is_null())
        .all(db)
        .await?)
}

/// The access of `user_id` in each of `organization_ids` where they are a member; an
/// organization missing from the result is one where they are not (to be answered NOT_FOUND).
pub(crate) async fn load(
    db: &impl ConnectionTrait,
    policy: &Arc<Policy>,
    user_id: Uuid,
    organization_ids: &[Uuid],
) -> ApiResult<HashMap<Uuid, OrgAccess>> {
    let memberships = memberships_in(db, user_id, organization_ids).await?;
    if memberships.is_empty() {
        return Ok(HashMap::new());
    }
    let member_of: Vec<Uuid> = memberships.iter().map(|m| m.organization_id).collect();
    let organizations = records::load_organizations(db, &member_of)
        .await?
        .into_iter()
        .map(|(id, org)| (id, org.into()))
        .collect();
    let memberships = memberships.into_iter().map(Into::into).collect();
    combine(db, policy, user_id, memberships, &organizations).await
}

/// Access from memberships, their roles (read here) and their organizations' features.
async fn combine(
    db: &impl ConnectionTrait,
    policy: &Arc<Policy>,
    user_id: Uuid,
    memberships: Vec<MembershipRecord>,
    organizations: &HashMap<Uuid, OrganizationRecord>,
) -> ApiResult<HashMap<Uuid, OrgAccess>> {
    if memberships.is_empty() {
        return Ok(HashMap::new());
    }
    let role_ids: Vec<Uuid> = memberships.iter().map(|m| m.role_id).collect();
    let roles = records::load_roles(db, policy, &role_ids).await?;
    Ok(memberships
        .into_iter()
        .filter_map(|m| {
            let role = roles.get(&m.role_id)?;
            let organization = organizations.get(&m.organization_id)?;
            let facts = MembershipFacts {
                user_id,
                organization_id: m.organization_id,
                membership_id: m.id,
                role_id: role.id,
                owner: role.owner,
            };
            let grants = policy.effective(&role.grants, &organization.features);
            Some((
                m.organization_id,
                OrgAccess::new(facts, grants, organization.features.clone(), policy.clone())
                    .requiring_mfa(organization.mfa_required),
            ))
        })
        .collect())
}

/// The access of `user_id` in one organization, if they are a member.
pub(crate) async fn load_one(
    db: &impl ConnectionTrait,
    policy: &Arc<Policy>,
    user_id: Uuid,
    organization_id: Uuid,
) -> ApiResult<Option<OrgAccess>> {
    Ok(load(db, policy, user_id, &[organization_id])
        .await?
        .remove(&organization_id))
}

/// An organization both users belong to, if any (the oldest such membership of `other`).
pub async fn shared_organization_with(
    state: &AppState,
    viewer: Uuid,
    other: Uuid,
    only: Option<Uuid>,
) -> ApiResult<Option<Uuid>> {
    let db = &state.db;
    use sea_orm::{QueryOrder, QuerySelect, QueryTrait};
    let viewer_orgs = membership::Entity::find()
        .select_only()
        .column(membership::Column::OrganizationId)
        .filter(membership::Column::UserId.eq(viewer))
        .into_query();
    let mut found = membership::Entity::find()
        .filter(membership::Column::UserId.eq(other))
        .filter(membership::Column::OrganizationId.in_subquery(viewer_orgs));
    if let Some(only) = only {
        found = found.filter(membership::Column::OrganizationId.eq(only));
    }
    Ok(found
        .order_by_asc(membership::Column::Id)
        .one(db)
        .await?
        .map(|m| m.organization_id))
}
