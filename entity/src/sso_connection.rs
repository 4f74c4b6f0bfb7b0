//! The `sso_connections` table: an organization's connection to its identity provider.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sso_connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub organization_id: Uuid,
    /// `oidc`; a SAML connection would add its own columns beside these.
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
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
