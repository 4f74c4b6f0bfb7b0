//! An organization's webhook endpoints: created, changed, rotated and deleted with
//! `webhook: manage`, read with `webhook: read`, with their deliveries and attempts. Sending is
//! the `webhooks` room's.

use chrono::{DateTime, Duration, Utc};
use entity::{audit_event, audit_head, webhook_attempt, webhook_delivery, webhook_endpoint};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::domain::text::{self, TextKind};
use crate::error::{ApiError, ApiResult};
use crate::services::audit::{Action, EventRecord, Scope};
use crate::services::store::scope::{OrgChange, OrgScope, Tx};
use crate::services::webhooks::events::{Subscription, TEST};
use crate::services::webhooks::fanout::{PENDING, insert, queued};
use crate::services::webhooks::worker::give_up_pending;
use crate::services::webhooks::{payload, shown_url};
use crate::services::{AppState, Page, PageArgs};
use crate::webhooks::endpoint_url;
use crate::webhooks::signature::Secret;

/// The most endpoints an organization may have.
pub const MAX_ENDPOINTS: u64 = 20;
/// The longest description.
const MAX_DESCRIPTION: usize = 1000;
/// How long a rotated secret keeps signing beside its successor.
pub const ROTATION_OVERLAP_HOURS: i64 = 24;
/// The most events one replay may queue.
pub const MAX_REPLAY: usize = 10_000;
/// The most attempts shown for one delivery, newest first.
const MAX_ATTEMPTS_SHOWN: u64 = 50;

/// An endpoint as its readers see it: never its secret.
#[derive(Debug, Clone)]
pub struct EndpointRecord {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub url: String,
    pub description: Option<String>,
    pub events: Vec<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the secret before the last rotation still signs.
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<webhook_endpoint::Model> for EndpointRecord {
    fn from(model: webhook_endpoint::Model) -> Self {
        Self {
            id: model.id,
            organization_id: model.organization_id,
            events: Subscription::stored(&model.events).patterns().to_vec(),
            url: model.url,
            description: model.description,
            enabled: model.enabled,
            disabled_reason: model.disabled_reason,
            failing_since: model.failing_since,
            previous_secret_until: model.previous_secret_until,
            created_at: model.created_at,
            updated_at: model.updated_at,
        }
    }
}

/// An endpoint with the secret it signs with, shown this once.
pub struct IssuedEndpoint {
    pub endpoint: EndpointRecord,
    pub secret: String,
}

/// A delivery as its readers see it.
pub type DeliveryRecord = webhook_delivery::Model;
/// One attempt of a delivery.
pub type AttemptRecord = webhook_attempt::Model;

/// The organization of endpoint `id`, if it exists (the caller then passes that
/// organization's gate, which answers a foreign id as a missing one).
pub async fn endpoint_owner(state: &AppState, id: Uuid) -> ApiResult<Option<Uuid>> {
    Ok(webhook_endpoint::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .map(|endpoint| endpoint.organization_id))
}

/// The organization of delivery `id`, if it exists.
pub async fn delivery_owner(state: &AppState, id: Uuid) -> ApiResult<Option<Uuid>> {
    Ok(webhook_delivery::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .map(|delivery| delivery.organization_id))
}

/// The organization's endpoints, oldest first (at most [`MAX_ENDPOINTS`]).
pub async fn endpoints(scope: &OrgScope) -> ApiResult<Vec<EndpointRecord>> {
    Ok(webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrganizationId.eq(scope.organization_id()))
        .order_by_asc(webhook_endpoint::Column::Id)
        .all(scope.db())
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// What an administrator asks an endpoint to be; on an update, what is absent is kept.
#[derive(Debug, Clone, Default)]
pub struct EndpointSpec {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
}

/// The checked values of a spec: the URL (which resolves to an address Charter delivers to),
/// the subscription and the description.
struct Checked {
    url: Option<String>,
    events: Option<Subscription>,
    description: Option<Option<String>>,
}

async fn checked(state: &AppState, spec: &EndpointSpec) -> ApiResult<Checked> {
    let events = spec
        .events
        .as_ref()
        .map(|patterns| Subscription::parse("events", patterns))
        .transpose()?;
    let description = match &spec.description {
        Some(Some(text)) => {
            text::check("description", TextKind::Lines, text, MAX_DESCRIPTION)?;
            Some(Some(text.trim().to_owned()).filter(|text| !text.is_empty()))
        }
        other => other.clone(),
    };
    let url = match &spec.url {
        Some(text) => {
            let guard = state.webhooks.outbound.guard();
            let allow_http = state.settings.webhooks.allow_http;
            let url = endpoint_url::checked("url", text, allow_http, guard)?;
            endpoint_url::resolvable("url", &url, guard).await?;
            Some(url.to_string())
        }
        None => None,
    };
    Ok(Checked {
        url,
        events,
        description,
    })
}

/// Creates an endpoint, enabled, with a new secret; it receives the events recorded after it.
pub async fn create(
    state: &AppState,
    change: &OrgChange,
    spec: EndpointSpec,
) -> ApiResult<IssuedEndpoint> {
    let values = checked(state, &spec).await?;
    let (Some(url), Some(events)) = (values.url, values.events) else {
        return Err(ApiError::invalid("url", "and events are required"));
    };
    let secret = Secret::generate();
    let id = Uuid::now_v7();
    let sealed = state.secrets.seal(id.as_bytes(), &secret.expose())?;
    let creator = change.actor().user_id;
    let model = change
        .write(async |tx| {
            let count = webhook_endpoint::Entity::find()
                .filter(webhook_endpoint::Column::OrganizationId.eq(tx.organization_id()))
                .count(tx.txn)
                .await?;
            if count >= MAX_ENDPOINTS {
                return Err(ApiError::invalid(
                    "url",
                    format!("an organization has at most {MAX_ENDPOINTS} webhook endpoints"),
                ));
            }
            let chain = Scope::Organization(tx.organization_id()).chain();
            let now = Utc::now();
            let model = webhook_endpoint::ActiveModel {
                id: Set(id),
                organization_id: Set(tx.organization_id()),
                cursor_seq: Set(head_seq(tx.txn, &chain).await?),
                chain: Set(chain),
                url: Set(url.clone()),
                description: Set(values.description.clone().flatten()),
                events: Set(events.to_stored()),
                secret_sealed: Set(sealed.clone()),
                previous_secret_sealed: Set(None),
                previous_secret_until: Set(None),
                enabled: Set(true),
                disabled_reason: Set(None),
                failing_since: Set(None),
                created_by: Set(creator),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(tx.txn)
            .await?;
            let event = endpoint_event(tx, Action::WebhookCreated, "created", &model, None);
            Ok((model, Some(event)))
        })
        .await?;
    Ok(IssuedEndpoint {
        endpoint: model.into(),
        secret: secret.expose(),
    })
}

/// The sequence number of `chain`'s head (0 for a chain with no event yet).
async fn head_seq(txn: &impl ConnectionTrait, chain: &str) -> ApiResult<i64> {
    Ok(audit_head::Entity::find_by_id(chain.to_owned())
        .one(txn)
        .await?
        .map_or(0, |head| head.seq))
}

/// The audit event of a change to `model`, with its settings before (when changed) and after.
fn endpoint_event(
    tx: &Tx<'_>,
    action: Action,
    verb: &str,
    model: &webhook_endpoint::Model,
    before: Option<serde_json::Value>,
) -> crate::services::audit::Event {
    tx.event(
        action,
        format!("{verb} the webhook endpoint {}", shown_url(&model.url)),
    )
    .target("webhook_endpoint", model.id)
    .payload(json!({ "before": before, "after": describe(model) }))
}

/// An endpoint's settings for the audit log: its URL without the query, no secret.
fn describe(model: &webhook_endpoint::Model) -> serde_json::Value {
    json!({
        "url": shown_url(&model.url),
        "events": Subscription::stored(&model.events).patterns(),
        "description": model.description,
        "enabled": model.enabled,
    })
}

/// The endpoint `id` of the organization, locked for the change; NOT_FOUND otherwise.
async fn locked(tx: &Tx<'_>, id: Uuid) -> ApiResult<webhook_endpoint::Model> {
    webhook_endpoint::Entity::find_by_id(id)
        .filter(webhook_endpoint::Column::OrganizationId.eq(tx.organization_id()))
        .lock_exclusive()
        .one(tx.txn)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook endpoint"))
}

/// [`locked`], refused as INVALID_INPUT naming `field` (which `what` the endpoint is) when
/// the endpoint is disabled: nothing is queued for it until it is enabled again.
async fn locked_enabled(
    tx: &Tx<'_>,
    id: Uuid,
    field: &'static str,
    what: &str,
) -> ApiResult<webhook_endpoint::Model> {
    let endpoint = locked(tx, id).await?;
    if !endpoint.enabled {
        return Err(ApiError::invalid(field, format!("{what}; enable it first")));
    }
    Ok(endpoint)
}

/// Changes an endpoint. Disabling it gives up its pending deliveries; enabling it again starts
/// from the events recorded after that (earlier ones are replayed on request).
pub async fn update(
    state: &AppState,
    change: &OrgChange,
    id: Uuid,
    spec: EndpointSpec,
) -> ApiResult<EndpointRecord> {
    let values = checked(state, &spec).await?;
    let model = change
        .write(async |tx| {
            let existing = locked(tx, id).await?;
            let before = describe(&existing);
            let mut active: webhook_endpoint::ActiveModel = existing.clone().into();
            if let Some(url) = &values.url {
                active.url = Set(url.clone());
            }
            if let Some(events) = &values.events {
                active.events = Set(events.to_stored());
            }
            if let Some(description) = &values.description {
                active.description = Set(description.clone());
            }
            match spec.enabled {
                Some(true) if !existing.enabled => {
                    active.enabled = Set(true);
                    active.disabled_reason = Set(None);
                    active.failing_since = Set(None);
                    active.cursor_seq = Set(head_seq(tx.txn, &existing.chain).await?);
                }
                Some(false) if existing.enabled => {
                    active.enabled = Set(false);
                    active.disabled_reason = Set(Some("disabled by an administrator".to_owned()));
                    give_up_pending(tx.txn, id, "the endpoint was disabled").await?;
                }
                _ => {}
            }
            active.updated_at = Set(Utc::now());
            let model = active.update(tx.txn).await?;
            let event = endpoint_event(tx, Action::WebhookUpdated, "changed", &model, Some(before));
            Ok((model, Some(event)))
        })
        .await?;
    Ok(model.into())
}

/// Deletes an endpoint with its deliveries.
pub async fn delete(change: &OrgChange, id: Uuid) -> ApiResult<()> {
    change
        .write(async |tx| {
            let existing = locked(tx, id).await?;
            webhook_endpoint::Entity::delete_by_id(id)
                .exec(tx.txn)
                .await?;
            let event = tx
                .event(
                    Action::WebhookDeleted,
                    format!("deleted the webhook endpoint {}", shown_url(&existing.url)),
                )
                .target("webhook_endpoint", id)
                .payload(json!({ "before": describe(&existing) }));
            Ok(((), Some(event)))
        })
        .await
}

/// Gives an endpoint a new secret (in the answer, this once). The one it replaces keeps
/// signing beside it for [`ROTATION_OVERLAP_HOURS`], so receivers switch without downtime.
pub async fn rotate_secret(
    state: &AppState,
    change: &OrgChange,
    id: Uuid,
) -> ApiResult<IssuedEndpoint> {
    let secret = Secret::generate();
    let sealed = state.secrets.seal(id.as_bytes(), &secret.expose())?;
    let model = change
        .write(async |tx| {
            let existing = locked(tx, id).await?;
            let now = Utc::now();
            let mut active: webhook_endpoint::ActiveModel = existing.clone().into();
            active.previous_secret_sealed = Set(Some(existing.secret_sealed.clone()));
            active.previous_secret_until = Set(Some(now + Duration::hours(ROTATION_OVERLAP_HOURS)));
            active.secret_sealed = Set(sealed.clone());
            active.updated_at = Set(now);
            let model = active.update(tx.txn).await?;
            let event = tx
                .event(
                    Action::WebhookSecretRotated,
                    format!(
                        "rotated the secret of the webhook endpoint {}",
                        shown_url(&model.url)
                    ),
                )
                .target("webhook_endpoint", id);
            Ok((model, Some(event)))
        })
        .await?;
    Ok(IssuedEndpoint {
        endpoint: model.into(),
        secret: secret.expose(),
    })
}

/// A page of endpoint `id`'s deliveries, newest first, optionally of one status; NOT_FOUND
/// for an endpoint of another organization.
pub async fn deliveries(
    scope: &OrgScope,
    id: Uuid,
    status: Option<&str>,
    args: PageArgs,
) -> ApiResult<Page<DeliveryRecord>> {
    let mut select = of_endpoint(scope, id, status)
        .order_by_desc(webhook_delivery::Column::Id)
        .limit(args.first + 1);
    if let Some(after) = args.after {
        select = select.filter(webhook_delivery::Column::Id.lt(after));
    }
    Ok(Page::from_rows(select.all(scope.db()).await?, args.first))
}

/// How many deliveries [`deliveries`] would walk.
pub async fn delivery_count(scope: &OrgScope, id: Uuid, status: Option<&str>) -> ApiResult<u64> {
    Ok(of_endpoint(scope, id, status).count(scope.db()).await?)
}

fn of_endpoint(
    scope: &OrgScope,
    id: Uuid,
    status: Option<&str>,
) -> sea_orm::Select<webhook_delivery::Entity> {
    let select = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::OrganizationId.eq(scope.organization_id()))
        .filter(webhook_delivery::Column::EndpointId.eq(id));
    match status {
        Some(status) => select.filter(webhook_delivery::Column::Status.eq(status)),
        None => select,
    }
}

/// The attempts of delivery `id` of the organization, newest first.
pub async fn attempts(scope: &OrgScope, id: Uuid) -> ApiResult<Vec<AttemptRecord>> {
    let owned = webhook_delivery::Entity::find_by_id(id)
        .filter(webhook_delivery::Column::OrganizationId.eq(scope.organization_id()))
        .count(scope.db())
        .await?;
    if owned == 0 {
        return Ok(Vec::new());
    }
    Ok(webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::DeliveryId.eq(id))
        .order_by_desc(webhook_attempt::Column::Id)
        .limit(MAX_ATTEMPTS_SHOWN)
        .all(scope.db())
        .await?)
}

/// Queues delivery `id` for another attempt now, whatever its status (a delivered one is sent
/// again under the same `webhook-id`).
pub async fn retry(state: &AppState, change: &OrgChange, id: Uuid) -> ApiResult<DeliveryRecord> {
    let now = state.webhooks.clock.now();
    change
        .write(async |tx| {
            let delivery = webhook_delivery::Entity::find_by_id(id)
                .filter(webhook_delivery::Column::OrganizationId.eq(tx.organization_id()))
                .one(tx.txn)
                .await?
                .ok_or_else(|| ApiError::not_found("webhook delivery"))?;
            let endpoint = locked_enabled(
                tx,
                delivery.endpoint_id,
                "id",
                "belongs to a disabled endpoint",
            )
            .await?;
            let mut active: webhook_delivery::ActiveModel = delivery.into();
            active.status = Set(PENDING.to_owned());
            active.next_attempt_at = Set(Some(now));
            let delivery = active.update(tx.txn).await?;
            let event = tx
                .event(
                    Action::WebhookDeliveryRetried,
                    format!(
                        "queued {} for another attempt at {}",
                        delivery.event_type,
                        shown_url(&endpoint.url)
                    ),
                )
                .target("webhook_delivery", id);
            Ok((delivery, Some(event)))
        })
        .await
}

/// Queues again, for endpoint `id`, every event of the log recorded at or after `from` that
/// its subscription selects (at most [`MAX_REPLAY`]; more is refused, nothing queued). They
/// keep their ids, so a receiver that has them already sees the same `webhook-id`.
pub async fn replay(
    state: &AppState,
    change: &OrgChange,
    id: Uuid,
    from: DateTime<Utc>,
) -> ApiResult<u64> {
    let now = state.webhooks.clock.now();
    change
        .write(async |tx| {
            let endpoint = locked_enabled(tx, id, "endpointId", "is disabled").await?;
            let rows = replayed(tx, &endpoint, from, now).await?;
            let queued = rows.len() as u64;
            insert(tx.txn, rows).await?;
            let event = tx
                .event(
                    Action::WebhookReplayed,
                    format!(
                        "replayed {queued} event(s) since {from} to {}",
                        shown_url(&endpoint.url)
                    ),
                )
                .target("webhook_endpoint", id)
                .payload(json!({ "from": from, "queued": queued }));
            Ok((queued, Some(event)))
        })
        .await
}

/// The deliveries of a replay: the events of the endpoint's chain since `from` that it
/// subscribes to, read a thousand at a time.
async fn replayed(
    tx: &Tx<'_>,
    endpoint: &webhook_endpoint::Model,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> ApiResult<Vec<webhook_delivery::ActiveModel>> {
    let subscription = Subscription::stored(&endpoint.events);
    let mut rows = Vec::new();
    let mut after = 0;
    loop {
        let events = audit_event::Entity::find()
            .filter(audit_event::Column::Chain.eq(&endpoint.chain))
            .filter(audit_event::Column::At.gte(from))
            .filter(audit_event::Column::Seq.gt(after))
            .order_by_asc(audit_event::Column::Seq)
            .limit(1000)
            .all(tx.txn)
            .await?;
        let Some(last) = events.last().map(|event| event.seq) else {
            return Ok(rows);
        };
        after = last;
        for event in events.into_iter().map(EventRecord::from) {
            if !subscription.matches(&event.action) {
                continue;
            }
            if rows.len() == MAX_REPLAY {
                return Err(ApiError::invalid(
                    "from",
                    format!("selects more than {MAX_REPLAY} events; replay a later start"),
                ));
            }
            let body = payload::of_event(&event);
            rows.push(queued(
                endpoint,
                event.id.to_string(),
                &event.action,
                &body,
                now,
                None,
            ));
        }
    }
}

/// Queues a `webhook.test` message for endpoint `id`, whatever it subscribes to.
pub async fn send_test(
    state: &AppState,
    change: &OrgChange,
    id: Uuid,
) -> ApiResult<DeliveryRecord> {
    let now = state.webhooks.clock.now();
    change
        .write(async |tx| {
            let endpoint = locked_enabled(tx, id, "endpointId", "is disabled").await?;
            let message = Uuid::now_v7();
            let body = payload::test(message, endpoint.organization_id, now);
            let row = queued(&endpoint, message.to_string(), TEST, &body, now, None)
                .insert(tx.txn)
                .await?;
            Ok((row, None))
        })
        .await
}
