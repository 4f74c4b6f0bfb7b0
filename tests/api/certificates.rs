//! Smart-card sign-in with client certificates, over real TLS handshakes on Charter's own TLS
//! listener (certificates made by the test with OpenSSL): a person is linked by the SAN email
//! or UPN, and an expired certificate, one from another organization's CA, a self-signed one,
//! one without client-auth usage and one on a revocation list are refused with their reason; a
//! forwarded certificate is taken from a trusted proxy only.

use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use serde_json::{Value, json};

use crate::helpers::{error_code, org_id};
use crate::sso::{APP_ORIGIN, Acme, location};
use crate::tls::{Usage, authority, issued, revocation_list};

/// Acme with its domain verified, Charter's TLS listener, and Acme's card authority.
struct Cards {
    acme: Acme,
    ca: (PKey<Private>, X509),
    /// The CA of Charter's own TLS certificate.
    server_ca: Vec<u8>,
    _files: tempfile::TempDir,
}

impl std::ops::Deref for Cards {
    type Target = Acme;
    fn deref(&self) -> &Acme {
        &self.acme
    }
}

impl Cards {
    async fn start(trusted_proxy: bool) -> Option<Self> {
        let files = tempfile::tempdir().unwrap();
        let (server_key, server_ca) = authority("Charter test server CA");
        let (key, cert) = issued(&server_key, &server_ca, "127.0.0.1", Usage::Server);
        let (key_path, cert_path) = (files.path().join("tls.key"), files.path().join("tls.pem"));
        std::fs::write(&key_path, key).unwrap();
        std::fs::write(&cert_path, cert).unwrap();
        let acme = Acme::start(None, move |settings| {
            settings.sso.tls_certificate = Some(cert_path);
            settings.sso.tls_key = Some(key_path);
            if trusted_proxy {
                settings.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
            }
        })
        .await?;
        Some(Self {
            acme,
            ca: authority("Acme card CA"),
            server_ca: server_ca.to_pem().unwrap(),
            _files: files,
        })
    }

    fn ca_pem(&self) -> String {
        String::from_utf8(self.ca.1.to_pem().unwrap()).unwrap()
    }

    async fn configure(&self, more: Value) -> Value {
        let mut input = json!({
            "organizationId": org_id(&self.org),
            "authorities": [self.ca_pem()],
            "defaultRoleId": self.role_id("standard_user"),
            "jitProvisioning": true,
        });
        input
            .as_object_mut()
            .unwrap()
            .extend(more.as_object().unwrap().clone());
        self.gql(
            "mutation($i: ConfigureCertificateSignInInput!) { configureCertificateSignIn(input: $i) { protocol startUrl certificate { authorities { subject } crlCount crlUrl mapping } } }",
            json!({ "i": input }),
        )
        .await
    }

    /// A card of Acme's CA for `subject`.
    fn card(&self, subject: &str, usage: Usage) -> (Vec<u8>, Vec<u8>) {
        issued(&self.ca.0, &self.ca.1, subject, usage)
    }

    /// Starts a sign-in on the TLS listener presenting `card` (none: no certificate).
    async fn start_with(&self, card: Option<&(Vec<u8>, Vec<u8>)>) -> reqwest::Response {
        let mut client = reqwest::Client::builder()
            .use_rustls_tls()
            .add_root_certificate(reqwest::Certificate::from_pem(&self.server_ca).unwrap())
            .redirect(reqwest::redirect::Policy::none());
        if let Some((key, cert)) = card {
            let identity = reqwest::Identity::from_pem(&[cert.as_slice(), key].concat()).unwrap();
            client = client.identity(identity);
        }
        let tls = self.app.tls_address.as_ref().expect("the TLS listener");
        let url = format!(
            "{tls}/cert/{}/start?return_to={APP_ORIGIN}/signed-in",
            self.org.public_id
        );
        client.build().unwrap().get(url).send().await.unwrap()
    }

    /// The code a sign-in with `card` ends with.
    async fn code_with(&self, card: &(Vec<u8>, Vec<u8>)) -> String {
        let answer = self.start_with(Some(card)).await;
        assert_eq!(answer.status(), 303, "{:?}", answer.text().await);
        let back = url::Url::parse(&location(&answer)).unwrap();
        back.query_pairs()
            .find(|(key, _)| key == "sso_code")
            .map(|(_, value)| value.into_owned())
            .expect("a code")
    }

    async fn exchange(&self, code: &str) -> Value {
        self.app
            .gql(
                None,
                "mutation($c: String!) { exchangeSsoCode(code: $c) { accessToken user { email } organization { name } } }",
                json!({ "c": code }),
            )
            .await
    }

    /// How many refusals of `reason` the log records.
    async fn refusals_of(&self, reason: &str) -> usize {
        let marker = format!("\"reason\":\"{reason}\"");
        self.events()
            .await
            .into_iter()
            .filter(|event| {
                event.action == "sso.sign_in_refused" && event.payload.contains(&marker)
            })
            .count()
    }

    /// The page of a refused start, and the reason of the last refusal recorded.
    async fn refused(&self, card: Option<&(Vec<u8>, Vec<u8>)>) -> (u16, String, Option<String>) {
        let answer = self.start_with(card).await;
        let status = answer.status().as_u16();
        assert!(location(&answer).is_empty(), "a refusal redirects nowhere");
        let page = answer.text().await.unwrap();
        let reason = self
            .events()
            .await
            .into_iter()
            .rev()
            .find(|event| event.action == "sso.sign_in_refused")
            .map(|event| {
                let payload: Value = serde_json::from_str(&event.payload).unwrap();
                payload["reason"].as_str().unwrap().to_owned()
            });
        (status, page, reason)
    }
}

#[tokio::test]
async fn a_card_of_the_organizations_authority_signs_its_holder_in_by_san_email_or_upn() {
    let Some(cards) = Cards::start(false).await else {
        return;
    };
    let body = cards.configure(json!({})).await;
    let connection = &body["data"]["configureCertificateSignIn"];
    assert_eq!(connection["protocol"], "CERTIFICATE", "{body}");
    assert_eq!(connection["certificate"]["mapping"], "SAN_EMAIL");
    assert_eq!(connection["startUrl"], Value::Null);
    let code = cards
        .code_with(&cards.card("grace@acme.test", Usage::Client))
        .await;
    let session = cards.exchange(&code).await;
    assert_eq!(
        session["data"]["exchangeSsoCode"]["user"]["email"], "grace@acme.test",
        "{session}"
    );
    let token = session["data"]["exchangeSsoCode"]["accessToken"]
        .as_str()
        .unwrap();
    assert_eq!(crate::sso::claims(token)["idp"], "client-certificate");
    // The same holder again, with a new card: the link holds.
    let again = cards
        .code_with(&cards.card("grace@acme.test", Usage::Client))
        .await;
    assert!(cards.exchange(&again).await["errors"].is_null());
    // By UPN, as CAC and PIV cards carry it.
    assert!(cards.configure(json!({ "mapping": "UPN" })).await["errors"].is_null());
    let code = cards
        .code_with(&cards.card("hopper@acme.test", Usage::ClientUpn))
        .await;
    let session = cards.exchange(&code).await;
    assert_eq!(
        session["data"]["exchangeSsoCode"]["user"]["email"],
        "hopper@acme.test"
    );
    // A card with only a SAN email names nobody under the UPN mapping.
    let (_, page, reason) = cards
        .refused(Some(&cards.card("ivan@acme.test", Usage::Client)))
        .await;
    assert_eq!(reason.as_deref(), Some("certificate_no_identity"), "{page}");
}

#[tokio::test]
async fn expired_foreign_self_signed_server_only_and_revoked_cards_are_refused() {
    let Some(cards) = Cards::start(false).await else {
        return;
    };
    let revoked = cards.card("mallory@acme.test", Usage::Client);
    let crl = revocation_list(&cards.ca.0, &cards.ca.1, &[&revoked.1]);
    let body = cards.configure(json!({ "crls": [crl] })).await;
    assert_eq!(
        body["data"]["configureCertificateSignIn"]["certificate"]["crlCount"], 1,
        "{body}"
    );
    let (other_key, other_ca) = authority("Globex card CA");
    let foreign = issued(&other_key, &other_ca, "grace@acme.test", Usage::Client);
    let self_signed = {
        let (key, cert) = authority("grace@acme.test");
        (
            key.private_key_to_pem_pkcs8().unwrap(),
            cert.to_pem().unwrap(),
        )
    };
    let cases = [
        (
            cards.card("grace@acme.test", Usage::ClientExpired),
            "certificate_expired",
        ),
        (foreign, "certificate_untrusted"),
        (self_signed, "certificate_untrusted"),
        (
            cards.card("grace@acme.test", Usage::ClientMarkedServer),
            "certificate_wrong_usage",
        ),
        (revoked, "certificate_revoked"),
    ];
    for (card, expected) in cases {
        let (status, page, reason) = cards.refused(Some(&card)).await;
        assert_eq!(status, 403, "{expected}: {page}");
        assert_eq!(reason.as_deref(), Some(expected), "{page}");
    }
    // No card at all: a page that says so, and nothing recorded for a stranger.
    let before = cards.events().await.len();
    let (status, page, _) = cards.refused(None).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("no client certificate"), "{page}");
    assert_eq!(cards.events().await.len(), before);
    assert!(!cards.actions().await.iter().any(|a| a == "sso.sign_in"));
}

#[tokio::test]
async fn a_forwarded_card_is_taken_from_a_trusted_proxy_only() {
    // As nginx's $ssl_client_escaped_cert: percent-encoded.
    let forward = async |cards: &Cards, pem: &str| {
        let encoded =
            percent_encoding::utf8_percent_encode(pem, percent_encoding::NON_ALPHANUMERIC);
        raw_status(cards, &encoded.to_string()).await
    };
    // Not a trusted proxy: the header is ignored.
    let Some(cards) = Cards::start(false).await else {
        return;
    };
    assert!(cards.configure(json!({})).await["errors"].is_null());
    let card = cards.card("grace@acme.test", Usage::Client);
    assert_eq!(
        forward(&cards, std::str::from_utf8(&card.1).unwrap()).await,
        400
    );
    // A trusted proxy: the forwarded card is still checked by Charter.
    let Some(cards) = Cards::start(true).await else {
        return;
    };
    assert!(cards.configure(json!({})).await["errors"].is_null());
    let card = cards.card("grace@acme.test", Usage::Client);
    assert_eq!(
        forward(&cards, std::str::from_utf8(&card.1).unwrap()).await,
        303
    );
    let (_, foreign_ca) = authority("elsewhere");
    let foreign = String::from_utf8(foreign_ca.to_pem().unwrap()).unwrap();
    assert_eq!(forward(&cards, &foreign).await, 403);
    // Nine certificates (one more than a chain may hold) are refused with their reason; a
    // thousand, and a header of a megabyte, never reach a handler.
    let nine = std::str::from_utf8(&card.1).unwrap().repeat(9);
    assert_eq!(forward(&cards, &nine).await, 403);
    let long = std::str::from_utf8(&card.1).unwrap().repeat(1000);
    for header in [long, "A".repeat(1 << 20)] {
        let status = raw_status(&cards, &header).await;
        assert!(matches!(status, 400 | 413 | 431), "{status}");
    }
    assert_eq!(
        cards.refusals_of("certificate_malformed").await,
        1,
        "the nine-certificate chain"
    );
}

/// The status a request with `x-client-cert: <header>` gets, sent on a bare connection (an
/// HTTP client refuses to send such a header at all).
async fn raw_status(cards: &Cards, header: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = cards.app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "GET /cert/{}/start?return_to={APP_ORIGIN}/ HTTP/1.1\r\nHost: charter\r\nx-client-cert: {}\r\nConnection: close\r\n\r\n",
        cards.org.public_id,
        header.replace(['\r', '\n'], "")
    );
    let _ = stream.write_all(request.as_bytes()).await;
    let mut answer = vec![0u8; 64];
    let read = stream.read(&mut answer).await.unwrap_or(0);
    // The rest of the answer is not needed; the connection closes with it.
    let line = String::from_utf8_lossy(&answer[..read]).to_string();
    line.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn configuration_refuses_what_is_not_a_ca_or_a_revocation_list() {
    let Some(cards) = Cards::start(false).await else {
        return;
    };
    let leaf = cards.card("grace@acme.test", Usage::Client).1;
    let refused = [
        (json!({ "authorities": [] }), "authorities"),
        (
            json!({ "authorities": ["not a certificate"] }),
            "authorities",
        ),
        (
            json!({ "authorities": [String::from_utf8(leaf).unwrap()] }),
            "authorities",
        ),
        (json!({ "crls": ["not a list"] }), "crls"),
        (json!({ "crls": [cards.ca_pem()] }), "crls"),
        (json!({ "crls": ["\u{0}"] }), "crls"),
        (json!({ "crlUrl": "http://127.0.0.1:9/crl" }), "crlUrl"),
    ];
    for (more, field) in refused {
        let body = cards.configure(more.clone()).await;
        assert_eq!(error_code(&body), "INVALID_INPUT", "{more}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["field"], field,
            "{more}: {body}"
        );
    }
    assert!(cards.actions().await.iter().all(|a| a != "sso.configured"));
}

/// A revocation list served over HTTP on loopback, as a card authority publishes it; the test
/// changes what it serves.
struct CrlServer {
    url: String,
    body: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl CrlServer {
    async fn start(der: Vec<u8>) -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/cards.crl", listener.local_addr().unwrap());
        let body = std::sync::Arc::new(std::sync::Mutex::new(der));
        let serving = body.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                let der = serving.lock().unwrap().clone();
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/pkix-crl\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    der.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&der).await;
            }
        });
        Self { url, body }
    }

    fn serve(&self, der: Vec<u8>) {
        *self.body.lock().unwrap() = der;
    }
}

/// A PEM revocation list as DER.
fn crl_der(pem: &str) -> Vec<u8> {
    openssl::x509::X509Crl::from_pem(pem.as_bytes())
        .unwrap()
        .to_der()
        .unwrap()
}

#[tokio::test]
async fn a_revocation_list_fetched_from_a_url_is_refreshed_and_then_refuses_the_revoked_card() {
    let Some(cards) = Cards::start(false).await else {
        return;
    };
    let card = cards.card("grace@acme.test", Usage::Client);
    let empty = revocation_list(&cards.ca.0, &cards.ca.1, &[]);
    let server = CrlServer::start(crl_der(&empty)).await;
    let body = cards.configure(json!({ "crlUrl": server.url })).await;
    assert_eq!(
        body["data"]["configureCertificateSignIn"]["certificate"]["crlUrl"], server.url,
        "{body}"
    );
    assert_eq!(cards.start_with(Some(&card)).await.status(), 303);
    // The authority revokes the card; the hourly refresh fetches the new list.
    server.serve(crl_der(&revocation_list(
        &cards.ca.0,
        &cards.ca.1,
        &[&card.1],
    )));
    let refreshed =
        charter::services::identity::sso::certificate::refresh_crls(&cards.app.state).await;
    assert_eq!(refreshed.unwrap(), 1);
    let (status, page, reason) = cards.refused(Some(&card)).await;
    assert_eq!(status, 403, "{page}");
    assert_eq!(reason.as_deref(), Some("certificate_revoked"));
    // A URL answering something else is refused at configuration.
    server.serve(b"not a list".to_vec());
    let body = cards.configure(json!({ "crlUrl": server.url })).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "crlUrl", "{body}");
}
