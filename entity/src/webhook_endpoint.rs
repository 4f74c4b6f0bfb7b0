//! The `webhook_endpoints` table: where an organization's audit events are delivered.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// The organization's audit chain (`org:<id>`).
    pub chain: String,
    pub url: String,
    pub description: Option<String>,
    /// JSON array of event names and `prefix.*` patterns.
    pub events: String,
    /// The signing secret, sealed under the secrets key.
    pub secret_sealed: String,
    /// The secret before the last rotation, still signing until `previous_secret_until`.
    pub previous_secret_sealed: Option<String>,
    pub previous_secret_until: Option<DateTimeUtc>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// The last sequence number of the chain already turned into deliveries.
    pub cursor_seq: i64,
    /// Since when every attempt has failed; none after a success.
    pub failing_since: Option<DateTimeUtc>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
