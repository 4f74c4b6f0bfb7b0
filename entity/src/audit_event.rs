//! The `audit_events` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `org:<id>` for an organization's events, `user:<id>` for a user's security events.
    pub chain: String,
    /// Position in the chain, from 1.
    pub seq: i64,
    pub organization_id: Option<Uuid>,
    pub subject_user_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub actor_email: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub at: DateTimeUtc,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub description: String,
    /// JSON of what changed.
    pub payload: String,
    pub prev_hash: String,
    pub hash: String,
    /// The API key the actor acted through, when it was one.
    pub actor_api_key_id: Option<Uuid>,
    /// The W3C `traceparent` of the request that wrote it, when traces are on (not hashed).
    pub trace_parent: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
