//! Trust between roles, keys and organizations: what an outside probe of keys, single sign-on
//! and multi-factor authentication found, each reproduced as the attacker did it (a provider
//! that claims whatever its administrator configures, strangers' requests, keys) and refused.

use charter::graphql::ids::NodeId;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, error_code, org_id};
use crate::mfa::enroll;
use crate::sso::{APP_ORIGIN, CLIENT_ID, CLIENT_SECRET, Sso, claims, location};

const EXCHANGE: &str = "mutation($c: String!, $p: String) { exchangeSsoCode(code: $c, password: $p) { accessToken refreshToken user { email } mfaChallenge { token } } }";
const CONFIGURE: &str = "mutation($i: ConfigureSsoInput!) { configureSso(input: $i) { enabled } }";

/// `configureSso`'s input for Acme's provider, handing out `role` to new members.
fn configure_input(sso: &Sso, role: &str, jit: bool) -> Value {
    let role = sso.app.state.policy.role_by_key(role).unwrap();
    let role = NodeId::Role {
        organization: sso.org.id,
        role: role.id,
    }
    .to_id()
    .0;
    json!({ "i": {
        "organizationId": org_id(&sso.org),
        "issuer": sso.provider.issuer,
        "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET,
        "defaultRoleId": role,
        "jitProvisioning": jit,
        "enforced": false,
    } })
}

/// The one-time code of a whole sign-in as `login`, and whether the redirect says the account
/// must confirm the link.
async fn code_and_link(sso: &Sso, login: &str) -> (String, bool) {
    let answer = sso.sign_in(login).await;
    assert_eq!(answer.status(), 303, "{:?}", answer.text().await);
    let back = url::Url::parse(&location(&answer)).unwrap();
    let find = |name: &str| {
        back.query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    (
        find("sso_code").expect("a code"),
        find("sso_link").as_deref() == Some("required"),
    )
}

async fn exchange(sso: &Sso, code: &str, password: Option<&str>) -> Value {
    sso.app
        .gql(None, EXCHANGE, json!({ "c": code, "p": password }))
        .await
}

async fn links(sso: &Sso) -> u64 {
    entity::sso_identity::Entity::find()
        .filter(entity::sso_identity::Column::OrganizationId.eq(sso.org.id))
        .count(sso.app.state.database())
        .await
        .unwrap()
}

/// The account of `email`, which single sign-on made.
async fn account(app: &TestApp, email: &str) -> entity::user::Model {
    let email = charter::domain::Email::parse("email", email).unwrap();
    charter::services::identity::users::find_by_email(app.state.database(), &email)
        .await
        .unwrap()
        .expect("the account")
}

async fn switch(app: &TestApp, token: &str, organization: &str) -> Value {
    app.gql(
        Some(token),
        "mutation($o: ID!) { switchOrganization(organizationId: $o) { accessToken } }",
        json!({ "o": organization }),
    )
    .await
}

async fn live_sessions(app: &TestApp, user: uuid::Uuid) -> u64 {
    entity::session::Entity::find()
        .filter(entity::session::Column::UserId.eq(user))
        .filter(entity::session::Column::RevokedAt.is_null())
        .count(app.state.database())
        .await
        .unwrap()
}

/// G1: an organization administrator (not an owner, no second factor) configures a provider he
/// controls and signs in with an ID token naming the owner's email, claiming MFA. Before, that
/// linked the provider to the owner's account by email and skipped her second factor: he was
/// the owner. Now the link waits for the owner's own password and second factor.
#[tokio::test]
async fn g1_configuring_a_provider_never_signs_its_configurer_in_as_the_owner() {
    let mfa: &[&str] = &["pwd", "mfa"];
    let Some(sso) = Sso::start_with(
        &[("mallory", "owner@acme.test", true)],
        None,
        &[("mallory", mfa)],
        |_| {},
    )
    .await
    else {
        return;
    };
    let Some((secret, _)) = enroll(&sso.app, &sso.owner_token).await else {
        return;
    };
    let admin = sso.app.create_user("admin@acme.test").await;
    sso.app
        .add_member(&admin, &sso.org, "organization_administrator")
        .await;
    let admin_token = sso.app.login(&admin.email).await.access_token;
    let configured = sso
        .app
        .gql(
            Some(&admin_token),
            CONFIGURE,
            configure_input(&sso, "standard_user", true),
        )
        .await;
    assert_eq!(
        configured["data"]["configureSso"]["enabled"], true,
        "{configured}"
    );
    let sessions_before = live_sessions(&sso.app, sso.owner.id).await;

    // The provider vouches for the owner's email: the redirect says the link needs her.
    let (code, link) = code_and_link(&sso, "mallory").await;
    assert!(link, "an existing account is not linked by email alone");
    let refused = exchange(&sso, &code, None).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    assert_eq!(
        refused["errors"][0]["extensions"]["ssoLinkRequired"], true,
        "{refused}"
    );
    assert!(refused["data"]["exchangeSsoCode"].is_null());
    // The administrator does not know her password: one guess, and the code is gone.
    let guessed = exchange(&sso, &code, Some("not-her-password")).await;
    assert_eq!(error_code(&guessed), "UNAUTHENTICATED", "{guessed}");
    let again = exchange(&sso, &code, Some(PASSWORD)).await;
    assert_eq!(error_code(&again), "UNAUTHENTICATED", "{again}");
    assert_eq!(links(&sso).await, 0, "nothing was linked");
    assert_eq!(live_sessions(&sso.app, sso.owner.id).await, sessions_before);

    // The owner herself confirms: her password, then her own second factor, whatever the
    // provider claimed.
    let (code, link) = code_and_link(&sso, "mallory").await;
    assert!(link);
    let confirmed = exchange(&sso, &code, Some(PASSWORD)).await;
    let payload = &confirmed["data"]["exchangeSsoCode"];
    assert!(payload["accessToken"].is_null(), "{confirmed}");
    let challenge = payload["mfaChallenge"]["token"].as_str().unwrap();
    assert_eq!(links(&sso).await, 0, "not before the second factor");
    let code = crate::otp::code(&secret, 1).unwrap();
    let verified = sso
        .app
        .gql(
            None,
            "mutation($c: String!, $v: String) { verifyMfa(input: {challenge: $c, totpCode: $v}) { accessToken } }",
            json!({ "c": challenge, "v": code }),
        )
        .await;
    let access = verified["data"]["verifyMfa"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{verified}"));
    assert_eq!(claims(access)["amr"], json!(["sso", "mfa", "pwd", "otp"]));
    assert_eq!(links(&sso).await, 1);
    assert!(
        sso.actions()
            .await
            .contains(&"sso.identity_linked".to_owned())
    );

    // Linked now: the next sign-in needs no password, and still her own second factor.
    let (code, link) = code_and_link(&sso, "mallory").await;
    assert!(!link);
    let next = exchange(&sso, &code, None).await;
    assert!(
        next["data"]["exchangeSsoCode"]["mfaChallenge"]["token"].is_string(),
        "the provider's MFA claim never stands for a Charter factor: {next}"
    );
}

/// G1: a person who joins through single sign-on just in time is linked at once (nobody else
/// held that account), and such a session acts only in its provider's organization.
#[tokio::test]
async fn g1_a_single_sign_on_session_acts_only_in_its_providers_organization() {
    let Some(sso) = Sso::start(&[("alice", "alice@acme.test", true)], None).await else {
        return;
    };
    sso.configure(true, false).await;
    let (code, link) = code_and_link(&sso, "alice").await;
    assert!(!link, "a new account has no one else to confirm it");
    let body = exchange(&sso, &code, None).await;
    let access = body["data"]["exchangeSsoCode"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    // Alice belongs to Globex too, by its owner's doing.
    let alice = account(&sso.app, "alice@acme.test").await;
    let heidi = sso.app.create_user("heidi@globex.test").await;
    let globex = sso.app.create_org(&heidi, "Globex").await;
    sso.app.add_member(&alice, &globex, "standard_user").await;

    let read = "query($o: ID!) { organization(id: $o) { name } }";
    let acme = sso
        .app
        .gql(Some(&access), read, json!({ "o": org_id(&sso.org) }))
        .await;
    assert_eq!(acme["data"]["organization"]["name"], "Acme", "{acme}");
    let elsewhere = sso
        .app
        .gql(Some(&access), read, json!({ "o": org_id(&globex) }))
        .await;
    assert_eq!(error_code(&elsewhere), "NOT_FOUND", "{elsewhere}");
    let switched = switch(&sso.app, &access, &org_id(&globex)).await;
    assert_eq!(error_code(&switched), "FORBIDDEN", "{switched}");
    let memberships = sso
        .app
        .gql(
            Some(&access),
            "{ viewer { memberships { edges { node { organization { name } } } } } }",
            json!({}),
        )
        .await;
    assert!(
        !memberships.to_string().contains("Globex"),
        "nothing of Globex through Acme's provider: {memberships}"
    );
}

/// G5: Acme's provider says it did MFA. That counts in Acme, which requires MFA; not in Globex,
/// which requires it too; and not as Charter's own factor once the person has one.
#[tokio::test]
async fn g5_a_providers_mfa_claim_counts_only_in_its_own_organization() {
    let mfa: &[&str] = &["pwd", "mfa"];
    let Some(sso) = Sso::start_with(
        &[("alice", "alice@acme.test", true)],
        None,
        &[("alice", mfa)],
        |_| {},
    )
    .await
    else {
        return;
    };
    sso.configure(true, false).await;
    let heidi = sso.app.create_user("heidi@globex.test").await;
    let globex = sso.app.create_org(&heidi, "Globex").await;
    for (token, org) in [
        (sso.owner_token.clone(), org_id(&sso.org)),
        (
            sso.app.login(&heidi.email).await.access_token,
            org_id(&globex),
        ),
    ] {
        let set = sso
            .app
            .gql(
                Some(&token),
                "mutation($o: ID!) { setOrganizationMfaRequirement(organizationId: $o, required: true) { mfaRequired } }",
                json!({ "o": org }),
            )
            .await;
        assert_eq!(
            set["data"]["setOrganizationMfaRequirement"]["mfaRequired"], true,
            "{set}"
        );
    }
    let (code, _) = code_and_link(&sso, "alice").await;
    let body = exchange(&sso, &code, None).await;
    let access = body["data"]["exchangeSsoCode"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    let alice_id = body["data"]["exchangeSsoCode"]["user"]["email"].clone();
    assert_eq!(alice_id, "alice@acme.test");
    let read = "query($o: ID!) { organization(id: $o) { name } }";
    let acme = sso
        .app
        .gql(Some(&access), read, json!({ "o": org_id(&sso.org) }))
        .await;
    assert_eq!(acme["data"]["organization"]["name"], "Acme", "{acme}");

    // Globex requires MFA of Alice too; Acme's provider's word is not Globex's to take, even
    // from a session that proved Alice's password.
    let alice = account(&sso.app, "alice@acme.test").await;
    sso.app.add_member(&alice, &globex, "standard_user").await;
    let switched = switch(&sso.app, &access, &org_id(&globex)).await;
    assert_eq!(error_code(&switched), "FORBIDDEN", "{switched}");

    // With a factor of her own, the claim no longer opens a session: her factor does.
    let Some(_) = enroll(&sso.app, &access).await else {
        return;
    };
    let (code, _) = code_and_link(&sso, "alice").await;
    let next = exchange(&sso, &code, None).await;
    assert!(
        next["data"]["exchangeSsoCode"]["accessToken"].is_null(),
        "{next}"
    );
    assert!(
        next["data"]["exchangeSsoCode"]["mfaChallenge"]["token"].is_string(),
        "{next}"
    );
}

/// G2: Erin, without a second factor, in Acme, which requires one: every side door answers as
/// `organization(id:)` does.
#[tokio::test]
async fn g2_the_mfa_requirement_has_no_side_door() {
    let app = TestApp::spawn().await;
    let owner = app.create_user("owner@example.com").await;
    let erin = app.create_user("erin@example.com").await;
    let heidi = app.create_user("heidi@example.com").await;
    let acme = app.create_org(&owner, "Acme").await;
    let globex = app.create_org(&heidi, "Globex").await;
    app.add_member(&erin, &acme, "standard_user").await;
    let heidi_token = app.login(&heidi.email).await.access_token;
    // Globex shares a list with Acme.
    let list = app
        .gql(
            Some(&heidi_token),
            "mutation($o: ID!) { createList(input: {organizationId: $o, name: \"C2\", kind: DOMAIN}) { id } }",
            json!({ "o": org_id(&globex) }),
        )
        .await["data"]["createList"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (query, variables) in [
        (
            "mutation($l: ID!) { addListEntries(input: {listId: $l, entries: [{value: \"evil.example\"}]}) { entryCount } }",
            json!({ "l": list }),
        ),
        (
            "mutation($l: ID!) { setListShared(id: $l, shared: true) { shared } }",
            json!({ "l": list }),
        ),
        (
            "mutation($o: ID!, $p: ID!) { addSharePartner(organizationId: $o, partnerOrganizationId: $p) { id } }",
            json!({ "o": org_id(&globex), "p": org_id(&acme) }),
        ),
    ] {
        let body = app.gql(Some(&heidi_token), query, variables).await;
        assert!(body["errors"].is_null(), "{body}");
    }
    let erin_token = app
        .login_to(&erin.email, Some(&org_id(&acme)))
        .await
        .access_token;
    let erin_gql =
        async |query: &str, variables: Value| app.gql(Some(&erin_token), query, variables).await;
    let list_query = "query($l: ID!) { node(id: $l) { ... on List { name entries(first: 5) { edges { node { value } } } } } }";
    // Before the requirement, Erin reads the shared list (the door exists).
    let before = erin_gql(list_query, json!({ "l": list })).await;
    assert!(before.to_string().contains("evil.example"), "{before}");

    let owner_token = app.login(&owner.email).await.access_token;
    let set = app
        .gql(
            Some(&owner_token),
            "mutation($o: ID!) { setOrganizationMfaRequirement(organizationId: $o, required: true) { mfaRequired } }",
            json!({ "o": org_id(&acme) }),
        )
        .await;
    assert!(set["errors"].is_null(), "{set}");

    let direct = erin_gql(
        "query($o: ID!) { organization(id: $o) { name } }",
        json!({ "o": org_id(&acme) }),
    )
    .await;
    assert_eq!(error_code(&direct), "FORBIDDEN", "{direct}");
    let membership = entity::membership::Entity::find()
        .filter(entity::membership::Column::UserId.eq(erin.id))
        .filter(entity::membership::Column::OrganizationId.eq(acme.id))
        .one(app.state.database())
        .await
        .unwrap()
        .unwrap();
    let membership_id = NodeId::Membership(membership.id).to_id().0;
    for (door, query, variables) in [
        ("a partner's shared list", list_query, json!({ "l": list })),
        (
            "the viewer's own memberships",
            "{ viewer { memberships { edges { node { organization { id name } role { name } } } } } }",
            json!({}),
        ),
        (
            "the membership as a node",
            "query($m: ID!) { node(id: $m) { ... on Membership { organization { name } role { name } } } }",
            json!({ "m": membership_id }),
        ),
        (
            "the viewer's permissions",
            "query($o: ID!) { viewer { permissions(organizationId: $o) { resource level } } }",
            json!({ "o": org_id(&acme) }),
        ),
        (
            "checkPermission",
            "query($o: ID!) { checkPermission(organizationId: $o, resource: \"list\", level: \"read\") }",
            json!({ "o": org_id(&acme) }),
        ),
    ] {
        let body = erin_gql(query, variables).await;
        assert!(
            body["errors"].is_array(),
            "{door} answers with a refusal: {body}"
        );
        for leaked in ["Acme", "evil.example", "Standard User", "\"level\""] {
            assert!(
                !body["data"].to_string().contains(leaked),
                "{door} shows {leaked}: {body}"
            );
        }
    }
    let download = app
        .client
        .get(format!("{}/lists/{list}.txt", app.address))
        .bearer_auth(&erin_token)
        .send()
        .await
        .unwrap();
    assert_ne!(download.status(), 200);
    assert!(!download.text().await.unwrap().contains("evil.example"));

    // With a second factor of her own, every door opens again.
    let Some(_) = enroll(&app, &erin_token).await else {
        return;
    };
    let after = erin_gql(list_query, json!({ "l": list })).await;
    assert!(after.to_string().contains("evil.example"), "{after}");
}

/// G3: strangers fill only their own share of sign-in starts; the organization's members
/// still start theirs. Starts count per client address, an IPv6 one by its /64.
#[tokio::test]
async fn g3_strangers_cannot_fill_an_organizations_sign_in_starts() {
    let Some(sso) = Sso::start_with(&[("alice", "alice@acme.test", true)], None, &[], |s| {
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await
    else {
        return;
    };
    sso.configure(true, false).await;
    let url = sso.start_url(&format!("{APP_ORIGIN}/signed-in"));
    let start_from = async |client: &str| {
        crate::sso::Acme::browser()
            .get(&url)
            .header("x-forwarded-for", client)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    let max = charter::services::identity::sso::flow::MAX_STARTS_PER_CLIENT;
    for n in 0..max {
        // One /64: each start from another of its addresses.
        let status = start_from(&format!("2001:db8:7:7::{:x}", n + 1)).await;
        assert_eq!(status, 303, "start {n}");
    }
    assert_eq!(start_from("2001:db8:7:7::ffff").await, 429);
    assert_eq!(start_from("2001:db8:7:7:1:2:3:4").await, 429);
    // Everyone else, and the organization's members, start as before.
    assert_eq!(start_from("203.0.113.9").await, 303);
    assert_eq!(start_from("2001:db8:7:8::1").await, 303);
    let members = sso.sign_in("alice").await;
    assert_eq!(members.status(), 303, "{:?}", members.text().await);
}

/// G6: 40 strangers' callbacks, each with the provider's `error` and a description of their
/// choosing: one audit event, which says how many went unrecorded only when the next is due,
/// and holds none of their text.
#[tokio::test]
async fn g6_strangers_cannot_write_an_organizations_audit_log() {
    let Some(sso) = Sso::start(&[("alice", "alice@acme.test", true)], None).await else {
        return;
    };
    sso.configure(true, false).await;
    let before = sso.actions().await.len();
    let chosen = "Pay\u{202E}moc.live\u{202C} now at evil.example";
    for _ in 0..40 {
        let browser = crate::sso::Acme::browser();
        let started = browser
            .get(sso.start_url(&format!("{APP_ORIGIN}/signed-in")))
            .send()
            .await
            .unwrap();
        assert_eq!(started.status(), 303);
        let authorize = url::Url::parse(&location(&started)).unwrap();
        let state = authorize
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        let mut callback = url::Url::parse(&format!("{}/sso/callback", sso.app.address)).unwrap();
        callback
            .query_pairs_mut()
            .append_pair("state", &state)
            .append_pair("error", "<b>evil</b>")
            .append_pair("error_description", chosen);
        let answer = browser.get(callback).send().await.unwrap();
        assert_eq!(answer.status(), 403);
        let page = answer.text().await.unwrap();
        assert!(!page.contains("evil"), "{page}");
        assert!(!page.contains('\u{202E}'), "{page}");
    }
    let events = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::OrganizationId.eq(sso.org.id))
        .filter(entity::audit_event::Column::Action.eq("sso.sign_in_refused"))
        .all(sso.app.state.database())
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(sso.actions().await.len(), before + 1);
    let recorded = format!("{:?}", events[0]);
    for text in ["evil", "Pay", "\u{202E}", "<b>"] {
        assert!(!recorded.contains(text), "{text} in {recorded}");
    }
    let payload: Value = serde_json::from_str(&events[0].payload).unwrap();
    assert_eq!(payload["reason"], "provider_error");
    let tally = entity::sso_refusal_tally::Entity::find()
        .all(sso.app.state.database())
        .await
        .unwrap();
    assert_eq!(tally.len(), 1);
    assert_eq!(tally[0].suppressed, 39, "the others were counted");
}

/// G4: a key with every grant of its holder's may not make keys (whose children would outlive
/// it), rotate one, or change sign-in settings; and a password alone, in the same request as a
/// sign-in that awaits its second factor, borrows nothing of the person's.
#[tokio::test]
async fn g4_keys_never_make_keys_or_change_sign_in_settings() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    let token = app.login(&alice.email).await.access_token;
    let Some(_) = enroll(&app, &token).await else {
        return;
    };
    let grants: Vec<Value> = [
        ("organization", "read"),
        ("api_key", "manage"),
        ("sso", "manage"),
        ("member", "manage"),
    ]
    .iter()
    .map(|(resource, level)| json!({ "resource": resource, "level": level }))
    .collect();
    let created = app
        .gql(
            Some(&token),
            "mutation($o: ID!, $g: [PermissionGrantInput!]!) { createApiKey(input: {organizationId: $o, name: \"parent\", grants: $g, addMissingDependencies: true}) { secret apiKey { id } } }",
            json!({ "o": org_id(&org), "g": grants }),
        )
        .await;
    let key = created["data"]["createApiKey"]["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned();
    let key_id = created["data"]["createApiKey"]["apiKey"]["id"].clone();
    let o = org_id(&org);
    for (field, query, variables) in [
        (
            "createApiKey",
            "mutation($o: ID!) { createApiKey(input: {organizationId: $o, name: \"child\", grants: [{resource: \"organization\", level: \"read\"}]}) { secret } }",
            json!({ "o": o }),
        ),
        (
            "rotateApiKey",
            "mutation($k: ID!) { rotateApiKey(id: $k) { secret } }",
            json!({ "k": key_id }),
        ),
        (
            "setOrganizationMfaRequirement",
            "mutation($o: ID!) { setOrganizationMfaRequirement(organizationId: $o, required: false) { id } }",
            json!({ "o": o }),
        ),
        (
            "configureSso",
            "mutation($o: ID!) { configureSso(input: {organizationId: $o, issuer: \"https://idp.example\", clientId: \"c\", clientSecret: \"s\"}) { enabled } }",
            json!({ "o": o }),
        ),
        (
            "addOrganizationDomain",
            "mutation($o: ID!) { addOrganizationDomain(organizationId: $o, domain: \"acme.example\") { id } }",
            json!({ "o": o }),
        ),
    ] {
        let body = app.gql(Some(&key), query, variables).await;
        assert_eq!(
            error_code(&body),
            "FORBIDDEN",
            "{field} through a key: {body}"
        );
        assert!(body["data"][field].is_null(), "{body}");
    }
    let keys = entity::api_key::Entity::find()
        .count(app.state.database())
        .await
        .unwrap();
    assert_eq!(keys, 1, "no child key");
    // Nor does a key read its holder's second factors.
    let factors = app
        .gql(
            Some(&key),
            "{ viewer { mfaFactors { id name } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&factors), "FORBIDDEN", "{factors}");
    // The catalog says which fields need a person with a recent second factor.
    let catalog = app
        .gql(
            None,
            "{ permissionCatalog { guards { type field stepUp } } }",
            json!({}),
        )
        .await;
    let stepped: Vec<String> = catalog["data"]["permissionCatalog"]["guards"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|guard| guard["stepUp"] == true)
        .map(|guard| {
            format!(
                "{}.{}",
                guard["type"].as_str().unwrap(),
                guard["field"].as_str().unwrap()
            )
        })
        .collect();
    for field in [
        "Mutation.createApiKey",
        "Mutation.rotateApiKey",
        "Mutation.configureSso",
        "Mutation.disableSso",
        "Mutation.addOrganizationDomain",
        "Mutation.verifyOrganizationDomain",
        "Mutation.removeOrganizationDomain",
        "Mutation.setOrganizationMfaRequirement",
    ] {
        assert!(stepped.contains(&field.to_owned()), "{field}: {stepped:?}");
    }

    // Alice's password alone, then a key and her organization in the same document.
    let borrowed = app
        .gql(
            None,
            "mutation($e: String!, $p: String!, $o: ID!) {
               login(input: {email: $e, password: $p}) { accessToken mfaChallenge { token } }
               createApiKey(input: {organizationId: $o, name: \"stolen\", grants: []}) { secret }
               updateOrganization(input: {organizationId: $o, name: \"Owned\"}) { name }
             }",
            json!({ "e": alice.email, "p": PASSWORD, "o": o }),
        )
        .await;
    // The two fields after the sign-in are refused (and, being non-null, null the answer).
    let refused: Vec<(String, String)> = borrowed["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{borrowed}"))
        .iter()
        .map(|error| {
            (
                error["path"][0].as_str().unwrap_or_default().to_owned(),
                error["extensions"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        [
            ("createApiKey".to_owned(), "UNAUTHENTICATED".to_owned()),
            (
                "updateOrganization".to_owned(),
                "UNAUTHENTICATED".to_owned()
            )
        ],
        "{borrowed}"
    );
    let keys = entity::api_key::Entity::find()
        .count(app.state.database())
        .await
        .unwrap();
    assert_eq!(keys, 1);
    let name = entity::organization::Entity::find_by_id(org.id)
        .one(app.state.database())
        .await
        .unwrap()
        .unwrap()
        .name;
    assert_eq!(name, "Acme");
}

/// G12: a `return_to` that already carries a sign-in code is refused, so that the final
/// redirect never holds a stranger's code first.
#[tokio::test]
async fn g12_return_to_cannot_smuggle_a_code() {
    let Some(sso) = Sso::start(&[("alice", "alice@acme.test", true)], None).await else {
        return;
    };
    sso.configure(true, false).await;
    for smuggled in [
        format!("{APP_ORIGIN}/signed-in?sso_code=csc_attacker"),
        format!("{APP_ORIGIN}/signed-in?next=1&sso_code=csc_attacker"),
        format!("{APP_ORIGIN}/signed-in?sso_link=required"),
        format!("{APP_ORIGIN}/signed-in?sso%5Fcode=csc_attacker"),
    ] {
        let answer = crate::sso::Acme::browser()
            .get(sso.start_url(&smuggled))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 400, "{smuggled}");
        assert!(location(&answer).is_empty());
    }
}

/// G13: a refresh token that a step-up retired is stale: presenting it again is refused
/// without revoking the session and the fresh tokens the step-up issued. A token used by a
/// refresh and presented again still revokes the session.
#[tokio::test]
async fn g13_a_refresh_token_retired_by_a_step_up_is_stale_not_reuse() {
    let app = TestApp::spawn().await;
    let frank = app.create_user("frank@example.com").await;
    app.create_org(&frank, "Acme").await;
    let session = app.login(&frank.email).await;
    let Some((secret, _)) = enroll(&app, &session.access_token).await else {
        return;
    };
    let challenge = app
        .gql(
            Some(&session.access_token),
            "mutation { startMfaChallenge { token } }",
            json!({}),
        )
        .await["data"]["startMfaChallenge"]["token"]
        .clone();
    let code = crate::otp::code(&secret, 1).unwrap();
    let stepped = app
        .gql(
            Some(&session.access_token),
            "mutation($c: String!, $v: String) { verifyMfa(input: {challenge: $c, totpCode: $v}) { accessToken refreshToken } }",
            json!({ "c": challenge, "v": code }),
        )
        .await;
    let fresh = stepped["data"]["verifyMfa"]["refreshToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{stepped}"))
        .to_owned();
    let refresh = async |token: &str| {
        app.gql(
            None,
            "mutation($t: String!) { refreshSession(refreshToken: $t) { refreshToken } }",
            json!({ "t": token }),
        )
        .await
    };
    let stale = refresh(&session.refresh_token).await;
    assert_eq!(error_code(&stale), "UNAUTHENTICATED", "{stale}");
    let renewed = refresh(&fresh).await;
    let next = renewed["data"]["refreshSession"]["refreshToken"]
        .as_str()
        .unwrap_or_else(|| panic!("the session lives on: {renewed}"))
        .to_owned();
    // A real reuse still ends the session.
    assert_eq!(error_code(&refresh(&fresh).await), "UNAUTHENTICATED");
    assert_eq!(error_code(&refresh(&next).await), "UNAUTHENTICATED");
    assert_eq!(live_sessions(&app, frank.id).await, 0);
}

/// G14: the start URL names no organization to an anonymous caller, whether the organization
/// exists, has no single sign-on or has one; the pages and redirects cannot be framed.
#[tokio::test]
async fn g14_sign_in_pages_name_no_organization_and_cannot_be_framed() {
    let Some(sso) = Sso::start(&[("alice", "alice@acme.test", true)], None).await else {
        return;
    };
    let return_to = format!("{APP_ORIGIN}/signed-in");
    let page_of = async |public_id: &str| {
        let mut url =
            url::Url::parse(&format!("{}/sso/{public_id}/start", sso.app.address)).unwrap();
        url.query_pairs_mut().append_pair("return_to", &return_to);
        crate::sso::Acme::browser().get(url).send().await.unwrap()
    };
    let without = page_of(&sso.org.public_id).await;
    assert_eq!(without.status(), 404);
    let headers = without.headers().clone();
    let without = without.text().await.unwrap();
    let nobody = page_of("org_doesnotexist").await.text().await.unwrap();
    assert_eq!(without, nobody, "no difference to tell");
    assert!(!without.contains("Acme"), "{without}");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    sso.configure(true, false).await;
    let redirect = page_of(&sso.org.public_id).await;
    assert_eq!(redirect.status(), 303);
    assert_eq!(redirect.headers()["x-frame-options"], "DENY");
}

/// G1, raced: a burst of confirmations of one link code with the right password opens one
/// session and makes one link; the rest find the code used.
#[tokio::test]
async fn g1_a_burst_of_one_link_codes_confirmations_links_once() {
    let Some(sso) = Sso::start(&[("carol", "carol@acme.test", true)], None).await else {
        return;
    };
    let carol = sso.app.create_user("carol@acme.test").await;
    sso.app.add_member(&carol, &sso.org, "standard_user").await;
    sso.configure(false, false).await;
    let (code, link) = code_and_link(&sso, "carol").await;
    assert!(link);
    let burst = (0..8).map(|_| exchange(&sso, &code, Some(PASSWORD)));
    let answers = futures_util::future::join_all(burst).await;
    let opened = answers
        .iter()
        .filter(|body| body["data"]["exchangeSsoCode"]["accessToken"].is_string())
        .count();
    assert_eq!(opened, 1, "{answers:?}");
    for body in &answers {
        if body["errors"].is_array() {
            assert_eq!(error_code(body), "UNAUTHENTICATED", "{body}");
        }
    }
    assert_eq!(links(&sso).await, 1);
    let linked = sso
        .actions()
        .await
        .iter()
        .filter(|action| *action == "sso.identity_linked")
        .count();
    assert_eq!(linked, 1);
}
