//! SCIM 2.0 provisioning against the live endpoint: the gate, the request sequences Okta and
//! Microsoft Entra document, one identity in two organizations, seats and the key's ceiling
//! under parallel requests, and hostile input.

use entity::{audit_event, membership, user};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::helpers::org_id;
use crate::sso::{Acme, DOMAIN};

pub(crate) const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub(crate) const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub(crate) const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Acme with its domain verified, and a SCIM client: an API key of a service account that is
/// an organization administrator there.
pub(crate) struct Scim {
    pub acme: Acme,
    pub key: String,
    pub client: reqwest::Client,
}

/// The grants of a SCIM key: all of its service account's role, so that its ceiling is the
/// role's (an organization administrator's: every role but the owner's).
pub(crate) fn scim_grants(acme: &Acme) -> Vec<Value> {
    let policy = &acme.app.state.policy;
    let role = policy.role_by_key("organization_administrator").unwrap();
    policy
        .describe(&role.grants)
        .map(|(resource, level)| json!({ "resource": resource, "level": level }))
        .collect()
}

impl Scim {
    pub async fn start(seats: Option<i32>) -> Option<Self> {
        Self::start_with(seats, |_| {}).await
    }

    pub async fn start_with(
        seats: Option<i32>,
        configure: impl FnOnce(&mut charter::config::Settings),
    ) -> Option<Self> {
        let acme = Acme::start(seats, configure).await?;
        let grants = scim_grants(&acme);
        let key = service_key(&acme, "organization_administrator", &grants).await;
        Some(Self {
            acme,
            key,
            client: reqwest::Client::new(),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!(
            "{}/scim/v2/{}{path}",
            self.acme.app.address, self.acme.org.public_id
        )
    }

    /// A request with the SCIM key: the status and the JSON body (null when empty).
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call_as(Some(&self.key), method, path, body).await
    }

    pub async fn call_as(
        &self,
        key: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        send(&self.client, key, method, &self.url(path), body).await
    }

    /// A request with a raw body: the status and the JSON body.
    pub async fn call_raw(&self, method: Method, path: &str, body: String) -> (u16, Value) {
        let response = self
            .client
            .request(method, self.url(path))
            .bearer_auth(&self.key)
            .header("content-type", "application/scim+json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Creates a user from `body`, expecting 201: its id.
    pub async fn create(&self, body: Value) -> String {
        let (status, created) = self.call(Method::POST, "/Users", Some(body)).await;
        assert_eq!(status, 201, "{created}");
        created["id"].as_str().unwrap().to_owned()
    }

    /// The membership behind SCIM user `id`.
    pub async fn membership(&self, id: &str) -> Option<membership::Model> {
        membership::Entity::find_by_id(uuid::Uuid::parse_str(id).unwrap())
            .one(self.acme.app.state.database())
            .await
            .unwrap()
    }
}

pub(crate) async fn send(
    client: &reqwest::Client,
    key: Option<&str>,
    method: Method,
    url: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client.request(method, url);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/scim+json")
            .body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    if status != 204 && status != 401 {
        let kind = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(kind, "application/scim+json", "{status}");
    }
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: {text}"))
    };
    (status, body)
}

/// An API key of a new service account of Acme holding `role`, with `grants`.
pub(crate) async fn service_key(acme: &Acme, role: &str, grants: &[Value]) -> String {
    let created = acme
        .gql(
            "mutation($o: ID!, $r: ID!, $n: String!) { createServiceAccount(input: {organizationId: $o, name: $n, roleId: $r}) { id } }",
            json!({ "o": org_id(&acme.org), "r": acme.role_id(role), "n": format!("Provisioning {}", uuid::Uuid::now_v7().simple()) }),
        )
        .await;
    let account = created["data"]["createServiceAccount"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned();
    let key = acme
        .gql(
            "mutation($o: ID!, $s: ID, $g: [PermissionGrantInput!]!) { createApiKey(input: {organizationId: $o, serviceAccountId: $s, name: \"scim\", grants: $g}) { secret } }",
            json!({ "o": org_id(&acme.org), "s": account, "g": grants }),
        )
        .await;
    key["data"]["createApiKey"]["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("{key}"))
        .to_owned()
}

/// A user as Okta's SCIM 2.0 integration creates one.
pub(crate) fn okta_user(local: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": format!("{local}@{DOMAIN}"),
        "name": { "givenName": "Ada", "familyName": "Lovelace" },
        "emails": [{ "primary": true, "value": format!("{local}@{DOMAIN}"), "type": "work" }],
        "displayName": "Ada Lovelace",
        "locale": "en-US",
        "externalId": format!("00u{local}"),
        "groups": [],
        "password": "never-kept-1A!",
        "active": true
    })
}

fn error_type(body: &Value) -> &str {
    body["scimType"].as_str().unwrap_or("")
}

#[tokio::test]
async fn discovery_answers_in_scims_media_type_and_unknown_paths_are_scim_404s() {
    let Some(scim) = Scim::start(None).await else {
        return;
    };
    let (status, config) = scim.call(Method::GET, "/ServiceProviderConfig", None).await;
    assert_eq!(status, 200);
    assert_eq!(config["patch"]["supported"], true);
    assert_eq!(config["bulk"]["supported"], false);
    assert_eq!(config["filter"]["maxResults"], 200);
    let (_, types) = scim.call(Method::GET, "/ResourceTypes", None).await;
    assert_eq!(types["totalResults"], 2);
    let (status, user_type) = scim.call(Method::GET, "/ResourceTypes/User", None).await;
    assert_eq!(status, 200);
    assert_eq!(user_type["schemaExtensions"][0]["schema"], ENTERPRISE);
    let (_, schemas) = scim.call(Method::GET, "/Schemas", None).await;
    let ids: Vec<&str> = schemas["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|schema| schema["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [USER, ENTERPRISE, GROUP]);
    let (status, user_schema) = scim
        .call(Method::GET, &format!("/Schemas/{USER}"), None)
        .await;
    assert_eq!(status, 200);
    let user_name = &user_schema["attributes"][0];
    assert_eq!(user_name["name"], "userName");
    assert_eq!(user_name["uniqueness"], "server");
    // A search by POST (RFC 7644 §3.4.3) on a resource type; not across them.
    let search = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "userName eq \"OWNER@acme.test\"",
        "attributes": ["userName"],
        "count": 5,
    });
    let (status, found) = scim
        .call(Method::POST, "/Users/.search", Some(search.clone()))
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["totalResults"], 1);
    let mut keys: Vec<&String> = found["Resources"][0].as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["id", "meta", "schemas", "userName"]);
    let (status, _) = scim.call(Method::POST, "/.search", Some(search)).await;
    assert_eq!(status, 501);
    for path in [
        "/Nothing",
        "/Schemas/urn:nothing",
        "/Users/not-an-id",
        "/Users/0195b4a0-0000-7000-8000-000000000000",
    ] {
        let (status, body) = scim.call(Method::GET, path, None).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["status"], "404", "{path}");
        assert_eq!(
            body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
    }
}

#[tokio::test]
async fn only_a_service_accounts_key_that_manages_members_opens_the_endpoint() {
    let Some(scim) = Scim::start(None).await else {
        return;
    };
    let (status, body) = scim.call_as(None, Method::GET, "/Users", None).await;
    assert_eq!(status, 401, "{body}");
    let (status, _) = scim
        .call_as(Some("chk_not-a-key"), Method::GET, "/Users", None)
        .await;
    assert_eq!(status, 401);
    // A person's session, and a person's own key, are not provisioning clients.
    let owner = scim.acme.owner_token.clone();
    let (status, body) = scim
        .call_as(Some(&owner), Method::GET, "/Users", None)
        .await;
    assert_eq!(status, 403, "{body}");
    let own = scim
        .acme
        .gql(
            "mutation($o: ID!) { createApiKey(input: {organizationId: $o, name: \"mine\", grants: [{resource: \"organization\", level: \"read\"}, {resource: \"member\", level: \"manage\"}]}) { secret } }",
            json!({ "o": org_id(&scim.acme.org) }),
        )
        .await;
    let own = own["data"]["createApiKey"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = scim.call_as(Some(&own), Method::GET, "/Users", None).await;
    assert_eq!(status, 403, "{body}");
    // A service account's key that only reads members.
    let reader_grants = [
        json!({ "resource": "organization", "level": "read" }),
        json!({ "resource": "member", "level": "read" }),
    ];
    let reader = service_key(&scim.acme, "organization_administrator", &reader_grants).await;
    let (status, body) = scim
        .call_as(Some(&reader), Method::GET, "/Users", None)
        .await;
    assert_eq!(status, 403, "{body}");
    // The key of another organization's endpoint: that organization does not exist for it.
    let other_owner = scim.acme.app.create_user("owner@globex.test").await;
    let globex = scim.acme.app.create_org(&other_owner, "Globex").await;
    let url = format!(
        "{}/scim/v2/{}/Users",
        scim.acme.app.address, globex.public_id
    );
    let (status, body) = send(&scim.client, Some(&scim.key), Method::GET, &url, None).await;
    assert_eq!(status, 404, "{body}");
    let (status, list) = scim.call(Method::GET, "/Users", None).await;
    assert_eq!(status, 200, "{list}");
    // The owner is a person of Acme; the service accounts are not SCIM users.
    assert_eq!(list["totalResults"], 1, "{list}");
    assert_eq!(list["Resources"][0]["userName"], "owner@acme.test");
}

/// Okta's documented sequence: look the user up, create, read, deactivate, reactivate, push a
/// group, rename it, and deprovision.
#[tokio::test]
async fn oktas_sequence_creates_suspends_restores_groups_and_removes() {
    let Some(scim) = Scim::start(None).await else {
        return;
    };
    let lookup =
        format!("/Users?filter=userName%20eq%20%22ada%40{DOMAIN}%22&startIndex=1&count=100");
    let (status, found) = scim.call(Method::GET, &lookup, None).await;
    assert_eq!(status, 200);
    assert_eq!(found["totalResults"], 0);
    assert_eq!(found["Resources"], json!([]));
    let (status, created) = scim
        .call(Method::POST, "/Users", Some(okta_user("ada")))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["userName"], format!("ada@{DOMAIN}"));
    assert_eq!(created["active"], true);
    assert_eq!(created["name"]["givenName"], "Ada");
    assert_eq!(created["externalId"], "00uada");
    assert!(created.get("password").is_none());
    assert_eq!(
        created["meta"]["location"],
        scim.url(&format!("/Users/{id}"))
    );
    // The person exists, without a password, as a member in the least role.
    let person = user::Entity::find()
        .filter(user::Column::EmailLower.eq(format!("ada@{DOMAIN}")))
        .one(scim.acme.app.state.database())
        .await
        .unwrap()
        .unwrap();
    assert!(person.password_hash.is_none());
    assert_eq!(person.display_name, "Ada Lovelace");
    let (_, found) = scim.call(Method::GET, &lookup, None).await;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["id"], id);
    let (status, again) = scim
        .call(Method::POST, "/Users", Some(okta_user("ada")))
        .await;
    assert_eq!(status, 409, "{again}");
    assert_eq!(error_type(&again), "uniqueness");

    let deactivate = json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "value": { "active": false } }] });
    let (status, patched) = scim
        .call(Method::PATCH, &format!("/Users/{id}"), Some(deactivate))
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["active"], false);
    assert!(scim.membership(&id).await.unwrap().suspended_at.is_some());
    let (_, inactive) = scim
        .call(Method::GET, "/Users?filter=active%20eq%20false", None)
        .await;
    assert_eq!(inactive["totalResults"], 1);
    let reactivate = json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "value": { "active": true } }] });
    let (_, patched) = scim
        .call(Method::PATCH, &format!("/Users/{id}"), Some(reactivate))
        .await;
    assert_eq!(patched["active"], true);

    // Group push: a group named like a role places its members in it.
    let push = json!({ "schemas": [GROUP], "displayName": "Standard User", "members": [] });
    let (status, group) = scim.call(Method::POST, "/Groups", Some(push)).await;
    assert_eq!(status, 201, "{group}");
    let group_id = group["id"].as_str().unwrap().to_owned();
    let add = json!({ "schemas": [PATCH], "Operations": [{ "op": "add", "path": "members", "value": [{ "value": id, "display": format!("ada@{DOMAIN}") }] }] });
    let (status, group) = scim
        .call(Method::PATCH, &format!("/Groups/{group_id}"), Some(add))
        .await;
    assert_eq!(status, 200, "{group}");
    assert_eq!(group["members"][0]["value"], id);
    let role = scim.membership(&id).await.unwrap().role_id;
    assert_eq!(
        role,
        scim.acme
            .app
            .state
            .policy
            .role_by_key("standard_user")
            .unwrap()
            .id
    );
    let (_, user) = scim.call(Method::GET, &format!("/Users/{id}"), None).await;
    assert_eq!(user["groups"][0]["display"], "Standard User");
    let rename = json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "value": { "id": group_id, "displayName": "Analysts" } }] });
    let (status, group) = scim
        .call(Method::PATCH, &format!("/Groups/{group_id}"), Some(rename))
        .await;
    assert_eq!(status, 200, "{group}");
    assert_eq!(group["displayName"], "Analysts");
    // Renamed to a name no role has, the group places nobody: the member is back in the least role.
    let role = scim.membership(&id).await.unwrap().role_id;
    assert_eq!(
        role,
        scim.acme
            .app
            .state
            .policy
            .role_by_key("read_only_user")
            .unwrap()
            .id
    );

    let (status, body) = scim
        .call(Method::DELETE, &format!("/Users/{id}"), None)
        .await;
    assert_eq!(status, 204, "{body}");
    assert!(scim.membership(&id).await.is_none());
    let (status, _) = scim.call(Method::GET, &format!("/Users/{id}"), None).await;
    assert_eq!(status, 404);
    let (_, group) = scim
        .call(Method::GET, &format!("/Groups/{group_id}"), None)
        .await;
    assert!(group.get("members").is_none(), "{group}");
    // The identity stays.
    assert!(
        user::Entity::find_by_id(person.id)
            .one(scim.acme.app.state.database())
            .await
            .unwrap()
            .is_some()
    );
    // Every change is the key's, in the organization's log.
    let events = audit_event::Entity::find()
        .filter(audit_event::Column::OrganizationId.eq(scim.acme.org.id))
        .filter(audit_event::Column::Action.is_in([
            "member.added",
            "member.suspended",
            "member.restored",
            "scim_group.created",
            "scim_group.updated",
            "member.role_assigned",
            "member.removed",
        ]))
        .order_by_asc(audit_event::Column::Seq)
        .all(scim.acme.app.state.database())
        .await
        .unwrap();
    let actions: Vec<&str> = events.iter().map(|event| event.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "member.added",
            "member.suspended",
            "member.restored",
            "scim_group.created",
            "scim_group.updated",
            "member.role_assigned",
            "scim_group.updated",
            "member.role_assigned",
            "member.removed",
        ]
    );
    assert!(events.iter().all(|event| event.actor_api_key_id.is_some()));
}

/// Microsoft Entra's documented sequence: its create body (with the enterprise extension),
/// PATCHes with capitalised ops and string booleans, a group looked up without its members,
/// members added and removed by value, and the delete.
#[tokio::test]
async fn entras_sequence_applies_with_its_own_shapes() {
    let Some(scim) = Scim::start(None).await else {
        return;
    };
    let (_, found) = scim
        .call(
            Method::GET,
            "/Users?filter=userName+eq+%22grace%40acme.test%22",
            None,
        )
        .await;
    assert_eq!(found["totalResults"], 0);
    let body = json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "grace@acme.test",
        "active": true,
        "displayName": "Grace Hopper",
        "emails": [{ "primary": true, "type": "work", "value": "grace@acme.test" }],
        "meta": { "resourceType": "User" },
        "name": { "formatted": "Grace Hopper", "familyName": "Hopper", "givenName": "Grace" },
        "title": "Rear Admiral",
        ENTERPRISE: { "employeeNumber": "1906", "department": "Navy" }
    });
    let id = scim.create(body).await;
    let (_, by_external) = scim
        .call(
            Method::GET,
            "/Users?filter=externalId%20eq%20%220a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef%22",
            None,
        )
        .await;
    assert_eq!(by_external["Resources"][0]["id"], id);
    let (_, by_email) = scim
        .call(Method::GET, "/Users?filter=emails%5Btype%20eq%20%22work%22%5D.value%20eq%20%22grace%40acme.test%22%20and%20active%20eq%20true", None)
        .await;
    assert_eq!(by_email["totalResults"], 1, "{by_email}");
    let update = json!({ "schemas": [PATCH], "Operations": [
        { "op": "Replace", "path": "title", "value": "Commodore" },
        { "op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0142" },
        { "op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Computing" },
        { "op": "Replace", "path": "active", "value": "False" }
    ]});
    let (status, user) = scim
        .call(Method::PATCH, &format!("/Users/{id}"), Some(update))
        .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["title"], "Commodore");
    assert_eq!(user["phoneNumbers"][0]["value"], "+1 555 0142");
    assert_eq!(user[ENTERPRISE]["department"], "Computing");
    assert_eq!(user[ENTERPRISE]["employeeNumber"], "1906");
    assert_eq!(user["active"], false);
    let restore = json!({ "schemas": [PATCH], "Operations": [{ "op": "Replace", "path": "active", "value": "True" }] });
    let (_, user) = scim
        .call(Method::PATCH, &format!("/Users/{id}"), Some(restore))
        .await;
    assert_eq!(user["active"], true);

    let (_, none) = scim
        .call(Method::GET, "/Groups?excludedAttributes=members&filter=displayName+eq+%22Read%20Only%20Commenter%22", None)
        .await;
    assert_eq!(none["totalResults"], 0);
    let group = json!({ "schemas": [GROUP], "externalId": "8aa1a0c0", "displayName": "Read Only Commenter" });
    let (status, created) = scim.call(Method::POST, "/Groups", Some(group)).await;
    assert_eq!(status, 201, "{created}");
    let group_id = created["id"].as_str().unwrap().to_owned();
    let add = json!({ "schemas": [PATCH], "Operations": [{ "op": "Add", "path": "members", "value": [{ "value": id }] }] });
    let (status, _) = scim
        .call(Method::PATCH, &format!("/Groups/{group_id}"), Some(add))
        .await;
    assert_eq!(status, 200);
    let commenter = scim
        .acme
        .app
        .state
        .policy
        .role_by_key("read_only_commenter")
        .unwrap()
        .id;
    assert_eq!(scim.membership(&id).await.unwrap().role_id, commenter);
    let (_, listed) = scim
        .call(Method::GET, "/Groups?excludedAttributes=members&filter=displayName+eq+%22read%20only%20commenter%22", None)
        .await;
    assert_eq!(listed["totalResults"], 1);
    assert!(listed["Resources"][0].get("members").is_none());
    let remove = json!({ "schemas": [PATCH], "Operations": [{ "op": "Remove", "path": "members", "value": [{ "value": id }] }] });
    let (status, group) = scim
        .call(Method::PATCH, &format!("/Groups/{group_id}"), Some(remove))
        .await;
    assert_eq!(status, 200, "{group}");
    assert!(group.get("members").is_none());
    let least = scim
        .acme
        .app
        .state
        .policy
        .role_by_key("read_only_user")
        .unwrap()
        .id;
    assert_eq!(scim.membership(&id).await.unwrap().role_id, least);
    let (status, _) = scim
        .call(Method::DELETE, &format!("/Users/{id}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = scim
        .call(Method::DELETE, &format!("/Groups/{group_id}"), None)
        .await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn two_organizations_provision_one_identity_and_each_deprovisions_only_its_own() {
    let Some(scim) = Scim::start(None).await else {
        return;
    };
    let acme_id = scim.create(okta_user("ada")).await;
    // Globex, with a SCIM key of its own, provisions the same person: linked, not duplicated.
    let app = &scim.acme.app;
    let globex_owner = app.create_user("owner@globex.test").await;
    let globex = app.create_org(&globex_owner, "Globex").await;
    let token = app.login("owner@globex.test").await.access_token;
    let account = app
        .gql(
            Some(&token),
            "mutation($o: ID!, $r: ID!) { createServiceAccount(input: {organizationId: $o, name: \"Okta\", roleId: $r}) { id } }",
            json!({ "o": org_id(&globex), "r": charter::graphql::ids::NodeId::Role { organization: globex.id, role: app.state.policy.role_by_key("organization_administrator").unwrap().id }.to_id().0 }),
        )
        .await;
    let account = account["data"]["createServiceAccount"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let grants = scim_grants(&scim.acme);
    let key = app
        .gql(
            Some(&token),
            "mutation($o: ID!, $s: ID, $g: [PermissionGrantInput!]!) { createApiKey(input: {organizationId: $o, serviceAccountId: $s, name: \"scim\", grants: $g}) { secret } }",
            json!({ "o": org_id(&globex), "s": account, "g": grants }),
        )
        .await;
    let key = key["data"]["createApiKey"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let globex_url = |path: &str| format!("{}/scim/v2/{}{path}", app.address, globex.public_id);
    let (status, linked) = send(
        &scim.client,
        Some(&key),
        Method::POST,
        &globex_url("/Users"),
        Some(okta_user("ada")),
    )
    .await;
    assert_eq!(status, 201, "{linked}");
    let globex_id = linked["id"].as_str().unwrap().to_owned();
    let db = app.state.database();
    let people = user::Entity::find()
        .filter(user::Column::EmailLower.eq(format!("ada@{DOMAIN}")))
        .count(db)
        .await
        .unwrap();
    assert_eq!(people, 1);
    let acme_member = scim.membership(&acme_id).await.unwrap();
    let globex_member = scim.membership(&globex_id).await.unwrap();
    assert_eq!(acme_member.user_id, globex_member.user_id);
    // Globex cannot create identities in a domain it does not hold, nor rename one Acme holds.
    let (status, refused) = send(
        &scim.client,
        Some(&key),
        Method::POST,
        &globex_url("/Users"),
        Some(okta_user("new")),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(error_type(&refused), "invalidValue");
    let mut renamed = okta_user("ada");
    renamed["userName"] = json!("ada@globex.test");
    let (status, refused) = send(
        &scim.client,
        Some(&key),
        Method::PUT,
        &globex_url(&format!("/Users/{globex_id}")),
        Some(renamed.clone()),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(error_type(&refused), "mutability");
    renamed["userName"] = json!(format!("ada.l@{DOMAIN}"));
    let (status, refused) = scim
        .call(Method::PUT, &format!("/Users/{acme_id}"), Some(renamed))
        .await;
    assert_eq!(status, 400, "{refused}");
    // Each organization's attributes are its own.
    let mut titled = okta_user("ada");
    titled["title"] = json!("Contractor");
    let (status, _) = send(
        &scim.client,
        Some(&key),
        Method::PUT,
        &globex_url(&format!("/Users/{globex_id}")),
        Some(titled),
    )
    .await;
    assert_eq!(status, 200);
    let (_, acme_view) = scim
        .call(Method::GET, &format!("/Users/{acme_id}"), None)
        .await;
    assert!(acme_view.get("title").is_none(), "{acme_view}");
    // Globex deprovisions: Acme's membership and the identity stay.
    let (status, _) = send(
        &scim.client,
        Some(&key),
        Method::DELETE,
        &globex_url(&format!("/Users/{globex_id}")),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert!(scim.membership(&globex_id).await.is_none());
    assert_eq!(scim.membership(&acme_id).await.unwrap(), acme_member);
    // Acme's key cannot reach Globex's users.
    let (status, _) = scim
        .call(Method::GET, &format!("/Users/{globex_id}"), None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_suspended_member_keeps_their_seat_and_history_but_reaches_nothing() {
    let Some(scim) = Scim::start(None).await else {
        return;
    };
    let app = &scim.acme.app;
    // A person who already has an account and a session in Acme.
    let person = app.create_user(&format!("lin@{DOMAIN}")).await;
    let body =
        json!({ "schemas": [USER], "userName": person.email, "name": { "givenName": "Lin" } });
    let id = scim.create(body).await;
    let session = app
        .login_to(&person.email, Some(&org_id(&scim.acme.org)))
        .await
        .access_token;
    let read = "query($o: ID!) { organization(id: $o) { name } }";
    let seen = app
        .gql(Some(&session), read, json!({ "o": org_id(&scim.acme.org) }))
        .await;
    assert_eq!(seen["data"]["organization"]["name"], "Acme", "{seen}");
    let issued = app
        .gql(
            Some(&session),
            "mutation($o: ID!) { createApiKey(input: {organizationId: $o, name: \"laptop\", grants: [{resource: \"organization\", level: \"read\"}]}) { secret } }",
            json!({ "o": org_id(&scim.acme.org) }),
        )
        .await;
    let own_key = issued["data"]["createApiKey"]["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("{issued}"))
        .to_owned();
    let suspend = json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": "active", "value": false }] });
    let (status, _) = scim
        .call(Method::PATCH, &format!("/Users/{id}"), Some(suspend))
        .await;
    assert_eq!(status, 200);
    let seen = app
        .gql(Some(&session), read, json!({ "o": org_id(&scim.acme.org) }))
        .await;
    assert!(seen["data"]["organization"].is_null(), "{seen}");
    // Their key stops.
    let through_key = app
        .gql(Some(&own_key), read, json!({ "o": org_id(&scim.acme.org) }))
        .await;
    assert_eq!(
        crate::helpers::error_code(&through_key),
        "UNAUTHENTICATED",
        "{through_key}"
    );
    // The members list still shows them, in their role: the seat is kept.
    let members = scim
        .acme
        .gql(
            "query($o: ID!) { organization(id: $o) { members(first: 10) { totalCount } } }",
            json!({ "o": org_id(&scim.acme.org) }),
        )
        .await;
    // The owner, the provisioning service account and the suspended person.
    assert_eq!(
        members["data"]["organization"]["members"]["totalCount"], 3,
        "{members}"
    );
    let restore = json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": "active", "value": true }] });
    let (status, _) = scim
        .call(Method::PATCH, &format!("/Users/{id}"), Some(restore))
        .await;
    assert_eq!(status, 200);
    let fresh = app
        .login_to(&person.email, Some(&org_id(&scim.acme.org)))
        .await
        .access_token;
    let seen = app
        .gql(Some(&fresh), read, json!({ "o": org_id(&scim.acme.org) }))
        .await;
    assert_eq!(seen["data"]["organization"]["name"], "Acme", "{seen}");
    // The key works again; the session that acted in the organization ended with the suspension.
    let through_key = app
        .gql(Some(&own_key), read, json!({ "o": org_id(&scim.acme.org) }))
        .await;
    assert_eq!(
        through_key["data"]["organization"]["name"], "Acme",
        "{through_key}"
    );
    let old = app
        .gql(Some(&session), read, json!({ "o": org_id(&scim.acme.org) }))
        .await;
    assert_eq!(crate::helpers::error_code(&old), "UNAUTHENTICATED", "{old}");
}

#[tokio::test]
async fn seats_and_the_keys_ceiling_hold_under_twenty_parallel_requests() {
    // Three seats: the owner and the provisioning account take two.
    let Some(scim) = Scim::start(Some(3)).await else {
        return;
    };
    // Read Only User, the default role, is free: it takes no seat, however many.
    for n in 0..5 {
        let (status, body) = scim
            .call(Method::POST, "/Users", Some(okta_user(&format!("free{n}"))))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    // Licensed roles need seats: the default role becomes Standard User.
    let configured = scim
        .acme
        .gql(
            "mutation($o: ID!, $r: ID!) { configureScim(input: {organizationId: $o, defaultRoleId: $r}) { defaultRole { key } } }",
            json!({ "o": org_id(&scim.acme.org), "r": scim.acme.role_id("standard_user") }),
        )
        .await;
    assert_eq!(
        configured["data"]["configureScim"]["defaultRole"]["key"], "standard_user",
        "{configured}"
    );
    let scim = std::sync::Arc::new(scim);
    let app = &scim.acme.app;
    let creates = (0..20).map(|n| {
        let scim = scim.clone();
        tokio::spawn(async move {
            scim.call(Method::POST, "/Users", Some(okta_user(&format!("p{n}"))))
                .await
        })
    });
    let answers: Vec<(u16, Value)> = futures_util::future::join_all(creates)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let made = answers.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(made, 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(status, _)| *status != 201) {
        assert_eq!(*status, 409, "{body}");
        assert!(body["detail"].as_str().unwrap().contains("seat"), "{body}");
    }
    let members = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(scim.acme.org.id))
        .count(app.state.database())
        .await
        .unwrap();
    assert_eq!(members, 3 + 5);

    // A group mapped to a role above the key's ceiling (the owner's) moves nobody, however
    // many ask at once.
    let (status, owners) = scim
        .call(
            Method::POST,
            "/Groups",
            Some(json!({ "schemas": [GROUP], "displayName": "Owner" })),
        )
        .await;
    assert_eq!(status, 201, "{owners}");
    let group = owners["id"].as_str().unwrap().to_owned();
    let member = answers.iter().find(|(status, _)| *status == 201).unwrap().1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pushes = (0..20).map(|_| {
        let scim = scim.clone();
        let (group, member) = (group.clone(), member.clone());
        tokio::spawn(async move {
            let add = json!({ "schemas": [PATCH], "Operations": [{ "op": "add", "path": "members", "value": [{ "value": member }] }] });
            scim.call(Method::PATCH, &format!("/Groups/{group}"), Some(add)).await
        })
    });
    for answer in futures_util::future::join_all(pushes).await {
        let (status, body) = answer.unwrap();
        assert_eq!(status, 403, "{body}");
    }
    let standard = app.state.policy.role_by_key("standard_user").unwrap().id;
    assert_eq!(scim.membership(&member).await.unwrap().role_id, standard);
    let (_, group) = scim
        .call(Method::GET, &format!("/Groups/{group}"), None)
        .await;
    assert!(
        group.get("members").is_none(),
        "nothing half-written: {group}"
    );
}

#[tokio::test]
async fn hostile_input_gets_the_rfcs_errors_and_writes_nothing() {
    let Some(scim) = Scim::start(None).await else {
        return;
    };
    let id = scim.create(okta_user("ada")).await;
    let db = scim.acme.app.state.database();
    let before = audit_event::Entity::find().count(db).await.unwrap();
    let deep = format!("{}userName eq \"x\"{}", "(".repeat(1000), ")".repeat(1000));
    let filters = [
        (deep.as_str(), "invalidFilter"),
        ("userName zz \"x\"", "invalidFilter"),
        ("userName eq \"a\u{0}\"", "invalidFilter"),
    ];
    for (filter, kind) in filters {
        let url = format!("/Users?filter={}", urlencoding(filter));
        let (status, body) = scim.call(Method::GET, &url, None).await;
        assert_eq!((status, error_type(&body)), (400, kind), "{body}");
    }
    let mut unknown = okta_user("bob");
    unknown["shoeSize"] = json!(44);
    let mut nul = okta_user("carol");
    nul["displayName"] = json!("Carol\u{0}");
    let mut huge = okta_user("dan");
    huge["title"] = json!("x".repeat(1 << 20));
    let mut not_email = okta_user("erin");
    not_email["userName"] = json!("erin");
    let bodies = [
        (unknown, "invalidSyntax"),
        (nul, "invalidValue"),
        (huge, "invalidValue"),
        (not_email, "invalidValue"),
        (json!({ "userName": "x@acme.test" }), "invalidSyntax"),
        (json!([1, 2]), "invalidSyntax"),
    ];
    for (body, kind) in bodies {
        let (status, answer) = scim.call(Method::POST, "/Users", Some(body)).await;
        assert_eq!((status, error_type(&answer)), (400, kind), "{answer}");
    }
    let many: Vec<Value> = (0..10_000)
        .map(|_| json!({ "op": "replace", "path": "title", "value": "x" }))
        .collect();
    let patches = [
        (
            json!({ "schemas": [PATCH], "Operations": many }),
            "invalidValue",
        ),
        (
            json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": "id", "value": "x" }] }),
            "mutability",
        ),
        (
            json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": "userName", "value": "a\u{0}@acme.test" }] }),
            "invalidValue",
        ),
        (
            json!({ "schemas": [PATCH], "Operations": [{ "op": "add", "path": "members", "value": [] }] }),
            "invalidPath",
        ),
    ];
    for (body, kind) in patches {
        let (status, answer) = scim
            .call(Method::PATCH, &format!("/Users/{id}"), Some(body))
            .await;
        assert_eq!((status, error_type(&answer)), (400, kind), "{answer}");
    }
    // Another organization's group id, a made-up member, and bad JSON.
    let foreign = json!({ "schemas": [GROUP], "displayName": "G", "members": [{ "value": uuid::Uuid::now_v7() }] });
    let (status, answer) = scim.call(Method::POST, "/Groups", Some(foreign)).await;
    assert_eq!(
        (status, error_type(&answer)),
        (400, "invalidValue"),
        "{answer}"
    );
    let response = scim
        .client
        .post(scim.url("/Users"))
        .bearer_auth(&scim.key)
        .body("{\"schemas\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // A body past the service's bound is refused in SCIM's shape.
    let huge = format!(
        "{{\"schemas\": [\"{USER}\"], \"title\": \"{}\"}}",
        "x".repeat(9 << 20)
    );
    let (status, answer) = scim.call_raw(Method::POST, "/Users", huge).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["status"], "413");
    let after = audit_event::Entity::find().count(db).await.unwrap();
    assert_eq!(before, after, "nothing was written");
    let (_, listed) = scim.call(Method::GET, "/Users", None).await;
    assert_eq!(listed["totalResults"], 2);
}

fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn a_member_in_several_groups_holds_the_highest_role_and_a_mapping_set_through_graphql_wins()
{
    let Some(scim) = Scim::start(None).await else {
        return;
    };
    let id = scim.create(okta_user("ada")).await;
    let mut groups = Vec::new();
    for name in ["Read Only Commenter", "Sharing User", "Engineers"] {
        let body = json!({ "schemas": [GROUP], "displayName": name, "members": [{ "value": id }] });
        let (status, group) = scim.call(Method::POST, "/Groups", Some(body)).await;
        assert_eq!(status, 201, "{group}");
        groups.push(group["id"].as_str().unwrap().to_owned());
    }
    let policy = &scim.acme.app.state.policy;
    assert_eq!(
        scim.membership(&id).await.unwrap().role_id,
        policy.role_by_key("sharing_user").unwrap().id
    );
    // "Engineers" maps to no role until one is set through GraphQL.
    let mapped = scim
        .acme
        .gql(
            "query($o: ID!) { organization(id: $o) { scimGroups(first: 10) { totalCount nodes { id displayName role { key } } } } }",
            json!({ "o": org_id(&scim.acme.org) }),
        )
        .await;
    let nodes = &mapped["data"]["organization"]["scimGroups"]["nodes"];
    assert_eq!(
        mapped["data"]["organization"]["scimGroups"]["totalCount"], 3,
        "{mapped}"
    );
    assert_eq!(nodes[0]["role"]["key"], "read_only_commenter");
    assert!(nodes[2]["role"].is_null());
    let engineers = nodes[2]["id"].as_str().unwrap().to_owned();
    let set = scim
        .acme
        .gql(
            "mutation($g: ID!, $r: ID) { setScimGroupRole(input: {groupId: $g, roleId: $r}) { displayName role { key } } }",
            json!({ "g": engineers, "r": scim.acme.role_id("organization_administrator") }),
        )
        .await;
    assert_eq!(
        set["data"]["setScimGroupRole"]["role"]["key"], "organization_administrator",
        "{set}"
    );
    assert_eq!(
        scim.membership(&id).await.unwrap().role_id,
        policy.role_by_key("organization_administrator").unwrap().id
    );
    // Unset: the group maps by name again (to nothing), and the member moves back.
    let unset = scim
        .acme
        .gql(
            "mutation($g: ID!) { setScimGroupRole(input: {groupId: $g, roleId: null}) { role { key } } }",
            json!({ "g": engineers }),
        )
        .await;
    assert!(
        unset["data"]["setScimGroupRole"]["role"].is_null(),
        "{unset}"
    );
    assert_eq!(
        scim.membership(&id).await.unwrap().role_id,
        policy.role_by_key("sharing_user").unwrap().id
    );
}

/// A SCIM group of `organization`, written directly (as SCIM would create it), by its
/// GraphQL id.
pub(crate) async fn scim_group(
    app: &crate::helpers::TestApp,
    organization: uuid::Uuid,
    name: &str,
) -> String {
    use sea_orm::{ActiveModelTrait, Set};
    let id = uuid::Uuid::now_v7();
    entity::scim_group::ActiveModel {
        id: Set(id),
        organization_id: Set(organization),
        display_name: Set(name.to_owned()),
        display_lower: Set(name.to_lowercase()),
        external_id: Set(None),
        role_id: Set(None),
        created_at: Set(chrono::Utc::now()),
        updated_at: Set(chrono::Utc::now()),
    }
    .insert(app.state.database())
    .await
    .unwrap();
    charter::graphql::ids::NodeId::ScimGroup(id).to_id().0
}

/// The Python that has `scim2-tester` installed: `SCIM_TESTER_PYTHON`, else the virtual
/// environment `.ci/run` makes.
fn scim_tester_python() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("SCIM_TESTER_PYTHON")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|home| std::path::Path::new(&home).join(".cache/charter/scim-venv/bin/python"))
        })?;
    path.exists().then_some(path)
}

/// The conformance checker of the SCIM community (PyPI `scim2-tester`) against the live
/// endpoint: every check it makes passes.
#[tokio::test]
async fn scim2_tester_passes_every_check_against_the_live_endpoint() {
    let Some(python) = scim_tester_python() else {
        crate::node::skip_or_fail(
            "install scim2-tester: python3 -m venv ~/.cache/charter/scim-venv && \
             ~/.cache/charter/scim-venv/bin/pip install scim2-tester",
        );
        return;
    };
    let Some(scim) = Scim::start(None).await else {
        return;
    };
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scim/conformance.py");
    let url = scim.url("");
    let key = scim.key.clone();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .args([url.as_str(), key.as_str(), DOMAIN])
            .output()
            .expect("python runs")
    })
    .await
    .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{printed}");
    assert!(output.status.success(), "{printed}");
    assert!(printed.contains(" checks: "), "{printed}");
}

/// A SCIM change is a webhook event like any other: signed, and naming the key as its actor.
#[tokio::test]
async fn scim_changes_are_delivered_as_webhook_events_naming_the_key() {
    let Some(scim) = Scim::start_with(None, |settings| settings.webhooks.allow_http = true).await
    else {
        return;
    };
    let app = &scim.acme.app;
    let Some(receiver) = crate::webhooks::Receiver::start(&app.address).await else {
        return;
    };
    let org = org_id(&scim.acme.org);
    let (_, secret) = crate::webhooks::endpoint(
        app,
        &scim.acme.owner_token,
        &org,
        &receiver.hook(),
        &["member.*"],
    )
    .await;
    receiver.script(json!({ "secrets": [secret] })).await;
    let id = scim.create(okta_user("ada")).await;
    let suspend = json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": "active", "value": false }] });
    let (status, _) = scim
        .call(Method::PATCH, &format!("/Users/{id}"), Some(suspend))
        .await;
    assert_eq!(status, 200);
    crate::webhooks::deliver(app).await;
    let received = receiver.received().await;
    // Deliveries run concurrently: their order need not be the events'.
    let mut types: Vec<&str> = received
        .iter()
        .map(|d| d["type"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(types, ["member.added", "member.suspended"]);
    for delivery in &received {
        assert_eq!(delivery["v1a"], true, "{delivery}");
        let body: Value = serde_json::from_str(delivery["body"].as_str().unwrap()).unwrap();
        assert!(body["actor"]["apiKeyId"].is_string(), "{body}");
    }
}
