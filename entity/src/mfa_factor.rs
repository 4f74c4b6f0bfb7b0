//! The `mfa_factors` table: a user's second factors.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mfa_factors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// `totp` or `webauthn`.
    pub kind: String,
    pub name: String,
    /// A TOTP secret sealed under the secrets key.
    pub secret_sealed: Option<String>,
    /// A WebAuthn credential, JSON.
    pub credential: Option<String>,
    /// None while an enrollment waits for its first code.
    pub confirmed_at: Option<DateTimeUtc>,
    /// The last TOTP time step accepted: a code of that step or an earlier one is refused.
    pub last_used_step: Option<i64>,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
