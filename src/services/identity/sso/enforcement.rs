//! Enforcement: with `enforced` on, members whose email is in one of the organization's
//! verified domains reach it only through its single sign-on. They cannot sign in to it with a
//! password, switch into it from a password session, or refresh a password session in it (such
//! a session was opened before enforcement began). Owners keep a password sign-in, the break
//! glass for a provider that is down or misconfigured, and every such use is audited. Disabling
//! single sign-on, or giving the domain up, lifts enforcement at once.

use entity::{membership, session, sso_connection};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::authz::Policy;
use crate::error::{ApiError, ApiResult, ErrorCode};

/// The method of a session opened by single sign-on.
pub const SSO: &str = "sso";
/// The method of a session opened with a password (or an invitation's acceptance).
pub const PASSWORD: &str = "pwd";

/// How an organization's enforcement bears on one person reaching it without its single
/// sign-on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Nothing enforces over this person there.
    Free,
    /// Enforced, but the person is an owner: allowed, and audited.
    BreakGlass,
    /// Enforced: only its single sign-on lets the person in.
    Refused,
}

/// The organization that enforces single sign-on over `user`: the one holding their email's
/// domain verified (at most one does), when its connection is on and enforced.
pub(crate) async fn enforcing_organization(
    db: &impl ConnectionTrait,
    email: &str,
) -> ApiResult<Option<Uuid>> {
    let Some(claim) = super::realm::verified_claim(db, email).await? else {
        return Ok(None);
    };
    let enforced = sso_connection::Entity::find()
        .filter(sso_connection::Column::OrganizationId.eq(claim.organization_id))
        .filter(sso_connection::Column::Enabled.eq(true))
        .filter(sso_connection::Column::Enforced.eq(true))
        .one(db)
        .await?
        .is_some();
    Ok(enforced.then_some(claim.organization_id))
}

/// How `user` stands in `organization_id` when reaching it without its single sign-on, given
/// the organization that enforces over them.
pub(crate) async fn standing(
    db: &impl ConnectionTrait,
    policy: &Policy,
    user_id: Uuid,
    enforcing: Option<Uuid>,
    organization_id: Uuid,
) -> ApiResult<Standing> {
    if enforcing != Some(organization_id) {
        return Ok(Standing::Free);
    }
    let owner = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::RoleId.eq(policy.owner_role().id))
        .one(db)
        .await?
        .is_some();
    Ok(if owner {
        Standing::BreakGlass
    } else {
        Standing::Refused
    })
}

/// [`standing`] of the user `user_id` with `email`, finding the organization that enforces
/// over them first.
pub(crate) async fn standing_of(
    db: &impl ConnectionTrait,
    policy: &Policy,
    user_id: Uuid,
    email: &str,
    organization_id: Uuid,
) -> ApiResult<Standing> {
    let enforcing = enforcing_organization(db, email).await?;
    standing(db, policy, user_id, enforcing, organization_id).await
}

/// Whether `session` came through `organization_id`'s own single sign-on.
pub fn through_sso_of(session: &session::Model, organization_id: Uuid) -> bool {
    session.auth_method == SSO && session.idp_organization_id == Some(organization_id)
}

/// The error a person refused a password way into `organization_id` gets (`code`: FORBIDDEN
/// for a sign-in or a switch, UNAUTHENTICATED for a session that ends), naming it.
pub(crate) async fn refusal(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
    code: ErrorCode,
) -> ApiResult<ApiError> {
    let name = entity::organization::Entity::find_by_id(organization_id)
        .one(db)
        .await?
        .map(|org| org.name)
        .unwrap_or_default();
    Ok(ApiError::new(
        code,
        format!("{name} requires single sign-on: sign in through its identity provider"),
    )
    .with_detail("singleSignOn", serde_json::json!(true)))
}
