//! The gate to an organization's data, the capabilities it hands out, and the one write path.
//!
//! [`OrgScope::admit`] is the gate: from the viewer's access in an organization (or its
//! absence) and the requirement the field or route declares, it answers NOT_FOUND, FORBIDDEN
//! or an [`OrgScope`]. Every organization-scoped use case takes an `OrgScope` (to read) or an
//! [`OrgChange`] (to change); their fields are private, so without passing the gate the code
//! does not compile. Every change goes through [`write`] (or [`OrgChange::write`], which adds
//! the organization's lock and a fresh read of the actor's access under it).

use std::collections::HashMap;
use std::hash::Hash;
use std::ops::Deref;
use std::sync::Arc;

use entity::organization;
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QuerySelect};
use uuid::Uuid;

use crate::authz::{OrgAccess, Policy, Refusal, Requirement};
use crate::db::begin_write;
use crate::error::{ApiError, ApiResult};
use crate::services::audit::{self, Action, Actor, Event, Scope};
use crate::services::store::access::Viewer;
use crate::services::{AppState, store::access};

/// Runs `change` in a write transaction (IMMEDIATE on SQLite), records the events it returns
/// in the audit log as `actor`'s, and commits; an error rolls everything back.
pub async fn write<T>(
    db: &DatabaseConnection,
    actor: &Actor,
    change: impl AsyncFnOnce(&DatabaseTransaction) -> ApiResult<(T, Vec<Event>)>,
) -> ApiResult<T> {
    write_recording(db, async |txn| {
        let (value, events) = change(txn).await?;
        let recorded = events.into_iter().map(|event| (actor.clone(), event));
        Ok((value, recorded.collect()))
    })
    .await
}

/// Records `events` as `actor`'s, in a write of their own (a refusal or a failed check, which
/// changes nothing else); nothing when there are none.
pub async fn record(db: &DatabaseConnection, actor: &Actor, events: Vec<Event>) -> ApiResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    write(db, actor, async |_| Ok(((), events))).await
}

/// [`write`] for a change whose events name different actors (a sign-in learns who acts only
/// inside the transaction; a replayed token is recorded as nobody's).
pub(crate) async fn write_recording<T>(
    db: &DatabaseConnection,
    change: impl AsyncFnOnce(&DatabaseTransaction) -> ApiResult<(T, Vec<(Actor, Event)>)>,
) -> ApiResult<T> {
    let waited = std::time::Instant::now();
    let txn = begin_write(db).await?;
    let metrics = crate::metrics::metrics();
    metrics
        .db_begin_seconds
        .observe(waited.elapsed().as_secs_f64());
    let (value, events) = change(&txn).await?;
    let recorded = events.len() as u64;
    for (actor, event) in events {
        audit::record(&txn, &actor, event).await?;
    }
    txn.commit().await?;
    metrics.audit_events.inc_by(recorded);
    Ok(value)
}

/// [`write`] for rows that are nobody's change and so record no event: a challenge, a code, a
/// counter, a cached document. They still go through the one write transaction.
pub(crate) async fn write_unrecorded<T>(
    db: &DatabaseConnection,
    change: impl AsyncFnOnce(&DatabaseTransaction) -> ApiResult<T>,
) -> ApiResult<T> {
    write_recording(db, async |txn| Ok((change(txn).await?, vec![]))).await
}

/// A statement that claims a single-use row: a delete, or an update whose filter matches the
/// row only while it is unclaimed.
pub trait Claim {
    fn rows_claimed<C: ConnectionTrait>(
        self,
        db: &C,
    ) -> impl Future<Output = Result<u64, sea_orm::DbErr>> + Send;
}

impl<E: EntityTrait> Claim for sea_orm::DeleteMany<E> {
    async fn rows_claimed<C: ConnectionTrait>(self, db: &C) -> Result<u64, sea_orm::DbErr> {
        Ok(self.exec(db).await?.rows_affected)
    }
}

impl<E: EntityTrait> Claim for sea_orm::UpdateMany<E> {
    async fn rows_claimed<C: ConnectionTrait>(self, db: &C) -> Result<u64, sea_orm::DbErr> {
        Ok(self.exec(db).await?.rows_affected)
    }
}

/// Claims a single-use row (a sign-in's state, a code, a challenge, a registration, a one-time
/// password's step) with `claim`, one statement: of any number of callers racing for the row,
/// across processes too, exactly one gets `true`. The only write besides the write path.
pub(crate) async fn claim_once(db: &impl ConnectionTrait, claim: impl Claim) -> ApiResult<bool> {
    Ok(claim.rows_claimed(db).await? == 1)
}

/// A capability to read one organization's data: the viewer passed the gate for it.
#[derive(Clone)]
pub struct OrgScope {
    db: DatabaseConnection,
    access: OrgAccess,
    /// What the viewer's role passed; none for membership alone ([`Self::admit_member`]).
    requirement: Option<Requirement>,
}

impl std::fmt::Debug for OrgScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgScope")
            .field("organization", &self.access.organization_id())
            .field("requirement", &self.requirement)
            .finish()
    }
}

impl OrgScope {
    /// The gate. `access` is the viewer's access in the organization, none when they are not
    /// a member: they then get the NOT_FOUND of a `kind` that does not exist (rule 3), so an
    /// id reveals nothing about another organization. A member whose role does not pass
    /// `requirement` gets FORBIDDEN.
    pub fn admit(
        state: &AppState,
        kind: &str,
        access: Option<OrgAccess>,
        requirement: Requirement,
    ) -> ApiResult<Self> {
        Self::pass(&state.db, kind, access, Some(requirement))
    }

    /// The gate for a use case on the viewer's own membership (`@authenticated` fields such
    /// as leaving): membership alone passes, whatever the role grants; a viewer who is not a
    /// member gets the NOT_FOUND of a `kind` that does not exist.
    pub fn admit_member(
        state: &AppState,
        kind: &str,
        access: Option<OrgAccess>,
    ) -> ApiResult<Self> {
        Self::pass(&state.db, kind, access, None)
    }

    /// The gate's rule on a borrowed access, for guards that only need the verdict: NOT_FOUND
    /// as `kind` without membership, FORBIDDEN when the role does not pass `requirement`.
    pub fn check<'a>(
        kind: &str,
        access: Option<&'a OrgAccess>,
        requirement: Option<Requirement>,
    ) -> ApiResult<&'a OrgAccess> {
        let access = access.ok_or_else(|| ApiError::not_found(kind))?;
        if access.mfa_pending() {
            return Err(Refusal::MfaRequired.into());
        }
        match requirement {
            Some(requirement) if !access.allows(requirement) => {
                Err(access.refusal(requirement).into())
            }
            _ => Ok(access),
        }
    }

    fn pass(
        db: &DatabaseConnection,
        kind: &str,
        access: Option<OrgAccess>,
        requirement: Option<Requirement>,
    ) -> ApiResult<Self> {
        let access = access.ok_or_else(|| ApiError::not_found(kind))?;
        Self::check(kind, Some(&access), requirement)?;
        Ok(Self {
            db: db.clone(),
            access,
            requirement,
        })
    }

    /// [`Self::admit`] with the viewer's access read from the database (for routes outside
    /// GraphQL, which has its loaders).
    pub async fn enter(
        db: &DatabaseConnection,
        policy: &Arc<Policy>,
        viewer: &Viewer,
        kind: &str,
        organization_id: Uuid,
        requirement: Requirement,
    ) -> ApiResult<Self> {
        let access = access::load_one(db, policy, viewer.user_id, organization_id).await?;
        let access = access::limit(access, viewer.key.as_ref(), viewer.proof);
        Self::pass(db, kind, access, Some(requirement))
    }

    pub fn organization_id(&self) -> Uuid {
        self.access.organization_id()
    }

    /// The viewer's access in the organization, as read for this request.
    pub fn access(&self) -> &OrgAccess {
        &self.access
    }

    pub fn policy(&self) -> &Arc<Policy> {
        self.access.policy()
    }

    /// The requirement the viewer passed; none when membership alone let them in.
    pub fn requirement(&self) -> Option<Requirement> {
        self.requirement
    }

    pub(crate) fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The key of a batched read of this organization's data: the organization and `part`.
    pub fn key<K>(&self, part: K) -> Admitted<(Uuid, K)> {
        Admitted((self.organization_id(), part))
    }

    /// The key of a batched read of what this organization holds as a whole.
    pub fn organization_key(&self) -> Admitted<Uuid> {
        Admitted(self.organization_id())
    }

    /// The capability to change the organization's data as `actor` (the viewer).
    pub fn change_as(self, actor: Actor) -> OrgChange {
        OrgChange { scope: self, actor }
    }
}

/// A key of a batched read that only a capability makes (an [`OrgScope`], a list's read
/// capability), so that a loader cannot be asked for what the viewer did not pass the gate for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Admitted<K>(K);

impl<K> Admitted<K> {
    /// Only services make keys, from a capability.
    pub(in crate::services) fn new(key: K) -> Self {
        Self(key)
    }

    pub fn key(&self) -> &K {
        &self.0
    }
}

/// Runs the batched read `load` on the keys inside `keys`, and answers by the admitted keys.
pub(in crate::services) async fn batched<K: Clone + Eq + Hash, V>(
    keys: &[Admitted<K>],
    load: impl AsyncFnOnce(&[K]) -> ApiResult<HashMap<K, V>>,
) -> ApiResult<HashMap<Admitted<K>, V>> {
    let plain: Vec<K> = keys.iter().map(|key| key.0.clone()).collect();
    let mut found = load(&plain).await?;
    Ok(keys
        .iter()
        .filter_map(|key| Some((key.clone(), found.remove(&key.0)?)))
        .collect())
}

/// A capability to change one organization's data: an [`OrgScope`] and the actor the audit
/// log names.
pub struct OrgChange {
    scope: OrgScope,
    actor: Actor,
}

impl Deref for OrgChange {
    type Target = OrgScope;

    fn deref(&self) -> &OrgScope {
        &self.scope
    }
}

/// What a change sees inside [`OrgChange::write`]: the transaction, the organization locked
/// for it, and the actor's access read again under that lock.
pub struct Tx<'a> {
    pub txn: &'a DatabaseTransaction,
    pub organization: &'a organization::Model,
    pub access: &'a OrgAccess,
    pub actor: &'a Actor,
}

impl Tx<'_> {
    pub fn organization_id(&self) -> Uuid {
        self.organization.id
    }

    pub fn policy(&self) -> &Arc<Policy> {
        self.access.policy()
    }

    /// An event of the organization's audit log, described as `actor` doing `what`.
    pub fn event(&self, action: Action, what: impl std::fmt::Display) -> Event {
        Event::new(
            Scope::Organization(self.organization.id),
            action,
            format!("{} {what}", self.actor.name()),
        )
    }
}

impl OrgChange {
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Runs `change` under the organization's lock: begins the write transaction, locks the
    /// organization's row, reads the actor's access again (a role changed or a membership
    /// removed since the gate counts: rule 7), runs the change, records the event it returns
    /// and commits. Changes of one organization therefore run one at a time, on both databases.
    pub async fn write<T>(
        &self,
        change: impl AsyncFnOnce(&Tx<'_>) -> ApiResult<(T, Option<Event>)>,
    ) -> ApiResult<T> {
        self.write_all(async |tx| {
            let (value, event) = change(tx).await?;
            Ok((value, event.into_iter().collect()))
        })
        .await
    }

    /// [`Self::write`] for a change that records several events (a provisioning run that
    /// creates a person and their membership, or reassigns many members).
    pub async fn write_all<T>(
        &self,
        change: impl AsyncFnOnce(&Tx<'_>) -> ApiResult<(T, Vec<Event>)>,
    ) -> ApiResult<T> {
        let scope = &self.scope;
        write(scope.db(), &self.actor, async |txn| {
            let organization = organization::Entity::find_by_id(scope.organization_id())
                .lock_exclusive()
                .one(txn)
                .await?
                .ok_or_else(|| ApiError::not_found("organization"))?;
            let fresh =
                access::load_one(txn, scope.policy(), scope.access.user_id(), organization.id)
                    .await?;
            // Through a key, the fresh access is bounded by the key as the gate's was.
            let fresh = access::limit(fresh, scope.access.key(), scope.access.proof());
            let access = OrgScope::check("organization", fresh.as_ref(), scope.requirement)?;
            let tx = Tx {
                txn,
                organization: &organization,
                access,
                actor: &self.actor,
            };
            change(&tx).await
        })
        .await
    }
}
