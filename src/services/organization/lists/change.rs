//! What every change to a list shares: the list locked for the change, inside the one write path.

use entity::list;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::services::store::scope::Tx;

/// The list `list_id` of the organization being changed, locked until the transaction ends so
/// that changes to one list run one after another. NOT_FOUND for a list of another
/// organization, as for one that does not exist.
pub(super) async fn lock_list(tx: &Tx<'_>, list_id: Uuid) -> ApiResult<list::Model> {
    list::Entity::find_by_id(list_id)
        .filter(list::Column::OrganizationId.eq(tx.organization_id()))
        .lock_exclusive()
        .one(tx.txn)
        .await?
        .ok_or_else(|| ApiError::not_found("list"))
}
