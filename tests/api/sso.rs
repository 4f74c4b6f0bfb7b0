//! Single sign-on against a real OpenID provider (npm's `oidc-provider`, on loopback) and
//! domain verification through a real DNS server (dnsmasq, on loopback): the redirect dance
//! driven over HTTP with a cookie jar, and the refusals each check makes.

use charter::graphql::ids::NodeId;
use entity::{organization, user};
use serde_json::{Value, json};

use crate::dns::DnsServer;
use crate::helpers::{PASSWORD, TestApp, error_code, org_id};
use crate::provider::OidcProvider;

pub(crate) const CLIENT_ID: &str = "charter";
pub(crate) const CLIENT_SECRET: &str = "a-client-secret-for-tests";
pub(crate) const APP_ORIGIN: &str = "https://app.example.test";
pub(crate) const DOMAIN: &str = "acme.test";

/// A Charter server with an organization (Acme, owned by owner@acme.test) whose domain
/// `acme.test` is verified through DNS, and the DNS server: what single sign-on of either
/// protocol starts from.
pub struct Acme {
    pub app: TestApp,
    pub dns: DnsServer,
    pub org: organization::Model,
    pub owner: user::Model,
    pub owner_token: String,
}

/// [`Acme`] with a provider that knows the people of a test.
pub struct Sso {
    pub acme: Acme,
    pub provider: OidcProvider,
}

impl std::ops::Deref for Sso {
    type Target = Acme;
    fn deref(&self) -> &Acme {
        &self.acme
    }
}

impl std::ops::DerefMut for Sso {
    fn deref_mut(&mut self) -> &mut Acme {
        &mut self.acme
    }
}

/// A person at the provider: login, email, whether the provider verified the email.
type Account<'a> = (&'a str, &'a str, bool);

impl Sso {
    /// Everything up, the domain verified, single sign-on not yet configured. `None` when the
    /// provider or DNS server cannot run here (outside CI only).
    pub async fn start(accounts: &[Account<'_>], seats: Option<i32>) -> Option<Self> {
        Self::start_with(accounts, seats, &[], |_| {}).await
    }

    /// [`Self::start`] with the `amr` the provider claims of some logins, and more settings.
    pub async fn start_with(
        accounts: &[Account<'_>],
        seats: Option<i32>,
        amr: &[(&str, &[&str])],
        configure: impl FnOnce(&mut charter::config::Settings),
    ) -> Option<Self> {
        let acme = Acme::start(seats, configure).await?;
        let redirect = format!("{}/sso/callback", acme.app.address);
        let provider = OidcProvider::start_claiming(
            &[(CLIENT_ID, CLIENT_SECRET, redirect.as_str())],
            accounts,
            amr,
        )
        .await?;
        Some(Self { acme, provider })
    }
}

impl Acme {
    /// The server (allowed to reach loopback providers, returning to [`APP_ORIGIN`] and its own
    /// origin), Acme with `seats` when given, and its domain verified. `None` when the DNS
    /// server cannot run here (outside CI only).
    pub async fn start(
        seats: Option<i32>,
        configure: impl FnOnce(&mut charter::config::Settings),
    ) -> Option<Self> {
        let dns = DnsServer::start(&[])?;
        let dns_address = dns.address;
        let app = TestApp::spawn_with(move |settings| {
            settings.sso.allow_insecure_issuers = true;
            settings.outbound.allow = vec!["127.0.0.0/8".parse().unwrap()];
            // The application's origin, and Charter's own for the browser test's landing page.
            let own = settings.sso.public_url.clone().unwrap();
            settings.sso.return_origins = vec![APP_ORIGIN.to_owned(), own];
            settings.sso.dns_server = Some(dns_address);
            configure(settings);
        })
        .await;
        let owner = app.create_user("owner@acme.test").await;
        let org = app.create_org(&owner, "Acme").await;
        if let Some(seats) = seats {
            charter::services::organization::organizations::change_license(
                &app.state,
                &charter::services::audit::Actor::command_line(),
                org.id,
                charter::services::organization::organizations::LicenseChange {
                    seats: Some(seats),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        }
        let owner_token = app.login(&owner.email).await.access_token;
        let mut acme = Self {
            app,
            dns,
            org,
            owner,
            owner_token,
        };
        acme.verify_domain(DOMAIN).await;
        Some(acme)
    }

    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.app
            .gql(Some(&self.owner_token), query, variables)
            .await
    }

    /// Claims `domain`, publishes its challenge in DNS and verifies it.
    pub async fn verify_domain(&mut self, domain: &str) -> String {
        let added = self
            .gql(
                "mutation($o: ID!, $d: String!) { addOrganizationDomain(organizationId: $o, domain: $d) { id domain verified txtRecordName txtRecordValue } }",
                json!({ "o": org_id(&self.org), "d": domain }),
            )
            .await;
        let domain_row = &added["data"]["addOrganizationDomain"];
        assert_eq!(domain_row["verified"], false, "{added}");
        assert_eq!(
            domain_row["txtRecordName"],
            format!("_charter-challenge.{domain}")
        );
        let name = domain_row["txtRecordName"].as_str().unwrap().to_owned();
        let value = domain_row["txtRecordValue"].as_str().unwrap().to_owned();
        self.dns.set_records(&[(name.as_str(), value.as_str())]);
        let id = domain_row["id"].as_str().unwrap().to_owned();
        let verified = self
            .gql(
                "mutation($id: ID!) { verifyOrganizationDomain(id: $id) { verified verifiedAt } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(
            verified["data"]["verifyOrganizationDomain"]["verified"], true,
            "{verified}"
        );
        id
    }

    /// The role `key` of Acme, as an id.
    pub fn role_id(&self, key: &str) -> String {
        let role = self.app.state.policy.role_by_key(key).unwrap();
        NodeId::Role {
            organization: self.org.id,
            role: role.id,
        }
        .to_id()
        .0
    }

    /// A browser of its own: a cookie jar, and redirects seen one at a time.
    pub fn browser() -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// The start URL of Acme's single sign-on returning to `return_to`.
    pub fn start_url(&self, return_to: &str) -> String {
        let mut url = url::Url::parse(&format!(
            "{}/sso/{}/start",
            self.app.address, self.org.public_id
        ))
        .unwrap();
        url.query_pairs_mut().append_pair("return_to", return_to);
        url.to_string()
    }

    /// Starts a sign-in in `browser` that returns to the application: where Charter sends the
    /// browser.
    pub async fn started(&self, browser: &reqwest::Client) -> String {
        let started = browser
            .get(self.start_url(&format!("{APP_ORIGIN}/signed-in")))
            .send()
            .await
            .unwrap();
        assert_eq!(started.status(), 303, "{:?}", started.text().await);
        location(&started)
    }

    /// The actions of Acme's audit log, oldest first.
    pub async fn actions(&self) -> Vec<String> {
        self.events()
            .await
            .into_iter()
            .map(|event| event.action)
            .collect()
    }

    /// Acme's audit events, oldest first.
    pub async fn events(&self) -> Vec<entity::audit_event::Model> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        entity::audit_event::Entity::find()
            .filter(entity::audit_event::Column::OrganizationId.eq(self.org.id))
            .order_by_asc(entity::audit_event::Column::At)
            .order_by_asc(entity::audit_event::Column::Seq)
            .all(self.app.state.database())
            .await
            .unwrap()
    }
}

impl Sso {
    /// Configures single sign-on with the provider: `standard_user` for new members.
    pub async fn configure(&self, jit: bool, enforced: bool) -> Value {
        let role = self.role_id("standard_user");
        self.gql(
            "mutation($i: ConfigureSsoInput!) { configureSso(input: $i) { protocol issuer clientId enabled enforced jitProvisioning defaultRole { key } startUrl domains { domain verified verifiedAt } } }",
            json!({ "i": {
                "organizationId": org_id(&self.org),
                "issuer": self.provider.issuer,
                "clientId": CLIENT_ID,
                "clientSecret": CLIENT_SECRET,
                "defaultRoleId": role,
                "jitProvisioning": jit,
                "enforced": enforced,
            } }),
        )
        .await
    }

    /// Starts a sign-in in `browser` and walks it through the provider as `login`: the URL
    /// of Charter's callback the provider sends the browser to.
    pub async fn through_provider(&self, browser: &reqwest::Client, login: &str) -> String {
        let authorize = self.started(browser).await;
        assert!(
            authorize.starts_with(&self.provider.issuer),
            "start sends the browser to the provider: {authorize}"
        );
        let url = url::Url::parse(&authorize).unwrap();
        let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(query["code_challenge_method"], "S256");
        assert!(query.contains_key("state") && query.contains_key("nonce"));
        self.provider.sign_in(browser, &authorize, login).await
    }

    /// A whole sign-in as `login`: Charter's answer to the callback.
    pub async fn sign_in(&self, login: &str) -> reqwest::Response {
        let browser = Acme::browser();
        let callback = self.through_provider(&browser, login).await;
        browser.get(callback).send().await.unwrap()
    }

    /// A sign-in as `login` that must succeed: the one-time code handed to the application.
    pub async fn code_for(&self, login: &str) -> String {
        let answer = self.sign_in(login).await;
        assert_eq!(answer.status(), 303, "{:?}", answer.text().await);
        let back = location(&answer);
        assert!(
            back.starts_with(&format!("{APP_ORIGIN}/signed-in?")),
            "{back}"
        );
        let url = url::Url::parse(&back).unwrap();
        let code = url
            .query_pairs()
            .find(|(key, _)| key == "sso_code")
            .map(|(_, value)| value.into_owned())
            .expect("a code in the return URL");
        // A JWT starts `eyJ`; the random code may hold those letters anywhere else.
        assert!(
            url.query_pairs()
                .all(|(_, value)| !value.starts_with("eyJ")),
            "no token travels in the URL: {back}"
        );
        code
    }

    pub async fn exchange(&self, code: &str) -> Value {
        self.app
            .gql(
                None,
                "mutation($c: String!) { exchangeSsoCode(code: $c) { accessToken refreshToken user { email } organization { name } } }",
                json!({ "c": code }),
            )
            .await
    }

    /// [`Self::exchange`] for an existing account whose link its password confirms.
    pub async fn exchange_with_password(&self, code: &str, password: &str) -> Value {
        self.app
            .gql(
                None,
                "mutation($c: String!, $p: String) { exchangeSsoCode(code: $c, password: $p) { accessToken refreshToken user { email } organization { name } mfaChallenge { token } } }",
                json!({ "c": code, "p": password }),
            )
            .await
    }
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The claims of a JWT, unverified (Charter's own tokens are verified by the server itself).
pub(crate) fn claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn refused_page(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status(), status);
    assert!(
        location(&response).is_empty(),
        "a refusal redirects nowhere"
    );
    response.text().await.unwrap()
}

#[tokio::test]
async fn a_new_person_from_a_verified_domain_joins_just_in_time_and_signs_in() {
    let Some(sso) = Sso::start(&[("alice", "alice@acme.test", true)], None).await else {
        return;
    };
    let configured = sso.configure(true, false).await;
    let connection = &configured["data"]["configureSso"];
    assert_eq!(connection["protocol"], "OIDC", "{configured}");
    assert_eq!(connection["issuer"], sso.provider.issuer);
    assert_eq!(connection["enabled"], true);
    assert_eq!(connection["defaultRole"]["key"], "standard_user");
    assert_eq!(connection["domains"][0]["domain"], DOMAIN);
    assert_eq!(connection["domains"][0]["verified"], true);

    let code = sso.code_for("alice").await;
    let body = sso.exchange(&code).await;
    let payload = &body["data"]["exchangeSsoCode"];
    assert_eq!(payload["user"]["email"], "alice@acme.test", "{body}");
    assert_eq!(payload["organization"]["name"], "Acme");
    let access = payload["accessToken"].as_str().unwrap();
    let token = claims(access);
    assert_eq!(token["amr"], json!(["sso"]));
    assert_eq!(token["idp"], sso.provider.issuer);
    assert_eq!(token["org"], sso.org.id.to_string());

    // A Charter session like any other: the viewer, with the standard role; refresh rotates.
    let viewer = sso
        .app
        .gql(
            Some(access),
            "{ viewer { user { email } activeOrganization { name } memberships { edges { node { role { key } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        viewer["data"]["viewer"]["user"]["email"], "alice@acme.test",
        "{viewer}"
    );
    assert_eq!(
        viewer["data"]["viewer"]["activeOrganization"]["name"],
        "Acme"
    );
    assert_eq!(
        viewer["data"]["viewer"]["memberships"]["edges"][0]["node"]["role"]["key"],
        "standard_user"
    );
    let refreshed = sso
        .app
        .gql(
            None,
            "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }",
            json!({ "t": payload["refreshToken"] }),
        )
        .await;
    let again = refreshed["data"]["refreshSession"]["accessToken"].as_str();
    assert_eq!(
        claims(again.expect("refreshed")).get("amr"),
        Some(&json!(["sso"]))
    );

    // The code works once.
    assert_eq!(error_code(&sso.exchange(&code).await), "UNAUTHENTICATED");

    // The second sign-in finds the person by the provider's subject: no second account.
    let second = sso.exchange(&sso.code_for("alice").await).await;
    assert_eq!(
        second["data"]["exchangeSsoCode"]["user"]["email"],
        "alice@acme.test"
    );
    let actions = sso.actions().await;
    for action in [
        "domain.added",
        "domain.verified",
        "sso.configured",
        "sso.member_provisioned",
    ] {
        assert_eq!(
            actions.iter().filter(|a| *a == action).count(),
            1,
            "{action}: {actions:?}"
        );
    }
    assert_eq!(
        actions.iter().filter(|a| *a == "sso.sign_in").count(),
        2,
        "{actions:?}"
    );
    // No secret anywhere in the log.
    let log = serde_json::to_string(&{
        use sea_orm::EntityTrait;
        entity::audit_event::Entity::find()
            .all(sso.app.state.database())
            .await
            .unwrap()
            .into_iter()
            .map(|event| format!("{} {}", event.description, event.payload))
            .collect::<Vec<_>>()
    })
    .unwrap();
    assert!(!log.contains(CLIENT_SECRET));
    assert!(!log.contains(&code));
}

#[tokio::test]
async fn without_jit_a_person_with_no_membership_is_refused() {
    let Some(sso) = Sso::start(&[("dave", "dave@acme.test", true)], None).await else {
        return;
    };
    sso.configure(false, false).await;
    let page = refused_page(sso.sign_in("dave").await, 403).await;
    // The page names no organization: the person has not proved they may know it.
    assert!(page.contains("not a member of this organization"), "{page}");
    assert!(!page.contains("Acme"), "{page}");
    assert!(
        sso.actions()
            .await
            .contains(&"sso.sign_in_refused".to_owned())
    );
    // An existing member signs in without JIT, confirming the link with his password.
    let dave = sso.app.create_user("dave@acme.test").await;
    sso.app.add_member(&dave, &sso.org, "standard_user").await;
    let body = sso
        .exchange_with_password(&sso.code_for("dave").await, PASSWORD)
        .await;
    assert_eq!(
        body["data"]["exchangeSsoCode"]["user"]["email"], "dave@acme.test",
        "{body}"
    );
}

#[tokio::test]
async fn an_unverified_email_or_a_foreign_domain_never_names_an_account() {
    let Some(sso) = Sso::start(
        &[
            ("mallory", "owner@acme.test", false),
            ("bob", "bob@other.test", true),
        ],
        None,
    )
    .await
    else {
        return;
    };
    sso.configure(true, false).await;
    // The provider says the owner's email but has not verified it: an account takeover if
    // believed.
    let page = refused_page(sso.sign_in("mallory").await, 403).await;
    assert!(page.contains("has not verified"), "{page}");
    let page = refused_page(sso.sign_in("bob").await, 403).await;
    assert!(
        page.contains("is not a verified domain of this organization"),
        "{page}"
    );
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(
        entity::sso_identity::Entity::find()
            .count(sso.app.state.database())
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn a_forged_or_replayed_callback_and_a_wrong_nonce_are_refused() {
    let Some(sso) = Sso::start(&[("alice", "alice@acme.test", true)], None).await else {
        return;
    };
    sso.configure(true, false).await;

    // A state Charter did not issue.
    let browser = Acme::browser();
    let callback = sso.through_provider(&browser, "alice").await;
    let mut forged = url::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = forged
        .query_pairs()
        .map(|(k, v)| {
            let value = if k == "state" {
                "forged".to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), value)
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    let page = refused_page(browser.get(forged).send().await.unwrap(), 400).await;
    assert!(page.contains("unknown, already used or expired"), "{page}");

    // The genuine callback, in another browser (no binding cookie): refused, and used up.
    let page = refused_page(Acme::browser().get(&callback).send().await.unwrap(), 400).await;
    assert!(page.contains("another browser"), "{page}");
    let replay = browser.get(&callback).send().await.unwrap();
    refused_page(replay, 400).await;

    // A callback taken once, then replayed.
    let browser = Acme::browser();
    let callback = sso.through_provider(&browser, "alice").await;
    assert_eq!(browser.get(&callback).send().await.unwrap().status(), 303);
    let page = refused_page(browser.get(&callback).send().await.unwrap(), 400).await;
    assert!(page.contains("already used"), "{page}");

    // The provider sends an error back (the person declined): a page that says so, with the
    // provider's words made printable.
    let browser = Acme::browser();
    let started = browser
        .get(sso.start_url(&format!("{APP_ORIGIN}/signed-in")))
        .send()
        .await
        .unwrap();
    let authorize = url::Url::parse(&location(&started)).unwrap();
    let state = authorize
        .query_pairs()
        .find(|(key, _)| key == "state")
        .map(|(_, value)| value.into_owned())
        .unwrap();
    let mut declined = url::Url::parse(&format!("{}/sso/callback", sso.app.address)).unwrap();
    declined
        .query_pairs_mut()
        .append_pair("state", &state)
        .append_pair("error", "access_denied")
        .append_pair("error_description", "declined\u{0}<script>");
    let page = refused_page(browser.get(declined).send().await.unwrap(), 403).await;
    // The provider's error code, one OAuth defines; never the description its sender chose.
    assert!(page.contains("(access_denied)"), "{page}");
    assert!(!page.contains("declined"), "{page}");

    // The provider answers with an ID token for another nonce.
    sso.provider.set_mode(json!({ "nonce": "tamper" })).await;
    let page = refused_page(sso.sign_in("alice").await, 403).await;
    assert!(page.contains("nonce"), "{page}");
}

#[tokio::test]
async fn an_id_token_signed_by_a_key_the_provider_does_not_publish_is_refused() {
    let Some(sso) = Sso::start(&[("alice", "alice@acme.test", true)], None).await else {
        return;
    };
    // The provider publishes keys other than the one it signs with, at configuration and
    // after (Charter fetches the keys again before refusing).
    sso.provider.set_mode(json!({ "jwks": "foreign" })).await;
    sso.configure(true, false).await;
    let page = refused_page(sso.sign_in("alice").await, 403).await;
    assert!(page.contains("not signed by a key"), "{page}");
    // Once the provider publishes its key, the fresh fetch lets the sign-in through.
    sso.provider.set_mode(json!({ "jwks": "normal" })).await;
    assert!(!sso.code_for("alice").await.is_empty());
}

#[tokio::test]
async fn an_expired_code_is_refused_and_return_to_must_be_a_configured_origin() {
    let Some(sso) = Sso::start(&[("alice", "alice@acme.test", true)], None).await else {
        return;
    };
    sso.configure(true, false).await;
    let code = sso.code_for("alice").await;
    {
        use sea_orm::{ConnectionTrait, Statement};
        let past = chrono::Utc::now() - chrono::Duration::seconds(61);
        let backend = sso.app.state.database().get_database_backend();
        let sql = match backend {
            sea_orm::DatabaseBackend::Postgres => "UPDATE sso_codes SET expires_at = $1",
            _ => "UPDATE sso_codes SET expires_at = ?",
        };
        sso.app
            .state
            .database()
            .execute_raw(Statement::from_sql_and_values(backend, sql, [past.into()]))
            .await
            .unwrap();
    }
    assert_eq!(error_code(&sso.exchange(&code).await), "UNAUTHENTICATED");

    for return_to in [
        "https://evil.example/steal",
        "https://app.example.test.evil.example/",
        "//evil.example/",
        "javascript:alert(1)",
        "https://user@app.example.test/",
    ] {
        let answer = Acme::browser()
            .get(sso.start_url(return_to))
            .send()
            .await
            .unwrap();
        let page = refused_page(answer, 400).await;
        assert!(page.contains("return_to"), "{return_to}: {page}");
    }
    let missing = Acme::browser()
        .get(format!(
            "{}/sso/{}/start",
            sso.app.address, sso.org.public_id
        ))
        .send()
        .await
        .unwrap();
    refused_page(missing, 400).await;
    // A NUL byte and a long value in return_to, 60 KB of state (near the longest URI a client
    // sends): refused, never a 500.
    let long = format!("{APP_ORIGIN}/{}", "a".repeat(4096));
    for return_to in [format!("{APP_ORIGIN}/a\u{0}b"), long] {
        let answer = Acme::browser()
            .get(sso.start_url(&return_to))
            .send()
            .await
            .unwrap();
        refused_page(answer, 400).await;
    }
    let huge = Acme::browser()
        .get(format!(
            "{}/sso/callback?state={}&code=x",
            sso.app.address,
            "s".repeat(60_000)
        ))
        .send()
        .await
        .unwrap();
    assert!(huge.status().is_client_error(), "{}", huge.status());

    // A burst of exchanges of one code: one session, every other answer the same refusal.
    let code = sso.code_for("alice").await;
    let burst = (0..10).map(|_| sso.exchange(&code));
    let answers = futures_util::future::join_all(burst).await;
    let opened = answers
        .iter()
        .filter(|body| body["data"]["exchangeSsoCode"]["accessToken"].is_string())
        .count();
    assert_eq!(opened, 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .filter(|body| body["errors"].is_array())
            .all(|body| error_code(body) == "UNAUTHENTICATED")
    );
}

#[tokio::test]
async fn a_disabled_user_and_a_full_organization_get_a_page_that_says_why() {
    let Some(sso) = Sso::start(
        &[
            ("erin", "erin@acme.test", true),
            ("frank", "frank@acme.test", true),
        ],
        Some(1),
    )
    .await
    else {
        return;
    };
    sso.configure(true, false).await;
    // The owner holds the one seat: JIT cannot add a licensed member.
    let page = refused_page(sso.sign_in("frank").await, 403).await;
    assert!(page.contains("no free seat"), "{page}");

    let erin = sso.app.create_user("erin@acme.test").await;
    sso.app.add_member(&erin, &sso.org, "read_only_user").await;
    charter::services::identity::users::set_disabled(
        &sso.app.state,
        &charter::services::audit::Actor::command_line(),
        &charter::domain::Email::parse("email", &erin.email).unwrap(),
        true,
    )
    .await
    .unwrap();
    let page = refused_page(sso.sign_in("erin").await, 403).await;
    assert!(page.contains("disabled"), "{page}");
}

#[tokio::test]
async fn enforcement_keeps_covered_members_off_passwords_but_owners_keep_the_break_glass() {
    let Some(sso) = Sso::start(&[("carol", "carol@acme.test", true)], None).await else {
        return;
    };
    let carol = sso.app.create_user("carol@acme.test").await;
    sso.app.add_member(&carol, &sso.org, "standard_user").await;
    let other = sso.app.create_org(&carol, "Carol's own").await;
    // A password session in Acme, opened before enforcement.
    let before = sso
        .app
        .login_to(&carol.email, Some(&org_id(&sso.org)))
        .await;
    sso.configure(false, true).await;

    let login = |org: Option<String>| {
        let app = &sso.app;
        async move {
            app.gql(
                None,
                "mutation($i: LoginInput!) { login(input: $i) { accessToken organization { name } } }",
                json!({ "i": { "email": "carol@acme.test", "password": PASSWORD, "organizationId": org } }),
            )
            .await
        }
    };
    let refused = login(Some(org_id(&sso.org))).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    assert!(refused.to_string().contains("Acme requires single sign-on"));
    // A sign-in that names no organization lands outside Acme.
    let elsewhere = login(None).await;
    assert_eq!(
        elsewhere["data"]["login"]["organization"]["name"], "Carol's own",
        "{elsewhere}"
    );
    // Switching in from a password session, and refreshing the old one, are refused too.
    let token = elsewhere["data"]["login"]["accessToken"].as_str().unwrap();
    let switched = sso
        .app
        .gql(
            Some(token),
            "mutation($o: ID!) { switchOrganization(organizationId: $o) { accessToken } }",
            json!({ "o": org_id(&sso.org) }),
        )
        .await;
    assert_eq!(error_code(&switched), "FORBIDDEN", "{switched}");
    let refreshed = sso
        .app
        .gql(
            None,
            "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }",
            json!({ "t": before.refresh_token }),
        )
        .await;
    assert_eq!(error_code(&refreshed), "UNAUTHENTICATED", "{refreshed}");
    let _ = other;

    // Single sign-on lets Carol in: her existing account's link confirmed once with her
    // password, then by the provider alone.
    let body = sso
        .exchange_with_password(&sso.code_for("carol").await, PASSWORD)
        .await;
    let access = body["data"]["exchangeSsoCode"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    assert_eq!(claims(&access)["amr"], json!(["sso", "pwd"]));
    let body = sso.exchange(&sso.code_for("carol").await).await;
    let access = body["data"]["exchangeSsoCode"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    assert_eq!(claims(&access)["amr"], json!(["sso"]));

    // The owner keeps a password: audited.
    let owner = sso
        .app
        .login_to(&sso.owner.email, Some(&org_id(&sso.org)))
        .await;
    assert!(!owner.access_token.is_empty());
    let actions = sso.actions().await;
    assert!(
        actions.contains(&"sso.break_glass_used".to_owned()),
        "{actions:?}"
    );
    assert!(
        actions
            .iter()
            .filter(|a| *a == "sso.password_refused")
            .count()
            >= 3,
        "{actions:?}"
    );

    // Disabling single sign-on lifts enforcement.
    let disabled = sso
        .gql(
            "mutation($o: ID!) { disableSso(organizationId: $o) { enabled enforced } }",
            json!({ "o": org_id(&sso.org) }),
        )
        .await;
    assert_eq!(
        disabled["data"]["disableSso"]["enforced"], false,
        "{disabled}"
    );
    let allowed = login(Some(org_id(&sso.org))).await;
    assert_eq!(
        allowed["data"]["login"]["organization"]["name"], "Acme",
        "{allowed}"
    );
}

/// Accepting an invitation signs in with a password, through the same door as `login`: where
/// single sign-on is enforced over the person, the acceptance makes the membership but opens no
/// password session in the organization; its provider does.
#[tokio::test]
async fn accepting_an_invitation_is_a_password_way_in_that_enforcement_refuses() {
    let Some(sso) = Sso::start(&[("dave", "dave@acme.test", true)], None).await else {
        return;
    };
    sso.configure(false, true).await;
    let role = NodeId::Role {
        organization: sso.org.id,
        role: sso
            .app
            .state
            .policy
            .role_by_key("standard_user")
            .unwrap()
            .id,
    }
    .to_id()
    .0;
    let invited = sso
        .gql(
            "mutation($o: ID!, $r: ID!) { inviteMember(input: {organizationId: $o, email: \"dave@acme.test\", roleId: $r}) { id } }",
            json!({ "o": org_id(&sso.org), "r": role }),
        )
        .await;
    assert!(invited["errors"].is_null(), "{invited}");
    let accepted = sso
        .app
        .gql(
            None,
            "mutation($t: String!, $p: String) { acceptInvitation(input: {token: $t, displayName: \"Dave\", password: $p}) { accessToken } }",
            json!({ "t": sso.app.invitation_token("dave@acme.test"), "p": PASSWORD }),
        )
        .await;
    assert_eq!(error_code(&accepted), "FORBIDDEN", "{accepted}");
    assert!(
        accepted
            .to_string()
            .contains("Acme requires single sign-on")
    );
    assert!(accepted["data"].is_null(), "{accepted}");
    assert!(
        sso.actions()
            .await
            .contains(&"sso.password_refused".to_owned())
    );
    // The membership was made; the provider signs Dave in to it.
    let body = sso
        .exchange_with_password(&sso.code_for("dave").await, PASSWORD)
        .await;
    let access = body["data"]["exchangeSsoCode"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(claims(access)["org"], json!(sso.org.id.to_string()));
}

#[tokio::test]
async fn giving_the_domain_up_lifts_enforcement() {
    let Some(mut sso) = Sso::start(&[], None).await else {
        return;
    };
    let carol = sso.app.create_user("carol@acme.test").await;
    sso.app.add_member(&carol, &sso.org, "standard_user").await;
    sso.configure(false, true).await;
    let org = org_id(&sso.org);
    let refused = sso
        .app
        .gql(
            None,
            "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
            json!({ "i": { "email": carol.email, "password": PASSWORD, "organizationId": org } }),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    let read = sso
        .gql(
            "query($o: ID!) { organization(id: $o) { sso { domains { domain } } } }",
            json!({ "o": org }),
        )
        .await;
    assert_eq!(
        read["data"]["organization"]["sso"]["domains"][0]["domain"],
        DOMAIN
    );
    // The id of the acme.test claim.
    use sea_orm::EntityTrait;
    let claim = entity::organization_domain::Entity::find()
        .one(sso.app.state.database())
        .await
        .unwrap()
        .unwrap();
    let removed = sso
        .gql(
            "mutation($id: ID!) { removeOrganizationDomain(id: $id) }",
            json!({ "id": NodeId::OrganizationDomain(claim.id).to_id().0 }),
        )
        .await;
    assert_eq!(
        removed["data"]["removeOrganizationDomain"], true,
        "{removed}"
    );
    sso.app.login_to(&carol.email, Some(&org)).await;
    // Another domain, proved again.
    sso.verify_domain("acme-two.test").await;
}

#[tokio::test]
async fn a_domain_is_verified_only_by_its_dns_record_and_by_one_organization() {
    let Some(mut sso) = Sso::start(&[], None).await else {
        return;
    };
    let org = org_id(&sso.org);
    let added = sso
        .gql(
            "mutation($o: ID!) { addOrganizationDomain(organizationId: $o, domain: \"Example-Corp.TEST\") { id domain txtRecordValue } }",
            json!({ "o": org }),
        )
        .await;
    let row = &added["data"]["addOrganizationDomain"];
    assert_eq!(row["domain"], "example-corp.test", "{added}");
    let id = row["id"].as_str().unwrap().to_owned();
    // No record, then a record with another value: not verified, and the answer says what to
    // publish.
    sso.dns.set_records(&[]);
    let verify = "mutation($id: ID!) { verifyOrganizationDomain(id: $id) { verified } }";
    let none = sso.gql(verify, json!({ "id": id })).await;
    assert_eq!(error_code(&none), "INVALID_INPUT", "{none}");
    assert!(none.to_string().contains("no TXT record"), "{none}");
    sso.dns.set_records(&[(
        "_charter-challenge.example-corp.test",
        "charter-domain-verification=wrong",
    )]);
    let wrong = sso.gql(verify, json!({ "id": id })).await;
    assert!(
        wrong.to_string().contains("none with the challenge"),
        "{wrong}"
    );

    // Another organization cannot verify acme.test while Acme holds it.
    let rival_owner = sso.app.create_user("rival@rival.test").await;
    let rival = sso.app.create_org(&rival_owner, "Rival").await;
    let rival_token = sso.app.login(&rival_owner.email).await.access_token;
    let claimed = sso
        .app
        .gql(
            Some(&rival_token),
            "mutation($o: ID!) { addOrganizationDomain(organizationId: $o, domain: \"acme.test\") { id txtRecordName txtRecordValue } }",
            json!({ "o": org_id(&rival) }),
        )
        .await;
    let row = &claimed["data"]["addOrganizationDomain"];
    sso.dns.set_records(&[(
        row["txtRecordName"].as_str().unwrap(),
        row["txtRecordValue"].as_str().unwrap(),
    )]);
    let conflict = sso
        .app
        .gql(Some(&rival_token), verify, json!({ "id": row["id"] }))
        .await;
    assert_eq!(error_code(&conflict), "CONFLICT", "{conflict}");
    // Nor touch Acme's claims: another organization's domain is not found.
    let foreign = sso
        .app
        .gql(Some(&rival_token), verify, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&foreign), "NOT_FOUND", "{foreign}");

    // Hostile domains.
    for domain in [
        "localhost",
        "http://acme.test/",
        "a\u{0}b.test",
        "192.0.2.1",
        "x@acme.test",
    ] {
        let body = sso
            .gql(
                "mutation($o: ID!, $d: String!) { addOrganizationDomain(organizationId: $o, domain: $d) { id } }",
                json!({ "o": org, "d": domain }),
            )
            .await;
        assert_eq!(error_code(&body), "INVALID_INPUT", "{domain:?}: {body}");
    }
    let huge = "a".repeat(1 << 20);
    let body = sso
        .gql(
            "mutation($o: ID!, $d: String!) { addOrganizationDomain(organizationId: $o, domain: $d) { id } }",
            json!({ "o": org, "d": huge }),
        )
        .await;
    assert_eq!(error_code(&body), "INVALID_INPUT");
    let _ = sso.verify_domain("third.test").await;
}

#[tokio::test]
async fn home_realm_discovery_answers_by_domain_alone() {
    let Some(sso) = Sso::start(&[], None).await else {
        return;
    };
    let ask = |email: &str| {
        let app = &sso.app;
        let email = email.to_owned();
        async move {
            app.gql(
                None,
                "query($e: String!) { ssoSignIn(email: $e) }",
                json!({ "e": email }),
            )
            .await["data"]["ssoSignIn"]
                .clone()
        }
    };
    // Not configured yet: nothing.
    assert_eq!(ask("owner@acme.test").await, Value::Null);
    sso.configure(false, false).await;
    let start = format!("{}/sso/{}/start", sso.app.address, sso.org.public_id);
    // An account and no account answer alike.
    assert_eq!(ask("owner@acme.test").await, start);
    assert_eq!(ask("nobody-here@ACME.test").await, start);
    assert_eq!(ask("someone@other.test").await, Value::Null);
    assert_eq!(ask("not an email").await, Value::Null);
}

#[tokio::test]
async fn configuration_checks_the_issuer_and_never_shows_or_stores_the_secret_in_clear() {
    let Some(sso) = Sso::start(&[], None).await else {
        return;
    };
    let configure = |issuer: String, secret: Option<&str>| {
        let sso = &sso;
        let secret = secret.map(str::to_owned);
        async move {
            sso.gql(
                "mutation($i: ConfigureSsoInput!) { configureSso(input: $i) { issuer } }",
                json!({ "i": {
                    "organizationId": org_id(&sso.org),
                    "issuer": issuer,
                    "clientId": CLIENT_ID,
                    "clientSecret": secret,
                } }),
            )
            .await
        }
    };
    // Nothing answers; Charter itself, which is no OpenID provider; a URL with credentials.
    for issuer in [
        "http://127.0.0.1:9".to_owned(),
        sso.app.address.clone(),
        "http://user:pw@127.0.0.1:9".to_owned(),
        "not a url".to_owned(),
    ] {
        let body = configure(issuer.clone(), Some(CLIENT_SECRET)).await;
        assert_eq!(error_code(&body), "INVALID_INPUT", "{issuer}: {body}");
    }
    // First configuration needs a secret.
    let body = configure(sso.provider.issuer.clone(), None).await;
    assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");
    let body = configure(sso.provider.issuer.clone(), Some(CLIENT_SECRET)).await;
    assert_eq!(
        body["data"]["configureSso"]["issuer"], sso.provider.issuer,
        "{body}"
    );
    // Reconfiguring without a secret keeps it.
    let body = configure(sso.provider.issuer.clone(), None).await;
    assert!(body["errors"].is_null(), "{body}");
    use sea_orm::EntityTrait;
    let row = entity::sso_connection::Entity::find()
        .one(sso.app.state.database())
        .await
        .unwrap()
        .unwrap();
    let sealed = row.client_secret_sealed.unwrap();
    assert!(!sealed.contains(CLIENT_SECRET));
    assert_eq!(
        sso.app
            .state
            .secrets
            .open(sso.org.id.as_bytes(), &sealed)
            .unwrap(),
        CLIENT_SECRET
    );
    // The schema has no field that could return it.
    let sdl = charter::graphql::build_schema(sso.app.state.clone()).sdl();
    let connection_type = sdl
        .split("type SsoConnection {")
        .nth(1)
        .and_then(|rest| rest.split('}').next())
        .expect("the SsoConnection type");
    assert!(connection_type.contains("clientId"));
    assert!(!connection_type.to_lowercase().contains("secret"));
}

#[tokio::test]
async fn an_https_issuer_is_required_unless_the_settings_allow_http() {
    let app = TestApp::spawn().await;
    let owner = app.create_user("owner@acme.test").await;
    let org = app.create_org(&owner, "Acme").await;
    let token = app.login(&owner.email).await.access_token;
    let body = app
        .gql(
            Some(&token),
            "mutation($i: ConfigureSsoInput!) { configureSso(input: $i) { issuer } }",
            json!({ "i": {
                "organizationId": org_id(&org),
                "issuer": "http://127.0.0.1:9",
                "clientId": "x",
                "clientSecret": "y",
            } }),
        )
        .await;
    assert_eq!(error_code(&body), "INVALID_INPUT");
    assert!(body.to_string().contains("must be an https URL"), "{body}");
}

#[tokio::test]
async fn a_real_browser_signs_in_through_the_provider() {
    if let Err(missing) = crate::node::chromium() {
        crate::node::skip_or_fail(&missing);
        return;
    }
    let Some(sso) = Sso::start(&[("grace", "grace@acme.test", true)], None).await else {
        return;
    };
    sso.configure(true, false).await;
    // The browser lands on a page of Charter's own (an allowed return origin).
    let landing = format!("{}/healthz", sso.app.address);
    let start = sso.start_url(&landing);
    let Some(run) =
        crate::node::run_script("sso-in-browser.mjs", &[&start, &landing, "grace"]).await
    else {
        return;
    };
    println!("{}", run.output);
    assert!(run.success, "single sign-on in Chromium:\n{}", run.output);
    assert!(run.output.contains("login page at") && run.output.contains("consent page at"));
    let returned = run
        .output
        .lines()
        .find_map(|line| line.strip_prefix("returned "))
        .expect("the URL the browser came back to");
    let code = url::Url::parse(returned)
        .unwrap()
        .query_pairs()
        .find(|(key, _)| key == "sso_code")
        .map(|(_, value)| value.into_owned())
        .expect("the one-time code");
    let body = sso.exchange(&code).await;
    assert_eq!(
        body["data"]["exchangeSsoCode"]["user"]["email"], "grace@acme.test",
        "{body}"
    );
}

#[tokio::test]
async fn a_person_with_a_second_factor_answers_its_challenge_after_single_sign_on() {
    let Some(sso) = Sso::start(&[("alice", "alice@acme.test", true)], None).await else {
        return;
    };
    sso.configure(true, false).await;
    // Alice signs in once, and enrolls an authenticator app.
    let first = sso.exchange(&sso.code_for("alice").await).await;
    let token = first["data"]["exchangeSsoCode"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let begun = sso
        .app
        .gql(
            Some(&token),
            "mutation { beginTotpEnrollment { secret } }",
            json!({}),
        )
        .await;
    let secret = begun["data"]["beginTotpEnrollment"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let Some(code) = crate::otp::code(&secret, 0) else {
        return;
    };
    let confirmed = sso
        .app
        .gql(
            Some(&token),
            "mutation($c: String!) { confirmTotpEnrollment(code: $c) }",
            json!({ "c": code }),
        )
        .await;
    assert!(confirmed["errors"].is_null(), "{confirmed}");
    // The provider did not say it did MFA (no `amr`): the code is a challenge, not tokens.
    let body = sso
        .app
        .gql(
            None,
            "mutation($c: String!) { exchangeSsoCode(code: $c) { accessToken mfaChallenge { token } } }",
            json!({ "c": sso.code_for("alice").await }),
        )
        .await;
    let payload = &body["data"]["exchangeSsoCode"];
    assert!(payload["accessToken"].is_null(), "{body}");
    let verified = sso
        .app
        .gql(
            None,
            "mutation($c: String!, $t: String) { verifyMfa(input: {challenge: $c, totpCode: $t}) { accessToken } }",
            json!({ "c": payload["mfaChallenge"]["token"], "t": crate::otp::code(&secret, 1).unwrap() }),
        )
        .await;
    let access = verified["data"]["verifyMfa"]["accessToken"]
        .as_str()
        .unwrap();
    assert_eq!(claims(access)["amr"], json!(["sso", "otp"]));
    assert_eq!(claims(access)["idp"], sso.provider.issuer);
}
