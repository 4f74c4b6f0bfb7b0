//! Signing in with a client certificate (a smart card): `GET /cert/{publicId}/start?return_to=…`
//! on Charter's TLS listener, whose handshake asked for the certificate and proved the client
//! holds its key, or behind a trusted proxy that terminated TLS and forwards the certificate.
//! The chain is checked against the organization's own anchors and revocation lists
//! (`crate::clientcert`), the identity its mapping reads is taken like a provider's email (a
//! link first, an email only in a verified domain, JIT, seats), and the sign-in ends like any
//! other: `return_to?sso_code=…`, `exchangeSsoCode`, the second factor where one is due.

use entity::sso_connection;
use rustls::pki_types::UnixTime;

use super::flow::{Failure, admit, back_with, checked_return_to, enabled_by_public_id, issue_code};
use super::provider::Verified;
use super::refusals::{Reason, Refused, refusal};
use super::{AppState, CERTIFICATE, CERTIFICATE_ISSUER, stored_list};
use crate::certificate::Certificate;
use crate::clientcert::{Authority, Mapping};
use crate::error::{ApiError, ApiResult};
use crate::services::RequestMeta;

/// The page for a browser that presented no certificate.
const NO_CERTIFICATE: &str = "no client certificate was presented: insert your smart card, \
     choose its certificate when the browser asks, and start again";

/// Signs in to the organization `public_id` with the certificate `chain` the connection or a
/// trusted proxy presented (none: the page that says so), back to `return_to`.
pub async fn sign_in(
    state: &AppState,
    public_id: &str,
    return_to: Option<&str>,
    chain: Option<Vec<Vec<u8>>>,
    meta: &RequestMeta,
) -> Result<String, Failure> {
    let return_to = checked_return_to(state, return_to)?;
    let (org, connection) = enabled_by_public_id(state, public_id).await?;
    if connection.protocol != CERTIFICATE {
        return Err(Failure::new(404, super::flow::NOT_AVAILABLE));
    }
    let chain = chain
        .filter(|chain| !chain.is_empty())
        .ok_or_else(|| Failure::new(400, NO_CERTIFICATE))?;
    let authority = authority(&connection)?;
    let identity = match authority.verify(&chain, UnixTime::now()) {
        Ok(identity) => identity,
        Err(why) => {
            let refused = Refused::of(Reason::Certificate(why));
            return Err(refusal(state, &org, refused, meta).await);
        }
    };
    let verified = Verified {
        subject: identity.to_ascii_lowercase(),
        email: Some(identity),
        email_verified: true,
        name: None,
        mfa: false,
    };
    let issuer = CERTIFICATE_ISSUER.to_owned();
    let admitted = match admit(state, &org, &connection, &issuer, &verified, meta).await? {
        Ok(admitted) => admitted,
        Err(refused) => return Err(refusal(state, &org, refused, meta).await),
    };
    let code = issue_code(state, org.id, issuer, &admitted, false).await?;
    Ok(back_with(
        &return_to,
        &code,
        admitted.link_subject.is_some(),
    )?)
}

/// The trust `connection` keeps: its anchors, the revocation lists given and the one last
/// fetched, and its mapping.
fn authority(connection: &sso_connection::Model) -> ApiResult<Authority> {
    let broken = || ApiError::internal("a certificate connection without its settings");
    let list = |column: &Option<String>| stored_list(column.as_deref()).unwrap_or_default();
    let anchors = list(&connection.cert_authorities)
        .iter()
        .map(|text| Certificate::parse("authorities", text))
        .collect::<ApiResult<Vec<_>>>()?;
    let mut crls: Vec<Vec<u8>> = list(&connection.cert_crls)
        .iter()
        .chain(connection.cert_fetched_crl.iter())
        .filter_map(|text| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(text).ok()
        })
        .collect();
    crls.retain(|der| !der.is_empty());
    let mapping = connection
        .cert_mapping
        .as_deref()
        .and_then(Mapping::from_code)
        .ok_or_else(broken)?;
    Ok(Authority {
        anchors,
        crls,
        mapping,
    })
}

/// The revocation list at `url` (`https://`, `http://` only where insecure providers are
/// allowed), fetched through the outbound guard; INVALID_INPUT naming `crlUrl` when it cannot
/// be fetched or does not parse.
pub async fn fetch_crl(state: &AppState, url: &str) -> ApiResult<Vec<u8>> {
    let der = super::fetch_document(state, "crlUrl", url).await?;
    crate::clientcert::crl_checked(der).ok_or_else(|| {
        ApiError::invalid("crlUrl", "answered something other than a revocation list")
    })
}

/// Fetches again the revocation list of every certificate connection that names a URL, and
/// keeps each that parses (a failed fetch keeps the last one, and is logged). Returns how many
/// were refreshed.
pub async fn refresh_crls(state: &AppState) -> ApiResult<usize> {
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
    let connections = sso_connection::Entity::find()
        .filter(sso_connection::Column::Protocol.eq(CERTIFICATE))
        .filter(sso_connection::Column::CertCrlUrl.is_not_null())
        .all(&state.db)
        .await?;
    let mut refreshed = 0;
    for connection in connections {
        let url = connection.cert_crl_url.clone().unwrap_or_default();
        let der = match fetch_crl(state, &url).await {
            Ok(der) => der,
            Err(err) => {
                tracing::warn!(organization = %connection.organization_id, error = %err.message, "refreshing a revocation list failed");
                continue;
            }
        };
        use base64::Engine;
        let mut active: sso_connection::ActiveModel = connection.into();
        active.cert_fetched_crl = Set(Some(base64::engine::general_purpose::STANDARD.encode(der)));
        crate::services::store::scope::write_unrecorded(&state.db, async |txn| {
            active.update(txn).await?;
            Ok(())
        })
        .await?;
        refreshed += 1;
    }
    Ok(refreshed)
}
