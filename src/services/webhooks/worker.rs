//! Sending due deliveries: claimed under a lease, signed, sent through the outbound guard, and
//! each attempt recorded with what follows from it.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use entity::{webhook_attempt, webhook_delivery, webhook_endpoint};
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::fanout::{DELIVERED, FAILED, PENDING, fan_out};
use super::schedule::{self, Outcome};
use crate::error::{ApiError, ApiResult};
use crate::outbound::Failed;
use crate::services::AppState;
use crate::services::audit::{Action, Actor, Event, Scope};
use crate::services::store::scope::{write_recording, write_unrecorded};
use crate::webhooks::signature::{self, Secret};

/// Deliveries one process sends at once.
const CONCURRENCY: usize = 16;
/// The most of an answer's body kept with its attempt.
pub const KEPT_RESPONSE: usize = 64 * 1024;

/// A delivery this process holds the lease of, with its endpoint.
pub struct Claimed {
    delivery: webhook_delivery::Model,
    endpoint: webhook_endpoint::Model,
}

/// What one attempt got: an answer (status, `Retry-After`, the start of its body) or a failure.
struct Answer {
    result: Result<(u16, Option<String>, String), String>,
    at: DateTime<Utc>,
    duration_ms: i32,
}

/// Delivers in this process until `shutdown` completes: each pass moves the endpoints'
/// cursors, signs the checkpoints that are due and claims as many due deliveries as there is
/// room for. At shutdown, attempts under way get `shutdown_grace` to finish; the leases of
/// those that do not are released, so another process sends them at once.
pub async fn run(state: AppState, shutdown: impl Future<Output = ()>) {
    let mut in_flight = tokio::task::JoinSet::new();
    let poll = state.settings.webhooks.poll;
    tokio::pin!(shutdown);
    loop {
        if let Err(err) = pass(&state, &mut in_flight).await {
            tracing::error!(error = %err.message, "webhook delivery pass failed");
        }
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tokio::time::sleep(poll) => {}
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
        }
    }
    let grace = state.settings.timeouts.shutdown_grace;
    let drained = tokio::time::timeout(grace, async {
        while in_flight.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        in_flight.abort_all();
        match release(&state).await {
            Ok(released) => tracing::info!(released, "webhook deliveries released at shutdown"),
            Err(err) => tracing::error!(error = %err.message, "releasing deliveries failed"),
        }
    }
}

async fn pass(state: &AppState, in_flight: &mut tokio::task::JoinSet<()>) -> ApiResult<()> {
    fan_out(state).await?;
    super::checkpoints::sign_due(state).await?;
    let room = CONCURRENCY.saturating_sub(in_flight.len());
    if room == 0 {
        return Ok(());
    }
    for claimed in claim(state, room as u64).await? {
        let state = state.clone();
        in_flight.spawn(async move { deliver(&state, claimed).await });
    }
    Ok(())
}

/// One pass done to the end, in the caller's task: cursors, checkpoints, then every delivery
/// due now, until none is. Returns how many attempts were made. For tests and the command line;
/// a serving process runs [`run`].
pub async fn deliver_due(state: &AppState) -> ApiResult<usize> {
    fan_out(state).await?;
    super::checkpoints::sign_due(state).await?;
    let mut attempts = 0;
    loop {
        let claimed = claim(state, CONCURRENCY as u64).await?;
        if claimed.is_empty() {
            return Ok(attempts);
        }
        attempts += claimed.len();
        futures_util::future::join_all(claimed.into_iter().map(|one| deliver(state, one))).await;
    }
}

/// Takes the lease of up to `limit` due deliveries of enabled endpoints. Rows another process
/// is claiming are skipped (`SKIP LOCKED`); rows it holds stay its own until their lease ends.
async fn claim(state: &AppState, limit: u64) -> ApiResult<Vec<Claimed>> {
    let now = state.webhooks.clock.now();
    let lease =
        chrono::Duration::from_std(state.settings.webhooks.lease()).map_err(ApiError::internal)?;
    let process = state.webhooks.process;
    write_unrecorded(&state.db, async |txn| {
        let due = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::Status.eq(PENDING))
            .filter(webhook_delivery::Column::NextAttemptAt.lte(now))
            .filter(
                Condition::any()
                    .add(webhook_delivery::Column::LeaseUntil.is_null())
                    .add(webhook_delivery::Column::LeaseUntil.lt(now)),
            )
            .order_by_asc(webhook_delivery::Column::NextAttemptAt)
            .limit(limit)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .all(txn)
            .await?;
        if due.is_empty() {
            return Ok(Vec::new());
        }
        webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::LeaseOwner, Expr::value(process))
            .col_expr(
                webhook_delivery::Column::LeaseUntil,
                Expr::value(now + lease),
            )
            .filter(webhook_delivery::Column::Id.is_in(due.iter().map(|d| d.id)))
            .exec(txn)
            .await?;
        let endpoints: HashMap<Uuid, webhook_endpoint::Model> = webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::Id.is_in(due.iter().map(|d| d.endpoint_id)))
            .all(txn)
            .await?
            .into_iter()
            .map(|endpoint| (endpoint.id, endpoint))
            .collect();
        Ok(due
            .into_iter()
            .filter_map(|delivery| {
                let endpoint = endpoints.get(&delivery.endpoint_id)?.clone();
                Some(Claimed { delivery, endpoint })
            })
            .collect())
    })
    .await
}

/// Makes one attempt of `claimed` and records it; a failure to record is logged (the lease
/// then runs out and the attempt is made again).
async fn deliver(state: &AppState, claimed: Claimed) {
    // The attempt continues the trace of the request that wrote the event.
    let span = tracing::info_span!(
        "webhook.deliver",
        otel.kind = "client",
        delivery = %claimed.delivery.id,
        event_type = %claimed.delivery.event_type,
    );
    crate::telemetry::adopt(&span, claimed.delivery.trace_parent.as_deref());
    let answer = tracing::Instrument::instrument(attempt(state, &claimed), span).await;
    if let Err(err) = record(state, &claimed, answer).await {
        tracing::error!(
            delivery = %claimed.delivery.id,
            error = %err.message,
            "recording a webhook attempt failed"
        );
    }
}

/// Signs and sends `claimed`'s body. The signature's timestamp is the system's time (what a
/// receiver checks), whatever the schedule's clock says.
async fn attempt(state: &AppState, claimed: &Claimed) -> Answer {
    let at = state.webhooks.clock.now();
    let started = Instant::now();
    let result = match request(state, claimed) {
        Ok(request) => match state.webhooks.outbound.send(request, KEPT_RESPONSE).await {
            Ok(response) => {
                let retry_after = response
                    .headers()
                    .get(http::header::RETRY_AFTER)
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned);
                let body = String::from_utf8_lossy(response.body()).into_owned();
                Ok((response.status().as_u16(), retry_after, body))
            }
            Err(Failed::TimedOut) => Err("timed out".to_owned()),
            Err(Failed::Unreachable) => Err("not reachable".to_owned()),
        },
        Err(err) => Err(err.message),
    };
    Answer {
        result,
        at,
        duration_ms: i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX),
    }
}

/// The signed POST of `claimed`'s body to its endpoint.
fn request(state: &AppState, claimed: &Claimed) -> ApiResult<http::Request<Vec<u8>>> {
    let Claimed { delivery, endpoint } = claimed;
    let secrets = secrets_of(state, endpoint, Utc::now())?;
    let body = delivery.body.as_bytes();
    let keys = state.tokens.keys();
    let signed = signature::headers(
        &delivery.message_id,
        Utc::now(),
        body,
        &secrets,
        keys.current(),
    );
    http::Request::post(endpoint.url.as_str())
        .header(http::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", signed.id)
        .header("webhook-timestamp", signed.timestamp.to_string())
        .header("webhook-signature", signed.signature)
        .header("webhook-key-id", signed.key_id)
        .body(body.to_vec())
        .map_err(|_| ApiError::internal("the endpoint's URL does not make a request"))
}

/// The secrets that sign for `endpoint` at `now`: its own, and the one it replaced while that
/// still overlaps.
pub fn secrets_of(
    state: &AppState,
    endpoint: &webhook_endpoint::Model,
    now: DateTime<Utc>,
) -> ApiResult<Vec<Secret>> {
    let open = |sealed: &str| {
        let text = state.secrets.open(endpoint.id.as_bytes(), sealed)?;
        Secret::parse(&text)
            .ok_or_else(|| ApiError::internal("a stored webhook secret is malformed"))
    };
    let mut secrets = vec![open(&endpoint.secret_sealed)?];
    if let (Some(previous), Some(until)) = (
        &endpoint.previous_secret_sealed,
        endpoint.previous_secret_until,
    ) && until > now
    {
        secrets.push(open(previous)?);
    }
    Ok(secrets)
}

/// What an answer says, as an attempt records it.
struct Seen {
    outcome: Outcome,
    status_code: Option<i32>,
    error: Option<String>,
    response: Option<String>,
}

impl Seen {
    fn of(answer: &Answer) -> Self {
        match &answer.result {
            Ok((status, retry_after, body)) => Self {
                outcome: Outcome::of_answer(*status, retry_after.as_deref(), answer.at),
                status_code: Some(i32::from(*status)),
                error: (!(200..300).contains(status)).then(|| format!("HTTP {status}")),
                response: Some(body.clone()),
            },
            Err(error) => Self {
                outcome: Outcome::Failed { retry_after: None },
                status_code: None,
                error: Some(error.clone()),
                response: None,
            },
        }
    }
}

/// Records `answer` for `claimed`: the attempt, the endpoint's state (a success clears its
/// failing streak; `410 Gone` or five days of failures disable it, which the audit log
/// records), and the delivery's next state: delivered, due again, or given up (also when its
/// endpoint is disabled). A delivery whose lease this process lost keeps its state.
async fn record(state: &AppState, claimed: &Claimed, answer: Answer) -> ApiResult<()> {
    let delivery = &claimed.delivery;
    let attempts = delivery.attempts + 1;
    let seen = Seen::of(&answer);
    let process = state.webhooks.process;
    let status = write_recording(&state.db, async |txn| {
        super::fanout::lock_organization_first(txn, claimed.endpoint.organization_id).await?;
        insert_attempt(txn, delivery.id, &answer, &seen).await?;
        let (enabled, events) =
            endpoint_after(txn, claimed.endpoint.id, &seen.outcome, answer.at).await?;
        let next = match &seen.outcome {
            Outcome::Failed { retry_after } if enabled => {
                schedule::next_attempt(attempts, *retry_after, answer.at)
            }
            _ => None,
        };
        let status = match (&seen.outcome, next) {
            (Outcome::Delivered, _) => DELIVERED,
            (_, Some(_)) => PENDING,
            _ => FAILED,
        };
        webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::Status, Expr::value(status))
            .col_expr(webhook_delivery::Column::Attempts, Expr::value(attempts))
            .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(next))
            .col_expr(
                webhook_delivery::Column::LeaseOwner,
                Expr::value(None::<Uuid>),
            )
            .col_expr(
                webhook_delivery::Column::LeaseUntil,
                Expr::value(None::<DateTime<Utc>>),
            )
            .col_expr(
                webhook_delivery::Column::LastAttemptAt,
                Expr::value(answer.at),
            )
            .col_expr(
                webhook_delivery::Column::LastStatusCode,
                Expr::value(seen.status_code),
            )
            .col_expr(
                webhook_delivery::Column::LastError,
                Expr::value(seen.error.clone()),
            )
            .filter(webhook_delivery::Column::Id.eq(delivery.id))
            .filter(webhook_delivery::Column::LeaseOwner.eq(process))
            .exec(txn)
            .await?;
        Ok((status, events))
    })
    .await?;
    let outcome = match status {
        DELIVERED => "delivered",
        PENDING => "retrying",
        _ => "failed",
    };
    crate::metrics::metrics()
        .webhook_deliveries
        .get_or_create(&crate::metrics::DeliveryLabels { outcome })
        .inc();
    Ok(())
}

/// Writes the attempt `seen` of delivery `id`.
async fn insert_attempt(
    txn: &impl ConnectionTrait,
    id: Uuid,
    answer: &Answer,
    seen: &Seen,
) -> ApiResult<()> {
    webhook_attempt::ActiveModel {
        id: Set(Uuid::now_v7()),
        delivery_id: Set(id),
        at: Set(answer.at),
        status_code: Set(seen.status_code),
        duration_ms: Set(answer.duration_ms),
        error: Set(seen.error.clone()),
        response: Set(seen.response.clone()),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// The endpoint's state after an attempt with `outcome` at `at`: whether it is still enabled,
/// and the audit event of its disabling when this attempt disabled it.
async fn endpoint_after(
    txn: &impl ConnectionTrait,
    id: Uuid,
    outcome: &Outcome,
    at: DateTime<Utc>,
) -> ApiResult<(bool, Vec<(Actor, Event)>)> {
    let Some(endpoint) = webhook_endpoint::Entity::find_by_id(id)
        .lock_exclusive()
        .one(txn)
        .await?
    else {
        return Ok((false, Vec::new()));
    };
    let mut change: webhook_endpoint::ActiveModel = endpoint.clone().into();
    let reason = match outcome {
        Outcome::Delivered => {
            change.failing_since = Set(None);
            None
        }
        Outcome::Gone => Some("the receiver answered 410 Gone".to_owned()),
        Outcome::Failed { .. } => {
            let since = endpoint.failing_since.unwrap_or(at);
            change.failing_since = Set(Some(since));
            (at - since >= chrono::Duration::days(schedule::FAILING_DAYS))
                .then(|| format!("every attempt failed for {} days", schedule::FAILING_DAYS))
        }
    };
    let Some(reason) = reason.filter(|_| endpoint.enabled) else {
        if change.is_changed() {
            change.update(txn).await?;
        }
        return Ok((endpoint.enabled, Vec::new()));
    };
    change.enabled = Set(false);
    change.disabled_reason = Set(Some(reason.clone()));
    change.updated_at = Set(at);
    change.update(txn).await?;
    give_up_pending(txn, id, "the endpoint was disabled").await?;
    let event = Event::new(
        Scope::Organization(endpoint.organization_id),
        Action::WebhookDisabled,
        format!(
            "Charter disabled the webhook endpoint {}: {reason}",
            super::shown_url(&endpoint.url)
        ),
    )
    .target("webhook_endpoint", id)
    .payload(serde_json::json!({ "reason": reason }));
    Ok((false, vec![(Actor::delivery(), event)]))
}

/// Marks the pending deliveries of endpoint `id` failed with `why` (it was disabled).
pub(crate) async fn give_up_pending(
    txn: &impl ConnectionTrait,
    id: Uuid,
    why: &str,
) -> ApiResult<()> {
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Status, Expr::value(FAILED))
        .col_expr(
            webhook_delivery::Column::NextAttemptAt,
            Expr::value(None::<DateTime<Utc>>),
        )
        .col_expr(webhook_delivery::Column::LastError, Expr::value(why))
        .filter(webhook_delivery::Column::EndpointId.eq(id))
        .filter(webhook_delivery::Column::Status.eq(PENDING))
        .exec(txn)
        .await?;
    Ok(())
}

/// Gives back the leases this process holds (at shutdown, for attempts that did not finish):
/// another process sends them at once.
async fn release(state: &AppState) -> ApiResult<u64> {
    let process = state.webhooks.process;
    write_unrecorded(&state.db, async |txn| {
        Ok(webhook_delivery::Entity::update_many()
            .col_expr(
                webhook_delivery::Column::LeaseOwner,
                Expr::value(None::<Uuid>),
            )
            .col_expr(
                webhook_delivery::Column::LeaseUntil,
                Expr::value(None::<DateTime<Utc>>),
            )
            .filter(webhook_delivery::Column::LeaseOwner.eq(process))
            .filter(webhook_delivery::Column::Status.eq(PENDING))
            .exec(txn)
            .await?
            .rows_affected)
    })
    .await
}
