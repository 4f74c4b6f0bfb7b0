//! Lists in pages, oldest first: an organization's own, those shared with it, a batch by id.

use std::collections::HashMap;

use entity::{list, share_partner};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Select,
};
use uuid::Uuid;

use super::reading::reads_lists;
use super::{ListRead, ListRecord, Readable};
use crate::error::ApiResult;
use crate::services::store::scope::OrgScope;
use crate::services::{AppState, Page, PageArgs};

/// Lists by id, whoever owns them: what the gate reads to learn a list's owner and whether it
/// is shared. Reading its entries takes a [`ListRead`].
pub async fn load(state: &AppState, ids: &[Uuid]) -> ApiResult<HashMap<Uuid, ListRecord>> {
    let db = &state.db;
    list::Entity::find()
        .filter(list::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|model| Ok((model.id, model.try_into()?)))
        .collect()
}

/// A page of the organization's own lists, oldest first, for a viewer who reads them there.
pub async fn page(scope: &OrgScope, args: PageArgs) -> ApiResult<(Page<Readable>, i64)> {
    reads_lists(scope)?;
    let base =
        list::Entity::find().filter(list::Column::OrganizationId.eq(scope.organization_id()));
    let (page, total) = keyset_page(scope.db(), base, args).await?;
    let items = page
        .items
        .into_iter()
        .map(|list| {
            let read = ListRead::member(scope, &list)?;
            Ok(Readable { list, read })
        })
        .collect::<ApiResult<_>>()?;
    Ok((with_items(page.has_next_page, items), total))
}

/// A page of the lists other organizations share with the organization of `scope`: shared
/// lists of every organization that picked it as a partner, oldest first. Its viewer reads
/// them by the rule of sharing, through their access in that partner.
pub async fn shared_with(scope: &OrgScope, args: PageArgs) -> ApiResult<(Page<Readable>, i64)> {
    reads_lists(scope)?;
    let owners = share_partner::Entity::find()
        .select_only()
        .column(share_partner::Column::OrganizationId)
        .filter(share_partner::Column::PartnerId.eq(scope.organization_id()))
        .into_query();
    let base = list::Entity::find()
        .filter(list::Column::Shared.eq(true))
        .filter(list::Column::OrganizationId.in_subquery(owners));
    let (page, total) = keyset_page(scope.db(), base, args).await?;
    let items = page
        .items
        .into_iter()
        .filter_map(|list| {
            let read = ListRead::through_sharing(&list, [scope.access()])?;
            Some(Readable { list, read })
        })
        .collect();
    Ok((with_items(page.has_next_page, items), total))
}

fn with_items<T>(has_next_page: bool, items: Vec<T>) -> Page<T> {
    Page {
        items,
        has_next_page,
    }
}

/// A page of the lists `base` selects, in id order (oldest first), with how many it selects.
async fn keyset_page(
    db: &impl ConnectionTrait,
    base: Select<list::Entity>,
    args: PageArgs,
) -> ApiResult<(Page<ListRecord>, i64)> {
    let total = base.clone().count(db).await? as i64;
    let mut query = base;
    if let Some(after) = args.after {
        query = query.filter(list::Column::Id.gt(after));
    }
    let rows = query
        .order_by_asc(list::Column::Id)
        .limit(args.first + 1)
        .all(db)
        .await?
        .into_iter()
        .map(ListRecord::try_from)
        .collect::<ApiResult<_>>()?;
    Ok((Page::from_rows(rows, args.first), total))
}
