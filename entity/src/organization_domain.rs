//! The `organization_domains` table: email domains an organization claims, and proves through
//! a DNS TXT record.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organization_domains")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// Lowercase ASCII (IDNA) form.
    pub domain: String,
    /// The value the TXT record `_charter-challenge.<domain>` must hold.
    pub challenge: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub verified_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
