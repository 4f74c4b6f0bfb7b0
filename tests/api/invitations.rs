//! Invitations by email: tokens, acceptance, replacement, revocation, expiry, seats, limits.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, error_code, org_id};

fn role(app: &TestApp, org: &entity::organization::Model, key: &str) -> String {
    charter::graphql::ids::NodeId::Role {
        organization: org.id,
        role: app.state.policy.role_by_key(key).unwrap().id,
    }
    .to_id()
    .0
}

const INVITE: &str = "mutation($o: ID!, $e: String!, $r: ID!, $d: Int) { inviteMember(input: {organizationId: $o, email: $e, roleId: $r, expiresInDays: $d}) { id email status role { key } expiresAt } }";
const ACCEPT: &str = "mutation($t: String!, $n: String, $p: String) { acceptInvitation(input: {token: $t, displayName: $n, password: $p}) { accessToken user { email } organization { name viewerRole { key } } } }";

async fn invite(
    app: &TestApp,
    token: &str,
    org: &entity::organization::Model,
    email: &str,
    key: &str,
) -> Value {
    app.gql(
        Some(token),
        INVITE,
        json!({ "o": org_id(org), "e": email, "r": role(app, org, key), "d": null }),
    )
    .await
}

async fn owner_setup() -> (TestApp, entity::organization::Model, String) {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    let token = app.login("alice@example.com").await.access_token;
    (app, org, token)
}

#[tokio::test]
async fn an_invitation_creates_the_account_and_its_token_works_once() {
    let (app, org, token) = owner_setup().await;
    let body = invite(&app, &token, &org, "New.Person@Example.com", "sharing_user").await;
    let invitation = &body["data"]["inviteMember"];
    assert_eq!(invitation["status"], "PENDING", "{body}");
    assert_eq!(invitation["role"]["key"], "sharing_user");
    let secret = app.invitation_token("New.Person@Example.com");
    assert!(secret.len() > 40);
    // The token is stored only as a hash.
    use sea_orm::EntityTrait;
    let stored = entity::invitation::Entity::find()
        .all(app.state.database())
        .await
        .unwrap();
    assert!(
        stored
            .iter()
            .all(|i| i.token_hash != secret && !i.token_hash.contains("chi_"))
    );

    let body = app
        .gql(
            None,
            ACCEPT,
            json!({ "t": secret, "n": "New Person", "p": "a-long-unusual-passphrase" }),
        )
        .await;
    let accepted = &body["data"]["acceptInvitation"];
    assert_eq!(
        accepted["user"]["email"], "New.Person@Example.com",
        "{body}"
    );
    assert_eq!(
        accepted["organization"]["viewerRole"]["key"],
        "sharing_user"
    );
    let login = app
        .gql(
            None,
            "mutation { login(input: {email: \"new.person@example.com\", password: \"a-long-unusual-passphrase\"}) { organization { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        login["data"]["login"]["organization"]["name"], "Acme",
        "{login}"
    );

    let again = app
        .gql(
            None,
            ACCEPT,
            json!({ "t": secret, "n": "New Person", "p": "a-long-unusual-passphrase" }),
        )
        .await;
    let garbage = app
        .gql(
            None,
            ACCEPT,
            json!({ "t": "chi_nonsense", "n": "X", "p": "a-long-unusual-passphrase" }),
        )
        .await;
    assert_eq!(error_code(&again), "NOT_FOUND");
    assert_eq!(
        again["errors"][0]["message"],
        garbage["errors"][0]["message"]
    );

    let listed = app
        .gql(
            Some(&token),
            "query($o: ID!) { organization(id: $o) { invitations(status: ACCEPTED) { totalCount edges { node { email status invitedBy { email } } } } } }",
            json!({ "o": org_id(&org) }),
        )
        .await;
    let invitations = &listed["data"]["organization"]["invitations"];
    assert_eq!(invitations["totalCount"], 1, "{listed}");
    assert_eq!(
        invitations["edges"][0]["node"]["invitedBy"]["email"],
        "alice@example.com"
    );
}

#[tokio::test]
async fn an_existing_account_must_prove_it_is_theirs() {
    let (app, org, token) = owner_setup().await;
    app.create_user("bob@example.com").await;
    invite(&app, &token, &org, "bob@example.com", "standard_user").await;
    let secret = app.invitation_token("bob@example.com");
    let body = app.gql(None, ACCEPT, json!({ "t": secret })).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    let body = app
        .gql(
            None,
            ACCEPT,
            json!({ "t": secret, "p": "not-bobs-password" }),
        )
        .await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    let bob = app.login("bob@example.com").await.access_token;
    let body = app.gql(Some(&bob), ACCEPT, json!({ "t": secret })).await;
    assert_eq!(
        body["data"]["acceptInvitation"]["organization"]["viewerRole"]["key"], "standard_user",
        "{body}"
    );

    // Inviting a member now is a conflict.
    let body = invite(&app, &token, &org, "BOB@example.com", "standard_user").await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    let _ = PASSWORD;
}

#[tokio::test]
async fn reinviting_replaces_revoking_and_expiry_end_a_token_with_the_same_answer() {
    let (app, org, token) = owner_setup().await;
    invite(&app, &token, &org, "carol@example.com", "standard_user").await;
    let first = app.invitation_token("carol@example.com");
    std::thread::sleep(std::time::Duration::from_millis(5));
    let second_body = invite(&app, &token, &org, "carol@example.com", "read_only_user").await;
    let second = app.invitation_token("carol@example.com");
    assert_ne!(first, second);
    let accept = |t: &str| {
        let t = t.to_owned();
        let app = &app;
        async move {
            app.gql(
                None,
                ACCEPT,
                json!({ "t": t, "n": "Carol", "p": "a-long-unusual-passphrase" }),
            )
            .await
        }
    };
    let replaced = accept(&first).await;
    assert_eq!(error_code(&replaced), "NOT_FOUND", "{replaced}");

    let id = second_body["data"]["inviteMember"]["id"].clone();
    let body = app
        .gql(
            Some(&token),
            "mutation($i: ID!) { revokeInvitation(id: $i) { status } }",
            json!({ "i": id }),
        )
        .await;
    assert_eq!(
        body["data"]["revokeInvitation"]["status"], "REVOKED",
        "{body}"
    );
    let revoked = accept(&second).await;

    invite(&app, &token, &org, "dan@example.com", "standard_user").await;
    let third = app.invitation_token("dan@example.com");
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    entity::invitation::Entity::update_many()
        .col_expr(
            entity::invitation::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::hours(1)),
        )
        .filter(entity::invitation::Column::EmailLower.eq("dan@example.com"))
        .exec(app.state.database())
        .await
        .unwrap();
    let expired = accept(&third).await;
    for body in [&replaced, &revoked, &expired] {
        assert_eq!(error_code(body), "NOT_FOUND");
        assert_eq!(
            body["errors"][0]["message"],
            replaced["errors"][0]["message"]
        );
    }
    let listed = app
        .gql(
            Some(&token),
            "query($o: ID!) { organization(id: $o) { expired: invitations(status: EXPIRED) { totalCount } revoked: invitations(status: REVOKED) { totalCount } } }",
            json!({ "o": org_id(&org) }),
        )
        .await;
    assert_eq!(
        listed["data"]["organization"]["expired"]["totalCount"], 1,
        "{listed}"
    );
    assert_eq!(listed["data"]["organization"]["revoked"]["totalCount"], 2);
}

#[tokio::test]
async fn pending_invitations_hold_their_seats() {
    let (app, org, token) = owner_setup().await;
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
    let body = invite(&app, &token, &org, "b@example.com", "standard_user").await;
    assert!(body["errors"].is_null(), "{body}");
    let body = invite(&app, &token, &org, "c@example.com", "standard_user").await;
    assert_eq!(error_code(&body), "SEAT_LIMIT_REACHED", "{body}");
    let body = invite(&app, &token, &org, "c@example.com", "read_only_user").await;
    assert!(
        body["errors"].is_null(),
        "a free role needs no seat: {body}"
    );
}

#[tokio::test]
async fn invitations_are_limited_per_organization_and_day() {
    let app = TestApp::spawn_with(|settings| settings.invitations_per_day = 3).await;
    let alice = app.create_user("alice@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    let token = app.login("alice@example.com").await.access_token;
    for n in 0..3 {
        let body = invite(
            &app,
            &token,
            &org,
            &format!("p{n}@example.com"),
            "read_only_user",
        )
        .await;
        assert!(body["errors"].is_null(), "{body}");
    }
    let body = invite(&app, &token, &org, "p9@example.com", "read_only_user").await;
    assert_eq!(error_code(&body), "RATE_LIMITED", "{body}");
}

#[tokio::test]
async fn bad_invitations_are_refused_clearly() {
    let (app, org, token) = owner_setup().await;
    let bob = app.create_user("bob@example.com").await;
    app.add_member(&bob, &org, "organization_administrator")
        .await;
    let bob_token = app.login("bob@example.com").await.access_token;
    let body = invite(&app, &bob_token, &org, "x@example.com", "owner").await;
    assert_eq!(
        error_code(&body),
        "FORBIDDEN",
        "only owners make owners: {body}"
    );
    let body = invite(&app, &token, &org, "not an email", "standard_user").await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "email", "{body}");
    for days in [0, 31] {
        let body = app
            .gql(
                Some(&token),
                INVITE,
                json!({ "o": org_id(&org), "e": "y@example.com", "r": role(&app, &org, "standard_user"), "d": days }),
            )
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["field"], "expiresInDays",
            "{body}"
        );
    }
    invite(&app, &token, &org, "weak@example.com", "standard_user").await;
    let secret = app.invitation_token("weak@example.com");
    let body = app
        .gql(
            None,
            ACCEPT,
            json!({ "t": secret, "n": "Weak", "p": "password1234" }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "password",
        "{body}"
    );
    let body = app
        .gql(
            None,
            ACCEPT,
            json!({ "t": secret, "p": "a-long-unusual-passphrase" }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "displayName",
        "{body}"
    );
}
