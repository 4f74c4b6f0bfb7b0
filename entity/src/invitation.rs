//! The `invitations` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub email: String,
    pub email_lower: String,
    pub role_id: Uuid,
    /// Hex SHA-256 of the token; the token itself is only in the email.
    #[sea_orm(unique)]
    pub token_hash: String,
    /// `pending`, `accepted` or `revoked` (a pending one past `expires_at` is expired).
    pub status: String,
    pub expires_at: DateTimeUtc,
    pub invited_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub accepted_at: Option<DateTimeUtc>,
    pub accepted_by: Option<Uuid>,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
