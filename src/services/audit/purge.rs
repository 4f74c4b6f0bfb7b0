//! Purging old events while every chain stays verifiable from its new start.

use chrono::{DateTime, Utc};
use entity::{audit_event, audit_head};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use super::hash::canonical_time;
use super::{Action, Actor, Event, Scope};
use crate::error::{ApiError, ApiResult};
use crate::services::AppState;
use crate::services::store::scope::write;

/// Removes every chain's events older than `before`, then records in each chain what was
/// removed and the hash the remaining events continue from, so every chain still verifies.
/// Returns how many events were removed.
pub async fn purge(state: &AppState, actor: &Actor, before: DateTime<Utc>) -> ApiResult<u64> {
    let db = &state.db;
    let chains: Vec<String> = audit_head::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|head| head.chain)
        .collect();
    let mut removed = 0;
    for chain in chains {
        // A chain with nothing old enough is left as it is.
        removed += write(db, actor, async |txn| {
            purge_chain(txn, actor, &chain, before).await
        })
        .await?;
    }
    Ok(removed)
}

/// Within `txn`, removes the events of `chain` older than `before`: how many, and the event
/// that records the purge in the chain (none when the chain has no event that old).
async fn purge_chain(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    chain: &str,
    before: DateTime<Utc>,
) -> ApiResult<(u64, Vec<Event>)> {
    let last_old = audit_event::Entity::find()
        .filter(audit_event::Column::Chain.eq(chain))
        .filter(audit_event::Column::At.lt(before))
        .order_by_desc(audit_event::Column::Seq)
        .one(txn)
        .await?;
    let Some(last_old) = last_old else {
        return Ok((0, vec![]));
    };
    let removed = audit_event::Entity::delete_many()
        .filter(audit_event::Column::Chain.eq(chain))
        .filter(Expr::col(audit_event::Column::Seq).lte(last_old.seq))
        .exec(txn)
        .await?
        .rows_affected;
    let scope = Scope::of_chain(chain)
        .ok_or_else(|| ApiError::internal(format!("unknown audit chain {chain}")))?;
    let description = format!(
        "{} removed {removed} event(s) older than {}",
        actor.name(),
        canonical_time(before)
    );
    let payload = json!({
        "purgedBefore": canonical_time(before),
        "purgedThroughSeq": last_old.seq,
        "removed": removed,
        "anchorHash": last_old.hash,
    });
    let event = Event::new(scope, Action::AuditPurged, description).payload(payload);
    Ok((removed, vec![event]))
}
