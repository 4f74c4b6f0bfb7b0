//! The `Invitation` object, with its status.

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};

use super::{Role, User};
use crate::authz::require;
use crate::error::ApiResult;
use crate::graphql::ContextExt;
use crate::graphql::guards::{Gate, Requires, need};
use crate::graphql::ids::NodeId;
use crate::services::organization::invitations::InvitationRecord;

/// Where an invitation stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

impl InvitationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Pending => "pending",
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Revoked => "revoked",
            InvitationStatus::Expired => "expired",
        }
    }
}

/// An invitation to join an organization, sent by email.
pub struct Invitation(pub InvitationRecord);

#[Object(
    guard = "Gate::object(\"Invitation\", self.0.organization_id)",
    directive = Requires::apply(need(require::INVITATION_SEND))
)]
impl Invitation {
    pub async fn id(&self) -> ID {
        NodeId::Invitation(self.0.id).to_id()
    }

    async fn email(&self) -> &str {
        &self.0.email
    }

    /// The role the invited person will hold.
    async fn role(&self, ctx: &Context<'_>) -> ApiResult<Role> {
        let role = ctx
            .loaders()
            .roles
            .load_one(self.0.role_id)
            .await?
            .ok_or(crate::authz::Refusal::RoleNotInOrganization)?;
        Ok(Role::new(role, self.0.organization_id))
    }

    async fn status(&self) -> InvitationStatus {
        match self.0.status() {
            "pending" => InvitationStatus::Pending,
            "accepted" => InvitationStatus::Accepted,
            "expired" => InvitationStatus::Expired,
            _ => InvitationStatus::Revoked,
        }
    }

    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }

    async fn invited_by(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        User::referenced(ctx, self.0.invited_by, self.0.organization_id).await
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
