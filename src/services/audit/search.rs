//! Reading a chain's events: narrowed by a filter, searched, paged newest first.

use chrono::{DateTime, Utc};
use entity::audit_event;
use sea_orm::sea_query::{Alias, Expr, JoinType, LikeExpr, Order};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Select, Statement,
};
use uuid::Uuid;

use super::Scope;
use crate::error::ApiResult;
use crate::services::Page;

/// What an audit log page is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub action: Option<String>,
    pub actor_id: Option<Uuid>,
    /// Case-insensitive text anywhere in the description, the actor's email, the action or the
    /// target id.
    pub search: Option<String>,
}

/// How many events a page holds and the sequence number it starts below (newest first).
#[derive(Debug, Clone, Copy)]
pub struct EventPage {
    pub first: u64,
    pub before_seq: Option<i64>,
}

/// The text `search` looks in, exactly as the audit search migration indexes it on
/// PostgreSQL (the expression must match for the trigram index to serve the query).
fn search_text(backend: DatabaseBackend) -> &'static str {
    match backend {
        DatabaseBackend::Postgres => {
            "lower(description || chr(10) || coalesce(actor_email, '') || chr(10) || action \
             || chr(10) || coalesce(target_id, ''))"
        }
        _ => {
            "lower(description || char(10) || coalesce(actor_email, '') || char(10) || action \
             || char(10) || coalesce(target_id, ''))"
        }
    }
}

/// On SQLite, rowids of the `audit_search` index are a chain's number times this plus the
/// event's sequence number (see the audit search migration).
const SEARCH_ROWID_STRIDE: i64 = 1 << 36;

/// The trigram index finds only terms of at least three characters; shorter ones are scanned.
const SEARCH_INDEXED_CHARS: usize = 3;

/// A chain's events narrowed by a filter, with the key their newest-first order walks.
pub(super) struct Filtered {
    pub(super) query: Select<audit_event::Entity>,
    newest_first: Expr,
}

/// Builds the query for a filter. `None` means nothing can match (a search in a chain the
/// index has never seen).
pub(super) async fn filtered(
    db: &impl ConnectionTrait,
    chain: &str,
    filter: &Filter,
    below_seq: Option<i64>,
) -> ApiResult<Option<Filtered>> {
    use sea_orm::sea_query::ExprTrait;
    let mut query = narrowed(chain, filter, below_seq);
    let mut newest_first = Expr::col((audit_event::Entity, audit_event::Column::Seq));
    let search = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(search) = search {
        let backend = db.get_database_backend();
        query = query.filter(Expr::cust(search_text(backend)).like(contains(search)));
        // PostgreSQL's planner serves the LIKE above from the trigram index by itself. SQLite's
        // does not, so the FTS5 index drives the query.
        if backend == DatabaseBackend::Sqlite && search.chars().count() >= SEARCH_INDEXED_CHARS {
            let Some(number) = sqlite_chain_number(db, chain).await? else {
                return Ok(None);
            };
            query = driven_by_sqlite_index(query, number, search, below_seq);
            newest_first = Expr::cust("audit_search.rowid");
        }
    }
    Ok(Some(Filtered {
        query,
        newest_first,
    }))
}

/// A chain's events narrowed by everything in a filter but its search text.
fn narrowed(chain: &str, filter: &Filter, below_seq: Option<i64>) -> Select<audit_event::Entity> {
    let mut query = audit_event::Entity::find().filter(audit_event::Column::Chain.eq(chain));
    if let Some(from) = filter.from {
        query = query.filter(audit_event::Column::At.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_event::Column::At.lt(to));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_event::Column::Action.eq(action.clone()));
    }
    if let Some(actor) = filter.actor_id {
        query = query.filter(audit_event::Column::ActorId.eq(actor));
    }
    if let Some(below) = below_seq {
        query = query.filter(audit_event::Column::Seq.lt(below));
    }
    query
}

/// A LIKE pattern for text containing `search`, case-insensitive, its wildcards escaped.
fn contains(search: &str) -> LikeExpr {
    let escaped = search
        .to_lowercase()
        .replace('!', "!!")
        .replace('%', "!%")
        .replace('_', "!_");
    LikeExpr::new(format!("%{escaped}%")).escape('!')
}

/// The number SQLite's search index knows `chain` by, if it has indexed the chain at all.
async fn sqlite_chain_number(db: &impl ConnectionTrait, chain: &str) -> ApiResult<Option<i64>> {
    Ok(db
        .query_one_raw(Statement::from_sql_and_values(
            DatabaseBackend::Sqlite,
            "SELECT number FROM audit_search_chains WHERE chain = ?",
            [chain.into()],
        ))
        .await?
        .map(|row| row.try_get("", "number"))
        .transpose()?)
}

/// `query` driven by SQLite's FTS5 index (the placeholders below are SQLite's): the index's
/// matches within the chain's rowid range, newest first, each joined to its event (the LIKE
/// then only re-checks a page).
fn driven_by_sqlite_index(
    mut query: Select<audit_event::Entity>,
    chain_number: i64,
    search: &str,
    below_seq: Option<i64>,
) -> Select<audit_event::Entity> {
    let low = chain_number * SEARCH_ROWID_STRIDE;
    let high = low + below_seq.unwrap_or(SEARCH_ROWID_STRIDE);
    let phrase = format!("\"{}\"", search.replace('"', "\"\""));
    QueryTrait::query(&mut query)
        .join(
            JoinType::InnerJoin,
            Alias::new("audit_search"),
            Expr::cust_with_values("audit_events.seq = audit_search.rowid - ?", [low]),
        )
        .and_where(Expr::cust_with_values("audit_search MATCH ?", [phrase]))
        .and_where(Expr::cust_with_values(
            "audit_search.rowid > ? AND audit_search.rowid < ?",
            [low, high],
        ));
    query
}

/// The next `limit` events of `query` after sequence number `after`, oldest first: how a walk
/// along a chain reads it a page at a time.
pub(super) fn oldest_first_after(
    query: Select<audit_event::Entity>,
    after: i64,
    limit: u64,
) -> Select<audit_event::Entity> {
    query
        .filter(audit_event::Column::Seq.gt(after))
        .order_by_asc(audit_event::Column::Seq)
        .limit(limit)
}

/// A page of a chain's events, newest first, with keyset pagination on the sequence number.
pub async fn page(
    db: &impl ConnectionTrait,
    scope: Scope,
    filter: &Filter,
    page: EventPage,
) -> ApiResult<Page<audit_event::Model>> {
    let chain = scope.chain();
    let mut below = page.before_seq;
    // Events are appended in time order, so a time range is also a range of sequence numbers:
    // found through the (chain, at) index, it lets the page walk the (chain, seq) index from
    // the right place instead of filtering every newer event by time.
    if let Some(to) = filter.to {
        let last = audit_event::Entity::find()
            .filter(audit_event::Column::Chain.eq(chain.clone()))
            .filter(audit_event::Column::At.lt(to))
            .order_by_desc(audit_event::Column::At)
            .one(db)
            .await?;
        match last {
            Some(last) => below = Some(below.map_or(last.seq + 1, |b| b.min(last.seq + 1))),
            None => return Ok(Page::empty()),
        }
    }
    let Some(Filtered {
        query,
        newest_first,
    }) = filtered(db, &chain, filter, below).await?
    else {
        return Ok(Page::empty());
    };
    let rows = query
        .order_by(newest_first, Order::Desc)
        .limit(page.first + 1)
        .all(db)
        .await?;
    Ok(Page::from_rows(rows, page.first))
}

/// How many events of a chain match a filter.
pub(crate) async fn count(
    db: &impl ConnectionTrait,
    scope: Scope,
    filter: &Filter,
) -> ApiResult<u64> {
    Ok(match filtered(db, &scope.chain(), filter, None).await? {
        Some(filtered) => filtered.query.count(db).await?,
        None => 0,
    })
}

pub(crate) async fn find(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> ApiResult<Option<audit_event::Model>> {
    Ok(audit_event::Entity::find_by_id(id).one(db).await?)
}
