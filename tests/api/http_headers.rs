//! Headers that tell browsers and caches how to treat each response.

use reqwest::{Method, Response};
use serde_json::json;

use crate::helpers::TestApp;

async fn send(app: &TestApp, method: Method, path: &str, token: Option<&str>) -> Response {
    let mut request = app
        .client
        .request(method.clone(), format!("{}{path}", app.address));
    if method == Method::POST {
        request = request.json(&json!({ "query": "{ __typename }" }));
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("the server answers")
}

fn header<'a>(response: &'a Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap())
        .unwrap_or_else(|| panic!("{} has no {name} header", response.url()))
}

#[tokio::test]
async fn every_response_forbids_content_sniffing() {
    let app = TestApp::spawn().await;
    let requests = [
        (Method::GET, "/healthz", 200),
        (Method::GET, "/readyz", 200),
        (Method::GET, "/.well-known/jwks.json", 200),
        (Method::GET, "/graphiql", 200),
        (Method::GET, "/console/members", 200),
        (Method::GET, "/graphql?query=%7B__typename%7D", 200),
        (Method::POST, "/graphql", 200),
        (Method::GET, "/lists/unknown.txt", 404),
        (Method::GET, "/no-such-page", 404),
    ];
    for (method, path, status) in requests {
        let response = send(&app, method.clone(), path, None).await;
        assert_eq!(response.status(), status, "{method} {path}");
        assert_eq!(
            header(&response, "x-content-type-options"),
            "nosniff",
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn graphql_responses_are_never_stored_and_a_get_varies_by_caller() {
    let app = TestApp::spawn().await;
    let post = send(&app, Method::POST, "/graphql", None).await;
    assert_eq!(post.status(), 200);
    assert_eq!(header(&post, "cache-control"), "no-store");

    let get = send(
        &app,
        Method::GET,
        "/graphql?query=%7Bviewer%7Buser%7Bemail%7D%7D%7D",
        Some("not-a-token"),
    )
    .await;
    assert_eq!(header(&get, "cache-control"), "no-store");
    let vary: Vec<String> = get
        .headers()
        .get_all("vary")
        .iter()
        .flat_map(|value| value.to_str().unwrap().split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    assert!(vary.contains(&"authorization".to_owned()), "vary: {vary:?}");

    // Refusals too: they are answers about this caller's request.
    let refused = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 415);
    assert_eq!(header(&refused, "cache-control"), "no-store");
}

#[tokio::test]
async fn list_downloads_are_never_stored_even_when_refused() {
    let app = TestApp::spawn().await;
    app.create_user("alice@example.com").await;
    let alice = app.login("alice@example.com").await;
    let anonymous = send(&app, Method::GET, "/lists/unknown.txt", None).await;
    assert!(
        anonymous.status().is_client_error(),
        "{}",
        anonymous.status()
    );
    assert_eq!(header(&anonymous, "cache-control"), "no-store");
    let unknown = send(
        &app,
        Method::GET,
        "/lists/unknown.csv",
        Some(&alice.access_token),
    )
    .await;
    assert!(unknown.status().is_client_error(), "{}", unknown.status());
    assert_eq!(header(&unknown, "cache-control"), "no-store");
}

#[tokio::test]
async fn public_keys_keep_their_public_cache() {
    let app = TestApp::spawn().await;
    let response = send(&app, Method::GET, "/.well-known/jwks.json", None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "cache-control"), "public, max-age=300");
    assert!(response.headers().get("vary").is_none());
}
