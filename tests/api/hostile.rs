//! Hostile documents and credentials: deep nesting, aliased password checks, guessing through
//! other doors than `login`, stale bearer headers, and null propagation in errored responses.

use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, error_code, org_id};

/// `{ a(b: <open>…1…<close>) }`-like documents of every shape the parser descends into.
fn nested_documents(depth: usize) -> Vec<(&'static str, String)> {
    vec![
        (
            "list",
            format!("{{ a(b: {}1{}) }}", "[".repeat(depth), "]".repeat(depth)),
        ),
        (
            "object",
            format!("{{ a(b: {}1{}) }}", "{a:".repeat(depth), "}".repeat(depth)),
        ),
        (
            "selection",
            format!("{}{}", "{a".repeat(depth), "}".repeat(depth)),
        ),
    ]
}

#[tokio::test]
async fn deeply_nested_documents_are_refused_and_the_server_survives() {
    let app = TestApp::spawn().await;
    for depth in [100, 1_000, 2_000, 5_000, 10_000, 20_000] {
        for (shape, query) in nested_documents(depth) {
            let post = app
                .client
                .post(format!("{}/graphql", app.address))
                .json(&json!({ "query": query }))
                .send()
                .await
                .unwrap_or_else(|_| panic!("POST {shape} at depth {depth} failed"));
            let body: Value = post.json().await.unwrap();
            assert_eq!(
                error_code(&body),
                "INVALID_INPUT",
                "POST {shape} at depth {depth}"
            );
            let message = body["errors"][0]["message"].as_str().unwrap();
            assert!(message.contains("nests deeper"), "{message}");
            // A URI is at most 64 KiB (for the client and the server alike), so GET carries
            // the shallower documents only.
            if query.len() * 3 > 60_000 {
                continue;
            }
            let get = app
                .client
                .get(format!("{}/graphql", app.address))
                .query(&[("query", &query)])
                .send()
                .await
                .unwrap_or_else(|_| panic!("GET {shape} at depth {depth} failed"));
            let body: Value = get.json().await.unwrap();
            assert_eq!(
                error_code(&body),
                "INVALID_INPUT",
                "GET {shape} at depth {depth}"
            );
        }
    }
    let health = reqwest::get(format!("{}/healthz", app.address))
        .await
        .unwrap();
    assert!(health.status().is_success());
}

#[tokio::test]
async fn deeply_nested_variables_are_refused_and_the_server_survives() {
    let app = TestApp::spawn().await;
    for depth in [200, 5_000, 50_000] {
        let value = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        let body = format!(
            "{{\"query\":\"query($v: [Int]) {{ __typename }}\",\"variables\":{{\"v\":{value}}}}}"
        );
        let response = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|_| panic!("variables nested {depth} deep"));
        assert_eq!(response.status(), 400, "variables nested {depth} deep");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(error_code(&answer), "INVALID_INPUT");
    }
    let health = reqwest::get(format!("{}/healthz", app.address))
        .await
        .unwrap();
    assert!(health.status().is_success());
}

#[tokio::test]
async fn documents_of_ordinary_depth_still_run() {
    let app = TestApp::spawn().await;
    // The type reference of a full introspection query nests its `ofType` eight deep.
    let mut of_type = String::from("kind name");
    for _ in 0..8 {
        of_type = format!("kind name ofType {{ {of_type} }}");
    }
    let query = format!("{{ __schema {{ types {{ fields {{ type {{ {of_type} }} }} }} }} }}");
    let body = app.gql(None, &query, json!({})).await;
    assert!(body["errors"].is_null(), "{body}");
    assert!(body["data"]["__schema"]["types"].is_array());
}

#[tokio::test]
async fn a_document_may_check_credentials_only_once() {
    let app = TestApp::spawn().await;
    app.create_user("alice@example.com").await;
    let aliases: String = (0..1000)
        .map(|i| {
            format!(
                "a{i}: login(input: {{email: \"victim{i}@example.com\", password: \"guess-number-{i}\"}}) {{ accessToken }} "
            )
        })
        .collect();
    let started = std::time::Instant::now();
    let body = app
        .gql(None, &format!("mutation {{ {aliases} }}"), json!({}))
        .await;
    assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");
    assert!(body.get("data").is_none_or(Value::is_null), "{body}");
    // Refused before anything ran: no attempt was counted, so no throttle row was written.
    let throttles = entity::login_throttle::Entity::find()
        .count(app.state.database())
        .await
        .unwrap();
    assert_eq!(throttles, 0);
    eprintln!("1,000 aliased logins refused in {:?}", started.elapsed());

    let mixed = format!(
        "mutation {{ login(input: {{email: \"alice@example.com\", password: \"{PASSWORD}\"}}) {{ accessToken }} \
         ...F }} fragment F on Mutation {{ changePassword(input: {{currentPassword: \"x\", newPassword: \"y\"}}) }}"
    );
    let body = app.gql(None, &mixed, json!({})).await;
    assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");

    // One check per document is fine, and so is one per operation of a multi-operation document.
    let two_operations = format!(
        "mutation A {{ login(input: {{email: \"alice@example.com\", password: \"{PASSWORD}\"}}) {{ accessToken }} }} \
         mutation B {{ login(input: {{email: \"alice@example.com\", password: \"{PASSWORD}\"}}) {{ accessToken }} }}"
    );
    let body = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&json!({ "query": two_operations, "operationName": "B" }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
}

#[tokio::test]
async fn throttle_rows_whose_window_has_passed_are_purged() {
    let app = TestApp::spawn().await;
    let now = chrono::Utc::now();
    let rows = [
        ("old@example.com", now - chrono::Duration::hours(2), None),
        (
            "old-locked@example.com",
            now - chrono::Duration::hours(2),
            Some(now - chrono::Duration::hours(1)),
        ),
        (
            "still-locked@example.com",
            now - chrono::Duration::hours(2),
            Some(now + chrono::Duration::minutes(5)),
        ),
        (
            "recent@example.com",
            now - chrono::Duration::minutes(1),
            None,
        ),
    ];
    for (email, window_start, locked_until) in rows {
        entity::login_throttle::ActiveModel {
            email_lower: Set(email.to_owned()),
            failures: Set(3),
            window_start: Set(window_start),
            locked_until: Set(locked_until),
        }
        .insert(app.state.database())
        .await
        .unwrap();
    }
    let removed = charter::services::identity::credentials::purge_throttles(&app.state)
        .await
        .unwrap_or_else(|err| panic!("{}", err.message));
    assert_eq!(removed, 2);
    let mut left: Vec<String> = entity::login_throttle::Entity::find()
        .all(app.state.database())
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.email_lower)
        .collect();
    left.sort();
    assert_eq!(left, ["recent@example.com", "still-locked@example.com"]);
}

const CHANGE_PASSWORD: &str = "mutation($c: String!, $n: String!) { changePassword(input: {currentPassword: $c, newPassword: $n}) }";

async fn security_actions(app: &TestApp, token: &str) -> Vec<String> {
    let body = app
        .gql(
            Some(token),
            "{ viewer { securityEvents(first: 50) { edges { node { action } } } } }",
            json!({}),
        )
        .await;
    body["data"]["viewer"]["securityEvents"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|edge| edge["node"]["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn change_password_guesses_share_the_sign_in_throttle() {
    let app = TestApp::spawn().await;
    app.create_user("alice@example.com").await;
    let session = app.login("alice@example.com").await;
    let token = Some(session.access_token.as_str());
    let guess =
        |n: usize| json!({ "c": format!("wrong-guess-{n}"), "n": "a-brand-new-passphrase" });
    for n in 0..charter::services::identity::credentials::MAX_FAILED_LOGINS as usize {
        let body = app.gql(token, CHANGE_PASSWORD, guess(n)).await;
        assert_eq!(error_code(&body), "INVALID_INPUT", "guess {n}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "currentPassword");
    }
    let body = app.gql(token, CHANGE_PASSWORD, guess(99)).await;
    assert_eq!(error_code(&body), "RATE_LIMITED", "{body}");
    // Even the right password waits now, and so does a sign-in: one throttle per account.
    let body = app
        .gql(
            token,
            CHANGE_PASSWORD,
            json!({ "c": PASSWORD, "n": "a-brand-new-passphrase" }),
        )
        .await;
    assert_eq!(error_code(&body), "RATE_LIMITED", "{body}");
    let body = app
        .gql(
            None,
            "mutation($p: String!) { login(input: {email: \"alice@example.com\", password: $p}) { accessToken } }",
            json!({ "p": PASSWORD }),
        )
        .await;
    assert_eq!(error_code(&body), "RATE_LIMITED", "{body}");
    let actions = security_actions(&app, &session.access_token).await;
    let failures = actions
        .iter()
        .filter(|action| *action == "user.password_check_failed")
        .count();
    assert_eq!(
        failures,
        charter::services::identity::credentials::MAX_FAILED_LOGINS as usize
    );
}

#[tokio::test]
async fn accepting_an_invitation_with_a_password_shares_the_sign_in_throttle() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    app.create_user("bob@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    let owner = app.login("alice@example.com").await.access_token;
    let role = charter::graphql::ids::NodeId::Role {
        organization: org.id,
        role: app.state.policy.role_by_key("standard_user").unwrap().id,
    }
    .to_id()
    .0;
    let body = app
        .gql(
            Some(&owner),
            "mutation($o: ID!, $r: ID!) { inviteMember(input: {organizationId: $o, email: \"bob@example.com\", roleId: $r}) { id } }",
            json!({ "o": org_id(&org), "r": role }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let invitation = app.invitation_token("bob@example.com");
    let accept = "mutation($t: String!, $p: String) { acceptInvitation(input: {token: $t, password: $p}) { user { email } } }";
    for n in 0..charter::services::identity::credentials::MAX_FAILED_LOGINS as usize {
        let body = app
            .gql(
                None,
                accept,
                json!({ "t": invitation, "p": format!("wrong-{n}") }),
            )
            .await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "guess {n}: {body}");
    }
    let body = app
        .gql(None, accept, json!({ "t": invitation, "p": PASSWORD }))
        .await;
    assert_eq!(error_code(&body), "RATE_LIMITED", "{body}");
    let bob = app
        .gql(
            None,
            "mutation($p: String!) { login(input: {email: \"bob@example.com\", password: $p}) { accessToken } }",
            json!({ "p": PASSWORD }),
        )
        .await;
    assert_eq!(error_code(&bob), "RATE_LIMITED", "{bob}");
    // The failures are Bob's security events (read here from the database: Bob is locked out).
    let events = entity::audit_event::Entity::find()
        .all(app.state.database())
        .await
        .unwrap();
    let failures = events
        .iter()
        .filter(|event| event.action == "user.password_check_failed")
        .count();
    assert_eq!(
        failures,
        charter::services::identity::credentials::MAX_FAILED_LOGINS as usize
    );
}

const LOGIN: &str = "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { accessToken refreshToken user { email } organization { name } } }";
const REFRESH: &str = "mutation($t: String!) { refreshSession(refreshToken: $t) { refreshToken user { email } organization { name } } }";

async fn post_with_header(app: &TestApp, header: &str, query: &str, variables: Value) -> Value {
    app.client
        .post(format!("{}/graphql", app.address))
        .header("Authorization", header)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn sign_in_answers_for_the_identity_it_establishes_whatever_the_header() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    app.create_org(&alice, "Acme").await;
    let bob = app.create_user("bob@example.com").await;
    app.create_org(&bob, "Bobcorp").await;
    let bobs = app.login("bob@example.com").await;
    let logged_out = app.login("alice@example.com").await;
    let body = app
        .gql(
            Some(&logged_out.access_token),
            "mutation { logout }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["logout"], true, "{body}");
    let headers = [
        "Bearer not-a-token".to_owned(),
        "Basic YWxpY2U6cGFzcw==".to_owned(),
        format!("Bearer {}", logged_out.access_token),
        format!("Bearer {}", bobs.access_token),
    ];
    for header in &headers {
        let body = post_with_header(
            &app,
            header,
            LOGIN,
            json!({ "e": "alice@example.com", "p": PASSWORD }),
        )
        .await;
        assert!(body["errors"].is_null(), "{header}: {body}");
        let login = &body["data"]["login"];
        assert_eq!(login["user"]["email"], "alice@example.com", "{body}");
        assert_eq!(login["organization"]["name"], "Acme", "{body}");
        // The refresh token is good, and using it once is not a reuse.
        let refresh_token = login["refreshToken"].as_str().unwrap();
        let body = post_with_header(&app, header, REFRESH, json!({ "t": refresh_token })).await;
        assert!(body["errors"].is_null(), "{header}: {body}");
        let refreshed = &body["data"]["refreshSession"];
        assert_eq!(refreshed["user"]["email"], "alice@example.com", "{body}");
        assert_eq!(refreshed["organization"]["name"], "Acme", "{body}");
        let next = refreshed["refreshToken"].as_str().unwrap();
        let body = app.gql(None, REFRESH, json!({ "t": next })).await;
        assert!(
            body["errors"].is_null(),
            "{header}: the session was revoked: {body}"
        );
    }
}

#[tokio::test]
async fn an_errored_nullable_field_is_present_as_null() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let bob = app.create_user("bob@example.com").await;
    let foreign = app.create_org(&bob, "Bobcorp").await;
    app.create_org(&alice, "Acme").await;
    let token = app.login("alice@example.com").await.access_token;
    let body = app
        .gql(
            Some(&token),
            "query($o: ID!) { organization(id: $o) { id } viewer { user { email } } }",
            json!({ "o": org_id(&foreign) }),
        )
        .await;
    let data = body["data"].as_object().unwrap_or_else(|| panic!("{body}"));
    assert!(data.contains_key("organization"), "{body}");
    assert!(data["organization"].is_null());
    assert_eq!(data["viewer"]["user"]["email"], "alice@example.com");
    assert_eq!(error_code(&body), "NOT_FOUND");
    assert_eq!(body["errors"][0]["path"], json!(["organization"]));
}

#[tokio::test]
async fn a_non_null_field_error_nulls_its_nearest_nullable_parent() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let bob = app.create_user("bob@example.com").await;
    app.create_org(&alice, "Acme").await;
    let foreign = app.create_org(&bob, "Bobcorp").await;
    let token = app.login("alice@example.com").await.access_token;
    // `permissions` is non-null and fails for a foreign organization: `viewer` is null.
    let body = app
        .gql(
            Some(&token),
            "query($o: ID!) { viewer { user { email } permissions(organizationId: $o) { resource } } me: viewer { user { email } } }",
            json!({ "o": org_id(&foreign) }),
        )
        .await;
    let data = body["data"].as_object().unwrap_or_else(|| panic!("{body}"));
    assert!(
        data.contains_key("viewer") && data["viewer"].is_null(),
        "{body}"
    );
    assert_eq!(data["me"]["user"]["email"], "alice@example.com", "{body}");
    assert_eq!(body["errors"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(error_code(&body), "NOT_FOUND");
    assert_eq!(body["errors"][0]["path"], json!(["viewer", "permissions"]));

    // A non-null root field that fails leaves no data at all.
    let body = app
        .gql(
            Some(&token),
            "query($o: ID!) { viewer { user { email } } checkPermission(organizationId: $o, resource: \"member\", level: \"read\") }",
            json!({ "o": org_id(&foreign) }),
        )
        .await;
    assert!(body["data"].is_null(), "{body}");
    assert_eq!(body["errors"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["errors"][0]["path"], json!(["checkPermission"]));
}
