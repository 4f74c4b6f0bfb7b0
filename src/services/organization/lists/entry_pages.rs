//! Entries in pages, in value order: many lists' pages in one statement, counts by prefix.

use std::collections::HashMap;

use chrono::Utc;
use entity::list_entry;
use sea_orm::sea_query::{Alias, Asterisk, Expr, Query, SelectStatement, UnionType};
use sea_orm::{ColumnTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use super::{Admitted, EntryKey, EntryRecord, ListRead};
use crate::error::ApiResult;
use crate::services::{AppState, Page};

/// Which entries of a list a page shows: `first` after the value `after`, optionally only
/// values starting with `prefix` (already normalized for the list's kind).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntryQuery {
    pub first: u64,
    pub after: Option<String>,
    pub prefix: Option<String>,
}

/// The values that start with `prefix` are those from `prefix` up to (not including) this
/// bound, in byte order: the prefix followed by the highest character.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}{}", char::MAX)
}

fn entry_select(list_id: Uuid, query: &EntryQuery) -> SelectStatement {
    use sea_orm::sea_query::ExprTrait;
    let mut select = Query::select();
    select
        .columns([
            list_entry::Column::ListId,
            list_entry::Column::Value,
            list_entry::Column::Note,
            list_entry::Column::AddedBy,
            list_entry::Column::AddedAt,
        ])
        .from(list_entry::Entity)
        .and_where(Expr::col(list_entry::Column::ListId).eq(list_id));
    if let Some(after) = &query.after {
        select.and_where(Expr::col(list_entry::Column::Value).gt(after.clone()));
    }
    if let Some(prefix) = &query.prefix {
        select
            .and_where(Expr::col(list_entry::Column::Value).gte(prefix.clone()))
            .and_where(Expr::col(list_entry::Column::Value).lt(prefix_end(prefix)));
    }
    select
        .order_by(list_entry::Column::Value, sea_orm::Order::Asc)
        .limit(query.first + 1);
    select
}

/// An entry with the index of the key whose page it belongs to, so that one list asked for
/// with two different pages in one batch keeps them apart.
#[derive(FromQueryResult)]
struct KeyedEntry {
    page: i64,
    list_id: Uuid,
    value: String,
    note: Option<String>,
    added_by: Option<Uuid>,
    added_at: chrono::DateTime<Utc>,
}

/// One index walk per key, each tagged with the key's index, joined with UNION ALL. `None`
/// for no keys.
fn union_of_pages(keys: &[Admitted<EntryKey>]) -> Option<SelectStatement> {
    let wrap = |index: usize, list_id: Uuid, query: &EntryQuery| {
        Query::select()
            .expr_as(Expr::val(index as i64), Alias::new("page"))
            .column(Asterisk)
            .from_subquery(
                entry_select(list_id, query),
                Alias::new(format!("p{index}")),
            )
            .to_owned()
    };
    let (first, rest) = keys.split_first()?;
    let (first_list, first_query) = first.key();
    let mut union = wrap(0, *first_list, first_query);
    for (index, key) in rest.iter().enumerate() {
        let (list_id, query) = key.key();
        union.union(UnionType::All, wrap(index + 1, *list_id, query));
    }
    Some(union)
}

/// Pages of entries of many lists in one statement: one index walk per list, joined with
/// UNION ALL, so the statement count does not grow with the number of lists. Each key was
/// made by the [`super::ListRead`] of its list.
pub async fn entry_pages(
    state: &AppState,
    keys: &[Admitted<EntryKey>],
) -> ApiResult<HashMap<Admitted<EntryKey>, Page<EntryRecord>>> {
    let db = &state.db;
    let Some(union) = union_of_pages(keys) else {
        return Ok(HashMap::new());
    };
    let statement = db.get_database_backend().build(&union);
    let rows = KeyedEntry::find_by_statement(statement).all(db).await?;
    let mut pages: Vec<Vec<EntryRecord>> = vec![Vec::new(); keys.len()];
    for row in rows {
        if let Some(page) = usize::try_from(row.page)
            .ok()
            .and_then(|i| pages.get_mut(i))
        {
            page.push(EntryRecord {
                list_id: row.list_id,
                value: row.value,
                note: row.note,
                added_by: row.added_by,
                added_at: row.added_at,
            });
        }
    }
    Ok(keys
        .iter()
        .zip(pages)
        .map(|(key, mut rows)| {
            rows.sort_by(|a, b| a.value.cmp(&b.value));
            let first = key.key().1.first;
            (key.clone(), Page::from_rows(rows, first))
        })
        .collect())
}

/// How many entries of the list `read` reads start with `prefix`.
pub async fn count_prefix(state: &AppState, read: &ListRead, prefix: &str) -> ApiResult<u64> {
    let db = &state.db;
    Ok(list_entry::Entity::find()
        .filter(list_entry::Column::ListId.eq(read.list_id()))
        .filter(list_entry::Column::Value.gte(prefix))
        .filter(list_entry::Column::Value.lt(prefix_end(prefix)))
        .count(db)
        .await?)
}
