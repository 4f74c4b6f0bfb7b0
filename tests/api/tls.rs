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
    /// A server at an IP address (its name).
    Server,
    /// A person whose email (its name) is the SAN's rfc822Name, for client authentication.
    Client,
    /// A person's certificate that says it is for servers only.
    ClientMarkedServer,
    /// A person's certificate that expired yesterday.
    ClientExpired,
    /// A person whose UPN otherName (not an email SAN) is its name.
    ClientUpn,
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

/// A certificate `ca` issues for `subject` (an IP address for a server, an email or UPN for a
/// person), as `usage` says: its key and certificate, PEM.
pub fn issued(
    ca_key: &PKey<Private>,
    ca: &X509,
    subject: &str,
    usage: Usage,
) -> (Vec<u8>, Vec<u8>) {
    let key = key();
    let mut cert = X509::builder().unwrap();
    cert.set_version(2).unwrap();
    cert.set_serial_number(&serial()).unwrap();
    cert.set_subject_name(&name(subject)).unwrap();
    cert.set_issuer_name(ca.subject_name()).unwrap();
    cert.set_pubkey(&key).unwrap();
    let (from, until) = match usage {
        Usage::ClientExpired => (
            Asn1Time::from_unix(chrono::Utc::now().timestamp() - 3 * 86_400).unwrap(),
            Asn1Time::from_unix(chrono::Utc::now().timestamp() - 86_400).unwrap(),
        ),
        _ => (
            Asn1Time::days_from_now(0).unwrap(),
            Asn1Time::days_from_now(1).unwrap(),
        ),
    };
    cert.set_not_before(&from).unwrap();
    cert.set_not_after(&until).unwrap();
    let context = cert.x509v3_context(Some(ca), None);
    let mut alternative = SubjectAlternativeName::new();
    match usage {
        Usage::Server => alternative.ip(subject),
        Usage::ClientUpn => alternative.other_name2(
            openssl::asn1::Asn1Object::from_str("1.3.6.1.4.1.311.20.2.3").unwrap(),
            &upn_value(subject),
        ),
        _ => alternative.email(subject),
    };
    let alternative = alternative.build(&context).unwrap();
    cert.append_extension(alternative).unwrap();
    let mut purpose = ExtendedKeyUsage::new();
    match usage {
        Usage::Server | Usage::ClientMarkedServer => purpose.server_auth(),
        _ => purpose.client_auth(),
    };
    cert.append_extension(purpose.build().unwrap()).unwrap();
    cert.sign(ca_key, MessageDigest::sha256()).unwrap();
    (
        key.private_key_to_pem_pkcs8().unwrap(),
        cert.build().to_pem().unwrap(),
    )
}

/// A UPN otherName's value as OpenSSL takes it: the UTF8String, DER (it adds the `[0]`).
fn upn_value(upn: &str) -> Vec<u8> {
    let text = upn.as_bytes();
    let mut value = vec![0x0c, u8::try_from(text.len()).unwrap()];
    value.extend_from_slice(text);
    value
}

/// A revocation list `ca` signs, listing `revoked` (PEM certificates), made with the openssl
/// command line's `ca` (the crate builds no lists): PEM.
pub fn revocation_list(ca_key: &PKey<Private>, ca: &X509, revoked: &[&[u8]]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    std::fs::write(path("ca.key"), ca_key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    std::fs::write(path("ca.pem"), ca.to_pem().unwrap()).unwrap();
    std::fs::write(path("index.txt"), "").unwrap();
    std::fs::write(path("crlnumber"), "01\n").unwrap();
    std::fs::write(
        path("ca.cnf"),
        format!(
            "[ca]\ndefault_ca = own\n[own]\ndatabase = {}\ncrlnumber = {}\ndefault_md = sha256\ndefault_crl_days = 1\n",
            path("index.txt").display(),
            path("crlnumber").display()
        ),
    )
    .unwrap();
    let openssl = |args: &[&str]| {
        let run = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("openssl runs");
        assert!(
            run.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    };
    for (n, cert) in revoked.iter().enumerate() {
        let file = format!("revoked-{n}.pem");
        std::fs::write(path(&file), cert).unwrap();
        openssl(&[
            "ca", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.pem", "-revoke", &file,
        ]);
    }
    openssl(&[
        "ca", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.pem", "-gencrl", "-out",
        "crl.pem",
    ]);
    std::fs::read_to_string(path("crl.pem")).unwrap()
}
