use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::{membership, user};

use super::{Organization, Role, User};
use crate::authz::require;
use crate::error::{ApiError, ApiResult};
use crate::graphql::ContextExt;
use crate::graphql::guards::{OrgGuard, requires};
use crate::graphql::ids::NodeId;

/// One user in one organization, with exactly one role there.
pub struct Membership {
    pub model: membership::Model,
    /// The user, when the page that found this membership already read it.
    user: Option<user::Model>,
}

impl Membership {
    pub fn new(model: membership::Model) -> Self {
        Self { model, user: None }
    }

    pub fn with_user((model, user): (membership::Model, user::Model)) -> Self {
        Self {
            model,
            user: Some(user),
        }
    }
}

#[Object(
    guard = "OrgGuard::or_self(Some(self.model.organization_id), require::MEMBER_READ, self.model.user_id)",
    directive = requires::apply(require::MEMBER_READ.resource.into(), require::MEMBER_READ.level.into(), Some(true))
)]
impl Membership {
    pub async fn id(&self) -> ID {
        NodeId::Membership(self.model.id).to_id()
    }

    async fn user(&self, ctx: &Context<'_>) -> ApiResult<User> {
        let user = match &self.user {
            Some(user) => user.clone(),
            None => ctx
                .loaders()
                .users
                .load_one(self.model.user_id)
                .await?
                .ok_or_else(|| ApiError::not_found("user"))?,
        };
        Ok(User::new(user, Some(self.model.organization_id)))
    }

    async fn organization(&self, ctx: &Context<'_>) -> ApiResult<Organization> {
        ctx.loaders()
            .organizations
            .load_one(self.model.organization_id)
            .await?
            .map(Organization)
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
        let Some(inviter) = self.model.invited_by else {
            return Ok(None);
        };
        let user = ctx.loaders().users.load_one(inviter).await?;
        Ok(user.map(|user| User::new(user, Some(self.model.organization_id))))
    }
}
