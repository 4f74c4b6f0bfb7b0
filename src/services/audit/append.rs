//! Appending an event to its chain, in the transaction of the change it records.

use chrono::{SubsecRound, Utc};
use entity::{audit_event, audit_head};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, QuerySelect, Set};
use uuid::Uuid;

use super::{Actor, Event, GENESIS, Scope, hash_of};
use crate::error::{ApiError, ApiResult};

/// Appends `event` to its chain inside `txn`, the transaction of the change it records: a
/// rolled-back change leaves no event. The chain's head row is locked (FOR UPDATE on
/// PostgreSQL; SQLite's write transactions are already serial), so concurrent appends queue
/// instead of forking the chain.
pub async fn record(txn: &impl ConnectionTrait, actor: &Actor, event: Event) -> ApiResult<()> {
    let chain = event.scope.chain();
    let head = lock_head(txn, &chain).await?;
    let mut model = new_event(actor, event, chain.clone(), head);
    model.hash = hash_of(&model);
    let (seq, hash) = (model.seq, model.hash.clone());
    audit_event::ActiveModel::from(model).insert(txn).await?;
    audit_head::Entity::update(audit_head::ActiveModel {
        chain: Set(chain),
        seq: Set(seq),
        hash: Set(hash),
    })
    .exec(txn)
    .await?;
    Ok(())
}

/// The head of `chain`, created at the genesis hash if the chain is new, locked until the
/// transaction ends.
async fn lock_head(txn: &impl ConnectionTrait, chain: &str) -> ApiResult<audit_head::Model> {
    audit_head::Entity::insert(audit_head::ActiveModel {
        chain: Set(chain.to_owned()),
        seq: Set(0),
        hash: Set(GENESIS.to_owned()),
    })
    .on_conflict_do_nothing_on([audit_head::Column::Chain])
    .exec(txn)
    .await?;
    audit_head::Entity::find_by_id(chain.to_owned())
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::internal(format!("audit chain {chain} has no head")))
}

/// The row for `event`, next after `head` in `chain`, its own hash still empty.
fn new_event(
    actor: &Actor,
    event: Event,
    chain: String,
    head: audit_head::Model,
) -> audit_event::Model {
    let (organization_id, subject_user_id) = match event.scope {
        Scope::Organization(id) => (Some(id), None),
        Scope::User(id) => (None, Some(id)),
    };
    audit_event::Model {
        id: Uuid::now_v7(),
        chain,
        seq: head.seq + 1,
        organization_id,
        subject_user_id,
        actor_id: actor.user_id,
        actor_email: actor.email.clone(),
        ip: actor.ip.clone(),
        user_agent: actor
            .user_agent
            .as_ref()
            .map(|ua| ua.chars().take(512).collect()),
        // Stored at microsecond precision, the finest both databases keep, so the hash
        // recomputed from a read-back row matches.
        at: Utc::now().trunc_subsecs(6),
        action: event.action.as_str().to_owned(),
        target_type: event.target.map(|(kind, _)| kind.to_owned()),
        target_id: event.target.map(|(_, id)| id.to_string()),
        description: event.description,
        payload: event.payload.to_string(),
        prev_hash: head.hash,
        hash: String::new(),
        actor_api_key_id: actor.api_key_id,
        trace_parent: crate::telemetry::traceparent_of(&tracing::Span::current()),
    }
}
