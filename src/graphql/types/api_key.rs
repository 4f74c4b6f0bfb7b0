//! The `ApiKey` and `ServiceAccount` objects, and the payload that shows a key's secret once.

use async_graphql::{Context, ID, Object, Union};
use chrono::{DateTime, Utc};

use super::{GrantList, Membership, PermissionGrant, User};
use crate::authz::require;
use crate::error::ApiResult;
use crate::graphql::ContextExt;
use crate::graphql::guards::{Gate, Requires, need};
use crate::graphql::ids::NodeId;
use crate::services::identity::users;
use crate::services::organization::api_keys::{ApiKeyRecord, IssuedKey};
use crate::services::organization::service_accounts::ServiceAccountRecord;

/// A credential for scripts, agents and other services, held by a member (a personal key) or
/// by a service account. It acts with the intersection of its grants and its holder's current
/// role, only in its organization.
pub struct ApiKey(pub ApiKeyRecord);

#[Object(
    guard = "Gate::own(\"ApiKey\", Some(self.0.organization_id), self.0.holder_id)",
    directive = Requires::apply(need(require::API_KEY_READ).or_self())
)]
impl ApiKey {
    pub async fn id(&self) -> ID {
        NodeId::ApiKey(self.0.id).to_id()
    }

    /// The key's id as OAuth's `client_id` (`POST /oauth/token`).
    async fn client_id(&self) -> String {
        self.0.id.to_string()
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The first characters of the secret (`chk_` and 8 more), to tell keys apart.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }

    /// Who the key acts as: a person or a service account.
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<ApiKeyOwner>> {
        let holder = self.0.holder_id;
        let Some(user) = ctx.loaders().users.load_one(holder).await? else {
            return Ok(None);
        };
        if user.kind == users::SERVICE {
            let account = ctx.loaders().service_accounts.load_one(holder).await?;
            return Ok(account.map(|account| ApiKeyOwner::ServiceAccount(ServiceAccount(account))));
        }
        Ok(Some(ApiKeyOwner::User(User::new(
            user,
            Some(self.0.organization_id),
        ))))
    }

    /// What the key was given, every resource listed; it acts with at most its holder's role.
    async fn grants(&self, ctx: &Context<'_>) -> GrantList {
        PermissionGrant::all(&ctx.state().policy, &self.0.grants)
    }

    async fn created_by(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        User::referenced(ctx, self.0.created_by, self.0.organization_id).await
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// None for a key that does not expire.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }

    /// When the key was last used, to the minute.
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }

    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

/// Who an API key acts as.
#[derive(Union)]
pub enum ApiKeyOwner {
    User(User),
    ServiceAccount(ServiceAccount),
}

/// A key just created or rotated, with its secret: shown this once and never again (only its
/// hash is stored).
pub struct IssuedApiKey(pub IssuedKey);

#[Object]
impl IssuedApiKey {
    async fn api_key(&self) -> ApiKey {
        ApiKey(self.0.key.clone())
    }

    /// `Authorization: Bearer <secret>`, or OAuth's `client_secret`.
    async fn secret(&self) -> &str {
        &self.0.secret
    }
}

/// A non-human member of one organization, for scripts, agents and other services: it holds a
/// role like any member and acts only through its API keys.
pub struct ServiceAccount(pub ServiceAccountRecord);

#[Object(
    guard = "Gate::object(\"ServiceAccount\", self.0.organization_id)",
    directive = Requires::apply(need(require::MEMBER_READ))
)]
impl ServiceAccount {
    pub async fn id(&self) -> ID {
        NodeId::ServiceAccount(self.0.id).to_id()
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// Its membership, with its role.
    async fn membership(&self, ctx: &Context<'_>) -> ApiResult<Option<Membership>> {
        let found = ctx
            .loaders()
            .service_account_memberships
            .load_one(self.0.id)
            .await?;
        Ok(found.map(Membership::new))
    }

    async fn created_by(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        User::referenced(ctx, self.0.created_by, self.0.organization_id).await
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
