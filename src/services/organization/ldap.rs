//! An organization's LDAP directory, configured with `sso: manage` like its identity providers
//! (one connection per organization, of any protocol). The settings are checked, then the
//! directory itself, outside the organization's lock: the service bind must work and the search
//! base exist, or nothing is written. The service account's password is sealed under the
//! secrets key, bound to the organization, and never read back.

use entity::sso_connection;
use sea_orm::Set;
use serde_json::json;

use super::sso::{Admission, SsoRecord, checked_default_role, save_configured};
use crate::certificate::Certificate;
use crate::error::{ApiError, ApiResult};
use crate::ldap::Directory;
use crate::services::AppState;
use crate::services::identity::sso::ldap::reach;
use crate::services::identity::sso::{LDAP, find};
use crate::services::store::scope::OrgChange;

/// What an administrator asks the directory connection to be.
#[derive(Debug, Clone)]
pub struct LdapSpec {
    pub url: String,
    pub start_tls: bool,
    pub bind_dn: String,
    /// Required the first time; kept when absent afterwards.
    pub bind_password: Option<String>,
    pub base_dn: String,
    pub user_filter: String,
    pub email_attribute: String,
    pub group_filter: Option<String>,
    /// PEM or base64 DER.
    pub ca_certificate: Option<String>,
    pub admission: Admission,
}

/// Configures (or reconfigures, from another protocol too) and enables the organization's
/// directory. Nothing is written unless the directory answers the service bind and holds the
/// search base.
pub async fn configure(
    state: &AppState,
    change: &OrgChange,
    spec: LdapSpec,
) -> ApiResult<SsoRecord> {
    checked_default_role(change, &spec.admission).await?;
    let existing = find(change.db(), change.organization_id()).await?;
    let directory = directory_of(state, &spec, existing.as_ref())?;
    directory.check(&reach(state)).await?;
    let sealed = state.secrets.seal(
        change.organization_id().as_bytes(),
        &directory.bind_password,
    )?;
    let admission = spec.admission.clone();
    let what = format!("configured LDAP sign-in with {}", directory.url);
    let extra = json!({ "bindPasswordChanged": spec.bind_password.is_some() });
    save_configured(change, admission, what, extra, |_, active| {
        set_directory(active, &directory, sealed);
        Ok(())
    })
    .await
}

/// The directory `spec` describes, checked; the stored password of an existing directory
/// connection when `spec` gives none.
fn directory_of(
    state: &AppState,
    spec: &LdapSpec,
    existing: Option<&sso_connection::Model>,
) -> ApiResult<Directory> {
    let bind_password = match &spec.bind_password {
        Some(password) if password.is_empty() => {
            return Err(ApiError::invalid("bindPassword", "must not be empty"));
        }
        Some(password) => password.clone(),
        None => match existing.and_then(|row| row.ldap_bind_password_sealed.as_deref()) {
            Some(sealed) => state.secrets.open(
                existing
                    .map(|row| row.organization_id)
                    .unwrap_or_default()
                    .as_bytes(),
                sealed,
            )?,
            None => return Err(ApiError::invalid("bindPassword", "is required")),
        },
    };
    crate::domain::text::check("url", crate::domain::text::TextKind::Line, &spec.url, 1024)?;
    let url = url::Url::parse(spec.url.trim())
        .map_err(|_| ApiError::invalid("url", "is not an ldap:// or ldaps:// URL"))?;
    let ca_certificate = spec
        .ca_certificate
        .as_deref()
        .filter(|text| !text.trim().is_empty())
        .map(|text| Certificate::parse("caCertificate", text))
        .transpose()?;
    if ca_certificate.as_ref().is_some_and(|ca| !ca.is_authority()) {
        return Err(ApiError::invalid(
            "caCertificate",
            "is not a CA certificate",
        ));
    }
    Directory {
        url,
        start_tls: spec.start_tls,
        bind_dn: spec.bind_dn.trim().to_owned(),
        bind_password,
        base_dn: spec.base_dn.trim().to_owned(),
        user_filter: spec.user_filter.trim().to_owned(),
        email_attribute: spec.email_attribute.trim().to_owned(),
        group_filter: spec
            .group_filter
            .as_deref()
            .map(str::trim)
            .filter(|filter| !filter.is_empty())
            .map(str::to_owned),
        ca_certificate,
    }
    .checked(state.settings.sso.ldap_allow_plain)
}

/// Writes `directory`'s settings (its password `sealed`) on the connection.
fn set_directory(active: &mut sso_connection::ActiveModel, directory: &Directory, sealed: String) {
    active.protocol = Set(LDAP.to_owned());
    active.ldap_url = Set(Some(directory.url.to_string()));
    active.ldap_start_tls = Set(directory.start_tls);
    active.ldap_bind_dn = Set(Some(directory.bind_dn.clone()));
    active.ldap_bind_password_sealed = Set(Some(sealed));
    active.ldap_base_dn = Set(Some(directory.base_dn.clone()));
    active.ldap_user_filter = Set(Some(directory.user_filter.clone()));
    active.ldap_email_attribute = Set(Some(directory.email_attribute.clone()));
    active.ldap_group_filter = Set(directory.group_filter.clone());
    active.ldap_ca_certificate = Set(directory
        .ca_certificate
        .as_ref()
        .map(Certificate::to_base64));
}
