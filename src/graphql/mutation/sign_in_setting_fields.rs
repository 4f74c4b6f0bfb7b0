//! An organization's single sign-on and its verified domains.

use super::*;

#[derive(Default)]
pub struct SignInSettingMutations;

#[Object(guard = "Declared::ROOT")]
impl SignInSettingMutations {
    /// Configures and enables the organization's single sign-on with an OpenID provider.
    #[graphql(directive = Requires::apply(need(require::SSO_MANAGE).step_up()))]
    async fn configure_sso(
        &self,
        ctx: &Context<'_>,
        input: ConfigureSsoInput,
    ) -> ApiResult<SsoConnection> {
        let org = NodeId::organization("organizationId", &input.organization_id)?;
        let default_role_id = match &input.default_role_id {
            Some(id) => {
                let (role_org, role) = role_ref_in("defaultRoleId", id)?;
                if role_org != org {
                    return Err(crate::authz::Refusal::RoleNotInOrganization.into());
                }
                Some(role)
            }
            None => None,
        };
        let change = Gate::root("organization", org).change(ctx).await?;
        let spec = sso::SsoSpec {
            issuer: input.issuer,
            client_id: input.client_id,
            client_secret: input.client_secret,
            default_role_id,
            jit_provisioning: input.jit_provisioning,
            enforced: input.enforced,
        };
        let record = sso::configure(ctx.state(), &change, spec).await?;
        sso_connection(&change, Some(record)).await
    }

    /// Turns the organization's single sign-on off, and its enforcement with it; the settings
    /// stay for a later `configureSso`.
    #[graphql(directive = Requires::apply(need(require::SSO_MANAGE).step_up()))]
    async fn disable_sso(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
    ) -> ApiResult<SsoConnection> {
        let org = NodeId::organization("organizationId", &organization_id)?;
        let change = Gate::root("organization", org).change(ctx).await?;
        let record = sso::disable(&change).await?;
        sso_connection(&change, Some(record)).await
    }

    /// Claims an email domain: the answer names the TXT record that proves it.
    #[graphql(directive = Requires::apply(need(require::SSO_MANAGE).step_up()))]
    async fn add_organization_domain(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        domain: String,
    ) -> ApiResult<OrganizationDomain> {
        let org = NodeId::organization("organizationId", &organization_id)?;
        let change = Gate::root("organization", org).change(ctx).await?;
        Ok(OrganizationDomain(domains::add(&change, &domain).await?))
    }

    /// Looks the domain's TXT record up in DNS and marks it verified when it holds the value.
    #[graphql(directive = Requires::apply(need(require::SSO_MANAGE).step_up()))]
    async fn verify_organization_domain(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> ApiResult<OrganizationDomain> {
        let change = domain_change(ctx, &id).await?;
        let id = NodeId::organization_domain("id", &id)?;
        Ok(OrganizationDomain(
            domains::verify(ctx.state(), &change, id).await?,
        ))
    }

    /// Gives a domain up; enforcement over its members lifts with it.
    #[graphql(directive = Requires::apply(need(require::SSO_MANAGE).step_up()))]
    async fn remove_organization_domain(&self, ctx: &Context<'_>, id: ID) -> ApiResult<bool> {
        let change = domain_change(ctx, &id).await?;
        let id = NodeId::organization_domain("id", &id)?;
        domains::remove(&change, id).await?;
        Ok(true)
    }
}

#[derive(InputObject)]
pub struct ConfigureSsoInput {
    pub organization_id: ID,
    /// The OpenID provider's issuer URL (`https://…`); its discovery document and keys are
    /// fetched and checked now.
    pub issuer: String,
    pub client_id: String,
    /// Required the first time; left out, the stored secret is kept. Never returned.
    pub client_secret: Option<String>,
    /// The role just-in-time members get: required with `jitProvisioning`, never the owner
    /// role, and within your own grants.
    pub default_role_id: Option<ID>,
    #[graphql(default = false)]
    pub jit_provisioning: bool,
    #[graphql(default = false)]
    pub enforced: bool,
}
