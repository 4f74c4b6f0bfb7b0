//! Charter as a service provider of one organization: its entity id and Assertion Consumer
//! Service, its metadata for the identity provider's administrator, and the checks of a
//! Response posted back.
//!
//! samael verifies the signature with libxmlsec1 against the connection's certificates and
//! continues on the signed element alone (so values outside the signature are never read),
//! then checks the issuer, `Destination`, `InResponseTo`, the bearer confirmation's
//! `Recipient`, `NotBefore`/`NotOnOrAfter` with [`CLOCK_SKEW`] and the audience when one is
//! stated. Charter asks more than it does: an audience must be stated and be this service
//! provider, the Conditions must bound the assertion in time, and the subject must have a
//! NameID.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use samael::crypto::AllowedSignatureAlgorithm;
use samael::metadata::{
    EntityDescriptor, HTTP_POST_BINDING, IndexedEndpoint, NameIdFormat, SpSsoDescriptor,
};
use samael::schema::Assertion;
use samael::service_provider::{Error as SamlError, ServiceProvider as Checker};
use samael::traits::ToXml;

use super::guarded;
use super::idp::IdentityProvider;
use crate::error::{ApiError, ApiResult};

/// How far the provider's clock may be from Charter's.
pub const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(2);
/// How long after it was issued a Response is still taken.
const MAX_ISSUE_DELAY: chrono::Duration = chrono::Duration::minutes(5);

/// Charter as the service provider of one organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceProvider {
    pub entity_id: String,
    pub acs_url: String,
}

/// Why a Response is refused: the reason its refusal page and audit event name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Not base64, not UTF-8, not a SAML Response, or a DOCTYPE.
    Malformed,
    /// Unsigned, signed by a key the connection does not hold, or signed with a weak algorithm.
    BadSignature,
    WrongIssuer,
    WrongDestination,
    WrongRecipient,
    WrongAudience,
    /// `InResponseTo` names no pending request of this browser.
    UnknownRequest,
    Expired,
    NotYetValid,
    /// The provider answered with a status other than Success.
    NotSuccessful,
    /// No subject NameID to sign in with.
    NoSubject,
    /// Sent unasked (IdP-initiated) to a connection that takes only answers to its requests,
    /// or sent as the answer to some request to a connection taking unasked ones.
    Unsolicited,
}

impl Refused {
    /// The reason's code, as the refusal page and the `sso.sign_in_refused` event name it.
    pub fn code(self) -> &'static str {
        match self {
            Refused::Malformed => "malformed_response",
            Refused::BadSignature => "bad_signature",
            Refused::WrongIssuer => "wrong_issuer",
            Refused::WrongDestination => "wrong_destination",
            Refused::WrongRecipient => "wrong_recipient",
            Refused::WrongAudience => "wrong_audience",
            Refused::UnknownRequest => "unknown_request",
            Refused::Expired => "expired",
            Refused::NotYetValid => "not_yet_valid",
            Refused::NotSuccessful => "not_successful",
            Refused::NoSubject => "no_subject",
            Refused::Unsolicited => "unsolicited",
        }
    }

    /// What the person is shown, and the log says.
    pub fn describe(self) -> &'static str {
        match self {
            Refused::Malformed => {
                "the identity provider's answer is not a SAML Response Charter reads"
            }
            Refused::BadSignature => {
                "the identity provider's answer is not signed by a certificate this organization trusts"
            }
            Refused::WrongIssuer => "the answer comes from another identity provider",
            Refused::WrongDestination => {
                "the answer was sent to another service provider (Destination)"
            }
            Refused::WrongRecipient => {
                "the assertion is meant for another service provider (Recipient)"
            }
            Refused::WrongAudience => "the assertion is meant for another audience",
            Refused::UnknownRequest => {
                "the answer is not to a sign-in this browser started (InResponseTo); start it again"
            }
            Refused::Expired => "the assertion has expired; start the sign-in again",
            Refused::NotYetValid => {
                "the assertion is not valid yet (check the identity provider's clock)"
            }
            Refused::NotSuccessful => "the identity provider did not sign you in",
            Refused::NoSubject => "the assertion names nobody (no NameID)",
            Refused::Unsolicited => {
                "the identity provider sent a sign-in nobody started here, and this organization takes only sign-ins started at Charter"
            }
        }
    }
}

/// What a checked assertion says of the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The assertion's ID: a replay store refuses it the second time.
    pub assertion_id: String,
    pub name_id: String,
    pub name_id_format: Option<String>,
    /// Attribute names and their values.
    pub attributes: Vec<(String, Vec<String>)>,
    /// The `AuthnContextClassRef`s of its authentication statements.
    pub authn_contexts: Vec<String>,
    /// Until when it may be taken: the replay store keeps its ID that long.
    pub not_on_or_after: Option<chrono::DateTime<chrono::Utc>>,
}

impl ServiceProvider {
    /// The metadata an identity provider's administrator imports: this entity id, the ACS
    /// (HTTP-POST) and signed assertions wanted.
    pub fn metadata_xml(&self) -> ApiResult<String> {
        let descriptor = SpSsoDescriptor {
            protocol_support_enumeration: Some("urn:oasis:names:tc:SAML:2.0:protocol".to_owned()),
            authn_requests_signed: Some(false),
            want_assertions_signed: Some(true),
            name_id_formats: Some(vec![
                NameIdFormat::EmailAddressNameIDFormat.value().to_owned(),
                NameIdFormat::PersistentNameIDFormat.value().to_owned(),
            ]),
            assertion_consumer_services: vec![IndexedEndpoint {
                binding: HTTP_POST_BINDING.to_owned(),
                location: self.acs_url.clone(),
                response_location: None,
                index: 0,
                is_default: Some(true),
            }],
            ..SpSsoDescriptor::default()
        };
        let entity = EntityDescriptor {
            entity_id: Some(self.entity_id.clone()),
            sp_sso_descriptors: Some(vec![descriptor]),
            ..EntityDescriptor::default()
        };
        entity
            .to_string()
            .map_err(|_| ApiError::internal("writing the service provider's metadata failed"))
    }

    /// An AuthnRequest for `idp` (HTTP-Redirect binding): its id, which the Response must
    /// answer, and the URL the browser is sent to, carrying `relay_state`. The id is 128 random
    /// bits (samael's own would be 32).
    pub fn authn_request(
        &self,
        idp: &IdentityProvider,
        relay_state: &str,
    ) -> ApiResult<(String, String)> {
        let checker = Checker {
            entity_id: Some(self.entity_id.clone()),
            acs_url: Some(self.acs_url.clone()),
            idp_metadata: idp.metadata(),
            ..Checker::default()
        };
        let failed = |_| ApiError::internal("making a SAML AuthnRequest failed");
        let mut request = checker
            .make_authentication_request(&idp.sso_url)
            .map_err(failed)?;
        request.id = format!("_{}", uuid::Uuid::new_v4().simple());
        let url = request
            .redirect(relay_state)
            .map_err(failed)?
            .ok_or_else(|| ApiError::internal("a SAML AuthnRequest without a destination"))?;
        Ok((request.id, url.to_string()))
    }

    /// Checks the base64 `SAMLResponse` posted to the ACS against `idp`: the answer to one of
    /// the browser's `pending` request ids, or with `None` an unsolicited one (IdP-initiated),
    /// which must then answer no request at all; what it asserts, or why it is refused.
    pub fn check(
        &self,
        idp: &IdentityProvider,
        saml_response: &str,
        pending: Option<&[String]>,
    ) -> Result<Verified, Refused> {
        quiet_xmlsec();
        let bytes = STANDARD
            .decode(saml_response.trim())
            .map_err(|_| Refused::Malformed)?;
        let xml = std::str::from_utf8(&bytes).map_err(|_| Refused::Malformed)?;
        guarded("SAMLResponse", xml).map_err(|_| Refused::Malformed)?;
        if idp.certificates.is_empty() {
            return Err(Refused::BadSignature);
        }
        if root_attribute(xml, b"Destination")?
            .is_some_and(|destination| destination != self.acs_url)
        {
            return Err(Refused::WrongDestination);
        }
        if pending.is_none() && root_attribute(xml, b"InResponseTo")?.is_some() {
            return Err(Refused::Unsolicited);
        }
        let checker = Checker {
            entity_id: Some(self.entity_id.clone()),
            acs_url: Some(self.acs_url.clone()),
            metadata_url: None,
            idp_metadata: idp.metadata(),
            allow_idp_initiated: pending.is_none(),
            max_issue_delay: MAX_ISSUE_DELAY,
            max_clock_skew: CLOCK_SKEW,
            allowed_signature_algorithms: Some(vec![
                AllowedSignatureAlgorithm::RsaSha256,
                AllowedSignatureAlgorithm::RsaSha384,
                AllowedSignatureAlgorithm::RsaSha512,
                AllowedSignatureAlgorithm::EcdsaSha256,
                AllowedSignatureAlgorithm::EcdsaSha384,
                AllowedSignatureAlgorithm::EcdsaSha512,
            ]),
            ..Checker::default()
        };
        let ids: Vec<&str> = pending
            .iter()
            .flat_map(|ids| ids.iter())
            .map(String::as_str)
            .collect();
        let assertion = checker
            .parse_xml_response(xml, Some(&ids))
            .map_err(refusal)?;
        if pending.is_none() && answers_a_request(&assertion) {
            return Err(Refused::Unsolicited);
        }
        self.verified(assertion)
    }

    /// What samael leaves unchecked: an audience is stated and is this service provider, the
    /// assertion is bounded in time, and it names a subject.
    fn verified(&self, assertion: Assertion) -> Result<Verified, Refused> {
        let conditions = assertion
            .conditions
            .as_ref()
            .ok_or(Refused::WrongAudience)?;
        let audiences: Vec<&String> = conditions
            .audience_restrictions
            .iter()
            .flatten()
            .flat_map(|restriction| &restriction.audience)
            .collect();
        if audiences.is_empty()
            || !audiences
                .iter()
                .all(|audience| **audience == self.entity_id)
        {
            return Err(Refused::WrongAudience);
        }
        if conditions.not_on_or_after.is_none() {
            return Err(Refused::Expired);
        }
        let name_id = assertion
            .subject
            .as_ref()
            .and_then(|subject| subject.name_id.clone())
            .filter(|name_id| !name_id.value.trim().is_empty())
            .ok_or(Refused::NoSubject)?;
        let attributes = attributes_of(&assertion);
        let authn_contexts = authn_contexts_of(&assertion);
        Ok(Verified {
            assertion_id: assertion.id.clone(),
            name_id: name_id.value,
            name_id_format: name_id.format,
            attributes,
            authn_contexts,
            not_on_or_after: conditions.not_on_or_after,
        })
    }
}

/// The attributes an assertion states: each name with its values.
fn attributes_of(assertion: &Assertion) -> Vec<(String, Vec<String>)> {
    assertion
        .attribute_statements
        .iter()
        .flatten()
        .flat_map(|statement| &statement.attributes)
        .filter_map(|attribute| {
            let values = attribute
                .values
                .iter()
                .filter_map(|v| v.value.clone())
                .collect();
            Some((attribute.name.clone()?, values))
        })
        .collect()
}

/// The `AuthnContextClassRef`s of an assertion's authentication statements.
fn authn_contexts_of(assertion: &Assertion) -> Vec<String> {
    assertion
        .authn_statements
        .iter()
        .flatten()
        .filter_map(|statement| {
            statement
                .authn_context
                .as_ref()?
                .value
                .as_ref()?
                .value
                .clone()
        })
        .collect()
}

/// Turns off libxmlsec1's printing of every failed verification to standard error, once: a
/// stranger posting forged Responses would otherwise write as many lines as they like into the
/// service's log, some of them copied from what they sent. The refusal's reason is logged and
/// audited instead. samael keeps libxmlsec1's error settings to itself, so the library's own
/// switch is called directly; it only sets a flag the default error callback reads.
fn quiet_xmlsec() {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| {
        unsafe extern "C" {
            fn xmlSecErrorsDefaultCallbackEnableOutput(enabled: std::os::raw::c_int);
        }
        // SAFETY: a libxmlsec1 function (linked through samael) that takes an int and only
        // stores it in a static the library reads when it reports an error; no pointer passes.
        unsafe { xmlSecErrorsDefaultCallbackEnableOutput(0) }
    });
}

/// Whether a bearer confirmation of the (signed) assertion answers a request: an unsolicited
/// Response must not carry another browser's answer.
fn answers_a_request(assertion: &Assertion) -> bool {
    assertion
        .subject
        .iter()
        .flat_map(|subject| subject.subject_confirmations.iter().flatten())
        .filter_map(|confirmation| confirmation.subject_confirmation_data.as_ref())
        .any(|data| data.in_response_to.is_some())
}

/// The attribute `name` of the document's root element, if it states one. samael checks
/// `Destination` only on a signed Response; SAML asks that a stated Destination be the ACS
/// whether or not the Response is signed, so it is read here from the root element alone (and
/// `InResponseTo` likewise, which an unsolicited Response must not state).
fn root_attribute(xml: &str, name: &[u8]) -> Result<Option<String>, Refused> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event().map_err(|_| Refused::Malformed)? {
            Event::Start(root) | Event::Empty(root) => {
                for attribute in root.attributes() {
                    let attribute = attribute.map_err(|_| Refused::Malformed)?;
                    if attribute.key.as_ref() == name {
                        let value = attribute
                            .normalized_value(quick_xml::XmlVersion::default())
                            .map_err(|_| Refused::Malformed)?;
                        return Ok(Some(value.into_owned()));
                    }
                }
                return Ok(None);
            }
            Event::Eof => return Err(Refused::Malformed),
            _ => {}
        }
    }
}

/// The reason samael's error stands for.
fn refusal(error: SamlError) -> Refused {
    match error {
        SamlError::FailedToValidateSignature
        | SamlError::FailedToParseCert { .. }
        | SamlError::CryptoXmlError(_)
        | SamlError::CryptoProviderError(_)
        | SamlError::UnsupportedKey => Refused::BadSignature,
        SamlError::DestinationValidationError { .. } => Refused::WrongDestination,
        SamlError::AssertionRecipientMismatch { .. } => Refused::WrongRecipient,
        SamlError::AssertionInResponseToInvalid { .. }
        | SamlError::ResponseInResponseToInvalid { .. } => Refused::UnknownRequest,
        SamlError::AssertionIssuerMismatch { .. } | SamlError::ResponseIssuerMismatch { .. } => {
            Refused::WrongIssuer
        }
        SamlError::AssertionConditionAudienceRestrictionFailed { .. } => Refused::WrongAudience,
        SamlError::AssertionExpired { .. }
        | SamlError::ResponseExpired { .. }
        | SamlError::AssertionConditionExpired { .. }
        | SamlError::AssertionSubjectConfirmationExpired { .. } => Refused::Expired,
        SamlError::AssertionConditionExpiredBefore { .. }
        | SamlError::AssertionSubjectConfirmationExpiredBefore { .. } => Refused::NotYetValid,
        SamlError::ResponseBadStatusCode { .. } => Refused::NotSuccessful,
        SamlError::AssertionBearerSubjectConfirmationMissing
        | SamlError::AssertionSubjectConfirmationMissing => Refused::NoSubject,
        _ => Refused::Malformed,
    }
}
