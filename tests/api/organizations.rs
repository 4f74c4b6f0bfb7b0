//! Organizations, memberships, switching and the rules on foreign ids.

use serde_json::json;

use crate::helpers::{TestApp, error_code, org_id};

#[tokio::test]
async fn a_user_without_organizations_logs_in_and_creates_one_as_its_owner() {
    let app = TestApp::spawn().await;
    app.create_user("solo@example.com").await;
    let session = app.login("solo@example.com").await;
    let body = app
        .gql(
            Some(&session.access_token),
            "mutation { createOrganization(input: {name: \"  Solo Labs \"}) { id name publicId viewerRole { key } license { seats features } } }",
            json!({}),
        )
        .await;
    let org = &body["data"]["createOrganization"];
    assert_eq!(org["name"], "Solo Labs", "{body}");
    assert_eq!(org["viewerRole"]["key"], "owner");
    assert!(org["publicId"].as_str().unwrap().starts_with("ORG-"));
    // It became the default organization: the next login lands in it.
    let again = app
        .gql(
            None,
            "mutation { login(input: {email: \"solo@example.com\", password: \"correct-horse-battery\"}) { organization { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(again["data"]["login"]["organization"]["id"], org["id"]);
}

#[tokio::test]
async fn blank_and_overlong_organization_names_are_invalid_input_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    app.create_user("solo@example.com").await;
    let session = app.login("solo@example.com").await;
    for name in ["   ".to_owned(), "x".repeat(5000)] {
        let body = app
            .gql(
                Some(&session.access_token),
                "mutation($n: String!) { createOrganization(input: {name: $n}) { id } }",
                json!({ "n": name }),
            )
            .await;
        assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "name");
    }
    let viewer = app
        .gql(
            Some(&session.access_token),
            "{ viewer { memberships { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(viewer["data"]["viewer"]["memberships"]["totalCount"], 0);
}

#[tokio::test]
async fn creating_an_organization_needs_a_signed_in_user() {
    let app = TestApp::spawn().await;
    let body = app
        .gql(
            None,
            "mutation { createOrganization(input: {name: \"Acme\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
}

#[tokio::test]
async fn renaming_needs_organization_edit_and_a_read_only_user_is_forbidden() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let frank = app.create_user("frank@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    app.add_member(&frank, &org, "read_only_user").await;
    let rename = "mutation($id: ID!, $n: String!) { updateOrganization(input: {organizationId: $id, name: $n}) { name } }";

    let frank_session = app.login("frank@example.com").await;
    let body = app
        .gql(
            Some(&frank_session.access_token),
            rename,
            json!({ "id": org_id(&org), "n": "Frank's" }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");

    let alice_session = app.login("alice@example.com").await;
    let body = app
        .gql(
            Some(&alice_session.access_token),
            rename,
            json!({ "id": org_id(&org), "n": "Acme Security" }),
        )
        .await;
    assert_eq!(body["data"]["updateOrganization"]["name"], "Acme Security");
}

#[tokio::test]
async fn a_foreign_organization_answers_exactly_like_one_that_does_not_exist() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let mallory = app.create_user("mallory@example.com").await;
    let acme = app.create_org(&alice, "Acme").await;
    app.create_org(&mallory, "Mallory Inc").await;
    let session = app.login("mallory@example.com").await;
    let missing = charter::graphql::ids::NodeId::Organization(uuid::Uuid::now_v7())
        .to_id()
        .0;

    let mut answers = Vec::new();
    for id in [org_id(&acme), missing] {
        for query in [
            "query($id: ID!) { organization(id: $id) { name } }",
            "query($id: ID!) { node(id: $id) { id } }",
            "query($id: ID!) { viewer { permissions(organizationId: $id) { resource } } }",
        ] {
            let body = app
                .gql(Some(&session.access_token), query, json!({ "id": id }))
                .await;
            assert_eq!(error_code(&body), "NOT_FOUND", "{query}: {body}");
            answers.push((query, body["errors"][0]["message"].clone()));
        }
        for mutation in [
            "mutation($id: ID!) { switchOrganization(organizationId: $id) { accessToken } }",
            "mutation($id: ID!) { setDefaultOrganization(organizationId: $id) { user { email } } }",
            "mutation($id: ID!) { updateOrganization(input: {organizationId: $id, name: \"Pwned\"}) { name } }",
        ] {
            let body = app
                .gql(Some(&session.access_token), mutation, json!({ "id": id }))
                .await;
            assert_eq!(error_code(&body), "NOT_FOUND", "{mutation}: {body}");
            answers.push((mutation, body["errors"][0]["message"].clone()));
        }
    }
    let (foreign, absent) = answers.split_at(answers.len() / 2);
    assert_eq!(
        foreign, absent,
        "foreign and absent ids must be indistinguishable"
    );
}

#[tokio::test]
async fn malformed_ids_are_invalid_input_naming_the_argument() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    app.create_org(&alice, "Acme").await;
    let session = app.login("alice@example.com").await;
    let user_id = session.user_id.clone();
    for id in ["not-an-id", user_id.as_str()] {
        let body = app
            .gql(
                Some(&session.access_token),
                "query($id: ID!) { organization(id: $id) { name } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "id");
    }
}

#[tokio::test]
async fn switching_organization_issues_tokens_for_the_other_organization() {
    let app = TestApp::spawn().await;
    let bob = app.create_user("bob@example.com").await;
    let heidi = app.create_user("heidi@example.com").await;
    let acme = app.create_org(&bob, "Acme").await;
    let globex = app.create_org(&heidi, "Globex").await;
    app.add_member(&bob, &globex, "read_only_user").await;

    let session = app.login("bob@example.com").await;
    let active = "{ viewer { activeOrganization { name viewerRole { key } } } }";
    let before = app
        .gql(Some(&session.access_token), active, json!({}))
        .await;
    assert_eq!(
        before["data"]["viewer"]["activeOrganization"]["name"],
        acme.name
    );

    let body = app
        .gql(
            Some(&session.access_token),
            "mutation($id: ID!) { switchOrganization(organizationId: $id) { accessToken organization { name } } }",
            json!({ "id": org_id(&globex) }),
        )
        .await;
    let switched = &body["data"]["switchOrganization"];
    assert_eq!(switched["organization"]["name"], "Globex", "{body}");
    let token = switched["accessToken"].as_str().unwrap();
    let after = app.gql(Some(token), active, json!({})).await;
    assert_eq!(
        after["data"]["viewer"]["activeOrganization"]["name"],
        "Globex"
    );
    assert_eq!(
        after["data"]["viewer"]["activeOrganization"]["viewerRole"]["key"],
        "read_only_user"
    );

    // A login may also ask for an organization directly.
    let direct = app
        .login_to("bob@example.com", Some(&org_id(&globex)))
        .await;
    let body = app.gql(Some(&direct.access_token), active, json!({})).await;
    assert_eq!(
        body["data"]["viewer"]["activeOrganization"]["name"],
        "Globex"
    );
}

#[tokio::test]
async fn the_default_organization_decides_where_a_login_lands() {
    let app = TestApp::spawn().await;
    let bob = app.create_user("bob@example.com").await;
    let heidi = app.create_user("heidi@example.com").await;
    app.create_org(&bob, "Acme").await;
    let globex = app.create_org(&heidi, "Globex").await;
    app.add_member(&bob, &globex, "standard_user").await;
    let session = app.login("bob@example.com").await;
    let body = app
        .gql(
            Some(&session.access_token),
            "mutation($id: ID!) { setDefaultOrganization(organizationId: $id) { user { defaultOrganization { name } } } }",
            json!({ "id": org_id(&globex) }),
        )
        .await;
    assert_eq!(
        body["data"]["setDefaultOrganization"]["user"]["defaultOrganization"]["name"], "Globex",
        "{body}"
    );
    let again = app.login("bob@example.com").await;
    let body = app
        .gql(
            Some(&again.access_token),
            "{ viewer { activeOrganization { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["viewer"]["activeOrganization"]["name"],
        "Globex"
    );
}

#[tokio::test]
async fn a_role_change_applies_on_the_very_next_request_with_an_old_token() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let bob = app.create_user("bob@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    app.add_member(&bob, &org, "organization_administrator")
        .await;
    let session = app.login("bob@example.com").await;
    let rename = "mutation($id: ID!) { updateOrganization(input: {organizationId: $id, name: \"Renamed\"}) { name } }";
    let body = app
        .gql(
            Some(&session.access_token),
            rename,
            json!({ "id": org_id(&org) }),
        )
        .await;
    assert_eq!(
        body["data"]["updateOrganization"]["name"], "Renamed",
        "{body}"
    );

    // Demote Bob in the database; his token is unchanged.
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let reader = app.state.policy.role_by_key("read_only_user").unwrap().id;
    entity::membership::Entity::update_many()
        .col_expr(entity::membership::Column::RoleId, Expr::value(reader))
        .filter(entity::membership::Column::UserId.eq(bob.id))
        .exec(app.state.database())
        .await
        .unwrap();
    let body = app
        .gql(
            Some(&session.access_token),
            rename,
            json!({ "id": org_id(&org) }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");

    // Removed altogether: the organization is gone from his view.
    entity::membership::Entity::delete_many()
        .filter(entity::membership::Column::UserId.eq(bob.id))
        .exec(app.state.database())
        .await
        .unwrap();
    let body = app
        .gql(
            Some(&session.access_token),
            "query($id: ID!) { organization(id: $id) { name } }",
            json!({ "id": org_id(&org) }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
}

/// A small policy whose `viewer` role reads the organization and its roles but not its members.
pub const NARROW_POLICY: &str = r#"
[[resources]]
key = "organization"
name = "Organization"
group = "Charter"
levels = ["none", "read", "edit"]
[[resources]]
key = "member"
name = "Members"
group = "Charter"
levels = ["none", "read", "manage"]
[[resources]]
key = "invitation"
name = "Invitations"
group = "Charter"
levels = ["none", "send"]
[[resources]]
key = "role"
name = "Roles"
group = "Charter"
levels = ["none", "read", "manage"]
[[resources]]
key = "list"
name = "Lists"
group = "Charter"
levels = ["none", "read", "create", "edit", "full"]
[[resources]]
key = "list_sharing"
name = "List sharing"
group = "Charter"
levels = ["none", "manage"]
[[resources]]
key = "audit_log"
name = "Audit log"
group = "Charter"
levels = ["none", "read"]
[[resources]]
key = "sso"
name = "SSO"
group = "Charter"
levels = ["none", "read", "manage"]
[[resources]]
key = "api_key"
name = "API keys"
group = "Charter"
levels = ["none", "read", "manage"]
[[resources]]
key = "webhook"
name = "Webhooks"
group = "Charter"
levels = ["none", "read", "manage"]

[[roles]]
key = "owner"
name = "Owner"
seat_class = "licensed"
owner = true

[[roles]]
key = "viewer"
name = "Viewer"
seat_class = "free"
[roles.grants]
organization = "read"
role = "read"
"#;

#[tokio::test]
async fn a_forbidden_field_is_null_with_its_error_while_siblings_resolve() {
    let policy_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(policy_file.path(), NARROW_POLICY).unwrap();
    let path = policy_file.path().to_path_buf();
    let app = TestApp::spawn_with(move |settings| settings.policy = Some(path)).await;
    let alice = app.create_user("alice@example.com").await;
    let vera = app.create_user("vera@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    app.add_member(&vera, &org, "viewer").await;
    let session = app.login("vera@example.com").await;
    let body = app
        .gql(
            Some(&session.access_token),
            "query($id: ID!) { organization(id: $id) { name members(first: 5) { totalCount } roles { key } } }",
            json!({ "id": org_id(&org) }),
        )
        .await;
    let organization = &body["data"]["organization"];
    assert_eq!(organization["name"], "Acme", "{body}");
    assert!(organization["members"].is_null());
    assert_eq!(organization["roles"][1]["key"], "viewer");
    assert_eq!(body["errors"].as_array().unwrap().len(), 1);
    assert_eq!(error_code(&body), "FORBIDDEN");
    assert_eq!(
        body["errors"][0]["path"],
        json!(["organization", "members"])
    );

    // Her own membership stays visible to her, and its role.
    let body = app
        .gql(
            Some(&session.access_token),
            "{ viewer { memberships { edges { node { role { key } user { email } } } } } }",
            json!({}),
        )
        .await;
    let node = &body["data"]["viewer"]["memberships"]["edges"][0]["node"];
    assert_eq!(node["role"]["key"], "viewer", "{body}");
    assert_eq!(node["user"]["email"], "vera@example.com");
}

#[tokio::test]
async fn emails_are_unique_regardless_of_case() {
    let app = TestApp::spawn().await;
    app.create_user("alice@example.com").await;
    let email = charter::domain::Email::parse("email", "ALICE@EXAMPLE.COM").unwrap();
    let err = charter::services::identity::users::create(
        app.state.database(),
        &email,
        "Alice".into(),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, charter::error::ErrorCode::Conflict);
}

#[tokio::test]
async fn concurrent_writers_all_succeed() {
    let app = TestApp::spawn().await;
    app.create_user("alice@example.com").await;
    let session = app.login("alice@example.com").await;
    let requests = (0..16).map(|n| {
        let app = &app;
        let token = session.access_token.clone();
        async move {
            app.gql(
                Some(&token),
                "mutation($n: String!) { createOrganization(input: {name: $n}) { name } }",
                json!({ "n": format!("Org {n}") }),
            )
            .await
        }
    });
    let answers = futures_util::future::join_all(requests).await;
    for body in &answers {
        assert!(body["errors"].is_null(), "{body}");
    }
    let body = app
        .gql(
            Some(&session.access_token),
            "{ viewer { memberships { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["viewer"]["memberships"]["totalCount"], 16);
}

#[tokio::test]
async fn the_demo_data_signs_in_every_printed_login_with_its_role() {
    let app = TestApp::spawn().await;
    let logins = charter::services::bootstrap::seed_demo(&app.state)
        .await
        .expect("demo data");
    assert_eq!(logins.len(), 8);
    let mut roles = Vec::new();
    assert_eq!(
        logins.iter().filter(|login| login.totp.is_some()).count(),
        1,
        "one demo login has an authenticator app"
    );
    for login in &logins {
        let mut body = app
            .gql(
                None,
                "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { mfaChallenge { token } organization { viewerRole { name } } } }",
                json!({ "e": login.email, "p": login.password }),
            )
            .await;
        if let Some((secret, uri)) = &login.totp {
            // The printed secret works in another implementation.
            assert!(uri.contains(secret.as_str()));
            let Some(code) = crate::otp::code(secret, 0) else {
                return;
            };
            let challenge = body["data"]["login"]["mfaChallenge"]["token"].clone();
            assert!(challenge.is_string(), "{body}");
            let verified = app
                .gql(
                    None,
                    "mutation($c: String!, $t: String) { verifyMfa(input: {challenge: $c, totpCode: $t}) { organization { viewerRole { name } } } }",
                    json!({ "c": challenge, "t": code }),
                )
                .await;
            body = json!({ "data": { "login": verified["data"]["verifyMfa"] } });
        }
        let role = body["data"]["login"]["organization"]["viewerRole"]["name"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: {body}", login.email))
            .to_owned();
        assert!(login.summary.contains(&role), "{} is {role}", login.summary);
        roles.push(role);
    }
    roles.sort();
    roles.dedup();
    assert_eq!(roles.len(), 7, "every predefined role is held: {roles:?}");

    // Globex's owner sees the list Acme shares with it, not the one Acme keeps to itself.
    let token = app.login("heidi@globex.example").await.access_token;
    let body = app
        .gql(
            Some(&token),
            "{ viewer { activeOrganization { sharedLists { edges { node { name owner { name } entryCount } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["viewer"]["activeOrganization"]["sharedLists"]["edges"],
        json!([{ "node": { "name": "Botnet C2 domains", "owner": { "name": "Acme Security" }, "entryCount": 3 } }]),
        "{body}"
    );
}
