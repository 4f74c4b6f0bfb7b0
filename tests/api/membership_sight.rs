//! Rule 15: membership alone shows a member its organization's id, public id and name, its own
//! role and its own permissions, whatever the role grants; nothing more.

use charter::graphql::ids::NodeId;
use sea_orm::ActiveModelTrait;
use serde_json::json;

use crate::helpers::{TestApp, org_id};

#[tokio::test]
async fn a_member_whose_role_grants_nothing_still_sees_its_organization_and_role() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    app.license_custom_roles(&org).await;
    let owner = app.login("alice@example.com").await.access_token;
    let body = app
        .gql(
            Some(&owner),
            "mutation($o: ID!) { createRole(input: {organizationId: $o, name: \"Nothing\", grants: []}) { id } }",
            json!({ "o": org_id(&org) }),
        )
        .await;
    let role_id = body["data"]["createRole"]["id"]
        .as_str()
        .expect("a role")
        .to_owned();
    let NodeId::Role { role, .. } =
        NodeId::parse("id", &async_graphql::ID(role_id.clone())).unwrap()
    else {
        panic!("a role id")
    };
    let bob = app.create_user("bob@example.com").await;
    charter::services::store::records::new_membership(&bob, org.id, role, "Nothing", None)
        .insert(app.state.database())
        .await
        .unwrap();

    let body = app
        .gql(
            None,
            "mutation { login(input: {email: \"bob@example.com\", password: \"correct-horse-battery\"}) {
                organization { id publicId name viewerRole { id name } viewerPermissions { resource level } }
            } }",
            json!({}),
        )
        .await;
    let seen = &body["data"]["login"]["organization"];
    assert_eq!(seen["id"], org_id(&org), "{body}");
    assert_eq!(seen["publicId"], org.public_id.as_str(), "{body}");
    assert_eq!(seen["name"], "Acme", "{body}");
    assert_eq!(seen["viewerRole"]["id"], role_id, "{body}");
    assert_eq!(seen["viewerRole"]["name"], "Nothing", "{body}");
    let permissions = seen["viewerPermissions"].as_array().expect("permissions");
    assert!(!permissions.is_empty(), "{body}");
    assert!(
        permissions
            .iter()
            .all(|p| p["level"].as_str().unwrap().eq_ignore_ascii_case("none")),
        "{body}"
    );
    assert!(body["errors"].is_null(), "{body}");
    // Only those: the license needs `organization: read`, so it is FORBIDDEN, and being
    // non-null it nulls the organization, the nearest nullable position.
    let body = app
        .gql(
            None,
            "mutation { login(input: {email: \"bob@example.com\", password: \"correct-horse-battery\"}) {
                accessToken organization { name license { seats } }
            } }",
            json!({}),
        )
        .await;
    assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
    assert!(body["data"]["login"]["organization"].is_null(), "{body}");
    let errors = body["errors"].as_array().expect("an error for the license");
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(errors[0]["extensions"]["code"], "FORBIDDEN", "{body}");
    assert_eq!(
        errors[0]["path"],
        json!(["login", "organization", "license"]),
        "{body}"
    );
}

#[tokio::test]
async fn the_catalog_lists_the_fields_membership_alone_shows() {
    let app = TestApp::spawn().await;
    let body = app
        .gql(
            None,
            "{ permissionCatalog { guards { type field kind } } }",
            json!({}),
        )
        .await;
    let mut fields: Vec<&str> = body["data"]["permissionCatalog"]["guards"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["kind"] == "REQUIRES_OR_MEMBER")
        .map(|g| {
            assert_eq!(g["type"], "Organization", "{g}");
            g["field"].as_str().unwrap()
        })
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "apiKeys",
            "id",
            "name",
            "publicId",
            "viewerPermissions",
            "viewerRole"
        ]
    );
}

/// A request that changes something as its bearer and then signs another member in answers the
/// sign-in's payload with that member's own access, not with the bearer's read earlier in the
/// same request.
#[tokio::test]
async fn a_sign_in_after_the_bearers_own_mutation_answers_with_its_own_access() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    let carol = app.create_user("carol@example.com").await;
    app.add_member(&carol, &org, "read_only_user").await;
    let owner = app.login("alice@example.com").await.access_token;
    let body = app
        .gql(
            Some(&owner),
            "mutation($o: ID!, $p: String!) { \
             updateOrganization(input: {organizationId: $o, name: \"Acme Corp\"}) { \
               viewerPermissions { resource level } } \
             login(input: {email: \"carol@example.com\", password: $p, organizationId: $o}) { \
               organization { viewerPermissions { resource level } } } }",
            json!({ "o": org_id(&org), "p": crate::helpers::PASSWORD }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let level_of = |grants: &serde_json::Value, resource: &str| {
        grants
            .as_array()
            .expect("grants")
            .iter()
            .find(|g| g["resource"] == resource)
            .map(|g| g["level"].as_str().unwrap_or_default().to_owned())
    };
    let as_owner = &body["data"]["updateOrganization"]["viewerPermissions"];
    let as_carol = &body["data"]["login"]["organization"]["viewerPermissions"];
    assert_eq!(
        level_of(as_owner, "member").as_deref(),
        Some("manage"),
        "{body}"
    );
    assert_ne!(
        level_of(as_carol, "member").as_deref(),
        Some("manage"),
        "{body}"
    );
    let alone = app.login_to("carol@example.com", Some(&org_id(&org))).await;
    let own = app
        .gql(
            Some(&alone.access_token),
            "query($o: ID!) { organization(id: $o) { viewerPermissions { resource level } } }",
            json!({ "o": org_id(&org) }),
        )
        .await;
    assert_eq!(
        as_carol, &own["data"]["organization"]["viewerPermissions"],
        "carol's permissions in the payload are those she has alone"
    );
}
