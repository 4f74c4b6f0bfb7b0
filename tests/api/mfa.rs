//! Multi-factor authentication: authenticator apps (codes computed by oathtool, another
//! implementation), recovery codes, the sign-in challenge, the throttle, an organization's
//! requirement, step-up and an operator's reset.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, error_code, org_id};

/// Enrolls an authenticator app for the bearer of `token`: its secret and recovery codes, or
/// `None` when oathtool cannot run here.
pub(crate) async fn enroll(app: &TestApp, token: &str) -> Option<(String, Vec<String>)> {
    let begun = app
        .gql(
            Some(token),
            "mutation { beginTotpEnrollment { secret uri qrCodeSvg } }",
            json!({}),
        )
        .await;
    let enrollment = &begun["data"]["beginTotpEnrollment"];
    let secret = enrollment["secret"].as_str().expect("a secret").to_owned();
    assert!(
        enrollment["uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    assert!(
        enrollment["qrCodeSvg"]
            .as_str()
            .unwrap()
            .starts_with("<svg")
    );
    let code = crate::otp::code(&secret, 0)?;
    let confirmed = app
        .gql(
            Some(token),
            "mutation($c: String!) { confirmTotpEnrollment(code: $c) }",
            json!({ "c": code }),
        )
        .await;
    let codes: Vec<String> = confirmed["data"]["confirmTotpEnrollment"]
        .as_array()
        .unwrap_or_else(|| panic!("{confirmed}"))
        .iter()
        .map(|code| code.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    Some((secret, codes))
}

async fn login(app: &TestApp, email: &str, organization: Option<&str>) -> Value {
    app.gql(
        None,
        "mutation($e: String!, $p: String!, $o: ID) { login(input: {email: $e, password: $p, organizationId: $o}) { accessToken mfaChallenge { token methods expiresAt } } }",
        json!({ "e": email, "p": PASSWORD, "o": organization }),
    )
    .await["data"]["login"]
        .clone()
}

async fn verify(app: &TestApp, challenge: &Value, field: &str, code: &str) -> Value {
    app.gql(
        None,
        &format!("mutation($c: String!, $v: String) {{ verifyMfa(input: {{challenge: $c, {field}: $v}}) {{ accessToken refreshToken }} }}"),
        json!({ "c": challenge, "v": code }),
    )
    .await
}

fn amr(token: &str) -> Value {
    crate::sso::claims(token)["amr"].clone()
}

async fn security_actions(app: &TestApp, user: uuid::Uuid) -> Vec<String> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::SubjectUserId.eq(user))
        .order_by_asc(entity::audit_event::Column::At)
        .order_by_asc(entity::audit_event::Column::Seq)
        .all(app.state.database())
        .await
        .unwrap()
        .into_iter()
        .map(|event| event.action)
        .collect()
}

#[tokio::test]
async fn a_sign_in_with_an_app_waits_for_its_code_and_takes_each_code_once() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let token = app.login(&alice.email).await.access_token;
    let Some((secret, _)) = enroll(&app, &token).await else {
        return;
    };
    let viewer = app
        .gql(
            Some(&token),
            "{ viewer { user { mfaEnabled } } }",
            json!({}),
        )
        .await;
    assert_eq!(viewer["data"]["viewer"]["user"]["mfaEnabled"], true);

    let first = login(&app, &alice.email, None).await;
    assert!(
        first["accessToken"].is_null(),
        "no tokens before the second factor: {first}"
    );
    let challenge = first["mfaChallenge"]["token"].clone();
    assert_eq!(
        first["mfaChallenge"]["methods"],
        json!(["totp", "recovery_code"])
    );

    // A wrong code, then a malformed one: refused, the challenge still stands.
    let wrong = verify(&app, &challenge, "totpCode", "000000").await;
    assert_eq!(error_code(&wrong), "UNAUTHENTICATED", "{wrong}");
    let next = crate::otp::code(&secret, 1).unwrap();
    let body = verify(&app, &challenge, "totpCode", &next).await;
    let access = body["data"]["verifyMfa"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(amr(access), json!(["pwd", "otp"]));
    // The challenge is used up; the same code on a new challenge is a replay.
    assert_eq!(
        error_code(&verify(&app, &challenge, "totpCode", &next).await),
        "UNAUTHENTICATED"
    );
    let again = login(&app, &alice.email, None).await["mfaChallenge"]["token"].clone();
    assert_eq!(
        error_code(&verify(&app, &again, "totpCode", &next).await),
        "UNAUTHENTICATED"
    );
    // Both codes at once, or neither: refused as input.
    let both = app
        .gql(
            None,
            "mutation($c: String!) { verifyMfa(input: {challenge: $c, totpCode: \"1\", recoveryCode: \"2\"}) { accessToken } }",
            json!({ "c": again }),
        )
        .await;
    assert_eq!(error_code(&both), "INVALID_INPUT");
    let actions = security_actions(&app, alice.id).await;
    for action in [
        "mfa.enrollment_started",
        "mfa.enrolled",
        "mfa.verify_failed",
    ] {
        assert!(
            actions.contains(&action.to_owned()),
            "{action}: {actions:?}"
        );
    }
}

#[tokio::test]
async fn a_code_one_step_early_or_late_passes_and_two_steps_do_not() {
    let app = TestApp::spawn().await;
    let bob = app.create_user("bob@example.com").await;
    let token = app.login(&bob.email).await.access_token;
    let begun = app
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
    // The enrollment's first code from a phone whose clock is 30 s behind.
    let Some(behind) = crate::otp::code(&secret, -1) else {
        return;
    };
    let confirmed = app
        .gql(
            Some(&token),
            "mutation($c: String!) { confirmTotpEnrollment(code: $c) }",
            json!({ "c": behind }),
        )
        .await;
    assert!(confirmed["errors"].is_null(), "{confirmed}");
    let challenge = login(&app, &bob.email, None).await["mfaChallenge"]["token"].clone();
    // The codes two steps away and the server's check fall in one step.
    crate::otp::clear_of_step_edge(5).await;
    for steps in [2, -2] {
        let far = crate::otp::code(&secret, steps).unwrap();
        let body = verify(&app, &challenge, "totpCode", &far).await;
        assert_eq!(
            error_code(&body),
            "UNAUTHENTICATED",
            "{steps} steps: {body}"
        );
    }
    let ahead = crate::otp::code(&secret, 1).unwrap();
    let body = verify(&app, &challenge, "totpCode", &ahead).await;
    assert!(
        body["data"]["verifyMfa"]["accessToken"].is_string(),
        "{body}"
    );
}

#[tokio::test]
async fn a_recovery_code_signs_in_once() {
    let app = TestApp::spawn().await;
    let carol = app.create_user("carol@example.com").await;
    let token = app.login(&carol.email).await.access_token;
    let Some((_, codes)) = enroll(&app, &token).await else {
        return;
    };
    let challenge = login(&app, &carol.email, None).await["mfaChallenge"]["token"].clone();
    // Typed loosely: lower case, a space for the dash.
    let typed = codes[3].to_lowercase().replace('-', " ");
    let body = verify(&app, &challenge, "recoveryCode", &typed).await;
    assert!(
        body["data"]["verifyMfa"]["accessToken"].is_string(),
        "{body}"
    );
    let challenge = login(&app, &carol.email, None).await["mfaChallenge"]["token"].clone();
    let reused = verify(&app, &challenge, "recoveryCode", &codes[3]).await;
    assert_eq!(error_code(&reused), "UNAUTHENTICATED");
    assert!(
        security_actions(&app, carol.id)
            .await
            .contains(&"mfa.recovery_code_used".to_owned())
    );
}

#[tokio::test]
async fn wrong_codes_are_throttled_per_account_even_in_parallel_or_aliased() {
    let app = TestApp::spawn().await;
    let dave = app.create_user("dave@example.com").await;
    let token = app.login(&dave.email).await.access_token;
    let Some((secret, _)) = enroll(&app, &token).await else {
        return;
    };
    let challenge = login(&app, &dave.email, None).await["mfaChallenge"]["token"].clone();
    // Several verifications in one document are refused before any runs.
    let aliased = app
        .gql(
            None,
            "mutation($c: String!) { a: verifyMfa(input: {challenge: $c, totpCode: \"111111\"}) { accessToken } b: verifyMfa(input: {challenge: $c, totpCode: \"222222\"}) { accessToken } }",
            json!({ "c": challenge }),
        )
        .await;
    assert_eq!(error_code(&aliased), "INVALID_INPUT", "{aliased}");
    let attempts = (0..20).map(|n| {
        let app = &app;
        let challenge = challenge.clone();
        async move { verify(app, &challenge, "totpCode", &format!("{:06}", 100_000 + n)).await }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let codes: Vec<&str> = answers.iter().map(error_code).collect();
    let checked = codes
        .iter()
        .filter(|code| **code == "UNAUTHENTICATED")
        .count();
    let limited = codes.iter().filter(|code| **code == "RATE_LIMITED").count();
    assert_eq!(checked + limited, 20, "{codes:?}");
    assert!(checked <= 5, "at most five codes are compared: {codes:?}");
    // The right code waits too: concurrency bought nothing.
    let right = crate::otp::code(&secret, 1).unwrap();
    assert_eq!(
        error_code(&verify(&app, &challenge, "totpCode", &right).await),
        "RATE_LIMITED"
    );
}

#[tokio::test]
async fn an_organization_that_requires_mfa_shows_members_without_it_only_how_to_enroll() {
    let app = TestApp::spawn().await;
    let owner = app.create_user("owner@example.com").await;
    let erin = app.create_user("erin@example.com").await;
    let org = app.create_org(&owner, "Acme").await;
    let elsewhere = app.create_org(&erin, "Erin's").await;
    app.add_member(&erin, &org, "standard_user").await;
    let owner_token = app.login(&owner.email).await.access_token;
    let Some(_) = enroll(&app, &owner_token).await else {
        return;
    };
    let set = app
        .gql(
            Some(&owner_token),
            "mutation($o: ID!) { setOrganizationMfaRequirement(organizationId: $o, required: true) { mfaRequired } }",
            json!({ "o": org_id(&org) }),
        )
        .await;
    assert_eq!(
        set["data"]["setOrganizationMfaRequirement"]["mfaRequired"], true,
        "{set}"
    );

    // Erin has no second factor: she signs in, and Acme refuses her everything but enrolling.
    let erin_token = app
        .login_to(&erin.email, Some(&org_id(&org)))
        .await
        .access_token;
    let read = "query($o: ID!) { organization(id: $o) { name members { totalCount } } }";
    let refused = app
        .gql(Some(&erin_token), read, json!({ "o": org_id(&org) }))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    assert!(
        refused
            .to_string()
            .contains("requires multi-factor authentication")
    );
    // A password session elsewhere cannot switch in.
    let other = app
        .login_to(&erin.email, Some(&org_id(&elsewhere)))
        .await
        .access_token;
    let switched = app
        .gql(
            Some(&other),
            "mutation($o: ID!) { switchOrganization(organizationId: $o) { accessToken } }",
            json!({ "o": org_id(&org) }),
        )
        .await;
    assert_eq!(error_code(&switched), "FORBIDDEN", "{switched}");
    // Enrolling counts for her session at once.
    enroll(&app, &erin_token).await.unwrap();
    let allowed = app
        .gql(Some(&erin_token), read, json!({ "o": org_id(&org) }))
        .await;
    assert_eq!(allowed["data"]["organization"]["name"], "Acme", "{allowed}");
    // The owner sees who has a second factor.
    let members = app
        .gql(
            Some(&owner_token),
            "query($o: ID!) { organization(id: $o) { members { nodes { user { email mfaEnabled } } } } }",
            json!({ "o": org_id(&org) }),
        )
        .await;
    let nodes = members["data"]["organization"]["members"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        nodes.iter().all(|m| m["user"]["mfaEnabled"] == true),
        "{members}"
    );
}

#[tokio::test]
async fn sensitive_changes_need_a_recent_second_factor_in_an_old_session() {
    let app = TestApp::spawn().await;
    let frank = app.create_user("frank@example.com").await;
    let org = app.create_org(&frank, "Acme").await;
    let session = app.login(&frank.email).await;
    let token = session.access_token.clone();
    let Some((secret, codes)) = enroll(&app, &token).await else {
        return;
    };
    // The session's check is eleven minutes old.
    app.age_second_factor(frank.id, 11).await;
    let o = org_id(&org);
    let sensitive = [
        ("changePassword", "mutation { changePassword(input: {currentPassword: \"correct-horse-battery\", newPassword: \"another-long-passphrase\"}) }".to_owned()),
        ("createApiKey", format!("mutation {{ createApiKey(input: {{organizationId: \"{o}\", name: \"CI\", grants: []}}) {{ secret }} }}")),
        ("configureSso", format!("mutation {{ configureSso(input: {{organizationId: \"{o}\", issuer: \"https://idp.example\", clientId: \"c\", clientSecret: \"s\"}}) {{ enabled }} }}")),
        ("disableSso", format!("mutation {{ disableSso(organizationId: \"{o}\") {{ enabled }} }}")),
        ("setOrganizationMfaRequirement", format!("mutation {{ setOrganizationMfaRequirement(organizationId: \"{o}\", required: true) {{ id }} }}")),
        ("beginTotpEnrollment", "mutation { beginTotpEnrollment { secret } }".to_owned()),
        ("removeTotp", format!("mutation {{ removeTotp(code: \"{}\") }}", codes[0])),
        ("regenerateRecoveryCodes", "mutation { regenerateRecoveryCodes }".to_owned()),
        ("beginSecurityKeyRegistration", "mutation { beginSecurityKeyRegistration(name: \"Key\") }".to_owned()),
        ("removeSecurityKey", format!("mutation {{ removeSecurityKey(id: \"{}\") }}", charter::graphql::ids::NodeId::MfaFactor(uuid::Uuid::now_v7()).to_id().0)),
    ];
    for (name, query) in &sensitive {
        let body = app.gql(Some(&token), query, json!({})).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{name}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["stepUpRequired"], true,
            "{name}: {body}"
        );
    }
    // A step-up of the same session.
    let started = app
        .gql(
            Some(&token),
            "mutation { startMfaChallenge { token } }",
            json!({}),
        )
        .await;
    let challenge = started["data"]["startMfaChallenge"]["token"].clone();
    let code = crate::otp::code(&secret, 1).unwrap();
    let stepped = verify(&app, &challenge, "totpCode", &code).await;
    let fresh = stepped["data"]["verifyMfa"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{stepped}"))
        .to_owned();
    // The old access token belongs to the same session, which now counts as checked.
    for token in [&token, &fresh] {
        let body = app
            .gql(
                Some(token),
                "mutation { regenerateRecoveryCodes }",
                json!({}),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
    }
    assert!(
        security_actions(&app, frank.id)
            .await
            .contains(&"session.mfa_verified".to_owned())
    );
}

#[tokio::test]
async fn an_operator_resets_a_lost_factor_and_every_session_ends() {
    let app = TestApp::spawn().await;
    let ops = app.create_user("ops@example.com").await;
    charter::services::identity::users::set_operator(
        &app.state,
        &charter::services::audit::Actor::command_line(),
        &charter::domain::Email::parse("email", &ops.email).unwrap(),
        true,
    )
    .await
    .unwrap();
    let grace = app.create_user("grace@example.com").await;
    let one = app.create_org(&grace, "One").await;
    let two = app.create_org(&grace, "Two").await;
    let token = app.login(&grace.email).await.access_token;
    let Some(_) = enroll(&app, &token).await else {
        return;
    };
    let ops_token = app.login(&ops.email).await.access_token;
    // Only an operator may.
    let refused = app
        .gql(
            Some(&token),
            "mutation { resetUserMfa(email: \"grace@example.com\") }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    let reset = app
        .gql(
            Some(&ops_token),
            "mutation { resetUserMfa(email: \"grace@example.com\") }",
            json!({}),
        )
        .await;
    assert_eq!(reset["data"]["resetUserMfa"], 1, "{reset}");
    let ended = app
        .gql(Some(&token), "{ viewer { user { email } } }", json!({}))
        .await;
    assert_eq!(error_code(&ended), "UNAUTHENTICATED");
    let signed = login(&app, &grace.email, None).await;
    assert!(
        signed["accessToken"].is_string(),
        "no challenge without a factor: {signed}"
    );
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    for org in [&one, &two] {
        let logged = entity::audit_event::Entity::find()
            .filter(entity::audit_event::Column::OrganizationId.eq(org.id))
            .filter(entity::audit_event::Column::Action.eq("mfa.reset"))
            .count(app.state.database())
            .await
            .unwrap();
        assert_eq!(logged, 1, "{}", org.name);
    }
    assert!(
        security_actions(&app, grace.id)
            .await
            .contains(&"mfa.reset".to_owned())
    );
}
