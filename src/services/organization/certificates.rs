//! An organization's client-certificate sign-in (smart cards: CAC, PIV), configured with
//! `sso: manage` like its providers and directory (one connection per organization, of any
//! protocol): the certificate authorities it trusts, its revocation lists (given, and/or one
//! fetched from a URL through the outbound guard now and every hour after), and where a
//! certificate names its holder. Everything is checked before anything is written.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sea_orm::Set;
use serde_json::json;

use super::sso::{Admission, SsoRecord, checked_default_role, save_configured};
use crate::clientcert::{Authority, Mapping};
use crate::error::ApiResult;
use crate::services::AppState;
use crate::services::identity::sso::CERTIFICATE;
use crate::services::identity::sso::certificate::fetch_crl;
use crate::services::store::scope::OrgChange;

/// What an administrator asks the certificate sign-in to be.
#[derive(Debug, Clone)]
pub struct CertificateSpec {
    /// PEM or base64 DER CA certificates.
    pub authorities: Vec<String>,
    /// PEM or base64 DER revocation lists.
    pub crls: Vec<String>,
    pub crl_url: Option<String>,
    pub mapping: Mapping,
    pub admission: Admission,
}

/// Configures (or reconfigures, from another protocol too) and enables the organization's
/// client-certificate sign-in.
pub async fn configure(
    state: &AppState,
    change: &OrgChange,
    spec: CertificateSpec,
) -> ApiResult<SsoRecord> {
    if let Some(url) = &spec.crl_url {
        crate::domain::text::check("crlUrl", crate::domain::text::TextKind::Line, url, 2048)?;
    }
    checked_default_role(change, &spec.admission).await?;
    let authority = Authority::checked(&spec.authorities, &spec.crls, spec.mapping)?;
    let crl_url = spec
        .crl_url
        .as_deref()
        .map(str::trim)
        .filter(|url| !url.is_empty());
    let fetched = match crl_url {
        Some(url) => Some(fetch_crl(state, url).await?),
        None => None,
    };
    let anchors: Vec<String> = authority.anchors.iter().map(|ca| ca.to_base64()).collect();
    let crls: Vec<String> = authority
        .crls
        .iter()
        .map(|der| STANDARD.encode(der))
        .collect();
    let what = "configured client-certificate sign-in".to_owned();
    let fingerprints: Vec<&String> = authority.anchors.iter().map(|ca| &ca.fingerprint).collect();
    let extra = json!({ "authorities": fingerprints, "crls": crls.len(), "crlUrl": crl_url });
    let admission = spec.admission.clone();
    save_configured(change, admission, what, extra, |_, active| {
        active.protocol = Set(CERTIFICATE.to_owned());
        active.cert_authorities = Set(Some(json!(anchors).to_string()));
        active.cert_crls = Set(Some(json!(crls).to_string()));
        active.cert_crl_url = Set(crl_url.map(str::to_owned));
        active.cert_fetched_crl = Set(fetched.map(|der| STANDARD.encode(der)));
        active.cert_mapping = Set(Some(spec.mapping.code().to_owned()));
        Ok(())
    })
    .await
}
