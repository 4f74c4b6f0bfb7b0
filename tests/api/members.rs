//! Role assignment, removal, leaving, ownership, seats, accounts and sign-in throttling.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, error_code, org_id};

fn role_id(app: &TestApp, org: &entity::organization::Model, key: &str) -> String {
    let role = app.state.policy.role_by_key(key).unwrap().id;
    charter::graphql::ids::NodeId::Role {
        organization: org.id,
        role,
    }
    .to_id()
    .0
}

async fn membership_id(
    app: &TestApp,
    user: &entity::user::Model,
    org: &entity::organization::Model,
) -> String {
    let id = charter::services::store::records::membership(app.state.database(), user.id, org.id)
        .await
        .unwrap()
        .unwrap()
        .id;
    charter::graphql::ids::NodeId::Membership(id).to_id().0
}

const ASSIGN: &str = "mutation($m: ID!, $r: ID!) { assignRole(input: {membershipId: $m, roleId: $r}) { role { key } } }";

async fn assign(app: &TestApp, token: &str, membership: &str, role: &str) -> Value {
    app.gql(Some(token), ASSIGN, json!({ "m": membership, "r": role }))
        .await
}

#[tokio::test]
async fn an_administrator_assigns_roles_within_the_rules() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let bob = app.create_user("bob@example.com").await;
    let carol = app.create_user("carol@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    app.add_member(&bob, &org, "organization_administrator")
        .await;
    app.add_member(&carol, &org, "read_only_user").await;
    let bob_token = app.login("bob@example.com").await.access_token;
    let carol_m = membership_id(&app, &carol, &org).await;

    let body = assign(
        &app,
        &bob_token,
        &carol_m,
        &role_id(&app, &org, "standard_user"),
    )
    .await;
    assert_eq!(
        body["data"]["assignRole"]["role"]["key"], "standard_user",
        "{body}"
    );
    // Not his own role, and not owners: only owners make or unmake owners.
    let bob_m = membership_id(&app, &bob, &org).await;
    let body = assign(
        &app,
        &bob_token,
        &bob_m,
        &role_id(&app, &org, "standard_user"),
    )
    .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let body = assign(&app, &bob_token, &carol_m, &role_id(&app, &org, "owner")).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let alice_m = membership_id(&app, &alice, &org).await;
    let body = assign(
        &app,
        &bob_token,
        &alice_m,
        &role_id(&app, &org, "standard_user"),
    )
    .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    // A standard user cannot assign at all.
    let carol_token = app.login("carol@example.com").await.access_token;
    let body = assign(
        &app,
        &carol_token,
        &bob_m,
        &role_id(&app, &org, "read_only_user"),
    )
    .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    // A role of another organization is not found.
    let other = app.create_org(&alice, "Other").await;
    let body = assign(
        &app,
        &bob_token,
        &carol_m,
        &role_id(&app, &other, "read_only_user"),
    )
    .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
}

#[tokio::test]
async fn the_last_owner_cannot_be_demoted_removed_or_leave() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    let token = app.login("alice@example.com").await.access_token;
    let body = app
        .gql(
            Some(&token),
            "mutation($o: ID!) { leaveOrganization(organizationId: $o) }",
            json!({ "o": org_id(&org) }),
        )
        .await;
    assert_eq!(error_code(&body), "LAST_OWNER", "{body}");

    // With a second owner, one may leave; then the other is the last.
    let bob = app.create_user("bob@example.com").await;
    app.add_member(&bob, &org, "owner").await;
    let bob_token = app.login("bob@example.com").await.access_token;
    let alice_m = membership_id(&app, &alice, &org).await;
    let body = app
        .gql(
            Some(&bob_token),
            "mutation($m: ID!) { removeMember(membershipId: $m) }",
            json!({ "m": alice_m }),
        )
        .await;
    assert_eq!(body["data"]["removeMember"], true, "{body}");
    let body = app
        .gql(
            Some(&bob_token),
            "mutation($o: ID!) { leaveOrganization(organizationId: $o) }",
            json!({ "o": org_id(&org) }),
        )
        .await;
    assert_eq!(error_code(&body), "LAST_OWNER", "{body}");
}

#[tokio::test]
async fn two_owners_demoting_each_other_at_once_leave_exactly_one_owner() {
    for round in 0..3 {
        let app = TestApp::spawn().await;
        let alice = app.create_user("alice@example.com").await;
        let bob = app.create_user("bob@example.com").await;
        let org = app.create_org(&alice, "Acme").await;
        app.add_member(&bob, &org, "owner").await;
        let alice_token = app.login("alice@example.com").await.access_token;
        let bob_token = app.login("bob@example.com").await.access_token;
        let alice_m = membership_id(&app, &alice, &org).await;
        let bob_m = membership_id(&app, &bob, &org).await;
        let admin = role_id(&app, &org, "organization_administrator");
        let (a, b) = tokio::join!(
            assign(&app, &alice_token, &bob_m, &admin),
            assign(&app, &bob_token, &alice_m, &admin)
        );
        let succeeded = [&a, &b]
            .iter()
            .filter(|body| body["errors"].is_null())
            .count();
        assert_eq!(succeeded, 1, "round {round}: {a} / {b}");
        for body in [&a, &b] {
            if !body["errors"].is_null() {
                let code = error_code(body);
                assert!(code == "LAST_OWNER" || code == "FORBIDDEN", "{body}");
            }
        }
        let owner = app.state.policy.owner_role().id;
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        let owners = entity::membership::Entity::find()
            .filter(entity::membership::Column::OrganizationId.eq(org.id))
            .filter(entity::membership::Column::RoleId.eq(owner))
            .count(app.state.database())
            .await
            .unwrap();
        assert_eq!(owners, 1, "round {round}");
    }
}

#[tokio::test]
async fn a_removed_member_sees_nothing_with_an_old_token() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let bob = app.create_user("bob@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    app.add_member(&bob, &org, "standard_user").await;
    let bob_token = app.login("bob@example.com").await.access_token;
    let alice_token = app.login("alice@example.com").await.access_token;
    let query = "query($o: ID!) { organization(id: $o) { name members { totalCount } } }";
    let body = app
        .gql(Some(&bob_token), query, json!({ "o": org_id(&org) }))
        .await;
    assert_eq!(body["data"]["organization"]["name"], "Acme", "{body}");
    let bob_m = membership_id(&app, &bob, &org).await;
    let body = app
        .gql(
            Some(&alice_token),
            "mutation($m: ID!) { removeMember(membershipId: $m) }",
            json!({ "m": bob_m }),
        )
        .await;
    assert_eq!(body["data"]["removeMember"], true, "{body}");
    let body = app
        .gql(Some(&bob_token), query, json!({ "o": org_id(&org) }))
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    let body = app
        .gql(
            Some(&bob_token),
            "{ viewer { memberships { totalCount } activeOrganization { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["viewer"]["memberships"]["totalCount"], 0,
        "{body}"
    );
    assert!(body["data"]["viewer"]["activeOrganization"].is_null());
}

#[tokio::test]
async fn assigning_a_licensed_role_needs_a_free_seat_and_free_roles_do_not() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    charter::services::organization::organizations::change_license(
        &app.state,
        &charter::services::audit::Actor::command_line(),
        org.id,
        charter::services::organization::organizations::LicenseChange {
            seats: Some(2),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let bob = app.create_user("bob@example.com").await;
    let carol = app.create_user("carol@example.com").await;
    app.add_member(&bob, &org, "standard_user").await;
    app.add_member(&carol, &org, "read_only_user").await;
    let token = app.login("alice@example.com").await.access_token;
    let carol_m = membership_id(&app, &carol, &org).await;
    let body = assign(
        &app,
        &token,
        &carol_m,
        &role_id(&app, &org, "standard_user"),
    )
    .await;
    assert_eq!(error_code(&body), "SEAT_LIMIT_REACHED", "{body}");
    let body = assign(
        &app,
        &token,
        &carol_m,
        &role_id(&app, &org, "read_only_commenter"),
    )
    .await;
    assert!(
        body["errors"].is_null(),
        "a free role takes no seat: {body}"
    );
    let body = app
        .gql(
            Some(&token),
            "query($o: ID!) { organization(id: $o) { license { seats seatsUsed freeSeatsUsed } } }",
            json!({ "o": org_id(&org) }),
        )
        .await;
    assert_eq!(
        body["data"]["organization"]["license"],
        json!({ "seats": 2, "seatsUsed": 2, "freeSeatsUsed": 1 })
    );
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session() {
    let app = TestApp::spawn().await;
    app.create_user("alice@example.com").await;
    let first = app.login("alice@example.com").await.access_token;
    let second = app.login("alice@example.com").await.access_token;
    let change = "mutation($c: String!, $n: String!) { changePassword(input: {currentPassword: $c, newPassword: $n}) }";
    let body = app
        .gql(
            Some(&first),
            change,
            json!({ "c": "not-my-password", "n": "a-brand-new-passphrase" }),
        )
        .await;
    assert_eq!(error_code(&body), "INVALID_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "currentPassword");
    let body = app
        .gql(Some(&first), change, json!({ "c": PASSWORD, "n": "short" }))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "newPassword",
        "{body}"
    );
    let body = app
        .gql(
            Some(&first),
            change,
            json!({ "c": PASSWORD, "n": "a-brand-new-passphrase" }),
        )
        .await;
    assert_eq!(body["data"]["changePassword"], true, "{body}");
    let viewer = "{ viewer { user { email } } }";
    assert!(app.gql(Some(&first), viewer, json!({})).await["errors"].is_null());
    assert_eq!(
        error_code(&app.gql(Some(&second), viewer, json!({})).await),
        "UNAUTHENTICATED"
    );
    let login = app
        .gql(
            None,
            "mutation { login(input: {email: \"alice@example.com\", password: \"a-brand-new-passphrase\"}) { accessToken } }",
            json!({}),
        )
        .await;
    assert!(login["data"]["login"]["accessToken"].is_string(), "{login}");
}

#[tokio::test]
async fn a_disabled_user_is_signed_out_at_once_and_cannot_sign_in() {
    let app = TestApp::spawn().await;
    app.create_user("alice@example.com").await;
    let token = app.login("alice@example.com").await.access_token;
    charter::services::identity::users::set_disabled(
        &app.state,
        &charter::services::audit::Actor::command_line(),
        &charter::domain::Email::parse("email", "alice@example.com").unwrap(),
        true,
    )
    .await
    .unwrap();
    let body = app
        .gql(Some(&token), "{ viewer { user { email } } }", json!({}))
        .await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    let body = app
        .gql(
            None,
            "mutation($p: String!) { login(input: {email: \"alice@example.com\", password: $p}) { accessToken } }",
            json!({ "p": PASSWORD }),
        )
        .await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_per_email_even_in_parallel_and_for_unknown_emails() {
    let app = TestApp::spawn().await;
    app.create_user("alice@example.com").await;
    for email in ["alice@example.com", "nobody@example.com"] {
        let attempts = (0..10).map(|_| {
            app.gql(
                None,
                "mutation($e: String!) { login(input: {email: $e, password: \"wrong-password-123\"}) { accessToken } }",
                json!({ "e": email }),
            )
        });
        let answers = futures_util::future::join_all(attempts).await;
        let codes: Vec<&str> = answers.iter().map(error_code).collect();
        let refused = codes.iter().filter(|c| **c == "UNAUTHENTICATED").count();
        let limited = codes.iter().filter(|c| **c == "RATE_LIMITED").count();
        assert_eq!(refused, 5, "{email}: {codes:?}");
        assert_eq!(limited, 5, "{email}: {codes:?}");
    }
    // Even the right password waits now.
    let body = app
        .gql(
            None,
            "mutation($p: String!) { login(input: {email: \"alice@example.com\", password: $p}) { accessToken } }",
            json!({ "p": PASSWORD }),
        )
        .await;
    assert_eq!(error_code(&body), "RATE_LIMITED", "{body}");
    assert!(
        body["errors"][0]["extensions"]["retryAfterSeconds"]
            .as_i64()
            .unwrap()
            > 0
    );
}

#[tokio::test]
async fn a_profile_change_is_the_users_own() {
    let app = TestApp::spawn().await;
    app.create_user("alice@example.com").await;
    let token = app.login("alice@example.com").await.access_token;
    let body = app
        .gql(
            Some(&token),
            "mutation { updateProfile(input: {displayName: \"  Alice A. \"}) { displayName } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["updateProfile"]["displayName"], "Alice A.",
        "{body}"
    );
    let body = app
        .gql(
            Some(&token),
            "mutation { updateProfile(input: {displayName: \"\"}) { displayName } }",
            json!({}),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "displayName");
}

#[tokio::test]
async fn the_users_tab_sorts_filters_and_pages_members_every_way() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    let people = [
        ("zoe@example.com", "standard_user"),
        ("Mallory@example.com", "read_only_user"),
        ("bob@example.com", "organization_administrator"),
        ("yann@example.com", "standard_user"),
        ("carol@example.com", "sharing_user"),
        ("dave@example.com", "read_only_user"),
    ];
    let mut expected: Vec<(String, String, String)> =
        vec![("alice@example.com".into(), "alice".into(), "Owner".into())];
    for (email, role) in people {
        let user = app.create_user(email).await;
        app.add_member(&user, &org, role).await;
        let name = app.state.policy.role_by_key(role).unwrap().name.clone();
        expected.push((email.to_lowercase(), user.display_name.clone(), name));
    }
    let token = app.login("alice@example.com").await.access_token;
    let query = "query($o: ID!, $order: MemberOrder, $filter: MemberFilter, $after: String) { organization(id: $o) { members(first: 2, after: $after, orderBy: $order, filter: $filter) { totalCount pageInfo { hasNextPage endCursor } edges { node { user { email } role { name } } } } } }";
    let walk = |order: Value, filter: Value| {
        let app = &app;
        let token = token.clone();
        let org = org_id(&org);
        async move {
            let mut emails = Vec::new();
            let mut after: Option<String> = None;
            let mut total;
            loop {
                let body = app
                    .gql(
                        Some(&token),
                        query,
                        json!({ "o": org, "order": order, "filter": filter, "after": after }),
                    )
                    .await;
                let members = &body["data"]["organization"]["members"];
                assert!(members.is_object(), "{body}");
                total = members["totalCount"].as_i64().unwrap();
                for edge in members["edges"].as_array().unwrap() {
                    emails.push(
                        edge["node"]["user"]["email"]
                            .as_str()
                            .unwrap()
                            .to_lowercase(),
                    );
                }
                if !members["pageInfo"]["hasNextPage"].as_bool().unwrap() {
                    break;
                }
                after = members["pageInfo"]["endCursor"].as_str().map(str::to_owned);
            }
            (emails, total)
        }
    };
    let mut by_email = expected.clone();
    by_email.sort_by(|a, b| a.0.cmp(&b.0));
    let emails: Vec<String> = by_email.iter().map(|e| e.0.clone()).collect();
    let (got, total) = walk(json!({ "field": "EMAIL" }), json!(null)).await;
    assert_eq!((got, total), (emails.clone(), 7));
    let (got, _) = walk(
        json!({ "field": "EMAIL", "direction": "DESC" }),
        json!(null),
    )
    .await;
    assert_eq!(got, emails.iter().rev().cloned().collect::<Vec<_>>());

    let mut by_name = expected.clone();
    by_name.sort_by(|a, b| {
        a.1.to_lowercase()
            .cmp(&b.1.to_lowercase())
            .then(std::cmp::Ordering::Equal)
    });
    let (got, _) = walk(json!({ "field": "DISPLAY_NAME" }), json!(null)).await;
    assert_eq!(got, by_name.iter().map(|e| e.0.clone()).collect::<Vec<_>>());

    // By role name, ties in joining order.
    let mut by_role = expected.clone();
    by_role.sort_by_key(|a| a.2.to_lowercase());
    let (got, _) = walk(json!({ "field": "ROLE" }), json!(null)).await;
    let roles_in_order: Vec<String> = got
        .iter()
        .map(|email| expected.iter().find(|e| &e.0 == email).unwrap().2.clone())
        .collect();
    assert_eq!(
        roles_in_order,
        by_role.iter().map(|e| e.2.clone()).collect::<Vec<_>>()
    );

    let (got, total) = walk(
        json!({ "field": "JOINED", "direction": "DESC" }),
        json!(null),
    )
    .await;
    assert_eq!(total, 7);
    assert_eq!(got.last().unwrap(), "alice@example.com");

    let reader = charter::graphql::ids::NodeId::Role {
        organization: org.id,
        role: app.state.policy.role_by_key("read_only_user").unwrap().id,
    }
    .to_id()
    .0;
    let (got, total) = walk(json!({ "field": "EMAIL" }), json!({ "roleId": reader })).await;
    assert_eq!(
        (got, total),
        (
            vec![
                "dave@example.com".to_owned(),
                "mallory@example.com".to_owned()
            ],
            2
        )
    );
    let (got, total) = walk(json!(null), json!({ "search": "MALL" })).await;
    assert_eq!((got, total), (vec!["mallory@example.com".to_owned()], 1));
    let (got, total) = walk(json!(null), json!({ "search": "%" })).await;
    assert_eq!(
        (got.len(), total),
        (0, 0),
        "wildcards are matched literally"
    );
}

#[tokio::test]
async fn member_order_follows_renames_and_role_changes() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    let zed = app.create_user("zed@example.com").await;
    app.add_member(&zed, &org, "standard_user").await;
    let order = |field: &'static str| {
        let app = &app;
        let org = org_id(&org);
        async move {
            let token = app.login("alice@example.com").await.access_token;
            let body = app
                .gql(
                    Some(&token),
                    "query($o: ID!, $f: MemberOrderField!) { organization(id: $o) { members(orderBy: {field: $f}) { edges { node { user { email } } } } } }",
                    json!({ "o": org, "f": field }),
                )
                .await;
            body["data"]["organization"]["members"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["user"]["email"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        order("DISPLAY_NAME").await,
        ["alice@example.com", "zed@example.com"]
    );
    let zed_token = app.login("zed@example.com").await.access_token;
    app.gql(
        Some(&zed_token),
        "mutation { updateProfile(input: {displayName: \"Aaron\"}) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(
        order("DISPLAY_NAME").await,
        ["zed@example.com", "alice@example.com"]
    );
    // Owner < Standard User by name; after becoming an App Developer, Zed sorts first.
    assert_eq!(
        order("ROLE").await,
        ["alice@example.com", "zed@example.com"]
    );
    let alice_token = app.login("alice@example.com").await.access_token;
    let membership = membership_id(&app, &zed, &org).await;
    let body = assign(
        &app,
        &alice_token,
        &membership,
        &role_id(&app, &org, "app_developer"),
    )
    .await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(
        order("ROLE").await,
        ["zed@example.com", "alice@example.com"]
    );
}
