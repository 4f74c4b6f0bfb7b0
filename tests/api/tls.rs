//! Certificates the tests make with OpenSSL: a CA, and certificates it issues for a server (a
//! directory's StartTLS) or a client.

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
};
use openssl::x509::{X509, X509NameBuilder};

/// What an issued certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    Server,
}

fn key() -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap()
}

fn name(common_name: &str) -> openssl::x509::X509Name {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", common_name).unwrap();
    name.build()
}

fn serial() -> openssl::asn1::Asn1Integer {
    let mut serial = BigNum::new().unwrap();
    serial
        .rand(64, openssl::bn::MsbOption::MAYBE_ZERO, false)
        .unwrap();
    serial.to_asn1_integer().unwrap()
}

/// A self-signed CA valid for a day: its key and certificate.
pub fn authority(common_name: &str) -> (PKey<Private>, X509) {
    let key = key();
    let mut cert = X509::builder().unwrap();
    cert.set_version(2).unwrap();
    cert.set_serial_number(&serial()).unwrap();
    cert.set_subject_name(&name(common_name)).unwrap();
    cert.set_issuer_name(&name(common_name)).unwrap();
    cert.set_pubkey(&key).unwrap();
    cert.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    cert.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    cert.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
        .unwrap();
    cert.append_extension(
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .build()
            .unwrap(),
    )
    .unwrap();
    cert.sign(&key, MessageDigest::sha256()).unwrap();
    (key, cert.build())
}

/// A certificate `ca` issues for `host` (an IP address): its key and certificate, PEM.
pub fn issued(ca_key: &PKey<Private>, ca: &X509, host: &str, usage: Usage) -> (Vec<u8>, Vec<u8>) {
    let key = key();
    let mut cert = X509::builder().unwrap();
    cert.set_version(2).unwrap();
    cert.set_serial_number(&serial()).unwrap();
    cert.set_subject_name(&name(host)).unwrap();
    cert.set_issuer_name(ca.subject_name()).unwrap();
    cert.set_pubkey(&key).unwrap();
    cert.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    cert.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    let context = cert.x509v3_context(Some(ca), None);
    let alternative = SubjectAlternativeName::new()
        .ip(host)
        .build(&context)
        .unwrap();
    cert.append_extension(alternative).unwrap();
    match usage {
        Usage::Server => cert
            .append_extension(ExtendedKeyUsage::new().server_auth().build().unwrap())
            .unwrap(),
    }
    cert.sign(ca_key, MessageDigest::sha256()).unwrap();
    (
        key.private_key_to_pem_pkcs8().unwrap(),
        cert.build().to_pem().unwrap(),
    )
}
