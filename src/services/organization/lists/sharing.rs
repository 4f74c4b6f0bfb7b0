//! Sharing: a list's `shared` flag, the partner organizations that receive shared lists.

use std::collections::HashMap;

use chrono::Utc;
use entity::{list, share_partner};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::ListRecord;
use super::change::lock_list;
use crate::error::{ApiError, ApiResult};
use crate::services::AppState;
use crate::services::audit::{Action, Event};
use crate::services::organization::organizations::OrganizationRecord;
use crate::services::store::scope::{OrgChange, Tx};

/// Shares a list with the organization's share partners, or stops sharing it.
pub async fn set_shared(change: &OrgChange, list_id: Uuid, shared: bool) -> ApiResult<ListRecord> {
    let model = change
        .write(async |tx| {
            let before = lock_list(tx, list_id).await?;
            if before.shared == shared {
                return Ok((before, None));
            }
            let model = list::ActiveModel {
                id: Set(list_id),
                shared: Set(shared),
                updated_at: Set(Utc::now()),
                ..Default::default()
            }
            .update(tx.txn)
            .await?;
            let (action, verb) = if shared {
                (Action::ListShared, "shared")
            } else {
                (Action::ListUnshared, "stopped sharing")
            };
            let event = tx
                .event(action, format!("{verb} the list {}", model.name))
                .target("list", model.id)
                .payload(
                    json!({ "before": { "shared": before.shared }, "after": { "shared": shared } }),
                );
            Ok((model, Some(event)))
        })
        .await?;
    model.try_into()
}

/// Picks `partner` to receive the organization's shared lists (nothing changes when it
/// already does).
pub async fn add_partner(change: &OrgChange, partner: &OrganizationRecord) -> ApiResult<()> {
    if partner.id == change.organization_id() {
        return Err(ApiError::invalid(
            "partnerOrganizationId",
            "an organization cannot be its own share partner",
        ));
    }
    change
        .write(async |tx| {
            let key = (tx.organization_id(), partner.id);
            if share_partner::Entity::find_by_id(key)
                .one(tx.txn)
                .await?
                .is_some()
            {
                return Ok(((), None));
            }
            share_partner::ActiveModel {
                organization_id: Set(tx.organization_id()),
                partner_id: Set(partner.id),
                added_by: Set(tx.actor.user_id),
                created_at: Set(Utc::now()),
            }
            .insert(tx.txn)
            .await?;
            let event = partner_event(tx, Action::SharePartnerAdded, "added", partner);
            Ok(((), Some(event)))
        })
        .await
}

/// Stops sharing with `partner` (nothing changes when it was not a partner).
pub async fn remove_partner(change: &OrgChange, partner: &OrganizationRecord) -> ApiResult<()> {
    change
        .write(async |tx| {
            let removed = share_partner::Entity::delete_by_id((tx.organization_id(), partner.id))
                .exec(tx.txn)
                .await?;
            if removed.rows_affected == 0 {
                return Ok(((), None));
            }
            let event = partner_event(tx, Action::SharePartnerRemoved, "removed", partner);
            Ok(((), Some(event)))
        })
        .await
}

/// The event of `partner` added or removed (`verb`) as a share partner.
fn partner_event(tx: &Tx<'_>, action: Action, verb: &str, partner: &OrganizationRecord) -> Event {
    let what = format!(
        "{verb} {} ({}) as a share partner",
        partner.name, partner.public_id
    );
    tx.event(action, what)
        .target("organization", partner.id)
        .payload(json!({ "partner": { "name": partner.name, "publicId": partner.public_id } }))
}

/// [`partners`], for a reader holding the application's state.
pub async fn partners_of(
    state: &AppState,
    organization_ids: &[Uuid],
) -> ApiResult<HashMap<Uuid, Vec<Uuid>>> {
    partners(&state.db, organization_ids).await
}

/// The partners each of `organization_ids` shares its lists with.
pub(crate) async fn partners(
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
