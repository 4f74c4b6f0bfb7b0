//! SAML Responses as a real identity provider signs them (samlify, `tests/js/saml-idp.mjs`),
//! checked by Charter's service provider: the valid one passes, and each alteration an attacker
//! could make to a signed Response, or each value a provider could get wrong, is refused with
//! its reason.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use charter::saml::idp::IdentityProvider;
use charter::saml::sp::{Refused, ServiceProvider};
use chrono::{Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::node;

const IDP: &str = "https://idp.acme.example/metadata";
const SSO: &str = "https://idp.acme.example/sso";
const ALICE: &str = "alice@acme.example";

fn service_provider() -> ServiceProvider {
    ServiceProvider {
        entity_id: "https://charter.test/sso/ORG-TEST1/saml/metadata".to_owned(),
        acs_url: "https://charter.test/sso/ORG-TEST1/saml/acs".to_owned(),
    }
}

/// A new RSA key and a self-signed certificate for it, both PEM.
pub(crate) fn keypair(name: &str) -> (String, String) {
    use openssl::{asn1::Asn1Time, hash::MessageDigest, pkey::PKey, rsa::Rsa, x509};
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut subject = x509::X509NameBuilder::new().unwrap();
    subject.append_entry_by_text("CN", name).unwrap();
    let subject = subject.build();
    let mut cert = x509::X509Builder::new().unwrap();
    cert.set_version(2).unwrap();
    cert.set_subject_name(&subject).unwrap();
    cert.set_issuer_name(&subject).unwrap();
    cert.set_pubkey(&key).unwrap();
    cert.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    cert.set_not_after(&Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    let serial = openssl::bn::BigNum::from_u32(7)
        .unwrap()
        .to_asn1_integer()
        .unwrap();
    cert.set_serial_number(&serial).unwrap();
    cert.sign(&key, MessageDigest::sha256()).unwrap();
    let cert = cert.build();
    (
        String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap(),
        String::from_utf8(cert.to_pem().unwrap()).unwrap(),
    )
}

fn time(offset: Duration) -> String {
    (Utc::now() + offset).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What the provider is asked to put in its Response; a valid one by default.
fn response() -> Value {
    let sp = service_provider();
    json!({
        "id": uuid::Uuid::new_v4().simple().to_string(),
        "inResponseTo": "_request-1",
        "nameId": ALICE,
        "audience": sp.entity_id,
        "destination": sp.acs_url,
        "recipient": sp.acs_url,
        "issueInstant": time(Duration::zero()),
        "notBefore": time(Duration::minutes(-1)),
        "notOnOrAfter": time(Duration::minutes(5)),
    })
}

/// Runs the provider signing with `key`: its metadata, and the Response of `response` (base64
/// and XML). `None` when node is missing outside CI.
async fn provider(key: &(String, String), response: Option<Value>) -> Option<Value> {
    provider_reading(key, None, response).await
}

/// [`provider`], reading first the AuthnRequest that the redirect URL `request` carries.
async fn provider_reading(
    key: &(String, String),
    request: Option<&str>,
    response: Option<Value>,
) -> Option<Value> {
    let sp = service_provider();
    let params = json!({
        "key": key.0, "cert": key.1, "entityId": IDP, "ssoUrl": SSO,
        "sp": { "entityId": sp.entity_id, "acs": sp.acs_url },
        "request": request,
        "response": response,
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("params.json");
    std::fs::write(&file, params.to_string()).unwrap();
    let run = node::run_script("saml-idp.mjs", &[file.to_str().unwrap()]).await?;
    assert!(run.success, "saml-idp.mjs:\n{}", run.output);
    // samlify warns on stderr (no logout endpoint); the answer is the JSON line.
    let line = run
        .output
        .lines()
        .find(|line| line.starts_with('{'))
        .expect("the provider prints its answer");
    Some(serde_json::from_str(line).expect("JSON"))
}

/// The connection's view of the provider: its entity id, sign-on URL and `certificates`.
fn connection(certificates: &[&str]) -> IdentityProvider {
    let certificates: Vec<String> = certificates.iter().map(|c| (*c).to_owned()).collect();
    IdentityProvider::by_hand(IDP, SSO, &certificates, false).expect("a valid provider")
}

fn check(idp: &IdentityProvider, xml: &str) -> Result<String, Refused> {
    service_provider()
        .check(idp, &STANDARD.encode(xml), Some(&["_request-1".to_owned()]))
        .map(|verified| verified.name_id)
}

#[tokio::test]
async fn the_providers_own_metadata_imports_and_its_signed_response_passes() {
    let key = keypair("idp");
    let Some(signed) = provider(&key, Some(response())).await else {
        return;
    };
    let imported =
        IdentityProvider::from_metadata("metadataXml", signed["metadata"].as_str().unwrap(), false)
            .expect("the provider's metadata imports");
    assert_eq!(imported.entity_id, IDP);
    assert_eq!(imported.sso_url, SSO);
    assert_eq!(imported.certificates.len(), 1);
    let verified = service_provider()
        .check(
            &imported,
            signed["response"].as_str().unwrap(),
            Some(&["_request-1".to_owned()]),
        )
        .expect("a valid response passes");
    assert_eq!(verified.name_id, ALICE);
    assert!(verified.assertion_id.starts_with("_a"));
    // Rotation: a connection holding the next certificate beside the current one takes both.
    let next = keypair("idp-next");
    let rotating = connection(&[&next.1, &key.1]);
    assert_eq!(
        check(&rotating, signed["xml"].as_str().unwrap()),
        Ok(ALICE.to_owned())
    );
}

#[tokio::test]
async fn altered_or_mistaken_responses_are_refused_with_their_reason() {
    let key = keypair("idp");
    let stranger = keypair("stranger");
    let idp = connection(&[&key.1]);
    let Some(valid) = provider(&key, Some(response())).await else {
        return;
    };
    let xml = valid["xml"].as_str().unwrap().to_owned();
    let signature = regex_free_cut(&xml, "<ds:Signature", "</ds:Signature>");
    let unsigned = xml.replace(&signature, "");
    let tampered = xml.replace(&format!(">{ALICE}<"), ">mallory@acme.example<");
    let doctype =
        format!("<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>{xml}");
    assert_eq!(check(&idp, &unsigned), Err(Refused::BadSignature));
    assert_eq!(check(&idp, &tampered), Err(Refused::BadSignature));
    assert_eq!(check(&idp, &doctype), Err(Refused::Malformed));
    let other_key = provider(&stranger, Some(response())).await.unwrap();
    assert_eq!(
        check(&idp, other_key["xml"].as_str().unwrap()),
        Err(Refused::BadSignature)
    );

    let mistaken: [(&str, Value, Refused); 6] = [
        (
            "audience",
            json!("https://other.example/sp"),
            Refused::WrongAudience,
        ),
        (
            "destination",
            json!("https://other.example/acs"),
            Refused::WrongDestination,
        ),
        (
            "recipient",
            json!("https://other.example/acs"),
            Refused::WrongRecipient,
        ),
        (
            "inResponseTo",
            json!("_request-of-another-browser"),
            Refused::UnknownRequest,
        ),
        (
            "notOnOrAfter",
            json!(time(Duration::minutes(-3))),
            Refused::Expired,
        ),
        (
            "notBefore",
            json!(time(Duration::minutes(10))),
            Refused::NotYetValid,
        ),
    ];
    for (field, value, reason) in mistaken {
        let mut asked = response();
        asked[field] = value;
        let signed = provider(&key, Some(asked)).await.unwrap();
        assert_eq!(
            check(&idp, signed["xml"].as_str().unwrap()),
            Err(reason),
            "{field}"
        );
    }
}

#[tokio::test]
async fn wrapped_assertions_and_comments_never_sign_in_someone_else() {
    let key = keypair("idp");
    let idp = connection(&[&key.1]);
    let Some(valid) = provider(&key, Some(response())).await else {
        return;
    };
    let xml = valid["xml"].as_str().unwrap().to_owned();
    let assertion = regex_free_cut(&xml, "<saml:Assertion", "</saml:Assertion>");
    let evil = regex_free_cut(&assertion, "<ds:Signature", "</ds:Signature>");
    let evil = assertion
        .replace(&evil, "")
        .replace(ALICE, "mallory@evil.example")
        .replace("ID=\"_a", "ID=\"_evil");
    let shapes = [
        // The forged assertion first, the signed one after it.
        xml.replace(&assertion, &format!("{evil}{assertion}")),
        // The signed one first, the forged one after it.
        xml.replace(&assertion, &format!("{assertion}{evil}")),
        // The signed assertion hidden inside the forged one's subject.
        xml.replace(
            &assertion,
            &evil.replace(
                "</saml:Subject>",
                &format!("</saml:Subject><saml:Advice>{assertion}</saml:Advice>"),
            ),
        ),
        // Only the forged assertion, the signature kept beside it.
        xml.replace(
            &assertion,
            &evil.replace(
                "</saml:Issuer>",
                &format!(
                    "</saml:Issuer>{}",
                    regex_free_cut(&assertion, "<ds:Signature", "</ds:Signature>")
                ),
            ),
        ),
    ];
    for (n, shape) in shapes.iter().enumerate() {
        match check(&idp, shape) {
            Ok(name) => assert_eq!(name, ALICE, "shape {n} signed in {name}"),
            Err(reason) => assert!(
                matches!(reason, Refused::BadSignature | Refused::Malformed),
                "shape {n}: {reason:?}"
            ),
        }
    }
    // A comment inside the signed NameID: the name is all of its text, or nothing.
    let mut commented = response();
    commented["nameId"] = json!("alice@acme.example.evil.example");
    commented["commentAt"] = json!(ALICE.len());
    let signed = provider(&key, Some(commented)).await.unwrap();
    let signed_xml = signed["xml"].as_str().unwrap();
    assert!(
        signed_xml.contains("alice@acme.example<!---->.evil.example"),
        "{signed_xml}"
    );
    match check(&idp, signed_xml) {
        Ok(name) => assert_eq!(name, "alice@acme.example.evil.example"),
        Err(reason) => assert!(matches!(reason, Refused::Malformed | Refused::BadSignature)),
    }
}

#[test]
fn configuration_refuses_what_could_never_verify_a_response() {
    let (_, cert) = keypair("idp");
    let certs = |list: &[&str]| list.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
    let refusal = |result: charter::error::ApiResult<IdentityProvider>| result.unwrap_err().message;
    assert!(
        refusal(IdentityProvider::by_hand(
            IDP,
            SSO,
            &certs(&["not a certificate"]),
            false
        ))
        .starts_with("certificates")
    );
    assert!(
        refusal(IdentityProvider::by_hand(
            IDP,
            SSO,
            &certs(&[&STANDARD.encode("garbage bytes")]),
            false
        ))
        .contains("does not parse")
    );
    assert!(
        refusal(IdentityProvider::by_hand(
            IDP,
            "http://idp.acme.example/sso",
            &certs(&[&cert]),
            false
        ))
        .starts_with("ssoUrl")
    );
    assert!(refusal(IdentityProvider::by_hand(IDP, SSO, &[], false)).starts_with("certificates"));
    assert!(
        refusal(IdentityProvider::by_hand("", SSO, &certs(&[&cert]), false))
            .starts_with("idpEntityId")
    );
    assert!(
        refusal(IdentityProvider::by_hand(
            &"i".repeat(1 << 20),
            SSO,
            &certs(&[&cert]),
            false
        ))
        .starts_with("idpEntityId")
    );
    let without_key = format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{IDP}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{SSO}"/></md:IDPSSODescriptor></md:EntityDescriptor>"#
    );
    assert!(
        refusal(IdentityProvider::from_metadata(
            "metadataXml",
            &without_key,
            false
        ))
        .contains("no signing certificate")
    );
    let laughs = format!("<!DOCTYPE x [<!ENTITY a \"a\">]>{without_key}");
    assert!(
        refusal(IdentityProvider::from_metadata(
            "metadataXml",
            &laughs,
            false
        ))
        .contains("DOCTYPE")
    );
    assert!(
        refusal(IdentityProvider::from_metadata(
            "metadataXml",
            "<not-metadata/>",
            false
        ))
        .starts_with("metadataXml")
    );
    // The service provider's own metadata names its entity id and ACS.
    let metadata = service_provider().metadata_xml().unwrap();
    assert!(
        metadata.contains("entityID=\"https://charter.test/sso/ORG-TEST1/saml/metadata\""),
        "{metadata}"
    );
    assert!(
        metadata.contains("Location=\"https://charter.test/sso/ORG-TEST1/saml/acs\""),
        "{metadata}"
    );
}

/// The first `<start…end>` element of `text`, as written.
fn regex_free_cut(text: &str, start: &str, end: &str) -> String {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in {text}"));
    let to = text[from..].find(end).unwrap() + from + end.len();
    text[from..to].to_owned()
}

const CONFIGURE: &str = "mutation($i: ConfigureSamlSsoInput!) { configureSamlSso(input: $i) {
    protocol enabled saml { idpEntityId ssoUrl certificates { fingerprint subject notAfter }
    serviceProvider { entityId acsUrl metadataUrl } } } }";

/// An organization's owner, signed in with a recent second factor (configuring single sign-on
/// is a sensitive change), and the organization's id and public id.
async fn owner_of_acme(app: &crate::helpers::TestApp) -> (String, String, String) {
    let owner = app.create_user("owner@acme.example").await;
    let org = app.create_org(&owner, "Acme").await;
    let session = app.login("owner@acme.example").await;
    (
        session.access_token,
        crate::helpers::org_id(&org),
        org.public_id.clone(),
    )
}

#[tokio::test]
async fn a_saml_connection_is_configured_from_metadata_or_by_hand_and_serves_its_sp_metadata() {
    let app = crate::helpers::TestApp::spawn_with(|settings| {
        settings.sso.allow_insecure_issuers = true;
        settings.outbound.allow = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let key = keypair("idp");
    let Some(idp) = provider(&key, None).await else {
        return;
    };
    let metadata = idp["metadata"].as_str().unwrap().to_owned();
    let (token, org, public_id) = owner_of_acme(&app).await;
    let body = app
        .gql(
            Some(&token),
            CONFIGURE,
            json!({ "i": { "organizationId": org, "metadataXml": metadata } }),
        )
        .await;
    let connection = &body["data"]["configureSamlSso"];
    assert_eq!(connection["protocol"], "SAML", "{body}");
    assert_eq!(connection["enabled"], true);
    assert_eq!(connection["saml"]["idpEntityId"], IDP);
    assert_eq!(connection["saml"]["ssoUrl"], SSO);
    let expected = charter::certificate::Certificate::parse("c", &key.1).unwrap();
    assert_eq!(
        connection["saml"]["certificates"][0]["fingerprint"],
        expected.fingerprint.as_str()
    );
    let sp = &connection["saml"]["serviceProvider"];
    assert_eq!(
        sp["acsUrl"],
        format!("{}/sso/{public_id}/saml/acs", app.address)
    );
    // The metadata an identity provider imports, served where the entity id says.
    let served = reqwest::get(sp["metadataUrl"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(
        served.headers()["content-type"],
        "application/samlmetadata+xml"
    );
    let xml = served.text().await.unwrap();
    assert!(xml.contains(sp["acsUrl"].as_str().unwrap()), "{xml}");
    let parsed: samael::metadata::EntityDescriptor = xml.parse().expect("metadata that parses");
    assert_eq!(parsed.entity_id.as_deref(), sp["entityId"].as_str());

    // By hand, with the next certificate beside the current one.
    let next = keypair("idp-next");
    let body = app
        .gql(
            Some(&token),
            CONFIGURE,
            json!({ "i": { "organizationId": org, "idpEntityId": IDP, "ssoUrl": SSO, "certificates": [key.1, next.1] } }),
        )
        .await;
    let certificates = body["data"]["configureSamlSso"]["saml"]["certificates"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(certificates.len(), 2, "{body}");

    // Fetched from a URL, through the outbound guard (loopback allowed here).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/metadata", listener.local_addr().unwrap());
    let served_metadata = metadata.clone();
    let router = axum::Router::new().route(
        "/metadata",
        axum::routing::get(move || async move { served_metadata }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    let body = app
        .gql(
            Some(&token),
            CONFIGURE,
            json!({ "i": { "organizationId": org, "metadataUrl": url } }),
        )
        .await;
    assert_eq!(
        body["data"]["configureSamlSso"]["saml"]["idpEntityId"], IDP,
        "{body}"
    );
    let unknown = reqwest::get(format!("{}/sso/ORG-NOSUCH1/saml/metadata", app.address))
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn a_bad_saml_configuration_is_refused_naming_what_is_wrong_and_writes_nothing() {
    let app = crate::helpers::TestApp::spawn().await;
    let (_, cert) = keypair("idp");
    let (token, org, public_id) = owner_of_acme(&app).await;
    let without_key = format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{IDP}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{SSO}"/></md:IDPSSODescriptor></md:EntityDescriptor>"#
    );
    let cases = [
        (json!({ "metadataXml": without_key }), "metadataXml"),
        (
            json!({ "metadataXml": format!("<!DOCTYPE x [<!ENTITY a SYSTEM \"file:///etc/passwd\">]>{without_key}") }),
            "metadataXml",
        ),
        (json!({ "metadataXml": "x".repeat(1 << 20) }), "metadataXml"),
        (
            json!({ "metadataUrl": "https://10.0.0.1/metadata" }),
            "metadataUrl",
        ),
        (
            json!({ "metadataUrl": "http://idp.acme.example/metadata" }),
            "metadataUrl",
        ),
        (
            json!({ "idpEntityId": IDP, "ssoUrl": "http://idp.acme.example/sso", "certificates": [cert] }),
            "ssoUrl",
        ),
        (
            json!({ "idpEntityId": IDP, "ssoUrl": SSO, "certificates": ["not a certificate"] }),
            "certificates",
        ),
        (
            json!({ "idpEntityId": IDP, "ssoUrl": SSO, "certificates": [] }),
            "certificates",
        ),
        (
            json!({ "metadataXml": without_key, "idpEntityId": IDP }),
            "metadataXml",
        ),
        (json!({}), "metadataXml"),
    ];
    for (mut input, field) in cases {
        input["organizationId"] = json!(org);
        let body = app
            .gql(Some(&token), CONFIGURE, json!({ "i": input }))
            .await;
        assert_eq!(
            crate::helpers::error_code(&body),
            "INVALID_INPUT",
            "{field}: {body}"
        );
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    use sea_orm::{EntityTrait, PaginatorTrait};
    let written = entity::sso_connection::Entity::find()
        .count(app.state.database())
        .await
        .unwrap();
    assert_eq!(written, 0, "nothing was written");
    let none = reqwest::get(format!("{}/sso/{public_id}/saml/metadata", app.address))
        .await
        .unwrap();
    assert_eq!(none.status(), 404);
}

#[tokio::test]
async fn an_assertion_is_taken_once_across_processes_and_forgotten_when_it_expires() {
    use charter::services::identity::sso::replay;
    let app = crate::helpers::TestApp::spawn().await;
    let owner = app.create_user("owner@acme.example").await;
    let acme = app.create_org(&owner, "Acme").await;
    let globex = app.create_org(&owner, "Globex").await;
    // Another process of the same deployment, on the same database and keys.
    let other = crate::helpers::start_process(
        &app.state.settings.data_dir,
        &app.state.settings.effective_database_url(),
        |_| {},
    )
    .await
    .expect("a second process starts");
    let soon = Some(Utc::now() + Duration::minutes(5));
    let mut racers = Vec::new();
    for n in 0..16 {
        let state = if n % 2 == 0 {
            app.state.clone()
        } else {
            other.state.clone()
        };
        racers.push(tokio::spawn(async move {
            replay::first_use(&state, acme.id, "_assertion-1", soon)
                .await
                .unwrap()
        }));
    }
    let mut taken = 0;
    for racer in racers {
        taken += usize::from(racer.await.unwrap());
    }
    assert_eq!(taken, 1, "one of sixteen takes the assertion");
    // Another organization's assertion with the same id is its own.
    assert!(
        replay::first_use(&app.state, globex.id, "_assertion-1", soon)
            .await
            .unwrap()
    );
    // An assertion past its time is forgotten at the next purge.
    let past = Some(Utc::now() - Duration::minutes(10));
    assert!(
        replay::first_use(&app.state, acme.id, "_old", past)
            .await
            .unwrap()
    );
    assert!(
        !replay::first_use(&app.state, acme.id, "_old", past)
            .await
            .unwrap()
    );
    assert_eq!(replay::purge(&app.state).await.unwrap(), 1);
    assert!(
        !replay::first_use(&other.state, acme.id, "_assertion-1", soon)
            .await
            .unwrap()
    );
    // A megabyte of id is stored as its hash.
    assert!(
        replay::first_use(&app.state, acme.id, &"x".repeat(1 << 20), soon)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn the_provider_reads_charters_request_and_its_answer_to_it_passes() {
    let key = keypair("idp");
    let idp = connection(&[&key.1]);
    let sp = service_provider();
    let (id, url) = sp.authn_request(&idp, "relay-1").unwrap();
    assert!(url.starts_with(&format!("{SSO}?SAMLRequest=")), "{url}");
    assert_eq!(id.len(), 33, "128 random bits: {id}");
    let mut answer = response();
    answer["inResponseTo"] = json!(id);
    let Some(run) = provider_reading(&key, Some(&url), Some(answer)).await else {
        return;
    };
    let read = &run["request"];
    assert_eq!(read["id"], id.as_str(), "{read}");
    assert_eq!(read["issuer"], sp.entity_id.as_str(), "{read}");
    assert_eq!(read["destination"], SSO, "{read}");
    assert_eq!(
        read["assertionConsumerServiceUrl"],
        sp.acs_url.as_str(),
        "{read}"
    );
    assert_eq!(read["relayState"], "relay-1");
    let posted = run["response"].as_str().unwrap();
    let verified = sp
        .check(&idp, posted, Some(std::slice::from_ref(&id)))
        .unwrap();
    assert_eq!(verified.name_id, ALICE);
    // The same answer, brought by a browser whose pending request is another.
    let (other, _) = sp.authn_request(&idp, "relay-2").unwrap();
    assert_ne!(other, id);
    assert_eq!(
        sp.check(&idp, posted, Some(&[other])).unwrap_err(),
        Refused::UnknownRequest
    );
}

/// Where [`a_forged_signature_writes_nothing_to_standard_error`] leaves the Response its child
/// process checks.
const FORGED_FILE: &str = "CHARTER_TEST_FORGED_RESPONSE";

/// A Response whose signature fails must not make libxmlsec1 print its error report (copied in
/// part from the request) on standard error, where a stranger posting forgeries would fill the
/// service's log. The check runs in a child process of this test binary, whose standard error
/// the test reads; the child is this test again, finding the Response to check in the
/// environment.
#[tokio::test]
async fn a_forged_signature_writes_nothing_to_standard_error() {
    if let Ok(path) = std::env::var(FORGED_FILE) {
        let (certificate, xml): (String, String) =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let idp = connection(&[&certificate]);
        assert_eq!(check(&idp, &xml).unwrap_err(), Refused::BadSignature);
        return;
    }
    let key = keypair("idp");
    let Some(signed) = provider(&key, Some(response())).await else {
        return;
    };
    let forged = signed["xml"]
        .as_str()
        .unwrap()
        .replace(ALICE, "mallory@acme.example");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), json!([key.1, forged]).to_string()).unwrap();
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "saml::a_forged_signature_writes_nothing_to_standard_error",
            "--nocapture",
        ])
        .env(FORGED_FILE, file.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&child.stderr);
    assert!(child.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&child.stdout);
    assert!(
        stdout.contains("1 passed"),
        "the child ran the check: {stdout}"
    );
    assert!(!stderr.contains("xmlSec"), "libxmlsec1 printed: {stderr}");
}
