//! `AuthPayload`: the tokens a sign-in or a refresh returns.

use async_graphql::{Context, Object};
use chrono::{DateTime, Utc};

use super::{Organization, User};
use crate::error::ApiResult;
use crate::services::sessions::Tokens;

/// Tokens of a session: a short-lived access token and a single-use refresh token.
pub struct AuthPayload(pub Tokens);

#[Object]
impl AuthPayload {
    /// A signed JWT (EdDSA) to send as `Authorization: Bearer …`.
    async fn access_token(&self) -> &str {
        &self.0.access_token
    }

    /// Exchange it once with `refreshSession` for new tokens.
    async fn refresh_token(&self) -> &str {
        &self.0.refresh_token
    }

    /// When the access token expires.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }

    async fn user(&self) -> User {
        User::new(self.0.user.clone(), None)
    }

    /// The session's active organization.
    async fn organization(&self, ctx: &Context<'_>) -> ApiResult<Option<Organization>> {
        let Some(org) = self.0.organization_id else {
            return Ok(None);
        };
        Organization::of_viewer(ctx, org).await
    }
}
