//! Reading memberships: by id, by user, and pages of members for many organizations at once.

use std::collections::HashMap;

use entity::{membership, user};
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Order, Query, WindowStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, IdenStatic, Iterable,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// Prefix of the user columns in a page of members.
const USER_PREFIX: &str = "u_";
use uuid::Uuid;

use super::{Page, PageArgs};
use crate::error::ApiResult;

pub async fn load(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> ApiResult<HashMap<Uuid, membership::Model>> {
    Ok(membership::Entity::find()
        .filter(membership::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect())
}

pub async fn find(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    organization_id: Uuid,
) -> ApiResult<Option<membership::Model>> {
    Ok(membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .one(db)
        .await?)
}

/// A user's memberships, oldest first.
pub async fn page_for_user(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    args: PageArgs,
) -> ApiResult<Page<membership::Model>> {
    let mut query = membership::Entity::find().filter(membership::Column::UserId.eq(user_id));
    if let Some(after) = args.after {
        query = query.filter(membership::Column::Id.gt(after));
    }
    let rows = query
        .order_by_asc(membership::Column::Id)
        .limit(args.first + 1)
        .all(db)
        .await?;
    Ok(Page::from_rows(rows, args.first))
}

pub async fn count_for_user(db: &impl ConnectionTrait, user_id: Uuid) -> ApiResult<u64> {
    Ok(membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .count(db)
        .await?)
}

/// A membership with its user, as a page of members shows it.
pub type Member = (membership::Model, user::Model);

/// A page of members of each organization, with their users, in one statement per distinct
/// page shape (a window function numbers each organization's rows), so the number of
/// statements does not grow with the number of organizations or members.
pub async fn pages_for_organizations(
    db: &impl ConnectionTrait,
    requests: &[(Uuid, PageArgs)],
) -> ApiResult<HashMap<(Uuid, PageArgs), Page<Member>>> {
    let mut groups: HashMap<PageArgs, Vec<Uuid>> = HashMap::new();
    for (org, args) in requests {
        groups.entry(*args).or_default().push(*org);
    }
    let mut pages: HashMap<(Uuid, PageArgs), Page<Member>> =
        requests.iter().map(|key| (*key, Page::empty())).collect();
    for (args, organizations) in groups {
        let mut numbered = Query::select();
        numbered.columns(membership::Column::iter().map(|column| (membership::Entity, column)));
        for column in user::Column::iter() {
            numbered.expr_as(
                Expr::col((user::Entity, column)),
                Alias::new(format!("{USER_PREFIX}{}", column.as_str())),
            );
        }
        numbered
            .from(membership::Entity)
            .inner_join(
                user::Entity,
                Expr::col((user::Entity, user::Column::Id))
                    .equals((membership::Entity, membership::Column::UserId)),
            )
            .expr_window_as(
                Expr::cust("ROW_NUMBER()"),
                WindowStatement::partition_by((
                    membership::Entity,
                    membership::Column::OrganizationId,
                ))
                .order_by((membership::Entity, membership::Column::Id), Order::Asc)
                .to_owned(),
                Alias::new("row_number"),
            )
            .and_where(
                Expr::col((membership::Entity, membership::Column::OrganizationId))
                    .is_in(organizations),
            );
        if let Some(after) = args.after {
            numbered.and_where(Expr::col((membership::Entity, membership::Column::Id)).gt(after));
        }
        let mut query = Query::select();
        query
            .column(Asterisk)
            .from_subquery(numbered, Alias::new("numbered"))
            .and_where(Expr::col(Alias::new("row_number")).lte(args.first as i64 + 1))
            .order_by(Alias::new("organization_id"), Order::Asc)
            .order_by(Alias::new("id"), Order::Asc);
        let statement = db.get_database_backend().build(&query);
        let mut by_org: HashMap<Uuid, Vec<Member>> = HashMap::new();
        for row in db.query_all_raw(statement).await? {
            let membership = membership::Model::from_query_result(&row, "")?;
            let user = user::Model::from_query_result(&row, USER_PREFIX)?;
            by_org
                .entry(membership.organization_id)
                .or_default()
                .push((membership, user));
        }
        for (org, rows) in by_org {
            pages.insert((org, args), Page::from_rows(rows, args.first));
        }
    }
    Ok(pages)
}

#[derive(Debug, FromQueryResult)]
struct OrgCount {
    organization_id: Uuid,
    count: i64,
}

/// How many members each organization has, in one statement.
pub async fn counts_for_organizations(
    db: &impl ConnectionTrait,
    organizations: &[Uuid],
) -> ApiResult<HashMap<Uuid, i64>> {
    let rows = membership::Entity::find()
        .select_only()
        .column(membership::Column::OrganizationId)
        .column_as(Expr::col(membership::Column::Id).count(), "count")
        .filter(membership::Column::OrganizationId.is_in(organizations.iter().copied()))
        .group_by(membership::Column::OrganizationId)
        .into_model::<OrgCount>()
        .all(db)
        .await?;
    let mut counts: HashMap<Uuid, i64> = organizations.iter().map(|org| (*org, 0)).collect();
    for row in rows {
        counts.insert(row.organization_id, row.count);
    }
    Ok(counts)
}
