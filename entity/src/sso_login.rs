//! The `sso_logins` table: a sign-in sent to the provider and not yet back.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sso_logins")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// SHA-256 of the `state` parameter, hex.
    #[sea_orm(unique)]
    pub state_hash: String,
    /// SHA-256 of the cookie that binds the sign-in to the browser that started it, hex.
    pub browser_hash: String,
    pub organization_id: Uuid,
    /// The issuer the sign-in was sent to: a reconfigured connection does not take it back.
    pub issuer: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub return_to: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    /// SHA-256 of the address of the client that started it (IPv6 by its /64), hex: starts
    /// are counted per client.
    pub client_key: String,
    /// When its callback took it: a sign-in comes back once, and still counts as a start
    /// until it expires.
    pub used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
