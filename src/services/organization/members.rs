//! Changing who is in an organization and with which role (assignment, removal, leaving), safe
//! under concurrent requests on both databases: each change gathers what the rules of
//! [`crate::authz`] (power over others, the last owner, seats) need under the organization's
//! lock, and asks them.

use entity::{membership, user};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::authz::{OrgAccess, Policy, owners, power, seats};
use crate::error::{ApiError, ApiResult};
use crate::services::audit::Action;
use crate::services::organization::roles::RoleRecord;
use crate::services::store::records;
use crate::services::store::scope::OrgChange;
use crate::services::store::seats::ensure_licensed_seat;

/// Owners of the organization, counted inside the caller's transaction (under its lock).
pub(in crate::services) async fn owner_count(
    txn: &impl ConnectionTrait,
    policy: &Policy,
    org: Uuid,
) -> ApiResult<u64> {
    Ok(membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org))
        .filter(membership::Column::RoleId.eq(policy.owner_role().id))
        .count(txn)
        .await?)
}

/// The rules on changing member `target_user`, who holds `role` or is to hold it.
pub(in crate::services) fn check_power_over(
    actor: &OrgAccess,
    target_user: Uuid,
    role: &RoleRecord,
) -> ApiResult<()> {
    Ok(power::power_over(
        actor.policy(),
        actor.user_id(),
        actor.standing(),
        target_user,
        role.standing(),
    )?)
}

async fn target_membership(
    txn: &impl ConnectionTrait,
    organization_id: Uuid,
    membership_id: Uuid,
) -> ApiResult<membership::Model> {
    membership::Entity::find_by_id(membership_id)
        .one(txn)
        .await?
        .filter(|m| m.organization_id == organization_id)
        .ok_or_else(|| ApiError::not_found("membership"))
}

pub(in crate::services) async fn user_email(
    txn: &impl ConnectionTrait,
    user_id: Uuid,
) -> ApiResult<String> {
    Ok(user::Entity::find_by_id(user_id)
        .one(txn)
        .await?
        .map(|user| user.email)
        .unwrap_or_default())
}

/// Gives a member another role of the organization, under its lock (see [`OrgChange::write`]).
pub async fn assign_role(
    change: &OrgChange,
    membership_id: Uuid,
    role_id: Uuid,
) -> ApiResult<membership::Model> {
    change
        .write(async |tx| {
            let (txn, policy, org) = (tx.txn, tx.policy(), tx.organization);
            let target = target_membership(txn, org.id, membership_id).await?;
            let new_role = records::role_in_organization(txn, policy, org.id, role_id).await?;
            let current =
                records::role_in_organization(txn, policy, org.id, target.role_id).await?;
            check_power_over(tx.access, target.user_id, &current)?;
            check_power_over(tx.access, target.user_id, &new_role)?;
            let service =
                crate::services::identity::users::is_service_account(txn, target.user_id).await?;
            power::may_hold(service, new_role.standing())?;
            if current.id == new_role.id {
                return Ok((target, None));
            }
            let owners = owner_count(txn, policy, org.id).await?;
            owners::keeps_an_owner(current.owner, new_role.owner, owners)?;
            if seats::needs_another_seat(
                Some(current.seat_class),
                new_role.seat_class,
                org.free_read_only_seats,
            ) {
                ensure_licensed_seat(txn, policy, org).await?;
            }
            let mut active: membership::ActiveModel = target.clone().into();
            active.role_id = Set(new_role.id);
            active.sort_role = Set(new_role.name.to_lowercase());
            let updated = active.update(txn).await?;
            let email = user_email(txn, target.user_id).await?;
            let event = tx
                .event(
                    Action::MemberRoleAssigned,
                    format!("assigned {} to {email}", new_role.name),
                )
                .target("membership", target.id)
                .payload(json!({
                    "user": email,
                    "before": { "role": current.key },
                    "after": { "role": new_role.key },
                }));
            Ok((updated, Some(event)))
        })
        .await
}

/// Removes another member from the organization.
pub async fn remove_member(change: &OrgChange, membership_id: Uuid) -> ApiResult<()> {
    change
        .write(async |tx| {
            let (txn, policy, org) = (tx.txn, tx.policy(), tx.organization_id());
            let target = target_membership(txn, org, membership_id).await?;
            let current = records::role_in_organization(txn, policy, org, target.role_id).await?;
            check_power_over(tx.access, target.user_id, &current)?;
            if crate::services::identity::users::is_service_account(txn, target.user_id).await? {
                return Err(ApiError::conflict(
                    "a service account's membership ends with the account: delete the service \
                     account",
                ));
            }
            let owners = owner_count(txn, policy, org).await?;
            owners::keeps_an_owner(current.owner, false, owners)?;
            let email = user_email(txn, target.user_id).await?;
            delete_membership(txn, &target).await?;
            let event = tx
                .event(
                    Action::MemberRemoved,
                    format!("removed {email} ({})", current.name),
                )
                .target("membership", target.id)
                .payload(json!({ "before": { "user": email, "role": current.key } }));
            Ok(((), Some(event)))
        })
        .await
}

/// The viewer leaves an organization (their membership is all `change` proves); the last
/// owner cannot.
pub async fn leave(change: &OrgChange) -> ApiResult<()> {
    change
        .write(async |tx| {
            let (txn, policy, org) = (tx.txn, tx.policy(), tx.organization_id());
            let mine = target_membership(txn, org, tx.access.membership_id()).await?;
            let role = records::role_in_organization(txn, policy, org, mine.role_id).await?;
            let owners = owner_count(txn, policy, org).await?;
            owners::keeps_an_owner(role.owner, false, owners)?;
            delete_membership(txn, &mine).await?;
            let event = tx
                .event(Action::MemberLeft, "left the organization")
                .target("membership", mine.id)
                .payload(json!({ "before": { "role": role.key } }));
            Ok(((), Some(event)))
        })
        .await
}

/// Deletes a membership and revokes the keys it held there (returning how many); the user's
/// default organization is cleared if it was this one.
pub(in crate::services) async fn delete_membership(
    txn: &impl ConnectionTrait,
    target: &membership::Model,
) -> ApiResult<u64> {
    membership::Entity::delete_by_id(target.id)
        .exec(txn)
        .await?;
    let revoked = crate::services::organization::api_keys::revoke_held(
        txn,
        target.organization_id,
        target.user_id,
    )
    .await?;
    user::Entity::update_many()
        .col_expr(
            user::Column::DefaultOrganizationId,
            Expr::value(Option::<Uuid>::None),
        )
        .filter(user::Column::Id.eq(target.user_id))
        .filter(user::Column::DefaultOrganizationId.eq(target.organization_id))
        .exec(txn)
        .await?;
    Ok(revoked)
}
