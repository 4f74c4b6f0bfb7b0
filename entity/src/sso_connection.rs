//! The `sso_connections` table: an organization's connection to its identity provider.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sso_connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub organization_id: Uuid,
    /// `oidc`, `saml`, `ldap` or `certificate`: which of the columns below are the connection's.
    pub protocol: String,
    pub enabled: bool,
    pub enforced: bool,
    /// When enforcement last began: sessions opened by password before it cannot refresh.
    pub enforced_since: Option<DateTimeUtc>,
    pub jit_provisioning: bool,
    pub default_role_id: Option<Uuid>,
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    /// The client secret sealed under the secrets key (never stored or returned in clear).
    pub client_secret_sealed: Option<String>,
    /// The provider's discovery document as fetched and checked, JSON.
    pub provider_metadata: Option<String>,
    /// The provider's JSON Web Key Set as fetched, JSON.
    pub provider_jwks: Option<String>,
    pub metadata_fetched_at: Option<DateTimeUtc>,
    /// A SAML connection's identity provider: its entity id and sign-on URL.
    pub saml_idp_entity_id: Option<String>,
    pub saml_sso_url: Option<String>,
    /// JSON array of the provider's signing certificates, base64 DER.
    pub saml_certificates: Option<String>,
    /// The attribute that carries the email, when the NameID does not.
    pub saml_email_attribute: Option<String>,
    /// Whether responses the provider sends unasked (IdP-initiated) are taken.
    pub saml_allow_idp_initiated: bool,
    /// An LDAP directory: its `ldap://` or `ldaps://` URL, and StartTLS on an `ldap://` one.
    pub ldap_url: Option<String>,
    pub ldap_start_tls: bool,
    /// The service account that searches the directory; its password sealed under the
    /// secrets key (never stored or returned in clear).
    pub ldap_bind_dn: Option<String>,
    pub ldap_bind_password_sealed: Option<String>,
    pub ldap_base_dn: Option<String>,
    /// The search for a person, `{email}` where the escaped email goes.
    pub ldap_user_filter: Option<String>,
    pub ldap_email_attribute: Option<String>,
    /// A filter members must match too.
    pub ldap_group_filter: Option<String>,
    /// The CA of the directory's TLS certificate, base64 DER, when not a public one.
    pub ldap_ca_certificate: Option<String>,
    /// Client certificates: the CAs trusted (JSON array of base64 DER), the revocation lists
    /// given (likewise), the URL one is fetched from and what it last answered (base64 DER),
    /// and where a certificate names its holder (`san_email`, `upn`, `subject_email`).
    pub cert_authorities: Option<String>,
    pub cert_crls: Option<String>,
    pub cert_crl_url: Option<String>,
    pub cert_fetched_crl: Option<String>,
    pub cert_mapping: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
