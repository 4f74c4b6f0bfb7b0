//! Lists in pages, oldest first: an organization's own, those shared with it, a batch by id.

use std::collections::HashMap;

use entity::{list, share_partner};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Select,
};
use uuid::Uuid;

use crate::error::ApiResult;
use crate::services::{Page, PageArgs};

/// Lists by id.
pub async fn load(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> ApiResult<HashMap<Uuid, list::Model>> {
    Ok(list::Entity::find()
        .filter(list::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|model| (model.id, model))
        .collect())
}

/// A page of an organization's own lists, oldest first.
pub async fn page(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
    args: PageArgs,
) -> ApiResult<(Page<list::Model>, i64)> {
    let base = list::Entity::find().filter(list::Column::OrganizationId.eq(organization_id));
    keyset_page(db, base, args).await
}

/// A page of the lists other organizations share with `organization_id`: shared lists of every
/// organization that picked it as a partner, oldest first.
pub async fn shared_with(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
    args: PageArgs,
) -> ApiResult<(Page<list::Model>, i64)> {
    let owners = share_partner::Entity::find()
        .select_only()
        .column(share_partner::Column::OrganizationId)
        .filter(share_partner::Column::PartnerId.eq(organization_id))
        .into_query();
    let base = list::Entity::find()
        .filter(list::Column::Shared.eq(true))
        .filter(list::Column::OrganizationId.in_subquery(owners));
    keyset_page(db, base, args).await
}

/// A page of the lists `base` selects, in id order (oldest first), with how many it selects.
async fn keyset_page(
    db: &impl ConnectionTrait,
    base: Select<list::Entity>,
    args: PageArgs,
) -> ApiResult<(Page<list::Model>, i64)> {
    let total = base.clone().count(db).await? as i64;
    let mut query = base;
    if let Some(after) = args.after {
        query = query.filter(list::Column::Id.gt(after));
    }
    let rows = query
        .order_by_asc(list::Column::Id)
        .limit(args.first + 1)
        .all(db)
        .await?;
    Ok((Page::from_rows(rows, args.first), total))
}
