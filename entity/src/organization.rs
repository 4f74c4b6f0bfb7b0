//! The `organizations` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub public_id: String,
    pub name: String,
    pub seats: i32,
    pub free_read_only_seats: bool,
    /// JSON array of licensed feature keys.
    pub features: String,
    pub created_at: DateTimeUtc,
    /// Whether members must have verified a second factor in their session.
    pub mfa_required: bool,
    /// The role SCIM gives a member no mapped group places; none: the policy's least role.
    pub scim_default_role_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
