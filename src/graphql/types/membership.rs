//! The `Membership` object, with the members connection's filter, order, cursor.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use super::{Organization, Role, User};
use crate::authz::require;
use crate::error::{ApiError, ApiResult};
use crate::graphql::ContextExt;
use crate::graphql::connection::{CursorKey, Keyset};
use crate::graphql::guards::{Gate, Requires, need};
use crate::graphql::ids::NodeId;
use crate::services::identity::users::UserRecord;
use crate::services::organization::memberships::MembershipRecord;

/// One user in one organization, with exactly one role there.
pub struct Membership {
    pub model: MembershipRecord,
    /// The user, when the page that found this membership already read it.
    user: Option<UserRecord>,
}

impl Membership {
    pub fn new(model: MembershipRecord) -> Self {
        Self { model, user: None }
    }

    pub fn with_user(member: crate::services::organization::memberships::Member) -> Self {
        Self {
            model: member.membership,
            user: Some(member.user),
        }
    }
}

impl Membership {
    /// The member's user, when the page that found the membership read it.
    pub(super) fn read_user(&self) -> Option<&UserRecord> {
        self.user.as_ref()
    }

    /// The member's user: as the page that found the membership read it, or loaded.
    async fn member(&self, ctx: &Context<'_>) -> ApiResult<UserRecord> {
        match &self.user {
            Some(user) => Ok(user.clone()),
            None => ctx
                .loaders()
                .users
                .load_one(self.model.user_id)
                .await?
                .ok_or_else(|| ApiError::not_found("user")),
        }
    }
}

#[Object(
    guard = "Gate::own(\"Membership\", Some(self.model.organization_id), self.model.user_id)",
    directive = Requires::apply(need(require::MEMBER_READ).or_self())
)]
impl Membership {
    pub async fn id(&self) -> ID {
        NodeId::Membership(self.model.id).to_id()
    }

    async fn user(&self, ctx: &Context<'_>) -> ApiResult<User> {
        let user = self.member(ctx).await?;
        Ok(User::new(user, Some(self.model.organization_id)))
    }

    /// A person, or a service account.
    async fn kind(&self, ctx: &Context<'_>) -> ApiResult<MemberKind> {
        Ok(MemberKind::of(&self.member(ctx).await?))
    }

    async fn organization(&self, ctx: &Context<'_>) -> ApiResult<Organization> {
        ctx.loaders()
            .organizations
            .load_one(self.model.organization_id)
            .await?
            .map(Organization::new)
            .ok_or_else(|| ApiError::not_found("organization"))
    }

    async fn role(&self, ctx: &Context<'_>) -> ApiResult<Role> {
        let role = ctx
            .loaders()
            .roles
            .load_one(self.model.role_id)
            .await?
            .ok_or_else(|| {
                ApiError::internal(format!("membership {} has no role", self.model.id))
            })?;
        Ok(Role::new(role, self.model.organization_id))
    }

    /// When the user joined.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }

    /// Who invited the user, when they joined by invitation.
    async fn invited_by(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        User::referenced(ctx, self.model.invited_by, self.model.organization_id).await
    }
}

/// What members can be sorted by.
#[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq)]
pub enum MemberOrderField {
    /// When they joined.
    Joined,
    DisplayName,
    Email,
    /// The name of their role.
    Role,
}

#[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq)]
pub enum OrderDirection {
    Asc,
    Desc,
}

/// How to sort members.
#[derive(async_graphql::InputObject)]
pub struct MemberOrder {
    pub field: MemberOrderField,
    #[graphql(default_with = "OrderDirection::Asc")]
    pub direction: OrderDirection,
}

/// Which members to list.
#[derive(async_graphql::InputObject, Default)]
pub struct MemberFilter {
    /// Only members holding this role.
    pub role_id: Option<ID>,
    /// Only members whose email or display name contains this text (any case).
    pub search: Option<String>,
    /// Only people, or only service accounts.
    pub kind: Option<MemberKind>,
}

/// A person, or a service account (which acts only through API keys).
#[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq)]
pub enum MemberKind {
    Human,
    Service,
}

impl MemberKind {
    /// The kind of member `user` is.
    pub fn of(user: &UserRecord) -> Self {
        if user.kind == crate::services::identity::users::SERVICE {
            MemberKind::Service
        } else {
            MemberKind::Human
        }
    }

    pub fn filter(self) -> crate::services::identity::users::UserKind {
        match self {
            MemberKind::Human => crate::services::identity::users::UserKind::Human,
            MemberKind::Service => crate::services::identity::users::UserKind::Service,
        }
    }
}

/// A position in a members list: the sort value and id of the last row seen.
pub type MemberCursor = Keyset<MemberKey>;

/// The sort value and id of a member row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberKey {
    pub sort_value: String,
    pub id: uuid::Uuid,
}

impl CursorKey for MemberKey {
    const TAG: &'static str = "m";

    fn write(&self) -> String {
        format!("{}:{}", self.id, self.sort_value)
    }

    fn read(text: &str) -> Option<Self> {
        let (id, value) = text.split_once(':')?;
        // The sort key reaches the query as text: refuse what no name or email holds.
        if !crate::domain::text::is_clean(crate::domain::text::TextKind::Line, value) {
            return None;
        }
        Some(MemberKey {
            sort_value: value.to_owned(),
            id: uuid::Uuid::parse_str(id).ok()?,
        })
    }
}

/// Validates the arguments of `Organization.members` into a query.
pub fn member_query(
    organization_id: uuid::Uuid,
    first: Option<i32>,
    after: Option<String>,
    order_by: Option<MemberOrder>,
    filter: Option<MemberFilter>,
) -> ApiResult<crate::services::organization::memberships::MemberQuery> {
    use crate::services::organization::memberships::{MemberOrderField as Field, MemberQuery};
    let args = crate::services::PageArgs::new(first, None)?;
    let after = crate::graphql::connection::after::<MemberKey>(after.as_deref())?;
    let order = order_by.unwrap_or(MemberOrder {
        field: MemberOrderField::Joined,
        direction: OrderDirection::Asc,
    });
    let filter = filter.unwrap_or_default();
    let role = match filter.role_id {
        Some(id) => match NodeId::parse("filter.roleId", &id)? {
            NodeId::Role { organization, role } if organization == organization_id => Some(role),
            NodeId::Role { .. } => return Err(crate::authz::Refusal::RoleNotInOrganization.into()),
            _ => {
                return Err(ApiError::invalid(
                    "filter.roleId",
                    crate::graphql::mutation::NOT_A_ROLE_ID,
                ));
            }
        },
        None => None,
    };
    if let Some(text) = &filter.search {
        crate::domain::text::search("filter.search", text)?;
    }
    let search = filter
        .search
        .map(|text| text.trim().to_lowercase())
        .filter(|text| !text.is_empty());
    Ok(MemberQuery {
        first: args.first,
        order: match order.field {
            MemberOrderField::Joined => Field::Joined,
            MemberOrderField::DisplayName => Field::DisplayName,
            MemberOrderField::Email => Field::Email,
            MemberOrderField::Role => Field::Role,
        },
        descending: order.direction == OrderDirection::Desc,
        role,
        search,
        kind: filter.kind.map(MemberKind::filter),
        after: after.map(|key| (key.sort_value, key.id)),
    })
}
