//! The `audit_checkpoints` table: the head of an organization's audit chain, signed.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_checkpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub seq: i64,
    pub head_hash: String,
    pub at: DateTimeUtc,
    /// The id of the signing key (its JWK `kid`).
    pub key_id: String,
    /// Base64 Ed25519 signature of the checkpoint's canonical statement.
    pub signature: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
