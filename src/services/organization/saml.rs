//! An organization's SAML connection, configured with `sso: manage` like its OpenID one (one
//! connection per organization, of either protocol): from the identity provider's metadata,
//! pasted or fetched through the outbound guard, or by hand. Everything is checked before the
//! row is written. People sign in through it on the one pipeline (`identity::sso::saml`), with
//! the same verified domains, just-in-time members, enforcement and break glass as OpenID.

use sea_orm::Set;
use serde_json::json;

use super::sso::{Admission, SsoRecord, checked_default_role, save_configured};
use crate::domain::text::{self, TextKind};
use crate::error::{ApiError, ApiResult};
use crate::saml::idp::IdentityProvider;
use crate::services::AppState;
use crate::services::identity::sso::{SAML, fetch_document};
use crate::services::store::scope::OrgChange;

/// Where the identity provider's settings come from: exactly one of the three.
#[derive(Debug, Clone)]
pub enum SamlSource {
    Metadata(String),
    MetadataUrl(String),
    ByHand {
        entity_id: String,
        sso_url: String,
        certificates: Vec<String>,
    },
}

/// What an administrator asks the SAML connection to be.
#[derive(Debug, Clone)]
pub struct SamlSpec {
    pub source: SamlSource,
    pub email_attribute: Option<String>,
    pub admission: Admission,
    /// Whether Responses the provider sends unasked (IdP-initiated) are taken.
    pub allow_idp_initiated: bool,
}

/// Configures (or reconfigures, from OpenID too) and enables the organization's SAML
/// connection. The provider's settings are checked first, and fetched when given by URL,
/// outside the organization's lock; nothing is written when any of it fails.
pub async fn configure(
    state: &AppState,
    change: &OrgChange,
    spec: SamlSpec,
) -> ApiResult<SsoRecord> {
    let email_attribute = checked_settings(change, &spec).await?;
    let idp = provider(state, &spec.source).await?;
    let admission = spec.admission.clone();
    let what = format!("configured SAML single sign-on with {}", idp.entity_id);
    let fingerprints: Vec<&String> = idp.certificates.iter().map(|c| &c.fingerprint).collect();
    let extra = json!({ "certificates": fingerprints });
    let certificates: Vec<String> = idp.certificates.iter().map(|c| c.to_base64()).collect();
    save_configured(change, admission, what, extra, |_, active| {
        active.protocol = Set(SAML.to_owned());
        active.saml_idp_entity_id = Set(Some(idp.entity_id.clone()));
        active.saml_sso_url = Set(Some(idp.sso_url.clone()));
        active.saml_certificates = Set(Some(json!(certificates).to_string()));
        active.saml_email_attribute = Set(email_attribute);
        active.saml_allow_idp_initiated = Set(spec.allow_idp_initiated);
        Ok(())
    })
    .await
}

/// The email attribute of `spec`, once it and the default role pass their checks.
async fn checked_settings(change: &OrgChange, spec: &SamlSpec) -> ApiResult<Option<String>> {
    let email_attribute = match &spec.email_attribute {
        Some(name) => {
            text::check("emailAttribute", TextKind::Line, name, 255)?;
            Some(name.trim().to_owned()).filter(|name| !name.is_empty())
        }
        None => None,
    };
    checked_default_role(change, &spec.admission).await?;
    Ok(email_attribute)
}

/// The identity provider `source` describes, fetched through the outbound guard when it is a
/// URL (`http://` only where insecure providers are allowed).
async fn provider(state: &AppState, source: &SamlSource) -> ApiResult<IdentityProvider> {
    let allow_http = state.settings.sso.allow_insecure_issuers;
    match source {
        SamlSource::Metadata(xml) => {
            IdentityProvider::from_metadata("metadataXml", xml, allow_http)
        }
        SamlSource::ByHand {
            entity_id,
            sso_url,
            certificates,
        } => IdentityProvider::by_hand(entity_id, sso_url, certificates, allow_http),
        SamlSource::MetadataUrl(url) => {
            let body = fetch_document(state, "metadataUrl", url).await?;
            let xml = String::from_utf8(body).map_err(|_| {
                ApiError::invalid("metadataUrl", "answered something other than text")
            })?;
            IdentityProvider::from_metadata("metadataUrl", &xml, allow_http)
        }
    }
}
