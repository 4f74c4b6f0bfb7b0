//! The `SsoConnection` and `OrganizationDomain` objects: an organization's single sign-on as
//! its readers (`sso: read`) see it. The client secret is never among its fields.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Role;
use crate::certificate::Certificate;
use crate::error::ApiResult;
use crate::graphql::ContextExt;
use crate::graphql::ids::NodeId;
use crate::saml::sp::ServiceProvider;
use crate::services::organization::domains::DomainRecord;
use crate::services::organization::sso::SsoRecord;
use crate::services::organization::sso::{CertificateRecord, LdapRecord, SamlRecord};

/// An organization's single sign-on: its connection (OpenID Connect, SAML or an LDAP directory,
/// when configured) and its claimed email domains.
pub struct SsoConnection {
    pub organization_id: Uuid,
    pub record: Option<SsoRecord>,
    pub domains: Vec<DomainRecord>,
}

#[Object]
impl SsoConnection {
    /// `OIDC`, `SAML` or `LDAP` once configured.
    async fn protocol(&self) -> Option<String> {
        self.record
            .as_ref()
            .map(|record| record.protocol.to_ascii_uppercase())
    }

    /// The OpenID provider's issuer URL.
    async fn issuer(&self) -> Option<&str> {
        self.record.as_ref()?.issuer.as_deref()
    }

    /// The client id Charter is registered with at the provider.
    async fn client_id(&self) -> Option<&str> {
        self.record.as_ref()?.client_id.as_deref()
    }

    /// Whether members can sign in through the provider.
    async fn enabled(&self) -> bool {
        self.record.as_ref().is_some_and(|record| record.enabled)
    }

    /// Whether members whose email is in a verified domain must sign in through the provider
    /// (owners keep a password, audited at each use).
    async fn enforced(&self) -> bool {
        self.record
            .as_ref()
            .is_some_and(|record| record.enabled && record.enforced)
    }

    /// Whether a person from a verified domain without a membership gets one, with the default
    /// role, at their first sign-in.
    async fn jit_provisioning(&self) -> bool {
        self.record
            .as_ref()
            .is_some_and(|record| record.jit_provisioning)
    }

    /// The role just-in-time members get.
    async fn default_role(&self, ctx: &Context<'_>) -> ApiResult<Option<Role>> {
        let Some(role_id) = self
            .record
            .as_ref()
            .and_then(|record| record.default_role_id)
        else {
            return Ok(None);
        };
        Ok(ctx
            .loaders()
            .roles
            .load_one(role_id)
            .await?
            .map(|role| Role::new(role, self.organization_id)))
    }

    /// The URL that starts a sign-in (add `?return_to=`); none until configured and enabled,
    /// and none for a directory (people sign in to it with `login`) or client certificates
    /// (`/cert/{publicId}/start` on the TLS listener).
    async fn start_url(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        use crate::services::identity::sso::BROWSER_PROTOCOLS;
        let browser = self.record.as_ref().is_some_and(|record| {
            record.enabled && BROWSER_PROTOCOLS.contains(&record.protocol.as_str())
        });
        if !browser {
            return Ok(None);
        }
        let Some(org) = ctx
            .loaders()
            .organizations
            .load_one(self.organization_id)
            .await?
        else {
            return Ok(None);
        };
        Ok(crate::services::identity::sso::start_url(
            &ctx.state().settings,
            &org.public_id,
        ))
    }

    /// The email domains the organization claims, oldest first.
    async fn domains(&self) -> Vec<OrganizationDomain> {
        self.domains
            .iter()
            .cloned()
            .map(OrganizationDomain)
            .collect()
    }

    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        self.record.as_ref().map(|record| record.updated_at)
    }

    /// An LDAP connection's directory; none for another protocol. Its service password is
    /// never among the fields.
    async fn ldap(&self) -> Option<LdapDirectory> {
        self.record.as_ref()?.ldap.clone().map(LdapDirectory)
    }

    /// A client-certificate connection's trust; none for another protocol.
    async fn certificate(&self) -> Option<CertificateTrust> {
        self.record
            .as_ref()?
            .certificate
            .clone()
            .map(CertificateTrust)
    }

    /// A SAML connection's identity provider and Charter's side of it; none for OpenID.
    async fn saml(&self) -> Option<SamlConnection> {
        let saml = self.record.as_ref()?.saml.clone()?;
        Some(SamlConnection {
            organization_id: self.organization_id,
            saml,
        })
    }
}

/// A SAML connection: the identity provider Charter trusts, and the service provider an
/// identity provider's administrator sets up (import `serviceProvider.metadataUrl`).
pub struct SamlConnection {
    organization_id: Uuid,
    saml: SamlRecord,
}

#[Object]
impl SamlConnection {
    /// The identity provider's entity id (the Issuer of its responses).
    async fn idp_entity_id(&self) -> &str {
        &self.saml.idp_entity_id
    }

    /// Where sign-ins are sent (HTTP-Redirect binding).
    async fn sso_url(&self) -> &str {
        &self.saml.sso_url
    }

    /// The certificates the provider's signatures are checked against (several while it
    /// rotates).
    async fn certificates(&self) -> Vec<X509Certificate> {
        self.saml
            .certificates
            .iter()
            .cloned()
            .map(X509Certificate)
            .collect()
    }

    /// The attribute that carries the email, when the NameID does not.
    async fn email_attribute(&self) -> Option<&str> {
        self.saml.email_attribute.as_deref()
    }

    /// Whether Responses the provider sends unasked (IdP-initiated sign-in) are taken.
    async fn allow_idp_initiated(&self) -> bool {
        self.saml.allow_idp_initiated
    }

    /// Charter as this organization's service provider; none without a public URL.
    async fn service_provider(&self, ctx: &Context<'_>) -> ApiResult<Option<SamlServiceProvider>> {
        let Some(org) = ctx
            .loaders()
            .organizations
            .load_one(self.organization_id)
            .await?
        else {
            return Ok(None);
        };
        Ok(
            crate::services::identity::sso::service_provider(&ctx.state().settings, &org.public_id)
                .map(SamlServiceProvider),
        )
    }
}

/// A certificate an administrator gave: an identity provider's signing certificate, a
/// directory's CA.
pub struct X509Certificate(Certificate);

#[Object]
impl X509Certificate {
    /// SHA-256 of the DER, colon-separated hex (as `openssl x509 -fingerprint -sha256`).
    async fn fingerprint(&self) -> &str {
        &self.0.fingerprint
    }

    async fn subject(&self) -> &str {
        &self.0.subject
    }

    /// When it expires, as OpenSSL prints it.
    async fn not_after(&self) -> &str {
        &self.0.not_after
    }
}

/// An organization's LDAP directory as its readers see it.
pub struct LdapDirectory(LdapRecord);

#[Object]
impl LdapDirectory {
    /// `ldap://` (with StartTLS) or `ldaps://`.
    async fn url(&self) -> &str {
        &self.0.url
    }

    async fn start_tls(&self) -> bool {
        self.0.start_tls
    }

    /// The service account that searches the directory.
    async fn bind_dn(&self) -> &str {
        &self.0.bind_dn
    }

    async fn base_dn(&self) -> &str {
        &self.0.base_dn
    }

    /// The search for a person, `{email}` where the (escaped) email goes.
    async fn user_filter(&self) -> &str {
        &self.0.user_filter
    }

    async fn email_attribute(&self) -> &str {
        &self.0.email_attribute
    }

    /// A filter members must match too.
    async fn group_filter(&self) -> Option<&str> {
        self.0.group_filter.as_deref()
    }

    /// The CA of the directory's TLS certificate, when it is not a public one.
    async fn ca_certificate(&self) -> Option<X509Certificate> {
        self.0.ca_certificate.clone().map(X509Certificate)
    }
}

/// The certificate authorities and revocation lists an organization's client-certificate
/// sign-in trusts, and where a certificate names its holder.
pub struct CertificateTrust(CertificateRecord);

#[Object]
impl CertificateTrust {
    async fn authorities(&self) -> Vec<X509Certificate> {
        self.0
            .authorities
            .iter()
            .cloned()
            .map(X509Certificate)
            .collect()
    }

    /// How many revocation lists were given.
    async fn crl_count(&self) -> i32 {
        i32::try_from(self.0.crls).unwrap_or(i32::MAX)
    }

    /// Where a revocation list is fetched from, every hour.
    async fn crl_url(&self) -> Option<&str> {
        self.0.crl_url.as_deref()
    }

    /// Where a certificate names its holder.
    async fn mapping(&self) -> CertificateMapping {
        CertificateMapping::of(&self.0.mapping)
    }
}

/// Where a client certificate names its holder.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CertificateMapping {
    /// The subject alternative name's email (rfc822Name).
    SanEmail,
    /// The subject alternative name's User Principal Name (otherName), as CAC and PIV cards
    /// carry it.
    Upn,
    /// The subject's emailAddress attribute.
    SubjectEmail,
}

impl CertificateMapping {
    fn of(code: &str) -> Self {
        match crate::clientcert::Mapping::from_code(code) {
            Some(crate::clientcert::Mapping::Upn) => Self::Upn,
            Some(crate::clientcert::Mapping::SubjectEmail) => Self::SubjectEmail,
            _ => Self::SanEmail,
        }
    }

    pub fn mapping(self) -> crate::clientcert::Mapping {
        match self {
            Self::SanEmail => crate::clientcert::Mapping::SanEmail,
            Self::Upn => crate::clientcert::Mapping::Upn,
            Self::SubjectEmail => crate::clientcert::Mapping::SubjectEmail,
        }
    }
}

/// Charter as a SAML service provider of one organization.
pub struct SamlServiceProvider(ServiceProvider);

#[Object]
impl SamlServiceProvider {
    /// The entity id (also where its metadata is served).
    async fn entity_id(&self) -> &str {
        &self.0.entity_id
    }

    /// The Assertion Consumer Service (HTTP-POST binding).
    async fn acs_url(&self) -> &str {
        &self.0.acs_url
    }

    /// The metadata an identity provider imports.
    async fn metadata_url(&self) -> &str {
        &self.0.entity_id
    }
}

/// An email domain an organization claims, and the DNS record that proves it.
pub struct OrganizationDomain(pub DomainRecord);

#[Object]
impl OrganizationDomain {
    async fn id(&self) -> ID {
        NodeId::OrganizationDomain(self.0.id).to_id()
    }

    /// Lowercase ASCII (an internationalized name in its punycode form).
    async fn domain(&self) -> &str {
        &self.0.domain
    }

    async fn verified(&self) -> bool {
        self.0.verified_at.is_some()
    }

    async fn verified_at(&self) -> Option<DateTime<Utc>> {
        self.0.verified_at
    }

    /// The name of the TXT record to publish: `_charter-challenge.<domain>`.
    async fn txt_record_name(&self) -> &str {
        &self.0.record_name
    }

    /// The value the TXT record must hold.
    async fn txt_record_value(&self) -> &str {
        &self.0.record_value
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
