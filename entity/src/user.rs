//! The `users` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub email: String,
    #[sea_orm(unique)]
    pub email_lower: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub default_organization_id: Option<Uuid>,
    pub status: String,
    pub is_operator: bool,
    pub created_at: DateTimeUtc,
    /// `human`, or `service` for a service account (which has no password).
    pub kind: String,
    /// Whether the user has a confirmed second factor.
    pub mfa_enabled: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
