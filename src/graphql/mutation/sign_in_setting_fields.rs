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
        let default_role_id = default_role_in(org, input.default_role_id.as_ref())?;
        let change = Gate::root("organization", org).change(ctx).await?;
        let spec = sso::SsoSpec {
            issuer: input.issuer,
            client_id: input.client_id,
            client_secret: input.client_secret,
            admission: sso::Admission {
                default_role_id,
                jit_provisioning: input.jit_provisioning,
                enforced: input.enforced,
            },
        };
        let record = sso::configure(ctx.state(), &change, spec).await?;
        sso_connection(&change, Some(record)).await
    }

    /// Configures and enables the organization's single sign-on with a SAML identity provider,
    /// from its metadata (`metadataXml` or `metadataUrl`) or by hand (`idpEntityId`, `ssoUrl`,
    /// `certificates`): exactly one of the three. It replaces an OpenID connection.
    #[graphql(directive = Requires::apply(need(require::SSO_MANAGE).step_up()))]
    async fn configure_saml_sso(
        &self,
        ctx: &Context<'_>,
        input: ConfigureSamlSsoInput,
    ) -> ApiResult<SsoConnection> {
        let org = NodeId::organization("organizationId", &input.organization_id)?;
        let default_role_id = default_role_in(org, input.default_role_id.as_ref())?;
        let source = saml_source(
            input.metadata_xml,
            input.metadata_url,
            input.idp_entity_id,
            input.sso_url,
            input.certificates,
        )?;
        let change = Gate::root("organization", org).change(ctx).await?;
        let spec = saml::SamlSpec {
            source,
            email_attribute: input.email_attribute,
            admission: sso::Admission {
                default_role_id,
                jit_provisioning: input.jit_provisioning,
                enforced: input.enforced,
            },
            allow_idp_initiated: input.allow_idp_initiated,
        };
        let record = saml::configure(ctx.state(), &change, spec).await?;
        sso_connection(&change, Some(record)).await
    }

    /// Configures and enables sign-in with the organization's LDAP directory: `login` with an
    /// email in a verified domain then binds to the directory as that person. The service bind
    /// and the search base are checked now; nothing is saved unless both work. It replaces an
    /// OpenID or SAML connection.
    #[graphql(directive = Requires::apply(need(require::SSO_MANAGE).step_up()))]
    async fn configure_ldap(
        &self,
        ctx: &Context<'_>,
        input: ConfigureLdapInput,
    ) -> ApiResult<SsoConnection> {
        let org = NodeId::organization("organizationId", &input.organization_id)?;
        let default_role_id = default_role_in(org, input.default_role_id.as_ref())?;
        let change = Gate::root("organization", org).change(ctx).await?;
        let spec = ldap::LdapSpec {
            url: input.url,
            start_tls: input.start_tls,
            bind_dn: input.bind_dn,
            bind_password: input.bind_password,
            base_dn: input.base_dn,
            user_filter: input.user_filter,
            email_attribute: input.email_attribute,
            group_filter: input.group_filter,
            ca_certificate: input.ca_certificate,
            admission: sso::Admission {
                default_role_id,
                jit_provisioning: input.jit_provisioning,
                enforced: input.enforced,
            },
        };
        let record = ldap::configure(ctx.state(), &change, spec).await?;
        sso_connection(&change, Some(record)).await
    }

    /// Configures and enables client-certificate sign-in (smart cards) for the organization:
    /// the certificate authorities it trusts, revocation lists (given, or fetched from
    /// `crlUrl` now and every hour), and where a certificate names its holder. People sign in
    /// at `/cert/{publicId}/start` on Charter's TLS listener. It replaces another connection.
    #[graphql(directive = Requires::apply(need(require::SSO_MANAGE).step_up()))]
    async fn configure_certificate_sign_in(
        &self,
        ctx: &Context<'_>,
        input: ConfigureCertificateSignInInput,
    ) -> ApiResult<SsoConnection> {
        let org = NodeId::organization("organizationId", &input.organization_id)?;
        let default_role_id = default_role_in(org, input.default_role_id.as_ref())?;
        let change = Gate::root("organization", org).change(ctx).await?;
        let spec = certificates::CertificateSpec {
            authorities: input.authorities,
            crls: input.crls.unwrap_or_default(),
            crl_url: input.crl_url,
            mapping: input.mapping.mapping(),
            admission: sso::Admission {
                default_role_id,
                jit_provisioning: input.jit_provisioning,
                enforced: input.enforced,
            },
        };
        let record = certificates::configure(ctx.state(), &change, spec).await?;
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

/// The one source of a SAML provider's settings the input gives; INVALID_INPUT when it gives
/// none, or more than one.
fn saml_source(
    metadata_xml: Option<String>,
    metadata_url: Option<String>,
    idp_entity_id: Option<String>,
    sso_url: Option<String>,
    certificates: Option<Vec<String>>,
) -> ApiResult<saml::SamlSource> {
    let by_hand = idp_entity_id.is_some() || sso_url.is_some() || certificates.is_some();
    match (metadata_xml, metadata_url, by_hand) {
        (Some(xml), None, false) => Ok(saml::SamlSource::Metadata(xml)),
        (None, Some(url), false) => Ok(saml::SamlSource::MetadataUrl(url)),
        (None, None, true) => Ok(saml::SamlSource::ByHand {
            entity_id: idp_entity_id.unwrap_or_default(),
            sso_url: sso_url.unwrap_or_default(),
            certificates: certificates.unwrap_or_default(),
        }),
        _ => Err(crate::error::ApiError::invalid(
            "metadataXml",
            "give exactly one of metadataXml, metadataUrl, or idpEntityId with ssoUrl and certificates",
        )),
    }
}

#[derive(InputObject)]
pub struct ConfigureSamlSsoInput {
    pub organization_id: ID,
    /// The identity provider's metadata (an EntityDescriptor), at most 256 KB, no DOCTYPE.
    pub metadata_xml: Option<String>,
    /// Where the metadata is fetched from (`https://`), through the outbound guard.
    pub metadata_url: Option<String>,
    /// By hand: the provider's entity id.
    pub idp_entity_id: Option<String>,
    /// By hand: its sign-on URL (`https://`, HTTP-Redirect binding).
    pub sso_url: Option<String>,
    /// By hand: 1 to 5 signing certificates, PEM or base64 DER.
    pub certificates: Option<Vec<String>>,
    /// The attribute that carries the email, when the NameID does not.
    pub email_attribute: Option<String>,
    /// The role just-in-time members get (never the owner role).
    pub default_role_id: Option<ID>,
    #[graphql(default = false)]
    pub jit_provisioning: bool,
    #[graphql(default = false)]
    pub enforced: bool,
    /// Whether Responses the provider sends unasked (IdP-initiated sign-in) are taken; their
    /// `RelayState` must then be the URL to return to. Off by default: only sign-ins started
    /// at Charter are.
    #[graphql(default = false)]
    pub allow_idp_initiated: bool,
}

#[derive(InputObject)]
pub struct ConfigureCertificateSignInInput {
    pub organization_id: ID,
    /// 1 to 10 CA certificates (PEM or base64 DER) that issue the people's certificates.
    pub authorities: Vec<String>,
    /// Up to 10 certificate revocation lists (PEM or base64 DER).
    pub crls: Option<Vec<String>>,
    /// Where a revocation list is fetched from (`https://`), now and every hour, through the
    /// outbound guard.
    pub crl_url: Option<String>,
    #[graphql(default_with = "CertificateMapping::SanEmail")]
    pub mapping: CertificateMapping,
    /// The role just-in-time members get (never the owner role).
    pub default_role_id: Option<ID>,
    #[graphql(default = false)]
    pub jit_provisioning: bool,
    #[graphql(default = false)]
    pub enforced: bool,
}

#[derive(InputObject)]
pub struct ConfigureLdapInput {
    pub organization_id: ID,
    /// `ldaps://host[:port]`, or `ldap://host[:port]` with `startTls` (plain `ldap://` only
    /// where the operator allows it, for loopback).
    pub url: String,
    #[graphql(default = false)]
    pub start_tls: bool,
    /// The service account that searches the directory.
    pub bind_dn: String,
    /// Required the first time; left out, the stored one is kept. Never returned.
    pub bind_password: Option<String>,
    /// Where people are searched (subtree).
    pub base_dn: String,
    /// The search for a person, with `{email}` where the email goes (escaped per RFC 4515).
    #[graphql(default_with = "\"(mail={email})\".to_owned()")]
    pub user_filter: String,
    #[graphql(default_with = "\"mail\".to_owned()")]
    pub email_attribute: String,
    /// A filter members must match too, e.g. `(memberOf=cn=charter,ou=groups,dc=example,dc=com)`.
    pub group_filter: Option<String>,
    /// The CA of the directory's TLS certificate (PEM), when it is not a public one.
    pub ca_certificate: Option<String>,
    /// The role just-in-time members get (never the owner role).
    pub default_role_id: Option<ID>,
    #[graphql(default = false)]
    pub jit_provisioning: bool,
    #[graphql(default = false)]
    pub enforced: bool,
}

/// The role `id` names (given as `defaultRoleId`), which must be one of `org`'s.
fn default_role_in(org: uuid::Uuid, id: Option<&ID>) -> ApiResult<Option<uuid::Uuid>> {
    let Some(id) = id else {
        return Ok(None);
    };
    let (role_org, role) = role_ref_in("defaultRoleId", id)?;
    if role_org != org {
        return Err(crate::authz::Refusal::RoleNotInOrganization.into());
    }
    Ok(Some(role))
}
