//! SAML single sign-on end to end, against a real identity provider on loopback (samlify,
//! `tests/js/saml-idp.mjs --serve`): Charter's start sends the browser with an AuthnRequest,
//! the provider answers with the page that posts its signed Response to the ACS, and a
//! cookie-keeping client submits that form as a browser would (and, once, headless Chromium
//! does it all). The hostile half posts the provider's own Responses, altered or misdirected.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, error_code, org_id};
use crate::provider::Form;
use crate::saml::keypair;
use crate::sso::{APP_ORIGIN, Acme, location};

const IDP: &str = "https://idp.acme.test/saml";

/// The provider, serving on loopback until dropped.
struct SamlIdp {
    child: Child,
    /// Its sign-on URL, `http://127.0.0.1:<port>/sso`.
    sso: String,
    metadata: String,
}

impl SamlIdp {
    /// Starts a provider signing with `key` for the service provider `(entity id, ACS)`.
    fn start(key: &(String, String), sp: (&str, &str)) -> Self {
        crate::node::install_packages().expect("tests/js packages");
        let params = json!({
            "key": key.0, "cert": key.1, "entityId": IDP,
            "sp": { "entityId": sp.0, "acs": sp.1 },
        });
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), params.to_string()).unwrap();
        let mut child = Command::new("node")
            .arg(crate::node::js_dir().join("saml-idp.mjs"))
            .arg("--serve")
            .arg(file.path())
            .current_dir(crate::node::js_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node starts");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let line = lines
            .by_ref()
            .map_while(Result::ok)
            .find(|line| line.starts_with('{'))
            .expect("the provider prints its metadata");
        let printed: Value = serde_json::from_str(&line).unwrap();
        Self {
            child,
            sso: printed["sso"].as_str().unwrap().to_owned(),
            metadata: printed["metadata"].as_str().unwrap().to_owned(),
        }
    }

    fn base(&self) -> &str {
        self.sso.trim_end_matches("/sso")
    }

    /// Sets who the provider signs in next, and any value it should get wrong.
    async fn control(&self, change: Value) {
        let answer = reqwest::Client::new()
            .post(format!("{}/control", self.base()))
            .body(change.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 204);
    }
}

impl Drop for SamlIdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Acme and its SAML provider.
struct Saml {
    acme: Acme,
    idp: SamlIdp,
}

impl std::ops::Deref for Saml {
    type Target = Acme;
    fn deref(&self) -> &Acme {
        &self.acme
    }
}

/// What a provider's page posts to the ACS.
struct Posted {
    action: String,
    response: String,
    relay_state: Option<String>,
}

impl Saml {
    /// Acme with its domain verified and a provider signing with `key`; SAML not yet
    /// configured. `None` when node or the DNS server cannot run here (outside CI only).
    async fn start(key: &(String, String)) -> Option<Self> {
        if let Err(missing) = crate::node::node_tools() {
            crate::node::skip_or_fail(&missing);
            return None;
        }
        let acme = Acme::start(None, |_| {}).await?;
        let base = format!("{}/sso/{}/saml", acme.app.address, acme.org.public_id);
        let (entity, acs) = (format!("{base}/metadata"), format!("{base}/acs"));
        let key = key.clone();
        let idp = tokio::task::spawn_blocking(move || SamlIdp::start(&key, (&entity, &acs)))
            .await
            .unwrap();
        Some(Self { acme, idp })
    }

    /// [`Self::start`] with a new provider key, SAML configured as [`Self::configure`] does.
    async fn configured(jit: bool, more: Value) -> Option<Self> {
        let saml = Self::start(&keypair("idp")).await?;
        saml.configure(jit, more).await;
        Some(saml)
    }

    /// Configures SAML from the provider's metadata, with `more` input on top.
    async fn configure(&self, jit: bool, more: Value) -> Value {
        let mut input = json!({
            "organizationId": org_id(&self.org),
            "metadataXml": self.idp.metadata,
            "defaultRoleId": self.role_id("standard_user"),
            "jitProvisioning": jit,
        });
        input
            .as_object_mut()
            .unwrap()
            .extend(more.as_object().unwrap().clone());
        let configured = self
            .gql(
                "mutation($i: ConfigureSamlSsoInput!) { configureSamlSso(input: $i) { protocol enabled enforced startUrl saml { idpEntityId allowIdpInitiated certificates { fingerprint } serviceProvider { entityId acsUrl } } } }",
                json!({ "i": input }),
            )
            .await;
        assert!(configured["errors"].is_null(), "{configured}");
        configured
    }

    /// Starts a sign-in in `browser` and brings it to the provider as `person`: the form the
    /// provider's page would post.
    async fn through_provider(&self, browser: &reqwest::Client, person: Value) -> Posted {
        self.idp.control(person).await;
        let to_provider = self.started(browser).await;
        assert!(to_provider.starts_with(&format!("{}?SAMLRequest=", self.idp.sso)));
        let page = browser.get(&to_provider).send().await.unwrap();
        assert_eq!(page.status(), 200);
        read_form(&page.text().await.unwrap())
    }

    /// A whole sign-in as `person`: Charter's answer to the posted form.
    async fn sign_in(&self, person: Value) -> reqwest::Response {
        let browser = Acme::browser();
        let posted = self.through_provider(&browser, person).await;
        post(&browser, &posted).await
    }

    /// A sign-in as `name_id` that must succeed: the one-time code, and whether the link
    /// waits for the person's password.
    async fn code_for(&self, name_id: &str) -> (String, bool) {
        let answer = self.sign_in(json!({ "nameId": name_id })).await;
        assert_eq!(answer.status(), 303, "{:?}", answer.text().await);
        let back = url::Url::parse(&location(&answer)).unwrap();
        assert_eq!(back.origin().ascii_serialization(), APP_ORIGIN);
        let query: std::collections::HashMap<_, _> = back.query_pairs().into_owned().collect();
        (query["sso_code"].clone(), query.contains_key("sso_link"))
    }

    async fn exchange(&self, code: &str, password: Option<&str>) -> Value {
        self.app
            .gql(
                None,
                "mutation($c: String!, $p: String) { exchangeSsoCode(code: $c, password: $p) { accessToken user { email } organization { name } } }",
                json!({ "c": code, "p": password }),
            )
            .await
    }

    /// The reasons of Acme's refused sign-ins, oldest first.
    async fn refusals(&self) -> Vec<String> {
        self.events()
            .await
            .into_iter()
            .filter(|event| event.action == "sso.sign_in_refused")
            .map(|event| {
                let payload: Value = serde_json::from_str(&event.payload).unwrap();
                payload["reason"].as_str().unwrap().to_owned()
            })
            .collect()
    }

    async fn sign_ins(&self) -> usize {
        let actions = self.actions().await;
        actions
            .iter()
            .filter(|action| *action == "sso.sign_in")
            .count()
    }
}

fn read_form(html: &str) -> Posted {
    let form = Form::parse(html).unwrap_or_else(|| panic!("a form: {html}"));
    let field = |name: &str| {
        form.hidden
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    Posted {
        response: field("SAMLResponse").expect("a SAMLResponse"),
        relay_state: field("RelayState"),
        action: form.action,
    }
}

/// Submits the provider's form as the browser would.
async fn post(browser: &reqwest::Client, posted: &Posted) -> reqwest::Response {
    let mut fields = vec![("SAMLResponse", posted.response.clone())];
    if let Some(relay) = &posted.relay_state {
        fields.push(("RelayState", relay.clone()));
    }
    browser
        .post(&posted.action)
        .form(&fields)
        .send()
        .await
        .unwrap()
}

/// The page of a refused sign-in: its status, and what it says.
async fn refused(answer: reqwest::Response) -> (u16, String) {
    assert!(location(&answer).is_empty(), "a refusal redirects nowhere");
    let status = answer.status().as_u16();
    (status, answer.text().await.unwrap())
}

fn b64(xml: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(xml)
}

fn unb64(response: &str) -> String {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(response)
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

#[tokio::test]
async fn a_new_person_joins_just_in_time_and_an_existing_one_links_with_their_password() {
    let key = keypair("idp");
    let Some(saml) = Saml::start(&key).await else {
        return;
    };
    let configured = saml.configure(true, json!({})).await;
    let connection = &configured["data"]["configureSamlSso"];
    assert_eq!(connection["protocol"], "SAML", "{configured}");
    let start_url = connection["startUrl"].as_str().unwrap();
    assert!(start_url.ends_with(&format!("/sso/{}/start", saml.org.public_id)));
    // The SP metadata an IdP administrator imports names the ACS the provider posts to.
    let acs = connection["saml"]["serviceProvider"]["acsUrl"]
        .as_str()
        .unwrap();
    let metadata = reqwest::get(format!(
        "{}/sso/{}/saml/metadata",
        saml.app.address, saml.org.public_id
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(
        metadata.contains(&format!("Location=\"{acs}\"")),
        "{metadata}"
    );
    // Home-realm discovery sends people of the verified domain to this connection.
    let realm = saml
        .app
        .gql(
            None,
            "query { ssoSignIn(email: \"anyone@acme.test\") }",
            json!({}),
        )
        .await;
    assert_eq!(realm["data"]["ssoSignIn"], start_url, "{realm}");

    let (code, linking) = saml.code_for("bob@acme.test").await;
    assert!(!linking);
    let session = saml.exchange(&code, None).await;
    let signed_in = &session["data"]["exchangeSsoCode"];
    assert_eq!(signed_in["user"]["email"], "bob@acme.test", "{session}");
    assert_eq!(signed_in["organization"]["name"], "Acme");
    let claims = crate::sso::claims(signed_in["accessToken"].as_str().unwrap());
    assert_eq!(claims["amr"], json!(["sso"]), "{claims}");
    // The code works once.
    assert_eq!(
        error_code(&saml.exchange(&code, None).await),
        "UNAUTHENTICATED"
    );

    // An existing account named by its email confirms the link once with its password.
    let carol = saml.app.create_user("carol@acme.test").await;
    saml.app
        .add_member(&carol, &saml.org, "standard_user")
        .await;
    let (code, linking) = saml.code_for("carol@acme.test").await;
    assert!(linking, "an existing account's link waits for its password");
    let refused = saml.exchange(&code, None).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    let linked = saml.exchange(&code, Some(PASSWORD)).await;
    assert_eq!(
        linked["data"]["exchangeSsoCode"]["user"]["email"], "carol@acme.test",
        "{linked}"
    );
    let (code, linking) = saml.code_for("carol@acme.test").await;
    assert!(
        !linking,
        "once linked, the provider's subject signs in alone"
    );
    assert!(saml.exchange(&code, None).await["errors"].is_null());

    // A provider that says it did multi-factor authentication is believed like OpenID's amr.
    let answer = saml
        .sign_in(json!({
            "nameId": "bob@acme.test",
            "authnContext": "http://schemas.microsoft.com/claims/multipleauthn",
        }))
        .await;
    let back = url::Url::parse(&location(&answer)).unwrap();
    let code = back.query_pairs().find(|(k, _)| k == "sso_code").unwrap().1;
    let session = saml.exchange(&code, None).await;
    let token = session["data"]["exchangeSsoCode"]["accessToken"]
        .as_str()
        .unwrap();
    assert_eq!(crate::sso::claims(token)["amr"], json!(["sso", "mfa"]));
    let actions = saml.actions().await;
    for action in [
        "sso.configured",
        "sso.member_provisioned",
        "sso.identity_linked",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    assert_eq!(saml.sign_ins().await, 4);
}

#[tokio::test]
async fn without_jit_strangers_and_foreign_domains_are_refused_and_the_email_attribute_counts() {
    let Some(saml) = Saml::configured(false, json!({ "emailAttribute": "mail" })).await else {
        return;
    };
    // A persistent NameID, and the email in the configured attribute.
    let dave = saml.app.create_user("dave@acme.test").await;
    saml.app.add_member(&dave, &saml.org, "standard_user").await;
    let person = json!({
        "nameId": "8d1c0f2e-persistent",
        "nameIdFormat": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
        "attributes": { "mail": "dave@acme.test" },
    });
    let answer = saml.sign_in(person).await;
    assert_eq!(answer.status(), 303, "{:?}", answer.text().await);
    assert!(location(&answer).contains("sso_link=required"));
    // Nobody at Acme, and JIT off.
    let (status, page) = refused(
        saml.sign_in(json!({ "nameId": "x", "attributes": { "mail": "erin@acme.test" } }))
            .await,
    )
    .await;
    assert_eq!(status, 403);
    assert!(page.contains("not a member"), "{page}");
    // An email outside Acme's verified domains never names an account, even an existing one.
    saml.app.create_user("mallory@evil.test").await;
    let (_, page) = refused(
        saml.sign_in(json!({ "nameId": "y", "attributes": { "mail": "mallory@evil.test" } }))
            .await,
    )
    .await;
    assert!(page.contains("not a verified domain"), "{page}");
    // No email at all: the NameID is not one when an attribute is configured.
    let (_, page) = refused(saml.sign_in(json!({ "nameId": "dave@acme.test" })).await).await;
    assert!(page.contains("no usable email"), "{page}");
    assert_eq!(
        saml.refusals().await,
        ["not_member", "foreign_domain", "no_email"]
    );
    assert_eq!(saml.sign_ins().await, 0);
}

/// A change made to a signed Response's XML.
type Alteration = fn(&str) -> String;

/// Each way a Response can be wrong, made by the provider itself or by altering what it signed,
/// and the reason Charter's page and audit event give.
#[tokio::test]
async fn altered_and_misdirected_responses_are_refused_with_their_reason_and_sign_in_nobody() {
    let Some(saml) = Saml::configured(true, json!({})).await else {
        return;
    };
    let alice = json!({ "nameId": "alice@acme.test" });
    let with = |more: Value| {
        let mut person = alice.clone();
        person
            .as_object_mut()
            .unwrap()
            .extend(more.as_object().unwrap().clone());
        person
    };
    let made_wrong = [
        (
            with(json!({ "audience": "https://other.example/sp" })),
            "wrong_audience",
        ),
        (
            with(json!({ "destination": "https://other.example/acs" })),
            "wrong_destination",
        ),
        (
            with(json!({ "recipient": "https://other.example/acs" })),
            "wrong_recipient",
        ),
        (with(json!({ "expiresIn": -5 })), "expired"),
        (with(json!({ "notBeforeIn": 10 })), "not_yet_valid"),
    ];
    for (person, reason) in made_wrong {
        let (status, page) = refused(saml.sign_in(person).await).await;
        assert_eq!(status, 403, "{reason}: {page}");
        assert!(
            saml.refusals().await.last().is_some_and(|r| r == reason),
            "{reason}: {page}"
        );
    }
    let altered: [(&str, Alteration); 3] = [
        ("bad_signature", |xml| {
            // The signature taken away.
            let start = xml.find("<ds:Signature").unwrap();
            let end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
            format!("{}{}", &xml[..start], &xml[end..])
        }),
        ("malformed_response", |xml| {
            format!(
                "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}",
                xml.replace("alice@acme.test", "&x;")
            )
        }),
        ("malformed_response", |_| {
            "<!DOCTYPE l [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]><l>&b;</l>".to_owned()
        }),
    ];
    for (reason, alter) in altered {
        let browser = Acme::browser();
        let mut posted = saml.through_provider(&browser, alice.clone()).await;
        posted.response = b64(&alter(&unb64(&posted.response)));
        let (status, page) = refused(post(&browser, &posted).await).await;
        assert_eq!(status, 403, "{reason}: {page}");
        assert!(
            saml.refusals().await.last().is_some_and(|r| r == reason),
            "{reason}: {page}"
        );
    }
    // Signed by a key the connection does not trust (the provider's own page, another key).
    saml.idp
        .control(json!({ "key": keypair("other").0, "cert": keypair("other").1 }))
        .await;
    let (_, page) = refused(saml.sign_in(alice.clone()).await).await;
    assert!(page.contains("not signed by a certificate"), "{page}");
    assert_eq!(saml.sign_ins().await, 0);
    let reasons = saml.refusals().await;
    // Two bad signatures and two malformed Responses: one event per reason in its window.
    assert_eq!(reasons.len(), 7, "{reasons:?}");
}

#[tokio::test]
async fn a_response_answers_only_its_own_browser_and_signs_in_once() {
    let Some(saml) = Saml::configured(true, json!({})).await else {
        return;
    };
    let alice = json!({ "nameId": "alice@acme.test" });
    // Two browsers start sign-ins; the first's Response is brought by the second.
    let (first, second) = (Acme::browser(), Acme::browser());
    let first_posted = saml.through_provider(&first, alice.clone()).await;
    let second_posted = saml.through_provider(&second, alice.clone()).await;
    // With the second's RelayState, it answers another request.
    let mixed = Posted {
        relay_state: second_posted.relay_state.clone(),
        action: first_posted.action.clone(),
        response: first_posted.response.clone(),
    };
    let (status, page) = refused(post(&second, &mixed).await).await;
    assert_eq!(status, 403);
    assert!(page.contains("InResponseTo"), "{page}");
    // With its own RelayState, the second browser's cookie is not the one it was bound to.
    let (status, page) = refused(post(&second, &first_posted).await).await;
    assert_eq!(status, 400);
    assert!(page.contains("another browser"), "{page}");
    assert_eq!(saml.refusals().await, ["unknown_request"]);
    // A sign-in taken back once is gone: the same form again finds nothing.
    let browser = Acme::browser();
    let posted = saml.through_provider(&browser, alice.clone()).await;
    assert_eq!(post(&browser, &posted).await.status(), 303);
    let (status, page) = refused(post(&browser, &posted).await).await;
    assert_eq!(status, 400);
    assert!(page.contains("already used"), "{page}");
    // Without RelayState, a Response is unsolicited: refused, and nothing is recorded for it.
    let bare = Posted {
        relay_state: None,
        ..saml.through_provider(&browser, alice).await
    };
    let (status, page) = refused(post(&browser, &bare).await).await;
    assert_eq!(status, 403);
    assert!(page.contains("nobody started"), "{page}");
    // Hostile sizes and shapes are refused before anything is read.
    let acs = bare.action.clone();
    let huge = browser
        .post(&acs)
        .form(&[("SAMLResponse", "A".repeat(1 << 20))])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);
    let nul = browser
        .post(&acs)
        .form(&[("SAMLResponse", "PHg+\0"), ("RelayState", "\0")])
        .send()
        .await
        .unwrap();
    assert_eq!(nul.status(), 400);
    let foreign = browser
        .post(acs.replace(&saml.org.public_id, "ORG-NOSUCH"))
        .form(&[("SAMLResponse", "PHg+")])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 404);
    assert_eq!(saml.refusals().await, ["unknown_request"]);
    // One code was handed out (and not exchanged): nobody has a session.
    assert_eq!(saml.sign_ins().await, 0);
}

#[tokio::test]
async fn unsolicited_responses_need_the_connections_consent_and_sign_in_once_across_processes() {
    let Some(saml) = Saml::configured(true, json!({})).await else {
        return;
    };
    saml.idp
        .control(json!({ "nameId": "alice@acme.test" }))
        .await;
    let unsolicited = async |relay: &str| {
        let page = reqwest::get(format!(
            "{}/unsolicited?RelayState={}",
            saml.idp.base(),
            urlencoding(relay)
        ))
        .await
        .unwrap();
        read_form(&page.text().await.unwrap())
    };
    let landing = format!("{APP_ORIGIN}/from-the-portal");
    let browser = Acme::browser();
    let (status, page) = refused(post(&browser, &unsolicited(&landing).await).await).await;
    assert_eq!((status, page.contains("unknown")), (400, true), "{page}");

    let configured = saml
        .configure(true, json!({ "allowIdpInitiated": true }))
        .await;
    assert_eq!(
        configured["data"]["configureSamlSso"]["saml"]["allowIdpInitiated"],
        true
    );
    // Its RelayState must be a return URL on a configured origin.
    let (status, page) =
        refused(post(&browser, &unsolicited("https://evil.example/").await).await).await;
    assert_eq!(status, 400, "{page}");
    let posted = unsolicited(&landing).await;
    let answer = post(&browser, &posted).await;
    assert_eq!(answer.status(), 303);
    assert!(location(&answer).starts_with(&format!("{landing}?sso_code=")));
    // The same Response at another process of the deployment (same database, keys and public
    // URL): replayed.
    let settings = &saml.app.state.settings;
    let other = crate::helpers::start_process(
        &settings.data_dir,
        &settings.effective_database_url(),
        |more| more.sso = settings.sso.clone(),
    )
    .await
    .expect("a second process starts");
    let again = charter::services::identity::sso::saml::acs(
        &other.state,
        &saml.org.public_id,
        charter::services::identity::sso::saml::Posted {
            saml_response: Some(posted.response.clone()),
            relay_state: posted.relay_state.clone(),
        },
        None,
        &Default::default(),
    )
    .await
    .expect_err("a replay is refused");
    assert_eq!(again.status, 403);
    assert!(
        again.message.contains("already been used"),
        "{}",
        again.message
    );
    assert_eq!(saml.refusals().await, ["replayed"]);
    // A Response answering some browser's request is never taken as unsolicited.
    let answered = saml
        .through_provider(&browser, json!({ "nameId": "alice@acme.test" }))
        .await;
    let bare = Posted {
        relay_state: Some(landing.clone()),
        ..answered
    };
    let (status, _) = refused(post(&browser, &bare).await).await;
    assert_eq!(status, 403);
    assert_eq!(saml.refusals().await, ["replayed", "unsolicited"]);
    assert_eq!(saml.sign_ins().await, 0, "a code is not yet a session");
}

fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn the_provider_rotates_its_certificate_through_two_trusted_at_once() {
    let (old, new) = (keypair("idp-2026"), keypair("idp-2027"));
    let Some(saml) = Saml::start(&old).await else {
        return;
    };
    let by_hand = |certificates: Vec<&str>| {
        json!({
            "organizationId": org_id(&saml.org),
            "idpEntityId": IDP,
            "ssoUrl": saml.idp.sso,
            "certificates": certificates,
            "defaultRoleId": saml.role_id("standard_user"),
            "jitProvisioning": true,
        })
    };
    let configure = async |input: Value| {
        let body = saml
            .gql(
                "mutation($i: ConfigureSamlSsoInput!) { configureSamlSso(input: $i) { saml { certificates { fingerprint } } } }",
                json!({ "i": input }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        body["data"]["configureSamlSso"]["saml"]["certificates"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(configure(by_hand(vec![&old.1, &new.1])).await, 2);
    saml.code_for("alice@acme.test").await;
    saml.idp
        .control(json!({ "key": new.0, "cert": new.1 }))
        .await;
    saml.code_for("alice@acme.test").await;
    // The old certificate dropped: a Response it signs is refused.
    assert_eq!(configure(by_hand(vec![&new.1])).await, 1);
    saml.code_for("alice@acme.test").await;
    saml.idp
        .control(json!({ "key": old.0, "cert": old.1 }))
        .await;
    let (status, _) = refused(saml.sign_in(json!({ "nameId": "alice@acme.test" })).await).await;
    assert_eq!(status, 403);
    assert_eq!(saml.refusals().await, ["bad_signature"]);
}

#[tokio::test]
async fn enforced_saml_keeps_members_off_passwords_and_owners_keep_the_break_glass() {
    let key = keypair("idp");
    let Some(saml) = Saml::start(&key).await else {
        return;
    };
    let frank = saml.app.create_user("frank@acme.test").await;
    saml.app
        .add_member(&frank, &saml.org, "standard_user")
        .await;
    let configured = saml.configure(true, json!({ "enforced": true })).await;
    assert_eq!(configured["data"]["configureSamlSso"]["enforced"], true);
    let login = |email: &str| {
        saml.app.gql(
            None,
            "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
            json!({ "i": { "email": email, "password": PASSWORD, "organizationId": org_id(&saml.org) } }),
        )
    };
    let refused = login("frank@acme.test").await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    assert!(refused.to_string().contains("single sign-on"), "{refused}");
    let owner = login("owner@acme.test").await;
    assert!(owner["errors"].is_null(), "{owner}");
    let (code, linking) = saml.code_for("frank@acme.test").await;
    assert!(linking);
    assert!(saml.exchange(&code, Some(PASSWORD)).await["errors"].is_null());
}

#[tokio::test]
async fn a_real_browser_signs_in_through_a_saml_provider() {
    if let Err(missing) = crate::node::chromium() {
        crate::node::skip_or_fail(&missing);
        return;
    }
    let Some(saml) = Saml::configured(true, json!({})).await else {
        return;
    };
    saml.idp
        .control(json!({ "nameId": "grace@acme.test" }))
        .await;
    let landing = format!("{}/healthz", saml.app.address);
    let start = saml.start_url(&landing);
    let Some(run) = crate::node::run_script("sso-in-browser.mjs", &[&start, &landing, "-"]).await
    else {
        return;
    };
    assert!(run.success, "{}", run.output);
    let returned = run
        .output
        .lines()
        .find_map(|line| line.strip_prefix("returned "))
        .unwrap_or_else(|| panic!("{}", run.output));
    let code = url::Url::parse(returned)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "sso_code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let session = saml.exchange(&code, None).await;
    assert_eq!(
        session["data"]["exchangeSsoCode"]["user"]["email"], "grace@acme.test",
        "{session}"
    );
}
