//! Rule 3: an object in an organization the viewer does not belong to answers exactly as an id
//! that does not exist, on every id-taking argument of the schema.

use std::collections::BTreeSet;

use charter::graphql::ids::NodeId;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, arguments_of_type, org_id};

/// The kinds of object an id argument names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Organization,
    User,
    Membership,
    /// A role of the other organization, under its own organization.
    Role,
    /// A role of the other organization, under the viewer's organization.
    RoleUnderOwnOrganization,
    AuditEvent,
    Invitation,
    List,
    ApiKey,
    ServiceAccount,
    OrganizationDomain,
    MfaFactor,
    WebhookEndpoint,
    WebhookDelivery,
    ScimGroup,
}

/// An id argument, a request whose `@ID` is the id under test, and the kinds it is tried with.
struct Case {
    path: &'static str,
    query: &'static str,
    variables: Value,
    kinds: &'static [Kind],
}

/// What the answer shows: the data, and each error's code and message.
fn answer(body: &Value) -> Value {
    let errors: Vec<Value> = body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| json!([e["extensions"]["code"], e["message"], e["path"]]))
        .collect();
    json!({ "data": body["data"], "errors": errors })
}

fn with_id(value: &Value, id: &str) -> Value {
    match value {
        Value::String(text) if text == "@ID" => Value::String(id.to_owned()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), with_id(v, id)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The id arguments that name another organization on purpose: a share partner is an
/// organization the viewer is not a member of, picked by its id or public id, so whether it
/// exists is what the argument asks.
const NAMING_ANOTHER_ORGANIZATION: &[&str] = &[
    "Mutation.addSharePartner(partnerOrganizationId)",
    "Mutation.removeSharePartner(partnerOrganizationId)",
];

#[rustfmt::skip]
fn cases(own_org: &str, own_role: &str, own_membership: &str, own_scim_group: &str) -> Vec<Case> {
    use Kind::*;
    const ALL: &[Kind] = &[Organization, User, Membership, Role, RoleUnderOwnOrganization, AuditEvent, Invitation, List, ApiKey, ServiceAccount, OrganizationDomain, MfaFactor, WebhookEndpoint, WebhookDelivery, ScimGroup];
    const ORG: &[Kind] = &[Organization];
    const ROLE: &[Kind] = &[Role, RoleUnderOwnOrganization];
    const LIST: &[Kind] = &[List];
    let case = |path, query, variables, kinds| Case { path, query, variables, kinds };
    vec![
        case("Query.organization(id)", "query($v: ID!) { organization(id: $v) { id } }", json!({ "v": "@ID" }), ORG),
        case("Query.node(id)", "query($v: ID!) { node(id: $v) { id } }", json!({ "v": "@ID" }), ALL),
        case("Query.checkPermission(organizationId)", "query($v: ID!) { checkPermission(organizationId: $v, resource: \"list\", level: \"read\") }", json!({ "v": "@ID" }), ORG),
        case("Query.checkPermission(userId)", "query($o: ID!, $v: ID) { checkPermission(organizationId: $o, userId: $v, resource: \"list\", level: \"read\") }", json!({ "o": own_org, "v": "@ID" }), &[User]),
        case("Viewer.permissions(organizationId)", "query($v: ID!) { viewer { permissions(organizationId: $v) { level } } }", json!({ "v": "@ID" }), ORG),
        case("Organization.members(filter.roleId)", "query($o: ID!, $v: ID) { organization(id: $o) { members(filter: {roleId: $v}) { totalCount } } }", json!({ "o": own_org, "v": "@ID" }), ROLE),
        case("Organization.auditLog(actorId)", "query($o: ID!, $v: ID) { organization(id: $o) { auditLog(actorId: $v) { nodes { id } } } }", json!({ "o": own_org, "v": "@ID" }), &[User]),
        case("Mutation.login(input.organizationId)", "mutation($v: ID) { login(input: {email: \"alice@example.com\", password: \"correct-horse-battery\", organizationId: $v}) { user { id } } }", json!({ "v": "@ID" }), ORG),
        case("Mutation.switchOrganization(organizationId)", "mutation($v: ID!) { switchOrganization(organizationId: $v) { user { id } } }", json!({ "v": "@ID" }), ORG),
        case("Mutation.setDefaultOrganization(organizationId)", "mutation($v: ID!) { setDefaultOrganization(organizationId: $v) { user { id } } }", json!({ "v": "@ID" }), ORG),
        case("Mutation.updateOrganization(input.organizationId)", "mutation($v: ID!) { updateOrganization(input: {organizationId: $v, name: \"Taken\"}) { id } }", json!({ "v": "@ID" }), ORG),
        case("Mutation.createRole(input.organizationId)", "mutation($v: ID!) { createRole(input: {organizationId: $v, name: \"Spy\", grants: []}) { id } }", json!({ "v": "@ID" }), ORG),
        case("Mutation.updateRole(input.id)", "mutation($v: ID!) { updateRole(input: {id: $v, name: \"Renamed\"}) { id } }", json!({ "v": "@ID" }), ROLE),
        case("Mutation.deleteRole(id)", "mutation($v: ID!) { deleteRole(id: $v) }", json!({ "v": "@ID" }), ROLE),
        case("Mutation.createList(input.organizationId)", "mutation($v: ID!) { createList(input: {organizationId: $v, name: \"Spy\", kind: TEXT}) { id } }", json!({ "v": "@ID" }), ORG),
        case("Mutation.updateList(input.listId)", "mutation($v: ID!) { updateList(input: {listId: $v, name: \"Renamed\"}) { id } }", json!({ "v": "@ID" }), LIST),
        case("Mutation.addListEntries(input.listId)", "mutation($v: ID!) { addListEntries(input: {listId: $v, entries: [{value: \"x\"}]}) { id } }", json!({ "v": "@ID" }), LIST),
        case("Mutation.removeListEntries(input.listId)", "mutation($v: ID!) { removeListEntries(input: {listId: $v, values: [\"x\"]}) { id } }", json!({ "v": "@ID" }), LIST),
        case("Mutation.setListShared(id)", "mutation($v: ID!) { setListShared(id: $v, shared: true) { id } }", json!({ "v": "@ID" }), LIST),
        case("Mutation.deleteList(id)", "mutation($v: ID!) { deleteList(id: $v) }", json!({ "v": "@ID" }), LIST),
        case("Mutation.addSharePartner(organizationId)", "mutation($v: ID!, $p: ID!) { addSharePartner(organizationId: $v, partnerOrganizationId: $p) { id } }", json!({ "v": "@ID", "p": own_org }), ORG),
        case("Mutation.removeSharePartner(organizationId)", "mutation($v: ID!, $p: ID!) { removeSharePartner(organizationId: $v, partnerOrganizationId: $p) { id } }", json!({ "v": "@ID", "p": own_org }), ORG),
        case("Mutation.assignRole(input.membershipId)", "mutation($r: ID!, $v: ID!) { assignRole(input: {membershipId: $v, roleId: $r}) { id } }", json!({ "r": own_role, "v": "@ID" }), &[Membership]),
        case("Mutation.assignRole(input.roleId)", "mutation($m: ID!, $v: ID!) { assignRole(input: {membershipId: $m, roleId: $v}) { id } }", json!({ "m": own_membership, "v": "@ID" }), ROLE),
        case("Mutation.removeMember(membershipId)", "mutation($v: ID!) { removeMember(membershipId: $v) }", json!({ "v": "@ID" }), &[Membership]),
        case("Mutation.leaveOrganization(organizationId)", "mutation($v: ID!) { leaveOrganization(organizationId: $v) }", json!({ "v": "@ID" }), ORG),
        case("Mutation.inviteMember(input.organizationId)", "mutation($r: ID!, $v: ID!) { inviteMember(input: {organizationId: $v, email: \"spy@example.com\", roleId: $r}) { id } }", json!({ "r": own_role, "v": "@ID" }), ORG),
        case("Mutation.inviteMember(input.roleId)", "mutation($o: ID!, $v: ID!) { inviteMember(input: {organizationId: $o, email: \"spy@example.com\", roleId: $v}) { id } }", json!({ "o": own_org, "v": "@ID" }), ROLE),
        case("Mutation.revokeInvitation(id)", "mutation($v: ID!) { revokeInvitation(id: $v) { id } }", json!({ "v": "@ID" }), &[Invitation]),
        case("Mutation.createServiceAccount(input.organizationId)", "mutation($r: ID!, $v: ID!) { createServiceAccount(input: {organizationId: $v, name: \"Spy\", roleId: $r}) { id } }", json!({ "r": own_role, "v": "@ID" }), ORG),
        case("Mutation.createServiceAccount(input.roleId)", "mutation($o: ID!, $v: ID!) { createServiceAccount(input: {organizationId: $o, name: \"Spy\", roleId: $v}) { id } }", json!({ "o": own_org, "v": "@ID" }), ROLE),
        case("Mutation.updateServiceAccount(input.id)", "mutation($v: ID!) { updateServiceAccount(input: {id: $v, name: \"Renamed\"}) { id } }", json!({ "v": "@ID" }), &[ServiceAccount]),
        case("Mutation.deleteServiceAccount(id)", "mutation($v: ID!) { deleteServiceAccount(id: $v) }", json!({ "v": "@ID" }), &[ServiceAccount]),
        case("Mutation.createApiKey(input.organizationId)", "mutation($v: ID!) { createApiKey(input: {organizationId: $v, name: \"Spy\", grants: []}) { secret } }", json!({ "v": "@ID" }), ORG),
        case("Mutation.createApiKey(input.serviceAccountId)", "mutation($o: ID!, $v: ID) { createApiKey(input: {organizationId: $o, serviceAccountId: $v, name: \"Spy\", grants: []}) { secret } }", json!({ "o": own_org, "v": "@ID" }), &[ServiceAccount]),
        case("Mutation.createWebhookEndpoint(input.organizationId)", "mutation($v: ID!) { createWebhookEndpoint(input: {organizationId: $v, url: \"https://93.184.216.34/spy\", events: [\"*\"]}) { secret } }", json!({ "v": "@ID" }), ORG),
        case("Mutation.updateWebhookEndpoint(input.id)", "mutation($v: ID!) { updateWebhookEndpoint(input: {id: $v, url: \"https://93.184.216.34/spy\"}) { id } }", json!({ "v": "@ID" }), &[WebhookEndpoint]),
        case("Mutation.deleteWebhookEndpoint(id)", "mutation($v: ID!) { deleteWebhookEndpoint(id: $v) }", json!({ "v": "@ID" }), &[WebhookEndpoint]),
        case("Mutation.rotateWebhookSecret(id)", "mutation($v: ID!) { rotateWebhookSecret(id: $v) { secret } }", json!({ "v": "@ID" }), &[WebhookEndpoint]),
        case("Mutation.sendTestWebhook(endpointId)", "mutation($v: ID!) { sendTestWebhook(endpointId: $v) { id } }", json!({ "v": "@ID" }), &[WebhookEndpoint]),
        case("Mutation.replayWebhookEvents(endpointId)", "mutation($v: ID!) { replayWebhookEvents(endpointId: $v, from: \"2020-01-01T00:00:00Z\") }", json!({ "v": "@ID" }), &[WebhookEndpoint]),
        case("Mutation.retryWebhookDelivery(id)", "mutation($v: ID!) { retryWebhookDelivery(id: $v) { id } }", json!({ "v": "@ID" }), &[WebhookDelivery]),
        case("Mutation.revokeApiKey(id)", "mutation($v: ID!) { revokeApiKey(id: $v) { id } }", json!({ "v": "@ID" }), &[ApiKey]),
        case("Mutation.rotateApiKey(id)", "mutation($v: ID!) { rotateApiKey(id: $v) { secret } }", json!({ "v": "@ID" }), &[ApiKey]),
        // The issuer is never fetched: the gate and the role come first.
        case("Mutation.configureSamlSso(input.organizationId)", "mutation($v: ID!) { configureSamlSso(input: {organizationId: $v, idpEntityId: \"i\", ssoUrl: \"https://idp.example/sso\", certificates: [\"c\"]}) { enabled } }", json!({ "v": "@ID" }), ORG),
        case("Mutation.configureSamlSso(input.defaultRoleId)", "mutation($o: ID!, $v: ID) { configureSamlSso(input: {organizationId: $o, idpEntityId: \"i\", ssoUrl: \"https://idp.example/sso\", certificates: [\"c\"], defaultRoleId: $v}) { enabled } }", json!({ "o": own_org, "v": "@ID" }), ROLE),
        case("Mutation.configureScim(input.organizationId)", "mutation($v: ID!, $r: ID!) { configureScim(input: {organizationId: $v, defaultRoleId: $r}) { __typename } }", json!({ "v": "@ID", "r": own_role }), ORG),
        case("Mutation.configureScim(input.defaultRoleId)", "mutation($o: ID!, $v: ID!) { configureScim(input: {organizationId: $o, defaultRoleId: $v}) { __typename } }", json!({ "o": own_org, "v": "@ID" }), ROLE),
        case("Mutation.setScimGroupRole(input.groupId)", "mutation($v: ID!) { setScimGroupRole(input: {groupId: $v, roleId: null}) { __typename } }", json!({ "v": "@ID" }), &[ScimGroup]),
        case("Mutation.setScimGroupRole(input.roleId)", "mutation($g: ID!, $v: ID) { setScimGroupRole(input: {groupId: $g, roleId: $v}) { __typename } }", json!({ "g": own_scim_group, "v": "@ID" }), ROLE),
        case("Mutation.configureCertificateSignIn(input.organizationId)", "mutation($v: ID!) { configureCertificateSignIn(input: {organizationId: $v, authorities: [\"c\"]}) { enabled } }", json!({ "v": "@ID" }), ORG),
        case("Mutation.configureCertificateSignIn(input.defaultRoleId)", "mutation($o: ID!, $v: ID) { configureCertificateSignIn(input: {organizationId: $o, authorities: [\"c\"], defaultRoleId: $v}) { enabled } }", json!({ "o": own_org, "v": "@ID" }), ROLE),
        case("Mutation.configureLdap(input.organizationId)", "mutation($v: ID!) { configureLdap(input: {organizationId: $v, url: \"ldaps://93.184.216.34\", bindDn: \"cn=a\", bindPassword: \"p\", baseDn: \"dc=a\"}) { enabled } }", json!({ "v": "@ID" }), ORG),
        case("Mutation.configureLdap(input.defaultRoleId)", "mutation($o: ID!, $v: ID) { configureLdap(input: {organizationId: $o, url: \"ldaps://93.184.216.34\", bindDn: \"cn=a\", bindPassword: \"p\", baseDn: \"dc=a\", defaultRoleId: $v}) { enabled } }", json!({ "o": own_org, "v": "@ID" }), ROLE),
        case("Mutation.configureSso(input.organizationId)", "mutation($v: ID!) { configureSso(input: {organizationId: $v, issuer: \"https://idp.example\", clientId: \"c\", clientSecret: \"s\"}) { enabled } }", json!({ "v": "@ID" }), ORG),
        case("Mutation.configureSso(input.defaultRoleId)", "mutation($o: ID!, $v: ID) { configureSso(input: {organizationId: $o, issuer: \"https://idp.example\", clientId: \"c\", clientSecret: \"s\", defaultRoleId: $v}) { enabled } }", json!({ "o": own_org, "v": "@ID" }), ROLE),
        case("Mutation.setOrganizationMfaRequirement(organizationId)", "mutation($v: ID!) { setOrganizationMfaRequirement(organizationId: $v, required: true) { id } }", json!({ "v": "@ID" }), ORG),
        case("Mutation.removeSecurityKey(id)", "mutation($v: ID!) { removeSecurityKey(id: $v) }", json!({ "v": "@ID" }), &[MfaFactor]),
        case("Mutation.disableSso(organizationId)", "mutation($v: ID!) { disableSso(organizationId: $v) { enabled } }", json!({ "v": "@ID" }), ORG),
        case("Mutation.addOrganizationDomain(organizationId)", "mutation($v: ID!) { addOrganizationDomain(organizationId: $v, domain: \"spy.test\") { id } }", json!({ "v": "@ID" }), ORG),
        case("Mutation.verifyOrganizationDomain(id)", "mutation($v: ID!) { verifyOrganizationDomain(id: $v) { id } }", json!({ "v": "@ID" }), &[OrganizationDomain]),
        case("Mutation.removeOrganizationDomain(id)", "mutation($v: ID!) { removeOrganizationDomain(id: $v) }", json!({ "v": "@ID" }), &[OrganizationDomain]),
    ]
}

/// Creates a custom role, a text list and an invitation in `org` as `token`'s user; returns
/// the role's id.
async fn furnish(app: &TestApp, token: &str, org: &str, invitee: &str) -> Value {
    let body = app
        .gql(
            Some(token),
            "mutation($o: ID!) {
               createRole(input: {organizationId: $o, name: \"Analyst\", grants: [{resource: \"list\", level: \"read\"}]}) { id }
               createList(input: {organizationId: $o, name: \"Blocklist\", kind: TEXT}) { id }
             }",
            json!({ "o": org }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let invite = app
        .gql(
            Some(token),
            "mutation($o: ID!, $r: ID!, $e: String!) { inviteMember(input: {organizationId: $o, email: $e, roleId: $r}) { id } }",
            json!({ "o": org, "r": body["data"]["createRole"]["id"], "e": invitee }),
        )
        .await;
    assert!(invite["errors"].is_null(), "{invite}");
    let machine = app
        .gql(
            Some(token),
            "mutation($o: ID!, $r: ID!) {
               createServiceAccount(input: {organizationId: $o, name: \"Bot\", roleId: $r}) { id }
               createApiKey(input: {organizationId: $o, name: \"Mine\", grants: []}) { apiKey { id } }
               addOrganizationDomain(organizationId: $o, domain: \"claimed.test\") { id }
               createWebhookEndpoint(input: {organizationId: $o, url: \"https://93.184.216.34/hook\", events: [\"*\"]}) { endpoint { id } }
             }",
            json!({ "o": org, "r": body["data"]["createRole"]["id"] }),
        )
        .await;
    assert!(machine["errors"].is_null(), "{machine}");
    let endpoint = machine["data"]["createWebhookEndpoint"]["endpoint"]["id"].clone();
    let test = app
        .gql(
            Some(token),
            "mutation($w: ID!) { sendTestWebhook(endpointId: $w) { id } }",
            json!({ "w": endpoint }),
        )
        .await;
    assert!(test["errors"].is_null(), "{test}");
    json!({
        "webhookEndpoint": endpoint,
        "webhookDelivery": test["data"]["sendTestWebhook"]["id"],
        "role": body["data"]["createRole"]["id"],
        "list": body["data"]["createList"]["id"],
        "invitation": invite["data"]["inviteMember"]["id"],
        "serviceAccount": machine["data"]["createServiceAccount"]["id"],
        "apiKey": machine["data"]["createApiKey"]["apiKey"]["id"],
        "domain": machine["data"]["addOrganizationDomain"]["id"],
    })
}

/// A security key of another user, as its global id (written directly: the factor's owner is
/// all that matters here).
async fn bobs_security_key(app: &TestApp, user: Uuid) -> String {
    use sea_orm::{ActiveModelTrait, Set};
    let id = Uuid::now_v7();
    entity::mfa_factor::ActiveModel {
        id: Set(id),
        user_id: Set(user),
        kind: Set("webauthn".to_owned()),
        name: Set("Bob's key".to_owned()),
        secret_sealed: Set(None),
        credential: Set(Some("{}".to_owned())),
        confirmed_at: Set(Some(chrono::Utc::now())),
        last_used_step: Set(None),
        created_at: Set(chrono::Utc::now()),
        last_used_at: Set(None),
    }
    .insert(app.state.database())
    .await
    .unwrap();
    NodeId::MfaFactor(id).to_id().0
}

#[tokio::test]
async fn an_object_of_another_organization_answers_exactly_as_one_that_does_not_exist() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let bob = app.create_user("bob@example.com").await;
    let carol = app.create_user("carol@example.com").await;
    let acme = app.create_org(&alice, "Acme").await;
    let globex = app.create_org(&bob, "Globex").await;
    app.license_custom_roles(&acme).await;
    app.license_custom_roles(&globex).await;
    app.add_member(&carol, &globex, "read_only_user").await;
    let alice_token = app.login("alice@example.com").await.access_token;
    let bob_token = app.login("bob@example.com").await.access_token;
    let (own_org, other_org) = (org_id(&acme), org_id(&globex));
    let own = furnish(&app, &alice_token, &own_org, "dan@example.com").await;
    let other = furnish(&app, &bob_token, &other_org, "erin@example.com").await;
    let body = app
        .gql(
            Some(&bob_token),
            "query($o: ID!) { organization(id: $o) { members { nodes { id user { email } } } auditLog(first: 1) { nodes { id } } } }",
            json!({ "o": other_org }),
        )
        .await;
    let other_membership = body["data"]["organization"]["members"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["email"] == "carol@example.com")
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .expect("carol's membership");
    let other_event = body["data"]["organization"]["auditLog"]["nodes"][0]["id"]
        .as_str()
        .expect("an event of Globex")
        .to_owned();
    let body = app
        .gql(
            Some(&alice_token),
            "{ viewer { memberships { nodes { id } } } }",
            json!({}),
        )
        .await;
    let own_membership = body["data"]["viewer"]["memberships"]["nodes"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_role = NodeId::parse(
        "id",
        &async_graphql::ID(other["role"].as_str().unwrap().into()),
    )
    .unwrap();
    let NodeId::Role {
        role: other_role_uuid,
        ..
    } = other_role
    else {
        panic!("a role id")
    };
    let new = Uuid::now_v7;
    let pairs: Vec<(Kind, String, String)> = vec![
        (
            Kind::Organization,
            other_org.clone(),
            NodeId::Organization(new()).to_id().0,
        ),
        (
            Kind::User,
            NodeId::User(bob.id).to_id().0,
            NodeId::User(new()).to_id().0,
        ),
        (
            Kind::Membership,
            other_membership,
            NodeId::Membership(new()).to_id().0,
        ),
        (
            Kind::Role,
            other["role"].as_str().unwrap().to_owned(),
            NodeId::Role {
                organization: globex.id,
                role: new(),
            }
            .to_id()
            .0,
        ),
        (
            Kind::RoleUnderOwnOrganization,
            NodeId::Role {
                organization: acme.id,
                role: other_role_uuid,
            }
            .to_id()
            .0,
            NodeId::Role {
                organization: acme.id,
                role: new(),
            }
            .to_id()
            .0,
        ),
        (
            Kind::AuditEvent,
            other_event,
            NodeId::AuditEvent(new()).to_id().0,
        ),
        (
            Kind::Invitation,
            other["invitation"].as_str().unwrap().to_owned(),
            NodeId::Invitation(new()).to_id().0,
        ),
        (
            Kind::List,
            other["list"].as_str().unwrap().to_owned(),
            NodeId::List(new()).to_id().0,
        ),
        (
            Kind::ApiKey,
            other["apiKey"].as_str().unwrap().to_owned(),
            NodeId::ApiKey(new()).to_id().0,
        ),
        (
            Kind::ServiceAccount,
            other["serviceAccount"].as_str().unwrap().to_owned(),
            NodeId::ServiceAccount(new()).to_id().0,
        ),
        (
            Kind::MfaFactor,
            bobs_security_key(&app, bob.id).await,
            NodeId::MfaFactor(new()).to_id().0,
        ),
        (
            Kind::OrganizationDomain,
            other["domain"].as_str().unwrap().to_owned(),
            NodeId::OrganizationDomain(new()).to_id().0,
        ),
        (
            Kind::WebhookEndpoint,
            other["webhookEndpoint"].as_str().unwrap().to_owned(),
            NodeId::WebhookEndpoint(new()).to_id().0,
        ),
        (
            Kind::WebhookDelivery,
            other["webhookDelivery"].as_str().unwrap().to_owned(),
            NodeId::WebhookDelivery(new()).to_id().0,
        ),
        (
            Kind::ScimGroup,
            crate::scim::scim_group(&app, globex.id, "Spies").await,
            NodeId::ScimGroup(new()).to_id().0,
        ),
    ];

    let own_scim_group = crate::scim::scim_group(&app, acme.id, "Analysts").await;
    let cases = cases(
        &own_org,
        own["role"].as_str().unwrap(),
        &own_membership,
        &own_scim_group,
    );
    // The table covers every id argument of the schema.
    let covered: BTreeSet<String> = cases
        .iter()
        .map(|c| c.path.to_owned())
        .chain(NAMING_ANOTHER_ORGANIZATION.iter().map(|p| p.to_string()))
        .collect();
    let schema = arguments_of_type(&app, &["ID"]).await;
    assert_eq!(
        schema, covered,
        "every id argument needs a case (or a reason to name another organization)"
    );

    let mut differences = Vec::new();
    for case in &cases {
        for (kind, foreign, missing) in &pairs {
            if !case.kinds.contains(kind) {
                continue;
            }
            let ask =
                |id: &str| app.gql(Some(&alice_token), case.query, with_id(&case.variables, id));
            let (foreign_answer, missing_answer) =
                (answer(&ask(foreign).await), answer(&ask(missing).await));
            if foreign_answer != missing_answer {
                differences.push(format!(
                    "{} with {kind:?}:\n  foreign {foreign_answer}\n  missing {missing_answer}",
                    case.path
                ));
            }
        }
    }
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );
}
