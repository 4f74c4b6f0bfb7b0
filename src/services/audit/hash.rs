//! The hash that chains each event to the one before it.

use chrono::{DateTime, Utc};
use entity::audit_event;
use serde_json::json;
use sha2::{Digest, Sha256};

/// The hash a chain starts from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of an event: SHA-256 over its previous hash and its canonical content.
pub fn hash_of(event: &audit_event::Model) -> String {
    let mut content = json!([
        event.id.to_string(),
        event.chain,
        event.seq,
        event.organization_id.map(|id| id.to_string()),
        event.subject_user_id.map(|id| id.to_string()),
        event.actor_id.map(|id| id.to_string()),
        event.actor_email,
        event.ip,
        event.user_agent,
        canonical_time(event.at),
        event.action,
        event.target_type,
        event.target_id,
        event.description,
        event.payload,
    ]);
    // Added with API keys: events without one hash as they always did.
    if let (Some(key), Some(fields)) = (event.actor_api_key_id, content.as_array_mut()) {
        fields.push(json!({ "actorApiKeyId": key.to_string() }));
    }
    let mut hasher = Sha256::new();
    hasher.update(event.prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(content.to_string().as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A time as the hash (and every rendering of an event) writes it: UTC, microseconds.
pub fn canonical_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}
