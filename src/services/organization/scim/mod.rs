//! SCIM provisioning of an organization's people (RFC 7644), in Charter's terms: a SCIM User is
//! a person's membership of the organization (its id is the membership's), a SCIM Group is a
//! group of those memberships that places its members in a role.
//!
//! What a provisioning client may do is bounded like anyone's change: it acts through an API
//! key of a service account, whose role's grants are the ceiling of the roles it hands out;
//! seats and the last owner hold; it creates or renames identities only in the organization's
//! verified domains, and never changes an identity another organization also holds beyond its
//! own membership (its SCIM attributes, its role, its suspension).

pub mod groups;
pub mod placement;
pub mod users;

use std::collections::HashMap;

use entity::{membership, organization};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use serde_json::json;
use uuid::Uuid;

use crate::error::ApiResult;
use crate::services::audit::Action;
use crate::services::organization::members::check_power_over;
use crate::services::organization::roles::RoleRecord;
use crate::services::store::records;
use crate::services::store::scope::OrgChange;

/// Which rows of a list to read: `offset` rows skipped, at most `limit` read.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub offset: u64,
    pub limit: u64,
}

/// The emails of `ids`, by user.
pub(super) async fn emails_of(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> ApiResult<HashMap<Uuid, String>> {
    let mut found = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(placement::CHUNK) {
        let users = crate::services::identity::users::load(db, chunk).await?;
        found.extend(users.into_iter().map(|(id, user)| (id, user.email)));
    }
    Ok(found)
}

/// Sets the role SCIM gives new members (and members no group places): one the actor may hand
/// out. Members already placed keep their roles until SCIM next changes them.
pub async fn configure(change: &OrgChange, role_id: Uuid) -> ApiResult<RoleRecord> {
    change
        .write(async |tx| {
            let (txn, policy, org) = (tx.txn, tx.policy(), tx.organization);
            let role = records::role_in_organization(txn, policy, org.id, role_id).await?;
            crate::authz::power::may_hand_out(policy, tx.access.standing(), role.standing())?;
            let before = placement::default_role(txn, policy, org).await?;
            let mut active: organization::ActiveModel = org.clone().into();
            active.scim_default_role_id = Set(Some(role.id));
            active.update(txn).await?;
            let event = tx
                .event(
                    Action::ScimConfigured,
                    format!("set the role SCIM gives new members to {}", role.name),
                )
                .target("organization", org.id)
                .payload(json!({
                    "before": { "defaultRole": before.key },
                    "after": { "defaultRole": role.key },
                }));
            Ok((role, Some(event)))
        })
        .await
}

/// The rules on changing `member` through SCIM: a person's membership (service accounts are
/// Charter's own), held in a role the actor has power over.
pub(super) async fn check_target(
    tx: &crate::services::store::scope::Tx<'_>,
    member: &membership::Model,
) -> ApiResult<RoleRecord> {
    let role =
        records::role_in_organization(tx.txn, tx.policy(), tx.organization.id, member.role_id)
            .await?;
    check_power_over(tx.access, member.user_id, &role)?;
    Ok(role)
}

/// The gate of the SCIM endpoint of the organization `reference` names: only an API key of a
/// service account of that organization, whose effective grants include `member: manage`,
/// opens it. Nothing else does — not a person's session, not a person's key.
pub async fn admit(
    state: &crate::services::AppState,
    principal: &crate::auth::Principal,
    reference: &str,
    meta: &crate::services::RequestMeta,
) -> ApiResult<OrgChange> {
    use crate::auth::Principal;
    use crate::error::ApiError;
    let (holder, key) = match principal {
        Principal::Key { user, key } => (user, key),
        Principal::User { .. } => {
            return Err(ApiError::forbidden(
                "SCIM takes an API key of a service account, not a person's session",
            ));
        }
        other => {
            other.user_id()?;
            return Err(ApiError::unauthenticated("send an API key"));
        }
    };
    if holder.kind != crate::services::identity::users::SERVICE {
        return Err(ApiError::forbidden(
            "SCIM takes an API key of a service account, not a person's key",
        ));
    }
    let org = crate::services::organization::organizations::find_by_reference(state, reference)
        .await?
        .filter(|org| org.id == key.organization_id)
        .ok_or_else(|| ApiError::not_found("organization"))?;
    let viewer = crate::services::store::access::Viewer::of(principal)?;
    let scope = crate::services::store::scope::OrgScope::enter(
        &state.db,
        &state.policy,
        &viewer,
        "organization",
        org.id,
        crate::authz::require::MEMBER_MANAGE,
    )
    .await?;
    let actor =
        crate::services::audit::Actor::signed_in(holder, meta).through_key(Some(key.key_id));
    Ok(scope.change_as(actor))
}

/// The role SCIM gives new members of the organization `scope` passed the gate of.
pub async fn default_role_of(
    scope: &crate::services::store::scope::OrgScope,
) -> ApiResult<RoleRecord> {
    let org = organization::Entity::find_by_id(scope.organization_id())
        .one(scope.db())
        .await?
        .ok_or_else(|| crate::error::ApiError::not_found("organization"))?;
    placement::default_role(scope.db(), scope.policy(), &org).await
}
