//! Events as JSON: the console's "View JSON", a chain written out as JSON Lines.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::hash::canonical_time;
use super::search::{Filter, Filtered, filtered, oldest_first_after};
use super::{EventRecord, Scope};
use crate::error::{ApiError, ApiResult};
use crate::services::AppState;

/// Events read a statement at a time while exporting a chain.
const PAGE: u64 = 1000;

/// The whole event as the console's "View JSON" shows it.
pub fn to_json(event: &EventRecord) -> Value {
    json!({
        "id": event.id,
        "chain": event.chain,
        "seq": event.seq,
        "organizationId": event.organization_id,
        "subjectUserId": event.subject_user_id,
        "actorId": event.actor_id,
        "actorEmail": event.actor_email,
        "actorApiKeyId": event.actor_api_key_id,
        "ip": event.ip,
        "userAgent": event.user_agent,
        "at": canonical_time(event.at),
        "action": event.action,
        "targetType": event.target_type,
        "targetId": event.target_id,
        "description": event.description,
        "payload": serde_json::from_str::<Value>(&event.payload).unwrap_or(Value::Null),
        "prevHash": event.prev_hash,
        "hash": event.hash,
    })
}

/// Streams the events of a chain (oldest first) to `out` as JSON Lines, a page at a time so
/// that memory stays flat however long the log. Returns how many events were written.
pub(crate) async fn export(
    state: &AppState,
    scope: Scope,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    out: &mut impl std::io::Write,
) -> ApiResult<u64> {
    let db = &state.db;
    let filter = Filter {
        from,
        to,
        ..Default::default()
    };
    let mut after = 0i64;
    let mut written = 0;
    loop {
        let Some(Filtered { query, .. }) = filtered(db, &scope.chain(), &filter, None).await?
        else {
            return Ok(written);
        };
        let events = oldest_first_after(query, after, PAGE).all(db).await?;
        let found = events.len() as u64;
        for event in events.into_iter().map(EventRecord::from) {
            serde_json::to_writer(&mut *out, &to_json(&event)).map_err(ApiError::internal)?;
            out.write_all(b"\n").map_err(ApiError::internal)?;
            after = event.seq;
            written += 1;
        }
        if found < PAGE {
            out.flush().map_err(ApiError::internal)?;
            return Ok(written);
        }
    }
}
