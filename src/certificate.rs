//! A certificate an administrator gives Charter (an identity provider's signing certificate, a
//! directory's CA) as they paste it (PEM, or the base64 DER that metadata carries), parsed by
//! OpenSSL before it is kept.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::hash::MessageDigest;
use openssl::x509::X509;

use crate::error::{ApiError, ApiResult};

/// A parsed certificate: its DER bytes and what an administrator recognizes it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    /// SHA-256 of the DER, uppercase hex pairs joined by colons (as `openssl x509 -fingerprint`).
    pub fingerprint: String,
    pub subject: String,
    pub not_after: String,
}

impl Certificate {
    /// `text` (PEM, or base64 DER with any whitespace) as a certificate; INVALID_INPUT naming
    /// `field` when it is neither, or does not parse as X.509.
    pub fn parse(field: &'static str, text: &str) -> ApiResult<Self> {
        let trimmed = text.trim();
        let der = if trimmed.starts_with("-----BEGIN") {
            X509::from_pem(trimmed.as_bytes())
                .and_then(|cert| cert.to_der())
                .map_err(|_| {
                    ApiError::invalid(field, "holds a PEM block that is not a certificate")
                })?
        } else {
            let compact: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
            STANDARD.decode(compact).map_err(|_| {
                ApiError::invalid(field, "holds a certificate that is neither PEM nor base64")
            })?
        };
        Self::from_der(field, der)
    }

    /// DER bytes as a certificate; INVALID_INPUT naming `field` when they do not parse.
    pub fn from_der(field: &'static str, der: Vec<u8>) -> ApiResult<Self> {
        let cert = X509::from_der(&der)
            .map_err(|_| ApiError::invalid(field, "holds a certificate that does not parse"))?;
        let digest = cert
            .digest(MessageDigest::sha256())
            .map_err(|_| ApiError::internal("fingerprinting a certificate failed"))?;
        let fingerprint = digest
            .iter()
            .map(|byte| format!("{byte:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        let subject = cert
            .subject_name()
            .entries()
            .filter_map(|entry| {
                let key = entry.object().nid().short_name().ok()?;
                let value = entry.data().to_string().ok()?;
                Some(format!("{key}={value}"))
            })
            .collect::<Vec<_>>()
            .join(", ");
        Ok(Self {
            fingerprint,
            subject,
            not_after: cert.not_after().to_string(),
            der,
        })
    }

    /// Whether it is a certificate authority's: its basic constraints say `CA:TRUE`.
    pub fn is_authority(&self) -> bool {
        x509_parser::parse_x509_certificate(&self.der).is_ok_and(|(_, cert)| {
            cert.basic_constraints()
                .ok()
                .flatten()
                .is_some_and(|constraints| constraints.value.ca)
        })
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The base64 DER that metadata and storage carry.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(&self.der)
    }
}
