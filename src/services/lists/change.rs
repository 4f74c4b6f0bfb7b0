//! The write path every change to a list shares: the list locked for the change, its audit event.

use entity::list;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::authz::OrgAccess;
use crate::error::{ApiError, ApiResult};
use crate::services::audit::{self, Action, Actor, Event, Scope};

/// Records a change in the audit log of the actor's organization.
pub(super) async fn record(
    txn: &impl ConnectionTrait,
    access: &OrgAccess,
    actor: &Actor,
    action: Action,
    target: (&'static str, Uuid),
    description: String,
    payload: serde_json::Value,
) -> ApiResult<()> {
    audit::record(
        txn,
        actor,
        Event::new(
            Scope::Organization(access.organization_id()),
            action,
            description,
        )
        .target(target.0, target.1)
        .payload(payload),
    )
    .await
}

/// The list `list_id` of the actor's organization, locked until the transaction ends so that
/// changes to one list run one after another.
pub(super) async fn lock_list(
    txn: &impl ConnectionTrait,
    access: &OrgAccess,
    list_id: Uuid,
) -> ApiResult<list::Model> {
    list::Entity::find_by_id(list_id)
        .filter(list::Column::OrganizationId.eq(access.organization_id()))
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::not_found("list"))
}
