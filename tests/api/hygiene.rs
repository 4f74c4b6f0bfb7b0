//! GraphQL-over-HTTP behaviour, limits, pagination, error masking and health checks.

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, org_id};

#[tokio::test]
async fn queries_work_by_get_and_mutations_are_refused_by_get() {
    let app = TestApp::spawn().await;
    let url = format!("{}/graphql", app.address);
    let query = app
        .client
        .get(&url)
        .query(&[("query", "{ viewer { user { email } } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(query.status(), 200);
    let body: Value = query.json().await.unwrap();
    assert!(
        body["data"]["viewer"].is_null() && body["errors"].is_null(),
        "{body}"
    );

    let mutation = app
        .client
        .get(&url)
        .query(&[("query", "mutation { logout }")])
        .send()
        .await
        .unwrap();
    assert_eq!(mutation.status(), 405);
    assert_eq!(mutation.headers()["allow"], "POST");
}

#[tokio::test]
async fn json_bodies_under_other_content_types_are_refused() {
    let app = TestApp::spawn().await;
    let url = format!("{}/graphql", app.address);
    let body = r#"{"query":"mutation { logout }"}"#;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let response = app
            .client
            .post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 415, "{content_type}");
    }
    let malformed = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let body: Value = malformed.json().await.unwrap();
    assert_eq!(error_code(&body), "INVALID_INPUT");
}

#[tokio::test]
async fn graphql_response_media_type_gets_status_codes_for_requests_that_do_not_run() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": "{ viewer { " }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["content-type"],
        "application/graphql-response+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "INVALID_INPUT");
}

#[tokio::test]
async fn a_database_failure_reaches_the_client_as_internal_without_sql() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    app.create_org(&alice, "Acme").await;
    let session = app.login("alice@example.com").await;
    use sea_orm::ConnectionTrait;
    app.state
        .database()
        .execute_unprepared("ALTER TABLE organizations RENAME TO organizations_gone")
        .await
        .unwrap();
    let body = app
        .gql(
            Some(&session.access_token),
            "{ viewer { memberships { edges { node { organization { name } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "INTERNAL", "{body}");
    let text = body["errors"].to_string().to_lowercase();
    for leak in [
        "organizations",
        "select",
        "table",
        "relation",
        "sqlite",
        "postgres",
    ] {
        assert!(!text.contains(leak), "`{leak}` leaked in {text}");
    }
}

#[tokio::test]
async fn page_sizes_outside_1_to_100_and_foreign_cursors_are_invalid_input() {
    let app = TestApp::spawn().await;
    app.create_user("alice@example.com").await;
    let session = app.login("alice@example.com").await;
    for args in [
        "first: 0",
        "first: 101",
        "first: -1",
        "after: \"bm90LWEtY3Vyc29y\"",
    ] {
        let body = app
            .gql(
                Some(&session.access_token),
                &format!("{{ viewer {{ memberships({args}) {{ totalCount }} }} }}"),
                json!({}),
            )
            .await;
        assert_eq!(error_code(&body), "INVALID_INPUT", "{args}: {body}");
    }
}

#[tokio::test]
async fn keyset_cursors_walk_every_member_once() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    for n in 0..6 {
        let user = app.create_user(&format!("m{n}@example.com")).await;
        app.add_member(&user, &org, "standard_user").await;
    }
    let session = app.login("alice@example.com").await;
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let body = app
            .gql(
                Some(&session.access_token),
                "query($id: ID!, $after: String) { organization(id: $id) { members(first: 3, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { user { email } } } } } }",
                json!({ "id": org_id(&org), "after": after }),
            )
            .await;
        let members = &body["data"]["organization"]["members"];
        assert_eq!(members["totalCount"], 7, "{body}");
        for edge in members["edges"].as_array().unwrap() {
            seen.push(edge["node"]["user"]["email"].as_str().unwrap().to_owned());
        }
        if !members["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = members["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        assert!(seen.len() < 20, "pagination does not end");
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(seen.len(), 7);
    assert_eq!(unique.len(), 7);
    assert_eq!(seen[0], "alice@example.com", "oldest first");
}

#[tokio::test]
async fn overly_deep_queries_are_refused_before_they_run() {
    let app = TestApp::spawn().await;
    app.create_user("alice@example.com").await;
    let session = app.login("alice@example.com").await;
    // Organization -> members -> membership -> organization, repeated past the depth limit.
    let mut selection = String::from("name");
    for _ in 0..5 {
        selection = format!(
            "members(first: 1) {{ edges {{ node {{ organization {{ {selection} }} }} }} }}"
        );
    }
    let deep = format!(
        "{{ viewer {{ memberships(first: 1) {{ edges {{ node {{ organization {{ {selection} }} }} }} }} }} }}"
    );
    let statements_before = app.statements.load(std::sync::atomic::Ordering::SeqCst);
    let body = app.gql(Some(&session.access_token), &deep, json!({})).await;
    assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("too deep"),
        "{body}"
    );
    assert!(body["data"].is_null());
    // Only authentication touched the database.
    let statements = app.statements.load(std::sync::atomic::Ordering::SeqCst) - statements_before;
    assert!(statements <= 2, "{statements} statements");
}

#[tokio::test]
async fn health_and_readiness_report_the_database() {
    let app = TestApp::spawn().await;
    let get = |path: &str| app.client.get(format!("{}{path}", app.address)).send();
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    assert_eq!(get("/readyz").await.unwrap().status(), 200);
    let graphiql = get("/graphiql").await.unwrap();
    assert_eq!(graphiql.status(), 200);
    assert!(graphiql.text().await.unwrap().contains("graphiql"));
    app.state.database().clone().close().await.unwrap();
    assert_eq!(get("/readyz").await.unwrap().status(), 503);
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
}

async fn recorded_ip(app: &TestApp, forwarded_for: &str) -> String {
    app.create_user("alice@example.com").await;
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "query": "mutation { login(input: {email: \"alice@example.com\", password: \"correct-horse-battery\"}) { accessToken } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let token = app.login("alice@example.com").await.access_token;
    let body = app
        .gql(
            Some(&token),
            "{ viewer { securityEvents(first: 2) { edges { node { action ip } } } } }",
            json!({}),
        )
        .await;
    body["data"]["viewer"]["securityEvents"]["edges"][1]["node"]["ip"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned()
}

#[tokio::test]
async fn x_forwarded_for_is_believed_only_from_trusted_proxies() {
    let app = TestApp::spawn().await;
    assert_eq!(recorded_ip(&app, "203.0.113.9").await, "127.0.0.1");

    let trusted = TestApp::spawn_with(|settings| {
        settings.trusted_proxies = vec![charter::config::parse_network("127.0.0.0/8").unwrap()];
    })
    .await;
    // The client wrote the leftmost address itself; the proxy appended the real one.
    assert_eq!(
        recorded_ip(&trusted, "198.51.100.7, 203.0.113.9").await,
        "203.0.113.9"
    );
}
