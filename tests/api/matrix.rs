//! The matrix test: for the built-in policy and every preset, for every predefined role and
//! every field or mutation guarded by `@requires`, a real request by a member holding that role
//! is allowed exactly when the policy grants the requirement.

use charter::authz::require;
use charter::graphql::ids::NodeId;
use charter::graphql::schema_guards;
use charter::graphql::types::{CatalogGuard, GuardKind};
use charter::services::organization::roles::{RoleSpec, create};
use serde_json::{Value, json};

use crate::helpers::{TestApp, org_id};

/// What one organization of the matrix holds: its owner, a member with the role under test,
/// and another member whose records the probes look at.
struct Org {
    org: entity::organization::Model,
    member_token: String,
    other: entity::user::Model,
    other_membership: uuid::Uuid,
    /// The role under test, which its holder sees whatever it grants.
    member_role: uuid::Uuid,
}

async fn run_policy(name: &str, source: Option<&str>) -> usize {
    let policy_file = tempfile::NamedTempFile::new().unwrap();
    let path = source.map(|source| {
        std::fs::write(policy_file.path(), source).unwrap();
        policy_file.path().to_path_buf()
    });
    let app = TestApp::spawn_with(move |settings| settings.policy = path).await;
    let policy = app.state.policy.clone();
    let features: Vec<String> = policy.features().iter().map(|f| f.key.clone()).collect();
    let guards = requires_guards();
    let other_role = policy
        .roles()
        .iter()
        .find(|role| !role.owner)
        .expect("a non-owner role")
        .key
        .clone();
    let mut cells = 0;
    for (index, role) in policy.roles().iter().enumerate() {
        let (fixture, owner, _) = fixture(&app, &features, index, &role.key, &other_role).await;
        for guard in &guards {
            let resource = guard.resource.as_deref().unwrap();
            let level = guard.level.as_deref().unwrap();
            let (index, required) = policy.level_of(resource, level).unwrap();
            // Membership alone shows a member what `orMember` fields say (rule 15).
            let expected =
                guard.kind == GuardKind::RequiresOrMember || role.grants.allows(index, required);
            let body = probe(&app, &fixture, owner.id, guard).await;
            let forbidden = body["errors"].as_array().is_some_and(|errors| {
                errors
                    .iter()
                    .any(|e| e["extensions"]["code"] == "FORBIDDEN")
            });
            assert_eq!(
                !forbidden, expected,
                "{name}: role `{}` on {}.{} (needs {resource} `{level}`): {body}",
                role.key, guard.type_name, guard.field
            );
            cells += 1;
        }
    }
    println!(
        "{name}: {} roles x {} guarded fields = {cells} cells",
        policy.roles().len(),
        guards.len()
    );
    cells
}

/// Every field guarded by `@requires`, in any of its kinds.
fn requires_guards() -> Vec<&'static CatalogGuard> {
    schema_guards()
        .iter()
        .filter(|g| {
            matches!(
                g.kind,
                GuardKind::Requires
                    | GuardKind::RequiresOrSelf
                    | GuardKind::RequiresOrPartner
                    | GuardKind::RequiresOrMember
            )
        })
        .collect()
}

/// Organization number `index`, licensed for `features`, with its owner, a member holding
/// `role`, and another member holding `other_role`; the member's user too.
async fn fixture(
    app: &TestApp,
    features: &[String],
    index: usize,
    role: &str,
    other_role: &str,
) -> (Org, entity::user::Model, entity::user::Model) {
    let owner = app.create_user(&format!("owner{index}@example.com")).await;
    let member = app.create_user(&format!("member{index}@example.com")).await;
    let other = app.create_user(&format!("other{index}@example.com")).await;
    let org = app.create_org(&owner, &format!("Org {index}")).await;
    charter::services::organization::organizations::change_license(
        &app.state,
        &charter::services::audit::Actor::command_line(),
        org.id,
        charter::services::organization::organizations::LicenseChange {
            add_features: features.to_vec(),
            // The probes add members, invitations and service accounts by the dozen.
            seats: Some(1000),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    app.add_member(&member, &org, role).await;
    app.add_member(&other, &org, other_role).await;
    let other_membership = membership_of(app, other.id, org.id).await;
    let member_role = app.state.policy.role_by_key(role).unwrap().id;
    let fixture = Org {
        member_token: app.login(&member.email).await.access_token,
        org,
        other,
        other_membership,
        member_role,
    };
    (fixture, owner, member)
}

async fn membership_of(app: &TestApp, user: uuid::Uuid, org: uuid::Uuid) -> uuid::Uuid {
    charter::services::store::records::membership(app.state.database(), user, org)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// A list made by the owner, with one entry: returns its id.
async fn owners_list(app: &TestApp, fixture: &Org, owner: uuid::Uuid) -> String {
    let org = fixture.org.id;
    let create = app.change_in(owner, org, require::LIST_CREATE).await;
    let list = charter::services::organization::lists::create(
        &create,
        &format!("Probe {}", uuid::Uuid::now_v7()),
        charter::domain::ListKind::Ip,
        None,
    )
    .await
    .unwrap();
    let edit = app.change_in(owner, org, require::LIST_EDIT).await;
    charter::services::organization::lists::add_entries(
        &edit,
        list.id,
        vec![charter::services::organization::lists::NewEntry {
            value: "192.0.2.1".to_owned(),
            note: None,
        }],
    )
    .await
    .unwrap();
    NodeId::List(list.id).to_id().0
}

/// Another organization, for the share-partner mutations to pick.
async fn partner_org(app: &TestApp) -> String {
    let owner = app
        .create_user(&format!(
            "partner-{}@example.com",
            uuid::Uuid::now_v7().simple()
        ))
        .await;
    org_id(&app.create_org(&owner, "Partner").await)
}

/// A custom role made by the owner, for the role mutations to act on.
async fn custom_role(app: &TestApp, fixture: &Org, owner: uuid::Uuid, name: &str) -> String {
    let change = app
        .change_in(owner, fixture.org.id, charter::authz::require::ROLE_MANAGE)
        .await;
    let role = create(
        &change,
        RoleSpec {
            name: Some(format!("{name} {}", uuid::Uuid::now_v7())),
            grants: Some(vec![]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    NodeId::Role {
        organization: fixture.org.id,
        role: role.id,
    }
    .to_id()
    .0
}

/// A pending invitation sent by the owner: returns its id.
async fn owners_invitation(app: &TestApp, fixture: &Org, owner: uuid::Uuid) -> String {
    let change = app
        .change_in(
            owner,
            fixture.org.id,
            charter::authz::require::INVITATION_SEND,
        )
        .await;
    let role = app
        .state
        .policy
        .roles()
        .iter()
        .find(|r| !r.owner)
        .unwrap()
        .id;
    let invitation = charter::services::organization::invitations::invite(
        &change,
        &app.state,
        charter::services::organization::invitations::InviteSpec {
            email: format!("pending-{}@example.com", uuid::Uuid::now_v7().simple()),
            role_id: role,
            expires_in_days: None,
        },
    )
    .await
    .unwrap();
    NodeId::Invitation(invitation.id).to_id().0
}

/// A service account made by the owner, holding the first non-owner role: returns its id.
async fn owners_service_account(app: &TestApp, fixture: &Org, owner: uuid::Uuid) -> uuid::Uuid {
    let change = app
        .change_in(owner, fixture.org.id, require::MEMBER_MANAGE)
        .await;
    let role = app
        .state
        .policy
        .roles()
        .iter()
        .find(|r| !r.owner)
        .unwrap()
        .id;
    charter::services::organization::service_accounts::create(
        &change,
        charter::services::organization::service_accounts::AccountSpec {
            name: Some(format!("Probe bot {}", uuid::Uuid::now_v7())),
            description: None,
            role_id: Some(role),
        },
    )
    .await
    .unwrap()
    .id
}

/// A personal API key of the owner, with no grants: returns its global id.
async fn owners_api_key(app: &TestApp, fixture: &Org, owner: uuid::Uuid) -> String {
    let change = app
        .change_in(owner, fixture.org.id, require::API_KEY_MANAGE)
        .await;
    let issued = charter::services::organization::api_keys::create(
        &change,
        charter::services::organization::api_keys::KeySpec {
            name: "Probe key".to_owned(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    NodeId::ApiKey(issued.key.id).to_id().0
}

/// An endpoint of the organization made by its owner, with a test delivery queued: their
/// global ids.
async fn owners_webhook(app: &TestApp, fixture: &Org, owner: uuid::Uuid) -> (String, String) {
    use charter::services::organization::webhooks;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    // One endpoint at a time: probes would otherwise reach the organization's limit.
    entity::webhook_endpoint::Entity::delete_many()
        .filter(entity::webhook_endpoint::Column::OrganizationId.eq(fixture.org.id))
        .exec(app.state.database())
        .await
        .unwrap();
    let change = app
        .change_in(owner, fixture.org.id, require::WEBHOOK_MANAGE)
        .await;
    let spec = webhooks::EndpointSpec {
        url: Some("https://93.184.216.34/probe".to_owned()),
        events: Some(vec!["*".to_owned()]),
        ..Default::default()
    };
    let issued = webhooks::create(&app.state, &change, spec).await.unwrap();
    let delivery = webhooks::send_test(&app.state, &change, issued.endpoint.id)
        .await
        .unwrap();
    (
        NodeId::WebhookEndpoint(issued.endpoint.id).to_id().0,
        NodeId::WebhookDelivery(delivery.id).to_id().0,
    )
}

/// A fresh member holding a custom role with no grants (so that any role managing members has
/// power over it): returns its membership id and its role id.
/// A domain the organization claims (verified or not), as its global id.
async fn owners_domain(app: &TestApp, fixture: &Org, verified: bool) -> String {
    use sea_orm::ActiveModelTrait;
    let id = uuid::Uuid::now_v7();
    entity::organization_domain::ActiveModel {
        id: sea_orm::Set(id),
        organization_id: sea_orm::Set(fixture.org.id),
        domain: sea_orm::Set(format!("probe-{}.test", id.simple())),
        challenge: sea_orm::Set("probe".to_owned()),
        created_by: sea_orm::Set(None),
        created_at: sea_orm::Set(chrono::Utc::now()),
        verified_at: sea_orm::Set(verified.then(chrono::Utc::now)),
    }
    .insert(app.state.database())
    .await
    .unwrap();
    NodeId::OrganizationDomain(id).to_id().0
}

async fn victim(app: &TestApp, fixture: &Org, owner: uuid::Uuid) -> (String, String) {
    use sea_orm::ActiveModelTrait;
    let role = custom_role(app, fixture, owner, "Empty").await;
    let role_uuid = match NodeId::parse("id", &async_graphql::ID(role.clone())).unwrap() {
        NodeId::Role { role, .. } => role,
        _ => unreachable!(),
    };
    let user = app
        .create_user(&format!(
            "victim-{}@example.com",
            uuid::Uuid::now_v7().simple()
        ))
        .await;
    let membership = charter::services::store::records::new_membership(
        &user,
        fixture.org.id,
        role_uuid,
        "Empty",
        None,
    )
    .insert(app.state.database())
    .await
    .unwrap();
    (NodeId::Membership(membership.id).to_id().0, role)
}

/// One request touching exactly one guarded field as the member under test.
async fn probe(app: &TestApp, fixture: &Org, owner: uuid::Uuid, guard: &CatalogGuard) -> Value {
    let org = org_id(&fixture.org);
    let token = Some(fixture.member_token.as_str());
    let field = guard.field.as_str();
    let (query, variables) = match (guard.type_name.as_str(), field) {
        ("Query", "organization") => (
            "query($id: ID!) { organization(id: $id) { __typename } }".to_owned(),
            json!({ "id": org }),
        ),
        ("Query", "checkPermission") => (
            "query($org: ID!, $user: ID) { checkPermission(organizationId: $org, userId: $user, resource: \"list\", level: \"read\") }".to_owned(),
            json!({ "org": org, "user": NodeId::User(fixture.other.id).to_id().0 }),
        ),
        ("Mutation", "updateOrganization") => (
            "mutation($id: ID!, $name: String!) { updateOrganization(input: {organizationId: $id, name: $name}) { __typename } }".to_owned(),
            json!({ "id": org, "name": fixture.org.name }),
        ),
        ("Mutation", "createRole") => (
            "mutation($id: ID!, $name: String!) { createRole(input: {organizationId: $id, name: $name, grants: []}) { __typename } }".to_owned(),
            json!({ "id": org, "name": format!("Probe {}", uuid::Uuid::now_v7()) }),
        ),
        ("Mutation", "updateRole") => (
            "mutation($id: ID!) { updateRole(input: {id: $id, description: \"probed\"}) { __typename } }".to_owned(),
            json!({ "id": custom_role(app, fixture, owner, "Update").await }),
        ),
        ("Mutation", "assignRole") => {
            let (membership, role) = victim(app, fixture, owner).await;
            (
                "mutation($m: ID!, $r: ID!) { assignRole(input: {membershipId: $m, roleId: $r}) { __typename } }".to_owned(),
                json!({ "m": membership, "r": role }),
            )
        }
        ("Mutation", "removeMember") => {
            let (membership, _) = victim(app, fixture, owner).await;
            (
                "mutation($m: ID!) { removeMember(membershipId: $m) }".to_owned(),
                json!({ "m": membership }),
            )
        }
        ("Mutation", "inviteMember") => {
            let (_, role) = victim(app, fixture, owner).await;
            (
                "mutation($o: ID!, $e: String!, $r: ID!) { inviteMember(input: {organizationId: $o, email: $e, roleId: $r}) { __typename } }".to_owned(),
                json!({ "o": org, "e": format!("invitee-{}@example.com", uuid::Uuid::now_v7().simple()), "r": role }),
            )
        }
        ("Mutation", "revokeInvitation") => (
            "mutation($i: ID!) { revokeInvitation(id: $i) { __typename } }".to_owned(),
            json!({ "i": owners_invitation(app, fixture, owner).await }),
        ),
        ("Mutation", "deleteRole") => (
            "mutation($id: ID!) { deleteRole(id: $id) }".to_owned(),
            json!({ "id": custom_role(app, fixture, owner, "Delete").await }),
        ),
        ("Mutation", "createList") => (
            "mutation($o: ID!, $n: String!) { createList(input: {organizationId: $o, name: $n, kind: DOMAIN}) { __typename } }".to_owned(),
            json!({ "o": org, "n": format!("Probe {}", uuid::Uuid::now_v7()) }),
        ),
        ("Mutation", "updateList") => (
            "mutation($l: ID!) { updateList(input: {listId: $l, description: \"probed\"}) { __typename } }".to_owned(),
            json!({ "l": owners_list(app, fixture, owner).await }),
        ),
        ("Mutation", "addListEntries") => (
            "mutation($l: ID!) { addListEntries(input: {listId: $l, entries: [{value: \"192.0.2.7\"}]}) { __typename } }".to_owned(),
            json!({ "l": owners_list(app, fixture, owner).await }),
        ),
        ("Mutation", "removeListEntries") => (
            "mutation($l: ID!) { removeListEntries(input: {listId: $l, values: [\"192.0.2.1\"]}) { __typename } }".to_owned(),
            json!({ "l": owners_list(app, fixture, owner).await }),
        ),
        ("Mutation", "setListShared") => (
            "mutation($l: ID!) { setListShared(id: $l, shared: true) { __typename } }".to_owned(),
            json!({ "l": owners_list(app, fixture, owner).await }),
        ),
        ("Mutation", "deleteList") => (
            "mutation($l: ID!) { deleteList(id: $l) }".to_owned(),
            json!({ "l": owners_list(app, fixture, owner).await }),
        ),
        ("Mutation", mutation @ ("addSharePartner" | "removeSharePartner")) => (
            format!("mutation($o: ID!, $p: ID!) {{ {mutation}(organizationId: $o, partnerOrganizationId: $p) {{ __typename }} }}"),
            json!({ "o": org, "p": partner_org(app).await }),
        ),
        ("Mutation", "createServiceAccount") => {
            // A custom role with no grants: within every manager's ceiling.
            let (_, empty) = victim(app, fixture, owner).await;
            (
                "mutation($o: ID!, $n: String!, $r: ID!) { createServiceAccount(input: {organizationId: $o, name: $n, roleId: $r}) { __typename } }".to_owned(),
                json!({ "o": org, "n": format!("Probe {}", uuid::Uuid::now_v7()), "r": empty }),
            )
        }
        ("Mutation", "updateServiceAccount") => (
            "mutation($s: ID!) { updateServiceAccount(input: {id: $s, description: \"probed\"}) { __typename } }".to_owned(),
            json!({ "s": NodeId::ServiceAccount(owners_service_account(app, fixture, owner).await).to_id().0 }),
        ),
        ("Mutation", "deleteServiceAccount") => (
            "mutation($s: ID!) { deleteServiceAccount(id: $s) }".to_owned(),
            json!({ "s": NodeId::ServiceAccount(owners_service_account(app, fixture, owner).await).to_id().0 }),
        ),
        ("Mutation", "createApiKey") => (
            // A service account's key: not the member's own, so only the grant lets them.
            "mutation($o: ID!, $s: ID) { createApiKey(input: {organizationId: $o, serviceAccountId: $s, name: \"Probe\", grants: []}) { __typename } }".to_owned(),
            json!({ "o": org, "s": NodeId::ServiceAccount(owners_service_account(app, fixture, owner).await).to_id().0 }),
        ),
        ("Mutation", mutation @ ("revokeApiKey" | "rotateApiKey")) => (
            format!("mutation($k: ID!) {{ {mutation}(id: $k) {{ __typename }} }}"),
            json!({ "k": owners_api_key(app, fixture, owner).await }),
        ),
        ("Mutation", "configureSamlSso") => (
            // Past the gate, an https sign-on URL is required: INVALID_INPUT, never FORBIDDEN.
            "mutation($o: ID!) { configureSamlSso(input: {organizationId: $o, idpEntityId: \"probe\", ssoUrl: \"http://127.0.0.1:9\", certificates: [\"probe\"]}) { __typename } }".to_owned(),
            json!({ "o": org }),
        ),
        ("Mutation", "configureCertificateSignIn") => (
            // Past the gate, a CA is required: INVALID_INPUT, never FORBIDDEN.
            "mutation($o: ID!) { configureCertificateSignIn(input: {organizationId: $o, authorities: []}) { __typename } }".to_owned(),
            json!({ "o": org }),
        ),
        ("Mutation", "configureLdap") => (
            // Past the gate, a plain ldap:// URL is refused: INVALID_INPUT, never FORBIDDEN.
            "mutation($o: ID!) { configureLdap(input: {organizationId: $o, url: \"ldap://127.0.0.1:9\", bindDn: \"cn=probe\", bindPassword: \"probe\", baseDn: \"dc=probe\"}) { __typename } }".to_owned(),
            json!({ "o": org }),
        ),
        ("Mutation", "configureSso") => (
            // Past the gate, an https issuer is required: INVALID_INPUT, never FORBIDDEN.
            "mutation($o: ID!) { configureSso(input: {organizationId: $o, issuer: \"http://127.0.0.1:9\", clientId: \"probe\", clientSecret: \"probe\"}) { __typename } }".to_owned(),
            json!({ "o": org }),
        ),
        ("Mutation", "setOrganizationMfaRequirement") => (
            // Off, as it is: the member's next probe must not meet the requirement.
            "mutation($o: ID!) { setOrganizationMfaRequirement(organizationId: $o, required: false) { __typename } }".to_owned(),
            json!({ "o": org }),
        ),
        ("Mutation", "disableSso") => (
            "mutation($o: ID!) { disableSso(organizationId: $o) { __typename } }".to_owned(),
            json!({ "o": org }),
        ),
        ("Mutation", "createWebhookEndpoint") => (
            "mutation($o: ID!) { createWebhookEndpoint(input: {organizationId: $o, url: \"https://93.184.216.34/probe\", events: [\"*\"]}) { __typename } }".to_owned(),
            json!({ "o": org }),
        ),
        ("Mutation", "updateWebhookEndpoint") => (
            "mutation($w: ID!) { updateWebhookEndpoint(input: {id: $w, description: \"probed\"}) { __typename } }".to_owned(),
            json!({ "w": owners_webhook(app, fixture, owner).await.0 }),
        ),
        ("Mutation", mutation @ ("deleteWebhookEndpoint" | "rotateWebhookSecret")) => (
            match mutation {
                "deleteWebhookEndpoint" => "mutation($w: ID!) { deleteWebhookEndpoint(id: $w) }".to_owned(),
                _ => "mutation($w: ID!) { rotateWebhookSecret(id: $w) { __typename } }".to_owned(),
            },
            json!({ "w": owners_webhook(app, fixture, owner).await.0 }),
        ),
        ("Mutation", "sendTestWebhook") => (
            "mutation($w: ID!) { sendTestWebhook(endpointId: $w) { __typename } }".to_owned(),
            json!({ "w": owners_webhook(app, fixture, owner).await.0 }),
        ),
        ("Mutation", "replayWebhookEvents") => (
            "mutation($w: ID!) { replayWebhookEvents(endpointId: $w, from: \"2020-01-01T00:00:00Z\") }".to_owned(),
            json!({ "w": owners_webhook(app, fixture, owner).await.0 }),
        ),
        ("Mutation", "retryWebhookDelivery") => (
            "mutation($d: ID!) { retryWebhookDelivery(id: $d) { __typename } }".to_owned(),
            json!({ "d": owners_webhook(app, fixture, owner).await.1 }),
        ),
        ("WebhookEndpoint", field) => {
            owners_webhook(app, fixture, owner).await;
            (
                format!(
                    "query($o: ID!) {{ organization(id: $o) {{ webhookEndpoints {{ {} }} }} }}",
                    selection("WebhookEndpoint", field)
                ),
                json!({ "o": org }),
            )
        }
        ("WebhookDelivery", field) => {
            owners_webhook(app, fixture, owner).await;
            (
                format!(
                    "query($o: ID!) {{ organization(id: $o) {{ webhookEndpoints {{ deliveries {{ nodes {{ {} }} }} }} }} }}",
                    selection("WebhookDelivery", field)
                ),
                json!({ "o": org }),
            )
        }
        ("Mutation", "configureScim") => {
            // A custom role with no grants: within every manager's ceiling.
            let (_, empty) = victim(app, fixture, owner).await;
            (
                "mutation($o: ID!, $r: ID!) { configureScim(input: {organizationId: $o, defaultRoleId: $r}) { __typename } }".to_owned(),
                json!({ "o": org, "r": empty }),
            )
        }
        ("Mutation", "setScimGroupRole") => (
            // An empty group: setting its role moves nobody.
            "mutation($g: ID!) { setScimGroupRole(input: {groupId: $g, roleId: null}) { __typename } }".to_owned(),
            json!({ "g": crate::scim::scim_group(app, fixture.org.id, &format!("Probe {}", uuid::Uuid::now_v7())).await }),
        ),
        ("ScimGroup", field) => {
            crate::scim::scim_group(app, fixture.org.id, &format!("Probe {}", uuid::Uuid::now_v7())).await;
            (
                format!(
                    "query($o: ID!) {{ organization(id: $o) {{ scimGroups {{ nodes {{ {} }} }} }} }}",
                    selection("ScimGroup", field)
                ),
                json!({ "o": org }),
            )
        }
        ("Mutation", "addOrganizationDomain") => (
            "mutation($o: ID!, $d: String!) { addOrganizationDomain(organizationId: $o, domain: $d) { __typename } }".to_owned(),
            json!({ "o": org, "d": format!("probe-{}.test", uuid::Uuid::now_v7().simple()) }),
        ),
        ("Mutation", "verifyOrganizationDomain") => (
            // A verified domain: verifying it again asks no DNS server.
            "mutation($d: ID!) { verifyOrganizationDomain(id: $d) { __typename } }".to_owned(),
            json!({ "d": owners_domain(app, fixture, true).await }),
        ),
        ("Mutation", "removeOrganizationDomain") => (
            "mutation($d: ID!) { removeOrganizationDomain(id: $d) }".to_owned(),
            json!({ "d": owners_domain(app, fixture, false).await }),
        ),
        (
            type_name @ ("Organization" | "Membership" | "User" | "Role" | "AuditEvent" | "Invitation"
            | "List" | "ApiKey" | "ServiceAccount"),
            field,
        ) => {
            let id = match type_name {
                "Organization" => org.clone(),
                "ApiKey" => owners_api_key(app, fixture, owner).await,
                "ServiceAccount" => {
                    NodeId::ServiceAccount(owners_service_account(app, fixture, owner).await)
                        .to_id()
                        .0
                }
                "List" => owners_list(app, fixture, owner).await,
                "Invitation" => owners_invitation(app, fixture, owner).await,
                "AuditEvent" => {
                    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
                    let event = entity::audit_event::Entity::find()
                        .filter(entity::audit_event::Column::OrganizationId.eq(fixture.org.id))
                        .one(app.state.database())
                        .await
                        .unwrap()
                        .expect("the organization's creation was recorded");
                    NodeId::AuditEvent(event.id).to_id().0
                }
                "Membership" => NodeId::Membership(fixture.other_membership).to_id().0,
                "User" => NodeId::User(fixture.other.id).to_id().0,
                _ => {
                    // A role the member does not hold: its holders see their own role.
                    let roles = app.state.policy.roles();
                    let role = roles
                        .iter()
                        .find(|role| !role.owner && role.id != fixture.member_role)
                        .or_else(|| roles.iter().find(|role| role.id != fixture.member_role))
                        .unwrap()
                        .id;
                    NodeId::Role {
                        organization: fixture.org.id,
                        role,
                    }
                    .to_id()
                    .0
                }
            };
            (
                format!(
                    "query($id: ID!) {{ node(id: $id) {{ ... on {type_name} {{ {} }} }} }}",
                    selection(type_name, field)
                ),
                json!({ "id": id }),
            )
        }
        (type_name, field) => panic!(
            "no probe for {type_name}.{field}: add one so the matrix covers every guarded field"
        ),
    };
    app.gql(token, &query, variables).await
}

/// A selection of `field` that is valid whatever its type: object fields select `__typename`.
fn selection(type_name: &str, field: &str) -> String {
    const SCALARS: &[&str] = &[
        "status",
        "expiresAt",
        "id",
        "name",
        "createdAt",
        "publicId",
        "key",
        "description",
        "predefined",
        "seatClass",
        "memberCount",
        "email",
        "displayName",
        "at",
        "action",
        "actorEmail",
        "actorApiKeyId",
        "ip",
        "userAgent",
        "targetType",
        "targetId",
        "json",
        "kind",
        "shared",
        "entryCount",
        "updatedAt",
        "prefix",
        "clientId",
        "lastUsedAt",
        "revokedAt",
        "mfaEnabled",
        "mfaRequired",
        "url",
        "events",
        "enabled",
        "disabledReason",
        "failingSince",
        "previousSecretExpiresAt",
        "messageId",
        "eventType",
        "attemptCount",
        "nextAttemptAt",
        "lastAttemptAt",
        "lastStatusCode",
        "lastError",
        "payload",
        "externalId",
        "roleSetExplicitly",
    ];
    let _ = type_name;
    if SCALARS.contains(&field) {
        field.to_owned()
    } else {
        format!("{field} {{ __typename }}")
    }
}

#[tokio::test]
async fn the_built_in_policy_guards_every_field_as_its_matrix_says() {
    assert!(run_policy("built-in", None).await > 0);
}

#[tokio::test]
async fn the_threat_stack_preset_guards_every_field_as_its_matrix_says() {
    let source = include_str!("../../examples/policies/threat-stack.toml");
    assert!(run_policy("threat-stack", Some(source)).await > 0);
}

/// Threat Stack's Authentication tab ("Access the Authentication tab", "Enable / disable
/// Single Sign-On", "Modify SSO") is `sso: read` and `sso: manage`: these are the fields
/// behind those rows, whose cells the preset's matrix run above checks for every role.
#[test]
fn the_threat_stack_sso_rows_are_guarded_fields() {
    let guarded = |level: &str| -> Vec<String> {
        schema_guards()
            .iter()
            .filter(|g| g.resource.as_deref() == Some("sso") && g.level.as_deref() == Some(level))
            .map(|g| format!("{}.{}", g.type_name, g.field))
            .collect()
    };
    assert_eq!(guarded("read"), ["Organization.sso"]);
    let mut manage = guarded("manage");
    manage.sort();
    assert_eq!(
        manage,
        [
            "Mutation.addOrganizationDomain",
            "Mutation.configureCertificateSignIn",
            "Mutation.configureLdap",
            "Mutation.configureSamlSso",
            "Mutation.configureSso",
            "Mutation.disableSso",
            "Mutation.removeOrganizationDomain",
            "Mutation.setOrganizationMfaRequirement",
            "Mutation.verifyOrganizationDomain",
        ]
    );
    let policy = charter::authz::Policy::from_toml(include_str!(
        "../../examples/policies/threat-stack.toml"
    ))
    .unwrap();
    let (sso, read) = policy.level_of("sso", "read").unwrap();
    let (_, manage) = policy.level_of("sso", "manage").unwrap();
    let owner = policy.owner_role();
    let user = policy.roles().iter().find(|role| !role.owner).unwrap();
    assert!(owner.grants.allows(sso, manage));
    assert!(!user.grants.allows(sso, read));
}

#[tokio::test]
async fn the_threatstop_preset_guards_every_field_as_its_matrix_says() {
    let source = include_str!("../../examples/policies/threatstop.toml");
    assert!(run_policy("threatstop", Some(source)).await > 0);
}

#[tokio::test]
async fn the_threatq_preset_guards_every_field_as_its_matrix_says() {
    let source = include_str!("../../examples/policies/threatq.toml");
    assert!(run_policy("threatq", Some(source)).await > 0);
}

#[tokio::test]
async fn the_threatconnect_preset_guards_every_field_as_its_matrix_says() {
    let source = include_str!("../../examples/policies/threatconnect.toml");
    assert!(run_policy("threatconnect", Some(source)).await > 0);
}

/// The rules beside the role's: every `@requires` field that declares `stepUp` refuses an API
/// key holding every grant of an owner's, and refuses an owner whose second factor was checked
/// longer ago than the step-up window; the catalog marks exactly those fields.
#[tokio::test]
async fn every_step_up_field_refuses_a_key_and_a_stale_second_factor() {
    let app = TestApp::spawn().await;
    let policy = app.state.policy.clone();
    let features: Vec<String> = policy.features().iter().map(|f| f.key.clone()).collect();
    let owner_role = policy.roles().iter().find(|r| r.owner).unwrap().key.clone();
    let other_role = policy
        .roles()
        .iter()
        .find(|r| !r.owner)
        .unwrap()
        .key
        .clone();
    let (mut fixture, owner, member) = fixture(&app, &features, 0, &owner_role, &other_role).await;
    let session = fixture.member_token.clone();
    let grants: Vec<Value> = policy
        .resources()
        .iter()
        .map(|r| json!({ "resource": r.key, "level": r.levels.last().unwrap() }))
        .collect();
    let created = app
        .gql(
            Some(&session),
            "mutation($o: ID!, $g: [PermissionGrantInput!]!) { createApiKey(input: {organizationId: $o, name: \"all\", grants: $g}) { secret } }",
            json!({ "o": org_id(&fixture.org), "g": grants }),
        )
        .await;
    let key = created["data"]["createApiKey"]["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned();
    let stepped: Vec<&CatalogGuard> = requires_guards()
        .into_iter()
        .filter(|guard| guard.step_up)
        .collect();
    assert!(stepped.len() >= 8, "{stepped:?}");
    let code = |body: &Value| {
        body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    fixture.member_token = key;
    for guard in &stepped {
        assert!(guard.person, "{}.{}", guard.type_name, guard.field);
        let body = probe(&app, &fixture, owner.id, guard).await;
        assert_eq!(
            code(&body),
            "FORBIDDEN",
            "{}.{} through a key: {body}",
            guard.type_name,
            guard.field
        );
    }
    // The owner enrolls an authenticator app; the session's check then grows old.
    let Some(_) = crate::mfa::enroll(&app, &session).await else {
        return;
    };
    app.age_second_factor(member.id, 11).await;
    fixture.member_token = session;
    for guard in &stepped {
        let body = probe(&app, &fixture, owner.id, guard).await;
        assert_eq!(
            body["errors"][0]["extensions"]["stepUpRequired"], true,
            "{}.{} with an old second factor: {body}",
            guard.type_name, guard.field
        );
    }
}
