//! The read rule, once: who may read a list, as a member of its organization or through
//! sharing, and the capability ([`ListRead`]) that reading its entries takes.

use entity::list;
use sea_orm::EntityTrait;
use uuid::Uuid;

use super::{EntryQuery, ListRecord, partners};
use crate::authz::{OrgAccess, require};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::services::AppState;
use crate::services::store::access;
use crate::services::store::scope::{Admitted, OrgScope};

/// The rule of sharing: a viewer who is not a member of a list's organization reads the list
/// when it is `shared` and the viewer's role grants `list: read` in one of the organizations
/// its owner picked as share partners (`partner_accesses`: the viewer's access in those of
/// them the viewer belongs to), and the viewer's session meets that organization's own
/// requirement of a second factor: sharing is no side door past it.
pub fn readable_through_sharing<'a>(
    shared: bool,
    partner_accesses: impl IntoIterator<Item = &'a OrgAccess>,
) -> bool {
    shared
        && partner_accesses
            .into_iter()
            .any(|access| !access.mfa_pending() && access.allows(require::LIST_READ))
}

/// A capability to read one list's entries: the viewer passed the gate of its organization
/// with `list: read`, or reads it through sharing. Only this module makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRead {
    list_id: Uuid,
}

/// A page of entries of one list: the list and the page.
pub type EntryKey = (Uuid, EntryQuery);

/// A list with the capability to read it.
#[derive(Debug, Clone)]
pub struct Readable {
    pub list: ListRecord,
    pub read: ListRead,
}

impl ListRead {
    /// A member's: `scope` is the gate passed in the list's organization, with `list: read`.
    pub fn member(scope: &OrgScope, list: &ListRecord) -> ApiResult<Self> {
        if scope.organization_id() != list.organization_id {
            return Err(ApiError::not_found("list"));
        }
        reads_lists(scope)?;
        Ok(Self { list_id: list.id })
    }

    /// A partner's, by [`readable_through_sharing`]: `partner_accesses` is the viewer's access
    /// in the share partners of the list's owner.
    pub fn through_sharing<'a>(
        list: &ListRecord,
        partner_accesses: impl IntoIterator<Item = &'a OrgAccess>,
    ) -> Option<Self> {
        readable_through_sharing(list.shared, partner_accesses).then_some(Self { list_id: list.id })
    }

    pub fn list_id(&self) -> Uuid {
        self.list_id
    }

    /// The key of a page of this list's entries.
    pub fn entries(&self, query: EntryQuery) -> Admitted<EntryKey> {
        Admitted::new((self.list_id, query))
    }
}

/// FORBIDDEN unless the gate `scope` passed lets its viewer read the organization's lists.
pub(super) fn reads_lists(scope: &OrgScope) -> ApiResult<()> {
    if scope.access().allows(require::LIST_READ) {
        Ok(())
    } else {
        Err(scope.access().refusal(require::LIST_READ).into())
    }
}

/// The list `list_id` if `viewer` may read it, outside GraphQL: through the gate of its
/// organization with `list: read`, or, when it is shared, by the rule of sharing. NOT_FOUND
/// when the viewer cannot see it at all (as for a list that does not exist); FORBIDDEN for a
/// member of its organization whose role does not grant `list: read`.
pub async fn open(state: &AppState, viewer: &access::Viewer, list_id: Uuid) -> ApiResult<Readable> {
    let db = &state.db;
    let policy = &state.policy;
    let list: ListRecord = list::Entity::find_by_id(list_id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("list"))?
        .try_into()?;
    let owner = list.organization_id;
    match OrgScope::enter(db, policy, viewer, "list", owner, require::LIST_READ).await {
        Ok(scope) => {
            let read = ListRead::member(&scope, &list)?;
            return Ok(Readable { list, read });
        }
        Err(err) if err.code != ErrorCode::NotFound => return Err(err),
        Err(_) => {}
    }
    if list.shared {
        let partners = partners(db, &[owner]).await?.remove(&owner);
        let accesses =
            access::load(db, policy, viewer.user_id, &partners.unwrap_or_default()).await?;
        let accesses = access::limit_all(accesses, viewer.key.as_ref(), viewer.proof);
        if let Some(read) = ListRead::through_sharing(&list, accesses.values()) {
            return Ok(Readable { list, read });
        }
    }
    Err(ApiError::not_found("list"))
}
