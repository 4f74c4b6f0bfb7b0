//! The sign-in flow: `start` sends the browser to the provider with a fresh `state`, `nonce`
//! and PKCE pair, kept server-side (so any Charter process can take the callback) and bound to
//! the browser by a cookie; `callback` takes each back once, exchanges the code, verifies the
//! ID token, finds or provisions the person, and hands the application a one-time code that
//! lasts 60 seconds; `exchange` turns that code into a session. Tokens never travel in a URL.

use chrono::{Duration, Utc};
use entity::{organization, sso_code, sso_connection, sso_identity, sso_login, user};
use openidconnect::core::CoreIdToken;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::links::{locked_with_link, provision, seated_default_role, signed_in_through};
use super::provider::{self, ClientConfig, Rejection, Verified};
pub use super::refusals::Failure;
use super::refusals::{Reason, Refused, refusal};
use super::requests::{self, Pending, client_config, open_secret, random_secret, redirect_uri};
use super::{AppState, enabled_connection};
use crate::auth::tokens::hash_token;
use crate::domain::text::{self, TextKind};
use crate::domain::{DisplayName, Email};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::services::RequestMeta;
use crate::services::audit::{Action, Actor, Event, Scope};
use crate::services::identity::credentials::{PasswordCheck, check_password};
use crate::services::identity::sign_in::{self, SignIn, SignInMethod};
use crate::services::identity::users;
use crate::services::store::records;
use crate::services::store::scope::{claim_once, write_unrecorded};
use crate::services::store::scope::{write, write_recording};

/// The cookie that binds a sign-in to the browser that started it.
pub const BROWSER_COOKIE: &str = "charter_sso";
/// How long a sign-in may stay at the provider.
pub const LOGIN_TTL: Duration = Duration::minutes(10);
/// How long the application has to exchange the code a sign-in ends with.
pub const CODE_TTL: Duration = Duration::seconds(60);
/// The query parameter the code is handed over in.
pub const CODE_PARAMETER: &str = "sso_code";
/// How long the application has to exchange a code whose account must first confirm the link
/// with its password (a person types it).
pub const LINK_CODE_TTL: Duration = Duration::minutes(5);
/// The query parameter that tells the application the code needs the person's password.
pub const LINK_PARAMETER: &str = "sso_link";
const MAX_RETURN_TO: usize = 2048;
/// Sign-ins one client address (an IPv6 /64) may start within [`LOGIN_TTL`]: each stays a row
/// until it expires, whether or not it came back, so starts cost the caller who makes them and
/// no organization has a cap that strangers can fill.
pub const MAX_STARTS_PER_CLIENT: u64 = 60;
/// The page for an organization without single sign-on, and for no organization at all: the
/// start URL tells an anonymous caller nothing about either.
pub(super) const NOT_AVAILABLE: &str = "single sign-on is not available at this address";

/// Where `start` sends the browser, and the cookie it sets there.
pub struct Started {
    pub redirect: String,
    pub browser_secret: String,
    /// The provider answers with a cross-site POST (SAML's HTTP-POST binding), which carries
    /// the cookie only when it is `SameSite=None`.
    pub posted_back: bool,
}

/// Starts a sign-in to the organization `public_id`, to come back to `return_to` (whose origin
/// must be one of the configured return origins).
pub async fn start(
    state: &AppState,
    public_id: &str,
    return_to: Option<&str>,
    meta: &RequestMeta,
) -> Result<Started, Failure> {
    let return_to = checked_return_to(state, return_to)?;
    let (org, connection) = enabled_by_public_id(state, public_id).await?;
    if !super::in_browser(&connection) {
        return Err(Failure::new(404, NOT_AVAILABLE));
    }
    let posted_back = connection.protocol == super::SAML;
    let pending = requests::pending(state, &org, &connection)?;
    let browser_secret = random_secret();
    remember(state, org.id, &pending, &browser_secret, return_to, meta).await?;
    Ok(Started {
        redirect: pending.url,
        browser_secret,
        posted_back,
    })
}

/// Keeps `pending` until its answer comes back, bound to the browser's secret; refused when its
/// client already has [`MAX_STARTS_PER_CLIENT`] sign-ins under way.
async fn remember(
    state: &AppState,
    organization_id: Uuid,
    pending: &Pending,
    browser_secret: &str,
    return_to: String,
    meta: &RequestMeta,
) -> ApiResult<()> {
    let client = client_key(meta);
    let now = Utc::now();
    let row = sso_login::ActiveModel {
        id: Set(Uuid::now_v7()),
        state_hash: Set(hash_token(&pending.state)),
        browser_hash: Set(hash_token(browser_secret)),
        organization_id: Set(organization_id),
        issuer: Set(pending.issuer.clone()),
        nonce: Set(pending.nonce.clone()),
        pkce_verifier: Set(pending.pkce_verifier.clone()),
        return_to: Set(return_to),
        created_at: Set(now),
        expires_at: Set(now + LOGIN_TTL),
        client_key: Set(client.clone()),
        used_at: Set(None),
    };
    write(&state.db, &Actor::default(), async |txn| {
        // Sign-ins abandoned at the provider go when the next one starts.
        sso_login::Entity::delete_many()
            .filter(sso_login::Column::ExpiresAt.lt(now))
            .exec(txn)
            .await?;
        let started = sso_login::Entity::find()
            .filter(sso_login::Column::ClientKey.eq(client.as_str()))
            .count(txn)
            .await?;
        if started >= MAX_STARTS_PER_CLIENT {
            return Err(ApiError::new(
                ErrorCode::RateLimited,
                "too many sign-ins were started from your address; try again in a few minutes",
            ));
        }
        row.insert(txn).await?;
        Ok(((), vec![]))
    })
    .await
}

/// The organization with public id `public_id` and its connection, while single sign-on is
/// on there; the same 404 for an unknown organization and one without it.
pub(super) async fn enabled_by_public_id(
    state: &AppState,
    public_id: &str,
) -> Result<(organization::Model, sso_connection::Model), Failure> {
    let org = organization::Entity::find()
        .filter(organization::Column::PublicId.eq(public_id))
        .one(&state.db)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| Failure::new(404, NOT_AVAILABLE))?;
    let connection = enabled_connection(&state.db, org.id)
        .await?
        .ok_or_else(|| Failure::new(404, NOT_AVAILABLE))?;
    Ok((org, connection))
}

/// What starts are counted by: the client's network, hashed, as it is kept.
fn client_key(meta: &RequestMeta) -> String {
    hash_token(&format!("sso-start:{}", client_network(meta)))
}

/// The client's address (as the trusted proxies report it), an IPv6 one by its /64, which one
/// subscriber usually holds whole: what a stranger's attempts are counted by.
pub(super) fn client_network(meta: &RequestMeta) -> String {
    let address = meta.ip.as_deref().unwrap_or_default();
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            format!("{}/64", std::net::Ipv6Addr::from(octets))
        }
        Ok(std::net::IpAddr::V6(v6)) => v6.to_canonical().to_string(),
        _ => address.to_owned(),
    }
}

/// `return_to` when it is an absolute http(s) URL on one of the configured return origins, or
/// a page of Charter's own console, that does not already carry a sign-in code (the final
/// redirect would hold a stranger's first).
pub(super) fn checked_return_to(
    state: &AppState,
    return_to: Option<&str>,
) -> Result<String, Failure> {
    let refused = |why: &str| Failure::new(400, format!("return_to {why}"));
    let Some(return_to) = return_to else {
        return Err(refused(
            "is required: the URL to come back to after signing in",
        ));
    };
    text::check("return_to", TextKind::Line, return_to, MAX_RETURN_TO)
        .map_err(|err| Failure::new(400, format!("return_to {}", err.message)))?;
    let url = url::Url::parse(return_to).map_err(|_| refused("is not an absolute URL"))?;
    if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() {
        return Err(refused("must be an http or https URL without credentials"));
    }
    if url
        .query_pairs()
        .any(|(name, _)| name == CODE_PARAMETER || name == LINK_PARAMETER)
    {
        return Err(refused(&format!(
            "must not carry {CODE_PARAMETER} or {LINK_PARAMETER}: Charter adds them"
        )));
    }
    let origin = url.origin().ascii_serialization();
    // Charter's own console (`<public_url>/console/…`) needs no listing.
    let console = state
        .settings
        .sso
        .public_url
        .as_deref()
        .is_some_and(|public| url.as_str().starts_with(&format!("{public}/console/")));
    if !console && !state.settings.sso.return_origins.contains(&origin) {
        return Err(refused(&format!(
            "is not on an origin Charter returns to ({origin} is not in sso_return_origins)"
        )));
    }
    Ok(url.to_string())
}

/// What the provider sent back to the callback.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Takes a sign-in back from the provider, once, and answers where to send the browser (the
/// sign-in's `return_to` with a one-time code).
///
/// Nothing reaches the provider, and nothing is written to an organization's log, before the
/// `state` of a sign-in this process family started is presented from the browser that started
/// it; such sign-ins are bounded per client by [`start`].
pub async fn callback(
    state: &AppState,
    params: CallbackParams,
    browser_secret: Option<&str>,
    meta: &RequestMeta,
) -> Result<String, Failure> {
    let login = login_of(state, params.state.as_deref(), browser_secret).await?;
    let org = organization::Entity::find_by_id(login.organization_id)
        .one(&state.db)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| Failure::new(404, NOT_AVAILABLE))?;
    let refuse = async |refused: Refused| -> Failure { refusal(state, &org, refused, meta).await };
    if let Some(error) = params.error {
        return Err(refuse(Refused::provider_error(&error)).await);
    }
    let connection = match enabled_connection(&state.db, org.id).await? {
        Some(connection)
            if connection.protocol == super::OIDC
                && connection.issuer.as_deref() == Some(login.issuer.as_str()) =>
        {
            connection
        }
        _ => return Err(refuse(Refused::of(Reason::ConnectionChanged)).await),
    };
    let Some(code) = params
        .code
        .filter(|code| !code.is_empty() && code.len() <= 2048)
    else {
        return Err(Failure::new(400, "the identity provider sent no code"));
    };
    let verified = match verified_identity(state, &connection, &login, &code).await? {
        Ok(verified) => verified,
        Err(rejection) => return Err(refuse(Refused::rejected(&rejection)).await),
    };
    let issuer = login.issuer.clone();
    let admitted = match admit(state, &org, &connection, &issuer, &verified, meta).await? {
        Ok(admitted) => admitted,
        Err(refused) => return Err(refuse(refused).await),
    };
    let code = issue_code(state, org.id, issuer, &admitted, verified.mfa).await?;
    Ok(back_with(
        &login.return_to,
        &code,
        admitted.link_subject.is_some(),
    )?)
}

/// The sign-in a callback's `state` names, claimed (it works once) and still fresh, in the
/// browser that started it.
async fn login_of(
    state: &AppState,
    presented: Option<&str>,
    browser_secret: Option<&str>,
) -> Result<sso_login::Model, Failure> {
    let presented = presented
        .filter(|value| value.len() <= 512)
        .ok_or_else(unknown_login)?;
    let login = claim_login(state, presented)
        .await?
        .ok_or_else(unknown_login)?;
    taken_back(login, browser_secret)
}

/// The page for a sign-in that is not (or no longer) under way.
pub(super) fn unknown_login() -> Failure {
    Failure::new(
        400,
        "this sign-in is unknown, already used or expired; start it again",
    )
}

/// `login`, claimed, when it is still fresh and `browser_secret` is the one of the browser that
/// started it.
pub(super) fn taken_back(
    login: sso_login::Model,
    browser_secret: Option<&str>,
) -> Result<sso_login::Model, Failure> {
    if login.expires_at <= Utc::now() {
        return Err(unknown_login());
    }
    let same_browser = browser_secret.is_some_and(|secret| {
        use subtle::ConstantTimeEq;
        hash_token(secret)
            .as_bytes()
            .ct_eq(login.browser_hash.as_bytes())
            .into()
    });
    if !same_browser {
        return Err(Failure::new(
            400,
            "this sign-in was started in another browser (or its cookie was lost); start it again",
        ));
    }
    Ok(login)
}

/// A new one-time code for `admitted`'s sign-in to `organization_id`: 60 seconds to exchange
/// it, or five minutes when the person must first confirm the link with their password.
pub(super) async fn issue_code(
    state: &AppState,
    organization_id: Uuid,
    issuer: String,
    admitted: &Admitted,
    provider_mfa: bool,
) -> ApiResult<String> {
    let code = new_code();
    let now = Utc::now();
    let linking = admitted.link_subject.is_some();
    let row = sso_code::ActiveModel {
        code_hash: Set(hash_token(&code)),
        user_id: Set(admitted.user.id),
        organization_id: Set(organization_id),
        issuer: Set(issuer),
        created_at: Set(now),
        expires_at: Set(now + if linking { LINK_CODE_TTL } else { CODE_TTL }),
        provider_mfa: Set(provider_mfa),
        link_subject: Set(admitted.link_subject.clone()),
    };
    // Codes nobody exchanged go when the next one is made.
    write_unrecorded(&state.db, async |txn| {
        sso_code::Entity::delete_many()
            .filter(sso_code::Column::ExpiresAt.lt(now))
            .exec(txn)
            .await?;
        row.insert(txn).await?;
        Ok(())
    })
    .await?;
    Ok(code)
}

/// `return_to` with the code (and, when the link waits for the person's password, the mark that
/// says so) in place of any it carried.
pub(super) fn back_with(return_to: &str, code: &str, linking: bool) -> ApiResult<String> {
    let mut back = url::Url::parse(return_to).map_err(ApiError::internal)?;
    let kept: Vec<(String, String)> = back
        .query_pairs()
        .filter(|(name, _)| name != CODE_PARAMETER && name != LINK_PARAMETER)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    back.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair(CODE_PARAMETER, code);
    if linking {
        back.query_pairs_mut()
            .append_pair(LINK_PARAMETER, "required");
    }
    Ok(back.to_string())
}

/// The sign-in whose `state` was presented, marked used as it is read: a second callback with
/// the same `state` finds nothing. The row stays until it expires, so that it still counts
/// among its client's starts.
pub(super) async fn claim_login(
    state: &AppState,
    presented: &str,
) -> ApiResult<Option<sso_login::Model>> {
    let hash = hash_token(presented);
    let Some(login) = sso_login::Entity::find()
        .filter(sso_login::Column::StateHash.eq(hash.as_str()))
        .filter(sso_login::Column::UsedAt.is_null())
        .one(&state.db)
        .await?
    else {
        return Ok(None);
    };
    let claim = sso_login::Entity::update_many()
        .col_expr(
            sso_login::Column::UsedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(sso_login::Column::Id.eq(login.id))
        .filter(sso_login::Column::UsedAt.is_null());
    Ok(claim_once(&state.db, claim).await?.then_some(login))
}

/// The provider's verified word on who signed in: the code exchanged, the ID token checked
/// against the cached keys, and against freshly fetched ones when no cached key fits (the
/// provider may have rotated them).
async fn verified_identity(
    state: &AppState,
    connection: &sso_connection::Model,
    login: &sso_login::Model,
    code: &str,
) -> ApiResult<Result<Verified, Rejection>> {
    let secret = open_secret(state, connection)?;
    let redirect_uri = redirect_uri(state)?;
    let config = client_config(connection, &secret, &redirect_uri)?;
    let id_token: CoreIdToken =
        match provider::exchange(&state.sso.http, &config, code, &login.pkce_verifier).await? {
            Ok(id_token) => id_token,
            Err(rejection) => return Ok(Err(rejection)),
        };
    let first = provider::verify(&config, &id_token, &login.nonce)?;
    if !matches!(first, Err(Rejection::Signature)) {
        return Ok(first);
    }
    let metadata = connection.provider_metadata.as_deref().unwrap_or_default();
    let fresh = provider::fetch_jwks(&state.sso.http, metadata).await?;
    if Some(fresh.as_str()) == connection.provider_jwks.as_deref() {
        return Ok(first);
    }
    let mut active: sso_connection::ActiveModel = connection.clone().into();
    active.provider_jwks = Set(Some(fresh.clone()));
    active.metadata_fetched_at = Set(Some(Utc::now()));
    write_unrecorded(&state.db, async |txn| Ok(active.update(txn).await?)).await?;
    let config = ClientConfig {
        jwks: &fresh,
        ..config
    };
    provider::verify(&config, &id_token, &login.nonce)
}

/// Whom a callback admitted: the person, and the provider's subject when the sign-in named an
/// existing account by its email and that person must first confirm the link.
pub(super) struct Admitted {
    pub user: user::Model,
    pub link_subject: Option<String>,
}

/// Finds the person the provider vouched for and makes sure they are a member: first by an
/// existing link of the provider's subject; else by a verified email in one of the
/// organization's verified domains (never by an unverified one: that would hand an account to
/// whoever controls the provider's email field). A new person is created, linked and made a
/// member with the default role when just-in-time provisioning is on. An existing account is
/// neither linked nor changed here: whoever configures a provider must not become its owner,
/// so the link waits for that person's own password (and second factor) at
/// [`exchange`].
pub(super) async fn admit(
    state: &AppState,
    org: &organization::Model,
    connection: &sso_connection::Model,
    issuer: &str,
    verified: &Verified,
    meta: &RequestMeta,
) -> ApiResult<Result<Admitted, Refused>> {
    write_recording(&state.db, async |txn| {
        let (org, link) = locked_with_link(txn, org.id, issuer, &verified.subject)
            .await?
            .ok_or_else(|| ApiError::not_found("organization"))?;
        let mut events = Vec::new();
        let (user, link_subject) =
            match person(txn, &org, connection, link.as_ref(), verified, meta).await? {
                Ok((user, link_subject, created)) => {
                    events.extend(created);
                    (user, link_subject)
                }
                Err(refused) => return Ok((Err(refused), vec![])),
            };
        let found = records::membership(txn, user.id, org.id).await?;
        let suspended = found.as_ref().is_some_and(|m| m.suspended_at.is_some());
        if user.status != users::ACTIVE || user.kind != users::HUMAN || suspended {
            return Ok((Err(Refused::of(shut_out(suspended)).about(&user)), vec![]));
        }
        let member = found.is_some();
        if !member && !connection.jit_provisioning {
            return Ok((Err(Refused::of(Reason::NotMember).about(&user)), events));
        }
        if link_subject.is_some() {
            // Checked again when the person confirms; nothing changes until then.
            if !member && let Err(refused) = seat_for(txn, state, &org, connection).await? {
                return Ok((Err(refused.about(&user)), vec![]));
            }
            return Ok((Ok(Admitted { user, link_subject }), events));
        }
        if !member {
            match provision(txn, state, &org, connection, &user).await {
                Ok(event) => events.push((Actor::user(&user, meta), event)),
                Err(err) if err.code == ErrorCode::SeatLimitReached => {
                    return Ok((Err(Refused::of(Reason::NoSeat).about(&user)), vec![]));
                }
                Err(err) => return Err(err),
            }
        }
        signed_in_through(txn, link, org.id, issuer, &verified.subject, user.id).await?;
        Ok((
            Ok(Admitted {
                user,
                link_subject: None,
            }),
            events,
        ))
    })
    .await
}

/// Why an account that exists is kept out: its membership is suspended, or it is disabled or
/// not a person.
fn shut_out(suspended: bool) -> Reason {
    if suspended {
        Reason::Suspended
    } else {
        Reason::AccountDisabled
    }
}

/// The person the provider vouched for: the account its subject is linked to; else the
/// account of its verified email in a verified domain, with the subject to link once they
/// confirm; else, with just-in-time provisioning, a new account (and the event of its
/// creation), linked at once.
async fn person(
    txn: &impl ConnectionTrait,
    org: &organization::Model,
    connection: &sso_connection::Model,
    link: Option<&sso_identity::Model>,
    verified: &Verified,
    meta: &RequestMeta,
) -> ApiResult<Result<(user::Model, Option<String>, Option<(Actor, Event)>), Refused>> {
    if let Some(link) = link {
        return Ok(
            match user::Entity::find_by_id(link.user_id).one(txn).await? {
                Some(user) => Ok((user, None, None)),
                None => Err(Refused::of(Reason::NotMember)),
            },
        );
    }
    let email = match checked_email(txn, org, verified).await? {
        Ok(email) => email,
        Err(refused) => return Ok(Err(refused)),
    };
    Ok(match users::find_by_email(txn, &email).await? {
        Some(user) => Ok((user, Some(verified.subject.clone()), None)),
        None if connection.jit_provisioning => {
            let name = display_name(verified, &email);
            let (user, event) = users::create(txn, &email, name, None).await?;
            let created = (Actor::user(&user, meta), event);
            Ok((user, None, Some(created)))
        }
        None => Err(Refused::of(Reason::NotMember)),
    })
}

/// Whether the connection's default role would find a seat for one more member: the refusal
/// the person is shown when it would not.
async fn seat_for(
    txn: &impl ConnectionTrait,
    state: &AppState,
    org: &organization::Model,
    connection: &sso_connection::Model,
) -> ApiResult<Result<(), Refused>> {
    match seated_default_role(txn, state, org, connection).await {
        Ok(_) => Ok(Ok(())),
        Err(err) if err.code == ErrorCode::SeatLimitReached => Ok(Err(Refused::of(Reason::NoSeat))),
        Err(err) if err.code == ErrorCode::Conflict => Ok(Err(Refused::of(Reason::NotMember))),
        Err(err) => Err(err),
    }
}

/// The provider's email when it vouched for it and it is in one of the organization's verified
/// domains; otherwise why not.
async fn checked_email(
    txn: &impl ConnectionTrait,
    org: &organization::Model,
    verified: &Verified,
) -> ApiResult<Result<Email, Refused>> {
    let Some(email) = verified
        .email
        .as_deref()
        .and_then(|email| Email::parse("email", email).ok())
    else {
        return Ok(Err(Refused::of(Reason::NoEmail)));
    };
    if !verified.email_verified {
        return Ok(Err(Refused::of(Reason::EmailUnverified)));
    }
    let domain = email.domain().unwrap_or_default();
    if !crate::services::store::records::verified_domain(txn, org.id, &domain).await? {
        return Ok(Err(Refused::of(Reason::ForeignDomain)));
    }
    Ok(Ok(email))
}

fn display_name(verified: &Verified, email: &Email) -> String {
    verified
        .name
        .as_deref()
        .and_then(|name| DisplayName::parse("name", name).ok())
        .map(DisplayName::into_inner)
        .unwrap_or_else(|| {
            email
                .as_str()
                .split('@')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
}

fn invalid_code() -> ApiError {
    ApiError::unauthenticated("the sign-in code is unknown, already used or expired")
}

/// The one-time code `code`, claimed (it works once). A code that would link an existing
/// account is refused and kept without the person's password, so the application can ask.
async fn claimed_code(
    state: &AppState,
    code: &str,
    with_password: bool,
) -> ApiResult<sso_code::Model> {
    text::check("code", TextKind::Line, code, 128)?;
    let hash = hash_token(code.trim());
    let found = sso_code::Entity::find_by_id(hash.clone())
        .one(&state.db)
        .await?
        .filter(|found| found.expires_at > Utc::now())
        .ok_or_else(invalid_code)?;
    if found.link_subject.is_some() && !with_password {
        return Err(ApiError::forbidden(
            "single sign-on named your existing Charter account: confirm the link once with \
             your Charter password (exchangeSsoCode with password)",
        )
        .with_detail("ssoLinkRequired", json!(true)));
    }
    let claim = sso_code::Entity::delete_many().filter(sso_code::Column::CodeHash.eq(hash));
    if !claim_once(&state.db, claim).await? {
        return Err(invalid_code());
    }
    Ok(found)
}

/// Exchanges a sign-in's one-time code (once, within 60 seconds) for a session in its
/// organization, whose tokens say it came through single sign-on.
///
/// A code whose sign-in named an existing, not yet linked account by its email needs that
/// person's Charter `password` too (within five minutes): without it the code is refused and
/// kept, so the application can ask for it; with it the code is used up whatever the answer.
/// The link is made when the session opens, after the person's own second factor when they
/// have one, so nobody who only controls the provider signs in as an existing account.
pub async fn exchange(
    state: &AppState,
    code: &str,
    password: Option<String>,
    meta: &RequestMeta,
) -> ApiResult<SignIn> {
    let invalid = invalid_code;
    let found = claimed_code(state, code, password.is_some()).await?;
    let user = user::Entity::find_by_id(found.user_id)
        .one(&state.db)
        .await?
        .filter(|user| user.status == users::ACTIVE)
        .ok_or_else(invalid)?;
    let org = found.organization_id;
    let mut method = SignInMethod::sso(found.issuer.clone(), org, found.provider_mfa);
    match (found.link_subject, password) {
        (Some(subject), Some(password)) => {
            confirm_password(state, &user, password, meta).await?;
            method = method.with_password().linking(subject);
        }
        _ => {
            records::active_membership(&state.db, user.id, org)
                .await?
                .ok_or_else(invalid)?;
        }
    }
    through_provider(state, user, org, method, meta).await
}

/// Signs `user` in to `organization_id` through its provider (`method` says which), through
/// the one door, recording the sign-in in the organization's log.
pub(super) async fn through_provider(
    state: &AppState,
    user: user::Model,
    organization_id: Uuid,
    method: SignInMethod,
    meta: &RequestMeta,
) -> ApiResult<SignIn> {
    let email = user.email.clone();
    let user_id = user.id;
    let issuer = method.idp_issuer.clone();
    sign_in::sign_in(
        state,
        user,
        Some(organization_id),
        method,
        meta,
        |session| {
            vec![
                Event::new(
                    Scope::Organization(organization_id),
                    Action::SsoSignIn,
                    format!("{email} signed in through single sign-on"),
                )
                .target("session", session.id)
                .payload(json!({ "issuer": issuer, "userId": user_id })),
            ]
        },
    )
    .await
}

/// The person's own Charter password, under the throttle every password check shares.
async fn confirm_password(
    state: &AppState,
    user: &user::Model,
    password: String,
    meta: &RequestMeta,
) -> ApiResult<()> {
    if user.password_hash.is_none() {
        return Err(ApiError::forbidden(
            "your Charter account has no password to confirm the link with; sign in the way you \
             have so far, or ask a platform operator",
        ));
    }
    let email = Email::parse("email", &user.email)?;
    let right = check_password(
        state,
        &email,
        Some(user),
        password,
        PasswordCheck::SignIn,
        meta,
    )
    .await?;
    if right {
        Ok(())
    } else {
        Err(ApiError::unauthenticated(
            "the password is not right; start the single sign-on again",
        ))
    }
}

fn new_code() -> String {
    format!("csc_{}", random_secret())
}
