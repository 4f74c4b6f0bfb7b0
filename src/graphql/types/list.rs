//! The `List` object: its kind, its entries, how a viewer reaches it.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Organization, User};
use crate::authz::require;
use crate::domain::ListKind;
use crate::error::{ApiError, ApiResult};
use crate::graphql::ContextExt;
use crate::graphql::connection::{Conn, CursorKey, Keyset, connection};
use crate::graphql::guards::{Gate, Requires, Sharing, need};
use crate::graphql::ids::NodeId;
use crate::services::organization::lists::{
    self, Admitted, EntriesChange, EntryKey, EntryQuery, EntryRecord, ListRead, ListRecord,
    Readable,
};
use crate::services::store::scope::OrgChange;
use crate::services::{Page, PageArgs};

/// What a list holds; every entry is validated and normalized for it.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "ListKind", remote = "crate::domain::ListKind")]
pub enum ListKindValue {
    /// IPv4 or IPv6 addresses, in their canonical form.
    Ip,
    /// CIDR blocks with the host bits zero, like 10.0.0.0/8.
    Cidr,
    /// Domain names, lowercase ASCII (internationalized names in punycode).
    Domain,
    /// Absolute http and https URLs.
    Url,
    /// MD5, SHA-1 or SHA-256 hashes in lowercase hex.
    Hash,
    /// Email addresses, lowercase.
    Email,
    /// Free text up to 1,024 characters (and 2,048 bytes).
    Text,
}

/// How the viewer reaches a list.
pub enum ListReach {
    /// As a member of the organization that owns it (each field checks the role there).
    Member,
    /// Through sharing: a member of a share partner of its owner, read-only.
    Partner,
}

/// The list `list_id` if the viewer may see it: as a member of its organization, or, when it
/// is shared, as a member of one of its owner's share partners with `list: read` there.
/// NOT_FOUND otherwise, exactly as for a list that does not exist.
pub async fn visible_list(ctx: &Context<'_>, list_id: Uuid) -> ApiResult<(ListRecord, ListReach)> {
    let list = ctx
        .loaders()
        .lists
        .load_one(list_id)
        .await?
        .ok_or_else(|| ApiError::not_found("list"))?;
    match ctx.access(list.organization_id).await {
        Ok(_) => return Ok((list, ListReach::Member)),
        // A member refused (a second factor their organization requires) is told so.
        Err(err) if err.code != crate::error::ErrorCode::NotFound => return Err(err),
        Err(_) => {}
    }
    if partner_read(ctx, &list).await?.is_some() {
        return Ok((list, ListReach::Partner));
    }
    Err(ApiError::not_found("list"))
}

/// The capability to read `list` by the rule of sharing, for a viewer outside its owner.
async fn partner_read(ctx: &Context<'_>, list: &ListRecord) -> ApiResult<Option<ListRead>> {
    if !list.shared {
        return Ok(None);
    }
    let accesses = ctx.partner_accesses(list.organization_id).await?;
    Ok(ListRead::through_sharing(list, &accesses))
}

/// Loads, in one batch each, what the guards and fields of a page of lists read per owner:
/// the viewer's access there, its share partners and the viewer's access in those, and the
/// owner itself. Without this, owners reached at different moments would each cost a batch.
pub async fn prime_for_lists(ctx: &Context<'_>, lists: &[Readable]) -> ApiResult<()> {
    let mut owners: Vec<Uuid> = lists.iter().map(|r| r.list.organization_id).collect();
    owners.sort();
    owners.dedup();
    let loaders = ctx.loaders();
    let viewer = loaders.viewer(ctx.request().viewer_id()?);
    let (access, partners, organizations) = futures_util::join!(
        viewer.access.load_many(owners.iter().copied()),
        loaders.share_partners.load_many(owners.iter().copied()),
        loaders.organizations.load_many(owners.iter().copied()),
    );
    access?;
    organizations?;
    let mut partner_ids: Vec<Uuid> = partners?.into_values().flatten().collect();
    partner_ids.sort();
    partner_ids.dedup();
    viewer.access.load_many(partner_ids).await?;
    let keys = entries_asked_for(ctx, lists);
    if !keys.is_empty() {
        loaders.entry_pages.load_many(keys).await?;
    }
    Ok(())
}

/// The pages of entries each list's `entries` field will ask for, to load in one statement:
/// left to the fields, lists polled later than the loader's short delay would start a second
/// batch.
fn entries_asked_for(ctx: &Context<'_>, lists: &[Readable]) -> Vec<Admitted<EntryKey>> {
    let look_ahead = ctx.look_ahead();
    let mut keys = Vec::new();
    for entries in [
        look_ahead.field("edges").field("node").field("entries"),
        look_ahead.field("nodes").field("entries"),
    ] {
        for field in entries.selection_fields() {
            let Ok(arguments) = field.arguments() else {
                continue;
            };
            let argument = |name: &str| {
                arguments
                    .iter()
                    .find(|(key, _)| key.as_str() == name)
                    .map(|(_, value)| value.clone())
            };
            let first = argument("first").and_then(|v| match v {
                async_graphql::Value::Number(n) => n.as_i64().map(|n| n as i32),
                _ => None,
            });
            let text = |name: &str| match argument(name) {
                Some(async_graphql::Value::String(text)) => Some(text),
                _ => None,
            };
            for readable in lists {
                let list = &readable.list;
                if let Ok(query) = entry_query(list, first, text("after"), text("search")) {
                    keys.push(readable.read.entries(query));
                }
            }
        }
    }
    keys
}

/// A page of lists as a connection, with what their fields read loaded in batches first.
pub async fn list_connection(
    ctx: &Context<'_>,
    (page, total): (Page<Readable>, i64),
    args: &PageArgs,
) -> ApiResult<Conn<List>> {
    prime_for_lists(ctx, &page.items).await?;
    Ok(connection(
        page,
        args,
        total,
        |r| r.list.id,
        |r| List::new(r.list),
    ))
}

/// The page of entries `List.entries(first, after, search)` asks for.
fn entry_query(
    list: &ListRecord,
    first: Option<i32>,
    after: Option<String>,
    search: Option<String>,
) -> ApiResult<EntryQuery> {
    let args = PageArgs::new(first, None)?;
    let after = crate::graphql::connection::after::<String>(after.as_deref())?;
    if let Some(text) = &search {
        crate::domain::text::search("search", text)?;
    }
    let prefix = search
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .map(|s| {
            if list.kind == ListKind::Text {
                s
            } else {
                s.to_lowercase()
            }
        });
    Ok(EntryQuery {
        first: args.first,
        after,
        prefix,
    })
}

/// The capability to change the list `id` (the argument `field`): the gate of its
/// organization, for the requirement the mutation declares. A list seen through sharing is
/// read-only: FORBIDDEN, never a change.
pub async fn list_for_change(
    ctx: &Context<'_>,
    field: &'static str,
    id: &ID,
) -> ApiResult<(Uuid, OrgChange)> {
    let list_id = NodeId::list(field, id)?;
    match visible_list(ctx, list_id).await? {
        (list, ListReach::Member) => {
            let change = Gate::root("list", list.organization_id).change(ctx).await?;
            Ok((list_id, change))
        }
        (_, ListReach::Partner) => Err(ApiError::forbidden(
            "this list is shared with your organization read-only: only its owner changes or shares it",
        )),
    }
}

/// A user-defined list of values of one kind, owned by one organization.
pub struct List {
    pub list: ListRecord,
    /// What the mutation that returned this list did to its entries.
    pub change: Option<EntriesChange>,
}

impl List {
    pub fn new(list: ListRecord) -> Self {
        Self { list, change: None }
    }

    /// The gate of every field: the viewer's role in the owner, or, when the list is shared,
    /// the rule of sharing for the fields that declare `orPartner`.
    fn gate(&self) -> Gate {
        Gate::object("List", self.list.organization_id).sharing(Sharing::List {
            shared: self.list.shared,
        })
    }

    /// The capability to read the list's entries: the gate of its owner for a member, the rule
    /// of sharing for anyone else.
    async fn read(&self, ctx: &Context<'_>) -> ApiResult<ListRead> {
        if ctx.access(self.list.organization_id).await.is_ok() {
            let scope = self.gate().scope(ctx).await?;
            return ListRead::member(&scope, &self.list);
        }
        partner_read(ctx, &self.list)
            .await?
            .ok_or_else(|| ApiError::not_found("list"))
    }
}

/// What `addListEntries` or `removeListEntries` did.
#[derive(SimpleObject)]
pub struct ListEntriesChange {
    /// Entries added (or removed).
    pub changed: i64,
    /// Values skipped: already in the list when adding, not in it when removing, or repeated
    /// within the call.
    pub skipped: i64,
}

#[Object(
    guard = "self.gate()",
    directive = Requires::apply(need(require::LIST_READ).or_partner())
)]
impl List {
    pub async fn id(&self) -> ID {
        NodeId::List(self.list.id).to_id()
    }

    async fn name(&self) -> &str {
        &self.list.name
    }

    async fn kind(&self) -> ListKindValue {
        self.list.kind.into()
    }

    async fn description(&self) -> Option<&str> {
        self.list.description.as_deref()
    }

    /// Whether the owner's share partners see this list (read-only).
    async fn shared(&self) -> bool {
        self.list.shared
    }

    /// The organization that owns the list. Seen through sharing, only its id, public id and
    /// name are visible.
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Organization> {
        let model = ctx
            .loaders()
            .organizations
            .load_one(self.list.organization_id)
            .await?
            .ok_or_else(|| ApiError::not_found("organization"))?;
        Ok(if ctx.access(model.id).await.is_ok() {
            Organization::new(model)
        } else {
            Organization::through_sharing(model)
        })
    }

    /// How many entries the list holds.
    async fn entry_count(&self) -> i64 {
        self.list.entry_count
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.list.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.list.updated_at
    }

    /// Entries in value order (byte order of the normalized value). `search` keeps the values
    /// that start with it (normalized like the list's values: lowercase except in text lists).
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1")]
    async fn entries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        search: Option<String>,
    ) -> ApiResult<EntryConnection> {
        let query = entry_query(&self.list, first, after, search)?;
        let read = self.read(ctx).await?;
        let page = ctx
            .loaders()
            .entry_pages
            .load_one(read.entries(query.clone()))
            .await?
            .unwrap_or_else(Page::empty);
        let mut connection = Connection::with_additional_fields(
            query.after.is_some(),
            page.has_next_page,
            EntryTotal {
                read,
                entry_count: self.list.entry_count,
                prefix: query.prefix,
            },
        );
        let member = ctx.access(self.list.organization_id).await.is_ok();
        connection.edges.extend(page.items.into_iter().map(|entry| {
            Edge::new(
                Keyset(entry.value.clone()),
                ListEntry {
                    entry,
                    organization_id: self.list.organization_id,
                    member,
                },
            )
        }));
        Ok(connection)
    }

    /// What the mutation that returned this list did to its entries; null elsewhere.
    async fn entries_change(&self) -> Option<ListEntriesChange> {
        self.change.map(|change| ListEntriesChange {
            changed: change.changed as i64,
            skipped: change.skipped as i64,
        })
    }
}

/// One value of a list.
pub struct ListEntry {
    entry: EntryRecord,
    organization_id: Uuid,
    /// Whether the viewer is a member of the list's organization (else it is seen through
    /// sharing, and who added the entry stays private).
    member: bool,
}

#[Object]
impl ListEntry {
    /// The value, normalized for the list's kind.
    async fn value(&self) -> &str {
        &self.entry.value
    }

    async fn note(&self) -> Option<&str> {
        self.entry.note.as_deref()
    }

    async fn added_at(&self) -> DateTime<Utc> {
        self.entry.added_at
    }

    /// Who added the entry; null for lists seen through sharing, and for removed users.
    async fn added_by(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(user_id) = self.entry.added_by.filter(|_| self.member) else {
            return Ok(None);
        };
        Ok(ctx
            .loaders()
            .users
            .load_one(user_id)
            .await?
            .map(|user| User::new(user, Some(self.organization_id))))
    }
}

/// A position among a list's entries: the value the next page starts after.
pub type ValueCursor = Keyset<String>;

/// Entries keyed by their value. A value cursor reaches the query as text: it holds what a
/// list value may hold.
impl CursorKey for String {
    const TAG: &'static str = "v";

    fn write(&self) -> String {
        self.clone()
    }

    fn read(text: &str) -> Option<Self> {
        crate::domain::text::is_clean(crate::domain::text::TextKind::Lines, text)
            .then(|| text.to_owned())
    }
}

/// `totalCount` of a page of entries, counted only when asked for.
pub struct EntryTotal {
    read: ListRead,
    entry_count: i64,
    prefix: Option<String>,
}

#[Object]
impl EntryTotal {
    /// How many entries match (all of the list's without `search`).
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        match &self.prefix {
            None => Ok(self.entry_count),
            Some(prefix) => Ok(lists::count_prefix(ctx.state(), &self.read, prefix).await? as i64),
        }
    }
}

pub type EntryConnection = Connection<ValueCursor, ListEntry, EntryTotal>;
