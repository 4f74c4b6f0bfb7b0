//! Client certificates (smart cards: CAC, PIV), the protocol side: an organization's trusted
//! certificate authorities and revocation lists as an administrator gives them (checked before
//! anything is saved), and the check of a certificate chain a person presented: the path to one
//! of the organization's anchors, each certificate's validity period, the client-authentication
//! usage, and revocation, all by `rustls-webpki`; then the identity the organization's mapping
//! reads from the certificate (a SAN email, a UPN, or the subject's email), by `x509-parser`.
//! Nothing here parses DER by hand.

use rustls::pki_types::{CertificateDer, UnixTime};
use webpki::{EndEntityCert, KeyUsage, OwnedCertRevocationList, RevocationOptionsBuilder};
use x509_parser::extensions::GeneralName;

use crate::certificate::Certificate;
use crate::error::{ApiError, ApiResult};

/// The most anchors or revocation lists an organization keeps.
pub const MAX_LISTED: usize = 10;
/// The longest chain read: a person's certificate and its intermediates.
pub const MAX_CHAIN: usize = 8;
/// The largest certificate revocation list kept.
pub const MAX_CRL_BYTES: usize = 4 * 1024 * 1024;
/// The DER of id-kp-clientAuth (1.3.6.1.5.5.7.3.2), which a certificate's extended key usage
/// must list: one without any is refused too.
const CLIENT_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];
/// Microsoft's User Principal Name otherName (1.3.6.1.4.1.311.20.2.3), as CAC and PIV cards
/// carry it.
const UPN_OID: &str = "1.3.6.1.4.1.311.20.2.3";

/// Where in the certificate the person's identity is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mapping {
    /// The subject alternative name's rfc822Name.
    SanEmail,
    /// The subject alternative name's UPN otherName.
    Upn,
    /// The subject's emailAddress attribute.
    SubjectEmail,
}

impl Mapping {
    pub fn code(self) -> &'static str {
        match self {
            Mapping::SanEmail => "san_email",
            Mapping::Upn => "upn",
            Mapping::SubjectEmail => "subject_email",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Mapping::SanEmail, Mapping::Upn, Mapping::SubjectEmail]
            .into_iter()
            .find(|mapping| mapping.code() == code)
    }
}

/// Why a presented certificate does not sign anyone in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Not DER certificates, or a chain longer than [`MAX_CHAIN`].
    Malformed,
    /// No path to one of the organization's anchors (another CA's, self-signed).
    Untrusted,
    Expired,
    NotYetValid,
    /// Listed in a revocation list of the organization's.
    Revoked,
    /// Its extended key usage does not allow client authentication.
    WrongUsage,
    /// The mapping finds no identity in it.
    NoIdentity,
}

impl Refused {
    pub fn code(self) -> &'static str {
        match self {
            Refused::Malformed => "certificate_malformed",
            Refused::Untrusted => "certificate_untrusted",
            Refused::Expired => "certificate_expired",
            Refused::NotYetValid => "certificate_not_yet_valid",
            Refused::Revoked => "certificate_revoked",
            Refused::WrongUsage => "certificate_wrong_usage",
            Refused::NoIdentity => "certificate_no_identity",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Refused::Malformed => "the certificate presented could not be read",
            Refused::Untrusted => {
                "the certificate presented was not issued by an authority this organization trusts"
            }
            Refused::Expired => "the certificate presented has expired",
            Refused::NotYetValid => "the certificate presented is not valid yet",
            Refused::Revoked => "the certificate presented has been revoked",
            Refused::WrongUsage => {
                "the certificate presented is not meant for client authentication"
            }
            Refused::NoIdentity => {
                "the certificate presented names nobody in the way this organization reads it"
            }
        }
    }
}

/// An organization's trust for client certificates.
#[derive(Debug, Clone)]
pub struct Authority {
    pub anchors: Vec<Certificate>,
    /// DER revocation lists.
    pub crls: Vec<Vec<u8>>,
    pub mapping: Mapping,
}

impl Authority {
    /// The trust `anchors` and `crls` (PEM or base64 DER) describe, each checked: 1 to
    /// [`MAX_LISTED`] CA certificates, at most [`MAX_LISTED`] revocation lists that parse.
    pub fn checked(anchors: &[String], crls: &[String], mapping: Mapping) -> ApiResult<Self> {
        use crate::domain::text::{TextKind, check};
        for anchor in anchors {
            check("authorities", TextKind::Lines, anchor.trim_end(), 64 * 1024)?;
        }
        for crl in crls {
            check("crls", TextKind::Lines, crl.trim_end(), MAX_CRL_BYTES * 2)?;
        }
        let crls = crls
            .iter()
            .map(|text| crl_der(text))
            .collect::<ApiResult<Vec<_>>>()?;
        if anchors.is_empty() || anchors.len() > MAX_LISTED || crls.len() > MAX_LISTED {
            return Err(ApiError::invalid(
                "authorities",
                format!(
                    "must hold 1 to {MAX_LISTED} CA certificates (and crls at most {MAX_LISTED})"
                ),
            ));
        }
        let anchors = anchors
            .iter()
            .map(|text| Certificate::parse("authorities", text))
            .collect::<ApiResult<Vec<_>>>()?;
        if let Some(leaf) = anchors.iter().find(|anchor| !anchor.is_authority()) {
            return Err(ApiError::invalid(
                "authorities",
                format!("{} is not a CA certificate", leaf.subject),
            ));
        }
        for anchor in &anchors {
            webpki::anchor_from_trusted_cert(&CertificateDer::from(anchor.der())).map_err(
                |_| {
                    ApiError::invalid(
                        "authorities",
                        "holds a CA certificate that cannot anchor a chain",
                    )
                },
            )?;
        }
        Ok(Self {
            anchors,
            crls,
            mapping,
        })
    }

    /// The identity `chain` (a person's certificate first, then intermediates, DER) proves at
    /// `now`, or why it proves none.
    pub fn verify(&self, chain: &[Vec<u8>], now: UnixTime) -> Result<String, Refused> {
        let Some((leaf, intermediates)) = chain.split_first() else {
            return Err(Refused::Malformed);
        };
        if chain.len() > MAX_CHAIN {
            return Err(Refused::Malformed);
        }
        let leaf_der = CertificateDer::from(leaf.as_slice());
        let end_entity = EndEntityCert::try_from(&leaf_der).map_err(|_| Refused::Malformed)?;
        let anchor_ders: Vec<CertificateDer<'_>> = self
            .anchors
            .iter()
            .map(|anchor| CertificateDer::from(anchor.der()))
            .collect();
        let anchors: Vec<_> = anchor_ders
            .iter()
            .filter_map(|der| webpki::anchor_from_trusted_cert(der).ok())
            .collect();
        let intermediates: Vec<CertificateDer<'_>> = intermediates
            .iter()
            .map(|der| CertificateDer::from(der.as_slice()))
            .collect();
        let crls: Vec<webpki::CertRevocationList<'_>> = self
            .crls
            .iter()
            .filter_map(|der| OwnedCertRevocationList::from_der(der).ok())
            .map(Into::into)
            .collect();
        let crl_refs: Vec<&webpki::CertRevocationList<'_>> = crls.iter().collect();
        let revocation = RevocationOptionsBuilder::new(&crl_refs)
            .ok()
            .map(|builder| builder.build());
        end_entity
            .verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                &anchors,
                &intermediates,
                now,
                KeyUsage::required(CLIENT_AUTH),
                revocation,
                None,
            )
            .map_err(refusal)?;
        identity(leaf, self.mapping).ok_or(Refused::NoIdentity)
    }
}

/// A revocation list given as PEM or base64 DER, checked to parse.
fn crl_der(text: &str) -> ApiResult<Vec<u8>> {
    use base64::Engine;
    let invalid = || ApiError::invalid("crls", "holds a revocation list that does not parse");
    let body: String = text
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|_| invalid())?;
    crl_checked(der).ok_or_else(invalid)
}

/// DER bytes when they are a revocation list of at most [`MAX_CRL_BYTES`].
pub fn crl_checked(der: Vec<u8>) -> Option<Vec<u8>> {
    if der.len() > MAX_CRL_BYTES {
        return None;
    }
    OwnedCertRevocationList::from_der(&der).ok()?;
    Some(der)
}

/// The reason webpki's error stands for.
fn refusal(error: webpki::Error) -> Refused {
    use webpki::Error;
    match error {
        Error::CertExpired { .. } => Refused::Expired,
        Error::CertNotValidYet { .. } => Refused::NotYetValid,
        Error::CertRevoked => Refused::Revoked,
        Error::RequiredEkuNotFoundContext(_) => Refused::WrongUsage,
        Error::BadDer | Error::BadDerTime | Error::TrailingData(_) => Refused::Malformed,
        _ => Refused::Untrusted,
    }
}

/// The identity `mapping` reads from the DER certificate `der`.
fn identity(der: &[u8], mapping: Mapping) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let names = || {
        cert.subject_alternative_name()
            .ok()
            .flatten()
            .map(|san| san.value.general_names.clone())
            .unwrap_or_default()
    };
    let found = match mapping {
        Mapping::SanEmail => names().into_iter().find_map(|name| match name {
            GeneralName::RFC822Name(email) => Some(email.to_owned()),
            _ => None,
        }),
        Mapping::Upn => names().into_iter().find_map(|name| match name {
            GeneralName::OtherName(oid, value) if oid.to_id_string() == UPN_OID => upn(value),
            _ => None,
        }),
        Mapping::SubjectEmail => cert
            .subject()
            .iter_email()
            .next()
            .and_then(|email| email.as_str().ok())
            .map(str::to_owned),
    };
    found.filter(|identity| !identity.is_empty() && identity.len() <= 320)
}

/// A UPN otherName's value: `[0] EXPLICIT UTF8String`.
fn upn(value: &[u8]) -> Option<String> {
    use x509_parser::asn1_rs::{Any, FromDer};
    let (_, explicit) = Any::from_der(value).ok()?;
    let (_, text) = Any::from_der(explicit.data).ok()?;
    std::str::from_utf8(text.data).ok().map(str::to_owned)
}
