//! Sign-in with a directory password against a real OpenLDAP on loopback (`directory.rs`),
//! over StartTLS verified against the CA the test made: configuration checked against the
//! directory itself, sign-in that provisions and links, and the refusals: a wrong password, a
//! person outside the group filter, a locked or missing one, filter injection through the
//! email, a stopped or frozen directory.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::directory::{ADMIN_DN, ADMIN_PASSWORD, Entry, PEOPLE, Slapd};
use crate::helpers::{PASSWORD, error_code, org_id};
use crate::sso::Acme;

const PEOPLE_OF_ACME: &[Entry<'static>] = &[
    Entry {
        uid: "bob",
        email: "bob@acme.test",
        password: "bob-directory-pw",
        member: true,
        locked: false,
    },
    Entry {
        uid: "carol",
        email: "carol@acme.test",
        password: "carol-directory-pw",
        member: true,
        locked: false,
    },
    Entry {
        uid: "owner",
        email: "owner@acme.test",
        password: "owner-directory-pw",
        member: true,
        locked: false,
    },
    Entry {
        uid: "olivia",
        email: "olivia@acme.test",
        password: "olivia-directory-pw",
        member: false,
        locked: false,
    },
    Entry {
        uid: "leo",
        email: "leo@acme.test",
        password: "leo-directory-pw",
        member: true,
        locked: true,
    },
];

/// Acme with its domain verified, and its directory.
struct Ldap {
    acme: Acme,
    slapd: Slapd,
}

impl std::ops::Deref for Ldap {
    type Target = Acme;
    fn deref(&self) -> &Acme {
        &self.acme
    }
}

impl Ldap {
    async fn start(configure: impl FnOnce(&mut charter::config::Settings)) -> Option<Self> {
        let slapd = Slapd::start(PEOPLE_OF_ACME)?;
        let acme = Acme::start(None, |settings| {
            settings.sso.ldap_timeout = Duration::from_secs(2);
            configure(settings);
        })
        .await?;
        Some(Self { acme, slapd })
    }

    /// The input that configures Acme's directory as it is, with `more` on top.
    fn input(&self, more: Value) -> Value {
        let mut input = json!({
            "organizationId": org_id(&self.org),
            "url": self.slapd.url(),
            "startTls": true,
            "caCertificate": self.slapd.ca_pem,
            "bindDn": ADMIN_DN,
            "bindPassword": ADMIN_PASSWORD,
            "baseDn": PEOPLE,
            "groupFilter": "(employeeType=charter)",
            "defaultRoleId": self.role_id("standard_user"),
            "jitProvisioning": true,
        });
        input
            .as_object_mut()
            .unwrap()
            .extend(more.as_object().unwrap().clone());
        input
    }

    async fn configure(&self, input: Value) -> Value {
        self.gql(
            "mutation($i: ConfigureLdapInput!) { configureLdap(input: $i) { protocol enabled enforced startUrl ldap { url startTls bindDn baseDn userFilter emailAttribute groupFilter caCertificate { subject } } } }",
            json!({ "i": input }),
        )
        .await
    }

    async fn login(&self, email: &str, password: &str) -> Value {
        login_at(&self.app.address, email, password).await
    }

    /// An account of Acme with a Charter password (and a standard role).
    async fn member(&self, email: &str) {
        let user = self.app.create_user(email).await;
        self.app.add_member(&user, &self.org, "standard_user").await;
    }

    /// `login` naming Acme.
    async fn login_to_acme(&self, email: &str, password: &str) -> Value {
        self.app
            .gql(
                None,
                "mutation($i: LoginInput!) { login(input: $i) { accessToken organization { name } } }",
                json!({ "i": { "email": email, "password": password, "organizationId": org_id(&self.org) } }),
            )
            .await
    }
}

/// `login` at the server at `address`.
async fn login_at(address: &str, email: &str, password: &str) -> Value {
    login_from(address, None, email, password).await
}

/// [`login_at`], as a trusted proxy forwards it for `client` when one is named.
async fn login_from(address: &str, client: Option<&str>, email: &str, password: &str) -> Value {
    let mut request = reqwest::Client::new().post(format!("{address}/graphql"));
    if let Some(client) = client {
        request = request.header("x-forwarded-for", client);
    }
    request
        .json(&json!({
            "query": "mutation($i: LoginInput!) { login(input: $i) { accessToken user { email } organization { name } } }",
            "variables": { "i": { "email": email, "password": password } },
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn claims_of(body: &Value) -> Value {
    crate::sso::claims(
        body["data"]["login"]["accessToken"]
            .as_str()
            .expect("a token"),
    )
}

#[tokio::test]
async fn configuration_is_checked_against_the_directory_and_the_password_is_sealed() {
    let Some(ldap) = Ldap::start(|_| {}).await else {
        return;
    };
    let refused = [
        (json!({ "bindPassword": "wrong" }), "bindDn"),
        (json!({ "baseDn": "ou=nobody,dc=acme,dc=test" }), "baseDn"),
        (json!({ "userFilter": "(mail=someone)" }), "userFilter"),
        (json!({ "userFilter": "(mail={email}" }), "userFilter"),
        (
            json!({ "groupFilter": "employeeType=charter)" }),
            "groupFilter",
        ),
        (json!({ "startTls": false }), "url"),
        (json!({ "url": "https://127.0.0.1" }), "url"),
        (
            json!({ "caCertificate": "not a certificate" }),
            "caCertificate",
        ),
        (json!({ "caCertificate": null }), "url"),
        (json!({ "url": "ldap://127.0.0.1:9" }), "url"),
        (json!({ "bindDn": "cn=a\u{0}b" }), "bindDn"),
        (json!({ "baseDn": "x".repeat(1 << 20) }), "baseDn"),
    ];
    for (more, field) in refused {
        let body = ldap.configure(ldap.input(more.clone())).await;
        assert_eq!(error_code(&body), "INVALID_INPUT", "{more}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["field"], field,
            "{more}: {body}"
        );
    }
    // The directory's own certificate is not a CA.
    let (_, server) = {
        let (key, ca) = crate::tls::authority("another");
        crate::tls::issued(&key, &ca, "127.0.0.1", crate::tls::Usage::Server)
    };
    let body = ldap
        .configure(ldap.input(json!({ "caCertificate": String::from_utf8(server).unwrap() })))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "caCertificate",
        "{body}"
    );
    assert!(
        ldap.actions().await.iter().all(|a| a != "sso.configured"),
        "nothing written"
    );

    let body = ldap.configure(ldap.input(json!({}))).await;
    let connection = &body["data"]["configureLdap"];
    assert_eq!(connection["protocol"], "LDAP", "{body}");
    assert_eq!(
        connection["startUrl"],
        Value::Null,
        "a directory has no browser start"
    );
    assert_eq!(connection["ldap"]["userFilter"], "(mail={email})");
    assert_eq!(
        connection["ldap"]["caCertificate"]["subject"],
        "CN=Directory test CA"
    );
    use sea_orm::EntityTrait;
    let row = entity::sso_connection::Entity::find()
        .one(ldap.app.state.database())
        .await
        .unwrap()
        .unwrap();
    let sealed = row.ldap_bind_password_sealed.unwrap();
    assert!(!sealed.contains(ADMIN_PASSWORD));
    // Reconfigured without the password, the sealed one is kept.
    let again = ldap
        .configure(ldap.input(json!({ "bindPassword": null, "enforced": true })))
        .await;
    assert_eq!(again["data"]["configureLdap"]["enforced"], true, "{again}");
    let sdl = ldap
        .app
        .gql(
            None,
            "{ __type(name: \"LdapDirectory\") { fields { name } } }",
            json!({}),
        )
        .await;
    assert!(
        !sdl.to_string().to_lowercase().contains("password"),
        "{sdl}"
    );
}

#[tokio::test]
async fn the_directory_signs_people_in_provisions_them_and_links_existing_accounts() {
    let Some(ldap) = Ldap::start(|_| {}).await else {
        return;
    };
    ldap.member("carol@acme.test").await;
    assert!(ldap.configure(ldap.input(json!({}))).await["errors"].is_null());

    // A new person: provisioned with the default role, the directory's name kept.
    let bob = ldap.login("bob@acme.test", "bob-directory-pw").await;
    assert_eq!(
        bob["data"]["login"]["organization"]["name"], "Acme",
        "{bob}"
    );
    let claims = claims_of(&bob);
    assert_eq!(claims["amr"], json!(["sso"]), "{claims}");
    assert_eq!(claims["idp"], ldap.slapd.url(), "{claims}");
    // An existing account: the link waits for its own Charter password.
    let first = ldap.login("carol@acme.test", "carol-directory-pw").await;
    assert_eq!(error_code(&first), "FORBIDDEN", "{first}");
    let code = first["errors"][0]["extensions"]["ssoLinkCode"]
        .as_str()
        .expect("a link code");
    let linked = ldap
        .app
        .gql(
            None,
            "mutation($c: String!, $p: String) { exchangeSsoCode(code: $c, password: $p) { accessToken } }",
            json!({ "c": code, "p": PASSWORD }),
        )
        .await;
    assert!(linked["errors"].is_null(), "{linked}");
    let again = ldap.login("carol@acme.test", "carol-directory-pw").await;
    assert_eq!(
        again["data"]["login"]["user"]["email"], "carol@acme.test",
        "{again}"
    );
    // The Charter password still works while the directory does not enforce.
    let by_password = ldap.login("carol@acme.test", PASSWORD).await;
    assert!(by_password["errors"].is_null(), "{by_password}");
    let actions = ldap.actions().await;
    for action in [
        "sso.member_provisioned",
        "sso.identity_linked",
        "sso.sign_in",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn wrong_passwords_outsiders_locked_and_missing_people_and_injections_sign_in_nobody() {
    let Some(ldap) = Ldap::start(|_| {}).await else {
        return;
    };
    assert!(ldap.configure(ldap.input(json!({}))).await["errors"].is_null());
    let refused = [
        ("bob@acme.test", "not-bobs-password"),
        ("bob@acme.test", ""),
        ("olivia@acme.test", "olivia-directory-pw"),
        ("leo@acme.test", "leo-directory-pw"),
        ("nobody@acme.test", "whatever"),
        ("*@acme.test", "bob-directory-pw"),
        ("bob*@acme.test", "bob-directory-pw"),
    ];
    for (email, password) in refused {
        let body = ldap.login(email, password).await;
        assert!(
            matches!(error_code(&body), "UNAUTHENTICATED" | "INVALID_INPUT"),
            "{email}: {body}"
        );
        assert!(body["data"]["login"].is_null(), "{email}: {body}");
    }
    for injection in [
        "*)(uid=*))(|(uid=*@acme.test",
        "bob@acme.test\u{0}",
        "(bob)@acme.test",
    ] {
        let body = ldap.login(injection, "bob-directory-pw").await;
        assert!(body["data"]["login"].is_null(), "{injection:?}: {body}");
    }
    assert!(!ldap.actions().await.iter().any(|a| a == "sso.sign_in"));
    // Failures count in the sign-in throttle like password failures.
    let mut limited = false;
    for _ in 0..6 {
        let body = ldap.login("bob@acme.test", "still-wrong").await;
        limited |= error_code(&body) == "RATE_LIMITED";
    }
    assert!(limited, "directory failures are throttled");
}

#[tokio::test]
async fn a_frozen_or_stopped_directory_fails_the_sign_in_within_the_bound() {
    let Some(mut ldap) = Ldap::start(|_| {}).await else {
        return;
    };
    assert!(ldap.configure(ldap.input(json!({}))).await["errors"].is_null());
    ldap.slapd.freeze();
    let started = Instant::now();
    let address = ldap.app.address.clone();
    let waiting =
        tokio::spawn(async move { login_at(&address, "bob@acme.test", "bob-directory-pw").await });
    // Meanwhile the server answers others at once: the wait holds no database connection
    // (the test server has four).
    tokio::time::sleep(Duration::from_millis(200)).await;
    for n in 0..8 {
        let body = ldap.login(&format!("nobody{n}@elsewhere.test"), "x").await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "others waited on the directory"
    );
    let body = waiting.await.unwrap();
    let took = started.elapsed();
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    assert!(
        took < Duration::from_secs(4),
        "a frozen directory took {took:?}"
    );
    ldap.slapd.stop();
    let started = Instant::now();
    let body = ldap.login("bob@acme.test", "bob-directory-pw").await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn an_enforcing_directory_keeps_members_off_charter_passwords_but_owners_keep_the_break_glass()
 {
    let Some(ldap) = Ldap::start(|_| {}).await else {
        return;
    };
    ldap.member("carol@acme.test").await;
    let body = ldap
        .configure(ldap.input(json!({ "enforced": true })))
        .await;
    assert_eq!(body["data"]["configureLdap"]["enforced"], true, "{body}");
    let refused = ldap.login_to_acme("carol@acme.test", PASSWORD).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    // Her directory password still signs her in.
    let directory = ldap
        .login_to_acme("carol@acme.test", "carol-directory-pw")
        .await;
    assert_eq!(
        error_code(&directory),
        "FORBIDDEN",
        "the link first: {directory}"
    );
    assert!(directory["errors"][0]["extensions"]["ssoLinkCode"].is_string());
    let owner = ldap.login_to_acme("owner@acme.test", PASSWORD).await;
    assert_eq!(
        owner["data"]["login"]["organization"]["name"], "Acme",
        "{owner}"
    );
    assert!(
        ldap.actions()
            .await
            .iter()
            .any(|a| a == "sso.break_glass_used")
    );
}

#[tokio::test]
async fn plain_ldap_is_taken_only_under_the_operators_setting_and_to_this_machine() {
    let Some(ldap) = Ldap::start(|settings| settings.sso.ldap_allow_plain = true).await else {
        return;
    };
    let plain = json!({ "startTls": false, "caCertificate": null });
    let body = ldap.configure(ldap.input(plain)).await;
    assert_eq!(
        body["data"]["configureLdap"]["ldap"]["startTls"], false,
        "{body}"
    );
    let bob = ldap.login("bob@acme.test", "bob-directory-pw").await;
    assert_eq!(
        bob["data"]["login"]["user"]["email"], "bob@acme.test",
        "{bob}"
    );
}

/// A stranger trying email after email makes the directory work for each: past its bound, a
/// client's logins check Charter passwords only, while another client still reaches the
/// directory.
#[tokio::test]
async fn a_client_that_spends_its_directory_attempts_no_longer_reaches_the_directory() {
    use charter::services::identity::sso::ldap::MAX_ATTEMPTS_PER_CLIENT;
    let Some(ldap) = Ldap::start(|settings| {
        settings.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await
    else {
        return;
    };
    assert!(ldap.configure(ldap.input(json!({}))).await["errors"].is_null());
    let address = &ldap.app.address;
    let from = async |client: &str, email: &str, password: &str| -> Value {
        login_from(address, Some(client), email, password).await
    };
    let stranger = "203.0.113.7";
    let bob = from(stranger, "bob@acme.test", "bob-directory-pw").await;
    assert_eq!(
        bob["data"]["login"]["user"]["email"], "bob@acme.test",
        "{bob}"
    );
    for n in 1..MAX_ATTEMPTS_PER_CLIENT {
        let body = from(stranger, &format!("nobody{n}@acme.test"), "guess").await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    }
    // Spent: Bob's directory password is no longer taken from this client (he has no Charter
    // password), and is from another.
    let spent = from(stranger, "bob@acme.test", "bob-directory-pw").await;
    assert_eq!(error_code(&spent), "UNAUTHENTICATED", "{spent}");
    let other = from("198.51.100.9", "bob@acme.test", "bob-directory-pw").await;
    assert_eq!(
        other["data"]["login"]["user"]["email"], "bob@acme.test",
        "{other}"
    );
}
