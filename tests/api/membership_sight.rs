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
    charter::services::memberships::new_membership(&bob, org.id, role, "Nothing", None)
        .insert(&app.state.db)
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
        ["id", "name", "publicId", "viewerPermissions", "viewerRole"]
    );
}
