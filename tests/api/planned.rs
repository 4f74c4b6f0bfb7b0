//! The planned member page against the generic path: for a viewer holding each preset role (and
//! a custom role that reads members but not roles, a stranger, and an owner of two
//! organizations), every shape of selection — aliases, named and inline fragments, type
//! conditions on `Node` and on a union, `__typename`, keys asked twice, `@include`/`@skip`,
//! `nodes` beside `edges`, the viewer's own memberships — is answered by both paths, and the
//! answers (data and errors) must be equal. Where the generic answer has no error and the
//! selection is one the plan covers, the planned request must have answered by plan (so the
//! comparison is not of the generic path with itself).

use async_graphql::{Request, Variables};
use charter::graphql::{CharterSchema, build_schema};
use entity::{organization, user};
use sea_orm::ActiveModelTrait;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

use crate::helpers::{TestApp, org_id};
use crate::in_process::request_context;

/// A selection, and whether the plan covers it.
struct Shape {
    name: &'static str,
    query: &'static str,
    planned: bool,
}

const MEMBERS: &str = "query($o: ID!) { organization(id: $o) { ";
/// The same, for the shape that reads `$yes` and `$no`.
const MEMBERS_IF: &str = "query($o: ID!, $yes: Boolean!, $no: Boolean!) { organization(id: $o) { ";

const SHAPES: &[Shape] = &[
    Shape {
        name: "the dashboard's",
        query: "members(first: 50) { edges { node { user { email } role { key grants { resource level } } } } } } }",
        planned: true,
    },
    Shape {
        name: "aliases, cursors and type names at every level",
        query: "m: members(first: 50) { totalCount pageInfo { hasNextPage endCursor } e: edges { \
                __typename c: cursor n: node { __typename i: id k: kind t: createdAt \
                u: user { __typename i: id mail: email name: displayName since: createdAt mfa: mfaEnabled } \
                r: role { __typename i: id k: key n: name d: description p: predefined s: seatClass \
                g: grants { __typename l: level r: resource } } } } } } }",
        planned: true,
    },
    Shape {
        name: "fragments on the type, on Node, on a union, and conditions that do not apply",
        query: "members(first: 50) { edges { node { ...Member ... on Node { id ... on User { email } } \
                ... on Membership { kind role { ...RoleFields } } } } } } } \
                fragment Member on Membership { createdAt user { ... on ApiKeyOwner { ... on User { email displayName } } ...UserId } } \
                fragment UserId on User { id } \
                fragment RoleFields on Role { key grants { ...Grant } } \
                fragment Grant on PermissionGrant { level }",
        planned: true,
    },
    Shape {
        name: "keys asked twice, merged",
        query: "members(first: 50) { edges { node { id user { email } ...Again role { key } role { name } } \
                node { kind } cursor cursor } } } } \
                fragment Again on Membership { id user { id displayName } role { grants { resource } } }",
        planned: true,
    },
    Shape {
        name: "nodes beside edges, sorted, and a second page",
        query: "members(first: 3, orderBy: {field: EMAIL, direction: DESC}) { nodes { id role { id name } } \
                edges { cursor node { user { email } } } } all: members(first: 50) { nodes { kind } } } }",
        planned: true,
    },
    Shape {
        name: "@include and @skip",
        query: "members(first: 50) { edges { node { user @include(if: $yes) { email } \
                role @skip(if: $yes) { key } id @include(if: $no) kind @skip(if: $no) } } } } }",
        planned: true,
    },
    Shape {
        name: "fields the plan leaves to the generic path",
        query: "members(first: 50) { edges { node { organization { name } invitedBy { email } \
                role { key memberCount } } } } } }",
        planned: false,
    },
];

/// The viewer's own memberships across organizations: a role's id names its organization.
const OWN: &str = "{ viewer { memberships(first: 50) { edges { cursor node { id createdAt \
     role { id key seatClass } } } nodes { id } } } }";
/// The same with `kind`, which reads a user the viewer's list does not hold.
const OWN_KINDS: &str = "{ viewer { memberships(first: 50) { nodes { kind } } } }";

struct Fixture {
    app: TestApp,
    schema: CharterSchema,
    acme: organization::Model,
    viewers: Vec<(String, user::Model)>,
}

async fn fixture() -> Fixture {
    let app = TestApp::spawn().await;
    let owner = app.create_user("owner@example.com").await;
    let acme = app.create_org(&owner, "Acme").await;
    let beta = app.create_org(&owner, "Beta").await;
    app.license_custom_roles(&acme).await;
    let schema = build_schema(app.state.clone());
    let mut viewers = vec![("owner of two organizations".to_owned(), owner.clone())];
    let roles: Vec<String> = app
        .state
        .policy
        .roles()
        .iter()
        .map(|r| r.key.clone())
        .collect();
    for (i, key) in roles.iter().enumerate() {
        let user = app.create_user(&format!("{key}.member@example.com")).await;
        app.add_member(&user, &acme, key).await;
        // Every other one is in a second organization too, with another role.
        if i % 2 == 0 {
            app.add_member(&user, &beta, &roles[(i + 1) % roles.len()])
                .await;
        }
        viewers.push((key.clone(), user));
    }
    let f = Fixture {
        app,
        schema,
        acme,
        viewers,
    };
    let reader = f.custom_role_member(&owner).await;
    f.service_account(&owner).await;
    let stranger = f.app.create_user("stranger@example.com").await;
    Fixture {
        viewers: [
            f.viewers.clone(),
            vec![
                (
                    "a custom role reading members, not roles".to_owned(),
                    reader,
                ),
                ("a stranger".to_owned(), stranger),
            ],
        ]
        .concat(),
        ..f
    }
}

impl Fixture {
    /// Runs `query` as `user` by Charter's own execution, by plan where it can or (with
    /// `planned` false) by the generic path only; with how many lists it answered by plan.
    async fn run(&self, user: &user::Model, query: &str, planned: bool) -> (Value, usize) {
        let (context, batches) = request_context(&self.app, user, self.acme.id);
        let context = if planned {
            context
        } else {
            context.without_planned_lists()
        };
        let counter = context.planned_lists();
        let variables = json!({ "o": org_id(&self.acme), "yes": true, "no": false });
        let request = Request::new(query)
            .variables(Variables::from_json(variables))
            .data(context);
        let response = charter::graphql::execute(&self.schema, request, batches).await;
        let body = serde_json::to_value(&response).expect("a response is JSON");
        (body, counter.load(Ordering::Relaxed))
    }

    /// A member holding a custom role that grants `member: read` and not `role: read`.
    async fn custom_role_member(&self, owner: &user::Model) -> user::Model {
        let created = self
            .run(
                owner,
                "mutation($o: ID!) { createRole(input: {organizationId: $o, name: \"Member reader\", \
                 grants: [{resource: \"organization\", level: \"read\"}, {resource: \"member\", level: \"read\"}], addMissingDependencies: true}) { id \
                 grants { resource level } } }",
                true,
            )
            .await
            .0;
        let id = &created["data"]["createRole"]["id"];
        let grants = created["data"]["createRole"]["grants"].as_array().unwrap();
        let role_read = grants.iter().find(|g| g["resource"] == "role").unwrap();
        assert_eq!(role_read["level"], "none", "{created}");
        let role = match charter::graphql::ids::NodeId::parse("id", &id.as_str().unwrap().into()) {
            Ok(charter::graphql::ids::NodeId::Role { role, .. }) => role,
            other => panic!("{created} {other:?}"),
        };
        let user = self.app.create_user("reader@example.com").await;
        charter::services::store::records::new_membership(
            &user,
            self.acme.id,
            role,
            "Member reader",
            None,
        )
        .insert(self.app.state.database())
        .await
        .expect("a membership in the custom role");
        user
    }

    /// A service account, so that the list holds both kinds of member.
    async fn service_account(&self, owner: &user::Model) {
        let role = self.app.state.policy.role_by_key("read_only_user").unwrap();
        let role = charter::graphql::ids::NodeId::Role {
            organization: self.acme.id,
            role: role.id,
        };
        let query = format!(
            "mutation($o: ID!) {{ createServiceAccount(input: {{organizationId: $o, \
             name: \"Deploy bot\", roleId: \"{}\"}}) {{ id }} }}",
            role.to_id().0
        );
        let created = self.run(owner, &query, true).await.0;
        assert!(created.get("errors").is_none(), "{created}");
    }
}

/// Runs `query` both ways as `viewer`, and checks the answers are equal and that the plan
/// answered exactly when it should (`plans`; None where either may: an empty list).
async fn compare(
    f: &Fixture,
    who: &str,
    viewer: &user::Model,
    name: &str,
    query: &str,
    plans: Option<bool>,
) -> bool {
    let (planned, lists) = f.run(viewer, query, true).await;
    let (generic, none) = f.run(viewer, query, false).await;
    assert_eq!(none, 0, "the reference took no plan");
    assert_eq!(
        planned, generic,
        "{who}, {name}: the planned answer differs"
    );
    let clean = generic.get("errors").is_none();
    // With errors, the lists that would be refused took the generic path and gave them (the
    // equality above); their siblings may still have been planned.
    if clean && plans == Some(true) {
        assert!(
            lists > 0,
            "{who}, {name}: the plan should have answered: {generic}"
        );
    } else if clean && plans == Some(false) {
        assert_eq!(lists, 0, "{who}, {name}: the plan does not cover this");
    }
    clean
}

#[tokio::test]
async fn planned_member_pages_answer_as_the_generic_path_for_every_role_and_shape() {
    let f = fixture().await;
    let mut answered = 0;
    let mut refused = 0;
    for (who, viewer) in &f.viewers {
        for shape in SHAPES {
            let prefix = match shape.query.contains("$yes") {
                true => MEMBERS_IF,
                false => MEMBERS,
            };
            let query = format!("{prefix}{}", shape.query);
            match compare(&f, who, viewer, shape.name, &query, Some(shape.planned)).await {
                true => answered += 1,
                false => refused += 1,
            }
        }
        compare(&f, who, viewer, "own memberships", OWN, Some(true)).await;
        // The stranger's list is empty, which the plan answers as well as anything.
        let kinds = (who != "a stranger").then_some(false);
        compare(&f, who, viewer, "own memberships' kinds", OWN_KINDS, kinds).await;
    }
    // Both sides of the comparison were met: answers by plan, and refusals the generic path
    // gave (the custom role's roles, a stranger, roles without `member: read`).
    assert!(answered >= 5 * (SHAPES.len() - 1), "{answered} answered");
    assert!(
        refused > SHAPES.len(),
        "{refused} refused: more than the stranger's"
    );
}

#[tokio::test]
async fn a_planned_page_holds_every_member_and_names_each_role_from_its_organization() {
    let f = fixture().await;
    let owner = &f.viewers[0].1;
    let query = format!("{MEMBERS}{}", SHAPES[0].query);
    let (body, lists) = f.run(owner, &query, true).await;
    assert_eq!(lists, 1, "{body}");
    let edges = body["data"]["organization"]["members"]["edges"]
        .as_array()
        .unwrap();
    // The owner, one member per preset role, the custom role's member, the service account.
    assert_eq!(edges.len(), f.app.state.policy.roles().len() + 3, "{body}");
    let custom = edges
        .iter()
        .find(|e| e["node"]["user"]["email"] == "reader@example.com")
        .unwrap();
    assert_eq!(
        custom["node"]["role"]["key"], "custom_member_reader",
        "{body}"
    );
    // The owner's own memberships: Acme's and Beta's owner roles are two ids.
    let (own, lists) = f.run(owner, OWN, true).await;
    assert_eq!(lists, 2, "edges and nodes: {own}");
    let ids: Vec<&Value> = own["data"]["viewer"]["memberships"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"]["role"]["id"])
        .collect();
    assert_eq!(ids.len(), 2, "{own}");
    assert_ne!(ids[0], ids[1], "a role's id names the organization: {own}");
    // The console's dashboard: each organization's members, under the viewer's memberships,
    // one list by plan per organization.
    let dashboard = "{ viewer { memberships(first: 50) { edges { node { organization { name \
        members(first: 20) { edges { node { user { email } role { key grants { resource level } } \
        } } } } } } } } }";
    let (body, lists) = f.run(owner, dashboard, true).await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(lists, 2, "Acme's and Beta's members: {body}");
}
