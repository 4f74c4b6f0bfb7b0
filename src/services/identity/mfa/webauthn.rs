//! Security keys (WebAuthn) as a second factor, with `webauthn-rs`. A ceremony's state waits
//! in the database between its two requests, so any Charter process can take the answer, and
//! it works once: a registration's state sits in the pending factor row, an assertion's in the
//! challenge, and each is deleted when it is used. The relying party id and origins come from
//! the configuration (by default the public URL's host and origin).

use std::sync::Arc;

use chrono::Utc;
use entity::mfa_factor;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;
use webauthn_rs::prelude::{
    PublicKeyCredential, RegisterPublicKeyCredential, SecurityKey, SecurityKeyAuthentication,
    SecurityKeyRegistration, Url, Webauthn, WebauthnBuilder,
};

use super::factors::{FactorRecord, delete_factor, factors, mark_verified, set_enabled};
use super::recovery;
use crate::config::Settings;
use crate::domain::text::{self, TextKind};
use crate::error::{ApiError, ApiResult};
use crate::services::AppState;
use crate::services::audit::{Action, Event, Scope};

pub use super::factors::WEBAUTHN;
use crate::services::store::account::OwnAccount;
use crate::services::store::scope::{claim_once, write_unrecorded};
/// The longest ceremony answer read (a credential's JSON is a few kilobytes).
pub const MAX_RESPONSE: usize = 16 * 1024;
/// Security keys a user may register.
pub const MAX_KEYS: usize = 10;

/// The relying party, when the settings name one: `webauthn_rp_id`, or the public URL's host
/// when it is a domain (WebAuthn has no IP-address relying parties).
pub fn relying_party(settings: &Settings) -> anyhow::Result<Option<Arc<Webauthn>>> {
    let public = settings
        .sso
        .public_url
        .as_deref()
        .and_then(|url| Url::parse(url).ok());
    let rp_id = match &settings.webauthn_rp_id {
        Some(id) => Some(id.clone()),
        None => public
            .as_ref()
            .and_then(|url| url.domain())
            .map(str::to_owned),
    };
    let Some(rp_id) = rp_id else {
        return Ok(None);
    };
    let mut origins: Vec<Url> = settings
        .webauthn_origins
        .iter()
        .filter_map(|origin| Url::parse(origin).ok())
        .collect();
    if origins.is_empty() {
        origins.extend(public);
    }
    let Some((first, rest)) = origins.split_first() else {
        anyhow::bail!("webauthn_rp_id is set, but no origin: set webauthn_origins or public_url");
    };
    let mut builder = WebauthnBuilder::new(&rp_id, first)
        .map_err(|err| anyhow::anyhow!("webauthn_rp_id `{rp_id}` does not fit {first}: {err}"))?
        .rp_name("Charter")
        .danger_set_user_presence_only_security_keys(true);
    for origin in rest {
        builder = builder.append_allowed_origin(origin);
    }
    let webauthn = builder
        .build()
        .map_err(|err| anyhow::anyhow!("the WebAuthn relying party: {err}"))?;
    Ok(Some(Arc::new(webauthn)))
}

fn relying(state: &AppState) -> ApiResult<&Webauthn> {
    state.webauthn.as_deref().ok_or_else(|| {
        ApiError::invalid(
            "name",
            "security keys need a relying party: set webauthn_rp_id (or a public_url on a domain)",
        )
    })
}

fn keys_of(factors: &[mfa_factor::Model]) -> Vec<(Uuid, SecurityKey)> {
    factors
        .iter()
        .filter(|factor| factor.kind == WEBAUTHN)
        .filter_map(|factor| {
            let key = serde_json::from_str(factor.credential.as_deref()?).ok()?;
            Some((factor.id, key))
        })
        .collect()
}

/// Starts registering a security key named `name`: the options for
/// `navigator.credentials.create` (JSON). The ceremony waits in a pending factor row.
pub async fn begin_registration(own: &OwnAccount, name: &str) -> ApiResult<String> {
    let (state, user) = (own.state(), own.user());
    let name = crate::domain::CredentialName::parse("name", name)?.into_inner();
    let webauthn = relying(state)?;
    let existing = factors(&state.db, user.id).await?;
    let keys = keys_of(&existing);
    if keys.len() >= MAX_KEYS {
        return Err(ApiError::conflict(format!(
            "a user has at most {MAX_KEYS} security keys"
        )));
    }
    let exclude = keys.iter().map(|(_, key)| key.cred_id().clone()).collect();
    let (options, registration) = webauthn
        .start_securitykey_registration(
            user.id,
            &user.email,
            &user.display_name,
            Some(exclude),
            None,
            None,
        )
        .map_err(|err| ApiError::internal(format!("starting a WebAuthn registration: {err}")))?;
    let pending = serde_json::to_string(&registration).map_err(ApiError::internal)?;
    let options = serde_json::to_string(&options).map_err(ApiError::internal)?;
    let user_id = user.id;
    own.write(async |txn| {
        // One registration at a time: an unfinished one before is dropped.
        mfa_factor::Entity::delete_many()
            .filter(mfa_factor::Column::UserId.eq(user_id))
            .filter(mfa_factor::Column::Kind.eq(WEBAUTHN))
            .filter(mfa_factor::Column::ConfirmedAt.is_null())
            .exec(txn)
            .await?;
        let factor = mfa_factor::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(user_id),
            kind: Set(WEBAUTHN.to_owned()),
            name: Set(name.clone()),
            secret_sealed: Set(None),
            credential: Set(Some(pending)),
            confirmed_at: Set(None),
            last_used_step: Set(None),
            created_at: Set(Utc::now()),
            last_used_at: Set(None),
        }
        .insert(txn)
        .await?;
        let event = Event::new(
            Scope::User(user_id),
            Action::MfaEnrollmentStarted,
            format!("started registering the security key {name}"),
        )
        .target("mfa_factor", factor.id);
        Ok(((), vec![event]))
    })
    .await?;
    Ok(options)
}

/// What finishing a registration gives: the key's factor, and recovery codes when it is the
/// user's first factor (shown this once).
pub struct Registered {
    pub factor: FactorRecord,
    pub recovery_codes: Vec<String>,
}

/// The user's pending registration, claimed: the state works once, so whatever the answer,
/// the pending row goes.
async fn claimed_registration(state: &AppState, user_id: Uuid) -> ApiResult<mfa_factor::Model> {
    let gone = || ApiError::not_found("pending security key registration");
    let pending = mfa_factor::Entity::find()
        .filter(mfa_factor::Column::UserId.eq(user_id))
        .filter(mfa_factor::Column::Kind.eq(WEBAUTHN))
        .filter(mfa_factor::Column::ConfirmedAt.is_null())
        .one(&state.db)
        .await?
        .ok_or_else(gone)?;
    let claim = mfa_factor::Entity::delete_many().filter(mfa_factor::Column::Id.eq(pending.id));
    if !claim_once(&state.db, claim).await? {
        return Err(gone());
    }
    Ok(pending)
}

/// Finishes the pending registration with the browser's answer (the `PublicKeyCredential` of
/// `navigator.credentials.create`, as JSON).
pub async fn finish_registration(own: &OwnAccount, response: &str) -> ApiResult<Registered> {
    let (state, user_id, session_id) = (own.state(), own.user_id(), own.session_id());
    text::check("response", TextKind::Line, response, MAX_RESPONSE)?;
    let webauthn = relying(state)?;
    let pending = claimed_registration(state, user_id).await?;
    let registration: SecurityKeyRegistration =
        serde_json::from_str(pending.credential.as_deref().unwrap_or_default())
            .map_err(ApiError::internal)?;
    let answer: RegisterPublicKeyCredential = serde_json::from_str(response)
        .map_err(|_| ApiError::invalid("response", "is not a WebAuthn registration response"))?;
    let key = webauthn
        .finish_securitykey_registration(&answer, &registration)
        .map_err(|err| {
            ApiError::invalid(
                "response",
                format!("the security key's answer is not valid: {err}"),
            )
        })?;
    let stored = serde_json::to_string(&key).map_err(ApiError::internal)?;
    let first = factors(&state.db, user_id).await?.is_empty();
    let codes = if first { recovery::generate() } else { vec![] };
    let name = pending.name.clone();
    let factor = own
        .write(async |txn| {
            let factor = mfa_factor::ActiveModel {
                credential: Set(Some(stored)),
                confirmed_at: Set(Some(Utc::now())),
                ..mfa_factor::ActiveModel::from(pending.clone())
            };
            let factor = mfa_factor::Entity::insert(factor)
                .exec_with_returning(txn)
                .await?;
            set_enabled(txn, user_id, true).await?;
            if first {
                recovery::replace(txn, user_id, &codes).await?;
            }
            mark_verified(txn, session_id, "hwk").await?;
            let event = Event::new(
                Scope::User(user_id),
                Action::MfaEnrolled,
                format!("registered the security key {name}"),
            )
            .target("mfa_factor", factor.id)
            .payload(json!({ "recoveryCodesIssued": first }));
            Ok((factor, vec![event]))
        })
        .await?;
    Ok(Registered {
        factor: factor.into(),
        recovery_codes: codes,
    })
}

/// The assertion options for a challenge (JSON for `navigator.credentials.get`) and the state
/// to keep with it, when the user has security keys.
pub fn start_assertion(
    state: &AppState,
    factors: &[mfa_factor::Model],
) -> ApiResult<Option<(String, String)>> {
    let keys: Vec<SecurityKey> = keys_of(factors).into_iter().map(|(_, key)| key).collect();
    if keys.is_empty() {
        return Ok(None);
    }
    let Some(webauthn) = state.webauthn.as_deref() else {
        return Ok(None);
    };
    let (options, authentication) = webauthn
        .start_securitykey_authentication(&keys)
        .map_err(|err| ApiError::internal(format!("starting a WebAuthn assertion: {err}")))?;
    Ok(Some((
        serde_json::to_string(&options).map_err(ApiError::internal)?,
        serde_json::to_string(&authentication).map_err(ApiError::internal)?,
    )))
}

/// Checks an assertion (`navigator.credentials.get`'s answer, JSON) against the challenge's
/// state; on success the key's signature counter is kept. The challenge's deletion, by the
/// caller, makes the state single-use.
pub async fn accept_assertion(
    state: &AppState,
    user_id: Uuid,
    authentication: Option<&str>,
    response: &str,
) -> ApiResult<bool> {
    text::check("webauthnResponse", TextKind::Line, response, MAX_RESPONSE)?;
    let (Some(webauthn), Some(authentication)) = (state.webauthn.as_deref(), authentication) else {
        return Ok(false);
    };
    let authentication: SecurityKeyAuthentication =
        serde_json::from_str(authentication).map_err(ApiError::internal)?;
    let Ok(answer) = serde_json::from_str::<PublicKeyCredential>(response) else {
        return Ok(false);
    };
    let Ok(result) = webauthn.finish_securitykey_authentication(&answer, &authentication) else {
        return Ok(false);
    };
    for (id, mut key) in keys_of(&factors(&state.db, user_id).await?) {
        if key.update_credential(&result).is_some() {
            let stored = serde_json::to_string(&key).map_err(ApiError::internal)?;
            write_unrecorded(&state.db, async |txn| {
                mfa_factor::Entity::update_many()
                    .col_expr(
                        mfa_factor::Column::Credential,
                        sea_orm::sea_query::Expr::value(stored),
                    )
                    .col_expr(
                        mfa_factor::Column::LastUsedAt,
                        sea_orm::sea_query::Expr::value(Utc::now()),
                    )
                    .filter(mfa_factor::Column::Id.eq(id))
                    .exec(txn)
                    .await?;
                Ok(())
            })
            .await?;
            return Ok(true);
        }
    }
    Ok(false)
}

/// Removes the security key `id` of the user; with no factor left, multi-factor
/// authentication and the recovery codes go.
pub async fn remove(own: &OwnAccount, id: Uuid) -> ApiResult<()> {
    let user_id = own.user_id();
    own.write(async |txn| {
        let factor = mfa_factor::Entity::find_by_id(id)
            .one(txn)
            .await?
            .filter(|factor| factor.user_id == user_id && factor.kind == WEBAUTHN)
            .ok_or_else(|| ApiError::not_found("security key"))?;
        let description = format!("removed the security key {}", factor.name);
        let event = delete_factor(txn, &factor, description).await?;
        Ok(((), vec![event]))
    })
    .await
}
