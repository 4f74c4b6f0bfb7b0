//! Signing in through an organization's SAML identity provider, on the same pipeline as OpenID:
//! `start` sends the browser with an AuthnRequest (HTTP-Redirect binding) whose ID and
//! `RelayState` are kept as a pending sign-in bound to the browser's cookie; the provider posts
//! its Response to the organization's Assertion Consumer Service, where it is checked
//! (`crate::saml::sp`), its assertion taken once (`replay`), and the person it names admitted
//! and handed a one-time code exactly as an OpenID callback does.
//!
//! A Response nobody asked for (IdP-initiated) is refused unless the connection takes them;
//! then it must answer no request, is still replay-checked, and its `RelayState` must be a
//! return URL on a configured origin.

use entity::{organization, sso_connection};

use super::flow::{
    Failure, NOT_AVAILABLE, admit, back_with, checked_return_to, claim_login, enabled_by_public_id,
    issue_code, taken_back, unknown_login,
};
use super::provider::Verified;
use super::refusals::{Reason, Refused, refusal};
use super::requests::{identity_provider, this_service_provider};
use super::{AppState, SAML, replay};
use crate::saml::sp;
use crate::services::RequestMeta;

/// The longest `SAMLResponse` read, base64: a decoded Response is at most
/// [`crate::saml::MAX_XML`].
pub const MAX_POSTED: usize = crate::saml::MAX_XML / 3 * 4 + 4;
/// The longest `RelayState` read.
const MAX_RELAY_STATE: usize = 2048;

/// `AuthnContextClassRef`s that say the provider authenticated with more than one factor:
/// SAML's own two-factor classes, REFEDS MFA, and Microsoft's (ADFS, Entra ID).
const MULTI_FACTOR_CONTEXTS: &[&str] = &[
    "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorUnregistered",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI",
    "https://refeds.org/profile/mfa",
    "http://schemas.microsoft.com/claims/multipleauthn",
];
const TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
const NAME_ATTRIBUTES: &[&str] = &[
    "displayName",
    "name",
    "http://schemas.microsoft.com/identity/claims/displayname",
];

/// What the browser posts to the Assertion Consumer Service.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Posted {
    #[serde(rename = "SAMLResponse")]
    pub saml_response: Option<String>,
    #[serde(rename = "RelayState")]
    pub relay_state: Option<String>,
}

/// Where a Response may take the browser: the pending request it must answer (none for an
/// unsolicited one) and the return URL.
struct Solicited {
    request_id: Option<String>,
    return_to: String,
}

/// Takes a Response posted to the ACS of the organization `public_id`, once, and answers where
/// to send the browser (the sign-in's `return_to` with a one-time code).
///
/// As with OpenID, nothing is verified and nothing written to the organization's log before a
/// sign-in this browser started is named by `RelayState`, unless the connection takes
/// unsolicited Responses.
pub async fn acs(
    state: &AppState,
    public_id: &str,
    posted: Posted,
    browser_secret: Option<&str>,
    meta: &RequestMeta,
) -> Result<String, Failure> {
    let (org, connection) = enabled_by_public_id(state, public_id).await?;
    if connection.protocol != SAML {
        return Err(Failure::new(404, NOT_AVAILABLE));
    }
    let response = posted
        .saml_response
        .filter(|response| !response.is_empty() && response.len() <= MAX_POSTED)
        .ok_or_else(|| Failure::new(400, "no SAMLResponse (of at most 256 KB) was posted"))?;
    let refuse = async |refused: Refused| -> Failure { refusal(state, &org, refused, meta).await };
    let solicited =
        match solicitation(state, &org, &connection, posted.relay_state, browser_secret).await? {
            Ok(solicited) => solicited,
            Err(refused) => return Err(refuse(refused).await),
        };
    let idp = identity_provider(&connection)?;
    let pending = solicited.request_id.map(|id| vec![id]);
    let checked = this_service_provider(state, &org)?.check(&idp, &response, pending.as_deref());
    let assertion = match checked {
        Ok(assertion) => assertion,
        Err(why) => return Err(refuse(Refused::of(Reason::Assertion(why))).await),
    };
    let first = replay::first_use(
        state,
        org.id,
        &assertion.assertion_id,
        assertion.not_on_or_after,
    );
    if !first.await? {
        return Err(refuse(Refused::of(Reason::Replayed)).await);
    }
    let Some(verified) = person(&connection, &assertion) else {
        return Err(refuse(Refused::of(Reason::Assertion(sp::Refused::NoSubject))).await);
    };
    let admitted = match admit(state, &org, &connection, &idp.entity_id, &verified, meta).await? {
        Ok(admitted) => admitted,
        Err(refused) => return Err(refuse(refused).await),
    };
    let code = issue_code(state, org.id, idp.entity_id, &admitted, verified.mfa).await?;
    Ok(back_with(
        &solicited.return_to,
        &code,
        admitted.link_subject.is_some(),
    )?)
}

/// The sign-in `relay_state` names, claimed, in this browser and to this organization's
/// provider; else, where the connection takes unsolicited Responses, the return URL
/// `relay_state` gives. A page (nothing recorded) when neither holds.
async fn solicitation(
    state: &AppState,
    org: &organization::Model,
    connection: &sso_connection::Model,
    relay_state: Option<String>,
    browser_secret: Option<&str>,
) -> Result<Result<Solicited, Refused>, Failure> {
    let relay_state =
        relay_state.filter(|relay| !relay.is_empty() && relay.len() <= MAX_RELAY_STATE);
    let login = match relay_state.as_deref() {
        Some(relay) => claim_login(state, relay).await?,
        None => None,
    };
    if let Some(login) = login.filter(|login| login.organization_id == org.id) {
        let login = taken_back(login, browser_secret)?;
        if connection.saml_idp_entity_id.as_deref() != Some(login.issuer.as_str()) {
            return Ok(Err(Refused::of(Reason::ConnectionChanged)));
        }
        return Ok(Ok(Solicited {
            request_id: Some(login.nonce),
            return_to: login.return_to,
        }));
    }
    if !connection.saml_allow_idp_initiated {
        return Err(match relay_state {
            Some(_) => unknown_login(),
            None => Failure::new(403, sp::Refused::Unsolicited.describe()),
        });
    }
    let return_to = checked_return_to(state, relay_state.as_deref()).map_err(|failure| {
        Failure::new(
            400,
            format!(
                "an unsolicited sign-in's RelayState must be the URL to return to: {}",
                failure.message
            ),
        )
    })?;
    Ok(Ok(Solicited {
        request_id: None,
        return_to,
    }))
}

/// The person `assertion` names, as the pipeline takes it from any provider: the NameID as the
/// subject (a transient one says nothing lasting, so the email stands in for it), the email
/// from the configured attribute or else an email-shaped NameID, and multi-factor when an
/// authentication context says so. The provider vouches for the email; the pipeline still
/// takes it only in one of the organization's verified domains.
fn person(connection: &sso_connection::Model, assertion: &sp::Verified) -> Option<Verified> {
    let attribute = |names: &[&str]| {
        assertion
            .attributes
            .iter()
            .find(|(name, _)| names.contains(&name.as_str()))
            .and_then(|(_, values)| values.first().cloned())
    };
    let email = match connection.saml_email_attribute.as_deref() {
        Some(name) => attribute(&[name]),
        None => Some(assertion.name_id.clone()).filter(|name_id| name_id.contains('@')),
    };
    let transient = assertion.name_id_format.as_deref() == Some(TRANSIENT);
    let subject = if transient {
        email.clone()?
    } else {
        assertion.name_id.clone()
    };
    Some(Verified {
        subject,
        email_verified: email.is_some(),
        email,
        name: attribute(NAME_ATTRIBUTES),
        mfa: assertion
            .authn_contexts
            .iter()
            .any(|context| MULTI_FACTOR_CONTEXTS.contains(&context.as_str())),
    })
}
