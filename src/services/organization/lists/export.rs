//! Export paging: a whole list walked in value order, a bounded batch at a time.

use entity::list_entry;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{EntryRecord, ListRead};
use crate::error::ApiResult;
use crate::services::AppState;

/// The next `limit` entries of the list `read` reads after `after`, in value order: how
/// exports walk a list without holding it in memory.
pub async fn entries_after(
    state: &AppState,
    read: &ListRead,
    after: Option<&str>,
    limit: u64,
) -> ApiResult<Vec<EntryRecord>> {
    let db = &state.db;
    let mut query =
        list_entry::Entity::find().filter(list_entry::Column::ListId.eq(read.list_id()));
    if let Some(after) = after {
        query = query.filter(list_entry::Column::Value.gt(after));
    }
    Ok(query
        .order_by_asc(list_entry::Column::Value)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(EntryRecord::from)
        .collect())
}
