//! Reading memberships: by id, by user, and pages of members for many organizations at once.

use std::collections::HashMap;

use entity::{membership, user};
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Order, Query, UnionType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, IdenStatic, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

/// Prefix of the user columns in a page of members.
const USER_PREFIX: &str = "u_";
use uuid::Uuid;

use crate::authz::OrgAccess;
use crate::error::ApiResult;
use crate::services::identity::users::{UserKind, UserRecord};
pub use crate::services::store::records::MembershipRecord;
use crate::services::store::scope::{self, Admitted, OrgScope};
use crate::services::{AppState, Page, PageArgs};

/// The access of `user_id` in the organization `scope` proves the viewer may read the
/// members of; none when they are not a member.
pub async fn access_of(scope: &OrgScope, user_id: Uuid) -> ApiResult<Option<OrgAccess>> {
    crate::services::store::access::load_one(
        scope.db(),
        scope.policy(),
        user_id,
        scope.organization_id(),
    )
    .await
}

/// The memberships `ids` that exist, as records.
pub async fn records(state: &AppState, ids: &[Uuid]) -> ApiResult<HashMap<Uuid, MembershipRecord>> {
    let found = load(&state.db, ids).await?;
    Ok(found.into_iter().map(|(id, m)| (id, m.into())).collect())
}

/// A page of `user_id`'s own memberships, oldest first, and, when `counted`, how many they have
/// in all; only the one in `only` when given (a viewer acting through a key).
pub async fn of_user(
    state: &AppState,
    user_id: Uuid,
    only: Option<Uuid>,
    args: PageArgs,
    counted: bool,
) -> ApiResult<(Page<MembershipRecord>, Option<u64>)> {
    let count = async {
        match counted {
            true => count_for_user(&state.db, user_id, only).await.map(Some),
            false => Ok(None),
        }
    };
    let page = page_for_user(&state.db, user_id, only, args);
    let (page, total) = futures_util::try_join!(page, count)?;
    Ok((page.map(Into::into), total))
}

/// [`pages_for_organizations`] of the organizations whose gate was passed.
pub async fn member_pages(
    state: &AppState,
    keys: &[Admitted<(Uuid, MemberQuery)>],
) -> ApiResult<HashMap<Admitted<(Uuid, MemberQuery)>, Page<Member>>> {
    scope::batched(keys, async |plain| {
        pages_for_organizations(&state.db, plain).await
    })
    .await
}

/// A role filter, search text and kind of a count of members.
pub type MemberCountFilter = (Option<Uuid>, Option<String>, Option<UserKind>);

/// [`filtered_counts`] of the organizations whose gate was passed.
pub async fn member_counts(
    state: &AppState,
    keys: &[Admitted<(Uuid, MemberCountFilter)>],
) -> ApiResult<HashMap<Admitted<(Uuid, MemberCountFilter)>, i64>> {
    scope::batched(keys, async |plain| {
        let flat: Vec<_> = plain
            .iter()
            .map(|(org, filter)| (*org, filter.clone()))
            .collect();
        let counts = filtered_counts(&state.db, &flat).await?;
        Ok(counts.into_iter().collect())
    })
    .await
}

pub(crate) async fn load(
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

/// A user's memberships, oldest first.
async fn page_for_user(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    only: Option<Uuid>,
    args: PageArgs,
) -> ApiResult<Page<membership::Model>> {
    let mut query = of_user_in(user_id, only);
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

async fn count_for_user(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    only: Option<Uuid>,
) -> ApiResult<u64> {
    Ok(of_user_in(user_id, only).count(db).await?)
}

fn of_user_in(user_id: Uuid, only: Option<Uuid>) -> sea_orm::Select<membership::Entity> {
    // A suspended membership is no way in: the person's own list leaves it out.
    let query = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::SuspendedAt.is_null());
    match only {
        Some(organization) => query.filter(membership::Column::OrganizationId.eq(organization)),
        None => query,
    }
}

/// A membership with its user, as a page of members shows it, and the value it is sorted by.
#[derive(Debug, Clone)]
pub struct Member {
    pub membership: MembershipRecord,
    pub user: UserRecord,
    /// The value of the sort key of this row (empty when sorted by joining order).
    pub sort_value: String,
}

/// What members can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberOrderField {
    Joined,
    DisplayName,
    Email,
    Role,
}

/// One shape of members page: sort, filters, size and where it starts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemberQuery {
    pub first: u64,
    pub order: MemberOrderField,
    pub descending: bool,
    pub role: Option<Uuid>,
    /// Lowercase text to find in the email or display name.
    pub search: Option<String>,
    /// Only people, or only service accounts.
    pub kind: Option<UserKind>,
    /// The sort value and membership id of the row the page starts after.
    pub after: Option<(String, Uuid)>,
}

impl MemberQuery {
    pub fn first_page(first: u64) -> Self {
        Self {
            first,
            order: MemberOrderField::Joined,
            descending: false,
            role: None,
            search: None,
            kind: None,
            after: None,
        }
    }
}

const SORT_VALUE: &str = "sort_value";

/// The columns of a page of members: what a membership's and its user's records hold, and no
/// more (not the password hash, nor what SCIM keeps), since every column of every row is
/// copied out of the database and decoded.
const MEMBER_COLUMNS: [membership::Column; 6] = [
    membership::Column::Id,
    membership::Column::UserId,
    membership::Column::OrganizationId,
    membership::Column::RoleId,
    membership::Column::InvitedBy,
    membership::Column::CreatedAt,
];
const USER_COLUMNS: [user::Column; 8] = [
    user::Column::Email,
    user::Column::DisplayName,
    user::Column::DefaultOrganizationId,
    user::Column::Status,
    user::Column::IsOperator,
    user::Column::CreatedAt,
    user::Column::Kind,
    user::Column::MfaEnabled,
];

/// A row of a page of members, as [`MEMBER_COLUMNS`], [`USER_COLUMNS`] (after [`USER_PREFIX`])
/// and [`SORT_VALUE`] name its columns.
#[derive(FromQueryResult)]
struct MemberRow {
    id: Uuid,
    user_id: Uuid,
    organization_id: Uuid,
    role_id: Uuid,
    invited_by: Option<Uuid>,
    created_at: chrono::DateTime<chrono::Utc>,
    u_email: String,
    u_display_name: String,
    u_default_organization_id: Option<Uuid>,
    u_status: String,
    u_is_operator: bool,
    u_created_at: chrono::DateTime<chrono::Utc>,
    u_kind: String,
    u_mfa_enabled: bool,
    sort_value: String,
}

impl MemberRow {
    fn into_member(self) -> Member {
        Member {
            membership: MembershipRecord {
                id: self.id,
                user_id: self.user_id,
                organization_id: self.organization_id,
                role_id: self.role_id,
                invited_by: self.invited_by,
                created_at: self.created_at,
            },
            user: UserRecord {
                id: self.user_id,
                email: self.u_email,
                display_name: self.u_display_name,
                default_organization_id: self.u_default_organization_id,
                status: self.u_status,
                is_operator: self.u_is_operator,
                created_at: self.u_created_at,
                kind: self.u_kind,
                mfa_enabled: self.u_mfa_enabled,
            },
            sort_value: self.sort_value,
        }
    }
}

/// The column members are sorted by: sort keys kept on the membership rows, each indexed with
/// the organization.
fn sort_expression(order: MemberOrderField) -> Option<sea_orm::sea_query::SimpleExpr> {
    match order {
        MemberOrderField::Joined => None,
        MemberOrderField::Email => Some(Expr::col((
            membership::Entity,
            membership::Column::SortEmail,
        ))),
        MemberOrderField::DisplayName => Some(Expr::col((
            membership::Entity,
            membership::Column::SortName,
        ))),
        MemberOrderField::Role => Some(Expr::col((
            membership::Entity,
            membership::Column::SortRole,
        ))),
    }
}

/// The members of `organizations` matching `query`: their users joined, the filters and the
/// keyset condition applied, and each row's sort value selected.
fn members_select(
    organizations: Vec<Uuid>,
    query: &MemberQuery,
) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::sea_query::{Cond, Func, LikeExpr};
    let mut select = Query::select();
    select.columns(MEMBER_COLUMNS.map(|column| (membership::Entity, column)));
    for column in USER_COLUMNS {
        select.expr_as(
            Expr::col((user::Entity, column)),
            Alias::new(format!("{USER_PREFIX}{}", column.as_str())),
        );
    }
    let sort = sort_expression(query.order);
    select.expr_as(
        sort.clone().unwrap_or_else(|| Expr::val("")),
        Alias::new(SORT_VALUE),
    );
    select
        .from(membership::Entity)
        .inner_join(
            user::Entity,
            Expr::col((user::Entity, user::Column::Id))
                .equals((membership::Entity, membership::Column::UserId)),
        )
        .and_where(
            Expr::col((membership::Entity, membership::Column::OrganizationId))
                .is_in(organizations),
        );
    if let Some(role_id) = query.role {
        select.and_where(Expr::col((membership::Entity, membership::Column::RoleId)).eq(role_id));
    }
    if let Some(kind) = query.kind {
        select.and_where(Expr::col((user::Entity, user::Column::Kind)).eq(kind.as_str()));
    }
    if let Some(search) = &query.search {
        let escaped = search
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let pattern = format!("%{escaped}%");
        select.cond_where(
            Cond::any()
                .add(
                    Expr::col((user::Entity, user::Column::EmailLower))
                        .like(LikeExpr::new(pattern.clone()).escape('\\')),
                )
                .add(
                    Expr::expr(Func::lower(Expr::col((
                        user::Entity,
                        user::Column::DisplayName,
                    ))))
                    .like(LikeExpr::new(pattern).escape('\\')),
                ),
        );
    }
    if let Some((value, id)) = &query.after {
        // A row-value comparison, (key, id) > (value, id), lets both databases walk the
        // (organization, key, id) index from the cursor.
        let id_col = Expr::col((membership::Entity, membership::Column::Id));
        let (row, cursor) = match &sort {
            None => (id_col, Expr::val(*id)),
            Some(sort) => (
                Expr::tuple([sort.clone(), id_col]),
                Expr::tuple([Expr::val(value.clone()), Expr::val(*id)]),
            ),
        };
        select.and_where(if query.descending {
            row.lt(cursor)
        } else {
            row.gt(cursor)
        });
    }
    select
}

/// A page of members of each organization, with their users, in one statement per distinct
/// page shape, so the number of statements does not grow with the number of organizations or
/// members. (Public for the Users-tab benchmark, which reads below the gate.)
pub async fn pages_for_organizations(
    db: &impl ConnectionTrait,
    requests: &[(Uuid, MemberQuery)],
) -> ApiResult<HashMap<(Uuid, MemberQuery), Page<Member>>> {
    let mut groups: HashMap<&MemberQuery, Vec<Uuid>> = HashMap::new();
    for (org, query) in requests {
        groups.entry(query).or_default().push(*org);
    }
    let mut pages: HashMap<(Uuid, MemberQuery), Page<Member>> = requests
        .iter()
        .map(|key| (key.clone(), Page::empty()))
        .collect();
    for (query, organizations) in groups {
        let order = if query.descending {
            Order::Desc
        } else {
            Order::Asc
        };
        let sort = sort_expression(query.order);
        let id = (membership::Entity, membership::Column::Id);
        let walk = |organization: Uuid| {
            let mut select = members_select(vec![organization], query);
            if let Some(sort) = &sort {
                select.order_by_expr(sort.clone(), order.clone());
            }
            select.order_by(id, order.clone()).limit(query.first + 1);
            select
        };
        // Each organization's page is its own walk of the (organization, key, id) index that
        // stops after `first + 1` rows, however many members the organization has. Several
        // are one statement: the union of their walks, ordered as each walk was.
        let statement = if let [organization] = organizations[..] {
            db.get_database_backend().build(&walk(organization))
        } else {
            let mut walks = organizations.into_iter().map(|organization| {
                let mut page = Query::select();
                page.column(Asterisk)
                    .from_subquery(walk(organization), Alias::new("page"));
                page
            });
            let mut union = walks.next().expect("a group has an organization");
            for page in walks {
                union.union(UnionType::All, page);
            }
            union
                .order_by(Alias::new("organization_id"), Order::Asc)
                .order_by(Alias::new(SORT_VALUE), order.clone())
                .order_by(Alias::new("id"), order);
            db.get_database_backend().build(&union)
        };
        let mut by_org: HashMap<Uuid, Vec<Member>> = HashMap::new();
        for row in db.query_all_raw(statement).await? {
            let member = MemberRow::from_query_result(&row, "")?.into_member();
            by_org
                .entry(member.membership.organization_id)
                .or_default()
                .push(member);
        }
        for (org, rows) in by_org {
            pages.insert((org, query.clone()), Page::from_rows(rows, query.first));
        }
    }
    Ok(pages)
}

/// How many members of each organization match a role, text and kind filter, in one
/// statement per filter.
pub(in crate::services) async fn filtered_counts(
    db: &impl ConnectionTrait,
    keys: &[(Uuid, MemberCountFilter)],
) -> ApiResult<HashMap<(Uuid, MemberCountFilter), i64>> {
    let mut groups: HashMap<MemberCountFilter, Vec<Uuid>> = HashMap::new();
    for (org, filter) in keys {
        groups.entry(filter.clone()).or_default().push(*org);
    }
    let mut counts: HashMap<_, i64> = keys.iter().map(|key| (key.clone(), 0)).collect();
    for (filter, organizations) in groups {
        let (role, search, kind) = filter.clone();
        if role.is_none() && search.is_none() && kind.is_none() {
            for (org, count) in counts_for_organizations(db, &organizations).await? {
                counts.insert((org, filter.clone()), count);
            }
            continue;
        }
        let query = MemberQuery {
            role,
            search,
            kind,
            ..MemberQuery::first_page(0)
        };
        let mut select = members_select(organizations, &query);
        select.clear_selects();
        select
            .column((membership::Entity, membership::Column::OrganizationId))
            .expr_as(
                Expr::col((membership::Entity, membership::Column::Id)).count(),
                Alias::new("count"),
            )
            .group_by_col((membership::Entity, membership::Column::OrganizationId));
        let statement = db.get_database_backend().build(&select);
        for row in db.query_all_raw(statement).await? {
            let org: Uuid = row.try_get("", "organization_id")?;
            let count: i64 = row.try_get("", "count")?;
            counts.insert((org, filter.clone()), count);
        }
    }
    Ok(counts)
}

#[derive(Debug, FromQueryResult)]
struct OrgCount {
    organization_id: Uuid,
    count: i64,
}

/// How many members each organization has, in one statement.
pub(crate) async fn counts_for_organizations(
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

/// Keeps the role-name sort key of a role's memberships in step with its name.
pub(crate) async fn rename_role_sort_key(
    txn: &impl ConnectionTrait,
    role_id: Uuid,
    name: &str,
) -> ApiResult<()> {
    membership::Entity::update_many()
        .col_expr(
            membership::Column::SortRole,
            Expr::value(name.to_lowercase()),
        )
        .filter(membership::Column::RoleId.eq(role_id))
        .exec(txn)
        .await?;
    Ok(())
}
