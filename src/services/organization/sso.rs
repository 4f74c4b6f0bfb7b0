//! An organization's single sign-on connection: configured with `sso: manage`, read with
//! `sso: read`. A connection's row says which protocol it speaks (`oidc` or `saml`); each
//! protocol's settings sit in columns of their own. How people
//! sign in through it is `identity::sso`.

use chrono::Utc;
use entity::{organization_domain, sso_connection};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;
use uuid::Uuid;

use crate::authz::Refusal;
use crate::authz::power;
use crate::certificate::Certificate;
use crate::domain::text::{self, TextKind};
use crate::error::{ApiError, ApiResult};
use crate::services::AppState;
use crate::services::audit::Action;
use crate::services::identity::sso::{CERTIFICATE, LDAP, OIDC, SAML, find, provider, stored_list};
use crate::services::store::records::{self, RoleRecord};
use crate::services::store::scope::{OrgChange, OrgScope, Tx};

const MAX_ISSUER: usize = 512;
const MAX_CLIENT_ID: usize = 255;
const MAX_CLIENT_SECRET: usize = 1024;

/// An organization's connection as its readers see it: never the client secret.
#[derive(Debug, Clone)]
pub struct SsoRecord {
    pub organization_id: Uuid,
    pub protocol: String,
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub enabled: bool,
    pub enforced: bool,
    pub jit_provisioning: bool,
    pub default_role_id: Option<Uuid>,
    pub updated_at: chrono::DateTime<Utc>,
    /// A SAML connection's identity provider; none for another protocol.
    pub saml: Option<SamlRecord>,
    /// An LDAP connection's directory; none for another protocol.
    pub ldap: Option<LdapRecord>,
    /// A client-certificate connection's trust; none for another protocol.
    pub certificate: Option<CertificateRecord>,
}

impl From<sso_connection::Model> for SsoRecord {
    fn from(model: sso_connection::Model) -> Self {
        let saml = SamlRecord::of(&model);
        let ldap = LdapRecord::of(&model);
        let certificate = CertificateRecord::of(&model);
        Self {
            organization_id: model.organization_id,
            protocol: model.protocol,
            issuer: model.issuer,
            client_id: model.client_id,
            enabled: model.enabled,
            enforced: model.enforced,
            jit_provisioning: model.jit_provisioning,
            default_role_id: model.default_role_id,
            updated_at: model.updated_at,
            saml,
            ldap,
            certificate,
        }
    }
}

/// A SAML connection's identity provider as its readers see it.
#[derive(Debug, Clone)]
pub struct SamlRecord {
    pub idp_entity_id: String,
    pub sso_url: String,
    pub certificates: Vec<Certificate>,
    pub email_attribute: Option<String>,
    pub allow_idp_initiated: bool,
}

impl SamlRecord {
    /// The SAML settings of `model`, when it is a SAML connection.
    pub fn of(model: &sso_connection::Model) -> Option<Self> {
        if model.protocol != SAML {
            return None;
        }
        let stored = stored_list(model.saml_certificates.as_deref()).unwrap_or_default();
        Some(Self {
            idp_entity_id: model.saml_idp_entity_id.clone().unwrap_or_default(),
            sso_url: model.saml_sso_url.clone().unwrap_or_default(),
            certificates: stored
                .iter()
                .filter_map(|text| Certificate::parse("certificates", text).ok())
                .collect(),
            email_attribute: model.saml_email_attribute.clone(),
            allow_idp_initiated: model.saml_allow_idp_initiated,
        })
    }
}

/// An LDAP connection's directory as its readers see it: never the service account's password.
#[derive(Debug, Clone)]
pub struct LdapRecord {
    pub url: String,
    pub start_tls: bool,
    pub bind_dn: String,
    pub base_dn: String,
    pub user_filter: String,
    pub email_attribute: String,
    pub group_filter: Option<String>,
    pub ca_certificate: Option<Certificate>,
}

impl LdapRecord {
    /// The directory settings of `model`, when it is an LDAP connection.
    pub fn of(model: &sso_connection::Model) -> Option<Self> {
        if model.protocol != LDAP {
            return None;
        }
        Some(Self {
            url: model.ldap_url.clone().unwrap_or_default(),
            start_tls: model.ldap_start_tls,
            bind_dn: model.ldap_bind_dn.clone().unwrap_or_default(),
            base_dn: model.ldap_base_dn.clone().unwrap_or_default(),
            user_filter: model.ldap_user_filter.clone().unwrap_or_default(),
            email_attribute: model.ldap_email_attribute.clone().unwrap_or_default(),
            group_filter: model.ldap_group_filter.clone(),
            ca_certificate: model
                .ldap_ca_certificate
                .as_deref()
                .and_then(|text| Certificate::parse("caCertificate", text).ok()),
        })
    }
}

/// A client-certificate connection's trust as its readers see it.
#[derive(Debug, Clone)]
pub struct CertificateRecord {
    pub authorities: Vec<Certificate>,
    /// How many revocation lists were given.
    pub crls: usize,
    pub crl_url: Option<String>,
    /// Whether a list was fetched from `crl_url`.
    pub crl_fetched: bool,
    pub mapping: String,
}

impl CertificateRecord {
    /// The trust of `model`, when it is a client-certificate connection.
    pub fn of(model: &sso_connection::Model) -> Option<Self> {
        if model.protocol != CERTIFICATE {
            return None;
        }
        let list = |column: &Option<String>| stored_list(column.as_deref()).unwrap_or_default();
        Some(Self {
            authorities: list(&model.cert_authorities)
                .iter()
                .filter_map(|text| Certificate::parse("authorities", text).ok())
                .collect(),
            crls: list(&model.cert_crls).len(),
            crl_url: model.cert_crl_url.clone(),
            crl_fetched: model.cert_fetched_crl.is_some(),
            mapping: model.cert_mapping.clone().unwrap_or_default(),
        })
    }
}

/// The organization's connection, if it ever had one.
pub async fn connection(scope: &OrgScope) -> ApiResult<Option<SsoRecord>> {
    Ok(find(scope.db(), scope.organization_id())
        .await?
        .map(Into::into))
}

/// The organization's domains, oldest first.
pub async fn domains(scope: &OrgScope) -> ApiResult<Vec<organization_domain::Model>> {
    Ok(organization_domain::Entity::find()
        .filter(organization_domain::Column::OrganizationId.eq(scope.organization_id()))
        .order_by_asc(organization_domain::Column::Id)
        .all(scope.db())
        .await?)
}

/// What an administrator asks the connection to be.
#[derive(Debug, Clone)]
pub struct SsoSpec {
    pub issuer: String,
    pub client_id: String,
    /// Required the first time; kept when absent afterwards.
    pub client_secret: Option<String>,
    pub admission: Admission,
}

/// Configures (or reconfigures) and enables the organization's OpenID connection. The issuer's
/// discovery document and keys are fetched and checked first, outside the organization's lock;
/// the client secret is sealed; the default role must be one the administrator may hand out,
/// and never the owner role.
pub async fn configure(
    state: &AppState,
    change: &OrgChange,
    spec: SsoSpec,
) -> ApiResult<SsoRecord> {
    let issuer = checked_spec(state, &spec)?;
    // Text and role checks first, then the network: a malformed request costs no fetch.
    checked_default_role(change, &spec.admission).await?;
    let discovered = provider::discover(
        &state.sso.http,
        &issuer,
        state.settings.sso.allow_insecure_issuers,
    )
    .await?;
    let sealed = spec
        .client_secret
        .as_deref()
        .map(|secret| {
            state
                .secrets
                .seal(change.organization_id().as_bytes(), secret)
        })
        .transpose()?;
    let admission = spec.admission.clone();
    let what = format!("configured single sign-on with {issuer}");
    let extra = json!({ "clientSecretChanged": sealed.is_some() });
    save_configured(change, admission, what, extra, |existing, active| {
        let secret = sealed
            .or_else(|| existing?.client_secret_sealed.clone())
            .ok_or_else(|| ApiError::invalid("clientSecret", "is required"))?;
        active.protocol = Set(OIDC.to_owned());
        active.issuer = Set(Some(issuer));
        active.client_id = Set(Some(spec.client_id));
        active.client_secret_sealed = Set(Some(secret));
        active.provider_metadata = Set(Some(discovered.metadata));
        active.provider_jwks = Set(Some(discovered.jwks));
        Ok(())
    })
    .await
}

/// Since when the connection enforces once it is saved with `enforced`: unchanged while it
/// already did, now when it begins, never when it does not.
fn enforced_since(
    existing: Option<&sso_connection::Model>,
    enforced: bool,
) -> Option<chrono::DateTime<Utc>> {
    match existing {
        Some(row) if row.enabled && row.enforced && enforced => row.enforced_since,
        _ if enforced => Some(Utc::now()),
        _ => None,
    }
}

/// Who a connection lets in and how it holds them, whatever its protocol: the role
/// just-in-time members get (required with `jit_provisioning`, never the owner role, within the
/// administrator's own grants), and whether members of its verified domains must come through it.
#[derive(Debug, Clone)]
pub struct Admission {
    pub default_role_id: Option<Uuid>,
    pub jit_provisioning: bool,
    pub enforced: bool,
}

/// Saves the organization's connection under its lock, for any protocol: the default role read
/// again (one the administrator may hand out), `set` writing the protocol's own settings over
/// a clean row (seeing the row it replaces, and free to refuse), the connection enabled with
/// `admission`, and one `sso.configured` event saying `what`, with `extra`'s fields in its
/// payload beside the settings before and after.
pub(super) async fn save_configured(
    change: &OrgChange,
    admission: Admission,
    what: String,
    extra: serde_json::Value,
    set: impl FnOnce(Option<&sso_connection::Model>, &mut sso_connection::ActiveModel) -> ApiResult<()>,
) -> ApiResult<SsoRecord> {
    let organization_id = change.organization_id();
    let creator = change.actor().user_id;
    let model = change
        .write(async |tx| {
            let role = match admission.default_role_id {
                Some(role_id) => Some(handed_out(tx, role_id).await?),
                None => None,
            };
            let existing = find(tx.txn, organization_id).await?;
            let before = existing.clone().map(SsoRecord::from);
            let since = enforced_since(existing.as_ref(), admission.enforced);
            let replaced = existing.clone();
            let model = write_connection(tx.txn, existing, organization_id, creator, |active| {
                set(replaced.as_ref(), active)?;
                active.enabled = Set(true);
                active.enforced = Set(since.is_some());
                active.enforced_since = Set(since);
                active.jit_provisioning = Set(admission.jit_provisioning);
                active.default_role_id = Set(role.as_ref().map(|role| role.id));
                active.metadata_fetched_at = Set(Some(Utc::now()));
                Ok(())
            })
            .await?;
            let mut payload = json!({
                "before": before.as_ref().map(describe),
                "after": describe(&SsoRecord::from(model.clone())),
            });
            if let (Some(payload), Some(extra)) = (payload.as_object_mut(), extra.as_object()) {
                payload.extend(extra.clone());
            }
            let event = tx
                .event(Action::SsoConfigured, what)
                .target("sso_connection", model.id)
                .payload(payload);
            Ok((model, Some(event)))
        })
        .await?;
    Ok(model.into())
}

/// Writes the organization's connection: `existing` changed by `set`, or a new row (created by
/// `creator`) that `set` fills; its `updated_at` is now either way. Nothing is written when
/// `set` refuses.
async fn write_connection(
    txn: &impl sea_orm::ConnectionTrait,
    existing: Option<sso_connection::Model>,
    organization_id: Uuid,
    creator: Option<Uuid>,
    set: impl FnOnce(&mut sso_connection::ActiveModel) -> ApiResult<()>,
) -> ApiResult<sso_connection::Model> {
    let now = Utc::now();
    let is_new = existing.is_none();
    let mut active: sso_connection::ActiveModel = match existing {
        Some(row) => row.into(),
        None => sso_connection::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(organization_id),
            created_by: Set(creator),
            created_at: Set(now),
            ..Default::default()
        },
    };
    clear_protocol_settings(&mut active);
    set(&mut active)?;
    active.updated_at = Set(now);
    Ok(if is_new {
        active.insert(txn).await?
    } else {
        active.update(txn).await?
    })
}

/// Clears every protocol's own settings, so that the protocol being configured writes its own
/// on a clean row (a connection moved from one protocol to another keeps nothing of the old).
fn clear_protocol_settings(active: &mut sso_connection::ActiveModel) {
    active.issuer = Set(None);
    active.client_id = Set(None);
    active.client_secret_sealed = Set(None);
    active.provider_metadata = Set(None);
    active.provider_jwks = Set(None);
    active.saml_idp_entity_id = Set(None);
    active.saml_sso_url = Set(None);
    active.saml_certificates = Set(None);
    active.saml_email_attribute = Set(None);
    active.saml_allow_idp_initiated = Set(false);
    active.ldap_url = Set(None);
    active.ldap_start_tls = Set(false);
    active.ldap_bind_dn = Set(None);
    active.ldap_bind_password_sealed = Set(None);
    active.ldap_base_dn = Set(None);
    active.ldap_user_filter = Set(None);
    active.ldap_email_attribute = Set(None);
    active.ldap_group_filter = Set(None);
    active.ldap_ca_certificate = Set(None);
    active.cert_authorities = Set(None);
    active.cert_crls = Set(None);
    active.cert_crl_url = Set(None);
    active.cert_fetched_crl = Set(None);
    active.cert_mapping = Set(None);
}

/// The issuer of `spec`, normalised, once its text fields pass their checks and Charter has a
/// public URL for the provider to send people back to.
fn checked_spec(state: &AppState, spec: &SsoSpec) -> ApiResult<String> {
    let issuer = spec.issuer.trim().trim_end_matches('/').to_owned();
    text::check("issuer", TextKind::Line, &issuer, MAX_ISSUER)?;
    text::check("clientId", TextKind::Line, &spec.client_id, MAX_CLIENT_ID)?;
    if spec.client_id.trim().is_empty() {
        return Err(ApiError::invalid("clientId", "is required"));
    }
    if let Some(secret) = &spec.client_secret {
        text::check("clientSecret", TextKind::Line, secret, MAX_CLIENT_SECRET)?;
        if secret.is_empty() {
            return Err(ApiError::invalid("clientSecret", "must not be empty"));
        }
    }
    if state.settings.sso.public_url.is_none() {
        return Err(ApiError::invalid(
            "issuer",
            "single sign-on needs Charter's public URL: set public_url (CHARTER_PUBLIC_URL)",
        ));
    }
    Ok(issuer)
}

/// Checks the default role a connection hands out: required for just-in-time members, one of
/// the organization's, never the owner role.
pub(super) async fn checked_default_role(
    change: &OrgChange,
    admission: &Admission,
) -> ApiResult<()> {
    if admission.jit_provisioning && admission.default_role_id.is_none() {
        return Err(ApiError::invalid(
            "defaultRoleId",
            "is required when jitProvisioning is on",
        ));
    }
    if let Some(role_id) = admission.default_role_id {
        default_role(
            change.db(),
            change.policy(),
            change.organization_id(),
            role_id,
        )
        .await?;
    }
    Ok(())
}

/// The role `role_id`, read again under the organization's lock: one of the organization's,
/// never the owner role, and one the administrator may hand out.
async fn handed_out(tx: &Tx<'_>, role_id: Uuid) -> ApiResult<RoleRecord> {
    let role = default_role(tx.txn, tx.policy(), tx.organization_id(), role_id).await?;
    power::may_hand_out(tx.policy(), tx.access.standing(), role.standing())?;
    Ok(role)
}

/// The role `role_id` of the organization, which may be handed out by single sign-on: any but
/// the owner role.
async fn default_role(
    db: &impl sea_orm::ConnectionTrait,
    policy: &crate::authz::Policy,
    organization_id: Uuid,
    role_id: Uuid,
) -> ApiResult<RoleRecord> {
    let role = records::role_in_organization(db, policy, organization_id, role_id)
        .await
        .map_err(|_| Refusal::RoleNotInOrganization)?;
    if role.owner {
        return Err(Refusal::OwnerRoleBySingleSignOn.into());
    }
    Ok(role)
}

/// Turns the organization's connection off (enforcement with it); its settings are kept for
/// a later `configureSso`. NOT_FOUND when it has none.
pub async fn disable(change: &OrgChange) -> ApiResult<SsoRecord> {
    let organization_id = change.organization_id();
    let model = change
        .write(async |tx| {
            let row = find(tx.txn, organization_id)
                .await?
                .ok_or_else(|| ApiError::not_found("single sign-on connection"))?;
            let before = describe(&SsoRecord::from(row.clone()));
            let mut active: sso_connection::ActiveModel = row.into();
            active.enabled = Set(false);
            active.enforced = Set(false);
            active.enforced_since = Set(None);
            active.updated_at = Set(Utc::now());
            let model = active.update(tx.txn).await?;
            let event = tx
                .event(Action::SsoDisabled, "disabled single sign-on")
                .target("sso_connection", model.id)
                .payload(
                    json!({ "before": before, "after": describe(&SsoRecord::from(model.clone())) }),
                );
            Ok((model, Some(event)))
        })
        .await?;
    Ok(model.into())
}

/// A connection's settings for an audit payload: no secret.
pub(super) fn describe(record: &SsoRecord) -> serde_json::Value {
    json!({
        "protocol": record.protocol,
        "issuer": record.issuer,
        "clientId": record.client_id,
        "enabled": record.enabled,
        "enforced": record.enforced,
        "jitProvisioning": record.jit_provisioning,
        "defaultRoleId": record.default_role_id,
        "samlIdpEntityId": record.saml.as_ref().map(|saml| &saml.idp_entity_id),
        "ldapUrl": record.ldap.as_ref().map(|ldap| &ldap.url),
    })
}
