//! The `api_keys` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// The member the key acts as: a person (a personal key) or a service account.
    pub holder_id: Uuid,
    pub name: String,
    /// The first characters of the secret, shown to tell keys apart.
    pub prefix: String,
    /// Hex SHA-256 of the secret; the secret itself is never stored.
    #[sea_orm(unique)]
    pub secret_hash: String,
    /// JSON object of resource key to level name.
    pub grants: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub expires_at: Option<DateTimeUtc>,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The key's holder, read with it when a request is authenticated (one statement).
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::HolderId",
        to = "super::user::Column::Id"
    )]
    Holder,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Holder.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
