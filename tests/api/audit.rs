//! The audit log: one event per change in the change's own transaction, queryable, chained.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, error_code, org_id};

/// The client secret single sign-on is configured with here: never in an event.
const SSO_SECRET: &str = "the-provider-client-secret";

async fn event_count(app: &TestApp) -> u64 {
    entity::audit_event::Entity::find()
        .count(app.state.database())
        .await
        .unwrap()
}

async fn last_event(app: &TestApp) -> entity::audit_event::Model {
    entity::audit_event::Entity::find()
        .order_by_desc(entity::audit_event::Column::Id)
        .one(app.state.database())
        .await
        .unwrap()
        .unwrap()
}

fn mutation_names() -> Vec<String> {
    let document = async_graphql::parser::parse_schema(charter::graphql::sdl()).unwrap();
    document
        .definitions
        .iter()
        .filter_map(|definition| match definition {
            async_graphql::parser::types::TypeSystemDefinition::Type(ty)
                if ty.node.name.node == "Mutation" =>
            {
                match &ty.node.kind {
                    async_graphql::parser::types::TypeKind::Object(object) => Some(
                        object
                            .fields
                            .iter()
                            .map(|f| f.node.name.node.to_string())
                            .collect::<Vec<_>>(),
                    ),
                    _ => None,
                }
            }
            _ => None,
        })
        .flatten()
        .collect()
}

#[tokio::test]
async fn every_mutation_that_changes_state_writes_exactly_one_event() {
    // Single sign-on's mutations need a DNS server and an OpenID provider on loopback.
    let Some(mut dns) = crate::dns::DnsServer::start(&[]) else {
        return;
    };
    let dns_address = dns.address;
    let app = TestApp::spawn_with(move |settings| {
        let port = settings.sso.public_url.clone().unwrap();
        let port = port.rsplit(':').next().unwrap();
        settings.webauthn_rp_id = Some("localhost".to_owned());
        settings.webauthn_origins = vec![format!("http://localhost:{port}")];
        settings.sso.allow_insecure_issuers = true;
        // The provider is on loopback.
        settings.outbound.allow = vec!["127.0.0.0/8".parse().unwrap()];
        settings.sso.return_origins = vec!["https://app.example.test".to_owned()];
        settings.sso.dns_server = Some(dns_address);
    })
    .await;
    let callback = format!("{}/sso/callback", app.address);
    let Some(provider) = crate::provider::OidcProvider::start(
        &[("charter", SSO_SECRET, callback.as_str())],
        &[("alice", "alice@example.com", true)],
    )
    .await
    else {
        return;
    };
    // configureLdap binds to a real directory.
    let Some(directory) = crate::directory::Slapd::start(&[]) else {
        return;
    };
    let alice = app.create_user("alice@example.com").await;
    let ops = app.create_user("ops@example.com").await;
    charter::services::identity::users::set_operator(
        &app.state,
        &charter::services::audit::Actor::command_line(),
        &charter::domain::Email::parse("email", &ops.email).unwrap(),
        true,
    )
    .await
    .unwrap();
    let org_model = app.create_org(&alice, "Acme").await;
    let other = app.create_org(&alice, "Other").await;
    let bob = app.create_user("bob@example.com").await;
    app.add_member(&bob, &org_model, "standard_user").await;
    let bob_membership =
        charter::services::store::records::membership(app.state.database(), bob.id, org_model.id)
            .await
            .unwrap()
            .unwrap()
            .id;
    let bob_membership = charter::graphql::ids::NodeId::Membership(bob_membership)
        .to_id()
        .0;
    let reader = charter::graphql::ids::NodeId::Role {
        organization: org_model.id,
        role: app.state.policy.role_by_key("read_only_user").unwrap().id,
    }
    .to_id()
    .0;
    let heidi = app.create_user("heidi@example.com").await;
    let globex = app.create_org(&heidi, "Globex").await;
    app.add_member(&alice, &globex, "standard_user").await;
    app.create_user("dave@example.com").await;
    let session = app.login("alice@example.com").await;
    let ops_token = app.login("ops@example.com").await.access_token;
    let token = session.access_token.clone();
    let org = org_id(&org_model);
    let mut covered = Vec::new();
    let mut role_id = String::new();
    let mut invitation_id = String::new();
    let mut list_id = String::new();
    let mut account_id = String::new();
    let mut key_id = String::new();
    let mut webhook_id = String::new();
    let mut delivery_id = String::new();
    let mut secrets: Vec<String> = Vec::new();

    // Each mutation, in an order where each can succeed; `logout` last.
    let steps: Vec<(&str, String, Value, Option<String>)> = vec![
        ("login", "mutation($p: String!) { login(input: {email: \"alice@example.com\", password: $p}) { accessToken } }".into(), json!({ "p": PASSWORD }), None),
        ("refreshSession", "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }".into(), json!({ "t": session.refresh_token }), None),
        ("switchOrganization", "mutation($o: ID!) { switchOrganization(organizationId: $o) { accessToken } }".into(), json!({ "o": org_id(&other) }), Some(token.clone())),
        ("setDefaultOrganization", "mutation($o: ID!) { setDefaultOrganization(organizationId: $o) { user { email } } }".into(), json!({ "o": org }), Some(token.clone())),
        ("createOrganization", "mutation { createOrganization(input: {name: \"Third\"}) { id } }".into(), json!({}), Some(token.clone())),
        ("updateOrganization", "mutation($o: ID!) { updateOrganization(input: {organizationId: $o, name: \"Acme 2\"}) { name } }".into(), json!({ "o": org }), Some(token.clone())),
        ("createWebhookEndpoint", "mutation($o: ID!) { createWebhookEndpoint(input: {organizationId: $o, url: \"https://93.184.216.34/hook\", events: [\"member.*\"]}) { endpoint { id } secret } }".into(), json!({ "o": org }), Some(token.clone())),
        ("updateWebhookEndpoint", "mutation($w: ID!) { updateWebhookEndpoint(input: {id: $w, description: \"SIEM\"}) { id } }".into(), json!({}), Some(token.clone())),
        ("rotateWebhookSecret", "mutation($w: ID!) { rotateWebhookSecret(id: $w) { secret } }".into(), json!({}), Some(token.clone())),
        ("sendTestWebhook", "mutation($w: ID!) { sendTestWebhook(endpointId: $w) { id } }".into(), json!({}), Some(token.clone())),
        ("retryWebhookDelivery", "mutation($d: ID!) { retryWebhookDelivery(id: $d) { id } }".into(), json!({}), Some(token.clone())),
        ("replayWebhookEvents", "mutation($w: ID!) { replayWebhookEvents(endpointId: $w, from: \"2020-01-01T00:00:00Z\") }".into(), json!({}), Some(token.clone())),
        ("deleteWebhookEndpoint", "mutation($w: ID!) { deleteWebhookEndpoint(id: $w) }".into(), json!({}), Some(token.clone())),
        ("setOrganizationLicense", "mutation($o: String!) { setOrganizationLicense(input: {organization: $o, addFeatures: [\"custom_roles\"]}) { features } }".into(), json!({ "o": org }), Some(ops_token.clone())),
        ("createRole", "mutation($o: ID!) { createRole(input: {organizationId: $o, name: \"Analyst\", grants: [{resource: \"list\", level: \"read\"}]}) { id } }".into(), json!({ "o": org }), Some(token.clone())),
        ("updateRole", "mutation($r: ID!) { updateRole(input: {id: $r, description: \"Reads lists\"}) { id } }".into(), json!({}), Some(token.clone())),
        ("deleteRole", "mutation($r: ID!) { deleteRole(id: $r) }".into(), json!({}), Some(token.clone())),
        ("createList", "mutation($o: ID!) { createList(input: {organizationId: $o, name: \"Blocked\", kind: IP}) { id } }".into(), json!({ "o": org }), Some(token.clone())),
        ("updateList", "mutation($l: ID!) { updateList(input: {listId: $l, description: \"Seen attacking\"}) { id } }".into(), json!({}), Some(token.clone())),
        ("addListEntries", "mutation($l: ID!) { addListEntries(input: {listId: $l, entries: [{value: \"192.0.2.1\"}, {value: \"192.0.2.2\"}]}) { id } }".into(), json!({}), Some(token.clone())),
        ("removeListEntries", "mutation($l: ID!) { removeListEntries(input: {listId: $l, values: [\"192.0.2.2\"]}) { id } }".into(), json!({}), Some(token.clone())),
        ("setListShared", "mutation($l: ID!) { setListShared(id: $l, shared: true) { id } }".into(), json!({}), Some(token.clone())),
        ("addSharePartner", "mutation($o: ID!, $p: ID!) { addSharePartner(organizationId: $o, partnerOrganizationId: $p) { id } }".into(), json!({ "o": org, "p": org_id(&globex) }), Some(token.clone())),
        ("removeSharePartner", "mutation($o: ID!, $p: ID!) { removeSharePartner(organizationId: $o, partnerOrganizationId: $p) { id } }".into(), json!({ "o": org, "p": org_id(&globex) }), Some(token.clone())),
        ("deleteList", "mutation($l: ID!) { deleteList(id: $l) }".into(), json!({}), Some(token.clone())),
        ("assignRole", "mutation($m: ID!, $r: ID!) { assignRole(input: {membershipId: $m, roleId: $r}) { id } }".into(), json!({ "m": bob_membership, "r": reader }), Some(token.clone())),
        ("removeMember", "mutation($m: ID!) { removeMember(membershipId: $m) }".into(), json!({ "m": bob_membership }), Some(token.clone())),
        ("createServiceAccount", "mutation($o: ID!, $r: ID!) { createServiceAccount(input: {organizationId: $o, name: \"Deploy bot\", roleId: $r}) { id } }".into(), json!({ "o": org, "r": reader }), Some(token.clone())),
        ("updateServiceAccount", "mutation($s: ID!) { updateServiceAccount(input: {id: $s, description: \"Ships releases\"}) { id } }".into(), json!({}), Some(token.clone())),
        ("createApiKey", "mutation($o: ID!, $s: ID) { createApiKey(input: {organizationId: $o, serviceAccountId: $s, name: \"CI\", grants: [{resource: \"list\", level: \"read\"}]}) { apiKey { id } secret } }".into(), json!({}), Some(token.clone())),
        ("rotateApiKey", "mutation($k: ID!) { rotateApiKey(id: $k) { secret } }".into(), json!({}), Some(token.clone())),
        ("revokeApiKey", "mutation($k: ID!) { revokeApiKey(id: $k) { revokedAt } }".into(), json!({}), Some(token.clone())),
        ("deleteServiceAccount", "mutation($s: ID!) { deleteServiceAccount(id: $s) }".into(), json!({}), Some(token.clone())),
        ("leaveOrganization", "mutation($o: ID!) { leaveOrganization(organizationId: $o) }".into(), json!({ "o": org_id(&globex) }), Some(token.clone())),
        ("updateProfile", "mutation { updateProfile(input: {displayName: \"Alice\"}) { id } }".into(), json!({}), Some(token.clone())),
        ("setUserDisabled", "mutation { setUserDisabled(email: \"dave@example.com\", disabled: true) }".into(), json!({}), Some(ops_token.clone())),
        ("changePassword", "mutation($p: String!) { changePassword(input: {currentPassword: $p, newPassword: \"another-long-passphrase\"}) }".into(), json!({ "p": PASSWORD }), Some(token.clone())),
        ("inviteMember", "mutation($o: ID!, $r: ID!) { inviteMember(input: {organizationId: $o, email: \"new@example.com\", roleId: $r}) { id } }".into(), json!({ "o": org, "r": reader }), Some(token.clone())),
        ("revokeInvitation", "mutation($i: ID!) { revokeInvitation(id: $i) { id } }".into(), json!({}), Some(token.clone())),
        ("acceptInvitation", "mutation($t: String!) { acceptInvitation(input: {token: $t, displayName: \"Newcomer\", password: \"a-long-unusual-passphrase\"}) { accessToken } }".into(), json!({}), None),
        ("addOrganizationDomain", "mutation($o: ID!) { addOrganizationDomain(organizationId: $o, domain: \"example.com\") { id txtRecordName txtRecordValue } }".into(), json!({ "o": org }), Some(token.clone())),
        ("verifyOrganizationDomain", "mutation($d: ID!) { verifyOrganizationDomain(id: $d) { verified } }".into(), json!({}), Some(token.clone())),
        ("configureSso", "mutation($i: ConfigureSsoInput!) { configureSso(input: $i) { enabled } }".into(), json!({ "i": {
            "organizationId": org, "issuer": provider.issuer, "clientId": "charter", "clientSecret": SSO_SECRET,
        } }), Some(token.clone())),
        ("exchangeSsoCode", "mutation($c: String!, $p: String) { exchangeSsoCode(code: $c, password: $p) { accessToken } }".into(), json!({}), None),
        ("disableSso", "mutation($o: ID!) { disableSso(organizationId: $o) { enabled } }".into(), json!({ "o": org }), Some(token.clone())),
        ("configureSamlSso", "mutation($o: ID!, $c: String!) { configureSamlSso(input: {organizationId: $o, idpEntityId: \"https://idp.acme.example/metadata\", ssoUrl: \"https://idp.acme.example/sso\", certificates: [$c]}) { protocol } }".into(), json!({ "o": org, "c": crate::saml::keypair("idp").1 }), Some(token.clone())),
        ("configureLdap", "mutation($i: ConfigureLdapInput!) { configureLdap(input: $i) { protocol } }".into(), json!({ "i": {
            "organizationId": org, "url": directory.url(), "startTls": true, "caCertificate": directory.ca_pem,
            "bindDn": crate::directory::ADMIN_DN, "bindPassword": crate::directory::ADMIN_PASSWORD, "baseDn": crate::directory::PEOPLE,
        } }), Some(token.clone())),
        ("configureScim", "mutation($o: ID!, $r: ID!) { configureScim(input: {organizationId: $o, defaultRoleId: $r}) { defaultRole { key } } }".into(), json!({ "o": org, "r": reader }), Some(token.clone())),
        ("setScimGroupRole", "mutation($g: ID!, $r: ID) { setScimGroupRole(input: {groupId: $g, roleId: $r}) { role { key } } }".into(), json!({ "g": crate::scim::scim_group(&app, org_model.id, "Analysts").await, "r": reader }), Some(token.clone())),
        ("configureCertificateSignIn", "mutation($o: ID!, $c: String!) { configureCertificateSignIn(input: {organizationId: $o, authorities: [$c]}) { protocol } }".into(), json!({ "o": org, "c": String::from_utf8(crate::tls::authority("Acme card CA").1.to_pem().unwrap()).unwrap() }), Some(token.clone())),
        ("removeOrganizationDomain", "mutation($d: ID!) { removeOrganizationDomain(id: $d) }".into(), json!({}), Some(token.clone())),
        ("beginTotpEnrollment", "mutation { beginTotpEnrollment { secret } }".into(), json!({}), Some(token.clone())),
        ("confirmTotpEnrollment", "mutation($c: String!) { confirmTotpEnrollment(code: $c) }".into(), json!({}), Some(token.clone())),
        ("startMfaChallenge", "mutation { startMfaChallenge { token } }".into(), json!({}), Some(token.clone())),
        ("verifyMfa", "mutation($c: String!, $t: String) { verifyMfa(input: {challenge: $c, totpCode: $t}) { accessToken } }".into(), json!({}), None),
        ("regenerateRecoveryCodes", "mutation { regenerateRecoveryCodes }".into(), json!({}), Some(token.clone())),
        ("removeTotp", "mutation($c: String!) { removeTotp(code: $c) }".into(), json!({}), Some(token.clone())),
        ("beginSecurityKeyRegistration", "mutation { beginSecurityKeyRegistration(name: \"Key\") }".into(), json!({}), Some(token.clone())),
        ("finishSecurityKeyRegistration", "mutation($r: String!) { finishSecurityKeyRegistration(response: $r) { factor { id } } }".into(), json!({}), Some(token.clone())),
        ("removeSecurityKey", "mutation($f: ID!) { removeSecurityKey(id: $f) }".into(), json!({}), Some(token.clone())),
        ("setOrganizationMfaRequirement", "mutation($o: ID!) { setOrganizationMfaRequirement(organizationId: $o, required: true) { mfaRequired } }".into(), json!({ "o": org }), Some(token.clone())),
        // Dave belongs to no organization: the reset is his security event alone.
        ("resetUserMfa", "mutation { resetUserMfa(email: \"dave@example.com\") }".into(), json!({}), Some(ops_token.clone())),
        ("logout", "mutation { logout }".into(), json!({}), Some(token.clone())),
    ];
    let mut totp_secret = String::new();
    let mut challenge = String::new();
    let mut recovery_codes: Vec<String> = Vec::new();
    let mut security_key = webauthn_authenticator_rs::softpasskey::SoftPasskey::new(false);
    let webauthn_origin = {
        let port = app.address.rsplit(':').next().unwrap();
        url::Url::parse(&format!("http://localhost:{port}")).unwrap()
    };
    let mut registration = String::new();
    let mut factor_id = String::new();
    let mut domain_id = String::new();
    for (name, query, mut variables, token) in steps {
        if name == "updateRole" || name == "deleteRole" {
            variables = json!({ "r": role_id });
        }
        if name == "revokeInvitation" {
            variables = json!({ "i": invitation_id });
        }
        if name == "updateServiceAccount" || name == "deleteServiceAccount" {
            variables = json!({ "s": account_id });
        }
        if name == "createApiKey" {
            variables = json!({ "o": org, "s": account_id });
        }
        if name.contains("Webhook") && name != "createWebhookEndpoint" {
            variables = json!({ "w": webhook_id, "d": delivery_id });
        }
        if name == "rotateApiKey" || name == "revokeApiKey" {
            variables = json!({ "k": key_id });
        }
        if [
            "updateList",
            "addListEntries",
            "removeListEntries",
            "setListShared",
            "deleteList",
        ]
        .contains(&name)
        {
            variables = json!({ "l": list_id });
        }
        if name == "confirmTotpEnrollment" {
            variables = json!({ "c": crate::otp::code(&totp_secret, 0).unwrap() });
        }
        if name == "verifyMfa" {
            // The next step's code: the current one was used by the confirmation.
            variables = json!({ "c": challenge, "t": crate::otp::code(&totp_secret, 1).unwrap() });
        }
        if name == "removeTotp" {
            variables = json!({ "c": recovery_codes[0] });
        }
        if name == "finishSecurityKeyRegistration" {
            use webauthn_authenticator_rs::prelude::WebauthnAuthenticator;
            let options = serde_json::from_str(&registration).unwrap();
            let answer = security_key
                .do_registration(webauthn_origin.clone(), options)
                .unwrap();
            variables = json!({ "r": serde_json::to_string(&answer).unwrap() });
        }
        if name == "removeSecurityKey" {
            variables = json!({ "f": factor_id });
        }
        if name == "verifyOrganizationDomain" || name == "removeOrganizationDomain" {
            variables = json!({ "d": domain_id });
        }
        if name == "exchangeSsoCode" {
            // A sign-in through the provider, whose callback hands over the code.
            let org_model = entity::organization::Entity::find_by_id(org_model.id)
                .one(app.state.database())
                .await
                .unwrap()
                .unwrap();
            let browser = crate::sso::Acme::browser();
            let start = format!(
                "{}/sso/{}/start?return_to=https%3A%2F%2Fapp.example.test%2F",
                app.address, org_model.public_id
            );
            let started = browser.get(start).send().await.unwrap();
            let authorize = crate::sso::location(&started);
            let back = provider.sign_in(&browser, &authorize, "alice").await;
            let answer = browser.get(back).send().await.unwrap();
            let back = url::Url::parse(&crate::sso::location(&answer)).expect("a code");
            let code = back
                .query_pairs()
                .find(|(key, _)| key == "sso_code")
                .map(|(_, code)| code.into_owned())
                .unwrap();
            // Alice's account exists: she confirms its link with her (changed) password.
            variables = json!({ "c": code, "p": "another-long-passphrase" });
        }
        if name == "acceptInvitation" {
            // A second invitation, to accept (the first was revoked).
            let again = app
                .gql(
                    Some(&session.access_token),
                    "mutation($o: ID!, $r: ID!) { inviteMember(input: {organizationId: $o, email: \"new@example.com\", roleId: $r}) { id } }",
                    json!({ "o": org, "r": reader }),
                )
                .await;
            assert!(again["errors"].is_null(), "{again}");
            variables = json!({ "t": app.invitation_token("new@example.com") });
        }
        let before = event_count(&app).await;
        let body = app.gql(token.as_deref(), &query, variables).await;
        assert!(body["errors"].is_null(), "{name}: {body}");
        if name == "createRole" {
            role_id = body["data"]["createRole"]["id"]
                .as_str()
                .unwrap()
                .to_owned();
        }
        if name == "createServiceAccount" {
            account_id = body["data"]["createServiceAccount"]["id"]
                .as_str()
                .unwrap()
                .to_owned();
        }
        if name == "createApiKey" {
            key_id = body["data"]["createApiKey"]["apiKey"]["id"]
                .as_str()
                .unwrap()
                .to_owned();
        }
        for issued in [
            "createApiKey",
            "rotateApiKey",
            "createWebhookEndpoint",
            "rotateWebhookSecret",
        ] {
            if let Some(secret) = body["data"][issued]["secret"].as_str() {
                secrets.push(secret.to_owned());
            }
        }
        if name == "createWebhookEndpoint" {
            webhook_id = body["data"][name]["endpoint"]["id"]
                .as_str()
                .unwrap()
                .to_owned();
        }
        if name == "sendTestWebhook" {
            delivery_id = body["data"][name]["id"].as_str().unwrap().to_owned();
        }
        if name == "createList" {
            list_id = body["data"]["createList"]["id"]
                .as_str()
                .unwrap()
                .to_owned();
        }
        if name == "beginTotpEnrollment" {
            totp_secret = body["data"]["beginTotpEnrollment"]["secret"]
                .as_str()
                .unwrap()
                .to_owned();
        }
        if name == "beginSecurityKeyRegistration" {
            registration = body["data"]["beginSecurityKeyRegistration"]
                .as_str()
                .unwrap()
                .to_owned();
        }
        if name == "finishSecurityKeyRegistration" {
            factor_id = body["data"]["finishSecurityKeyRegistration"]["factor"]["id"]
                .as_str()
                .unwrap()
                .to_owned();
        }
        if name == "startMfaChallenge" {
            challenge = body["data"]["startMfaChallenge"]["token"]
                .as_str()
                .unwrap()
                .to_owned();
        }
        for issued in ["confirmTotpEnrollment", "regenerateRecoveryCodes"] {
            if let Some(codes) = body["data"][issued].as_array() {
                recovery_codes = codes
                    .iter()
                    .map(|code| code.as_str().unwrap().to_owned())
                    .collect();
                secrets.extend(recovery_codes.clone());
            }
        }
        if name == "addOrganizationDomain" {
            let claim = &body["data"]["addOrganizationDomain"];
            domain_id = claim["id"].as_str().unwrap().to_owned();
            dns.set_records(&[(
                claim["txtRecordName"].as_str().unwrap(),
                claim["txtRecordValue"].as_str().unwrap(),
            )]);
        }
        if name == "inviteMember" {
            invitation_id = body["data"]["inviteMember"]["id"]
                .as_str()
                .unwrap()
                .to_owned();
        }
        // A step-up challenge changes nothing yet: its answer (verifyMfa) is recorded. The
        // first single sign-on of an existing account records the link its password confirmed
        // beside the sign-in.
        let expected = match name {
            // A test message is sent, not recorded: nothing of the organization changed.
            "startMfaChallenge" | "sendTestWebhook" => 0,
            "exchangeSsoCode" => 2,
            _ => 1,
        };
        assert_eq!(
            event_count(&app).await - before,
            expected,
            "{name} writes {expected} event"
        );
        if expected == 0 {
            covered.push(name.to_owned());
            continue;
        }
        let event = last_event(&app).await;
        let text = format!("{} {}", event.description, event.payload);
        for secret in [
            PASSWORD,
            "crt_",
            "chi_",
            "$argon2",
            "eyJ",
            "a-long-unusual-passphrase",
            SSO_SECRET,
            crate::directory::ADMIN_PASSWORD,
            "csc_",
            "cmc_",
            "whsec_",
        ] {
            assert!(!text.contains(secret), "{name} recorded a secret: {text}");
        }
        assert!(
            totp_secret.is_empty() || !text.contains(&totp_secret),
            "{name} recorded the TOTP secret: {text}"
        );
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{name} recorded a key's secret: {text}"
            );
            assert!(
                !text.contains(&charter::auth::tokens::hash_token(secret)),
                "{name}: {text}"
            );
        }
        covered.push(name.to_owned());
    }
    let mut all = mutation_names();
    all.sort();
    covered.sort();
    assert_eq!(
        all, covered,
        "every mutation of the schema is exercised here"
    );
}

#[tokio::test]
async fn the_audit_log_answers_who_changed_what_when_and_from_where() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let bob = app.create_user("bob@example.com").await;
    let dave = app.create_user("dave@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    app.add_member(&bob, &org, "organization_administrator")
        .await;
    app.add_member(&dave, &org, "standard_user").await;
    let alice_token = app.login("alice@example.com").await.access_token;
    let bob_token = app.login("bob@example.com").await.access_token;
    let rename = "mutation($o: ID!, $n: String!) { updateOrganization(input: {organizationId: $o, name: $n}) { name } }";
    for (token, name) in [
        (&alice_token, "Acme One"),
        (&bob_token, "Acme Two"),
        (&alice_token, "Acme Three"),
    ] {
        let response = app
            .client
            .post(format!("{}/graphql", app.address))
            .bearer_auth(token)
            .header("user-agent", "console/1.0")
            .json(&json!({ "query": rename, "variables": { "o": org_id(&org), "n": name } }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let log = "query($o: ID!, $action: String, $actor: ID, $search: String, $first: Int, $after: String) { organization(id: $o) { auditLog(action: $action, actorId: $actor, search: $search, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id at action actor { email } actorEmail ip userAgent targetType targetId description json } } } } }";
    let body = app
        .gql(
            Some(&bob_token),
            log,
            json!({ "o": org_id(&org), "action": "organization.updated" }),
        )
        .await;
    let audit = &body["data"]["organization"]["auditLog"];
    assert_eq!(audit["totalCount"], 3, "{body}");
    let newest = &audit["edges"][0]["node"];
    assert_eq!(newest["actorEmail"], "alice@example.com");
    assert_eq!(newest["actor"]["email"], "alice@example.com");
    assert_eq!(newest["ip"], "127.0.0.1");
    assert_eq!(newest["userAgent"], "console/1.0");
    assert_eq!(newest["targetType"], "organization");
    assert_eq!(
        newest["description"],
        "alice@example.com renamed the organization from Acme Two to Acme Three"
    );
    assert_eq!(
        newest["json"]["payload"],
        json!({ "before": { "name": "Acme Two" }, "after": { "name": "Acme Three" } })
    );

    let bob_id = charter::graphql::ids::NodeId::User(bob.id).to_id().0;
    let body = app
        .gql(
            Some(&bob_token),
            log,
            json!({ "o": org_id(&org), "actor": bob_id }),
        )
        .await;
    let edges = body["data"]["organization"]["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(edges.len(), 1, "{body}");
    assert!(
        edges[0]["node"]["description"]
            .as_str()
            .unwrap()
            .contains("to Acme Two")
    );

    let body = app
        .gql(
            Some(&bob_token),
            log,
            json!({ "o": org_id(&org), "search": "ACME TWO" }),
        )
        .await;
    assert_eq!(
        body["data"]["organization"]["auditLog"]["totalCount"], 2,
        "{body}"
    );
    let body = app
        .gql(
            Some(&bob_token),
            log,
            json!({ "o": org_id(&org), "search": "100%_" }),
        )
        .await;
    assert_eq!(
        body["data"]["organization"]["auditLog"]["totalCount"], 0,
        "{body}"
    );

    // Newest first, page by page, every event once.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let body = app
            .gql(
                Some(&alice_token),
                log,
                json!({ "o": org_id(&org), "first": 1, "after": after }),
            )
            .await;
        let audit = &body["data"]["organization"]["auditLog"];
        for edge in audit["edges"].as_array().unwrap() {
            seen.push(edge["node"]["json"]["seq"].as_i64().unwrap());
        }
        if !audit["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = audit["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(
        seen,
        vec![4, 3, 2, 1],
        "organization.created, then three renames"
    );

    // A search pages like the whole log: through the text index for terms of three characters
    // or more, by a scan for shorter ones, in the description, the actor's email and the action.
    for (search, expected) in [
        ("RENAMED", vec![4, 3, 2]),
        ("bob@example", vec![3]),
        ("organization.created", vec![1]),
        ("Tw", vec![4, 3]),
        ("e", vec![4, 3, 2, 1]),
        ("no such words", vec![]),
    ] {
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let body = app
                .gql(
                    Some(&alice_token),
                    log,
                    json!({ "o": org_id(&org), "search": search, "first": 1, "after": after }),
                )
                .await;
            let audit = &body["data"]["organization"]["auditLog"];
            assert_eq!(audit["totalCount"], expected.len(), "{search}: {body}");
            for edge in audit["edges"].as_array().unwrap() {
                seen.push(edge["node"]["json"]["seq"].as_i64().unwrap());
            }
            if !audit["pageInfo"]["hasNextPage"].as_bool().unwrap() {
                break;
            }
            after = audit["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        }
        assert_eq!(seen, expected, "search {search:?}");
    }

    // A standard user may not read the log.
    let dave_token = app.login("dave@example.com").await.access_token;
    let body = app
        .gql(Some(&dave_token), log, json!({ "o": org_id(&org) }))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
}

#[tokio::test]
async fn users_see_their_own_security_events_and_nobody_else_does() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    app.create_user("mallory@example.com").await;
    let failed = app
        .gql(
            None,
            "mutation { login(input: {email: \"alice@example.com\", password: \"not-her-password\"}) { accessToken } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&failed), "UNAUTHENTICATED");
    let session = app.login("alice@example.com").await;
    let refresh = "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }";
    app.gql(None, refresh, json!({ "t": session.refresh_token }))
        .await;
    app.gql(None, refresh, json!({ "t": session.refresh_token }))
        .await;
    let token = app.login("alice@example.com").await.access_token;
    let body = app
        .gql(
            Some(&token),
            "{ viewer { securityEvents { totalCount edges { node { id action ip } } } } }",
            json!({}),
        )
        .await;
    let events = &body["data"]["viewer"]["securityEvents"];
    let actions: Vec<&str> = events["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "session.login",
            "session.refresh_token_reused",
            "session.refreshed",
            "session.login",
            "session.login_failed",
            "user.created"
        ],
        "{body}"
    );
    let event_id = events["edges"][0]["node"]["id"].clone();
    let mallory = app.login("mallory@example.com").await.access_token;
    let body = app
        .gql(
            Some(&mallory),
            "query($id: ID!) { node(id: $id) { ... on AuditEvent { action } } }",
            json!({ "id": event_id }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    let _ = alice;
}

#[tokio::test]
async fn verify_names_the_first_event_altered_behind_its_back() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    let token = app.login("alice@example.com").await.access_token;
    for n in 0..3 {
        app.gql(
            Some(&token),
            "mutation($o: ID!, $n: String!) { updateOrganization(input: {organizationId: $o, name: $n}) { name } }",
            json!({ "o": org_id(&org), "n": format!("Acme {n}") }),
        )
        .await;
    }
    let (checked, broken) = charter::services::audit::verify(&app.state, None)
        .await
        .unwrap();
    assert!(checked >= 4 && broken.is_empty(), "{broken:?}");

    let chain = format!("org:{}", org.id);
    let second = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::Chain.eq(chain.clone()))
        .filter(entity::audit_event::Column::Seq.eq(2))
        .one(app.state.database())
        .await
        .unwrap()
        .unwrap();
    app.state
        .database()
        .execute_unprepared(&format!(
            "UPDATE audit_events SET description = 'nothing happened' WHERE chain = '{chain}' AND seq = 2"
        ))
        .await
        .unwrap();
    let (_, broken) = charter::services::audit::verify(&app.state, Some(&chain))
        .await
        .unwrap();
    assert_eq!(broken.len(), 1);
    assert_eq!(broken[0].event_id, second.id);
    assert_eq!(broken[0].seq, 2);

    // Deleting an event instead is caught too.
    app.state
        .database()
        .execute_unprepared(&format!(
            "DELETE FROM audit_events WHERE chain = '{chain}' AND seq = 3"
        ))
        .await
        .unwrap();
    app.state
        .database()
        .execute_unprepared(&format!(
            "UPDATE audit_events SET description = '{}' WHERE chain = '{chain}' AND seq = 2",
            second.description
        ))
        .await
        .unwrap();
    let (_, broken) = charter::services::audit::verify(&app.state, Some(&chain))
        .await
        .unwrap();
    assert_eq!(broken.len(), 1);
    assert_eq!(broken[0].seq, 4, "{broken:?}");
}

#[tokio::test]
async fn a_change_rolled_back_after_writing_its_event_leaves_neither() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    let before = event_count(&app).await;
    {
        use sea_orm::{ActiveModelTrait, Set};
        let txn = charter::db::begin_write(app.state.database())
            .await
            .unwrap();
        let mut active: entity::organization::ActiveModel = org.clone().into();
        active.name = Set("Half written".to_owned());
        active.update(&txn).await.unwrap();
        charter::services::audit::record(
            &txn,
            &charter::services::audit::Actor::command_line(),
            charter::services::audit::Event::new(
                charter::services::audit::Scope::Organization(org.id),
                charter::services::audit::Action::OrganizationUpdated,
                "renamed",
            ),
        )
        .await
        .unwrap();
        // A later step fails: the transaction is dropped without commit.
    }
    assert_eq!(event_count(&app).await, before);
    let reloaded = entity::organization::Entity::find_by_id(org.id)
        .one(app.state.database())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reloaded.name, "Acme");
    let (_, broken) = charter::services::audit::verify(&app.state, None)
        .await
        .unwrap();
    assert!(broken.is_empty(), "{broken:?}");

    // And through the API: a role that breaks a dependency writes nothing.
    let token = app.login("alice@example.com").await.access_token;
    let before = event_count(&app).await;
    let body = app
        .gql(
            Some(&token),
            "mutation($o: ID!) { updateOrganization(input: {organizationId: $o, name: \"\"}) { name } }",
            json!({ "o": org_id(&org) }),
        )
        .await;
    assert_eq!(error_code(&body), "INVALID_INPUT");
    assert_eq!(event_count(&app).await, before);
}

#[tokio::test]
async fn concurrent_changes_in_one_organization_never_fork_the_chain() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    let token = app.login("alice@example.com").await.access_token;
    let requests = (0..12).map(|n| {
        let app = &app;
        let token = token.clone();
        let org = org_id(&org);
        async move {
            app.gql(
                Some(&token),
                "mutation($o: ID!, $n: String!) { updateOrganization(input: {organizationId: $o, name: $n}) { name } }",
                json!({ "o": org, "n": format!("Acme {n}") }),
            )
            .await
        }
    });
    for body in futures_util::future::join_all(requests).await {
        assert!(body["errors"].is_null(), "{body}");
    }
    let chain = format!("org:{}", org.id);
    let seqs: Vec<i64> = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::Chain.eq(chain.clone()))
        .order_by_asc(entity::audit_event::Column::Seq)
        .all(app.state.database())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, (1..=13).collect::<Vec<i64>>());
    let (_, broken) = charter::services::audit::verify(&app.state, Some(&chain))
        .await
        .unwrap();
    assert!(broken.is_empty(), "{broken:?}");
}

#[tokio::test]
async fn purging_old_events_is_recorded_and_every_chain_still_verifies() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    let token = app.login("alice@example.com").await.access_token;
    app.gql(
        Some(&token),
        "mutation($o: ID!) { updateOrganization(input: {organizationId: $o, name: \"Old\"}) { name } }",
        json!({ "o": org_id(&org) }),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let cut = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    app.gql(
        Some(&token),
        "mutation($o: ID!) { updateOrganization(input: {organizationId: $o, name: \"New\"}) { name } }",
        json!({ "o": org_id(&org) }),
    )
    .await;
    let removed = charter::services::audit::purge(
        &app.state,
        &charter::services::audit::Actor::command_line(),
        cut,
    )
    .await
    .unwrap();
    assert!(
        removed >= 2,
        "organization.created and the first rename, at least: {removed}"
    );
    let (_, broken) = charter::services::audit::verify(&app.state, None)
        .await
        .unwrap();
    assert!(broken.is_empty(), "{broken:?}");
    let body = app
        .gql(
            Some(&token),
            "query($o: ID!) { organization(id: $o) { auditLog { edges { node { action } } } } }",
            json!({ "o": org_id(&org) }),
        )
        .await;
    let actions: Vec<&str> = body["data"]["organization"]["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec!["audit.purged", "organization.updated"],
        "{body}"
    );

    // The search index forgets purged events with them.
    let body = app
        .gql(
            Some(&token),
            "query($o: ID!) { organization(id: $o) { auditLog(search: \"to Old\") { totalCount } } }",
            json!({ "o": org_id(&org) }),
        )
        .await;
    assert_eq!(
        body["data"]["organization"]["auditLog"]["totalCount"], 0,
        "{body}"
    );
    if app.state.database().get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        let count = |table: &'static str| {
            let db = app.state.database().clone();
            async move {
                db.query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DatabaseBackend::Sqlite,
                    format!("SELECT count(*) AS n FROM {table}"),
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get::<i64>("", "n")
                .unwrap()
            }
        };
        assert_eq!(count("audit_search").await, count("audit_events").await);
    }
}
