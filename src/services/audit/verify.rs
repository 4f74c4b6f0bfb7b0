//! Verifying chains: each event continues from the one before it, its content matching its hash.

use entity::{audit_event, audit_head};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;
use uuid::Uuid;

use super::search::oldest_first_after;
use super::{Action, GENESIS, hash_of};
use crate::error::ApiResult;
use crate::services::AppState;

/// Events read a statement at a time while walking a chain.
const PAGE: u64 = 1000;

/// A problem found by [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub chain: String,
    pub event_id: Uuid,
    pub seq: i64,
    pub reason: String,
}

/// Verifies chains (all, or one), reading in pages so memory stays flat. Returns the number of
/// events checked and the first broken event of each broken chain.
pub async fn verify(state: &AppState, only_chain: Option<&str>) -> ApiResult<(u64, Vec<Broken>)> {
    let db = &state.db;
    let mut checked = 0;
    let mut broken = Vec::new();
    let mut heads = audit_head::Entity::find().order_by_asc(audit_head::Column::Chain);
    if let Some(chain) = only_chain {
        heads = heads.filter(audit_head::Column::Chain.eq(chain));
    }
    for head in heads.all(db).await? {
        let (chain_checked, chain_broken) = verify_chain(db, &head).await?;
        checked += chain_checked;
        broken.extend(chain_broken);
    }
    Ok((checked, broken))
}

/// Walks one chain oldest first: how many events were checked, and its first broken event.
async fn verify_chain(
    db: &impl ConnectionTrait,
    head: &audit_head::Model,
) -> ApiResult<(u64, Option<Broken>)> {
    let mut walk = Walk::new(purge_anchors(db, &head.chain).await?);
    let mut checked = 0;
    let mut after = 0i64;
    loop {
        let query =
            audit_event::Entity::find().filter(audit_event::Column::Chain.eq(head.chain.clone()));
        let events = oldest_first_after(query, after, PAGE).all(db).await?;
        let last_page = (events.len() as u64) < PAGE;
        for event in events {
            checked += 1;
            after = event.seq;
            if let Some(reason) = walk.problem(&event) {
                let broken = Broken {
                    chain: head.chain.clone(),
                    event_id: event.id,
                    seq: event.seq,
                    reason: reason.to_owned(),
                };
                return Ok((checked, Some(broken)));
            }
            walk.step(&event);
        }
        if last_page {
            return Ok((checked, walk.short_of(head)));
        }
    }
}

/// Where old events were purged, the chain starts after the purged prefix, from the hash an
/// `audit.purged` event of the same chain recorded: each such `(last purged seq, hash)`.
async fn purge_anchors(db: &impl ConnectionTrait, chain: &str) -> ApiResult<Vec<(i64, String)>> {
    Ok(audit_event::Entity::find()
        .filter(audit_event::Column::Chain.eq(chain))
        .filter(audit_event::Column::Action.eq(Action::AuditPurged.as_str()))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|event| {
            let payload: Value = serde_json::from_str(&event.payload).ok()?;
            Some((
                payload["purgedThroughSeq"].as_i64()?,
                payload["anchorHash"].as_str()?.to_owned(),
            ))
        })
        .collect())
}

/// How far a walk along one chain has come: what the next event must continue from.
struct Walk {
    anchors: Vec<(i64, String)>,
    expected_prev: Option<String>,
    expected_seq: Option<i64>,
}

impl Walk {
    fn new(anchors: Vec<(i64, String)>) -> Self {
        Self {
            anchors,
            expected_prev: None,
            expected_seq: None,
        }
    }

    /// What is wrong with `event` as the walk's next event, if anything.
    fn problem(&self, event: &audit_event::Model) -> Option<&'static str> {
        let starts_after_purge = self.expected_seq.is_none()
            && event.seq > 1
            && self
                .anchors
                .iter()
                .any(|(through, hash)| *through == event.seq - 1 && *hash == event.prev_hash);
        if self.expected_seq.is_none() && event.seq > 1 && !starts_after_purge {
            Some("the chain starts after a gap no purge accounts for")
        } else if self.expected_seq.is_some_and(|seq| seq != event.seq) {
            Some("a gap in the sequence: events are missing before it")
        } else if self
            .expected_prev
            .as_ref()
            .is_some_and(|prev| prev != &event.prev_hash)
        {
            Some("its previous hash does not match the event before it")
        } else if self.expected_prev.is_none() && event.seq == 1 && event.prev_hash != GENESIS {
            Some("the first event does not start from the genesis hash")
        } else if hash_of(event) != event.hash {
            Some("its content does not match its hash")
        } else {
            None
        }
    }

    /// Moves past `event`, which had no problem.
    fn step(&mut self, event: &audit_event::Model) {
        self.expected_prev = Some(event.hash.clone());
        self.expected_seq = Some(event.seq + 1);
    }

    /// At the end of the chain: broken if the walk stopped short of the chain's recorded head.
    fn short_of(&self, head: &audit_head::Model) -> Option<Broken> {
        (head.seq > 0 && self.expected_prev.as_deref() != Some(&head.hash)).then(|| Broken {
            chain: head.chain.clone(),
            event_id: Uuid::nil(),
            seq: head.seq,
            reason: "the chain ends before its recorded head: events were removed".to_owned(),
        })
    }
}
