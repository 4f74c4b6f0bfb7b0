//! The read rule: who may read a list, as a member of its organization or through sharing.

use std::sync::Arc;

use entity::list;
use sea_orm::{ConnectionTrait, EntityTrait};
use uuid::Uuid;

use super::partners;
use crate::authz::{OrgAccess, Policy, require};
use crate::error::{ApiError, ApiResult};
use crate::services::access;

/// The rule of sharing: a viewer who is not a member of a list's organization reads the list
/// when it is `shared` and the viewer's role grants `list: read` in one of the organizations
/// its owner picked as share partners (`partner_accesses`: the viewer's access in those of
/// them the viewer belongs to).
pub fn readable_through_sharing<'a>(
    shared: bool,
    partner_accesses: impl IntoIterator<Item = &'a OrgAccess>,
) -> bool {
    shared
        && partner_accesses
            .into_iter()
            .any(|access| access.allows(require::LIST_READ))
}

/// The list `list_id` if `viewer` may read it: with `list: read` in its organization, or, when
/// it is shared, in an organization its owner picked as a share partner. NOT_FOUND when the
/// viewer cannot see it at all (as for a list that does not exist); FORBIDDEN for a member of
/// its organization whose role does not grant `list: read`.
pub async fn readable(
    db: &impl ConnectionTrait,
    policy: &Arc<Policy>,
    viewer: Uuid,
    list_id: Uuid,
) -> ApiResult<list::Model> {
    let model = list::Entity::find_by_id(list_id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("list"))?;
    if let Some(access) = access::load_one(db, policy, viewer, model.organization_id).await? {
        access.require(require::LIST_READ)?;
        return Ok(model);
    }
    if model.shared {
        let partners = partners(db, &[model.organization_id])
            .await?
            .remove(&model.organization_id)
            .unwrap_or_default();
        let accesses = access::load(db, policy, viewer, &partners).await?;
        if readable_through_sharing(model.shared, accesses.values()) {
            return Ok(model);
        }
    }
    Err(ApiError::not_found("list"))
}
