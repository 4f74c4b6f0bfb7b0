//! The `memberships` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "memberships")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub organization_id: Uuid,
    pub role_id: Uuid,
    pub invited_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    /// The user's email, lowercased: the Users tab sorts by it through an index.
    pub sort_email: String,
    /// The user's display name, lowercased.
    pub sort_name: String,
    /// The role's name, lowercased.
    pub sort_role: String,
    /// When SCIM deactivated the membership: it is kept, with its seat and history, and grants
    /// nothing until restored.
    pub suspended_at: Option<DateTimeUtc>,
    /// When SCIM last changed the membership.
    pub scim_updated_at: Option<DateTimeUtc>,
    /// The organization's provisioning client's id for the person.
    pub scim_external_id: Option<String>,
    /// JSON object: the SCIM attributes the client set that Charter does not own.
    pub scim_attributes: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
