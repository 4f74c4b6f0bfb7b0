//! The `sessions` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// The active organization of this login.
    pub organization_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    /// Absolute end of the session, however often it is refreshed.
    pub expires_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
    pub revoked_reason: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// How the person signed in: `pwd` (a password) or `sso` (single sign-on).
    pub auth_method: String,
    /// The identity provider of a single sign-on session.
    pub idp_issuer: Option<String>,
    /// The organization whose connection a single sign-on session came through.
    pub idp_organization_id: Option<Uuid>,
    /// When a second factor was last checked in this session.
    pub mfa_at: Option<DateTimeUtc>,
    /// The methods that signed the person in, space-separated (`pwd otp`).
    pub amr: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The session's user, read with it when a request is authenticated (one statement).
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
