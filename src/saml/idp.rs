//! An identity provider as a connection keeps it: its entity id, where sign-ins are sent
//! (HTTP-Redirect binding) and the certificates its signatures may be made with (several, so it
//! can rotate). Built from its metadata or by hand, and checked either way before anything is
//! saved.

use samael::metadata::{
    Endpoint, EntityDescriptor, HTTP_REDIRECT_BINDING, IdpSsoDescriptor, KeyDescriptor,
};

use super::{endpoint_url, guarded};
use crate::certificate::Certificate;
use crate::domain::text::{self, TextKind};
use crate::error::{ApiError, ApiResult};

/// The most signing certificates one provider may have.
pub const MAX_CERTIFICATES: usize = 5;
/// The longest entity id.
const MAX_ENTITY_ID: usize = 1024;

/// What a connection needs of its identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityProvider {
    pub entity_id: String,
    pub sso_url: String,
    pub certificates: Vec<Certificate>,
}

impl IdentityProvider {
    /// The provider its metadata `xml` describes (given in `field`): one entity with an
    /// IDPSSODescriptor, an HTTP-Redirect sign-on service and at least one signing certificate.
    pub fn from_metadata(field: &'static str, xml: &str, allow_http: bool) -> ApiResult<Self> {
        let xml = guarded(field, xml)?;
        let entity: EntityDescriptor = xml
            .parse()
            .map_err(|_| ApiError::invalid(field, "is not SAML metadata (an EntityDescriptor)"))?;
        let entity_id = entity
            .entity_id
            .clone()
            .ok_or_else(|| ApiError::invalid(field, "names no entityID"))?;
        let descriptors = entity.idp_sso_descriptors.unwrap_or_default();
        if descriptors.is_empty() {
            return Err(ApiError::invalid(
                field,
                "describes no identity provider (IDPSSODescriptor)",
            ));
        }
        let sso_url = descriptors
            .iter()
            .flat_map(|descriptor| &descriptor.single_sign_on_services)
            .find(|service| service.binding == HTTP_REDIRECT_BINDING)
            .map(|service| service.location.clone())
            .ok_or_else(|| {
                ApiError::invalid(
                    field,
                    "has no SingleSignOnService with the HTTP-Redirect binding",
                )
            })?;
        let certificates: Vec<String> = descriptors
            .iter()
            .flat_map(|descriptor| &descriptor.key_descriptors)
            .filter(|key| {
                key.key_use
                    .as_deref()
                    .is_none_or(|key_use| key_use == "signing")
            })
            .filter_map(|key| key.key_info.x509_data.as_ref())
            .flat_map(|data| data.certificates.clone())
            .collect();
        if certificates.is_empty() {
            return Err(ApiError::invalid(field, "has no signing certificate"));
        }
        Self::by_hand(&entity_id, &sso_url, &certificates, allow_http).map_err(|err| {
            ApiError::invalid(
                field,
                err.message
                    .split_once(": ")
                    .map_or(err.message.as_str(), |(_, why)| why),
            )
        })
    }

    /// The provider given by hand: entity id, https sign-on URL, 1 to 5 certificates.
    pub fn by_hand(
        entity_id: &str,
        sso_url: &str,
        certificates: &[String],
        allow_http: bool,
    ) -> ApiResult<Self> {
        let entity_id = entity_id.trim();
        text::check("idpEntityId", TextKind::Line, entity_id, MAX_ENTITY_ID)?;
        if entity_id.is_empty() {
            return Err(ApiError::invalid("idpEntityId", "is required"));
        }
        let sso_url = endpoint_url("ssoUrl", sso_url, allow_http)?;
        if certificates.is_empty() || certificates.len() > MAX_CERTIFICATES {
            return Err(ApiError::invalid(
                "certificates",
                format!("must hold 1 to {MAX_CERTIFICATES} signing certificates"),
            ));
        }
        let certificates = certificates
            .iter()
            .map(|text| Certificate::parse("certificates", text))
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(Self {
            entity_id: entity_id.to_owned(),
            sso_url: sso_url.to_string(),
            certificates,
        })
    }

    /// The provider as samael's metadata, from which it takes the certificates a Response's
    /// signature is checked against.
    pub(crate) fn metadata(&self) -> EntityDescriptor {
        let key_descriptors = self
            .certificates
            .iter()
            .map(|certificate| KeyDescriptor {
                key_use: Some("signing".to_owned()),
                key_info: samael::key_info::KeyInfo {
                    id: None,
                    x509_data: Some(samael::key_info::X509Data {
                        certificates: vec![certificate.to_base64()],
                    }),
                },
                encryption_methods: None,
            })
            .collect();
        EntityDescriptor {
            entity_id: Some(self.entity_id.clone()),
            idp_sso_descriptors: Some(vec![IdpSsoDescriptor {
                id: None,
                valid_until: None,
                cache_duration: None,
                protocol_support_enumeration: Some(
                    "urn:oasis:names:tc:SAML:2.0:protocol".to_owned(),
                ),
                error_url: None,
                signature: None,
                key_descriptors,
                organization: None,
                contact_people: Vec::new(),
                artifact_resolution_service: Vec::new(),
                single_logout_services: Vec::new(),
                manage_name_id_services: Vec::new(),
                name_id_formats: Vec::new(),
                want_authn_requests_signed: None,
                single_sign_on_services: vec![Endpoint {
                    binding: HTTP_REDIRECT_BINDING.to_owned(),
                    location: self.sso_url.clone(),
                    response_location: None,
                }],
                name_id_mapping_services: Vec::new(),
                assertion_id_request_services: Vec::new(),
                attribute_profiles: Vec::new(),
                attributes: Vec::new(),
            }]),
            ..EntityDescriptor::default()
        }
    }
}
