//! Turning the events past each endpoint's cursor into deliveries.

use chrono::{DateTime, Utc};
use entity::{audit_event, webhook_delivery, webhook_endpoint};
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, Set, Statement,
};
use serde_json::Value;
use uuid::Uuid;

use super::events::Subscription;
use super::payload;
use crate::error::ApiResult;
use crate::services::AppState;
use crate::services::audit::EventRecord;
use crate::services::store::scope::write_unrecorded;

/// Events read from a chain per endpoint per transaction.
const BATCH: u64 = 200;
/// Endpoints looked at per pass; the rest wait for the next.
const ENDPOINTS_PER_PASS: u64 = 100;

/// Locks `organization_id`'s row for share, as the first lock of a transaction that writes
/// rows referring to it: every change of an organization locks that row first (for update),
/// then its chain's head or its endpoints, so taking the same order here means a change and a
/// delivery writer wait for each other instead of deadlocking (a foreign key check would
/// otherwise ask for the organization's row while holding the head or the endpoint).
pub(crate) async fn lock_organization_first(
    txn: &impl ConnectionTrait,
    organization_id: Uuid,
) -> ApiResult<bool> {
    Ok(entity::organization::Entity::find_by_id(organization_id)
        .lock_shared()
        .one(txn)
        .await?
        .is_some())
}

/// A delivery's status while attempts remain.
pub const PENDING: &str = "pending";
/// A delivery's status once a receiver answered 2xx.
pub const DELIVERED: &str = "delivered";
/// A delivery's status once given up (every attempt failed, or the endpoint was disabled).
pub const FAILED: &str = "failed";

#[derive(FromQueryResult)]
struct Behind {
    id: Uuid,
}

/// Moves the cursor of every enabled endpoint whose organization's chain has grown past it,
/// writing a delivery for each new event its subscription selects. Returns how many it wrote.
pub async fn fan_out(state: &AppState) -> ApiResult<u64> {
    let statement = Statement::from_string(
        state.db.get_database_backend(),
        format!(
            "SELECT e.id FROM webhook_endpoints e JOIN audit_heads h ON h.chain = e.chain \
             WHERE e.enabled = TRUE AND h.seq > e.cursor_seq LIMIT {ENDPOINTS_PER_PASS}"
        ),
    );
    let behind = Behind::find_by_statement(statement).all(&state.db).await?;
    let mut written = 0;
    for endpoint in behind {
        written += advance(state, endpoint.id).await?;
    }
    Ok(written)
}

/// Moves one endpoint's cursor by up to [`BATCH`] events, in one transaction with the
/// deliveries it writes. Another process advancing the same endpoint holds its row; this one
/// then leaves it (`SKIP LOCKED`).
async fn advance(state: &AppState, id: Uuid) -> ApiResult<u64> {
    let now = state.webhooks.clock.now();
    let Some(organization_id) = webhook_endpoint::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .map(|endpoint| endpoint.organization_id)
    else {
        return Ok(0);
    };
    write_unrecorded(&state.db, async |txn| {
        if !lock_organization_first(txn, organization_id).await? {
            return Ok(0);
        }
        let endpoint = webhook_endpoint::Entity::find_by_id(id)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .one(txn)
            .await?;
        let Some(endpoint) = endpoint.filter(|endpoint| endpoint.enabled) else {
            return Ok(0);
        };
        let events = audit_event::Entity::find()
            .filter(audit_event::Column::Chain.eq(&endpoint.chain))
            .filter(audit_event::Column::Seq.gt(endpoint.cursor_seq))
            .order_by_asc(audit_event::Column::Seq)
            .limit(BATCH)
            .all(txn)
            .await?;
        let Some(last) = events.last().map(|event| event.seq) else {
            return Ok(0);
        };
        let subscription = Subscription::stored(&endpoint.events);
        let rows: Vec<_> = events
            .into_iter()
            .filter(|event| subscription.matches(&event.action))
            .map(|event| {
                let trace_parent = event.trace_parent.clone();
                let event = EventRecord::from(event);
                let body = payload::of_event(&event);
                let message = event.id.to_string();
                queued(&endpoint, message, &event.action, &body, now, trace_parent)
            })
            .collect();
        let written = rows.len() as u64;
        insert(txn, rows).await?;
        webhook_endpoint::Entity::update_many()
            .col_expr(webhook_endpoint::Column::CursorSeq, Expr::value(last))
            .filter(webhook_endpoint::Column::Id.eq(id))
            .exec(txn)
            .await?;
        Ok(written)
    })
    .await
}

/// A delivery of `body` (message `message_id`, of type `event_type`) to `endpoint`, due at
/// `now`, continuing the trace `trace_parent` (the request that wrote the event).
pub fn queued(
    endpoint: &webhook_endpoint::Model,
    message_id: String,
    event_type: &str,
    body: &Value,
    now: DateTime<Utc>,
    trace_parent: Option<String>,
) -> webhook_delivery::ActiveModel {
    webhook_delivery::ActiveModel {
        id: Set(Uuid::now_v7()),
        endpoint_id: Set(endpoint.id),
        organization_id: Set(endpoint.organization_id),
        message_id: Set(message_id),
        event_type: Set(event_type.to_owned()),
        body: Set(body.to_string()),
        status: Set(PENDING.to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(Some(now)),
        lease_owner: Set(None),
        lease_until: Set(None),
        last_attempt_at: Set(None),
        last_status_code: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        trace_parent: Set(trace_parent),
    }
}

/// Writes `rows` (none: nothing), a statement per hundred.
pub(crate) async fn insert(
    txn: &impl ConnectionTrait,
    rows: Vec<webhook_delivery::ActiveModel>,
) -> ApiResult<()> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(100).collect();
        webhook_delivery::Entity::insert_many(chunk)
            .exec(txn)
            .await?;
    }
    Ok(())
}
