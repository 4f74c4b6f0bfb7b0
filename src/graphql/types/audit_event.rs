//! The `AuditEvent` object, with its connection's cursor key, total, page.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, Json, Object};
use chrono::{DateTime, Utc};

use super::User;
use crate::authz::require;
use crate::error::ApiResult;
use crate::graphql::ContextExt;
use crate::graphql::connection::{self, CursorKey, Keyset};
use crate::graphql::guards::{Gate, Requires, need};
use crate::graphql::ids::NodeId;
use crate::services::PageArgs;
use crate::services::audit::{self, EventPage, EventRecord, Filter, Log};

/// One recorded change: who, when, from where, what, and the JSON of what changed.
pub struct AuditEvent(pub EventRecord);

#[Object(
    guard = "Gate::own(\"AuditEvent\", self.0.organization_id, self.0.subject_user_id.unwrap_or_default())",
    directive = Requires::apply(need(require::AUDIT_LOG_READ).or_self())
)]
impl AuditEvent {
    pub async fn id(&self) -> ID {
        NodeId::AuditEvent(self.0.id).to_id()
    }

    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }

    /// A dotted action name, such as `role.created` (the README lists them all).
    async fn action(&self) -> &str {
        &self.0.action
    }

    /// The user who made the change, when it was a user.
    async fn actor(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(actor) = self.0.actor_id else {
            return Ok(None);
        };
        let user = ctx.loaders().users.load_one(actor).await?;
        Ok(user.map(|user| User::new(user, self.0.organization_id)))
    }

    /// The actor's email as it was at the time.
    async fn actor_email(&self) -> Option<&str> {
        self.0.actor_email.as_deref()
    }

    /// The API key the actor acted through, when it was one (the actor is its holder).
    async fn actor_api_key_id(&self) -> Option<ID> {
        self.0
            .actor_api_key_id
            .map(|id| crate::graphql::ids::NodeId::ApiKey(id).to_id())
    }

    async fn ip(&self) -> Option<&str> {
        self.0.ip.as_deref()
    }

    async fn user_agent(&self) -> Option<&str> {
        self.0.user_agent.as_deref()
    }

    async fn target_type(&self) -> Option<&str> {
        self.0.target_type.as_deref()
    }

    async fn target_id(&self) -> Option<&str> {
        self.0.target_id.as_deref()
    }

    async fn description(&self) -> &str {
        &self.0.description
    }

    /// The whole event, with its payload of what changed and its place in the hash chain.
    async fn json(&self) -> Json<serde_json::Value> {
        Json(audit::to_json(&self.0))
    }
}

/// A position in an audit log: the sequence number of the last event seen.
pub type SeqCursor = Keyset<i64>;

/// Audit events keyed by their sequence number in the chain.
impl CursorKey for i64 {
    const TAG: &'static str = "s";

    fn write(&self) -> String {
        self.to_string()
    }

    fn read(text: &str) -> Option<Self> {
        text.parse().ok()
    }
}

/// `totalCount` of an audit log, counted only when asked for (a large log is costly to count).
pub struct AuditTotal {
    log: Log,
    filter: Filter,
}

#[Object]
impl AuditTotal {
    /// How many events match.
    async fn total_count(&self) -> ApiResult<i64> {
        Ok(self.log.count(&self.filter).await? as i64)
    }
}

pub type AuditConnection = Connection<SeqCursor, AuditEvent, AuditTotal>;

/// A page of a log's events, newest first.
pub async fn audit_page(
    log: Log,
    filter: Filter,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<AuditConnection> {
    let before_seq = connection::after::<i64>(after.as_deref())?;
    let args = PageArgs::new(first, None)?;
    let page = log
        .page(
            &filter,
            EventPage {
                first: args.first,
                before_seq,
            },
        )
        .await?;
    let mut connection = Connection::with_additional_fields(
        before_seq.is_some(),
        page.has_next_page,
        AuditTotal { log, filter },
    );
    connection.edges.extend(
        page.items
            .into_iter()
            .map(|event| Edge::new(Keyset(event.seq), AuditEvent(event))),
    );
    Ok(connection)
}
