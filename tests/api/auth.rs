//! Logins, tokens, refresh rotation, logout.

use serde_json::json;

use crate::helpers::{TestApp, error_code};

const VIEWER: &str = "{ viewer { user { email } } }";

#[tokio::test]
async fn login_returns_tokens_that_identify_the_viewer() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    let body = app
        .gql(
            None,
            "mutation { login(input: {email: \"ALICE@example.com\", password: \"correct-horse-battery\"}) { accessToken refreshToken expiresAt user { email } organization { name } } }",
            json!({}),
        )
        .await;
    let login = &body["data"]["login"];
    assert_eq!(login["user"]["email"], "alice@example.com", "{body}");
    assert_eq!(login["organization"]["name"], org.name);
    let token = login["accessToken"].as_str().unwrap();
    assert_eq!(token.split('.').count(), 3, "a JWT");
    let viewer = app.gql(Some(token), VIEWER, json!({})).await;
    assert_eq!(
        viewer["data"]["viewer"]["user"]["email"],
        "alice@example.com"
    );
}

#[tokio::test]
async fn unknown_email_wrong_password_and_disabled_account_get_the_same_answer() {
    let app = TestApp::spawn().await;
    app.create_user("alice@example.com").await;
    let disabled = app.create_user("dis@example.com").await;
    let mut active: entity::user::ActiveModel = disabled.into();
    active.status = sea_orm::Set("disabled".to_owned());
    sea_orm::ActiveModelTrait::update(active, app.state.database())
        .await
        .unwrap();

    let mut answers = Vec::new();
    for (email, password) in [
        ("nobody@example.com", "correct-horse-battery"),
        ("alice@example.com", "wrong-password-123"),
        ("dis@example.com", "correct-horse-battery"),
    ] {
        let body = app
            .gql(
                None,
                "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { accessToken } }",
                json!({ "e": email, "p": password }),
            )
            .await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
        answers.push(body["errors"][0]["message"].clone());
    }
    assert!(
        answers.windows(2).all(|pair| pair[0] == pair[1]),
        "{answers:?}"
    );
}

#[tokio::test]
async fn a_malformed_email_at_login_is_invalid_input_naming_the_field() {
    let app = TestApp::spawn().await;
    let body = app
        .gql(
            None,
            "mutation { login(input: {email: \"not-an-email\", password: \"whatever-it-is\"}) { accessToken } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "INVALID_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "email");
}

#[tokio::test]
async fn a_refresh_token_works_once_and_its_reuse_revokes_the_session() {
    let app = TestApp::spawn().await;
    app.create_user("alice@example.com").await;
    let session = app.login("alice@example.com").await;
    let refresh =
        "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }";

    let first = app
        .gql(None, refresh, json!({ "t": session.refresh_token }))
        .await;
    let rotated = &first["data"]["refreshSession"];
    let new_access = rotated["accessToken"]
        .as_str()
        .expect("new tokens")
        .to_owned();
    let new_refresh = rotated["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(new_refresh, session.refresh_token);
    let viewer = app.gql(Some(&new_access), VIEWER, json!({})).await;
    assert_eq!(
        viewer["data"]["viewer"]["user"]["email"],
        "alice@example.com"
    );

    // The old refresh token again: refused, and the whole session ends.
    let reuse = app
        .gql(None, refresh, json!({ "t": session.refresh_token }))
        .await;
    assert_eq!(error_code(&reuse), "UNAUTHENTICATED");
    let after = app.gql(Some(&new_access), VIEWER, json!({})).await;
    assert_eq!(error_code(&after), "UNAUTHENTICATED", "{after}");
    let newer = app.gql(None, refresh, json!({ "t": new_refresh })).await;
    assert_eq!(error_code(&newer), "UNAUTHENTICATED");
}

#[tokio::test]
async fn logout_stops_the_access_token_on_the_next_request() {
    let app = TestApp::spawn().await;
    app.create_user("alice@example.com").await;
    let session = app.login("alice@example.com").await;
    let body = app
        .gql(
            Some(&session.access_token),
            "mutation { logout }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["logout"], true, "{body}");
    let after = app
        .gql(Some(&session.access_token), VIEWER, json!({}))
        .await;
    assert_eq!(error_code(&after), "UNAUTHENTICATED");
    assert!(after["data"]["viewer"].is_null());
}

#[tokio::test]
async fn garbled_unsigned_foreign_and_refresh_tokens_are_unauthenticated() {
    let app = TestApp::spawn().await;
    app.create_user("alice@example.com").await;
    let session = app.login("alice@example.com").await;
    let parts: Vec<&str> = session.access_token.split('.').collect();
    let unsigned = format!("{}.{}.", parts[0], parts[1]);
    let none_alg = format!(
        "{}.{}.",
        base64_url(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"sub": session.user_id, "exp": 4_000_000_000u64}),
        &jsonwebtoken::EncodingKey::from_secret(b"guess"),
    )
    .unwrap();
    let mut tampered_payload = parts.clone();
    let forged = base64_url(r#"{"sub":"00000000-0000-0000-0000-000000000000"}"#);
    tampered_payload[1] = &forged;
    let tampered = tampered_payload.join(".");
    for token in [
        "garbage",
        unsigned.as_str(),
        none_alg.as_str(),
        hs256.as_str(),
        tampered.as_str(),
        session.refresh_token.as_str(),
    ] {
        let body = app.gql(Some(token), VIEWER, json!({})).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{token}: {body}");
        assert!(body["data"]["viewer"].is_null());
    }
}

#[tokio::test]
async fn an_expired_access_token_is_unauthenticated_and_says_so() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let session = app.login("alice@example.com").await;
    let sid = session_id_of(&session.access_token);
    // Sign a token that expired an hour ago with the server's own key.
    let keys = app.state.tokens.keys();
    let key = keys.current();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some(key.kid.clone());
    let past = chrono::Utc::now().timestamp() - 3600;
    let token = jsonwebtoken::encode(
        &header,
        &json!({"sub": alice.id.to_string(), "sid": sid, "iss": "charter", "aud": "charter",
                "exp": past, "iat": past - 900, "nbf": past - 900, "typ": "access"}),
        &key.encoding,
    )
    .unwrap();
    let body = app.gql(Some(&token), VIEWER, json!({})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );
}

#[tokio::test]
async fn the_keys_endpoint_publishes_the_signing_key_by_kid() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    app.create_org(&alice, "Acme").await;
    let session = app.login("alice@example.com").await;
    let jwks: serde_json::Value = app
        .client
        .get(format!("{}/.well-known/jwks.json", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(&session.access_token).unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kid"].as_str(), header.kid.as_deref());
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    // Another service can verify the token with the published key alone.
    let decoding =
        jsonwebtoken::DecodingKey::from_ed_components(key["x"].as_str().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["charter"]);
    validation.set_issuer(&["charter"]);
    let claims =
        jsonwebtoken::decode::<serde_json::Value>(&session.access_token, &decoding, &validation)
            .expect("the published key verifies the token")
            .claims;
    assert_eq!(claims["typ"], "access");
    for claim in ["sub", "org", "sid", "iss", "aud", "exp", "iat", "nbf"] {
        assert!(claims.get(claim).is_some(), "claim {claim} in {claims}");
    }
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

fn session_id_of(token: &str) -> String {
    crate::sso::claims(token)["sid"]
        .as_str()
        .unwrap()
        .to_owned()
}
