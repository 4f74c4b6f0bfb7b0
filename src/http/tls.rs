//! Charter's own TLS listener (`tls_listen`, `tls_certificate`, `tls_key`), which asks browsers
//! for a client certificate without requiring one: a smart card's certificate arrives here.
//!
//! The handshake proves the client holds the certificate's private key (rustls checks its
//! signature over the handshake with the provider's algorithms); whether the certificate is
//! trusted is the organization's to say, against its own anchors, when a sign-in starts
//! (`identity::sso::certificate`). So the verifier accepts any well-formed chain here and
//! records it for the request.

use std::sync::Arc;

use rustls::DistinguishedName;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// The chain a client presented on its TLS connection, first its own certificate (DER).
#[derive(Debug, Clone, Default)]
pub struct PeerCertificates(pub Vec<Vec<u8>>);

/// The server configuration of the TLS listener: the certificate and key files, and client
/// certificates asked for, never required.
pub fn server_config(
    certificate: &std::path::Path,
    key: &std::path::Path,
) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    use rustls::pki_types::pem::PemObject;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(certificate)
        .map_err(|err| anyhow::anyhow!("tls_certificate {}: {err}", certificate.display()))?
        .collect::<Result<_, _>>()
        .map_err(|err| anyhow::anyhow!("tls_certificate {}: {err}", certificate.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|err| anyhow::anyhow!("tls_key {}: {err}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(AnyClientCertificate {
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Asks for a client certificate, takes any (or none), and checks that the client signed the
/// handshake with its key.
#[derive(Debug)]
struct AnyClientCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCertificate {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if intermediates.len() >= crate::clientcert::MAX_CHAIN {
            return Err(rustls::Error::General(
                "client certificate chain too long".into(),
            ));
        }
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
