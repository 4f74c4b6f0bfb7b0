//! Signing in with a directory password: `login` with an email in a verified domain of an
//! organization whose connection is an LDAP directory asks that directory first (a search with
//! the service bind, then a bind as the person), and a person it vouches for goes through the
//! same admission as any provider's (the link first, an email only in a verified domain, JIT
//! with the default role, seats), then the one door (second factor, enforcement).
//!
//! The attempt is counted by the sign-in throttle before the directory is asked, as a password
//! check is. When the directory does not sign the person in (wrong password, no such entry,
//! outside the group filter, not reachable within the bound), the Charter password is checked
//! instead, under the same count: enforcement then decides whether a password may reach the
//! organization (its owners keep the break glass). Nothing of the directory's exchange holds a
//! database connection, and the password is neither stored nor logged.

use entity::{organization, sso_connection};
use serde_json::json;
use uuid::Uuid;

use std::collections::HashMap;

use super::flow::{admit, client_network, issue_code, through_provider};
use super::provider::Verified;
use super::refusals::refusal;
use super::{AppState, LDAP, enabled_connection, realm};
use crate::certificate::Certificate;
use crate::domain::Email;
use crate::error::{ApiError, ApiResult};
use crate::ldap::{Directory, Reach, Refused};
use crate::services::RequestMeta;
use crate::services::identity::credentials::{clear_attempts, reserve_attempt};
use crate::services::identity::sign_in::{SignIn, SignInMethod};

/// What the directory made of a `login`.
pub enum Outcome {
    SignedIn(Box<SignIn>),
    /// The directory did not sign the person in; the attempt is counted.
    Refused,
    /// The directory was not asked: none covers the email, the sign-in names another
    /// organization, or the client has spent its directory sign-ins for now.
    NotCovered,
}

/// Directory sign-ins one client network (see `flow::client_network`) may make through this
/// process in [`ATTEMPT_WINDOW`]; past it, `login` checks only Charter passwords for that client
/// until the window ends. Each attempt costs the organization's directory a bind and a search,
/// so a stranger trying email after email pays with their own address, not the directory.
pub const MAX_ATTEMPTS_PER_CLIENT: u32 = 100;
/// The window directory sign-ins are counted in.
pub const ATTEMPT_WINDOW: std::time::Duration = std::time::Duration::from_secs(600);
/// The most clients counted at once; past it the window starts again (the map stays bounded).
const MAX_CLIENTS: usize = 100_000;

/// This process's count of directory sign-ins per client network, in fixed windows.
#[derive(Default)]
pub struct Attempts(std::sync::Mutex<(Option<std::time::Instant>, HashMap<String, u32>)>);

impl Attempts {
    /// Counts an attempt of `client`; `false` when it has made its
    /// [`MAX_ATTEMPTS_PER_CLIENT`] in this window.
    fn admit(&self, client: String) -> bool {
        let Ok(mut guard) = self.0.lock() else {
            return false;
        };
        let (started, counts) = &mut *guard;
        let now = std::time::Instant::now();
        if started.is_none_or(|at| now.duration_since(at) >= ATTEMPT_WINDOW)
            || counts.len() >= MAX_CLIENTS
        {
            *started = Some(now);
            counts.clear();
        }
        let count = counts.entry(client).or_insert(0);
        *count += 1;
        *count <= MAX_ATTEMPTS_PER_CLIENT
    }
}

/// How this process reaches directories.
pub(crate) fn reach(state: &AppState) -> Reach<'_> {
    Reach {
        outbound: &state.sso.http,
        timeout: state.settings.sso.ldap_timeout,
        allow_plain: state.settings.sso.ldap_allow_plain,
    }
}

/// Signs `email` in with `password` through the directory of the organization that holds its
/// domain verified, when that organization's connection is a directory and the sign-in names
/// no other organization.
pub async fn sign_in(
    state: &AppState,
    email: &Email,
    password: &str,
    organization_id: Option<Uuid>,
    meta: &RequestMeta,
) -> ApiResult<Outcome> {
    let Some((org, connection)) = covering(state, email).await? else {
        return Ok(Outcome::NotCovered);
    };
    if organization_id.is_some_and(|id| id != org.id) {
        return Ok(Outcome::NotCovered);
    }
    if !state.sso.directory_attempts.admit(client_network(meta)) {
        tracing::debug!(organization = %org.id, "a client's directory sign-ins are spent for now");
        return Ok(Outcome::NotCovered);
    }
    reserve_attempt(&state.db, &email.key()).await?;
    let directory = directory(state, &connection)?;
    let person = match directory
        .sign_in(&reach(state), email.as_str(), password)
        .await
    {
        Ok(person) => person,
        Err(refused) => {
            if refused == Refused::Unreachable {
                tracing::warn!(organization = %org.id, "a directory did not answer a sign-in in time");
            }
            return Ok(Outcome::Refused);
        }
    };
    clear_attempts(&state.db, &email.key()).await?;
    let issuer = connection.ldap_url.clone().unwrap_or_default();
    let verified = Verified {
        subject: person.subject,
        email: Some(person.email),
        email_verified: true,
        name: person.name,
        mfa: false,
    };
    let admitted = match admit(state, &org, &connection, &issuer, &verified, meta).await? {
        Ok(admitted) => admitted,
        Err(refused) => {
            let failure = refusal(state, &org, refused, meta).await;
            return Err(ApiError::forbidden(failure.message));
        }
    };
    if admitted.link_subject.is_some() {
        let code = issue_code(state, org.id, issuer, &admitted, false).await?;
        return Err(ApiError::forbidden(
            "the directory named your existing Charter account: confirm the link once with \
             your Charter password (exchangeSsoCode with the code in ssoLinkCode and password)",
        )
        .with_detail("ssoLinkCode", json!(code)));
    }
    let method = SignInMethod::sso(issuer, org.id, false);
    let signed = through_provider(state, admitted.user, org.id, method, meta).await?;
    Ok(Outcome::SignedIn(Box::new(signed)))
}

/// The organization that holds `email`'s domain verified and its connection, when that is a
/// directory that is on.
async fn covering(
    state: &AppState,
    email: &Email,
) -> ApiResult<Option<(organization::Model, sso_connection::Model)>> {
    let Some(claim) = realm::verified_claim(&state.db, email.as_str()).await? else {
        return Ok(None);
    };
    let Some(connection) = enabled_connection(&state.db, claim.organization_id)
        .await?
        .filter(|connection| connection.protocol == LDAP)
    else {
        return Ok(None);
    };
    use sea_orm::EntityTrait;
    let org = organization::Entity::find_by_id(claim.organization_id)
        .one(&state.db)
        .await?;
    Ok(org.map(|org| (org, connection)))
}

/// The directory `connection` keeps, its service password opened.
fn directory(state: &AppState, connection: &sso_connection::Model) -> ApiResult<Directory> {
    let broken = || ApiError::internal("a directory connection without its settings");
    let sealed = connection
        .ldap_bind_password_sealed
        .as_deref()
        .ok_or_else(broken)?;
    let text = |value: &Option<String>| value.clone().ok_or_else(broken);
    Ok(Directory {
        url: url::Url::parse(&text(&connection.ldap_url)?).map_err(|_| broken())?,
        start_tls: connection.ldap_start_tls,
        bind_dn: text(&connection.ldap_bind_dn)?,
        bind_password: state
            .secrets
            .open(connection.organization_id.as_bytes(), sealed)?,
        base_dn: text(&connection.ldap_base_dn)?,
        user_filter: text(&connection.ldap_user_filter)?,
        email_attribute: text(&connection.ldap_email_attribute)?,
        group_filter: connection.ldap_group_filter.clone(),
        ca_certificate: connection
            .ldap_ca_certificate
            .as_deref()
            .map(|text| Certificate::parse("caCertificate", text))
            .transpose()?,
    })
}
