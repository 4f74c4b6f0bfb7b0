//! The GraphQL-over-HTTP specification: status codes and bodies by media type, and the
//! `graphql-http` audit of every MUST and SHOULD against the live server.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code};
use crate::node;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

async fn post(
    app: &TestApp,
    accept: &str,
    token: Option<&str>,
    query: &str,
) -> (StatusCode, Value) {
    let mut request = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("accept", accept)
        .json(&json!({ "query": query }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the server answers");
    (
        response.status(),
        response.json().await.expect("a JSON body"),
    )
}

fn has_data_entry(body: &Value) -> bool {
    body.as_object()
        .expect("a JSON object")
        .contains_key("data")
}

#[tokio::test]
async fn a_document_that_never_executes_is_a_400_without_data() {
    let app = TestApp::spawn().await;
    for query in ["{ viewer { ", "{ noSuchField }"] {
        let (status, body) = post(&app, GRAPHQL_RESPONSE, None, query).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(!has_data_entry(&body), "{query}: {body}");
        assert_eq!(error_code(&body), "INVALID_INPUT", "{query}");
    }
    let response = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", "{ noSuchField }")])
        .header("accept", GRAPHQL_RESPONSE)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(!has_data_entry(&body), "GET: {body}");
}

#[tokio::test]
async fn a_field_that_fails_during_execution_is_a_200_even_when_data_is_null() {
    let app = TestApp::spawn().await;
    let failures = [
        // A refused token is reported at the field that needed it, which is null.
        (
            Some("garbage"),
            "{ viewer { user { email } } }",
            json!({ "viewer": null }),
        ),
        // A non-null root field that fails nulls `data` itself.
        (
            None,
            r#"{ checkPermission(organizationId: "x", resource: "member", level: "read") }"#,
            Value::Null,
        ),
    ];
    for (token, query, data) in failures {
        let (status, body) = post(&app, GRAPHQL_RESPONSE, token, query).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert!(has_data_entry(&body), "{query}: {body}");
        assert_eq!(body["data"], data, "{query}: {body}");
        assert!(
            body["errors"][0]["path"].is_array(),
            "the error has its field's path: {body}"
        );
    }
}

#[tokio::test]
async fn application_json_answers_every_graphql_response_with_200() {
    let app = TestApp::spawn().await;
    for (token, query) in [
        (None, "{ viewer { "),
        (None, "{ noSuchField }"),
        (Some("garbage"), "{ viewer { user { email } } }"),
    ] {
        let (status, body) = post(&app, "application/json", token, query).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert!(body["errors"].is_array(), "{query}: {body}");
    }
}

#[tokio::test]
async fn the_graphql_over_http_audit_passes_every_must_and_should() {
    let app = TestApp::spawn().await;
    let Some(run) = node::run_script("graphql-over-http-audit.mjs", &[&app.address]).await else {
        return;
    };
    println!("{}", run.output);
    assert!(run.success, "graphql-http audit:\n{}", run.output);
    assert!(
        run.output.contains("0 MUST or SHOULD not passed"),
        "{}",
        run.output
    );
}
