//! An organization's SAML connection, configured with `sso: manage` like its OpenID one (one
//! connection per organization, of either protocol): from the identity provider's metadata,
//! pasted or fetched through the outbound guard, or by hand. Everything is checked before the
//! row is written. People sign in through it on the one pipeline (`identity::sso::saml`), with
//! the same verified domains, just-in-time members, enforcement and break glass as OpenID.

use chrono::Utc;
use entity::sso_connection;
use sea_orm::Set;
use serde_json::json;
use uuid::Uuid;

use super::sso::{SsoRecord, default_role, describe, enforced_since, handed_out, write_connection};
use crate::domain::text::{self, TextKind};
use crate::error::{ApiError, ApiResult};
use crate::saml::idp::IdentityProvider;
use crate::services::AppState;
use crate::services::audit::Action;
use crate::services::identity::sso::{SAML, find};
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
    pub default_role_id: Option<Uuid>,
    pub jit_provisioning: bool,
    pub enforced: bool,
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
    let organization_id = change.organization_id();
    let creator = change.actor().user_id;
    let model = change
        .write(async |tx| {
            let role = match spec.default_role_id {
                Some(role_id) => Some(handed_out(tx, role_id).await?),
                None => None,
            };
            let existing = find(tx.txn, organization_id).await?;
            let before = existing.clone().map(SsoRecord::from);
            let values = SamlValues {
                idp: &idp,
                email_attribute: email_attribute.clone(),
                jit_provisioning: spec.jit_provisioning,
                default_role_id: role.as_ref().map(|role| role.id),
                enforced_since: enforced_since(existing.as_ref(), spec.enforced),
                allow_idp_initiated: spec.allow_idp_initiated,
            };
            let model = save(tx.txn, existing, organization_id, creator, values).await?;
            let event = tx
                .event(
                    Action::SsoConfigured,
                    format!("configured SAML single sign-on with {}", idp.entity_id),
                )
                .target("sso_connection", model.id)
                .payload(json!({
                    "before": before.as_ref().map(describe),
                    "after": describe(&SsoRecord::from(model.clone())),
                    "certificates": idp.certificates.iter().map(|c| &c.fingerprint).collect::<Vec<_>>(),
                }));
            Ok((model, Some(event)))
        })
        .await?;
    Ok(model.into())
}

/// The email attribute of `spec`, once it and the default role pass their checks (a role is
/// required for just-in-time members, and must be one of the organization's, not the owner's).
async fn checked_settings(change: &OrgChange, spec: &SamlSpec) -> ApiResult<Option<String>> {
    let email_attribute = match &spec.email_attribute {
        Some(name) => {
            text::check("emailAttribute", TextKind::Line, name, 255)?;
            Some(name.trim().to_owned()).filter(|name| !name.is_empty())
        }
        None => None,
    };
    if spec.jit_provisioning && spec.default_role_id.is_none() {
        return Err(ApiError::invalid(
            "defaultRoleId",
            "is required when jitProvisioning is on",
        ));
    }
    if let Some(role_id) = spec.default_role_id {
        default_role(
            change.db(),
            change.policy(),
            change.organization_id(),
            role_id,
        )
        .await?;
    }
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
            let url = crate::saml::endpoint_url("metadataUrl", url, allow_http)?;
            let request = http::Request::get(url.as_str())
                .body(Vec::new())
                .map_err(|_| {
                    ApiError::invalid("metadataUrl", "is not a URL Charter can request")
                })?;
            let answer = state.sso.http.fetch(request).await.map_err(|_| {
                ApiError::invalid("metadataUrl", "could not be fetched (not reachable)")
            })?;
            if !answer.status().is_success() {
                return Err(ApiError::invalid(
                    "metadataUrl",
                    format!("answered HTTP {}", answer.status().as_u16()),
                ));
            }
            let xml = String::from_utf8(answer.into_body()).map_err(|_| {
                ApiError::invalid("metadataUrl", "answered something other than text")
            })?;
            IdentityProvider::from_metadata("metadataUrl", &xml, allow_http)
        }
    }
}

/// What a SAML configuration sets on the connection's row.
struct SamlValues<'a> {
    idp: &'a IdentityProvider,
    email_attribute: Option<String>,
    jit_provisioning: bool,
    default_role_id: Option<Uuid>,
    /// Set when the connection enforces.
    enforced_since: Option<chrono::DateTime<Utc>>,
    allow_idp_initiated: bool,
}

/// Writes `values` over the organization's connection (`existing`, of either protocol), or as
/// its first one, enabled; an OpenID connection's settings are cleared.
async fn save(
    txn: &impl sea_orm::ConnectionTrait,
    existing: Option<sso_connection::Model>,
    organization_id: Uuid,
    creator: Option<Uuid>,
    values: SamlValues<'_>,
) -> ApiResult<sso_connection::Model> {
    let now = Utc::now();
    let certificates: Vec<String> = values
        .idp
        .certificates
        .iter()
        .map(|c| c.to_base64())
        .collect();
    write_connection(txn, existing, organization_id, creator, |active| {
        active.protocol = Set(SAML.to_owned());
        active.enabled = Set(true);
        active.enforced = Set(values.enforced_since.is_some());
        active.enforced_since = Set(values.enforced_since);
        active.jit_provisioning = Set(values.jit_provisioning);
        active.default_role_id = Set(values.default_role_id);
        active.issuer = Set(None);
        active.client_id = Set(None);
        active.client_secret_sealed = Set(None);
        active.provider_metadata = Set(None);
        active.provider_jwks = Set(None);
        active.metadata_fetched_at = Set(Some(now));
        active.saml_idp_entity_id = Set(Some(values.idp.entity_id.clone()));
        active.saml_sso_url = Set(Some(values.idp.sso_url.clone()));
        active.saml_certificates = Set(Some(json!(certificates).to_string()));
        active.saml_email_attribute = Set(values.email_attribute);
        active.saml_allow_idp_initiated = Set(values.allow_idp_initiated);
    })
    .await
}
