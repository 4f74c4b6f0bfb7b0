//! Opening a session once the sign-in is complete: its row, its rotating refresh tokens and
//! the access token that names it; and renewing those tokens when the session moves or steps
//! up.

use chrono::{DateTime, Utc};
use entity::{refresh_token, session, user};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::method::{SignInMethod, proof_of};
use crate::auth::tokens::{hash_token, new_refresh_token};
use crate::authz::Proof;
use crate::error::ApiResult;
use crate::services::audit::{Actor, Event};
use crate::services::store::scope::write;
use crate::services::{AppState, RequestMeta};

/// Tokens handed to a client after a login, a refresh or an organization switch.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
    pub user: crate::services::identity::users::UserRecord,
    pub organization_id: Option<Uuid>,
    /// What the session proved, as the gate weighs it per organization.
    pub proof: Proof,
}

/// Opens a session for a user who has just proved who they are another way (by accepting an
/// invitation, or through single sign-on), recording `describe`'s events of the new session
/// with it.
pub async fn open(
    state: &AppState,
    user: user::Model,
    organization_id: Option<Uuid>,
    method: SignInMethod,
    meta: &RequestMeta,
    describe: impl FnOnce(&session::Model) -> Vec<Event>,
) -> ApiResult<Tokens> {
    let (session, refresh_token) = write(&state.db, &Actor::user(&user, meta), async |txn| {
        let (session, refresh_token, linked) =
            open_in(txn, state, &user, organization_id, method, meta).await?;
        let mut events = describe(&session);
        events.extend(linked);
        Ok(((session, refresh_token), events))
    })
    .await?;
    tokens(state, user, &session, refresh_token)
}

async fn open_in(
    txn: &impl ConnectionTrait,
    state: &AppState,
    user: &user::Model,
    organization_id: Option<Uuid>,
    method: SignInMethod,
    meta: &RequestMeta,
) -> ApiResult<(session::Model, String, Vec<Event>)> {
    let now = Utc::now();
    let linked = match (
        &method.link_subject,
        &method.idp_issuer,
        method.idp_organization_id,
    ) {
        (Some(subject), Some(issuer), Some(org)) => {
            crate::services::identity::sso::links::link_identity(
                txn, state, org, issuer, subject, user,
            )
            .await?
        }
        _ => vec![],
    };
    let session = session::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        organization_id: Set(organization_id),
        created_at: Set(now),
        expires_at: Set(now + state.settings.session_ttl),
        revoked_at: Set(None),
        revoked_reason: Set(None),
        ip: Set(meta.ip.clone()),
        user_agent: Set(meta.user_agent.as_ref().map(|ua| truncate(ua, 512))),
        auth_method: Set(method.method),
        idp_issuer: Set(method.idp_issuer),
        idp_organization_id: Set(method.idp_organization_id),
        mfa_at: Set(method.mfa_at),
        amr: Set(method.amr),
    }
    .insert(txn)
    .await?;
    let refresh_token = issue_refresh_token(txn, state, &session).await?;
    Ok((session, refresh_token, linked))
}

/// Retires the session's outstanding refresh tokens and issues one new one, in the caller's
/// write (a session moved to another organization, or stepped up). A retired token presented
/// later is stale, not a reuse: its client may simply not have stored the new one yet.
pub(crate) async fn renew_refresh_token(
    txn: &impl ConnectionTrait,
    state: &AppState,
    session: &session::Model,
) -> ApiResult<String> {
    let now = Utc::now();
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .col_expr(refresh_token::Column::RetiredAt, Expr::value(now))
        .filter(refresh_token::Column::SessionId.eq(session.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(txn)
        .await?;
    issue_refresh_token(txn, state, session).await
}

pub(in crate::services) async fn issue_refresh_token(
    txn: &impl ConnectionTrait,
    state: &AppState,
    session: &session::Model,
) -> ApiResult<String> {
    let token = new_refresh_token();
    let now = Utc::now();
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        session_id: Set(session.id),
        token_hash: Set(hash_token(&token)),
        created_at: Set(now),
        expires_at: Set((now + state.settings.refresh_token_ttl).min(session.expires_at)),
        used_at: Set(None),
        retired_at: Set(None),
    }
    .insert(txn)
    .await?;
    Ok(token)
}

pub(crate) fn tokens(
    state: &AppState,
    user: user::Model,
    session: &session::Model,
    refresh_token: String,
) -> ApiResult<Tokens> {
    let (access_token, expires_at) = state.tokens.issue_access(
        user.id,
        session.id,
        session.organization_id,
        session.amr.split(' ').map(str::to_owned).collect(),
        session.idp_issuer.as_deref(),
    )?;
    Ok(Tokens {
        access_token,
        refresh_token,
        expires_at,
        user: user.into(),
        organization_id: session.organization_id,
        proof: proof_of(session),
    })
}

fn truncate(value: &str, max: usize) -> String {
    value.chars().take(max).collect()
}
