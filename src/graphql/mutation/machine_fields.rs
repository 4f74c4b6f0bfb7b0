//! Service accounts and API keys.

use super::*;

#[derive(Default)]
pub struct MachineMutations;

#[Object(guard = "Declared::ROOT")]
impl MachineMutations {
    /// Creates a service account holding a role (never the owner role, never above your own
    /// grants; a licensed role takes a seat).
    #[graphql(directive = Requires::apply(need(require::MEMBER_MANAGE)))]
    async fn create_service_account(
        &self,
        ctx: &Context<'_>,
        input: CreateServiceAccountInput,
    ) -> ApiResult<ServiceAccount> {
        let org = NodeId::organization("organizationId", &input.organization_id)?;
        let (role_org, role) = role_ref_in("roleId", &input.role_id)?;
        let change = Gate::root("organization", org).change(ctx).await?;
        if role_org != org {
            return Err(crate::authz::Refusal::RoleNotInOrganization.into());
        }
        let spec = service_accounts::AccountSpec {
            name: Some(input.name),
            description: Some(input.description),
            role_id: Some(role),
        };
        Ok(ServiceAccount(
            service_accounts::create(&change, spec).await?,
        ))
    }

    /// Renames or redescribes a service account; its role changes with `assignRole`.
    #[graphql(directive = Requires::apply(need(require::MEMBER_MANAGE)))]
    async fn update_service_account(
        &self,
        ctx: &Context<'_>,
        input: UpdateServiceAccountInput,
    ) -> ApiResult<ServiceAccount> {
        let found = service_account_of(ctx, &input.id).await?;
        let change = Gate::root("service account", found.organization_id)
            .change(ctx)
            .await?;
        let spec = service_accounts::AccountSpec {
            name: input.name,
            description: input.description.into(),
            role_id: None,
        };
        Ok(ServiceAccount(
            service_accounts::update(&change, found.id, spec).await?,
        ))
    }

    /// Deletes a service account: its keys stop at once and its seat is freed.
    #[graphql(directive = Requires::apply(need(require::MEMBER_MANAGE)))]
    async fn delete_service_account(&self, ctx: &Context<'_>, id: ID) -> ApiResult<bool> {
        let found = service_account_of(ctx, &id).await?;
        let change = Gate::root("service account", found.organization_id)
            .change(ctx)
            .await?;
        service_accounts::delete(&change, found.id).await?;
        Ok(true)
    }

    /// Creates an API key: yours, or a service account's (which needs `api_key: manage`). Its
    /// grants stay within your own, and at every request within its holder's role. The secret
    /// is in the answer, this once.
    #[graphql(directive = Requires::apply(need(require::API_KEY_MANAGE).or_self().step_up()))]
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        input: CreateApiKeyInput,
    ) -> ApiResult<IssuedApiKey> {
        let org = NodeId::organization("organizationId", &input.organization_id)?;
        let account = input
            .service_account_id
            .as_ref()
            .map(|id| NodeId::service_account("serviceAccountId", id))
            .transpose()?;
        let holder = match account {
            Some(account) => account,
            None => ctx.request().viewer_id()?,
        };
        let change = Gate::root("organization", org)
            .owned_by(holder)
            .self_or_change(ctx)
            .await?;
        let spec = api_keys::KeySpec {
            service_account_id: account,
            name: input.name,
            grants: grant_pairs(input.grants)?,
            expires_in_days: input.expires_in_days,
            add_missing_dependencies: input.add_missing_dependencies,
        };
        Ok(IssuedApiKey(api_keys::create(&change, spec).await?))
    }

    /// Revokes an API key: it stops on the next request. Your own keys need only membership;
    /// anyone else's need `api_key: manage`.
    #[graphql(directive = Requires::apply(need(require::API_KEY_MANAGE).or_self()))]
    async fn revoke_api_key(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ApiKey> {
        let change = api_key_change(ctx, &id).await?;
        let id = NodeId::api_key("id", &id)?;
        Ok(ApiKey(api_keys::revoke(&change, id).await?))
    }

    /// Gives an API key a new secret (in the answer, this once); the old one stops at once.
    #[graphql(directive = Requires::apply(need(require::API_KEY_MANAGE).or_self().step_up()))]
    async fn rotate_api_key(&self, ctx: &Context<'_>, id: ID) -> ApiResult<IssuedApiKey> {
        let change = api_key_change(ctx, &id).await?;
        let id = NodeId::api_key("id", &id)?;
        Ok(IssuedApiKey(api_keys::rotate(&change, id).await?))
    }
}

#[derive(InputObject)]
pub struct CreateServiceAccountInput {
    pub organization_id: ID,
    /// 1 to 100 characters, unique in the organization.
    pub name: String,
    /// At most 1,000 characters.
    pub description: Option<String>,
    /// A role of the organization other than the owner role.
    pub role_id: ID,
}

#[derive(InputObject)]
pub struct UpdateServiceAccountInput {
    pub id: ID,
    /// 1 to 100 characters, unique in the organization.
    pub name: Option<String>,
    /// A new description; null clears it, leaving it out keeps it.
    pub description: MaybeUndefined<String>,
}

#[derive(InputObject)]
pub struct CreateApiKeyInput {
    pub organization_id: ID,
    /// The service account to hold the key; leave it out for a personal key.
    pub service_account_id: Option<ID>,
    /// 1 to 100 characters.
    pub name: String,
    /// Levels per resource (a resource not listed is held at its lowest level), at most your
    /// own.
    pub grants: Vec<PermissionGrantInput>,
    /// 1 to 365 days; by default the key does not expire.
    pub expires_in_days: Option<i32>,
    /// Add the grants the policy's dependencies require instead of failing with
    /// PERMISSION_DEPENDENCY.
    #[graphql(default = false)]
    pub add_missing_dependencies: bool,
}
