//! What one request carries through the schema (who calls, from where, its own loaders), and
//! how resolvers reach it and the viewer's access.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::Field;
use async_graphql::{ContextBase, Positioned};
use uuid::Uuid;

use super::batches::Batches;
use super::declared::Declared;
use super::loaders::Loaders;
use crate::auth::Principal;
use crate::authz::OrgAccess;
use crate::error::{ApiError, ApiResult};
use crate::services::{AppState, RequestMeta};

/// Who a sign-in within the request made the request act as.
#[derive(Debug, Clone, Copy)]
enum Acting {
    /// A session was opened: the request acts as its user.
    Signed(Uuid),
    /// The password was right but a second factor is awaited: the request acts as nobody;
    /// only the person's own record in the payload is shown.
    Waiting(Uuid),
}

/// What one request carries: who calls, from where, and its own loaders.
pub struct RequestContext {
    pub principal: Principal,
    pub meta: RequestMeta,
    pub loaders: Loaders,
    /// The user a sign-in in this request has just proved to be (a login, a refresh, a switch
    /// or an accepted invitation), so that the payload it returns is resolved as that user,
    /// whatever bearer token came with the request. Mutations run one after another, so the
    /// latest sign-in is the one whose payload is being resolved.
    acting: Mutex<Option<Acting>>,
    /// The viewer's access per organization as the access loader answered it, so that the
    /// guard of every field after the first finds it without a loader round.
    accesses: Mutex<HashMap<(Uuid, Uuid), Option<OrgAccess>>>,
    /// Whether lists are answered by plan where they can be (see
    /// [`super::types::member_page`]); off, every list takes the generic path.
    plans_lists: bool,
    /// How many lists this request answered by plan.
    planned_lists: Arc<AtomicUsize>,
    /// Answers that are the same wherever the request meets them (a role's grants under one
    /// selection, by role and the selection's signature), kept for the rest of the request.
    answers: Mutex<HashMap<(Uuid, String), async_graphql::Value>>,
}

impl RequestContext {
    /// The context of one request, and the batches its loaders queue, which the request's
    /// execution runs under [`super::batches::drive`].
    pub fn new(state: &AppState, principal: Principal, meta: RequestMeta) -> (Self, Batches) {
        let (queue, batches) = super::batches::queue();
        let proof = principal
            .user_id()
            .ok()
            .map(|user| (user, principal.proof()));
        let loaders = Loaders::new(state, queue, principal.key().cloned(), proof);
        let context = Self {
            principal,
            meta,
            loaders,
            acting: Mutex::new(None),
            accesses: Mutex::new(HashMap::new()),
            plans_lists: true,
            planned_lists: Arc::new(AtomicUsize::new(0)),
            answers: Mutex::new(HashMap::new()),
        };
        (context, batches)
    }

    /// This request with every list answered by the generic path: the reference a planned
    /// list's answers are compared with.
    pub fn without_planned_lists(self) -> Self {
        Self {
            plans_lists: false,
            ..self
        }
    }

    /// How many lists the request has answered by plan, counted as it runs.
    pub fn planned_lists(&self) -> Arc<AtomicUsize> {
        self.planned_lists.clone()
    }

    pub(crate) fn plans_lists(&self) -> bool {
        self.plans_lists
    }

    /// The answer kept under `key`, or `answer`'s, kept for the rest of the request.
    pub(crate) fn answer_once(
        &self,
        key: (Uuid, String),
        answer: impl FnOnce() -> Option<async_graphql::Value>,
    ) -> Option<async_graphql::Value> {
        let mut answers = self
            .answers
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(known) = answers.get(&key) {
            return Some(known.clone());
        }
        let answer = answer()?;
        answers.insert(key, answer.clone());
        Some(answer)
    }

    pub(crate) fn planned_list(&self) {
        self.planned_lists.fetch_add(1, Ordering::Relaxed);
    }

    /// The user whose rights apply: the user who signed in within this request, or else the
    /// bearer of the request's token. A stale, garbled or foreign token therefore never spoils
    /// the answer of the sign-in that replaces it.
    ///
    /// A sign-in still waiting for its second factor makes the request act as nobody: the
    /// fields after it cannot borrow the person's rights on the strength of a password alone.
    pub fn viewer_id(&self) -> ApiResult<Uuid> {
        match self.acting() {
            Some(Acting::Signed(user)) => Ok(user),
            Some(Acting::Waiting(_)) => Err(ApiError::unauthenticated(
                "the sign-in waits for its second factor: answer mfaChallenge with verifyMfa",
            )),
            None => self.principal.user_id(),
        }
    }

    /// The user whose own account records (not an organization's) the request may show: the
    /// viewer, or the person a sign-in waiting for its second factor named.
    pub fn own_id(&self) -> ApiResult<Uuid> {
        match self.acting() {
            Some(Acting::Waiting(user)) => Ok(user),
            _ => self.viewer_id(),
        }
    }

    /// Whether a sign-in within the request has made it act as someone (or as nobody).
    pub fn signed_in_here(&self) -> bool {
        self.acting().is_some()
    }

    fn acting(&self) -> Option<Acting> {
        *self
            .acting
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The access of `viewer` in `organization` this request has already read: `Some(None)`
    /// when they are not a member, `None` when it has not been read.
    fn known_access(&self, viewer: Uuid, organization: Uuid) -> Option<Option<OrgAccess>> {
        self.accesses
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .get(&(viewer, organization))
            .cloned()
    }

    fn remember_access(&self, viewer: Uuid, organization: Uuid, access: &Option<OrgAccess>) {
        self.accesses
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .insert((viewer, organization), access.clone());
    }

    /// Records that this request has just signed `user_id` in, with what the session proved;
    /// `None` while the sign-in waits for a second factor.
    pub fn act_as(&self, user_id: Uuid, proof: Option<crate::authz::Proof>) {
        let acting = match proof {
            Some(proof) => {
                self.loaders.set_proof(user_id, proof);
                Acting::Signed(user_id)
            }
            None => Acting::Waiting(user_id),
        };
        *self
            .acting
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = Some(acting);
    }
}

/// Access to the request's state, principal, loaders and authorization from any resolver.
pub(crate) trait ContextExt {
    fn state(&self) -> &AppState;
    fn request(&self) -> &RequestContext;
    /// What the schema declares of its fields (see [`super::declared`]).
    fn declared(&self) -> &'static Declared;

    fn principal(&self) -> &Principal {
        &self.request().principal
    }

    fn loaders(&self) -> &Loaders {
        &self.request().loaders
    }

    /// The viewer's access in `organization_id`: UNAUTHENTICATED without a viewer, NOT_FOUND
    /// when they are not a member (exactly as for an organization that does not exist), and
    /// FORBIDDEN where the organization requires a second factor their session has not
    /// proved: the gate's own check, so that no path through membership alone skips it.
    async fn access(&self, organization_id: Uuid) -> ApiResult<OrgAccess> {
        let access = self.membership_access(organization_id).await?;
        crate::services::store::scope::OrgScope::check("organization", access.as_ref(), None)
            .cloned()
    }

    /// The viewer's access in `organization_id`, none when they are not a member:
    /// UNAUTHENTICATED without a viewer. Read once per request and organization.
    async fn membership_access(&self, organization_id: Uuid) -> ApiResult<Option<OrgAccess>> {
        let request = self.request();
        let viewer = request.viewer_id()?;
        if let Some(known) = request.known_access(viewer, organization_id) {
            return Ok(known);
        }
        let loaders = request.loaders.viewer(viewer);
        let loaded = Box::pin(loaders.access.load_one(organization_id))
            .await?
            .flatten();
        request.remember_access(viewer, organization_id, &loaded);
        Ok(loaded)
    }

    /// The capability to change the caller's own account: a person signed in with a session
    /// (the field declares `@authenticated`).
    async fn own_account(&self) -> ApiResult<crate::services::store::account::OwnAccount> {
        crate::services::store::account::OwnAccount::of(
            self.state(),
            self.principal(),
            self.actor().await?,
        )
    }

    /// The viewer as the actor of a change, for the audit log.
    async fn actor(&self) -> ApiResult<crate::services::audit::Actor> {
        let viewer = self.request().viewer_id()?;
        let user = self
            .loaders()
            .users
            .load_one(viewer)
            .await?
            .ok_or(crate::authz::Refusal::SessionEnded)?;
        let key = self.principal().key().map(|key| key.key_id);
        Ok(crate::services::audit::Actor::signed_in(&user, &self.request().meta).through_key(key))
    }

    /// Whether the viewer, not a member of `owner`, reads its lists that are `shared` (see
    /// [`crate::services::organization::lists::readable_through_sharing`]). Read per request, so a removed
    /// partner or member sees nothing on the next request.
    async fn reads_through_sharing(&self, owner: Uuid, shared: bool) -> ApiResult<bool> {
        if !shared {
            return Ok(false);
        }
        let accesses = self.partner_accesses(owner).await?;
        Ok(crate::services::organization::lists::readable_through_sharing(shared, &accesses))
    }

    /// The viewer's access in the organizations `owner` shares its lists with, those of them
    /// the viewer belongs to: what the rule of sharing reads.
    async fn partner_accesses(&self, owner: Uuid) -> ApiResult<Vec<OrgAccess>> {
        let viewer = self.request().viewer_id()?;
        let partners = self
            .loaders()
            .share_partners
            .load_one(owner)
            .await?
            .unwrap_or_default();
        let accesses = self
            .loaders()
            .viewer(viewer)
            .access
            .load_many(partners.iter().copied())
            .await?;
        Ok(accesses.into_values().flatten().collect())
    }
}

/// A NOT_FOUND error restated as "`kind` not found"; any other error as it is.
pub(crate) fn missing_as(kind: &str, err: ApiError) -> ApiError {
    if err.code == crate::error::ErrorCode::NotFound {
        ApiError::not_found(kind)
    } else {
        err
    }
}

impl ContextExt for ContextBase<'_, &Positioned<Field>> {
    fn state(&self) -> &AppState {
        self.data_unchecked::<AppState>()
    }

    fn request(&self) -> &RequestContext {
        self.data_unchecked::<RequestContext>()
    }

    fn declared(&self) -> &'static Declared {
        self.data_unchecked::<&'static Declared>()
    }
}
