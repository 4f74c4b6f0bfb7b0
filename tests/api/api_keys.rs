//! API keys and service accounts: a key never outranks its holder, acts only in its
//! organization, stops on the request after its holder is demoted, removed or disabled, and is
//! stored only as a hash.

use charter::graphql::ids::NodeId;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, org_id};

const CREATE_KEY: &str = "mutation($o: ID!, $s: ID, $n: String!, $g: [PermissionGrantInput!]!, $d: Int) {
  createApiKey(input: {organizationId: $o, serviceAccountId: $s, name: $n, grants: $g, expiresInDays: $d}) {
    secret apiKey { id clientId name prefix expiresAt revokedAt owner { __typename ... on User { email } ... on ServiceAccount { name } } grants { resource level } }
  }
}";

/// Alice owns Acme; Bob is an organization administrator there.
struct Fixture {
    app: TestApp,
    org: entity::organization::Model,
    alice: String,
    bob: String,
    bob_user: entity::user::Model,
}

async fn fixture() -> Fixture {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let bob = app.create_user("bob@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    app.add_member(&bob, &org, "organization_administrator")
        .await;
    let alice_token = app.login("alice@example.com").await.access_token;
    let bob_token = app.login("bob@example.com").await.access_token;
    Fixture {
        app,
        org,
        alice: alice_token,
        bob: bob_token,
        bob_user: bob,
    }
}

fn grants(pairs: &[(&str, &str)]) -> Value {
    json!(
        pairs
            .iter()
            .map(|(resource, level)| json!({ "resource": resource, "level": level }))
            .collect::<Vec<_>>()
    )
}

/// Creates a key as `token`'s user; returns the whole answer.
async fn create_key(
    f: &Fixture,
    token: &str,
    account: Option<&str>,
    pairs: &[(&str, &str)],
) -> Value {
    f.app
        .gql(
            Some(token),
            CREATE_KEY,
            json!({ "o": org_id(&f.org), "s": account, "n": "CI", "g": grants(pairs) }),
        )
        .await
}

/// Creates a key and returns its secret and global id.
async fn key(
    f: &Fixture,
    token: &str,
    account: Option<&str>,
    pairs: &[(&str, &str)],
) -> (String, String) {
    let body = create_key(f, token, account, pairs).await;
    assert!(body["errors"].is_null(), "{body}");
    let issued = &body["data"]["createApiKey"];
    (
        issued["secret"].as_str().unwrap().to_owned(),
        issued["apiKey"]["id"].as_str().unwrap().to_owned(),
    )
}

/// The member-id of `user` in the fixture's organization.
async fn membership(f: &Fixture, user: uuid::Uuid) -> String {
    let found =
        charter::services::store::records::membership(f.app.state.database(), user, f.org.id)
            .await
            .unwrap()
            .unwrap();
    NodeId::Membership(found.id).to_id().0
}

fn role(f: &Fixture, key: &str) -> String {
    NodeId::Role {
        organization: f.org.id,
        role: f.app.state.policy.role_by_key(key).unwrap().id,
    }
    .to_id()
    .0
}

async fn assign(f: &Fixture, membership: &str, role_key: &str) {
    let body = f
        .app
        .gql(
            Some(&f.alice),
            "mutation($m: ID!, $r: ID!) { assignRole(input: {membershipId: $m, roleId: $r}) { id } }",
            json!({ "m": membership, "r": role(f, role_key) }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
}

const MEMBERS: &str = "query($o: ID!) { organization(id: $o) { members { totalCount } } }";
const LISTS: &str = "query($o: ID!) { organization(id: $o) { lists { totalCount } } }";

#[tokio::test]
async fn the_secret_is_shown_once_and_only_its_hash_is_stored() {
    let f = fixture().await;
    let body = create_key(
        &f,
        &f.bob,
        None,
        &[("organization", "read"), ("member", "read")],
    )
    .await;
    assert!(body["errors"].is_null(), "{body}");
    let issued = &body["data"]["createApiKey"];
    let secret = issued["secret"].as_str().unwrap();
    assert!(secret.starts_with("chk_") && secret.len() == 52, "{secret}");
    let prefix = issued["apiKey"]["prefix"].as_str().unwrap();
    assert!(secret.starts_with(prefix) && prefix.len() == 12, "{prefix}");
    assert_eq!(issued["apiKey"]["owner"]["email"], "bob@example.com");

    // The table holds the SHA-256 of the secret and nothing that contains the secret.
    let rows = entity::api_key::Entity::find()
        .all(f.app.state.database())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.secret_hash, charter::auth::tokens::hash_token(secret));
    let stored = format!("{row:?}");
    assert!(
        !stored.contains(secret),
        "the row holds the secret: {stored}"
    );
    assert!(
        !stored.contains(&secret[12..]),
        "the row holds part of the secret: {stored}"
    );

    // Listing shows the key, never the secret (the type has no such field).
    let listed = f
        .app
        .gql(
            Some(&f.bob),
            "query($o: ID!) { organization(id: $o) { apiKeys { totalCount nodes { prefix } } } }",
            json!({ "o": org_id(&f.org) }),
        )
        .await;
    assert_eq!(
        listed["data"]["organization"]["apiKeys"]["totalCount"], 1,
        "{listed}"
    );
    assert!(!listed.to_string().contains(&secret[12..]));
    let asked = f
        .app
        .gql(
            Some(&f.bob),
            "query($o: ID!) { organization(id: $o) { apiKeys { nodes { secret } } } }",
            json!({ "o": org_id(&f.org) }),
        )
        .await;
    assert_eq!(error_code(&asked), "INVALID_INPUT", "{asked}");
}

#[tokio::test]
async fn a_key_reads_what_its_grants_allow_and_nothing_beyond() {
    let f = fixture().await;
    let (secret, _) = key(
        &f,
        &f.bob,
        None,
        &[("organization", "read"), ("member", "read")],
    )
    .await;
    let o = org_id(&f.org);
    let members = f.app.gql(Some(&secret), MEMBERS, json!({ "o": o })).await;
    assert_eq!(
        members["data"]["organization"]["members"]["totalCount"], 2,
        "{members}"
    );
    // Bob's role reads lists; his key was not given that.
    let lists = f.app.gql(Some(&secret), LISTS, json!({ "o": o })).await;
    assert_eq!(error_code(&lists), "FORBIDDEN", "{lists}");
    let message = lists["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("API key") && message.contains("list `read`"),
        "{message}"
    );
    let create = f
        .app
        .gql(
            Some(&secret),
            "mutation($o: ID!) { createList(input: {organizationId: $o, name: \"Nope\", kind: IP}) { id } }",
            json!({ "o": o }),
        )
        .await;
    assert_eq!(error_code(&create), "FORBIDDEN", "{create}");
    let permissions = f
        .app
        .gql(
            Some(&secret),
            "query($o: ID!) { viewer { user { email } permissions(organizationId: $o) { resource level } } }",
            json!({ "o": o }),
        )
        .await;
    assert_eq!(
        permissions["data"]["viewer"]["user"]["email"],
        "bob@example.com"
    );
    let levels: Vec<(String, String)> = permissions["data"]["viewer"]["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| !g["level"].as_str().unwrap().eq_ignore_ascii_case("none"))
        .map(|g| {
            (
                g["resource"].as_str().unwrap().into(),
                g["level"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected = [("organization", "read"), ("member", "read")];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(r, l)| (r.to_string(), l.to_string()))
        .collect();
    assert_eq!(levels, expected);
}

#[tokio::test]
async fn the_holders_demotion_and_removal_take_effect_on_the_keys_next_request() {
    let f = fixture().await;
    let (secret, _) = key(
        &f,
        &f.bob,
        None,
        &[
            ("organization", "read"),
            ("member", "manage"),
            ("list", "full"),
        ],
    )
    .await;
    let o = org_id(&f.org);
    let bob_membership = membership(&f, f.bob_user.id).await;
    let lists = f.app.gql(Some(&secret), LISTS, json!({ "o": o })).await;
    assert!(lists["errors"].is_null(), "{lists}");

    // Demoted to a role without lists: the key loses them at once, keeps what both allow.
    assign(&f, &bob_membership, "read_only_user").await;
    let lists = f.app.gql(Some(&secret), LISTS, json!({ "o": o })).await;
    let read_only = f.app.state.policy.role_by_key("read_only_user").unwrap();
    let (list, read) = f.app.state.policy.level_of("list", "read").unwrap();
    assert_eq!(
        lists["errors"].is_null(),
        read_only.grants.allows(list, read),
        "{lists}"
    );
    let invite = f
        .app
        .gql(
            Some(&secret),
            "mutation($o: ID!, $r: ID!) { inviteMember(input: {organizationId: $o, email: \"x@example.com\", roleId: $r}) { id } }",
            json!({ "o": o, "r": role(&f, "read_only_user") }),
        )
        .await;
    assert_eq!(error_code(&invite), "FORBIDDEN", "{invite}");

    // Removed: the key is refused as any invalid key is.
    let removed = f
        .app
        .gql(
            Some(&f.alice),
            "mutation($m: ID!) { removeMember(membershipId: $m) }",
            json!({ "m": bob_membership }),
        )
        .await;
    assert!(removed["errors"].is_null(), "{removed}");
    let after = f.app.gql(Some(&secret), MEMBERS, json!({ "o": o })).await;
    assert_eq!(error_code(&after), "UNAUTHENTICATED", "{after}");
    assert_eq!(after["errors"][0]["message"], "the API key is not valid");
    // The removal revoked it in its own transaction, so the list says so too.
    let listed = f
        .app
        .gql(
            Some(&f.alice),
            "query($o: ID!) { organization(id: $o) { apiKeys { nodes { revokedAt } } } }",
            json!({ "o": o }),
        )
        .await;
    assert!(
        listed["data"]["organization"]["apiKeys"]["nodes"][0]["revokedAt"].is_string(),
        "{listed}"
    );
}

#[tokio::test]
async fn revocation_and_rotation_stop_the_old_secret_at_once() {
    let f = fixture().await;
    let (secret, id) = key(
        &f,
        &f.bob,
        None,
        &[("organization", "read"), ("member", "read")],
    )
    .await;
    let o = org_id(&f.org);
    let rotated = f
        .app
        .gql(
            Some(&f.bob),
            "mutation($k: ID!) { rotateApiKey(id: $k) { secret apiKey { id prefix } } }",
            json!({ "k": id }),
        )
        .await;
    assert!(rotated["errors"].is_null(), "{rotated}");
    let fresh = rotated["data"]["rotateApiKey"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(rotated["data"]["rotateApiKey"]["apiKey"]["id"], id.as_str());
    assert_ne!(fresh, secret);
    let old = f.app.gql(Some(&secret), MEMBERS, json!({ "o": o })).await;
    assert_eq!(error_code(&old), "UNAUTHENTICATED", "{old}");
    let new = f.app.gql(Some(&fresh), MEMBERS, json!({ "o": o })).await;
    assert!(new["errors"].is_null(), "{new}");

    // A key revokes itself: its next request is refused, as is rotating it again.
    let revoked = f
        .app
        .gql(
            Some(&fresh),
            "mutation($k: ID!) { revokeApiKey(id: $k) { revokedAt } }",
            json!({ "k": id }),
        )
        .await;
    assert!(
        revoked["data"]["revokeApiKey"]["revokedAt"].is_string(),
        "{revoked}"
    );
    let after = f.app.gql(Some(&fresh), MEMBERS, json!({ "o": o })).await;
    assert_eq!(
        after["errors"][0]["message"], "the API key is not valid",
        "{after}"
    );
    let again = f
        .app
        .gql(
            Some(&f.bob),
            "mutation($k: ID!) { rotateApiKey(id: $k) { secret } }",
            json!({ "k": id }),
        )
        .await;
    assert_eq!(error_code(&again), "CONFLICT", "{again}");
}

#[tokio::test]
async fn unknown_revoked_and_expired_keys_get_one_answer_and_a_typo_another() {
    let f = fixture().await;
    let (revoked, id) = key(
        &f,
        &f.bob,
        None,
        &[("organization", "read"), ("member", "read")],
    )
    .await;
    f.app
        .gql(
            Some(&f.bob),
            "mutation($k: ID!) { revokeApiKey(id: $k) { id } }",
            json!({ "k": id }),
        )
        .await;
    let (expired, expired_id) = key(
        &f,
        &f.bob,
        None,
        &[("organization", "read"), ("member", "read")],
    )
    .await;
    let expired_id = match NodeId::parse("id", &async_graphql::ID(expired_id)).unwrap() {
        NodeId::ApiKey(id) => id,
        other => panic!("{other:?}"),
    };
    entity::api_key::Entity::update_many()
        .col_expr(
            entity::api_key::Column::ExpiresAt,
            sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
        )
        .filter(entity::api_key::Column::Id.eq(expired_id))
        .exec(f.app.state.database())
        .await
        .unwrap();
    let unknown = charter::auth::api_keys::new_secret().secret;
    let o = org_id(&f.org);
    let mut answers = Vec::new();
    for secret in [&revoked, &expired, &unknown] {
        let body = f.app.gql(Some(secret), MEMBERS, json!({ "o": o })).await;
        answers.push(json!([
            body["data"],
            body["errors"][0]["message"],
            body["errors"][0]["extensions"]["code"]
        ]));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[1], answers[2]);
    assert_eq!(answers[0][2], "UNAUTHENTICATED");

    let (good, _) = key(
        &f,
        &f.bob,
        None,
        &[("organization", "read"), ("member", "read")],
    )
    .await;
    let mut typo: Vec<char> = good.chars().collect();
    typo[20] = if typo[20] == 'x' { 'y' } else { 'x' };
    let typo: String = typo.into_iter().collect();
    for bad in [typo.as_str(), &good[..good.len() - 1], "chk_", "chk_%00"] {
        let body = f.app.gql(Some(bad), MEMBERS, json!({ "o": o })).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("malformed"),
            "{body}"
        );
    }
    let megabyte = format!("chk_{}", "A".repeat(1 << 20));
    let response = f
        .app
        .client
        .post(format!("{}/graphql", f.app.address))
        .bearer_auth(&megabyte)
        .json(&json!({ "query": "{ viewer { user { id } } }" }))
        .send()
        .await
        .unwrap();
    assert_ne!(response.status().as_u16(), 500);
}

#[tokio::test]
async fn a_key_never_acts_outside_its_organization_nor_on_the_account() {
    let f = fixture().await;
    let bob = &f.bob_user;
    let other = f.app.create_org(bob, "Bob's own").await;
    let (secret, _) = key(
        &f,
        &f.bob,
        None,
        &[("member", "manage"), ("organization", "edit")],
    )
    .await;
    let elsewhere = f
        .app
        .gql(Some(&secret), MEMBERS, json!({ "o": org_id(&other) }))
        .await;
    assert_eq!(error_code(&elsewhere), "NOT_FOUND", "{elsewhere}");
    let mine = f
        .app
        .gql(
            Some(&secret),
            "{ viewer { memberships { totalCount nodes { organization { name } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        mine["data"]["viewer"]["memberships"]["totalCount"], 1,
        "{mine}"
    );
    assert_eq!(
        mine["data"]["viewer"]["memberships"]["nodes"][0]["organization"]["name"],
        "Acme"
    );
    let events = f
        .app
        .gql(
            Some(&secret),
            "{ viewer { securityEvents { nodes { action } } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&events), "FORBIDDEN", "{events}");

    let o = org_id(&f.org);
    let account_operations = [
        "mutation { login(input: {email: \"bob@example.com\", password: \"correct-horse-battery\"}) { accessToken } }".to_owned(),
        "mutation { refreshSession(refreshToken: \"crt_x\") { accessToken } }".to_owned(),
        "mutation { createOrganization(input: {name: \"Keyed\"}) { id } }".to_owned(),
        format!("mutation {{ switchOrganization(organizationId: \"{}\") {{ accessToken }} }}", org_id(&other)),
        format!("mutation {{ setDefaultOrganization(organizationId: \"{o}\") {{ user {{ id }} }} }}"),
        format!("mutation {{ leaveOrganization(organizationId: \"{o}\") }}"),
        "mutation { changePassword(input: {currentPassword: \"correct-horse-battery\", newPassword: \"another-long-passphrase\"}) }".to_owned(),
        "mutation { updateProfile(input: {displayName: \"Keyed\"}) { id } }".to_owned(),
        "mutation { logout }".to_owned(),
        "mutation { acceptInvitation(input: {token: \"chi_x\"}) { accessToken } }".to_owned(),
    ];
    for operation in &account_operations {
        let body = f.app.gql(Some(&secret), operation, json!({})).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{operation}: {body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("API key"),
            "{body}"
        );
    }
    // The password and the organizations are as they were.
    f.app.login("bob@example.com").await;
    let count = entity::organization::Entity::find()
        .count(f.app.state.database())
        .await
        .unwrap();
    assert_eq!(count, 2);

    // A key makes no keys, not even within what it holds: a child would outlive its parent.
    for pairs in [
        &[("list", "read")][..],
        &[("organization", "read"), ("member", "read")][..],
    ] {
        let child = create_key(&f, &secret, None, pairs).await;
        assert_eq!(error_code(&child), "FORBIDDEN", "{child}");
        assert!(
            child["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("API key")
        );
    }
}

#[tokio::test]
async fn a_service_accounts_key_outlives_the_human_who_made_it() {
    let f = fixture().await;
    let o = org_id(&f.org);
    let created = f
        .app
        .gql(
            Some(&f.bob),
            "mutation($o: ID!, $r: ID!) { createServiceAccount(input: {organizationId: $o, name: \"Deploy bot\", description: \"ships\", roleId: $r}) { id name membership { role { key } } createdBy { email } } }",
            json!({ "o": o, "r": role(&f, "standard_user") }),
        )
        .await;
    assert!(created["errors"].is_null(), "{created}");
    let account = created["data"]["createServiceAccount"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        created["data"]["createServiceAccount"]["membership"]["role"]["key"],
        "standard_user"
    );
    let (secret, _) = key(
        &f,
        &f.bob,
        Some(&account),
        &[
            ("organization", "read"),
            ("list", "read"),
            ("member", "read"),
        ],
    )
    .await;
    let bob_membership = membership(&f, f.bob_user.id).await;
    let removed = f
        .app
        .gql(
            Some(&f.alice),
            "mutation($m: ID!) { removeMember(membershipId: $m) }",
            json!({ "m": bob_membership }),
        )
        .await;
    assert!(removed["errors"].is_null(), "{removed}");
    let lists = f.app.gql(Some(&secret), LISTS, json!({ "o": o })).await;
    assert!(
        lists["errors"].is_null(),
        "the service account's key still works: {lists}"
    );

    // It appears among the members with its kind, and the filter finds it.
    let members = f
        .app
        .gql(
            Some(&f.alice),
            "query($o: ID!) { organization(id: $o) { all: members { totalCount } service: members(filter: {kind: SERVICE}) { totalCount nodes { kind user { displayName } } } human: members(filter: {kind: HUMAN}) { totalCount } } }",
            json!({ "o": o }),
        )
        .await;
    let org = &members["data"]["organization"];
    assert_eq!(org["all"]["totalCount"], 2, "{members}");
    assert_eq!(org["service"]["totalCount"], 1);
    assert_eq!(org["service"]["nodes"][0]["kind"], "SERVICE");
    assert_eq!(
        org["service"]["nodes"][0]["user"]["displayName"],
        "Deploy bot"
    );
    assert_eq!(org["human"]["totalCount"], 1);

    // Deleting the account stops its keys and frees its membership.
    let deleted = f
        .app
        .gql(
            Some(&f.alice),
            "mutation($s: ID!) { deleteServiceAccount(id: $s) }",
            json!({ "s": account }),
        )
        .await;
    assert!(deleted["errors"].is_null(), "{deleted}");
    let after = f.app.gql(Some(&secret), LISTS, json!({ "o": o })).await;
    assert_eq!(error_code(&after), "UNAUTHENTICATED", "{after}");
}

#[tokio::test]
async fn a_service_account_is_never_an_owner_never_signs_in_and_takes_a_seat() {
    let f = fixture().await;
    let o = org_id(&f.org);
    let create = "mutation($o: ID!, $n: String!, $r: ID!) { createServiceAccount(input: {organizationId: $o, name: $n, roleId: $r}) { id membership { id user { email } } } }";
    let owner = f
        .app
        .gql(
            Some(&f.alice),
            create,
            json!({ "o": o, "n": "Root bot", "r": role(&f, "owner") }),
        )
        .await;
    assert_eq!(error_code(&owner), "FORBIDDEN", "{owner}");
    let body = f
        .app
        .gql(
            Some(&f.alice),
            create,
            json!({ "o": o, "n": "Bot", "r": role(&f, "standard_user") }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let account = &body["data"]["createServiceAccount"];
    let promoted = f
        .app
        .gql(
            Some(&f.alice),
            "mutation($m: ID!, $r: ID!) { assignRole(input: {membershipId: $m, roleId: $r}) { id } }",
            json!({ "m": account["membership"]["id"], "r": role(&f, "owner") }),
        )
        .await;
    assert_eq!(error_code(&promoted), "FORBIDDEN", "{promoted}");
    let email = account["membership"]["user"]["email"].as_str().unwrap();
    let login = f
        .app
        .gql(None, "mutation($e: String!) { login(input: {email: $e, password: \"correct-horse-battery\"}) { accessToken } }", json!({ "e": email }))
        .await;
    assert_eq!(error_code(&login), "UNAUTHENTICATED", "{login}");
    let taken = f
        .app
        .gql(
            Some(&f.alice),
            create,
            json!({ "o": o, "n": "bot", "r": role(&f, "standard_user") }),
        )
        .await;
    assert_eq!(
        error_code(&taken),
        "CONFLICT",
        "the name is taken in any case: {taken}"
    );

    // Seats: alice, bob and the bot hold three; with three seats a fourth is refused.
    charter::services::organization::organizations::change_license(
        &f.app.state,
        &charter::services::audit::Actor::command_line(),
        f.org.id,
        charter::services::organization::organizations::LicenseChange {
            seats: Some(3),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let full = f
        .app
        .gql(
            Some(&f.alice),
            create,
            json!({ "o": o, "n": "Another bot", "r": role(&f, "standard_user") }),
        )
        .await;
    assert_eq!(error_code(&full), "SEAT_LIMIT_REACHED", "{full}");
    let accounts = entity::service_account::Entity::find()
        .count(f.app.state.database())
        .await
        .unwrap();
    assert_eq!(accounts, 1, "nothing of a refused account is written");
}

#[tokio::test]
async fn others_keys_need_api_key_manage_and_a_member_always_sees_their_own() {
    let f = fixture().await;
    let carol = f.app.create_user("carol@example.com").await;
    f.app.add_member(&carol, &f.org, "standard_user").await;
    let carol_token = f.app.login("carol@example.com").await.access_token;
    let (_, bobs) = key(
        &f,
        &f.bob,
        None,
        &[("organization", "read"), ("member", "read")],
    )
    .await;
    let (_, carols) = key(&f, &carol_token, None, &[]).await;
    let o = org_id(&f.org);
    let listing = "query($o: ID!) { organization(id: $o) { apiKeys { totalCount nodes { id } } } }";
    let seen = f
        .app
        .gql(Some(&carol_token), listing, json!({ "o": o }))
        .await;
    assert_eq!(
        seen["data"]["organization"]["apiKeys"]["totalCount"], 1,
        "{seen}"
    );
    assert_eq!(
        seen["data"]["organization"]["apiKeys"]["nodes"][0]["id"],
        carols.as_str()
    );
    let all = f.app.gql(Some(&f.alice), listing, json!({ "o": o })).await;
    assert_eq!(
        all["data"]["organization"]["apiKeys"]["totalCount"], 2,
        "{all}"
    );
    let node = f
        .app
        .gql(
            Some(&carol_token),
            "query($k: ID!) { node(id: $k) { ... on ApiKey { name } } }",
            json!({ "k": bobs }),
        )
        .await;
    assert_eq!(error_code(&node), "FORBIDDEN", "{node}");
    let revoke = "mutation($k: ID!) { revokeApiKey(id: $k) { revokedAt } }";
    let refused = f
        .app
        .gql(Some(&carol_token), revoke, json!({ "k": bobs }))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    let own = f
        .app
        .gql(Some(&carol_token), revoke, json!({ "k": carols }))
        .await;
    assert!(own["errors"].is_null(), "{own}");
    let by_owner = f
        .app
        .gql(Some(&f.alice), revoke, json!({ "k": bobs }))
        .await;
    assert!(by_owner["errors"].is_null(), "{by_owner}");
}

#[tokio::test]
async fn bad_key_input_is_refused_naming_the_problem_and_writes_nothing() {
    let f = fixture().await;
    let o = org_id(&f.org);
    let carol = f.app.create_user("carol@example.com").await;
    f.app.add_member(&carol, &f.org, "read_only_user").await;
    let carol_token = f.app.login("carol@example.com").await.access_token;
    let ask = |token: String, name: String, g: Value, days: Option<i32>| {
        let app = &f.app;
        let o = o.clone();
        async move {
            app.gql(
                Some(&token),
                CREATE_KEY,
                json!({ "o": o, "n": name, "g": g, "d": days }),
            )
            .await
        }
    };
    let cases: Vec<(&str, Value, &str, Option<&str>)> = vec![
        (
            "unknown resource",
            ask(
                f.bob.clone(),
                "k".into(),
                grants(&[("nuclear", "launch")]),
                None,
            )
            .await,
            "INVALID_INPUT",
            Some("grants"),
        ),
        (
            "unknown level",
            ask(
                f.bob.clone(),
                "k".into(),
                grants(&[("list", "godlike")]),
                None,
            )
            .await,
            "INVALID_INPUT",
            Some("grants"),
        ),
        (
            "above the creator",
            ask(
                carol_token.clone(),
                "k".into(),
                grants(&[("member", "manage")]),
                None,
            )
            .await,
            "FORBIDDEN",
            None,
        ),
        (
            "zero days",
            ask(f.bob.clone(), "k".into(), json!([]), Some(0)).await,
            "INVALID_INPUT",
            Some("expiresInDays"),
        ),
        (
            "366 days",
            ask(f.bob.clone(), "k".into(), json!([]), Some(366)).await,
            "INVALID_INPUT",
            Some("expiresInDays"),
        ),
        (
            "a blank name",
            ask(f.bob.clone(), "   ".into(), json!([]), None).await,
            "INVALID_INPUT",
            Some("name"),
        ),
        (
            "a long name",
            ask(f.bob.clone(), "k".repeat(101), json!([]), None).await,
            "INVALID_INPUT",
            Some("name"),
        ),
        (
            "a NUL in the name",
            ask(f.bob.clone(), "ci\u{0}".into(), json!([]), None).await,
            "INVALID_INPUT",
            Some("name"),
        ),
    ];
    for (what, body, code, field) in &cases {
        assert_eq!(error_code(body), *code, "{what}: {body}");
        if let Some(field) = field {
            assert_eq!(
                body["errors"][0]["extensions"]["field"], *field,
                "{what}: {body}"
            );
        }
    }
    let keys = entity::api_key::Entity::find()
        .count(f.app.state.database())
        .await
        .unwrap();
    assert_eq!(keys, 0, "nothing is written");
    let good = ask(
        f.bob.clone(),
        "k".into(),
        grants(&[("list", "edit")]),
        Some(365),
    )
    .await;
    assert!(good["errors"].is_null(), "{good}");
    assert!(good["data"]["createApiKey"]["apiKey"]["expiresAt"].is_string());
}

#[tokio::test]
async fn a_disabled_holders_keys_stop_and_use_is_recorded_once_a_minute() {
    let f = fixture().await;
    let (secret, id) = key(
        &f,
        &f.bob,
        None,
        &[("organization", "read"), ("member", "read")],
    )
    .await;
    let o = org_id(&f.org);
    let last_used = || async {
        f.app
            .gql(
                Some(&f.alice),
                "query($k: ID!) { node(id: $k) { ... on ApiKey { lastUsedAt } } }",
                json!({ "k": id }),
            )
            .await["data"]["node"]["lastUsedAt"]
            .clone()
    };
    assert_eq!(last_used().await, Value::Null);
    let body = f.app.gql(Some(&secret), MEMBERS, json!({ "o": o })).await;
    assert!(body["errors"].is_null(), "{body}");
    // Written off the request's path: wait for it.
    let mut first = Value::Null;
    for _ in 0..100 {
        first = last_used().await;
        if first.is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(first.is_string(), "lastUsedAt was recorded");
    for _ in 0..5 {
        f.app.gql(Some(&secret), MEMBERS, json!({ "o": o })).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(last_used().await, first, "at most once a minute");

    charter::services::identity::users::set_disabled(
        &f.app.state,
        &charter::services::audit::Actor::command_line(),
        &charter::domain::Email::parse("email", "bob@example.com").unwrap(),
        true,
    )
    .await
    .unwrap();
    let body = f.app.gql(Some(&secret), MEMBERS, json!({ "o": o })).await;
    assert_eq!(
        body["errors"][0]["message"], "the API key is not valid",
        "{body}"
    );
}

#[tokio::test]
async fn a_burst_of_parallel_requests_with_a_key_and_its_revocation_race_cleanly() {
    let f = fixture().await;
    let (secret, id) = key(
        &f,
        &f.bob,
        None,
        &[("organization", "read"), ("member", "read")],
    )
    .await;
    let o = org_id(&f.org);
    let requests = (0..24).map(|_| f.app.gql(Some(&secret), MEMBERS, json!({ "o": o })));
    for body in futures_util::future::join_all(requests).await {
        assert!(body["errors"].is_null(), "{body}");
    }
    let revoke = f.app.gql(
        Some(&f.bob),
        "mutation($k: ID!) { revokeApiKey(id: $k) { id } }",
        json!({ "k": id }),
    );
    let uses = (0..12).map(|_| f.app.gql(Some(&secret), MEMBERS, json!({ "o": o })));
    let (revoked, answers) = tokio::join!(revoke, futures_util::future::join_all(uses));
    assert!(revoked["errors"].is_null(), "{revoked}");
    for body in answers {
        // Each request was answered whole: before the revocation, or refused after it.
        let ok =
            body["errors"].is_null() && body["data"]["organization"]["members"]["totalCount"] == 2;
        assert!(ok || error_code(&body) == "UNAUTHENTICATED", "{body}");
    }
    let after = f.app.gql(Some(&secret), MEMBERS, json!({ "o": o })).await;
    assert_eq!(error_code(&after), "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_change_made_through_a_key_names_the_key_in_its_event() {
    let f = fixture().await;
    let (secret, id) = key(&f, &f.bob, None, &[("organization", "edit")]).await;
    let o = org_id(&f.org);
    let renamed = f
        .app
        .gql(Some(&secret), "mutation($o: ID!) { updateOrganization(input: {organizationId: $o, name: \"Acme Keyed\"}) { name } }", json!({ "o": o }))
        .await;
    assert!(renamed["errors"].is_null(), "{renamed}");
    let log = f
        .app
        .gql(
            Some(&f.alice),
            "query($o: ID!) { organization(id: $o) { auditLog(first: 1) { nodes { action actorEmail actorApiKeyId } } } }",
            json!({ "o": o }),
        )
        .await;
    let event = &log["data"]["organization"]["auditLog"]["nodes"][0];
    assert_eq!(event["action"], "organization.updated", "{log}");
    assert_eq!(event["actorEmail"], "bob@example.com");
    assert_eq!(event["actorApiKeyId"], id.as_str());
    let chain = format!("org:{}", f.org.id);
    let (checked, broken) = charter::services::audit::verify(&f.app.state, Some(&chain))
        .await
        .unwrap();
    assert!(
        checked >= 2 && broken.is_empty(),
        "the chain verifies with the key in it: {broken:?}"
    );
    // The key is part of what the hash covers: changing it breaks the chain.
    use sea_orm::ActiveModelTrait;
    let newest = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::ActorApiKeyId.is_not_null())
        .one(f.app.state.database())
        .await
        .unwrap()
        .unwrap();
    let mut forged: entity::audit_event::ActiveModel = newest.into();
    forged.actor_api_key_id = sea_orm::Set(Some(uuid::Uuid::now_v7()));
    forged.update(f.app.state.database()).await.unwrap();
    let (_, broken) = charter::services::audit::verify(&f.app.state, Some(&chain))
        .await
        .unwrap();
    assert_eq!(broken.len(), 1, "a forged key id is caught");
}

#[tokio::test]
async fn lists_download_with_a_key_through_the_same_gate() {
    let f = fixture().await;
    let o = org_id(&f.org);
    let list = f
        .app
        .gql(
            Some(&f.alice),
            "mutation($o: ID!) { createList(input: {organizationId: $o, name: \"Blocked\", kind: IP}) { id } }",
            json!({ "o": o }),
        )
        .await;
    let list = list["data"]["createList"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    f.app
        .gql(
            Some(&f.alice),
            "mutation($l: ID!) { addListEntries(input: {listId: $l, entries: [{value: \"192.0.2.9\"}]}) { id } }",
            json!({ "l": list }),
        )
        .await;
    let (reader, _) = key(&f, &f.bob, None, &[("list", "read")]).await;
    let (blind, _) = key(
        &f,
        &f.bob,
        None,
        &[("organization", "read"), ("member", "read")],
    )
    .await;
    let get = |secret: String| {
        let url = format!("{}/lists/{list}.txt", f.app.address);
        let client = f.app.client.clone();
        async move { client.get(url).bearer_auth(secret).send().await.unwrap() }
    };
    let response = get(reader).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "192.0.2.9\n");
    assert_eq!(get(blind).await.status(), 403);
    assert_eq!(get("chk_typo".to_owned()).await.status(), 401);
}

#[tokio::test]
async fn key_grants_follow_the_policys_dependencies() {
    let source = include_str!("../../examples/policies/threatq.toml");
    let policy_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(policy_file.path(), source).unwrap();
    let path = policy_file.path().to_path_buf();
    let app = TestApp::spawn_with(move |settings| settings.policy = Some(path)).await;
    let alice = app.create_user("alice@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    let features: Vec<String> = app
        .state
        .policy
        .features()
        .iter()
        .map(|f| f.key.clone())
        .collect();
    charter::services::organization::organizations::change_license(
        &app.state,
        &charter::services::audit::Actor::command_line(),
        org.id,
        charter::services::organization::organizations::LicenseChange {
            add_features: features,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let token = app.login("alice@example.com").await.access_token;
    let create = "mutation($o: ID!, $add: Boolean!) { createApiKey(input: {organizationId: $o, name: \"k\", grants: [{resource: \"tq_tlp\", level: \"Edit\"}], addMissingDependencies: $add}) { apiKey { grants { resource level } } } }";
    let missing = app
        .gql(
            Some(&token),
            create,
            json!({ "o": org_id(&org), "add": false }),
        )
        .await;
    assert_eq!(error_code(&missing), "PERMISSION_DEPENDENCY", "{missing}");
    assert!(
        missing["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("tq_sources"),
        "{missing}"
    );
    let added = app
        .gql(
            Some(&token),
            create,
            json!({ "o": org_id(&org), "add": true }),
        )
        .await;
    assert!(added["errors"].is_null(), "{added}");
    let sources = added["data"]["createApiKey"]["apiKey"]["grants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["resource"] == "tq_sources")
        .cloned()
        .unwrap();
    assert_eq!(sources["level"], "Create, Edit, Delete");
}

/// Raises `levels` where the policy's dependencies ask.
fn with_dependencies(policy: &charter::authz::Policy, levels: &mut [u8]) {
    for dependency in policy.dependencies() {
        let (required, at_least) = dependency.requires;
        if levels[dependency.resource] >= dependency.level && levels[required] < at_least {
            levels[required] = at_least;
        }
    }
}

/// Random levels for every resource of the built-in policy, raised where its dependencies ask
/// (a role must satisfy them), as grant inputs and as levels.
fn random_grants(rng: &mut impl rand::Rng, policy: &charter::authz::Policy) -> (Value, Vec<u8>) {
    let mut levels: Vec<u8> = policy
        .resources()
        .iter()
        .map(|resource| rng.gen_range(0..resource.levels.len()) as u8)
        .collect();
    with_dependencies(policy, &mut levels);
    let inputs: Vec<Value> = policy
        .resources()
        .iter()
        .zip(&levels)
        .filter(|(_, level)| **level > 0)
        .map(|(resource, level)| {
            json!({ "resource": resource.key, "level": resource.levels[*level as usize] })
        })
        .collect();
    (json!(inputs), levels)
}

#[tokio::test]
async fn random_keys_roles_and_demotions_never_let_a_key_exceed_its_holder() {
    use rand::{Rng, SeedableRng};
    let f = fixture().await;
    f.app.license_custom_roles(&f.org).await;
    let policy = f.app.state.policy.clone();
    let o = org_id(&f.org);
    let carol = f.app.create_user("carol@example.com").await;
    f.app.add_member(&carol, &f.org, "read_only_user").await;
    let carol_membership = membership(&f, carol.id).await;
    let carol_token = f.app.login("carol@example.com").await.access_token;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x0063_6861_7274_6572);
    let make_role = async |grants: &Value, n: usize| {
        let body = f
            .app
            .gql(
                Some(&f.alice),
                "mutation($o: ID!, $n: String!, $g: [PermissionGrantInput!]!) { createRole(input: {organizationId: $o, name: $n, grants: $g}) { id } }",
                json!({ "o": o, "n": format!("Random {n}"), "g": grants }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        body["data"]["createRole"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let assign_to_carol = async |role: &str| {
        let body = f
            .app
            .gql(
                Some(&f.alice),
                "mutation($m: ID!, $r: ID!) { assignRole(input: {membershipId: $m, roleId: $r}) { id } }",
                json!({ "m": carol_membership, "r": role }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
    };
    for round in 0..8 {
        // Carol holds a random role and makes a key within it ...
        let (role_grants, role_levels) = random_grants(&mut rng, &policy);
        assign_to_carol(&make_role(&role_grants, 2 * round).await).await;
        let mut key_levels: Vec<u8> = role_levels
            .iter()
            .map(|&level| rng.gen_range(0..=level))
            .collect();
        // Within the role, which satisfies the dependencies the key must satisfy too.
        with_dependencies(&policy, &mut key_levels);
        let key_grants: Vec<Value> = policy
            .resources()
            .iter()
            .zip(&key_levels)
            .filter(|(_, level)| **level > 0)
            .map(|(r, level)| json!({ "resource": r.key, "level": r.levels[*level as usize] }))
            .collect();
        let body = f
            .app
            .gql(
                Some(&carol_token),
                CREATE_KEY,
                json!({ "o": o, "n": format!("k{round}"), "g": key_grants }),
            )
            .await;
        assert!(body["errors"].is_null(), "round {round}: {body}");
        let secret = body["data"]["createApiKey"]["secret"]
            .as_str()
            .unwrap()
            .to_owned();
        // ... then is moved to another random role, up or down.
        let (new_grants, new_levels) = random_grants(&mut rng, &policy);
        assign_to_carol(&make_role(&new_grants, 2 * round + 1).await).await;
        let body = f
            .app
            .gql(
                Some(&secret),
                "query($o: ID!) { viewer { permissions(organizationId: $o) { resource level } } }",
                json!({ "o": o }),
            )
            .await;
        assert!(body["errors"].is_null(), "round {round}: {body}");
        for (index, grant) in body["data"]["viewer"]["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            let resource = &policy.resources()[index];
            assert_eq!(grant["resource"], resource.key.as_str());
            let expected = new_levels[index].min(key_levels[index]) as usize;
            assert_eq!(
                grant["level"],
                resource.levels[expected].as_str(),
                "round {round}: {} with role {} and key {}",
                resource.key,
                new_levels[index],
                key_levels[index]
            );
        }
        // A field the key's own grants pass but the new role does not is FORBIDDEN, and
        // the other way round.
        let (member, read) = policy.level_of("member", "read").unwrap();
        let (organization, org_read) = policy.level_of("organization", "read").unwrap();
        let members = f.app.gql(Some(&secret), MEMBERS, json!({ "o": o })).await;
        let passes = |levels: &[u8]| levels[member] >= read && levels[organization] >= org_read;
        assert_eq!(
            members["errors"].is_null(),
            passes(&new_levels) && passes(&key_levels),
            "round {round}: {members}"
        );
    }
}

#[tokio::test]
async fn a_parallel_burst_of_key_creations_stops_at_the_limit() {
    let f = fixture().await;
    let limit = charter::services::organization::api_keys::MAX_KEYS_PER_HOLDER as usize;
    let attempts = (0..limit + 10).map(|_| create_key(&f, &f.bob, None, &[]));
    let answers = futures_util::future::join_all(attempts).await;
    let made = answers
        .iter()
        .filter(|body| body["errors"].is_null())
        .count();
    assert_eq!(
        made, limit,
        "exactly the limit is made, whatever the interleaving"
    );
    for body in answers.iter().filter(|body| !body["errors"].is_null()) {
        assert_eq!(error_code(body), "CONFLICT", "{body}");
    }
    let stored = entity::api_key::Entity::find()
        .count(f.app.state.database())
        .await
        .unwrap();
    assert_eq!(stored as usize, limit);
    let created = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::Action.eq("api_key.created"))
        .count(f.app.state.database())
        .await
        .unwrap();
    assert_eq!(
        created as usize, limit,
        "one event per key made, none for a refusal"
    );
}
