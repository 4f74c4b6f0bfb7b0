//! The audit log: every change is recorded in the same transaction as the change, hash-chained
//! per organization (and per user for their own security events) so that tampering shows.

use chrono::{DateTime, SubsecRound, Utc};
use entity::{audit_event, audit_head};
use sea_orm::sea_query::{Alias, Expr, JoinType, LikeExpr, Order};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Set, Statement,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::RequestMeta;
use crate::error::{ApiError, ApiResult};

/// The hash a chain starts from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who made a change, and from where.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: Option<Uuid>,
    pub email: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Actor {
    /// A signed-in user acting through the API.
    pub fn user(user: &entity::user::Model, meta: &RequestMeta) -> Self {
        Self {
            user_id: Some(user.id),
            email: Some(user.email.clone()),
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
        }
    }

    /// An operator at the command line of the server.
    pub fn command_line() -> Self {
        Self {
            user_id: None,
            email: None,
            ip: None,
            user_agent: Some("charter (command line)".to_owned()),
        }
    }

    /// The name of the actor in descriptions.
    pub fn name(&self) -> &str {
        self.email.as_deref().unwrap_or("the command line")
    }
}

/// The closed list of actions, documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    OrganizationCreated,
    OrganizationUpdated,
    OrganizationLicenseChanged,
    MemberAdded,
    MemberRoleAssigned,
    MemberRemoved,
    MemberLeft,
    InvitationSent,
    InvitationRevoked,
    InvitationAccepted,
    RoleCreated,
    RoleUpdated,
    RoleDeleted,
    UserCreated,
    UserOperatorChanged,
    UserDefaultOrganizationChanged,
    UserPasswordChanged,
    UserProfileUpdated,
    UserDisabled,
    UserPasswordCheckFailed,
    SessionLogin,
    SessionLoginFailed,
    SessionRefreshed,
    SessionRefreshTokenReused,
    SessionOrganizationSwitched,
    SessionLogout,
    ListCreated,
    ListUpdated,
    ListDeleted,
    ListEntriesAdded,
    ListEntriesRemoved,
    ListShared,
    ListUnshared,
    SharePartnerAdded,
    SharePartnerRemoved,
    AuditPurged,
}

impl Action {
    pub const ALL: [Action; 36] = [
        Action::OrganizationCreated,
        Action::OrganizationUpdated,
        Action::OrganizationLicenseChanged,
        Action::MemberAdded,
        Action::MemberRoleAssigned,
        Action::MemberRemoved,
        Action::MemberLeft,
        Action::InvitationSent,
        Action::InvitationRevoked,
        Action::InvitationAccepted,
        Action::UserPasswordChanged,
        Action::UserProfileUpdated,
        Action::UserDisabled,
        Action::UserPasswordCheckFailed,
        Action::RoleCreated,
        Action::RoleUpdated,
        Action::RoleDeleted,
        Action::UserCreated,
        Action::UserOperatorChanged,
        Action::UserDefaultOrganizationChanged,
        Action::SessionLogin,
        Action::SessionLoginFailed,
        Action::SessionRefreshed,
        Action::SessionRefreshTokenReused,
        Action::SessionOrganizationSwitched,
        Action::SessionLogout,
        Action::ListCreated,
        Action::ListUpdated,
        Action::ListDeleted,
        Action::ListEntriesAdded,
        Action::ListEntriesRemoved,
        Action::ListShared,
        Action::ListUnshared,
        Action::SharePartnerAdded,
        Action::SharePartnerRemoved,
        Action::AuditPurged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::OrganizationCreated => "organization.created",
            Action::OrganizationUpdated => "organization.updated",
            Action::OrganizationLicenseChanged => "organization.license_changed",
            Action::MemberAdded => "member.added",
            Action::MemberRoleAssigned => "member.role_assigned",
            Action::MemberRemoved => "member.removed",
            Action::MemberLeft => "member.left",
            Action::InvitationSent => "invitation.sent",
            Action::InvitationRevoked => "invitation.revoked",
            Action::InvitationAccepted => "invitation.accepted",
            Action::UserPasswordChanged => "user.password_changed",
            Action::UserProfileUpdated => "user.profile_updated",
            Action::UserDisabled => "user.disabled",
            Action::UserPasswordCheckFailed => "user.password_check_failed",
            Action::RoleCreated => "role.created",
            Action::RoleUpdated => "role.updated",
            Action::RoleDeleted => "role.deleted",
            Action::UserCreated => "user.created",
            Action::UserOperatorChanged => "user.operator_changed",
            Action::UserDefaultOrganizationChanged => "user.default_organization_changed",
            Action::SessionLogin => "session.login",
            Action::SessionLoginFailed => "session.login_failed",
            Action::SessionRefreshed => "session.refreshed",
            Action::SessionRefreshTokenReused => "session.refresh_token_reused",
            Action::SessionOrganizationSwitched => "session.organization_switched",
            Action::SessionLogout => "session.logout",
            Action::ListCreated => "list.created",
            Action::ListUpdated => "list.updated",
            Action::ListDeleted => "list.deleted",
            Action::ListEntriesAdded => "list.entries_added",
            Action::ListEntriesRemoved => "list.entries_removed",
            Action::ListShared => "list.shared",
            Action::ListUnshared => "list.unshared",
            Action::SharePartnerAdded => "share_partner.added",
            Action::SharePartnerRemoved => "share_partner.removed",
            Action::AuditPurged => "audit.purged",
        }
    }
}

/// Whose chain an event joins.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// An organization's audit log.
    Organization(Uuid),
    /// A user's own security events (logins, sessions, account changes).
    User(Uuid),
}

impl Scope {
    pub fn chain(self) -> String {
        match self {
            Scope::Organization(id) => format!("org:{id}"),
            Scope::User(id) => format!("user:{id}"),
        }
    }
}

/// One change to record.
#[derive(Debug, Clone)]
pub struct Event {
    pub scope: Scope,
    pub action: Action,
    pub target: Option<(&'static str, Uuid)>,
    pub description: String,
    /// What changed, typically `{"before": …, "after": …}`. Never a secret.
    pub payload: Value,
}

impl Event {
    pub fn new(scope: Scope, action: Action, description: impl Into<String>) -> Self {
        Self {
            scope,
            action,
            target: None,
            description: description.into(),
            payload: json!({}),
        }
    }

    pub fn target(mut self, kind: &'static str, id: Uuid) -> Self {
        self.target = Some((kind, id));
        self
    }

    pub fn payload(mut self, payload: Value) -> Self {
        self.payload = payload;
        self
    }
}

/// Appends `event` to its chain inside `txn`, the transaction of the change it records: a
/// rolled-back change leaves no event. The chain's head row is locked (FOR UPDATE on
/// PostgreSQL; SQLite's write transactions are already serial), so concurrent appends queue
/// instead of forking the chain.
pub async fn record(txn: &impl ConnectionTrait, actor: &Actor, event: Event) -> ApiResult<()> {
    let chain = event.scope.chain();
    audit_head::Entity::insert(audit_head::ActiveModel {
        chain: Set(chain.clone()),
        seq: Set(0),
        hash: Set(GENESIS.to_owned()),
    })
    .on_conflict_do_nothing_on([audit_head::Column::Chain])
    .exec(txn)
    .await?;
    let head = audit_head::Entity::find_by_id(chain.clone())
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::internal(format!("audit chain {chain} has no head")))?;
    let (organization_id, subject_user_id) = match event.scope {
        Scope::Organization(id) => (Some(id), None),
        Scope::User(id) => (None, Some(id)),
    };
    let mut model = audit_event::Model {
        id: Uuid::now_v7(),
        chain: chain.clone(),
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
    };
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

/// The hash of an event: SHA-256 over its previous hash and its canonical content.
pub fn hash_of(event: &audit_event::Model) -> String {
    let content = json!([
        event.id.to_string(),
        event.chain,
        event.seq,
        event.organization_id.map(|id| id.to_string()),
        event.subject_user_id.map(|id| id.to_string()),
        event.actor_id.map(|id| id.to_string()),
        event.actor_email,
        event.ip,
        event.user_agent,
        canonical_time(event.at),
        event.action,
        event.target_type,
        event.target_id,
        event.description,
        event.payload,
    ]);
    let mut hasher = Sha256::new();
    hasher.update(event.prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(content.to_string().as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn canonical_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The whole event as the console's "View JSON" shows it.
pub fn to_json(event: &audit_event::Model) -> Value {
    json!({
        "id": event.id,
        "chain": event.chain,
        "seq": event.seq,
        "organizationId": event.organization_id,
        "subjectUserId": event.subject_user_id,
        "actorId": event.actor_id,
        "actorEmail": event.actor_email,
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
pub async fn verify(
    db: &impl ConnectionTrait,
    only_chain: Option<&str>,
) -> ApiResult<(u64, Vec<Broken>)> {
    const PAGE: u64 = 1000;
    let mut checked = 0;
    let mut broken = Vec::new();
    let mut heads = audit_head::Entity::find().order_by_asc(audit_head::Column::Chain);
    if let Some(chain) = only_chain {
        heads = heads.filter(audit_head::Column::Chain.eq(chain));
    }
    for head in heads.all(db).await? {
        // Where old events were purged, the chain starts after the purged prefix, from the
        // hash an `audit.purged` event of the same chain recorded.
        let anchors: Vec<(i64, String)> = audit_event::Entity::find()
            .filter(audit_event::Column::Chain.eq(head.chain.clone()))
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
            .collect();
        let mut expected_prev: Option<String> = None;
        let mut expected_seq: Option<i64> = None;
        let mut after = 0i64;
        let mut chain_broken = None;
        'pages: loop {
            let events = audit_event::Entity::find()
                .filter(audit_event::Column::Chain.eq(head.chain.clone()))
                .filter(audit_event::Column::Seq.gt(after))
                .order_by_asc(audit_event::Column::Seq)
                .limit(PAGE)
                .all(db)
                .await?;
            let last_page = (events.len() as u64) < PAGE;
            for event in events {
                checked += 1;
                after = event.seq;
                let starts_after_purge = expected_seq.is_none()
                    && event.seq > 1
                    && anchors.iter().any(|(through, hash)| {
                        *through == event.seq - 1 && *hash == event.prev_hash
                    });
                let problem = if expected_seq.is_none() && event.seq > 1 && !starts_after_purge {
                    Some("the chain starts after a gap no purge accounts for".to_owned())
                } else if expected_seq.is_some_and(|seq| seq != event.seq) {
                    Some("a gap in the sequence: events are missing before it".to_owned())
                } else if expected_prev
                    .as_ref()
                    .is_some_and(|prev| prev != &event.prev_hash)
                {
                    Some("its previous hash does not match the event before it".to_owned())
                } else if expected_prev.is_none() && event.seq == 1 && event.prev_hash != GENESIS {
                    Some("the first event does not start from the genesis hash".to_owned())
                } else if hash_of(&event) != event.hash {
                    Some("its content does not match its hash".to_owned())
                } else {
                    None
                };
                if let Some(reason) = problem {
                    chain_broken = Some(Broken {
                        chain: head.chain.clone(),
                        event_id: event.id,
                        seq: event.seq,
                        reason,
                    });
                    break 'pages;
                }
                expected_prev = Some(event.hash.clone());
                expected_seq = Some(event.seq + 1);
            }
            if last_page {
                break;
            }
        }
        if chain_broken.is_none() && head.seq > 0 && expected_prev.as_deref() != Some(&head.hash) {
            chain_broken = Some(Broken {
                chain: head.chain.clone(),
                event_id: Uuid::nil(),
                seq: head.seq,
                reason: "the chain ends before its recorded head: events were removed".to_owned(),
            });
        }
        broken.extend(chain_broken);
    }
    Ok((checked, broken))
}

/// What an audit log page is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub action: Option<String>,
    pub actor_id: Option<Uuid>,
    /// Case-insensitive text anywhere in the description, the actor's email, the action or the
    /// target id.
    pub search: Option<String>,
}

/// How many events a page holds and the sequence number it starts below (newest first).
#[derive(Debug, Clone, Copy)]
pub struct EventPage {
    pub first: u64,
    pub before_seq: Option<i64>,
}

/// The text `search` looks in, exactly as the audit search migration indexes it on
/// PostgreSQL (the expression must match for the trigram index to serve the query).
fn search_text(backend: DatabaseBackend) -> &'static str {
    match backend {
        DatabaseBackend::Postgres => {
            "lower(description || chr(10) || coalesce(actor_email, '') || chr(10) || action \
             || chr(10) || coalesce(target_id, ''))"
        }
        _ => {
            "lower(description || char(10) || coalesce(actor_email, '') || char(10) || action \
             || char(10) || coalesce(target_id, ''))"
        }
    }
}

/// On SQLite, rowids of the `audit_search` index are a chain's number times this plus the
/// event's sequence number (see the audit search migration).
const SEARCH_ROWID_STRIDE: i64 = 1 << 36;

/// The trigram index finds only terms of at least three characters; shorter ones are scanned.
const SEARCH_INDEXED_CHARS: usize = 3;

/// A chain's events narrowed by a filter, with the key their newest-first order walks.
struct Filtered {
    query: sea_orm::Select<audit_event::Entity>,
    newest_first: Expr,
}

/// Builds the query for a filter. `None` means nothing can match (a search in a chain the
/// index has never seen).
async fn filtered(
    db: &impl ConnectionTrait,
    chain: &str,
    filter: &Filter,
    below_seq: Option<i64>,
) -> ApiResult<Option<Filtered>> {
    use sea_orm::sea_query::ExprTrait;
    let mut query = audit_event::Entity::find().filter(audit_event::Column::Chain.eq(chain));
    let mut newest_first = Expr::col((audit_event::Entity, audit_event::Column::Seq));
    if let Some(from) = filter.from {
        query = query.filter(audit_event::Column::At.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_event::Column::At.lt(to));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_event::Column::Action.eq(action.clone()));
    }
    if let Some(actor) = filter.actor_id {
        query = query.filter(audit_event::Column::ActorId.eq(actor));
    }
    if let Some(below) = below_seq {
        query = query.filter(audit_event::Column::Seq.lt(below));
    }
    let search = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(search) = search {
        let backend = db.get_database_backend();
        let escaped = search
            .to_lowercase()
            .replace('!', "!!")
            .replace('%', "!%")
            .replace('_', "!_");
        query = query.filter(
            Expr::cust(search_text(backend))
                .like(LikeExpr::new(format!("%{escaped}%")).escape('!')),
        );
        // PostgreSQL's planner serves the LIKE above from the trigram index by itself. SQLite's
        // does not, so the FTS5 index drives the query (the placeholders below are SQLite's): its matches within the chain's rowid
        // range, newest first, each joined to its event (the LIKE then only re-checks a page).
        if backend == DatabaseBackend::Sqlite && search.chars().count() >= SEARCH_INDEXED_CHARS {
            let number: Option<i64> = db
                .query_one_raw(Statement::from_sql_and_values(
                    backend,
                    "SELECT number FROM audit_search_chains WHERE chain = ?",
                    [chain.into()],
                ))
                .await?
                .map(|row| row.try_get("", "number"))
                .transpose()?;
            let Some(number) = number else {
                return Ok(None);
            };
            let low = number * SEARCH_ROWID_STRIDE;
            let high = low + below_seq.unwrap_or(SEARCH_ROWID_STRIDE);
            let phrase = format!("\"{}\"", search.replace('"', "\"\""));
            QueryTrait::query(&mut query)
                .join(
                    JoinType::InnerJoin,
                    Alias::new("audit_search"),
                    Expr::cust_with_values("audit_events.seq = audit_search.rowid - ?", [low]),
                )
                .and_where(Expr::cust_with_values("audit_search MATCH ?", [phrase]))
                .and_where(Expr::cust_with_values(
                    "audit_search.rowid > ? AND audit_search.rowid < ?",
                    [low, high],
                ));
            newest_first = Expr::cust("audit_search.rowid");
        }
    }
    Ok(Some(Filtered {
        query,
        newest_first,
    }))
}

/// A page of a chain's events, newest first, with keyset pagination on the sequence number.
pub async fn page(
    db: &impl ConnectionTrait,
    scope: Scope,
    filter: &Filter,
    page: EventPage,
) -> ApiResult<super::Page<audit_event::Model>> {
    let chain = scope.chain();
    let mut below = page.before_seq;
    // Events are appended in time order, so a time range is also a range of sequence numbers:
    // found through the (chain, at) index, it lets the page walk the (chain, seq) index from
    // the right place instead of filtering every newer event by time.
    if let Some(to) = filter.to {
        let last = audit_event::Entity::find()
            .filter(audit_event::Column::Chain.eq(chain.clone()))
            .filter(audit_event::Column::At.lt(to))
            .order_by_desc(audit_event::Column::At)
            .one(db)
            .await?;
        match last {
            Some(last) => below = Some(below.map_or(last.seq + 1, |b| b.min(last.seq + 1))),
            None => return Ok(super::Page::empty()),
        }
    }
    let Some(Filtered {
        query,
        newest_first,
    }) = filtered(db, &chain, filter, below).await?
    else {
        return Ok(super::Page::empty());
    };
    let rows = query
        .order_by(newest_first, Order::Desc)
        .limit(page.first + 1)
        .all(db)
        .await?;
    Ok(super::Page::from_rows(rows, page.first))
}

/// How many events of a chain match a filter.
pub async fn count(db: &impl ConnectionTrait, scope: Scope, filter: &Filter) -> ApiResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(match filtered(db, &scope.chain(), filter, None).await? {
        Some(filtered) => filtered.query.count(db).await?,
        None => 0,
    })
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> ApiResult<Option<audit_event::Model>> {
    Ok(audit_event::Entity::find_by_id(id).one(db).await?)
}

/// Streams the events of a chain (oldest first) to `out` as JSON Lines, a page at a time so
/// that memory stays flat however long the log. Returns how many events were written.
pub async fn export(
    db: &impl ConnectionTrait,
    scope: Scope,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    out: &mut impl std::io::Write,
) -> ApiResult<u64> {
    const PAGE: u64 = 1000;
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
        let events = query
            .filter(audit_event::Column::Seq.gt(after))
            .order_by_asc(audit_event::Column::Seq)
            .limit(PAGE)
            .all(db)
            .await?;
        for event in &events {
            serde_json::to_writer(&mut *out, &to_json(event)).map_err(ApiError::internal)?;
            out.write_all(b"\n").map_err(ApiError::internal)?;
            after = event.seq;
            written += 1;
        }
        if (events.len() as u64) < PAGE {
            out.flush().map_err(ApiError::internal)?;
            return Ok(written);
        }
    }
}

/// Removes every chain's events older than `before`, then records in each chain what was
/// removed and the hash the remaining events continue from, so every chain still verifies.
/// Returns how many events were removed.
pub async fn purge(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    before: DateTime<Utc>,
) -> ApiResult<u64> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    let chains: Vec<String> = audit_head::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|head| head.chain)
        .collect();
    let mut removed = 0;
    for chain in chains {
        let txn = crate::db::begin_write(db).await?;
        let last_old = audit_event::Entity::find()
            .filter(audit_event::Column::Chain.eq(chain.clone()))
            .filter(audit_event::Column::At.lt(before))
            .order_by_desc(audit_event::Column::Seq)
            .one(&txn)
            .await?;
        let Some(last_old) = last_old else {
            continue;
        };
        let result = audit_event::Entity::delete_many()
            .filter(audit_event::Column::Chain.eq(chain.clone()))
            .filter(Expr::col(audit_event::Column::Seq).lte(last_old.seq))
            .exec(&txn)
            .await?;
        removed += result.rows_affected;
        let scope = match chain.split_once(':') {
            Some(("org", id)) => Uuid::parse_str(id).ok().map(Scope::Organization),
            Some(("user", id)) => Uuid::parse_str(id).ok().map(Scope::User),
            _ => None,
        }
        .ok_or_else(|| ApiError::internal(format!("unknown audit chain {chain}")))?;
        record(
            &txn,
            actor,
            Event::new(
                scope,
                Action::AuditPurged,
                format!(
                    "{} removed {} event(s) older than {}",
                    actor.name(),
                    result.rows_affected,
                    canonical_time(before)
                ),
            )
            .payload(json!({
                "purgedBefore": canonical_time(before),
                "purgedThroughSeq": last_old.seq,
                "removed": result.rows_affected,
                "anchorHash": last_old.hash,
            })),
        )
        .await?;
        txn.commit().await?;
    }
    Ok(removed)
}
