//! Links between an organization's identity provider's subjects and Charter accounts, and the
//! membership a just-in-time sign-in provisions.

use chrono::Utc;
use entity::{organization, sso_connection, sso_identity, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::{enabled_connection, issuer_of};
use crate::authz::Refusal;
use crate::authz::seats;
use crate::error::{ApiError, ApiResult};
use crate::services::AppState;
use crate::services::audit::{Action, Event, Scope};
use crate::services::store::records;
use crate::services::store::seats::ensure_licensed_seat;

/// Links the provider's `subject` to `user`, whose own password (and second factor, when they
/// have one) has just confirmed it, in the write that opens their session: the organization
/// locked, its connection still the one that vouched, and the person made a member with the
/// default role when they are not one and just-in-time provisioning is on. Returns the events.
pub(crate) async fn link_identity(
    txn: &impl ConnectionTrait,
    state: &AppState,
    organization_id: Uuid,
    issuer: &str,
    subject: &str,
    user: &user::Model,
) -> ApiResult<Vec<Event>> {
    let changed = || {
        ApiError::conflict(
            "the organization's single sign-on changed during the sign-in; start it again",
        )
    };
    let (org, existing) = locked_with_link(txn, organization_id, issuer, subject)
        .await?
        .ok_or_else(changed)?;
    let connection = enabled_connection(txn, org.id)
        .await?
        .filter(|connection| issuer_of(connection) == Some(issuer))
        .ok_or_else(changed)?;
    let mut events = Vec::new();
    match existing {
        Some(link) if link.user_id == user.id => {}
        Some(_) => {
            return Err(ApiError::conflict(
                "this identity at the provider is already linked to another account",
            ));
        }
        None => {
            let link = insert_link(txn, org.id, issuer, subject, user.id).await?;
            events.push(
                Event::new(
                    Scope::Organization(org.id),
                    Action::SsoIdentityLinked,
                    format!(
                        "{} confirmed the link of their account to single sign-on",
                        user.email
                    ),
                )
                .target("user", user.id)
                .payload(json!({ "issuer": issuer, "linkId": link.id })),
            );
        }
    }
    let found = records::membership(txn, user.id, org.id).await?;
    not_suspended(found.as_ref())?;
    if found.is_none() {
        if !connection.jit_provisioning {
            return Err(ApiError::forbidden(
                "you are not a member of this organization; ask its administrators for an invitation",
            ));
        }
        events.push(provision(txn, state, &org, &connection, user).await?);
    }
    Ok(events)
}

/// The organization, locked (seats are counted and links made one at a time under it), and
/// the link of the provider's `subject` in it, if one was made.
pub(super) async fn locked_with_link(
    txn: &impl ConnectionTrait,
    organization_id: Uuid,
    issuer: &str,
    subject: &str,
) -> ApiResult<Option<(organization::Model, Option<sso_identity::Model>)>> {
    let Some(org) = organization::Entity::find_by_id(organization_id)
        .lock_exclusive()
        .one(txn)
        .await?
    else {
        return Ok(None);
    };
    let link = sso_identity::Entity::find()
        .filter(sso_identity::Column::OrganizationId.eq(org.id))
        .filter(sso_identity::Column::Issuer.eq(issuer))
        .filter(sso_identity::Column::Subject.eq(subject))
        .one(txn)
        .await?;
    Ok(Some((org, link)))
}

/// Records a sign-in through the provider's `subject`: the link's last use, or the link itself
/// the first time.
pub(super) async fn signed_in_through(
    txn: &impl ConnectionTrait,
    link: Option<sso_identity::Model>,
    organization_id: Uuid,
    issuer: &str,
    subject: &str,
    user_id: Uuid,
) -> ApiResult<()> {
    match link {
        Some(link) => {
            let mut active: sso_identity::ActiveModel = link.into();
            active.last_sign_in_at = Set(Utc::now());
            active.update(txn).await?;
        }
        None => {
            insert_link(txn, organization_id, issuer, subject, user_id).await?;
        }
    }
    Ok(())
}

pub(super) async fn insert_link(
    txn: &impl ConnectionTrait,
    organization_id: Uuid,
    issuer: &str,
    subject: &str,
    user_id: Uuid,
) -> ApiResult<sso_identity::Model> {
    let now = Utc::now();
    Ok(sso_identity::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(organization_id),
        user_id: Set(user_id),
        issuer: Set(issuer.to_owned()),
        subject: Set(subject.to_owned()),
        created_at: Set(now),
        last_sign_in_at: Set(now),
    }
    .insert(txn)
    .await?)
}

/// Makes `user` a member with the connection's default role (under the organization's lock,
/// which the caller holds): its seat must be free, and it is never the owner role.
pub(super) async fn provision(
    txn: &impl ConnectionTrait,
    state: &AppState,
    org: &organization::Model,
    connection: &sso_connection::Model,
    user: &user::Model,
) -> ApiResult<Event> {
    let role = seated_default_role(txn, state, org, connection).await?;
    let joined = records::new_membership(user, org.id, role.id, &role.name, None)
        .insert(txn)
        .await?;
    if user.default_organization_id.is_none() {
        let mut active: user::ActiveModel = user.clone().into();
        active.default_organization_id = Set(Some(org.id));
        active.update(txn).await?;
    }
    Ok(Event::new(
        Scope::Organization(org.id),
        Action::SsoMemberProvisioned,
        format!(
            "{} joined through single sign-on as {}",
            user.email, role.name
        ),
    )
    .target("membership", joined.id)
    .payload(json!({ "after": { "user": user.email, "role": role.key } })))
}

/// The connection's default role, when one more member holding it fits the license (under the
/// organization's lock, which the caller holds): CONFLICT when there is none any more or it is
/// the owner role, SEAT_LIMIT_REACHED when its seat is not free.
pub(super) async fn seated_default_role(
    txn: &impl ConnectionTrait,
    state: &AppState,
    org: &organization::Model,
    connection: &sso_connection::Model,
) -> ApiResult<records::RoleRecord> {
    let role_id = connection.default_role_id.ok_or_else(|| {
        ApiError::conflict(format!("{} has no default role for new members", org.name))
    })?;
    let role = records::role_in_organization(txn, &state.policy, org.id, role_id)
        .await
        .map_err(|_| {
            ApiError::conflict(format!(
                "{}'s default role for new members no longer exists",
                org.name
            ))
        })?;
    if role.owner {
        return Err(Refusal::OwnerRoleBySingleSignOn.into());
    }
    if seats::takes_licensed_seat(role.seat_class, org.free_read_only_seats) {
        ensure_licensed_seat(txn, &state.policy, org).await?;
    }
    Ok(role)
}

/// FORBIDDEN when the organization's provisioning suspended the membership.
fn not_suspended(found: Option<&entity::membership::Model>) -> ApiResult<()> {
    match found {
        Some(m) if m.suspended_at.is_some() => Err(ApiError::forbidden(
            "your membership of this organization is suspended; ask its administrators",
        )),
        _ => Ok(()),
    }
}
