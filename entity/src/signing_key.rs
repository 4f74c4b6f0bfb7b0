//! The `signing_keys` table.

use sea_orm::entity::prelude::*;

/// A token signing key: published from `created_at`, signing from `signs_from` until the
/// next key signs.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub kid: String,
    pub private_key_sealed: String,
    pub created_at: DateTimeUtc,
    pub signs_from: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
