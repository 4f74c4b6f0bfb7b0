//! Signed checkpoints: the head of each organization's audit chain (organization, sequence,
//! head hash, time), signed with Charter's Ed25519 key and delivered as `audit.checkpoint`.
//! A subscriber keeps them; `charter audit verify --checkpoints` later proves, offline, that the
//! log still extends every one of them. An operator who rewrites history and rehashes the
//! chain cannot produce the signed head hashes the subscriber already holds.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use entity::{audit_checkpoint, audit_event, audit_head, webhook_endpoint};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use super::events::{CHECKPOINT, Subscription};
use super::fanout::{insert, queued};
use super::payload::Checkpoint;
use crate::error::{ApiError, ApiResult};
use crate::services::audit::{self, Scope};
use crate::services::store::scope::{OrgScope, write_unrecorded};
use crate::services::{AppState, Page, PageArgs};

/// Chains looked at per statement while signing.
const CHAINS_PER_PAGE: u64 = 500;

/// Signs the head of every organization's chain that moved since its last checkpoint, when
/// this process has not done so within `audit_checkpoint_minutes`. Returns how many it signed.
pub async fn sign_due(state: &AppState) -> ApiResult<usize> {
    let now = state.webhooks.clock.now();
    let every = chrono::Duration::from_std(state.settings.webhooks.checkpoint_every)
        .map_err(ApiError::internal)?;
    {
        let mut last = state
            .webhooks
            .last_checkpoints
            .lock()
            .map_err(|_| ApiError::internal("the checkpoint timer is poisoned"))?;
        if last.is_some_and(|at| now - at < every) {
            return Ok(0);
        }
        *last = Some(now);
    }
    let mut signed = 0;
    let mut after = String::new();
    loop {
        let heads = audit_head::Entity::find()
            .filter(audit_head::Column::Chain.starts_with("org:"))
            .filter(audit_head::Column::Chain.gt(after.clone()))
            .order_by_asc(audit_head::Column::Chain)
            .limit(CHAINS_PER_PAGE)
            .all(&state.db)
            .await?;
        for head in &heads {
            if let Some(Scope::Organization(organization)) = Scope::of_chain(&head.chain)
                && sign(state, organization, now, every).await?
            {
                signed += 1;
            }
        }
        match heads.last() {
            Some(head) if heads.len() as u64 == CHAINS_PER_PAGE => after = head.chain.clone(),
            _ => return Ok(signed),
        }
    }
}

/// Signs `organization`'s head as of `now` unless its last checkpoint already holds it or is
/// younger than `every`, and queues it for the endpoints that subscribe to checkpoints. The
/// head is locked meanwhile, so the signed hash is the one at that sequence.
async fn sign(
    state: &AppState,
    organization: Uuid,
    now: DateTime<Utc>,
    every: chrono::Duration,
) -> ApiResult<bool> {
    let chain = Scope::Organization(organization).chain();
    write_unrecorded(&state.db, async |txn| {
        if !super::fanout::lock_organization_first(txn, organization).await? {
            return Ok(false);
        }
        let Some(head) = audit_head::Entity::find_by_id(chain.clone())
            .lock_exclusive()
            .one(txn)
            .await?
        else {
            return Ok(false);
        };
        let last = audit_checkpoint::Entity::find()
            .filter(audit_checkpoint::Column::OrganizationId.eq(organization))
            .order_by_desc(audit_checkpoint::Column::Seq)
            .one(txn)
            .await?;
        if last.is_some_and(|last| last.seq >= head.seq || now - last.at < every) {
            return Ok(false);
        }
        let keys = state.tokens.keys();
        let key = keys.current();
        let statement = Checkpoint::statement(organization, head.seq, &head.hash, now);
        let checkpoint = Checkpoint {
            id: Uuid::now_v7(),
            organization_id: organization,
            seq: head.seq,
            head_hash: head.hash.clone(),
            at: now,
            key_id: key.kid.clone(),
            signature: STANDARD.encode(key.sign(statement.as_bytes())),
        };
        audit_checkpoint::ActiveModel {
            id: Set(checkpoint.id),
            organization_id: Set(organization),
            seq: Set(checkpoint.seq),
            head_hash: Set(checkpoint.head_hash.clone()),
            at: Set(now),
            key_id: Set(checkpoint.key_id.clone()),
            signature: Set(checkpoint.signature.clone()),
        }
        .insert(txn)
        .await?;
        queue_for_subscribers(txn, &checkpoint, now).await?;
        Ok(true)
    })
    .await
}

/// Queues `checkpoint` for the enabled endpoints of its organization that subscribe to
/// `audit.checkpoint`.
async fn queue_for_subscribers(
    txn: &impl sea_orm::ConnectionTrait,
    checkpoint: &Checkpoint,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let body = checkpoint.to_json();
    let rows = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrganizationId.eq(checkpoint.organization_id))
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .all(txn)
        .await?
        .iter()
        .filter(|endpoint| Subscription::stored(&endpoint.events).matches(CHECKPOINT))
        .map(|endpoint| {
            queued(
                endpoint,
                checkpoint.id.to_string(),
                CHECKPOINT,
                &body,
                now,
                None,
            )
        })
        .collect();
    insert(txn, rows).await
}

/// A page of the organization's checkpoints, newest first (the gate asked `audit_log: read`).
pub async fn page(scope: &OrgScope, args: PageArgs) -> ApiResult<Page<Checkpoint>> {
    let mut select = audit_checkpoint::Entity::find()
        .filter(audit_checkpoint::Column::OrganizationId.eq(scope.organization_id()))
        .order_by_desc(audit_checkpoint::Column::Id)
        .limit(args.first + 1);
    if let Some(after) = args.after {
        select = select.filter(audit_checkpoint::Column::Id.lt(after));
    }
    let rows = select.all(scope.db()).await?;
    Ok(Page::from_rows(rows, args.first).map(|model| Checkpoint {
        id: model.id,
        organization_id: model.organization_id,
        seq: model.seq,
        head_hash: model.head_hash,
        at: model.at,
        key_id: model.key_id,
        signature: model.signature,
    }))
}

/// How many checkpoints the organization has.
pub async fn count(scope: &OrgScope) -> ApiResult<u64> {
    Ok(audit_checkpoint::Entity::find()
        .filter(audit_checkpoint::Column::OrganizationId.eq(scope.organization_id()))
        .count(scope.db())
        .await?)
}

/// Checks each of `checkpoints` against today's log: it was signed by one of this server's
/// keys, the event at its sequence still has the hash it signed, and its organization's chain
/// verifies from start to head (each chain verified once, however many checkpoints name it).
/// For each, `Err` says what does not hold.
pub async fn verify(
    state: &AppState,
    checkpoints: &[Checkpoint],
) -> ApiResult<Vec<Result<(), String>>> {
    let mut chains: std::collections::HashMap<Uuid, Result<(), String>> = Default::default();
    let mut verdicts = Vec::with_capacity(checkpoints.len());
    for checkpoint in checkpoints {
        let verdict = match signed_head(state, checkpoint).await? {
            Err(reason) => Err(reason),
            Ok(()) => match chains.get(&checkpoint.organization_id) {
                Some(verdict) => verdict.clone(),
                None => {
                    let verdict = chain_verdict(state, checkpoint.organization_id).await?;
                    chains.insert(checkpoint.organization_id, verdict.clone());
                    verdict
                }
            },
        };
        verdicts.push(verdict);
    }
    Ok(verdicts)
}

/// Whether `checkpoint` was signed by one of this server's keys and the log's event at its
/// sequence still has the hash it signed.
async fn signed_head(state: &AppState, checkpoint: &Checkpoint) -> ApiResult<Result<(), String>> {
    // Any key the database holds: a checkpoint outlives the key's turn at signing.
    let keys = state.tokens.keys();
    let Some(key) = keys.find_any(&checkpoint.key_id) else {
        return Ok(Err(format!(
            "signed by key {}, which this server does not hold",
            checkpoint.key_id
        )));
    };
    let statement = Checkpoint::statement(
        checkpoint.organization_id,
        checkpoint.seq,
        &checkpoint.head_hash,
        checkpoint.at,
    );
    let signature = STANDARD.decode(&checkpoint.signature).unwrap_or_default();
    if !key.verifies(statement.as_bytes(), &signature) {
        return Ok(Err("its signature does not verify".to_owned()));
    }
    let chain = Scope::Organization(checkpoint.organization_id).chain();
    let event = audit_event::Entity::find()
        .filter(audit_event::Column::Chain.eq(&chain))
        .filter(audit_event::Column::Seq.eq(checkpoint.seq))
        .one(&state.db)
        .await?;
    Ok(match event {
        None => Err(format!("the log holds no event {}", checkpoint.seq)),
        Some(event) if event.hash != checkpoint.head_hash => Err(format!(
            "event {} of the log no longer has the hash that was signed",
            checkpoint.seq
        )),
        Some(_) => Ok(()),
    })
}

/// Whether `organization`'s chain verifies from its start to its head.
async fn chain_verdict(state: &AppState, organization: Uuid) -> ApiResult<Result<(), String>> {
    let chain = Scope::Organization(organization).chain();
    let (_, broken) = audit::verify(state, Some(&chain)).await?;
    Ok(match broken.first() {
        None => Ok(()),
        Some(problem) => Err(format!(
            "the chain is broken at event {}: {}",
            problem.seq, problem.reason
        )),
    })
}
