//! The `WebhookEndpoint`, `WebhookDelivery` and `WebhookAttempt` objects (read with
//! `webhook: read`), the payload that shows an endpoint's secret once, and the
//! `AuditCheckpoint` (read with `audit_log: read`).

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};

use crate::authz::require;
use crate::error::ApiResult;
use crate::graphql::connection::{Conn, connection, page_and_total, page_args};
use crate::graphql::guards::{Gate, Requires, need};
use crate::graphql::ids::NodeId;
use crate::services::organization::webhooks::{
    self, AttemptRecord, DeliveryRecord, EndpointRecord, IssuedEndpoint,
};
use crate::services::webhooks::fanout::{DELIVERED, FAILED, PENDING};
use crate::services::webhooks::payload::Checkpoint;

/// Where an organization's audit events are delivered, signed per Standard Webhooks 1.0.
pub struct WebhookEndpoint(pub EndpointRecord);

#[Object(
    guard = "Gate::object(\"WebhookEndpoint\", self.0.organization_id)",
    directive = Requires::apply(need(require::WEBHOOK_READ))
)]
impl WebhookEndpoint {
    async fn id(&self) -> ID {
        NodeId::WebhookEndpoint(self.0.id).to_id()
    }

    /// The receiver's URL (`https://`), as given.
    async fn url(&self) -> &str {
        &self.0.url
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// The event types delivered: names, `prefix.*` patterns, or `*` (see
    /// `permissionCatalog.webhookEventTypes`).
    async fn events(&self) -> &[String] {
        &self.0.events
    }

    /// Whether events are delivered; Charter turns this off after a 410 Gone or 5 days of
    /// failures.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }

    /// Why the endpoint is disabled.
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }

    /// Since when every attempt has failed; none after a success.
    async fn failing_since(&self) -> Option<DateTime<Utc>> {
        self.0.failing_since
    }

    /// Until when the secret replaced by the last rotation still signs beside the new one.
    async fn previous_secret_expires_at(&self) -> Option<DateTime<Utc>> {
        self.0
            .previous_secret_until
            .filter(|until| *until > Utc::now())
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// Deliveries to this endpoint, newest first, optionally of one status.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1")]
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<WebhookDeliveryStatus>,
    ) -> ApiResult<Conn<WebhookDelivery>> {
        let args = page_args(first, after)?;
        let scope = Gate::object("WebhookEndpoint", self.0.organization_id)
            .scope(ctx)
            .await?;
        let status = status.map(WebhookDeliveryStatus::stored);
        let (page, total) = page_and_total(
            ctx,
            webhooks::deliveries(&scope, self.0.id, status, args),
            webhooks::delivery_count(&scope, self.0.id, status),
        )
        .await?;
        Ok(connection(
            page,
            &args,
            total,
            |delivery| delivery.id,
            WebhookDelivery,
        ))
    }
}

/// Where a delivery stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum WebhookDeliveryStatus {
    /// Waiting for its next attempt (or being sent).
    Pending,
    /// A receiver answered 2xx.
    Delivered,
    /// Given up: every attempt failed, or the endpoint was disabled.
    Failed,
}

impl WebhookDeliveryStatus {
    fn stored(self) -> &'static str {
        match self {
            Self::Pending => PENDING,
            Self::Delivered => DELIVERED,
            Self::Failed => FAILED,
        }
    }

    fn of(stored: &str) -> Self {
        match stored {
            DELIVERED => Self::Delivered,
            FAILED => Self::Failed,
            _ => Self::Pending,
        }
    }
}

/// One message for one endpoint, with what its last attempt got.
pub struct WebhookDelivery(pub DeliveryRecord);

#[Object(
    guard = "Gate::object(\"WebhookDelivery\", self.0.organization_id)",
    directive = Requires::apply(need(require::WEBHOOK_READ))
)]
impl WebhookDelivery {
    async fn id(&self) -> ID {
        NodeId::WebhookDelivery(self.0.id).to_id()
    }

    /// The `webhook-id` header, the same on every attempt (the receiver's idempotency key):
    /// the audit event's id.
    async fn message_id(&self) -> &str {
        &self.0.message_id
    }

    async fn event_type(&self) -> &str {
        &self.0.event_type
    }

    async fn status(&self) -> WebhookDeliveryStatus {
        WebhookDeliveryStatus::of(&self.0.status)
    }

    /// Attempts made so far.
    async fn attempt_count(&self) -> i32 {
        self.0.attempts
    }

    /// When the next attempt is due; none once delivered or given up.
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.next_attempt_at.filter(|_| self.0.status == PENDING)
    }

    async fn last_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_attempt_at
    }

    /// The HTTP status of the last answer; none when there was none.
    async fn last_status_code(&self) -> Option<i32> {
        self.0.last_status_code
    }

    /// Why the last attempt failed (`HTTP 500`, `timed out`, `not reachable`).
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }

    /// The JSON body sent, as signed.
    async fn payload(&self) -> &str {
        &self.0.body
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Its attempts, newest first (at most 50).
    async fn attempts(&self, ctx: &Context<'_>) -> ApiResult<Vec<WebhookAttempt>> {
        let scope = Gate::object("WebhookDelivery", self.0.organization_id)
            .scope(ctx)
            .await?;
        Ok(webhooks::attempts(&scope, self.0.id)
            .await?
            .into_iter()
            .map(WebhookAttempt)
            .collect())
    }
}

/// One request made for a delivery and what came back.
pub struct WebhookAttempt(pub AttemptRecord);

#[Object]
impl WebhookAttempt {
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }

    /// The HTTP status of the answer; none when none came.
    async fn status_code(&self) -> Option<i32> {
        self.0.status_code
    }

    async fn duration_ms(&self) -> i32 {
        self.0.duration_ms
    }

    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }

    /// The start of the answer's body (at most 64 KB).
    async fn response(&self) -> Option<&str> {
        self.0.response.as_deref()
    }
}

/// An endpoint just created, or given a new secret, with that secret: shown this once.
pub struct IssuedWebhookEndpoint(pub IssuedEndpoint);

#[Object]
impl IssuedWebhookEndpoint {
    async fn endpoint(&self) -> WebhookEndpoint {
        WebhookEndpoint(self.0.endpoint.clone())
    }

    /// `whsec_…`: the Standard Webhooks secret the `v1` signatures are made with.
    async fn secret(&self) -> &str {
        &self.0.secret
    }
}

/// The head of an organization's audit chain, signed with Charter's Ed25519 key: keep them,
/// and `charter audit verify --checkpoints` proves the log still extends each.
pub struct AuditCheckpoint(pub Checkpoint);

#[Object]
impl AuditCheckpoint {
    async fn id(&self) -> ID {
        NodeId::AuditCheckpoint(self.0.id).to_id()
    }

    /// The sequence number of the chain's head when signed.
    async fn seq(&self) -> i64 {
        self.0.seq
    }

    /// The hash of the event at `seq`.
    async fn head_hash(&self) -> &str {
        &self.0.head_hash
    }

    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }

    /// The signing key's id, as published at `/.well-known/jwks.json`.
    async fn key_id(&self) -> &str {
        &self.0.key_id
    }

    /// Base64 Ed25519 signature of `charter-audit-checkpoint/1`, the organization id, `seq`,
    /// `headHash` and `at` (microseconds, UTC), one per line.
    async fn signature(&self) -> &str {
        &self.0.signature
    }

    /// The checkpoint as the `audit.checkpoint` event delivered it (JSON).
    async fn payload(&self) -> String {
        self.0.to_json().to_string()
    }
}
