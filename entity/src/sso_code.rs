//! The `sso_codes` table: the one-time codes a finished sign-in hands the application.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sso_codes")]
pub struct Model {
    /// SHA-256 of the code, hex.
    #[sea_orm(primary_key, auto_increment = false)]
    pub code_hash: String,
    pub user_id: Uuid,
    pub organization_id: Uuid,
    pub issuer: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    /// Whether the provider's ID token says it did multi-factor authentication itself.
    pub provider_mfa: bool,
    /// The provider's subject, when the sign-in named an existing account by its email: the
    /// link is made only once that person confirms it with their own credentials.
    pub link_subject: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
