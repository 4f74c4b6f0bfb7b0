//! A user as the rest of Charter sees one: the row without its password hash.

use chrono::{DateTime, Utc};
use entity::user;
use uuid::Uuid;

/// A user as callers see it: never the password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub default_organization_id: Option<Uuid>,
    /// `active` or `disabled`.
    pub status: String,
    pub is_operator: bool,
    pub created_at: DateTime<Utc>,
    /// `human` or `service` (see `services::identity::users`).
    pub kind: String,
    /// Whether the user has a confirmed second factor.
    pub mfa_enabled: bool,
}

impl From<user::Model> for UserRecord {
    fn from(model: user::Model) -> Self {
        Self {
            id: model.id,
            email: model.email,
            display_name: model.display_name,
            default_organization_id: model.default_organization_id,
            status: model.status,
            is_operator: model.is_operator,
            created_at: model.created_at,
            kind: model.kind,
            mfa_enabled: model.mfa_enabled,
        }
    }
}
