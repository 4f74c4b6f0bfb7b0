//! The request a sign-in starts with, for either protocol: an OpenID authorization request
//! (code flow, PKCE, `state`, `nonce`) or a SAML AuthnRequest (HTTP-Redirect binding, with a
//! `RelayState`), and what each protocol's answer is later checked against. Both flows build on
//! this room; it stands on neither.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entity::{organization, sso_connection};
use rand::RngCore;

use super::provider::{self, ClientConfig};
use super::{AppState, SAML, callback_url, service_provider};
use crate::certificate::Certificate;
use crate::error::{ApiError, ApiResult};
use crate::saml::idp::IdentityProvider;
use crate::saml::sp;

/// A sign-in request made for the provider: where the browser goes, and what its answer is
/// checked against when it comes back.
pub(super) struct Pending {
    pub url: String,
    /// The value that comes back with the answer and names this sign-in: OpenID's `state`,
    /// SAML's `RelayState`.
    pub state: String,
    /// OpenID's `nonce`; SAML's AuthnRequest ID, which the Response's `InResponseTo` names.
    pub nonce: String,
    pub pkce_verifier: String,
    pub issuer: String,
}

/// The request `connection`'s protocol starts a sign-in to `org` with.
pub(super) fn pending(
    state: &AppState,
    org: &organization::Model,
    connection: &sso_connection::Model,
) -> ApiResult<Pending> {
    if connection.protocol == SAML {
        return saml_request(state, org, connection);
    }
    let secret = open_secret(state, connection)?;
    let redirect_uri = redirect_uri(state)?;
    let config = client_config(connection, &secret, &redirect_uri)?;
    let authorization = provider::authorize(&config)?;
    Ok(Pending {
        url: authorization.url,
        state: authorization.state,
        nonce: authorization.nonce,
        pkce_verifier: authorization.pkce_verifier,
        issuer: connection.issuer.clone().unwrap_or_default(),
    })
}

/// The identity provider `connection` keeps.
pub(super) fn identity_provider(connection: &sso_connection::Model) -> ApiResult<IdentityProvider> {
    let broken = || ApiError::internal("a SAML connection without its provider's settings");
    let stored = super::stored_list(connection.saml_certificates.as_deref()).ok_or_else(broken)?;
    Ok(IdentityProvider {
        entity_id: connection.saml_idp_entity_id.clone().ok_or_else(broken)?,
        sso_url: connection.saml_sso_url.clone().ok_or_else(broken)?,
        certificates: stored
            .iter()
            .map(|text| Certificate::parse("certificates", text))
            .collect::<ApiResult<_>>()?,
    })
}

pub(super) fn this_service_provider(
    state: &AppState,
    org: &organization::Model,
) -> ApiResult<sp::ServiceProvider> {
    service_provider(&state.settings, &org.public_id)
        .ok_or_else(|| ApiError::internal("single sign-on without a public URL"))
}

/// An AuthnRequest of `org` to its provider, with a fresh `RelayState` naming the sign-in.
fn saml_request(
    state: &AppState,
    org: &organization::Model,
    connection: &sso_connection::Model,
) -> ApiResult<Pending> {
    let idp = identity_provider(connection)?;
    let relay_state = random_secret();
    let (id, url) = this_service_provider(state, org)?.authn_request(&idp, &relay_state)?;
    Ok(Pending {
        url,
        state: relay_state,
        nonce: id,
        pkce_verifier: String::new(),
        issuer: idp.entity_id,
    })
}

/// 256 random bits, base64url: a browser's binding secret, a `RelayState`, a code's body.
pub(super) fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(super) fn open_secret(
    state: &AppState,
    connection: &sso_connection::Model,
) -> ApiResult<String> {
    let sealed = connection
        .client_secret_sealed
        .as_deref()
        .ok_or_else(|| ApiError::internal("a connection without a client secret"))?;
    state
        .secrets
        .open(connection.organization_id.as_bytes(), sealed)
}

pub(super) fn redirect_uri(state: &AppState) -> ApiResult<String> {
    callback_url(&state.settings)
        .ok_or_else(|| ApiError::internal("single sign-on without a public URL"))
}

pub(super) fn client_config<'a>(
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
