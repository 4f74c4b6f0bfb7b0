//! Inviting people by email: single-use tokens stored only as hashes, expiry, seats held while
//! pending, a daily limit per organization, and acceptance that creates the account when the
//! email is new.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use entity::{invitation, membership, organization, user};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::password;
use crate::auth::tokens::hash_token;
use crate::authz::{OrgAccess, power, seats};
use crate::domain::{DisplayName, Email, NewPassword};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::mail::Message;
use crate::services::audit::{Action, Actor, Event, Scope};
use crate::services::organization::roles::RoleRecord;
use crate::services::store::records;
use crate::services::store::scope::{self, OrgChange, OrgScope, claim_once};
use crate::services::store::seats::ensure_licensed_seat;
use crate::services::{
    AppState, Page, PageArgs, RequestMeta, identity::credentials, identity::users,
};

pub const PENDING: &str = "pending";
pub const ACCEPTED: &str = "accepted";
pub const REVOKED: &str = "revoked";

/// The one answer for a token that is unknown, used, revoked or expired.
const INVALID: &str = "this invitation is not valid; ask for a new one";

/// The status of an invitation as people see it.
pub fn status(invitation: &invitation::Model) -> &'static str {
    status_of(&invitation.status, invitation.expires_at)
}

/// The status people see of an invitation `stored` as it is, expiring at `expires_at`.
fn status_of(stored: &str, expires_at: DateTime<Utc>) -> &'static str {
    match stored {
        PENDING if expires_at <= Utc::now() => "expired",
        PENDING => PENDING,
        ACCEPTED => ACCEPTED,
        _ => REVOKED,
    }
}

/// An invitation as callers see it: never its token's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationRecord {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub email: String,
    /// The role the invited person will hold.
    pub role_id: Uuid,
    /// As stored: `pending`, `accepted` or `revoked` ([`Self::status`] tells expiry too).
    pub stored_status: String,
    pub expires_at: DateTime<Utc>,
    pub invited_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl InvitationRecord {
    /// The status as people see it: `pending`, `accepted`, `revoked` or `expired`.
    pub fn status(&self) -> &'static str {
        status_of(&self.stored_status, self.expires_at)
    }
}

impl From<invitation::Model> for InvitationRecord {
    fn from(model: invitation::Model) -> Self {
        Self {
            id: model.id,
            organization_id: model.organization_id,
            email: model.email,
            role_id: model.role_id,
            stored_status: model.status,
            expires_at: model.expires_at,
            invited_by: model.invited_by,
            created_at: model.created_at,
        }
    }
}

/// The invitations `ids` that exist, whatever their organization, as records (for the loader;
/// the caller checks access to each).
pub async fn records(
    state: &AppState,
    ids: &[Uuid],
) -> ApiResult<std::collections::HashMap<Uuid, InvitationRecord>> {
    let found = load(&state.db, ids).await?;
    Ok(found.into_iter().map(|(id, i)| (id, i.into())).collect())
}

/// What an administrator asks for.
pub struct InviteSpec {
    pub email: String,
    pub role_id: Uuid,
    pub expires_in_days: Option<i32>,
}

/// Invites `email` into the organization with a role (within the inviter's own grants).
/// Inviting an email with a pending invitation replaces it; inviting a member is a CONFLICT.
/// The message is sent before the transaction commits, so an invitation exists only if its
/// email went out.
pub async fn invite(
    change: &OrgChange,
    state: &AppState,
    spec: InviteSpec,
) -> ApiResult<invitation::Model> {
    let email = Email::parse("email", &spec.email)?;
    let days = spec.expires_in_days.unwrap_or(7);
    if !(1..=30).contains(&days) {
        return Err(ApiError::invalid(
            "expiresInDays",
            "must be between 1 and 30",
        ));
    }
    change
        .write(async |tx| {
            let (txn, org) = (tx.txn, tx.organization);
            let role = records::role_in_organization(txn, tx.policy(), org.id, spec.role_id).await?;
            power::may_hand_out(tx.policy(), tx.access.standing(), role.standing())?;
            refuse_member(txn, org.id, &email).await?;
            within_daily_limit(txn, org.id, state.settings.invitations_per_day).await?;
            // A new invitation for the same email replaces the pending one (and frees its seat).
            let now = Utc::now();
            revoke_pending(txn, org.id, &email, now).await?;
            if seats::needs_another_seat(None, role.seat_class, org.free_read_only_seats) {
                ensure_licensed_seat(txn, tx.policy(), org).await?;
            }
            let token = new_token();
            let model = pending_invitation(org.id, &email, &role, &token, (now, days), tx.access)
                .insert(txn)
                .await?;
            let event = tx
                .event(
                    Action::InvitationSent,
                    format!("invited {} as {}", model.email, role.name),
                )
                .target("invitation", model.id)
                .payload(json!({ "after": { "email": model.email, "role": role.key, "expiresAt": model.expires_at } }));
            state
                .mailer
                .send(&invitation_message(org, &role, tx.actor, &model, &token))
                .await
                .map_err(|err| ApiError::internal(format!("sending an invitation: {err:?}")))?;
            Ok((model, Some(event)))
        })
        .await
}

/// A new pending invitation of `email` to `role`, sent by `inviter`.
fn pending_invitation(
    organization_id: Uuid,
    email: &Email,
    role: &RoleRecord,
    token: &str,
    (now, days): (chrono::DateTime<Utc>, i32),
    inviter: &OrgAccess,
) -> invitation::ActiveModel {
    invitation::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(organization_id),
        email: Set(email.as_str().to_owned()),
        email_lower: Set(email.key()),
        role_id: Set(role.id),
        token_hash: Set(hash_token(token)),
        status: Set(PENDING.to_owned()),
        expires_at: Set(now + Duration::days(days as i64)),
        invited_by: Set(Some(inviter.user_id())),
        created_at: Set(now),
        accepted_at: Set(None),
        accepted_by: Set(None),
        revoked_at: Set(None),
    }
}

/// Inviting someone who is already a member is a CONFLICT.
async fn refuse_member(
    txn: &impl ConnectionTrait,
    organization_id: Uuid,
    email: &Email,
) -> ApiResult<()> {
    if let Some(existing) = users::find_by_email(txn, email).await?
        && membership::Entity::find()
            .filter(membership::Column::OrganizationId.eq(organization_id))
            .filter(membership::Column::UserId.eq(existing.id))
            .one(txn)
            .await?
            .is_some()
    {
        return Err(ApiError::conflict(format!(
            "{} is already a member",
            email.as_str()
        )));
    }
    Ok(())
}

/// At most `limit` invitations per organization in 24 hours, else RATE_LIMITED.
async fn within_daily_limit(
    txn: &impl ConnectionTrait,
    organization_id: Uuid,
    limit: u32,
) -> ApiResult<()> {
    let recent = invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.eq(organization_id))
        .filter(invitation::Column::CreatedAt.gt(Utc::now() - Duration::hours(24)))
        .count(txn)
        .await?;
    if recent >= limit as u64 {
        return Err(ApiError::new(
            ErrorCode::RateLimited,
            format!("at most {limit} invitations per organization in 24 hours"),
        ));
    }
    Ok(())
}

/// Revokes the pending invitation of `email`, if any.
async fn revoke_pending(
    txn: &impl ConnectionTrait,
    organization_id: Uuid,
    email: &Email,
    now: chrono::DateTime<Utc>,
) -> ApiResult<()> {
    invitation::Entity::update_many()
        .col_expr(
            invitation::Column::Status,
            sea_orm::sea_query::Expr::value(REVOKED),
        )
        .col_expr(
            invitation::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(invitation::Column::OrganizationId.eq(organization_id))
        .filter(invitation::Column::EmailLower.eq(email.key()))
        .filter(invitation::Column::Status.eq(PENDING))
        .exec(txn)
        .await?;
    Ok(())
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("chi_{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn invitation_message(
    org: &organization::Model,
    role: &RoleRecord,
    actor: &Actor,
    invitation: &invitation::Model,
    token: &str,
) -> Message {
    Message {
        to: invitation.email.clone(),
        subject: format!("You are invited to {} on Charter", org.name),
        text: format!(
            "{} invited you to join {} ({}) as {}.\n\n\
             Accept with the acceptInvitation mutation and this token:\n\n    {token}\n\n\
             The invitation expires at {} and works once.\n",
            actor.name(),
            org.name,
            org.public_id,
            role.name,
            invitation.expires_at.to_rfc3339(),
        ),
    }
}

/// Revokes a pending invitation of the organization (its seat is freed).
pub async fn revoke(change: &OrgChange, invitation_id: Uuid) -> ApiResult<invitation::Model> {
    change
        .write(async |tx| {
            let found = invitation::Entity::find_by_id(invitation_id)
                .one(tx.txn)
                .await?
                .filter(|i| i.organization_id == tx.organization_id())
                .ok_or_else(|| ApiError::not_found("invitation"))?;
            if status(&found) != PENDING {
                return Err(ApiError::conflict(format!(
                    "the invitation is {}, not pending",
                    status(&found)
                )));
            }
            let mut active: invitation::ActiveModel = found.into();
            active.status = Set(REVOKED.to_owned());
            active.revoked_at = Set(Some(Utc::now()));
            let revoked = active.update(tx.txn).await?;
            let event = tx
                .event(
                    Action::InvitationRevoked,
                    format!("revoked the invitation of {}", revoked.email),
                )
                .target("invitation", revoked.id)
                .payload(json!({ "before": { "email": revoked.email, "status": PENDING } }));
            Ok((revoked, Some(event)))
        })
        .await
}

/// How someone accepting proves who they are.
pub struct Acceptance {
    pub token: String,
    pub display_name: Option<String>,
    pub password: Option<String>,
    /// The signed-in user making the request, if any.
    pub signed_in: Option<Uuid>,
}

/// Invitations by their ids, whatever their organization (for the loader; the caller checks
/// access to each).
pub(crate) async fn load(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> ApiResult<std::collections::HashMap<Uuid, invitation::Model>> {
    Ok(invitation::Entity::find()
        .filter(invitation::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|found| (found.id, found))
        .collect())
}

/// Accepts an invitation: creates the account when the email is new (display name and a
/// password that follows the rules), or adds the membership to the existing account, which
/// must prove it is theirs (signed in as that email, or its password). Returns the user and
/// the organization joined.
pub async fn accept(
    state: &AppState,
    acceptance: Acceptance,
    meta: &RequestMeta,
) -> ApiResult<(user::Model, Uuid)> {
    let found = pending_by_token(&state.db, &acceptance.token).await?;
    let email = Email::parse("email", &found.email)?;
    let existing = users::find_by_email(&state.db, &email).await?;
    // Work that is slow (hashing) happens before the write transaction.
    let new_account = match &existing {
        Some(user) => {
            prove_account(state, &acceptance, &email, user, meta).await?;
            None
        }
        None => Some(new_account(&acceptance).await?),
    };
    let organization_id = found.organization_id;
    scope::write_recording(&state.db, async |txn| {
        claim(txn, found.id).await?;
        let (account, created) = match (existing, new_account) {
            (Some(user), _) => (user, false),
            (None, Some((name, hash))) => (
                users::insert(txn, &email, name.into_inner(), Some(hash)).await?,
                true,
            ),
            (None, None) => return Err(ApiError::internal("an acceptance without an account")),
        };
        let (joined, role) = join(txn, state, &found, &account).await?;
        let account = if account.default_organization_id.is_none() {
            let mut active: user::ActiveModel = account.into();
            active.default_organization_id = Set(Some(organization_id));
            active.update(txn).await?
        } else {
            account
        };
        let event = Event::new(
            Scope::Organization(organization_id),
            Action::InvitationAccepted,
            format!("{} accepted the invitation as {}", account.email, role.name),
        )
        .target("membership", joined.id)
        .payload(json!({ "after": { "user": account.email, "role": role.key, "accountCreated": created } }));
        let actor = Actor::user(&account, meta);
        Ok(((account, organization_id), vec![(actor, event)]))
    })
    .await
}

/// The answer for an unknown, used, revoked or expired token alike.
fn invalid_token() -> ApiError {
    ApiError::new(ErrorCode::NotFound, INVALID)
}

/// The pending invitation a token belongs to.
async fn pending_by_token(db: &impl ConnectionTrait, token: &str) -> ApiResult<invitation::Model> {
    invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(hash_token(token.trim())))
        .one(db)
        .await?
        .filter(|i| status(i) == PENDING)
        .ok_or_else(invalid_token)
}

/// An existing account accepts only when it is signed in, or gives its password (checked
/// under the sign-in throttle).
async fn prove_account(
    state: &AppState,
    acceptance: &Acceptance,
    email: &Email,
    user: &user::Model,
    meta: &RequestMeta,
) -> ApiResult<()> {
    if acceptance.signed_in == Some(user.id) {
        return Ok(());
    }
    let Some(password_text) = acceptance.password.clone() else {
        return Err(ApiError::unauthenticated(
            "sign in as the invited email, or give its password, to accept",
        ));
    };
    let checked = credentials::check_password(
        state,
        email,
        Some(user),
        password_text,
        credentials::PasswordCheck::AcceptInvitation,
        meta,
    )
    .await?;
    if !checked {
        return Err(ApiError::unauthenticated(
            "the email or password is incorrect",
        ));
    }
    Ok(())
}

/// The display name and password hash of the account a new email gets.
async fn new_account(acceptance: &Acceptance) -> ApiResult<(DisplayName, String)> {
    let name = DisplayName::parse(
        "displayName",
        acceptance.display_name.as_deref().unwrap_or_default(),
    )?;
    let new_password = NewPassword::parse(
        "password",
        acceptance.password.as_deref().unwrap_or_default(),
    )?;
    Ok((name, password::hash(new_password.into_inner()).await?))
}

/// Claims the invitation: only one acceptance can turn it from pending to accepted.
async fn claim(txn: &impl ConnectionTrait, id: Uuid) -> ApiResult<()> {
    let claim = invitation::Entity::update_many()
        .col_expr(
            invitation::Column::Status,
            sea_orm::sea_query::Expr::value(ACCEPTED),
        )
        .col_expr(
            invitation::Column::AcceptedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(invitation::Column::Id.eq(id))
        .filter(invitation::Column::Status.eq(PENDING));
    if claim_once(txn, claim).await? {
        Ok(())
    } else {
        Err(invalid_token())
    }
}

/// Makes `account` a member with the invitation's role, and records who accepted.
async fn join(
    txn: &impl ConnectionTrait,
    state: &AppState,
    found: &invitation::Model,
    account: &user::Model,
) -> ApiResult<(membership::Model, RoleRecord)> {
    let already = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(found.organization_id))
        .filter(membership::Column::UserId.eq(account.id))
        .one(txn)
        .await?;
    if already.is_some() {
        return Err(ApiError::conflict(
            "you are already a member of this organization",
        ));
    }
    let role =
        records::role_in_organization(txn, &state.policy, found.organization_id, found.role_id)
            .await
            .map_err(|_| invalid_token())?;
    let joined = crate::services::store::records::new_membership(
        account,
        found.organization_id,
        role.id,
        &role.name,
        found.invited_by,
    )
    .insert(txn)
    .await?;
    invitation::Entity::update_many()
        .col_expr(
            invitation::Column::AcceptedBy,
            sea_orm::sea_query::Expr::value(account.id),
        )
        .filter(invitation::Column::Id.eq(found.id))
        .exec(txn)
        .await?;
    Ok((joined, role))
}

/// An organization's invitations, newest first, optionally of one status.
pub async fn page(
    scope: &OrgScope,
    status_filter: Option<&str>,
    args: PageArgs,
) -> ApiResult<(Page<InvitationRecord>, u64)> {
    let db = scope.db();
    let now = Utc::now();
    let mut query = invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.eq(scope.organization_id()));
    match status_filter {
        Some("pending") => {
            query = query
                .filter(invitation::Column::Status.eq(PENDING))
                .filter(invitation::Column::ExpiresAt.gt(now))
        }
        Some("expired") => {
            query = query
                .filter(invitation::Column::Status.eq(PENDING))
                .filter(invitation::Column::ExpiresAt.lte(now))
        }
        Some(other) => query = query.filter(invitation::Column::Status.eq(other)),
        None => {}
    }
    let total = query.clone().count(db).await?;
    if let Some(after) = args.after {
        query = query.filter(invitation::Column::Id.lt(after));
    }
    let rows = query
        .order_by_desc(invitation::Column::Id)
        .limit(args.first + 1)
        .all(db)
        .await?;
    Ok((Page::from_rows(rows, args.first).map(Into::into), total))
}
