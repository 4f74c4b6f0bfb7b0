//! Security keys (WebAuthn) as a second factor: registered and used through the API with a
//! software authenticator in process (webauthn-authenticator-rs), and once in headless
//! Chromium with its DevTools virtual authenticator.

use serde_json::{Value, json};
use webauthn_authenticator_rs::prelude::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};

use crate::helpers::{PASSWORD, TestApp, error_code, webauthn_on_localhost};

/// A server whose relying party is `localhost` on its own port (WebAuthn has no IP-address
/// relying parties; browsers reach 127.0.0.1 as localhost).
async fn spawn() -> (TestApp, Url) {
    let mut origin = String::new();
    let app = TestApp::spawn_with(|settings| origin = webauthn_on_localhost(settings)).await;
    (app, Url::parse(&origin).unwrap())
}

async fn register(app: &TestApp, token: &str, key: &mut SoftPasskey, origin: &Url) -> Value {
    let begun = app
        .gql(
            Some(token),
            "mutation { beginSecurityKeyRegistration(name: \"YubiKey\") }",
            json!({}),
        )
        .await;
    let options: CreationChallengeResponse = serde_json::from_str(
        begun["data"]["beginSecurityKeyRegistration"]
            .as_str()
            .unwrap_or_else(|| panic!("{begun}")),
    )
    .unwrap();
    let answer = key
        .do_registration(origin.clone(), options)
        .expect("the key registers");
    app.gql(
        Some(token),
        "mutation($r: String!) { finishSecurityKeyRegistration(response: $r) { factor { id kind name } recoveryCodes } }",
        json!({ "r": serde_json::to_string(&answer).unwrap() }),
    )
    .await
}

async fn challenge(app: &TestApp, email: &str) -> Value {
    let body = app
        .gql(
            None,
            "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { accessToken mfaChallenge { token methods webauthnOptions } } }",
            json!({ "e": email, "p": PASSWORD }),
        )
        .await;
    body["data"]["login"]["mfaChallenge"].clone()
}

async fn answer(app: &TestApp, challenge: &Value, response: &str) -> Value {
    app.gql(
        None,
        "mutation($c: String!, $w: String) { verifyMfa(input: {challenge: $c, webauthnResponse: $w}) { accessToken } }",
        json!({ "c": challenge["token"], "w": response }),
    )
    .await
}

#[tokio::test]
async fn a_security_key_is_a_second_factor_whose_answers_work_once() {
    let (app, origin) = spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let token = app.login(&alice.email).await.access_token;
    let mut key = SoftPasskey::new(false);
    let registered = register(&app, &token, &mut key, &origin).await;
    let done = &registered["data"]["finishSecurityKeyRegistration"];
    assert_eq!(done["factor"]["kind"], "webauthn", "{registered}");
    assert_eq!(done["factor"]["name"], "YubiKey");
    assert_eq!(done["recoveryCodes"].as_array().unwrap().len(), 10);

    let first = challenge(&app, &alice.email).await;
    assert_eq!(first["methods"], json!(["webauthn", "recovery_code"]));
    let options: RequestChallengeResponse =
        serde_json::from_str(first["webauthnOptions"].as_str().unwrap()).unwrap();
    let assertion = key.do_authentication(origin.clone(), options).unwrap();
    let assertion = serde_json::to_string(&assertion).unwrap();
    let body = answer(&app, &first, &assertion).await;
    let access = body["data"]["verifyMfa"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"));
    let claims = crate::sso::claims(access);
    assert_eq!(claims["amr"], json!(["pwd", "hwk"]));

    // The same assertion again: the challenge is used, and on a new challenge it answers
    // another challenge's bytes.
    assert_eq!(
        error_code(&answer(&app, &first, &assertion).await),
        "UNAUTHENTICATED"
    );
    let second = challenge(&app, &alice.email).await;
    assert_eq!(
        error_code(&answer(&app, &second, &assertion).await),
        "UNAUTHENTICATED"
    );
    // An answer made for another origin, and garbage: refused.
    let options: RequestChallengeResponse =
        serde_json::from_str(second["webauthnOptions"].as_str().unwrap()).unwrap();
    let foreign = {
        use webauthn_authenticator_rs::AuthenticatorBackend;
        let evil = Url::parse("http://localhost:1").unwrap();
        key.perform_auth(evil, options.public_key, 60_000).unwrap()
    };
    let foreign = serde_json::to_string(&foreign).unwrap();
    assert_eq!(
        error_code(&answer(&app, &second, &foreign).await),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        error_code(&answer(&app, &second, "{\"x\":1}").await),
        "UNAUTHENTICATED"
    );

    // Listed by name, and removed (the session checked a factor minutes ago: no step-up).
    let listed = app
        .gql(
            Some(access),
            "{ viewer { mfaFactors { id kind name lastUsedAt } } }",
            json!({}),
        )
        .await;
    let factors = listed["data"]["viewer"]["mfaFactors"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(factors.len(), 1, "{listed}");
    assert!(factors[0]["lastUsedAt"].is_string());
    let removed = app
        .gql(
            Some(access),
            "mutation($id: ID!) { removeSecurityKey(id: $id) }",
            json!({ "id": factors[0]["id"] }),
        )
        .await;
    assert_eq!(removed["data"]["removeSecurityKey"], true, "{removed}");
    let again = challenge(&app, &alice.email).await;
    assert!(again.is_null(), "no factor left, no challenge: {again}");
}

#[tokio::test]
async fn a_registration_answers_once_and_only_for_its_own_ceremony() {
    let (app, origin) = spawn().await;
    let bob = app.create_user("bob@example.com").await;
    let token = app.login(&bob.email).await.access_token;
    let mut key = SoftPasskey::new(false);
    let begun = app
        .gql(
            Some(&token),
            "mutation { beginSecurityKeyRegistration(name: \"Key\") }",
            json!({}),
        )
        .await;
    let options: CreationChallengeResponse = serde_json::from_str(
        begun["data"]["beginSecurityKeyRegistration"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let answer =
        serde_json::to_string(&key.do_registration(origin.clone(), options).unwrap()).unwrap();
    let finish =
        "mutation($r: String!) { finishSecurityKeyRegistration(response: $r) { factor { id } } }";
    let first = app.gql(Some(&token), finish, json!({ "r": answer })).await;
    assert!(first["errors"].is_null(), "{first}");
    let replay = app.gql(Some(&token), finish, json!({ "r": answer })).await;
    assert_eq!(error_code(&replay), "NOT_FOUND", "{replay}");
    // A hostile answer: a megabyte, a NUL, not JSON.
    app.gql(
        Some(&token),
        "mutation { beginSecurityKeyRegistration(name: \"Other\") }",
        json!({}),
    )
    .await;
    for bad in [
        "x".repeat(1 << 20),
        "{\u{0}}".to_owned(),
        "not json".to_owned(),
    ] {
        let body = app.gql(Some(&token), finish, json!({ "r": bad })).await;
        assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");
    }
}

#[tokio::test]
async fn a_real_browser_registers_a_virtual_security_key_and_signs_in_with_it() {
    if let Err(missing) = crate::node::chromium() {
        crate::node::skip_or_fail(&missing);
        return;
    }
    let (app, origin) = spawn().await;
    let carol = app.create_user("carol@example.com").await;
    let token = app.login(&carol.email).await.access_token;
    let page = format!("{origin}healthz");
    let Some(run) = crate::node::run_script(
        "webauthn-in-browser.mjs",
        &[&page, &token, &carol.email, PASSWORD],
    )
    .await
    else {
        return;
    };
    println!("{}", run.output);
    assert!(run.success, "WebAuthn in Chromium:\n{}", run.output);
    let access = run
        .output
        .lines()
        .find_map(|line| line.strip_prefix("signed in "))
        .expect("the access token of the sign-in");
    let viewer = app
        .gql(
            Some(access),
            "{ viewer { user { email mfaEnabled } mfaFactors { kind } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        viewer["data"]["viewer"]["user"]["mfaEnabled"], true,
        "{viewer}"
    );
    assert_eq!(
        viewer["data"]["viewer"]["mfaFactors"][0]["kind"],
        "webauthn"
    );
}
