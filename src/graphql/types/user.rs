//! The `User` object.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Organization;
use crate::authz::require;
use crate::error::ApiResult;
use crate::graphql::ContextExt;
use crate::graphql::guards::{Gate, Requires, need};
use crate::graphql::ids::NodeId;
use crate::services::identity::users::UserRecord;

/// A person: one identity (an email) across organizations.
pub struct User {
    model: UserRecord,
    /// The organization through which the viewer sees this user (none for the viewer themself).
    seen_in: Option<Uuid>,
}

impl User {
    pub fn new(model: UserRecord, seen_in: Option<Uuid>) -> Self {
        Self { model, seen_in }
    }

    /// The user `id` names (who invited, who created), seen from `organization`; none when
    /// there is no id or no such user.
    pub async fn referenced(
        ctx: &Context<'_>,
        id: Option<Uuid>,
        organization: Uuid,
    ) -> ApiResult<Option<Self>> {
        let Some(id) = id else {
            return Ok(None);
        };
        let user = ctx.loaders().users.load_one(id).await?;
        Ok(user.map(|user| Self::new(user, Some(organization))))
    }
}

#[Object(
    guard = "Gate::own(\"User\", self.seen_in, self.model.id)",
    directive = Requires::apply(need(require::MEMBER_READ).or_self())
)]
impl User {
    pub async fn id(&self) -> ID {
        NodeId::User(self.model.id).to_id()
    }

    async fn email(&self) -> &str {
        &self.model.email
    }

    async fn display_name(&self) -> &str {
        &self.model.display_name
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }

    /// Whether the user has a second factor (an authenticator app).
    async fn mfa_enabled(&self) -> bool {
        self.model.mfa_enabled
    }

    /// The organization a login lands in; shown to the user themself only.
    async fn default_organization(&self, ctx: &Context<'_>) -> ApiResult<Option<Organization>> {
        let viewer = ctx.request().viewer_id()?;
        let Some(org) = self.model.default_organization_id else {
            return Ok(None);
        };
        if viewer != self.model.id {
            return Ok(None);
        }
        Organization::of_viewer(ctx, org).await
    }
}
