//! The `roles` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "roles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `None` for the policy's predefined roles, shared by every organization.
    pub organization_id: Option<Uuid>,
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub predefined: bool,
    pub seat_class: String,
    /// JSON object from resource key to level name.
    pub grants: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
