//! The JSON bodies endpoints receive: an audit event as its log holds it (never a secret, as
//! for the log), a signed checkpoint of a chain's head, a test message.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::events::{CHECKPOINT, TEST};
use crate::services::audit::{EventRecord, canonical_time};

/// The body for `event`: its id, type (the action), time, organization, actor, target,
/// description and data (what changed), and its place in the hash chain.
pub fn of_event(event: &EventRecord) -> Value {
    let actor = (event.actor_id.is_some() || event.actor_api_key_id.is_some()).then(|| {
        json!({
            "userId": event.actor_id,
            "email": event.actor_email,
            "apiKeyId": event.actor_api_key_id,
        })
    });
    let target = match (&event.target_type, &event.target_id) {
        (Some(kind), Some(id)) => json!({ "type": kind, "id": id }),
        _ => Value::Null,
    };
    json!({
        "id": event.id,
        "type": event.action,
        "time": canonical_time(event.at),
        "organization": { "id": event.organization_id },
        "actor": actor,
        "target": target,
        "description": event.description,
        "data": serde_json::from_str::<Value>(&event.payload).unwrap_or(Value::Null),
        "chain": { "seq": event.seq, "hash": event.hash, "prevHash": event.prev_hash },
    })
}

/// A signed head of an organization's audit chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub seq: i64,
    pub head_hash: String,
    pub at: DateTime<Utc>,
    pub key_id: String,
    /// Base64 of the Ed25519 signature of [`Checkpoint::statement`].
    pub signature: String,
}

impl Checkpoint {
    /// The bytes signed: a fixed header and the four values, one per line.
    pub fn statement(
        organization_id: Uuid,
        seq: i64,
        head_hash: &str,
        at: DateTime<Utc>,
    ) -> String {
        format!(
            "charter-audit-checkpoint/1\n{organization_id}\n{seq}\n{head_hash}\n{}",
            canonical_time(at)
        )
    }

    /// The body delivered as an `audit.checkpoint` event, which `charter audit verify
    /// --checkpoints` reads back.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "type": CHECKPOINT,
            "time": canonical_time(self.at),
            "organization": { "id": self.organization_id },
            "data": {
                "organizationId": self.organization_id,
                "seq": self.seq,
                "headHash": self.head_hash,
                "at": canonical_time(self.at),
                "keyId": self.key_id,
                "signature": self.signature,
            },
        })
    }

    /// A checkpoint as [`Self::to_json`] wrote it (the whole body, or its `data`).
    pub fn from_json(value: &Value) -> Option<Self> {
        let data = value.get("data").unwrap_or(value);
        let text = |name: &str| data.get(name)?.as_str().map(str::to_owned);
        Some(Self {
            id: value
                .get("id")
                .and_then(Value::as_str)
                .and_then(|id| id.parse().ok())
                .unwrap_or_default(),
            organization_id: text("organizationId")?.parse().ok()?,
            seq: data.get("seq")?.as_i64()?,
            head_hash: text("headHash")?,
            at: DateTime::parse_from_rfc3339(&text("at")?)
                .ok()?
                .with_timezone(&Utc),
            key_id: text("keyId")?,
            signature: text("signature")?,
        })
    }
}

/// The body `sendTestWebhook` delivers.
pub fn test(id: Uuid, organization_id: Uuid, at: DateTime<Utc>) -> Value {
    json!({
        "id": id,
        "type": TEST,
        "time": canonical_time(at),
        "organization": { "id": organization_id },
        "data": { "message": "a test delivery from Charter" },
    })
}
