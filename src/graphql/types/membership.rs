use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::membership;

use super::{Organization, Role, User};
use crate::authz::require;
use crate::error::{ApiError, ApiResult};
use crate::graphql::ContextExt;
use crate::graphql::guards::{OrgGuard, requires};
use crate::graphql::ids::NodeId;

/// One user in one organization, with exactly one role there.
pub struct Membership(pub membership::Model);

#[Object(
    guard = "OrgGuard::or_self(Some(self.0.organization_id), require::MEMBER_READ, self.0.user_id)",
    directive = requires::apply(require::MEMBER_READ.resource.into(), require::MEMBER_READ.level.into(), Some(true))
)]
impl Membership {
    pub async fn id(&self) -> ID {
        NodeId::Membership(self.0.id).to_id()
    }

    async fn user(&self, ctx: &Context<'_>) -> ApiResult<User> {
        let user = ctx
            .loaders()
            .users
            .load_one(self.0.user_id)
            .await?
            .ok_or_else(|| ApiError::not_found("user"))?;
        Ok(User::new(user, Some(self.0.organization_id)))
    }

    async fn organization(&self, ctx: &Context<'_>) -> ApiResult<Organization> {
        ctx.loaders()
            .organizations
            .load_one(self.0.organization_id)
            .await?
            .map(Organization)
            .ok_or_else(|| ApiError::not_found("organization"))
    }

    async fn role(&self, ctx: &Context<'_>) -> ApiResult<Role> {
        let role = ctx
            .loaders()
            .roles
            .load_one(self.0.role_id)
            .await?
            .ok_or_else(|| ApiError::internal(format!("membership {} has no role", self.0.id)))?;
        Ok(Role::new(role, self.0.organization_id))
    }

    /// When the user joined.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Who invited the user, when they joined by invitation.
    async fn invited_by(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(inviter) = self.0.invited_by else {
            return Ok(None);
        };
        let user = ctx.loaders().users.load_one(inviter).await?;
        Ok(user.map(|user| User::new(user, Some(self.0.organization_id))))
    }
}
