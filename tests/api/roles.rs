//! Custom roles, the grant ceiling, dependencies, licenses, the catalog and permission checks.

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, org_id};

/// The built-in policy plus a ThreatQ-like dependency chain (scoring needs TLP needs sources),
/// a feature-gated resource, and a role that manages roles without holding every grant.
fn extended_policy() -> String {
    format!(
        r#"{}
[[features]]
key = "investigations"
description = "Investigations module"

[[resources]]
key = "sources"
name = "Sources"
group = "Objects"
levels = ["none", "view", "edit"]

[[resources]]
key = "tlp"
name = "TLP"
group = "Data Controls"
levels = ["none", "edit"]

[[resources]]
key = "scoring"
name = "Scoring"
group = "Data Controls"
levels = ["none", "edit"]

[[resources]]
key = "investigations"
name = "Investigations"
group = "Artifacts"
levels = ["none", "view", "edit"]
feature = "investigations"

[[dependencies]]
resource = "tlp"
level = "edit"
requires = {{ resource = "sources", level = "edit" }}

[[dependencies]]
resource = "scoring"
level = "edit"
requires = {{ resource = "tlp", level = "edit" }}

[[roles]]
key = "role_admin"
name = "Role Admin"
seat_class = "licensed"
[roles.grants]
organization = "read"
member = "read"
role = "manage"
sources = "view"
investigations = "edit"
"#,
        charter::authz::Policy::built_in_source()
    )
}

struct Fixture {
    app: TestApp,
    owner: entity::user::Model,
    org: entity::organization::Model,
    owner_token: String,
    _policy: tempfile::NamedTempFile,
}

/// An organization licensed for custom roles, owned by alice, on the extended policy.
async fn fixture() -> Fixture {
    let policy = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(policy.path(), extended_policy()).unwrap();
    let path = policy.path().to_path_buf();
    let app = TestApp::spawn_with(move |settings| settings.policy = Some(path)).await;
    let alice = app.create_user("alice@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    license(&app, &org, &["custom_roles"]).await;
    let owner_token = app.login("alice@example.com").await.access_token;
    Fixture {
        app,
        owner: alice,
        org,
        owner_token,
        _policy: policy,
    }
}

async fn license(app: &TestApp, org: &entity::organization::Model, features: &[&str]) {
    charter::services::organization::organizations::change_license(
        &app.state,
        &charter::services::audit::Actor::command_line(),
        org.id,
        charter::services::organization::organizations::LicenseChange {
            add_features: features.iter().map(|f| f.to_string()).collect(),
            ..Default::default()
        },
    )
    .await
    .expect("license change");
}

const CREATE: &str = "mutation($input: CreateRoleInput!) { createRole(input: $input) { id key name predefined seatClass grants { resource level } } }";

async fn create_role(app: &TestApp, token: &str, org: &str, name: &str, grants: Value) -> Value {
    app.gql(
        Some(token),
        CREATE,
        json!({ "input": { "organizationId": org, "name": name, "grants": grants } }),
    )
    .await
}

fn level(role: &Value, resource: &str) -> String {
    role["grants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["resource"] == resource)
        .map(|g| g["level"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("{resource} in {role}"))
}

#[tokio::test]
async fn custom_roles_need_the_custom_roles_license_feature() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    let token = app.login("alice@example.com").await.access_token;
    let grants = json!([{ "resource": "list", "level": "read" }]);
    let body = create_role(&app, &token, &org_id(&org), "Analyst", grants.clone()).await;
    assert_eq!(error_code(&body), "FEATURE_NOT_LICENSED", "{body}");

    license(&app, &org, &["custom_roles"]).await;
    let body = create_role(&app, &token, &org_id(&org), "Analyst", grants).await;
    let role = &body["data"]["createRole"];
    assert_eq!(role["name"], "Analyst", "{body}");
    assert_eq!(role["predefined"], false);
    assert_eq!(role["seatClass"], "LICENSED");
    assert_eq!(level(role, "list"), "read");
    assert_eq!(level(role, "member"), "none");
}

#[tokio::test]
async fn a_role_breaking_a_dependency_fails_listing_exactly_what_is_missing() {
    let f = fixture().await;
    let body = create_role(
        &f.app,
        &f.owner_token,
        &org_id(&f.org),
        "Scorer",
        json!([{ "resource": "scoring", "level": "edit" }]),
    )
    .await;
    assert_eq!(error_code(&body), "PERMISSION_DEPENDENCY", "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["missing"],
        json!([{ "resource": "tlp", "level": "edit", "requiredBy": { "resource": "scoring", "level": "edit" } }])
    );
    // Nothing was written.
    let roles = f
        .app
        .gql(
            Some(&f.owner_token),
            "query($id: ID!) { organization(id: $id) { roles { name } } }",
            json!({ "id": org_id(&f.org) }),
        )
        .await;
    assert!(!roles.to_string().contains("Scorer"));

    // Asked to, Charter adds the missing grants, transitively.
    let body = f
        .app
        .gql(
            Some(&f.owner_token),
            CREATE,
            json!({ "input": { "organizationId": org_id(&f.org), "name": "Scorer",
                    "grants": [{ "resource": "scoring", "level": "edit" }],
                    "addMissingDependencies": true } }),
        )
        .await;
    let role = &body["data"]["createRole"];
    assert_eq!(level(role, "scoring"), "edit", "{body}");
    assert_eq!(level(role, "tlp"), "edit");
    assert_eq!(level(role, "sources"), "edit");
}

#[tokio::test]
async fn nobody_grants_more_than_their_own_role_holds() {
    let f = fixture().await;
    let rita = f.app.create_user("rita@example.com").await;
    f.app.add_member(&rita, &f.org, "role_admin").await;
    let token = f.app.login("rita@example.com").await.access_token;

    let body = create_role(
        &f.app,
        &token,
        &org_id(&f.org),
        "Too Much",
        json!([{ "resource": "member", "level": "manage" }, { "resource": "sources", "level": "view" }]),
    )
    .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["exceeding"],
        json!([{ "resource": "member", "level": "manage" }])
    );

    // The ceiling applies to grants added for dependencies too: TLP needs sources `edit`,
    // which Rita holds only at `view`.
    let body = f
        .app
        .gql(
            Some(&token),
            CREATE,
            json!({ "input": { "organizationId": org_id(&f.org), "name": "Sneaky",
                    "grants": [{ "resource": "tlp", "level": "edit" }],
                    "addMissingDependencies": true } }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let exceeding = body["errors"][0]["extensions"]["exceeding"].to_string();
    assert!(
        exceeding.contains("sources") && exceeding.contains("tlp"),
        "{exceeding}"
    );

    // Within her grants she may build a role.
    let body = create_role(
        &f.app,
        &token,
        &org_id(&f.org),
        "Reader",
        json!([{ "resource": "sources", "level": "view" }, { "resource": "member", "level": "read" }]),
    )
    .await;
    assert_eq!(body["data"]["createRole"]["name"], "Reader", "{body}");
}

#[tokio::test]
async fn unknown_resources_and_levels_are_invalid_input_naming_each() {
    let f = fixture().await;
    let body = create_role(
        &f.app,
        &f.owner_token,
        &org_id(&f.org),
        "Broken",
        json!([{ "resource": "warp_drive", "level": "on" }, { "resource": "member", "level": "admin" }]),
    )
    .await;
    assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "grants");
    assert_eq!(
        body["errors"][0]["extensions"]["problems"],
        json!([
            "unknown resource `warp_drive`",
            "resource `member` has no level `admin`"
        ])
    );
}

#[tokio::test]
async fn role_names_are_unique_in_an_organization_including_predefined_ones() {
    let f = fixture().await;
    let org = org_id(&f.org);
    let grants = json!([{ "resource": "list", "level": "read" }]);
    let first = create_role(&f.app, &f.owner_token, &org, "Analyst", grants.clone()).await;
    assert!(first["errors"].is_null(), "{first}");
    for name in [
        "Analyst",
        "  analyst ",
        "Owner",
        "organization administrator",
    ] {
        let body = create_role(&f.app, &f.owner_token, &org, name, grants.clone()).await;
        assert_eq!(error_code(&body), "CONFLICT", "{name}: {body}");
    }
    // Another organization may use the same name.
    let bob = f.app.create_user("bob@example.com").await;
    let other = f.app.create_org(&bob, "Globex").await;
    license(&f.app, &other, &["custom_roles"]).await;
    let token = f.app.login("bob@example.com").await.access_token;
    let body = create_role(&f.app, &token, &org_id(&other), "Analyst", grants).await;
    assert!(body["errors"].is_null(), "{body}");
}

#[tokio::test]
async fn predefined_roles_are_immutable_and_a_role_in_use_is_not_deleted() {
    let f = fixture().await;
    let org = org_id(&f.org);
    let roles = f
        .app
        .gql(
            Some(&f.owner_token),
            "query($id: ID!) { organization(id: $id) { roles { id key } } }",
            json!({ "id": org }),
        )
        .await;
    let owner_role = roles["data"]["organization"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "standard_user")
        .unwrap()["id"]
        .clone();
    let body = f
        .app
        .gql(
            Some(&f.owner_token),
            "mutation($id: ID!) { updateRole(input: {id: $id, name: \"Mine\"}) { name } }",
            json!({ "id": owner_role }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let body = f
        .app
        .gql(
            Some(&f.owner_token),
            "mutation($id: ID!) { deleteRole(id: $id) }",
            json!({ "id": owner_role }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");

    let created = create_role(
        &f.app,
        &f.owner_token,
        &org,
        "Analyst",
        json!([{ "resource": "list", "level": "read" }]),
    )
    .await;
    let role_id = created["data"]["createRole"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Give the role to a member (role assignment by mutation comes with membership admin).
    let carl = f.app.create_user("carl@example.com").await;
    let (_, custom) =
        match charter::graphql::ids::NodeId::parse("id", &async_graphql::ID(role_id.clone()))
            .unwrap()
        {
            charter::graphql::ids::NodeId::Role { organization, role } => (organization, role),
            _ => unreachable!(),
        };
    use sea_orm::ActiveModelTrait;
    charter::services::store::records::new_membership(&carl, f.org.id, custom, "Analyst", None)
        .insert(f.app.state.database())
        .await
        .unwrap();
    let delete = "mutation($id: ID!) { deleteRole(id: $id) }";
    let body = f
        .app
        .gql(Some(&f.owner_token), delete, json!({ "id": role_id }))
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["memberCount"], 1);

    // Carl holds it, so he cannot edit it either (were he allowed to manage roles).
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    entity::membership::Entity::delete_many()
        .filter(entity::membership::Column::UserId.eq(carl.id))
        .exec(f.app.state.database())
        .await
        .unwrap();
    let body = f
        .app
        .gql(Some(&f.owner_token), delete, json!({ "id": role_id }))
        .await;
    assert_eq!(body["data"]["deleteRole"], true, "{body}");
}

#[tokio::test]
async fn editing_a_role_replaces_its_grants_under_the_same_rules() {
    let f = fixture().await;
    let created = create_role(
        &f.app,
        &f.owner_token,
        &org_id(&f.org),
        "Analyst",
        json!([{ "resource": "list", "level": "read" }]),
    )
    .await;
    let id = created["data"]["createRole"]["id"].clone();
    let update = "mutation($input: UpdateRoleInput!) { updateRole(input: $input) { name description grants { resource level } } }";
    let body = f
        .app
        .gql(
            Some(&f.owner_token),
            update,
            json!({ "input": { "id": id, "name": "Senior Analyst", "description": "Edits lists",
                    "grants": [{ "resource": "list", "level": "edit" }] } }),
        )
        .await;
    let role = &body["data"]["updateRole"];
    assert_eq!(role["name"], "Senior Analyst", "{body}");
    assert_eq!(role["description"], "Edits lists");
    assert_eq!(level(role, "list"), "edit");
    let body = f
        .app
        .gql(
            Some(&f.owner_token),
            update,
            json!({ "input": { "id": id, "grants": [{ "resource": "tlp", "level": "edit" }] } }),
        )
        .await;
    assert_eq!(error_code(&body), "PERMISSION_DEPENDENCY", "{body}");
}

#[tokio::test]
async fn an_organization_has_at_most_100_custom_roles() {
    let f = fixture().await;
    let change = f
        .app
        .change_in(f.owner.id, f.org.id, charter::authz::require::ROLE_MANAGE)
        .await;
    for n in 0..100 {
        charter::services::organization::roles::create(
            &change,
            charter::services::organization::roles::RoleSpec {
                name: Some(format!("Role {n}")),
                grants: Some(vec![]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    let body = create_role(
        &f.app,
        &f.owner_token,
        &org_id(&f.org),
        "One more",
        json!([]),
    )
    .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
}

#[tokio::test]
async fn a_feature_gated_resource_takes_effect_only_under_its_license() {
    let f = fixture().await;
    let rita = f.app.create_user("rita@example.com").await;
    f.app.add_member(&rita, &f.org, "role_admin").await;
    let token = f.app.login("rita@example.com").await.access_token;
    let check = "query($org: ID!) { checkPermission(organizationId: $org, resource: \"investigations\", level: \"edit\") }";
    let body = f
        .app
        .gql(Some(&token), check, json!({ "org": org_id(&f.org) }))
        .await;
    assert_eq!(body["data"]["checkPermission"], false, "{body}");
    license(&f.app, &f.org, &["investigations"]).await;
    let body = f
        .app
        .gql(Some(&token), check, json!({ "org": org_id(&f.org) }))
        .await;
    assert_eq!(body["data"]["checkPermission"], true, "{body}");
}

#[tokio::test]
async fn check_permission_answers_for_yourself_and_for_members_you_may_see() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let frank = app.create_user("frank@example.com").await;
    let outsider = app.create_user("out@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    app.add_member(&frank, &org, "read_only_user").await;
    app.create_org(&outsider, "Elsewhere").await;
    let frank_token = app.login("frank@example.com").await.access_token;
    let alice_token = app.login("alice@example.com").await.access_token;
    let org = org_id(&org);
    let ask = |token: &str, user: Option<String>, r: &str, l: &str| {
        let variables = json!({ "org": org, "user": user, "r": r, "l": l });
        let token = token.to_owned();
        let app = &app;
        async move {
            app.gql(
                Some(&token),
                "query($org: ID!, $user: ID, $r: String!, $l: String!) { checkPermission(organizationId: $org, userId: $user, resource: $r, level: $l) }",
                variables,
            )
            .await
        }
    };
    let user_id = |id: uuid::Uuid| charter::graphql::ids::NodeId::User(id).to_id().0;

    assert_eq!(
        ask(&frank_token, None, "list", "read").await["data"]["checkPermission"],
        true
    );
    assert_eq!(
        ask(&frank_token, None, "list", "edit").await["data"]["checkPermission"],
        false
    );
    assert_eq!(
        ask(&frank_token, None, "tc_case", "Read").await["data"]["checkPermission"],
        true,
        "any resource of the policy can be asked about"
    );
    let body = ask(&alice_token, Some(user_id(frank.id)), "member", "manage").await;
    assert_eq!(body["data"]["checkPermission"], false, "{body}");
    let body = ask(&frank_token, Some(user_id(alice.id)), "member", "manage").await;
    assert_eq!(
        body["data"]["checkPermission"], true,
        "member: read lets Frank ask: {body}"
    );
    let body = ask(&alice_token, Some(user_id(outsider.id)), "list", "read").await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");

    let body = ask(&frank_token, None, "warp_drive", "on").await;
    assert_eq!(error_code(&body), "INVALID_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "resource");
    let body = ask(&frank_token, None, "list", "godlike").await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "level");
    let body = ask(
        &app.login("out@example.com").await.access_token,
        None,
        "list",
        "read",
    )
    .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
}

#[tokio::test]
async fn the_catalog_describes_the_matrix_and_every_guard_to_anyone() {
    let f = fixture().await;
    let body = f
        .app
        .gql(
            None,
            "{ permissionCatalog { name resources { key levels feature } dependencies { resource level requires { resource level } } roles { key seatClass owner grants { resource level } } features { key } guards { type field kind resource level } auditActions } }",
            json!({}),
        )
        .await;
    let catalog = &body["data"]["permissionCatalog"];
    assert!(body["errors"].is_null(), "{body}");
    // The event types a webhook endpoint chooses from: the audit catalog, in its order.
    let actions: Vec<&str> = charter::services::audit::Action::ALL
        .iter()
        .map(|action| action.as_str())
        .collect();
    assert_eq!(catalog["auditActions"], json!(actions));
    assert!(actions.contains(&"member.added") && actions.contains(&"api_key.revoked"));
    let resources = catalog["resources"].as_array().unwrap();
    assert!(
        resources
            .iter()
            .any(|r| r["key"] == "investigations" && r["feature"] == "investigations")
    );
    let dependencies = catalog["dependencies"].as_array().unwrap();
    for dependency in [
        json!({ "resource": "tlp", "level": "edit", "requires": { "resource": "sources", "level": "edit" } }),
        // Every policy: webhooks carry the audit log.
        json!({ "resource": "webhook", "level": "read", "requires": { "resource": "audit_log", "level": "read" } }),
    ] {
        assert!(
            dependencies.contains(&dependency),
            "{dependency} in {dependencies:?}"
        );
    }
    assert_eq!(catalog["roles"].as_array().unwrap().len(), 8);
    assert!(catalog["features"].to_string().contains("custom_roles"));
    let guards = catalog["guards"].as_array().unwrap();
    let find = |ty: &str, field: &str| {
        guards
            .iter()
            .find(|g| g["type"] == ty && g["field"] == field)
            .unwrap_or_else(|| panic!("{ty}.{field}"))
            .clone()
    };
    assert_eq!(
        find("Organization", "members"),
        json!({ "type": "Organization", "field": "members", "kind": "REQUIRES", "resource": "member", "level": "read" })
    );
    assert_eq!(find("Organization", "name")["resource"], "organization");
    assert_eq!(find("Mutation", "createRole")["level"], "manage");
    assert_eq!(find("Mutation", "login")["kind"], "PUBLIC");
    assert_eq!(
        find("Mutation", "setOrganizationLicense")["kind"],
        "PLATFORM_OPERATOR"
    );
    assert_eq!(find("Membership", "role")["kind"], "REQUIRES_OR_SELF");
}

#[tokio::test]
async fn only_platform_operators_change_licenses_and_seat_counts_follow_memberships() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    for (n, role) in ["standard_user", "read_only_user", "read_only_commenter"]
        .iter()
        .enumerate()
    {
        let user = app.create_user(&format!("u{n}@example.com")).await;
        app.add_member(&user, &org, role).await;
    }
    let operator = app.create_user("ops@platform.example").await;
    let alice_token = app.login("alice@example.com").await.access_token;
    let mutation = "mutation($input: SetOrganizationLicenseInput!) { setOrganizationLicense(input: $input) { seats seatsUsed freeSeatsUsed freeReadOnlySeats features } }";
    let input = json!({ "input": { "organization": org.public_id, "seats": 10, "freeReadOnlySeats": false, "addFeatures": ["custom_roles"] } });
    let body = app.gql(Some(&alice_token), mutation, input.clone()).await;
    assert_eq!(
        error_code(&body),
        "FORBIDDEN",
        "even the owner is not an operator: {body}"
    );

    charter::services::identity::users::set_operator(
        &app.state,
        &charter::services::audit::Actor::command_line(),
        &charter::domain::Email::parse("email", &operator.email).unwrap(),
        true,
    )
    .await
    .unwrap();
    let ops_token = app.login("ops@platform.example").await.access_token;
    let body = app.gql(Some(&ops_token), mutation, input).await;
    let license = &body["data"]["setOrganizationLicense"];
    assert_eq!(license["seats"], 10, "{body}");
    assert_eq!(license["features"], json!(["custom_roles"]));
    assert_eq!(
        license["seatsUsed"], 4,
        "free roles take licensed seats when not allowed free"
    );
    assert_eq!(license["freeSeatsUsed"], 0);

    let body = app
        .gql(
            Some(&ops_token),
            mutation,
            json!({ "input": { "organization": org_id(&org), "freeReadOnlySeats": true } }),
        )
        .await;
    let license = &body["data"]["setOrganizationLicense"];
    assert_eq!(license["seatsUsed"], 2, "{body}");
    assert_eq!(license["freeSeatsUsed"], 2);

    let body = app
        .gql(
            Some(&ops_token),
            mutation,
            json!({ "input": { "organization": org.public_id, "addFeatures": ["teleport"] } }),
        )
        .await;
    assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");

    // Members see the same numbers.
    let body = app
        .gql(
            Some(&alice_token),
            "query($id: ID!) { organization(id: $id) { license { seats seatsUsed freeSeatsUsed } } }",
            json!({ "id": org_id(&org) }),
        )
        .await;
    assert_eq!(
        body["data"]["organization"]["license"],
        json!({ "seats": 10, "seatsUsed": 2, "freeSeatsUsed": 2 })
    );
}

/// A role's grants are answered in place rather than field by field; aliases, `__typename`,
/// named and inline fragments and `@skip`/`@include` still shape each grant as GraphQL says.
#[tokio::test]
async fn grants_answer_aliases_fragments_and_directives_like_any_object() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    let token = app.login("alice@example.com").await.access_token;
    let query = "query($o: ID!, $no: Boolean!) { organization(id: $o) { \
        plain: viewerPermissions { resource level } \
        shaped: viewerPermissions { __typename r: resource ...Level \
          ... on PermissionGrant { again: resource } ... { l2: level } \
          hidden: level @include(if: $no) shown: level @skip(if: $no) } } } \
        fragment Level on PermissionGrant { level }";
    let body = app
        .gql(
            Some(&token),
            query,
            json!({ "o": org_id(&org), "no": false }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let plain = body["data"]["organization"]["plain"]
        .as_array()
        .expect("grants");
    let shaped = body["data"]["organization"]["shaped"]
        .as_array()
        .expect("grants");
    assert!(!plain.is_empty());
    assert_eq!(plain.len(), shaped.len());
    for (plain, shaped) in plain.iter().zip(shaped) {
        let mut keys: Vec<&str> = shaped
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            ["__typename", "again", "l2", "level", "r", "shown"],
            "{shaped}"
        );
        assert_eq!(shaped["__typename"], "PermissionGrant");
        assert_eq!(shaped["r"], plain["resource"]);
        assert_eq!(shaped["again"], plain["resource"]);
        assert_eq!(shaped["level"], plain["level"]);
        assert_eq!(shaped["l2"], plain["level"]);
        assert_eq!(shaped["shown"], plain["level"]);
    }
    let unknown = app
        .gql(
            Some(&token),
            "query($o: ID!) { organization(id: $o) { viewerPermissions { resource secret } } }",
            json!({ "o": org_id(&org) }),
        )
        .await;
    assert_eq!(unknown["data"], Value::Null, "{unknown}");
    assert!(
        unknown["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("secret"),
        "{unknown}"
    );
}
