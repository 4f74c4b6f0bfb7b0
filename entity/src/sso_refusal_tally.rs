//! The `sso_refusal_tallies` table: refused sign-ins of an organization, per reason, since the
//! last one its audit log recorded.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sso_refusal_tallies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    /// The refusal's reason, from a closed set of codes.
    #[sea_orm(primary_key, auto_increment = false)]
    pub reason: String,
    /// When the audit log last recorded a refusal of this reason.
    pub window_started_at: DateTimeUtc,
    /// Refusals since then that it did not record.
    pub suppressed: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
