//! The `lists` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lists")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    /// The name lowercased: unique within the organization.
    pub name_lower: String,
    /// `ip`, `cidr`, `domain`, `url`, `hash`, `email` or `text`.
    pub kind: String,
    pub description: Option<String>,
    /// Whether the organization's share partners see the list.
    pub shared: bool,
    /// Kept in step with `list_entries` in the transaction that changes them.
    pub entry_count: i64,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
