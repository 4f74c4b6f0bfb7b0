//! The sign-in flow: `start` sends the browser to the provider with a fresh `state`, `nonce`
//! and PKCE pair, kept server-side (so any Charter process can take the callback) and bound to
//! the browser by a cookie; `callback` takes each back once, exchanges the code, verifies the
//! ID token, finds or provisions the person, and hands the application a one-time code that
//! lasts 60 seconds; `exchange` turns that code into a session. Tokens never travel in a URL.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use entity::{membership, organization, sso_code, sso_connection, sso_identity, sso_login, user};
use openidconnect::core::CoreIdToken;
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::super::RequestMeta;
use super::super::audit::{Action, Actor, Event, Scope};
use super::super::members::ensure_licensed_seat;
use super::super::mfa::SignIn;
use super::super::scope::{write, write_recording};
use super::super::sessions::SignInMethod;
use super::super::{memberships, roles, users};
use super::provider::{self, ClientConfig, Rejection, Verified};
use super::{AppState, callback_url};
use crate::auth::tokens::hash_token;
use crate::authz::seats;
use crate::domain::text::{self, TextKind};
use crate::domain::{DisplayName, Email};
use crate::error::{ApiError, ApiResult, ErrorCode};

/// The cookie that binds a sign-in to the browser that started it.
pub const BROWSER_COOKIE: &str = "charter_sso";
/// How long a sign-in may stay at the provider.
pub const LOGIN_TTL: Duration = Duration::minutes(10);
/// How long the application has to exchange the code a sign-in ends with.
pub const CODE_TTL: Duration = Duration::seconds(60);
/// The query parameter the code is handed over in.
pub const CODE_PARAMETER: &str = "sso_code";
const MAX_RETURN_TO: usize = 2048;
/// Sign-ins an organization may have under way at once: each is a row until it comes back or
/// expires, so a burst of starts cannot grow the table without bound.
pub const MAX_PENDING_PER_ORGANIZATION: u64 = 1000;

/// A sign-in that did not go through, as the page the browser is shown says it.
#[derive(Debug, Clone)]
pub struct Failure {
    pub status: u16,
    pub message: String,
}

impl Failure {
    fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl From<ApiError> for Failure {
    fn from(err: ApiError) -> Self {
        let status = match err.code {
            ErrorCode::InvalidInput => 400,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict | ErrorCode::SeatLimitReached => 409,
            ErrorCode::RateLimited => 429,
            _ => 500,
        };
        if status == 500 {
            tracing::error!(error = %err.message, "single sign-on failed");
            Self::new(
                500,
                "single sign-on failed on Charter's side; try again later",
            )
        } else {
            Self::new(status, err.message)
        }
    }
}

/// Where `start` sends the browser, and the cookie it sets there.
pub struct Started {
    pub redirect: String,
    pub browser_secret: String,
}

/// Starts a sign-in to the organization `public_id`, to come back to `return_to` (whose origin
/// must be one of the configured return origins).
pub async fn start(
    state: &AppState,
    public_id: &str,
    return_to: Option<&str>,
) -> Result<Started, Failure> {
    let return_to = checked_return_to(state, return_to)?;
    let org = organization::Entity::find()
        .filter(organization::Column::PublicId.eq(public_id))
        .one(&state.db)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| Failure::new(404, "there is no such organization"))?;
    let connection = enabled_connection(&state.db, org.id)
        .await?
        .ok_or_else(|| Failure::new(404, format!("{} has no single sign-on", org.name)))?;
    let secret = open_secret(state, &connection)?;
    let redirect_uri = redirect_uri(state)?;
    let authorization = provider::authorize(&client_config(&connection, &secret, &redirect_uri)?)?;
    let mut browser = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut browser);
    let browser_secret = URL_SAFE_NO_PAD.encode(browser);
    let now = Utc::now();
    write(&state.db, &Actor::default(), async |txn| {
        // Sign-ins abandoned at the provider go when the next one starts.
        sso_login::Entity::delete_many()
            .filter(sso_login::Column::ExpiresAt.lt(now))
            .exec(txn)
            .await?;
        let pending = sso_login::Entity::find()
            .filter(sso_login::Column::OrganizationId.eq(org.id))
            .count(txn)
            .await?;
        if pending >= MAX_PENDING_PER_ORGANIZATION {
            return Err(ApiError::new(
                ErrorCode::RateLimited,
                "too many sign-ins are under way for this organization; try again in a few minutes",
            ));
        }
        sso_login::ActiveModel {
            id: Set(Uuid::now_v7()),
            state_hash: Set(hash_token(&authorization.state)),
            browser_hash: Set(hash_token(&browser_secret)),
            organization_id: Set(org.id),
            issuer: Set(connection.issuer.clone().unwrap_or_default()),
            nonce: Set(authorization.nonce.clone()),
            pkce_verifier: Set(authorization.pkce_verifier.clone()),
            return_to: Set(return_to.clone()),
            created_at: Set(now),
            expires_at: Set(now + LOGIN_TTL),
        }
        .insert(txn)
        .await?;
        Ok(((), vec![]))
    })
    .await?;
    Ok(Started {
        redirect: authorization.url,
        browser_secret,
    })
}

/// `return_to` when it is an absolute http(s) URL on one of the configured return origins.
fn checked_return_to(state: &AppState, return_to: Option<&str>) -> Result<String, Failure> {
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
    let origin = url.origin().ascii_serialization();
    if !state.settings.sso.return_origins.contains(&origin) {
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
pub async fn callback(
    state: &AppState,
    params: CallbackParams,
    browser_secret: Option<&str>,
    meta: &RequestMeta,
) -> Result<String, Failure> {
    let again = "this sign-in is unknown, already used or expired; start it again";
    let presented = params
        .state
        .as_deref()
        .filter(|value| value.len() <= 512)
        .ok_or_else(|| Failure::new(400, again))?;
    let login = claim_login(state, presented)
        .await?
        .ok_or_else(|| Failure::new(400, again))?;
    if login.expires_at <= Utc::now() {
        return Err(Failure::new(400, again));
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
    let org = organization::Entity::find_by_id(login.organization_id)
        .one(&state.db)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| Failure::new(404, "there is no such organization"))?;
    let refuse = async |reason: String, user: Option<&user::Model>| -> Failure {
        refusal(state, &org, &reason, user, meta).await
    };
    if let Some(error) = params.error {
        // The provider's words, bounded and without control characters, for the page and log.
        let printable = |text: &str, max: usize| -> String {
            text.chars().filter(|c| !c.is_control()).take(max).collect()
        };
        let detail = printable(params.error_description.as_deref().unwrap_or_default(), 300);
        let error = printable(&error, 100);
        return Err(refuse(
            format!(
                "the identity provider did not sign you in ({error}{}{detail})",
                if detail.is_empty() { "" } else { ": " }
            ),
            None,
        )
        .await);
    }
    let connection = match enabled_connection(&state.db, org.id).await? {
        Some(connection) if connection.issuer.as_deref() == Some(login.issuer.as_str()) => {
            connection
        }
        _ => {
            return Err(refuse(
                format!(
                    "{}'s single sign-on was changed or turned off during the sign-in",
                    org.name
                ),
                None,
            )
            .await);
        }
    };
    let Some(code) = params
        .code
        .filter(|code| !code.is_empty() && code.len() <= 2048)
    else {
        return Err(Failure::new(400, "the identity provider sent no code"));
    };
    let verified = match verified_identity(state, &connection, &login, &code).await? {
        Ok(verified) => verified,
        Err(rejection) => return Err(refuse(rejection.message(), None).await),
    };
    let issuer = login.issuer.clone();
    let outcome = admit(state, &org, &connection, &issuer, &verified, meta).await?;
    let user = match outcome {
        Ok(user) => user,
        Err((reason, user)) => return Err(refuse(reason, user.as_ref()).await),
    };
    let code = new_code();
    let now = Utc::now();
    // Codes nobody exchanged go when the next one is made.
    sso_code::Entity::delete_many()
        .filter(sso_code::Column::ExpiresAt.lt(now))
        .exec(&state.db)
        .await
        .map_err(ApiError::from)?;
    sso_code::ActiveModel {
        code_hash: Set(hash_token(&code)),
        user_id: Set(user.id),
        organization_id: Set(org.id),
        issuer: Set(issuer),
        created_at: Set(now),
        expires_at: Set(now + CODE_TTL),
        provider_mfa: Set(verified.mfa),
    }
    .insert(&state.db)
    .await
    .map_err(ApiError::from)?;
    let mut back = url::Url::parse(&login.return_to).map_err(ApiError::internal)?;
    back.query_pairs_mut().append_pair(CODE_PARAMETER, &code);
    Ok(back.to_string())
}

/// The sign-in whose `state` was presented, deleted as it is read: a second callback with the
/// same `state` finds nothing.
async fn claim_login(state: &AppState, presented: &str) -> ApiResult<Option<sso_login::Model>> {
    let hash = hash_token(presented);
    let Some(login) = sso_login::Entity::find()
        .filter(sso_login::Column::StateHash.eq(hash.as_str()))
        .one(&state.db)
        .await?
    else {
        return Ok(None);
    };
    let claimed = sso_login::Entity::delete_many()
        .filter(sso_login::Column::Id.eq(login.id))
        .exec(&state.db)
        .await?
        .rows_affected
        == 1;
    Ok(claimed.then_some(login))
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
    active.update(&state.db).await?;
    let config = ClientConfig {
        jwks: &fresh,
        ..config
    };
    provider::verify(&config, &id_token, &login.nonce)
}

/// Finds the person the provider vouched for and makes sure they are a member: first by an
/// existing link of the provider's subject, else by a verified email in one of the
/// organization's verified domains (never by an unverified one: that would hand an account to
/// whoever controls the provider's email field); a person without a membership gets one with
/// the default role when just-in-time provisioning is on. `Ok(Err(reason))` is a refusal.
async fn admit(
    state: &AppState,
    org: &organization::Model,
    connection: &sso_connection::Model,
    issuer: &str,
    verified: &Verified,
    meta: &RequestMeta,
) -> ApiResult<Result<user::Model, (String, Option<user::Model>)>> {
    write_recording(&state.db, async |txn| {
        // Under the organization's lock: seats are counted and links made one at a time.
        let org = organization::Entity::find_by_id(org.id)
            .lock_exclusive()
            .one(txn)
            .await?
            .ok_or_else(|| ApiError::not_found("organization"))?;
        let link = sso_identity::Entity::find()
            .filter(sso_identity::Column::OrganizationId.eq(org.id))
            .filter(sso_identity::Column::Issuer.eq(issuer))
            .filter(sso_identity::Column::Subject.eq(verified.subject.as_str()))
            .one(txn)
            .await?;
        let mut events = Vec::new();
        let user = match &link {
            Some(link) => user::Entity::find_by_id(link.user_id).one(txn).await?,
            None => {
                let email = match checked_email(txn, &org, verified).await? {
                    Ok(email) => email,
                    Err(reason) => return Ok((Err((reason, None)), vec![])),
                };
                match users::find_by_email(txn, &email).await? {
                    Some(user) => Some(user),
                    None if connection.jit_provisioning => {
                        let name = display_name(verified, &email);
                        let (user, event) = users::create(txn, &email, name, None).await?;
                        events.push((Actor::user(&user, meta), event));
                        Some(user)
                    }
                    None => None,
                }
            }
        };
        let Some(user) = user else {
            return Ok((
                Err((
                    format!(
                        "you are not a member of {}; ask its administrators for an invitation",
                        org.name
                    ),
                    None,
                )),
                vec![],
            ));
        };
        if user.status != users::ACTIVE || user.kind != users::HUMAN {
            return Ok((
                Err((format!("the account {} is disabled", user.email), Some(user))),
                vec![],
            ));
        }
        if memberships::find(txn, user.id, org.id).await?.is_none() {
            if !connection.jit_provisioning {
                let reason = format!(
                    "you are not a member of {}; ask its administrators for an invitation",
                    org.name
                );
                return Ok((Err((reason, Some(user))), events));
            }
            match provision(txn, state, &org, connection, &user).await {
                Ok(event) => events.push((Actor::user(&user, meta), event)),
                Err(err) if err.code == ErrorCode::SeatLimitReached => {
                    return Ok((
                        Err((
                            format!(
                                "{} has no free seat for you; ask its administrators to free or buy one",
                                org.name
                            ),
                            Some(user),
                        )),
                        vec![],
                    ));
                }
                Err(err) => return Err(err),
            }
        }
        let now = Utc::now();
        match link {
            Some(link) => {
                let mut active: sso_identity::ActiveModel = link.into();
                active.last_sign_in_at = Set(now);
                active.update(txn).await?;
            }
            None => {
                sso_identity::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    organization_id: Set(org.id),
                    user_id: Set(user.id),
                    issuer: Set(issuer.to_owned()),
                    subject: Set(verified.subject.clone()),
                    created_at: Set(now),
                    last_sign_in_at: Set(now),
                }
                .insert(txn)
                .await?;
            }
        }
        Ok((Ok(user), events))
    })
    .await
}

/// The provider's email when it vouched for it and it is in one of the organization's verified
/// domains; otherwise why not.
async fn checked_email(
    txn: &impl ConnectionTrait,
    org: &organization::Model,
    verified: &Verified,
) -> ApiResult<Result<Email, String>> {
    let Some(email) = verified
        .email
        .as_deref()
        .and_then(|email| Email::parse("email", email).ok())
    else {
        return Ok(Err(
            "the identity provider sent no usable email address for you".to_owned(),
        ));
    };
    if !verified.email_verified {
        return Ok(Err(format!(
            "the identity provider has not verified {} (email_verified), so it cannot name a Charter account",
            email.as_str()
        )));
    }
    let domain = email.domain().unwrap_or_default();
    let verified_here = entity::organization_domain::Entity::find()
        .filter(entity::organization_domain::Column::OrganizationId.eq(org.id))
        .filter(entity::organization_domain::Column::Domain.eq(domain.as_str()))
        .filter(entity::organization_domain::Column::VerifiedAt.is_not_null())
        .one(txn)
        .await?
        .is_some();
    if !verified_here {
        return Ok(Err(format!(
            "{domain} is not a verified domain of {}, so single sign-on cannot name your account",
            org.name
        )));
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

/// Makes `user` a member with the connection's default role (under the organization's lock,
/// which the caller holds): its seat must be free, and it is never the owner role.
async fn provision(
    txn: &sea_orm::DatabaseTransaction,
    state: &AppState,
    org: &organization::Model,
    connection: &sso_connection::Model,
    user: &user::Model,
) -> ApiResult<Event> {
    let role_id = connection.default_role_id.ok_or_else(|| {
        ApiError::conflict(format!("{} has no default role for new members", org.name))
    })?;
    let role = roles::find_in_organization(txn, &state.policy, org.id, role_id)
        .await
        .map_err(|_| {
            ApiError::conflict(format!(
                "{}'s default role for new members no longer exists",
                org.name
            ))
        })?;
    if role.owner {
        return Err(ApiError::conflict(
            "the owner role is never handed out by single sign-on",
        ));
    }
    if seats::takes_licensed_seat(role.seat_class, org.free_read_only_seats) {
        ensure_licensed_seat(txn, &state.policy, org).await?;
    }
    let joined = memberships::new_membership(user, org.id, role.id, &role.name, None)
        .insert(txn)
        .await?;
    if user.default_organization_id.is_none() {
        let mut active: user::ActiveModel = user.clone().into();
        active.default_organization_id = Set(Some(org.id));
        active.update(txn).await?;
    }
    Ok(Event::new(
        Scope::Organization(org.id),
        Action::SsoMemberProvisioned,
        format!(
            "{} joined through single sign-on as {}",
            user.email, role.name
        ),
    )
    .target("membership", joined.id)
    .payload(json!({ "after": { "user": user.email, "role": role.key } })))
}

/// Records a refused sign-in in the organization's log (no secrets: the reason only) and
/// returns the page that says it.
async fn refusal(
    state: &AppState,
    org: &organization::Model,
    reason: &str,
    user: Option<&user::Model>,
    meta: &RequestMeta,
) -> Failure {
    let actor = match user {
        Some(user) => Actor::user(user, meta),
        None => Actor {
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            ..Actor::default()
        },
    };
    let mut event = Event::new(
        Scope::Organization(org.id),
        Action::SsoSignInRefused,
        format!("a single sign-on was refused: {reason}"),
    )
    .payload(json!({ "reason": reason }));
    if let Some(user) = user {
        event = event.target("user", user.id);
    }
    if let Err(err) = super::super::scope::record(&state.db, &actor, vec![event]).await {
        tracing::error!(error = %err.message, "recording a refused single sign-on");
    }
    tracing::info!(organization = %org.id, reason, "single sign-on refused");
    Failure::new(403, reason.to_owned())
}

/// Exchanges a sign-in's one-time code (once, within 60 seconds) for a session in its
/// organization, whose tokens say it came through single sign-on.
pub async fn exchange(state: &AppState, code: &str, meta: &RequestMeta) -> ApiResult<SignIn> {
    let invalid =
        || ApiError::unauthenticated("the sign-in code is unknown, already used or expired");
    text::check("code", TextKind::Line, code, 128)?;
    let hash = hash_token(code.trim());
    let found = sso_code::Entity::find_by_id(hash.clone())
        .one(&state.db)
        .await?
        .ok_or_else(invalid)?;
    let claimed = sso_code::Entity::delete_many()
        .filter(sso_code::Column::CodeHash.eq(hash))
        .exec(&state.db)
        .await?
        .rows_affected
        == 1;
    if !claimed || found.expires_at <= Utc::now() {
        return Err(invalid());
    }
    let user = user::Entity::find_by_id(found.user_id)
        .one(&state.db)
        .await?
        .filter(|user| user.status == users::ACTIVE)
        .ok_or_else(invalid)?;
    membership::Entity::find()
        .filter(membership::Column::UserId.eq(user.id))
        .filter(membership::Column::OrganizationId.eq(found.organization_id))
        .one(&state.db)
        .await?
        .ok_or_else(invalid)?;
    let org = found.organization_id;
    let issuer = found.issuer.clone();
    let email = user.email.clone();
    let user_id = user.id;
    super::super::mfa::sign_in(
        state,
        user,
        Some(org),
        SignInMethod::sso(issuer.clone(), org, found.provider_mfa),
        meta,
        |session| {
            vec![
                Event::new(
                    Scope::Organization(org),
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

fn new_code() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("csc_{}", URL_SAFE_NO_PAD.encode(bytes))
}

async fn enabled_connection(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
) -> ApiResult<Option<sso_connection::Model>> {
    Ok(super::find(db, organization_id)
        .await?
        .filter(|connection| connection.enabled && connection.protocol == super::OIDC))
}

fn open_secret(state: &AppState, connection: &sso_connection::Model) -> ApiResult<String> {
    let sealed = connection
        .client_secret_sealed
        .as_deref()
        .ok_or_else(|| ApiError::internal("a connection without a client secret"))?;
    state
        .secrets
        .open(connection.organization_id.as_bytes(), sealed)
}

fn redirect_uri(state: &AppState) -> ApiResult<String> {
    callback_url(&state.settings)
        .ok_or_else(|| ApiError::internal("single sign-on without a public URL"))
}

fn client_config<'a>(
    connection: &'a sso_connection::Model,
    secret: &'a str,
    redirect_uri: &'a str,
) -> ApiResult<ClientConfig<'a>> {
    let missing = || ApiError::internal("a connection without its provider's metadata");
    Ok(ClientConfig {
        metadata: connection
            .provider_metadata
            .as_deref()
            .ok_or_else(missing)?,
        jwks: connection.provider_jwks.as_deref().ok_or_else(missing)?,
        client_id: connection.client_id.as_deref().ok_or_else(missing)?,
        client_secret: secret,
        redirect_uri,
    })
}
