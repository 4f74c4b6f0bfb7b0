//! Per-request dataloaders: every relation is read through these, batched across parents, and
//! dropped with the request, so nothing cached can leak from one user to another.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};

use super::batches::BatchQueue;
use uuid::Uuid;

use crate::authz::{KeyLimit, OrgAccess, Proof};
use crate::error::ApiError;
use crate::services::audit::EventRecord;
use crate::services::identity::users::UserRecord;
use crate::services::organization::api_keys::{self, ApiKeyRecord};
use crate::services::organization::invitations::InvitationRecord;
use crate::services::organization::lists::{self, Admitted, EntryKey, EntryRecord, ListRecord};
use crate::services::organization::memberships::{
    MemberCountFilter, MemberQuery, MembershipRecord,
};
use crate::services::organization::organizations::OrganizationRecord;
use crate::services::organization::roles::RoleRecord;
use crate::services::organization::service_accounts::{self, ServiceAccountRecord};
use crate::services::store::seats::SeatUsage;
use crate::services::{
    AppState, Page, audit, identity::users, organization::invitations, organization::memberships,
    organization::organizations, organization::roles, store::access,
};

pub struct UserLoader(pub AppState);
pub struct OrganizationLoader(pub AppState);
pub struct MembershipLoader(pub AppState);
pub struct RoleLoader(pub AppState);
pub struct MemberPageLoader(pub AppState);
pub struct MemberCountLoader(pub AppState);
pub struct RoleMemberCountLoader(pub AppState);
pub struct SeatUsageLoader(pub AppState);
pub struct ListLoader(pub AppState);
pub struct SharePartnerLoader(pub AppState);
pub struct EntryPageLoader(pub AppState);
pub struct InvitationLoader(pub AppState);
pub struct AuditEventLoader(pub AppState);
/// Through a key, only the key's organization is one its holder sees others in.
pub struct SharedOrganizationLoader {
    state: AppState,
    key: Option<Arc<KeyLimit>>,
}
pub struct ApiKeyLoader(pub AppState);
pub struct ServiceAccountLoader(pub AppState);
pub struct ServiceAccountMembershipLoader(pub AppState);
/// The viewer's access per organization: effective permissions computed once per request,
/// from the viewer's memberships and the organizations as this request's loaders hold them
/// (a dashboard has read both already).
pub struct AccessLoader {
    state: AppState,
    user_id: Uuid,
    /// The key the viewer acts through, which bounds their access (none outside its
    /// organization).
    key: Option<Arc<KeyLimit>>,
    /// Whether the viewer's session checked a second factor.
    proof: Proof,
    memberships: Arc<DataLoader<ViewerMembershipLoader, HashMapCache>>,
    organizations: Arc<DataLoader<OrganizationLoader, HashMapCache>>,
}
/// The viewer's membership per organization.
pub struct ViewerMembershipLoader {
    state: AppState,
    user_id: Uuid,
    /// Through a key, the one organization the viewer acts in.
    only: Option<Uuid>,
}

impl Loader<Uuid> for UserLoader {
    type Value = UserRecord;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        users::records(&self.0, keys).await
    }
}

impl Loader<Uuid> for OrganizationLoader {
    type Value = OrganizationRecord;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        organizations::records(&self.0, keys).await
    }
}

impl Loader<Uuid> for MembershipLoader {
    type Value = MembershipRecord;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        memberships::records(&self.0, keys).await
    }
}

impl Loader<Uuid> for RoleLoader {
    type Value = RoleRecord;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        roles::records(&self.0, keys).await
    }
}

/// A page of members of an organization whose gate was passed.
pub type MemberPageKey = Admitted<(Uuid, MemberQuery)>;

impl Loader<MemberPageKey> for MemberPageLoader {
    type Value = Page<memberships::Member>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[MemberPageKey],
    ) -> Result<HashMap<MemberPageKey, Self::Value>, Self::Error> {
        memberships::member_pages(&self.0, keys).await
    }
}

/// Members per organization (whose gate was passed), role filter and search text.
pub type MemberCountKey = Admitted<(Uuid, MemberCountFilter)>;

impl Loader<MemberCountKey> for MemberCountLoader {
    type Value = i64;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[MemberCountKey],
    ) -> Result<HashMap<MemberCountKey, Self::Value>, Self::Error> {
        memberships::member_counts(&self.0, keys).await
    }
}

/// Holders of a role, `(organization, role)`, of an organization whose gate was passed.
pub type RoleMemberCountKey = Admitted<(Uuid, Uuid)>;

impl Loader<RoleMemberCountKey> for RoleMemberCountLoader {
    type Value = i64;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[RoleMemberCountKey],
    ) -> Result<HashMap<RoleMemberCountKey, Self::Value>, Self::Error> {
        roles::admitted_member_counts(&self.0, keys).await
    }
}

impl Loader<Admitted<Uuid>> for SeatUsageLoader {
    type Value = SeatUsage;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[Admitted<Uuid>],
    ) -> Result<HashMap<Admitted<Uuid>, Self::Value>, Self::Error> {
        organizations::admitted_seat_usage(&self.0, keys).await
    }
}

/// `None` where the viewer is not a member: answered once, like any other key (a loader does
/// not remember keys missing from its answer, and would ask again).
impl Loader<Uuid> for AccessLoader {
    type Value = Option<OrgAccess>;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        // Both at once, one round trip rather than two: the organizations asked about are
        // read whether or not the viewer turns out to be a member (nothing of one is shown
        // unless they are), and a dashboard has read both already.
        let (memberships, organizations) = futures_util::try_join!(
            self.memberships.load_many(keys.iter().copied()),
            self.organizations.load_many(keys.iter().copied()),
        )?;
        let memberships = memberships.into_values().collect();
        let found =
            access::of_viewer(&self.state, self.user_id, memberships, &organizations).await?;
        let mut found = access::limit_all(found, self.key.as_ref(), self.proof);
        Ok(keys.iter().map(|key| (*key, found.remove(key))).collect())
    }
}

impl Loader<Uuid> for ViewerMembershipLoader {
    type Value = MembershipRecord;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let keys: Vec<Uuid> = match self.only {
            Some(only) => keys.iter().copied().filter(|key| *key == only).collect(),
            None => keys.to_vec(),
        };
        access::viewer_memberships(&self.state, self.user_id, &keys).await
    }
}

impl Loader<Uuid> for ListLoader {
    type Value = ListRecord;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        lists::load(&self.0, keys).await
    }
}

/// The partners each organization shares its lists with.
impl Loader<Uuid> for SharePartnerLoader {
    type Value = Vec<Uuid>;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        lists::partners_of(&self.0, keys).await
    }
}

/// Pages of entries; a key is made only by the capability to read its list.
impl Loader<Admitted<EntryKey>> for EntryPageLoader {
    type Value = Page<EntryRecord>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[Admitted<EntryKey>],
    ) -> Result<HashMap<Admitted<EntryKey>, Self::Value>, Self::Error> {
        lists::entry_pages(&self.0, keys).await
    }
}

impl Loader<Uuid> for InvitationLoader {
    type Value = InvitationRecord;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        invitations::records(&self.0, keys).await
    }
}

/// Events asked for by id (a node lookup names one at a time).
impl Loader<Uuid> for AuditEventLoader {
    type Value = EventRecord;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        audit::records(&self.0, keys).await
    }
}

/// Keys by id, whatever their organization: the caller passes the gate of each one's.
impl Loader<Uuid> for ApiKeyLoader {
    type Value = ApiKeyRecord;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        api_keys::records(&self.0, keys).await
    }
}

/// Service accounts by id, whatever their organization: the caller passes the gate of each
/// one's.
impl Loader<Uuid> for ServiceAccountLoader {
    type Value = ServiceAccountRecord;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        service_accounts::records(&self.0, keys).await
    }
}

/// The membership of each service account.
impl Loader<Uuid> for ServiceAccountMembershipLoader {
    type Value = MembershipRecord;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        service_accounts::memberships(&self.0, keys).await
    }
}

/// `(viewer, other)`: an organization both users belong to, if any.
impl Loader<(Uuid, Uuid)> for SharedOrganizationLoader {
    type Value = Option<Uuid>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[(Uuid, Uuid)],
    ) -> Result<HashMap<(Uuid, Uuid), Self::Value>, Self::Error> {
        let mut found = HashMap::new();
        for &(viewer, other) in keys {
            let only = self
                .key
                .as_ref()
                .filter(|key| key.holder_id == viewer)
                .map(|key| key.organization_id);
            let shared = access::shared_organization_with(&self.state, viewer, other, only).await?;
            found.insert((viewer, other), shared);
        }
        Ok(found)
    }
}

/// The loaders of one request.
pub struct Loaders {
    pub users: DataLoader<UserLoader, HashMapCache>,
    pub organizations: Arc<DataLoader<OrganizationLoader, HashMapCache>>,
    pub memberships: DataLoader<MembershipLoader, HashMapCache>,
    pub roles: DataLoader<RoleLoader, HashMapCache>,
    pub member_pages: DataLoader<MemberPageLoader, HashMapCache>,
    pub member_counts: DataLoader<MemberCountLoader, HashMapCache>,
    pub role_member_counts: DataLoader<RoleMemberCountLoader, HashMapCache>,
    pub seat_usage: DataLoader<SeatUsageLoader, HashMapCache>,
    pub lists: DataLoader<ListLoader, HashMapCache>,
    pub share_partners: DataLoader<SharePartnerLoader, HashMapCache>,
    pub entry_pages: DataLoader<EntryPageLoader, HashMapCache>,
    pub invitations: DataLoader<InvitationLoader, HashMapCache>,
    pub audit_events: DataLoader<AuditEventLoader, HashMapCache>,
    pub shared_organizations: DataLoader<SharedOrganizationLoader, HashMapCache>,
    pub api_keys: DataLoader<ApiKeyLoader, HashMapCache>,
    pub service_accounts: DataLoader<ServiceAccountLoader, HashMapCache>,
    pub service_account_memberships: DataLoader<ServiceAccountMembershipLoader, HashMapCache>,
    viewers: Mutex<HashMap<Uuid, Arc<ViewerLoaders>>>,
    /// The key the request acts through, if any.
    key: Option<Arc<KeyLimit>>,
    /// What the sessions of the request's viewers proved (the request's, and one a sign-in
    /// within the request opened).
    proofs: Mutex<HashMap<Uuid, Proof>>,
    state: AppState,
    queue: BatchQueue,
}

/// A loader whose answers the request keeps (a request never sees a value change under it),
/// batching on the request's own queue without a delay (see [`super::batches`]).
fn cached<K, L>(queue: &BatchQueue, loader: L) -> DataLoader<L, HashMapCache>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    L: Loader<K>,
{
    let queue = queue.clone();
    DataLoader::with_cache(
        loader,
        move |batch| queue.spawn(batch),
        HashMapCache::default(),
    )
    .delay(std::time::Duration::ZERO)
}

impl Loaders {
    pub fn new(
        state: &AppState,
        queue: BatchQueue,
        key: Option<Arc<KeyLimit>>,
        proof: Option<(Uuid, Proof)>,
    ) -> Self {
        Self {
            users: cached(&queue, UserLoader(state.clone())),
            organizations: Arc::new(cached(&queue, OrganizationLoader(state.clone()))),
            memberships: cached(&queue, MembershipLoader(state.clone())),
            roles: cached(&queue, RoleLoader(state.clone())),
            // A page's statement unions one walk per organization: at most 100 of them.
            member_pages: cached(&queue, MemberPageLoader(state.clone())).max_batch_size(100),
            member_counts: cached(&queue, MemberCountLoader(state.clone())),
            role_member_counts: cached(&queue, RoleMemberCountLoader(state.clone())),
            seat_usage: cached(&queue, SeatUsageLoader(state.clone())),
            lists: cached(&queue, ListLoader(state.clone())),
            share_partners: cached(&queue, SharePartnerLoader(state.clone())),
            // A page of shared lists holds at most 100, so their entries are one statement.
            entry_pages: cached(&queue, EntryPageLoader(state.clone())).max_batch_size(100),
            invitations: cached(&queue, InvitationLoader(state.clone())),
            audit_events: cached(&queue, AuditEventLoader(state.clone())),
            shared_organizations: cached(
                &queue,
                SharedOrganizationLoader {
                    state: state.clone(),
                    key: key.clone(),
                },
            ),
            api_keys: cached(&queue, ApiKeyLoader(state.clone())),
            service_accounts: cached(&queue, ServiceAccountLoader(state.clone())),
            service_account_memberships: cached(
                &queue,
                ServiceAccountMembershipLoader(state.clone()),
            ),
            viewers: Mutex::default(),
            key,
            proofs: Mutex::new(proof.into_iter().collect()),
            state: state.clone(),
            queue,
        }
    }

    /// Records what `viewer`'s session (one a sign-in within the request opened) proved,
    /// before their loaders are made.
    pub fn set_proof(&self, viewer: Uuid, proof: Proof) {
        self.proofs
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .insert(viewer, proof);
    }

    /// The loaders bound to `viewer`: the request's viewer, or the user a sign-in within the
    /// request has just proved to be (each has their own, so no answer of one is the other's).
    pub fn viewer(&self, viewer: Uuid) -> Arc<ViewerLoaders> {
        let mut viewers = self
            .viewers
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        viewers
            .entry(viewer)
            .or_insert_with(|| {
                // The request's key binds its holder; a user signed in within the request
                // (which a key cannot do) would have their own access.
                let key = self.key.clone().filter(|key| key.holder_id == viewer);
                let memberships = Arc::new(cached(
                    &self.queue,
                    ViewerMembershipLoader {
                        state: self.state.clone(),
                        user_id: viewer,
                        only: key.as_ref().map(|key| key.organization_id),
                    },
                ));
                let proof = self
                    .proofs
                    .lock()
                    .unwrap_or_else(|poison| poison.into_inner())
                    .get(&viewer)
                    .copied()
                    .unwrap_or_default();
                let access = cached(
                    &self.queue,
                    AccessLoader {
                        state: self.state.clone(),
                        user_id: viewer,
                        key,
                        proof,
                        memberships: memberships.clone(),
                        organizations: self.organizations.clone(),
                    },
                );
                Arc::new(ViewerLoaders {
                    memberships,
                    access,
                })
            })
            .clone()
    }
}

/// The loaders bound to one viewer.
pub struct ViewerLoaders {
    memberships: Arc<DataLoader<ViewerMembershipLoader, HashMapCache>>,
    pub access: DataLoader<AccessLoader, HashMapCache>,
}

impl ViewerLoaders {
    /// Gives the access loader memberships of this viewer that the request has read, so that
    /// their access there is computed without reading them again.
    pub async fn knew_memberships(&self, found: &[MembershipRecord]) {
        let only = self.memberships.loader().only;
        let by_organization = found
            .iter()
            .filter(|m| only.is_none_or(|only| only == m.organization_id))
            .map(|m| (m.organization_id, m.clone()));
        self.memberships.feed_many(by_organization).await;
    }
}
