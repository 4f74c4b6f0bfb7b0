//! Signing in through an organization's identity provider: the OpenID Connect flow, the links
//! between a provider's subjects and accounts, home-realm discovery, and the enforcement that
//! keeps covered members off passwords. Configuring the connection is `organization::sso`.

pub mod certificate;
pub mod enforcement;
pub mod flow;
pub mod ldap;
pub mod links;
pub mod provider;
pub mod realm;
pub mod refusals;
pub mod replay;
mod requests;
pub mod saml;

use entity::sso_connection;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::config::Settings;
use crate::error::{ApiError, ApiResult};
use crate::outbound::Outbound;
use crate::services::AppState;

/// The protocol of an OpenID Connect connection.
pub const OIDC: &str = "oidc";
/// The protocol of a SAML 2.0 connection.
pub const SAML: &str = "saml";
/// The protocol of an LDAP directory connection.
pub const LDAP: &str = "ldap";
/// The protocol of a client-certificate (smart card) connection.
pub const CERTIFICATE: &str = "certificate";
/// What links and sessions name as the issuer of a client-certificate sign-in.
pub const CERTIFICATE_ISSUER: &str = "client-certificate";
/// The longest email home-realm discovery reads.
pub const MAX_EMAIL: usize = 320;

/// What single sign-on needs beyond the database: the guarded HTTP client providers are
/// reached with (`http://` ones too when the settings allow insecure issuers), and this
/// process's count of the directory sign-ins each client made.
pub struct Runtime {
    pub http: Outbound,
    pub directory_attempts: ldap::Attempts,
}

impl Runtime {
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        Ok(Self {
            http: Outbound::new(&settings.outbound, settings.sso.allow_insecure_issuers)?,
            directory_attempts: ldap::Attempts::default(),
        })
    }
}

pub(crate) async fn find(
    db: &impl sea_orm::ConnectionTrait,
    organization_id: Uuid,
) -> ApiResult<Option<sso_connection::Model>> {
    Ok(sso_connection::Entity::find()
        .filter(sso_connection::Column::OrganizationId.eq(organization_id))
        .one(db)
        .await?)
}

/// The URL that starts a sign-in to the organization with public id `public_id`.
pub fn start_url(settings: &Settings, public_id: &str) -> Option<String> {
    settings
        .sso
        .public_url
        .as_ref()
        .map(|base| format!("{base}/sso/{public_id}/start"))
}

/// Charter as the SAML service provider of the organization with public id `public_id`: its
/// entity id (where its metadata is served) and its Assertion Consumer Service. None without a
/// public URL.
pub fn service_provider(
    settings: &Settings,
    public_id: &str,
) -> Option<crate::saml::sp::ServiceProvider> {
    let base = settings.sso.public_url.as_ref()?;
    Some(crate::saml::sp::ServiceProvider {
        entity_id: format!("{base}/sso/{public_id}/saml/metadata"),
        acs_url: format!("{base}/sso/{public_id}/saml/acs"),
    })
}

/// The service provider metadata of the organization with public id `public_id`, when it has
/// an enabled SAML connection; none otherwise (the same for an unknown organization).
pub async fn saml_metadata(state: &AppState, public_id: &str) -> ApiResult<Option<String>> {
    let Some(org) = entity::organization::Entity::find()
        .filter(entity::organization::Column::PublicId.eq(public_id))
        .one(&state.db)
        .await?
    else {
        return Ok(None);
    };
    let saml = find(&state.db, org.id)
        .await?
        .is_some_and(|connection| connection.enabled && connection.protocol == SAML);
    match service_provider(&state.settings, &org.public_id) {
        Some(sp) if saml => Ok(Some(sp.metadata_xml()?)),
        _ => Ok(None),
    }
}

/// Where the provider sends people back.
pub fn callback_url(settings: &Settings) -> Option<String> {
    settings
        .sso
        .public_url
        .as_ref()
        .map(|base| format!("{base}/sso/callback"))
}

/// The organization's connection while it is on, of either protocol.
pub(crate) async fn enabled_connection(
    db: &impl sea_orm::ConnectionTrait,
    organization_id: Uuid,
) -> ApiResult<Option<sso_connection::Model>> {
    Ok(find(db, organization_id)
        .await?
        .filter(|connection| connection.enabled))
}

/// The protocols whose sign-in sends the browser to a provider (OpenID, SAML), which
/// `/sso/{publicId}/start` and home-realm discovery offer; a directory signs people in with
/// `login`, a certificate at `/cert/{publicId}/start`.
pub const BROWSER_PROTOCOLS: [&str; 2] = [OIDC, SAML];

/// Whether people sign in through `connection` with a browser sent to its provider.
pub(crate) fn in_browser(connection: &sso_connection::Model) -> bool {
    BROWSER_PROTOCOLS.contains(&connection.protocol.as_str())
}

/// The document at `url` (given as `field`: an identity provider's metadata, a revocation
/// list), fetched through the outbound guard: `https://` (`http://` only where insecure
/// providers are allowed) and answered 2xx, or INVALID_INPUT naming `field`, saying no more of
/// what listens there.
pub(crate) async fn fetch_document(
    state: &AppState,
    field: &'static str,
    url: &str,
) -> ApiResult<Vec<u8>> {
    let allow_http = state.settings.sso.allow_insecure_issuers;
    let url = crate::saml::endpoint_url(field, url, allow_http)?;
    let request = http::Request::get(url.as_str())
        .body(Vec::new())
        .map_err(|_| ApiError::invalid(field, "is not a URL Charter can request"))?;
    let answer = state
        .sso
        .http
        .fetch(request)
        .await
        .map_err(|_| ApiError::invalid(field, "could not be fetched (not reachable)"))?;
    if !answer.status().is_success() {
        return Err(ApiError::invalid(
            field,
            format!("answered HTTP {}", answer.status().as_u16()),
        ));
    }
    Ok(answer.into_body())
}

/// A list a connection keeps in one column (certificates, revocation lists: a JSON array of
/// base64 DER strings); none when the column is unset or does not hold such a list.
pub(crate) fn stored_list(column: Option<&str>) -> Option<Vec<String>> {
    serde_json::from_str(column?).ok()
}

/// Who vouches for people through `connection`: an OpenID provider's issuer, a SAML identity
/// provider's entity id. Links and sessions name it, so a connection moved to another
/// provider takes none of the old one's sign-ins.
pub(crate) fn issuer_of(connection: &sso_connection::Model) -> Option<&str> {
    match connection.protocol.as_str() {
        OIDC => connection.issuer.as_deref(),
        SAML => connection.saml_idp_entity_id.as_deref(),
        LDAP => connection.ldap_url.as_deref(),
        CERTIFICATE => Some(CERTIFICATE_ISSUER),
        _ => None,
    }
}
