//! Sharing: a list's `shared` flag, the partner organizations that receive shared lists.

use std::collections::HashMap;

use chrono::Utc;
use entity::{list, organization, share_partner};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::change::{lock_list, record};
use crate::authz::{OrgAccess, require};
use crate::db::begin_write;
use crate::error::{ApiError, ApiResult};
use crate::services::audit::{Action, Actor};

/// Shares a list with the organization's share partners, or stops sharing it.
pub async fn set_shared(
    db: &DatabaseConnection,
    access: &OrgAccess,
    actor: &Actor,
    list_id: Uuid,
    shared: bool,
) -> ApiResult<list::Model> {
    access.require(require::LIST_SHARING_MANAGE)?;
    let txn = begin_write(db).await?;
    let before = lock_list(&txn, access, list_id).await?;
    if before.shared == shared {
        return Ok(before);
    }
    let model = list::ActiveModel {
        id: Set(list_id),
        shared: Set(shared),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .update(&txn)
    .await?;
    let (action, verb) = if shared {
        (Action::ListShared, "shared")
    } else {
        (Action::ListUnshared, "stopped sharing")
    };
    record(
        &txn,
        access,
        actor,
        action,
        ("list", model.id),
        format!("{} {verb} the list {}", actor.name(), model.name),
        json!({ "before": { "shared": before.shared }, "after": { "shared": shared } }),
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// Picks `partner` to receive the organization's shared lists (nothing changes when it
/// already does).
pub async fn add_partner(
    db: &DatabaseConnection,
    access: &OrgAccess,
    actor: &Actor,
    partner: &organization::Model,
) -> ApiResult<()> {
    access.require(require::LIST_SHARING_MANAGE)?;
    if partner.id == access.organization_id() {
        return Err(ApiError::invalid(
            "partnerOrganizationId",
            "an organization cannot be its own share partner",
        ));
    }
    let txn = begin_write(db).await?;
    let existing = share_partner::Entity::find_by_id((access.organization_id(), partner.id))
        .one(&txn)
        .await?;
    if existing.is_some() {
        return Ok(());
    }
    share_partner::ActiveModel {
        organization_id: Set(access.organization_id()),
        partner_id: Set(partner.id),
        added_by: Set(actor.user_id),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    let action = Action::SharePartnerAdded;
    record_partner_change(&txn, access, actor, action, "added", partner).await?;
    txn.commit().await?;
    Ok(())
}

/// Stops sharing with `partner` (nothing changes when it was not a partner).
pub async fn remove_partner(
    db: &DatabaseConnection,
    access: &OrgAccess,
    actor: &Actor,
    partner: &organization::Model,
) -> ApiResult<()> {
    access.require(require::LIST_SHARING_MANAGE)?;
    let txn = begin_write(db).await?;
    let removed = share_partner::Entity::delete_by_id((access.organization_id(), partner.id))
        .exec(&txn)
        .await?;
    if removed.rows_affected == 0 {
        return Ok(());
    }
    let action = Action::SharePartnerRemoved;
    record_partner_change(&txn, access, actor, action, "removed", partner).await?;
    txn.commit().await?;
    Ok(())
}

/// Records that `partner` was added or removed (`verb`) as a share partner.
async fn record_partner_change(
    txn: &impl ConnectionTrait,
    access: &OrgAccess,
    actor: &Actor,
    action: Action,
    verb: &str,
    partner: &organization::Model,
) -> ApiResult<()> {
    record(
        txn,
        access,
        actor,
        action,
        ("organization", partner.id),
        format!(
            "{} {verb} {} ({}) as a share partner",
            actor.name(),
            partner.name,
            partner.public_id
        ),
        json!({ "partner": { "name": partner.name, "publicId": partner.public_id } }),
    )
    .await
}

/// The partners each of `organization_ids` shares its lists with.
pub async fn partners(
    db: &impl ConnectionTrait,
    organization_ids: &[Uuid],
) -> ApiResult<HashMap<Uuid, Vec<Uuid>>> {
    let rows = share_partner::Entity::find()
        .filter(share_partner::Column::OrganizationId.is_in(organization_ids.iter().copied()))
        .order_by_asc(share_partner::Column::CreatedAt)
        .all(db)
        .await?;
    let mut partners: HashMap<Uuid, Vec<Uuid>> = organization_ids
        .iter()
        .map(|id| (*id, Vec::new()))
        .collect();
    for row in rows {
        partners
            .entry(row.organization_id)
            .or_default()
            .push(row.partner_id);
    }
    Ok(partners)
}
