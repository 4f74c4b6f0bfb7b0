//! Field guards tested in process: the schema executes a request with a request context built
//! as the HTTP handler builds one, without HTTP in between, so what is proved is the guard.

use async_graphql::Request;
use charter::auth::Principal;
use charter::graphql::{CharterSchema, RequestContext, build_schema};
use charter::services::RequestMeta;
use entity::{organization, user};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, org_id};

/// The fields under test: one each of `member: read`, `audit_log: read` and
/// `invitation: send`, beside the organization's name (membership alone shows it).
const GUARDED: &str = "query($o: ID!) { organization(id: $o) { name members { totalCount } \
     auditLog { totalCount } invitations { totalCount } } }";

struct Fixture {
    app: TestApp,
    schema: CharterSchema,
    org: organization::Model,
}

async fn fixture() -> Fixture {
    let app = TestApp::spawn().await;
    let owner = app.create_user("owner@example.com").await;
    let org = app.create_org(&owner, "Acme").await;
    let schema = build_schema(app.state.clone());
    Fixture { app, schema, org }
}

impl Fixture {
    /// A new user holding the predefined role `role_key` in the fixture's organization.
    async fn member(&self, email: &str, role_key: &str) -> user::Model {
        let user = self.app.create_user(email).await;
        self.app.add_member(&user, &self.org, role_key).await;
        user
    }

    /// Runs `query` as `user`, with the principal, request meta and fresh loaders of a request.
    async fn execute(&self, user: &user::Model, query: &str, variables: Value) -> Value {
        let context = request_context(&self.app, user, self.org.id);
        let request = Request::new(query)
            .variables(async_graphql::Variables::from_json(variables))
            .data(context.0);
        let response =
            charter::graphql::batches::drive(context.1, self.schema.execute(request)).await;
        serde_json::to_value(&response).expect("a response is JSON")
    }

    async fn guarded(&self, user: &user::Model) -> Value {
        self.execute(user, GUARDED, json!({ "o": org_id(&self.org) }))
            .await
    }
}

/// The context of a request of `user`, signed in to `organization` with a session, and the
/// batches its execution runs.
pub(crate) fn request_context(
    app: &TestApp,
    user: &user::Model,
    organization: Uuid,
) -> (RequestContext, charter::graphql::batches::Batches) {
    let principal = Principal::User {
        user: user.clone().into(),
        session_id: Uuid::now_v7(),
        organization_id: Some(organization),
        mfa_at: None,
        proof: charter::authz::Proof::default(),
    };
    RequestContext::new(&app.state, principal, RequestMeta::default())
}

/// Each error as `[code, path]`.
fn errors(body: &Value) -> Vec<Value> {
    body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| json!([e["extensions"]["code"], e["path"]]))
        .collect()
}

#[tokio::test]
async fn a_role_holding_each_grant_resolves_every_guarded_field() {
    let f = fixture().await;
    let admin = f
        .member("admin@example.com", "organization_administrator")
        .await;
    let body = f.guarded(&admin).await;
    assert_eq!(errors(&body), Vec::<Value>::new(), "{body}");
    let org = &body["data"]["organization"];
    assert_eq!(org["name"], "Acme", "{body}");
    assert_eq!(org["members"]["totalCount"], 2, "{body}");
    assert!(org["auditLog"]["totalCount"].as_u64() > Some(0), "{body}");
    assert_eq!(org["invitations"]["totalCount"], 0, "{body}");
}

#[tokio::test]
async fn a_role_without_the_grant_gets_forbidden_at_the_field_while_its_siblings_resolve() {
    let f = fixture().await;
    let standard = f.member("standard@example.com", "standard_user").await;
    let body = f.guarded(&standard).await;
    let org = &body["data"]["organization"];
    assert_eq!(org["name"], "Acme", "{body}");
    assert_eq!(
        org["members"]["totalCount"], 2,
        "member: read is granted: {body}"
    );
    assert_eq!(org["auditLog"], Value::Null, "{body}");
    assert_eq!(org["invitations"], Value::Null, "{body}");
    let mut got = errors(&body);
    got.sort_by_key(|e| e.to_string());
    assert_eq!(
        got,
        vec![
            json!(["FORBIDDEN", ["organization", "auditLog"]]),
            json!(["FORBIDDEN", ["organization", "invitations"]]),
        ],
        "{body}"
    );
}

#[tokio::test]
async fn a_mutation_without_its_grant_is_forbidden_and_with_it_runs() {
    let f = fixture().await;
    let reader = f.member("reader@example.com", "read_only_user").await;
    let standard = f.member("standard@example.com", "standard_user").await;
    const CREATE: &str = "mutation($o: ID!) { createList(input: {organizationId: $o, \
         name: \"Blocked\", kind: IP}) { name } }";
    let variables = json!({ "o": org_id(&f.org) });
    let body = f.execute(&reader, CREATE, variables.clone()).await;
    assert_eq!(
        errors(&body),
        vec![json!(["FORBIDDEN", ["createList"]])],
        "list: read does not create: {body}"
    );
    let body = f.execute(&standard, CREATE, variables).await;
    assert_eq!(errors(&body), Vec::<Value>::new(), "{body}");
    assert_eq!(body["data"]["createList"]["name"], "Blocked", "{body}");
}

#[tokio::test]
async fn a_non_member_gets_the_not_found_of_an_organization_that_does_not_exist() {
    let f = fixture().await;
    let stranger = f.app.create_user("stranger@example.com").await;
    let body = f.guarded(&stranger).await;
    assert_eq!(body["data"]["organization"], Value::Null, "{body}");
    assert_eq!(
        errors(&body),
        vec![json!(["NOT_FOUND", ["organization"]])],
        "{body}"
    );
    let missing = charter::graphql::ids::NodeId::Organization(Uuid::now_v7())
        .to_id()
        .0;
    let none = f.execute(&stranger, GUARDED, json!({ "o": missing })).await;
    assert_eq!(
        body, none,
        "a foreign organization answers as a missing one"
    );
}
