//! The `mfa_challenges` table: a sign-in (or a step-up of a session) waiting for its second
//! factor.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mfa_challenges")]
pub struct Model {
    /// SHA-256 of the challenge token, hex.
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    pub user_id: Uuid,
    /// The session a step-up is for; none for a sign-in.
    pub session_id: Option<Uuid>,
    /// The organization the sign-in opens its session in.
    pub organization_id: Option<Uuid>,
    /// How the first factor was proved (`pwd`, `sso`).
    pub auth_method: String,
    pub idp_issuer: Option<String>,
    pub idp_organization_id: Option<Uuid>,
    /// The methods proved so far, space-separated.
    pub amr: String,
    /// The WebAuthn ceremony's state, JSON, when a credential can answer.
    pub webauthn_state: Option<String>,
    /// A link of the provider's subject to the account, made when this challenge is answered.
    pub link_subject: Option<String>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
