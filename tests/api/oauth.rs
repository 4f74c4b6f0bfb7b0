//! The client-credentials grant (RFC 6749 §4.4) and the authorization server's metadata (RFC
//! 8414): an API key gets a short-lived JWT that another service verifies offline, here with
//! Node's `jose` as well as with this crate's own JWT library.

use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, org_id};
use crate::node;

struct Fixture {
    app: TestApp,
    org: entity::organization::Model,
    alice: String,
    bob: entity::user::Model,
    /// Bob's key: its id (the client id) and its secret.
    client_id: String,
    secret: String,
    key_node: String,
}

async fn fixture() -> Fixture {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com").await;
    let bob = app.create_user("bob@example.com").await;
    let org = app.create_org(&alice, "Acme").await;
    app.add_member(&bob, &org, "organization_administrator")
        .await;
    let alice_token = app.login("alice@example.com").await.access_token;
    let bob_token = app.login("bob@example.com").await.access_token;
    let body = app
        .gql(
            Some(&bob_token),
            "mutation($o: ID!) { createApiKey(input: {organizationId: $o, name: \"Agent\", grants: [{resource: \"organization\", level: \"read\"}, {resource: \"member\", level: \"manage\"}, {resource: \"list\", level: \"read\"}]}) { secret apiKey { id clientId } } }",
            json!({ "o": org_id(&org) }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let issued = &body["data"]["createApiKey"];
    Fixture {
        client_id: issued["apiKey"]["clientId"].as_str().unwrap().to_owned(),
        secret: issued["secret"].as_str().unwrap().to_owned(),
        key_node: issued["apiKey"]["id"].as_str().unwrap().to_owned(),
        app,
        org,
        alice: alice_token,
        bob,
    }
}

fn basic(id: &str, secret: &str) -> String {
    let pair = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// Posts `form` to the token endpoint, with `authorization` if given.
async fn token(
    app: &TestApp,
    authorization: Option<&str>,
    form: &[(&str, &str)],
) -> (u16, Value, reqwest::header::HeaderMap) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut request = app
        .client
        .post(format!("{}/oauth/token", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, response.json().await.unwrap(), headers)
}

/// The claims of `token`, verified against the server's JWKS with jsonwebtoken.
async fn verified_claims(app: &TestApp, token: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet = app
        .client
        .get(format!("{}/.well-known/jwks.json", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("the kid is published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_issuer(&["charter"]);
    validation.set_audience(&["charter"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("the token verifies")
        .claims
}

#[tokio::test]
async fn client_credentials_give_a_jwt_that_jose_verifies_against_the_jwks() {
    let f = fixture().await;
    // The README's recipe, given a session's access token as well: same keys, issuer and
    // audience, refused by the header's `typ`.
    let Some(run) = node::run_script(
        "verify-client-token.mjs",
        &[&f.app.address, &f.client_id, &f.secret, "charter", &f.alice],
    )
    .await
    else {
        return;
    };
    assert!(run.success, "jose:\n{}", run.output);
    let verified: Value = serde_json::from_str(run.output.trim()).expect(&run.output);
    let claims = &verified["payload"];
    assert_eq!(verified["header"]["alg"], "EdDSA");
    assert_eq!(verified["header"]["typ"], "at+jwt");
    assert_eq!(
        verified["refused"]["code"], "ERR_JWT_CLAIM_VALIDATION_FAILED",
        "{verified}"
    );
    assert_eq!(verified["refused"]["claim"], "typ", "{verified}");
    assert_eq!(claims["sub"], f.bob.id.to_string());
    assert_eq!(claims["org"], f.org.id.to_string());
    assert_eq!(claims["azp"], f.client_id.as_str());
    assert_eq!(claims["iss"], "charter");
    assert_eq!(
        claims["permissions"],
        json!(["organization:read", "member:manage", "list:read"])
    );
    assert_eq!(claims["scope"], "organization:read member:manage list:read");
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(lifetime, 15 * 60, "as short-lived as an access token");
    assert_eq!(verified["expires_in"], 15 * 60);
}

#[tokio::test]
async fn basic_and_form_credentials_both_work_and_the_grants_follow_the_holder() {
    let f = fixture().await;
    let (status, body, headers) = token(
        &f.app,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &f.client_id),
            ("client_secret", &f.secret),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(headers["cache-control"], "no-store");
    let claims = verified_claims(&f.app, body["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["azp"], f.client_id.as_str());

    // A narrower scope is granted; a wider one is refused.
    let auth = basic(&f.client_id, &f.secret);
    let (status, body, _) = token(
        &f.app,
        Some(&auth),
        &[("grant_type", "client_credentials"), ("scope", "list:read")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let claims = verified_claims(&f.app, body["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["permissions"], json!(["list:read"]));
    let (status, body, _) = token(
        &f.app,
        Some(&auth),
        &[("grant_type", "client_credentials"), ("scope", "list:full")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope")),
        "{body}"
    );

    // Bob demoted: the next token carries only what both his role and the key allow.
    let membership =
        charter::services::store::records::membership(f.app.state.database(), f.bob.id, f.org.id)
            .await
            .unwrap()
            .unwrap();
    let reader = charter::graphql::ids::NodeId::Role {
        organization: f.org.id,
        role: f.app.state.policy.role_by_key("read_only_user").unwrap().id,
    };
    let assigned = f
        .app
        .gql(
            Some(&f.alice),
            "mutation($m: ID!, $r: ID!) { assignRole(input: {membershipId: $m, roleId: $r}) { id } }",
            json!({
                "m": charter::graphql::ids::NodeId::Membership(membership.id).to_id().0,
                "r": reader.to_id().0,
            }),
        )
        .await;
    assert!(assigned["errors"].is_null(), "{assigned}");
    let (status, body, _) =
        token(&f.app, Some(&auth), &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, 200, "{body}");
    let claims = verified_claims(&f.app, body["access_token"].as_str().unwrap()).await;
    let granted: Vec<String> = serde_json::from_value(claims["permissions"].clone()).unwrap();
    assert!(
        !granted.contains(&"member:manage".to_owned()),
        "{granted:?}"
    );
    let policy = &f.app.state.policy;
    let role = policy.role_by_key("read_only_user").unwrap();
    for permission in &granted {
        let (resource, level) = permission.split_once(':').unwrap();
        let (index, level) = policy.level_of(resource, level).unwrap();
        assert!(
            role.grants.allows(index, level),
            "{permission} is beyond the role"
        );
    }

    // The token is for other services: Charter itself does not take it as a bearer.
    let body = f
        .app
        .gql(
            Some(body["access_token"].as_str().unwrap()),
            "{ viewer { user { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
}

/// `token`'s header and claims, unverified.
fn parts(token: &str) -> (Value, Value) {
    let decode = |part: &str| -> Value {
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap()
    };
    let mut parts = token.split('.');
    (decode(parts.next().unwrap()), decode(parts.next().unwrap()))
}

#[tokio::test]
async fn session_and_client_tokens_differ_in_their_header_and_neither_passes_for_the_other() {
    let f = fixture().await;
    let (session_header, session_claims) = parts(&f.alice);
    assert_eq!(session_header["typ"], "JWT");
    let (_, body, _) = token(
        &f.app,
        Some(&basic(&f.client_id, &f.secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    let client = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(parts(&client).0["typ"], "at+jwt");
    let viewer = |token: String| {
        let app = &f.app;
        async move {
            app.gql(Some(&token), "{ viewer { user { email } } }", json!({}))
                .await
        }
    };
    let refused = viewer(client).await;
    assert_eq!(error_code(&refused), "UNAUTHENTICATED", "{refused}");

    // A session's claims under a client token's header, signed with Charter's own key: the
    // header alone refuses it. Under a session's header, the same claims pass.
    let keys = f.app.state.tokens.keys();
    let key = keys.current();
    let resign = |typ: &str| {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.typ = Some(typ.to_owned());
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, &session_claims, &key.encoding).unwrap()
    };
    let refused = viewer(resign("at+jwt")).await;
    assert_eq!(error_code(&refused), "UNAUTHENTICATED", "{refused}");
    let accepted = viewer(resign("JWT")).await;
    assert_eq!(
        accepted["data"]["viewer"]["user"]["email"], "alice@example.com",
        "{accepted}"
    );
}

#[tokio::test]
async fn oversized_bodies_and_scopes_are_refused_at_once() {
    let f = fixture().await;
    let auth = basic(&f.client_id, &f.secret);
    let url = format!("{}/oauth/token", f.app.address);
    let megabyte_scope = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("scope", &"list:read ".repeat(100_000))
        .finish();
    let eight_megabytes = format!(
        "grant_type=client_credentials&padding={}",
        "x".repeat(8_000_000)
    );
    for body in [megabyte_scope, eight_megabytes] {
        let started = std::time::Instant::now();
        let response = f
            .app
            .client
            .post(&url)
            .header("authorization", &auth)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 413);
        let refused: Value = response.json().await.unwrap();
        assert_eq!(refused["error"], "invalid_request", "{refused}");
        assert_eq!(
            refused["error_description"],
            "the request body is larger than 16384 bytes"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    // The bound is on the declared length: the answer comes before any of the body.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(f.app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = "POST /oauth/token HTTP/1.1\r\nhost: charter\r\n\
                content-type: application/x-www-form-urlencoded\r\ncontent-length: 8000000\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 1024];
    let read = tokio::time::timeout(std::time::Duration::from_secs(2), stream.read(&mut answer))
        .await
        .expect("an answer without the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // Within the body's bound, a scope longer than 4 KiB or of more than 256 words.
    for (scope, description) in [
        (
            "list:read ".repeat(1_000),
            "scope is longer than 4096 bytes",
        ),
        ("list:read ".repeat(300), "scope names more than 256 words"),
    ] {
        let (status, refused, _) = token(
            &f.app,
            Some(&auth),
            &[("grant_type", "client_credentials"), ("scope", &scope)],
        )
        .await;
        assert_eq!(status, 400, "{refused}");
        assert_eq!(refused["error"], "invalid_scope");
        assert_eq!(refused["error_description"], description);
    }
}

#[tokio::test]
async fn a_scope_with_repeated_words_gives_each_once() {
    let f = fixture().await;
    let (status, body, _) = token(
        &f.app,
        Some(&basic(&f.client_id, &f.secret)),
        &[
            ("grant_type", "client_credentials"),
            (
                "scope",
                "list:read organization:read list:read  list:read organization:read",
            ),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "list:read organization:read");
    let claims = verified_claims(&f.app, body["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["scope"], "list:read organization:read");
    assert_eq!(
        claims["permissions"],
        json!(["list:read", "organization:read"])
    );
}

/// A request to the token endpoint that is refused: what it is, its Authorization header, its
/// form, and the status and `error` it gets.
type Refusal<'a> = (
    &'a str,
    Option<String>,
    Vec<(&'a str, String)>,
    u16,
    &'a str,
);

#[tokio::test]
async fn refusals_are_spelled_as_rfc_6749_says() {
    let f = fixture().await;
    let good = basic(&f.client_id, &f.secret);
    let unknown_secret = charter::auth::api_keys::new_secret().secret;
    let mut typo = f.secret.clone();
    typo.replace_range(10..11, if &typo[10..11] == "x" { "y" } else { "x" });
    let cases: Vec<Refusal> = vec![
        (
            "another grant type",
            Some(good.clone()),
            vec![("grant_type", "password".into())],
            400,
            "unsupported_grant_type",
        ),
        (
            "no grant type",
            Some(good.clone()),
            vec![],
            400,
            "invalid_request",
        ),
        (
            "a wrong secret",
            Some(basic(&f.client_id, &unknown_secret)),
            vec![("grant_type", "client_credentials".into())],
            401,
            "invalid_client",
        ),
        (
            "a mistyped secret",
            Some(basic(&f.client_id, &typo)),
            vec![("grant_type", "client_credentials".into())],
            401,
            "invalid_client",
        ),
        (
            "an unknown client",
            Some(basic(&uuid::Uuid::now_v7().to_string(), &f.secret)),
            vec![("grant_type", "client_credentials".into())],
            401,
            "invalid_client",
        ),
        (
            "a client id that is no id",
            None,
            vec![
                ("grant_type", "client_credentials".into()),
                ("client_id", "x\u{0}".into()),
                ("client_secret", f.secret.clone()),
            ],
            401,
            "invalid_client",
        ),
        (
            "garbled Basic",
            Some("Basic !!!".into()),
            vec![("grant_type", "client_credentials".into())],
            401,
            "invalid_client",
        ),
        (
            "no credentials",
            None,
            vec![("grant_type", "client_credentials".into())],
            401,
            "invalid_client",
        ),
        (
            "two ways at once",
            Some(good.clone()),
            vec![
                ("grant_type", "client_credentials".into()),
                ("client_id", f.client_id.clone()),
            ],
            400,
            "invalid_request",
        ),
        (
            "a repeated parameter",
            Some(good.clone()),
            vec![
                ("grant_type", "client_credentials".into()),
                ("grant_type", "client_credentials".into()),
            ],
            400,
            "invalid_request",
        ),
        (
            "a megabyte secret, over the body's bound",
            None,
            vec![
                ("grant_type", "client_credentials".into()),
                ("client_id", f.client_id.clone()),
                ("client_secret", "A".repeat(1 << 20)),
            ],
            413,
            "invalid_request",
        ),
    ];
    for (what, authorization, form, status, error) in &cases {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (got, body, headers) = token(&f.app, authorization.as_deref(), &form).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (*status, Some(*error)),
            "{what}: {body}"
        );
        assert!(body["access_token"].is_null(), "{what}");
        if *status == 401 && authorization.is_some() {
            assert!(headers.contains_key("www-authenticate"), "{what}");
        }
    }
    let response = f
        .app
        .client
        .post(format!("{}/oauth/token", f.app.address))
        .header("authorization", &good)
        .json(&json!({ "grant_type": "client_credentials" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400, "only forms are read");

    // A revoked key gets the answer of an unknown one.
    let revoked = f
        .app
        .gql(
            Some(&f.secret),
            "mutation($k: ID!) { revokeApiKey(id: $k) { id } }",
            json!({ "k": f.key_node }),
        )
        .await;
    assert!(revoked["errors"].is_null(), "{revoked}");
    let (status, body, _) =
        token(&f.app, Some(&good), &[("grant_type", "client_credentials")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
}

/// The authorization server's metadata of `app`, asked for with `host` as the Host header if
/// given, and its Cache-Control.
async fn fetch_metadata(app: &TestApp, host: Option<&str>) -> (Value, String) {
    let mut request = app.client.get(format!(
        "{}/.well-known/oauth-authorization-server",
        app.address
    ));
    if let Some(host) = host {
        request = request.header("host", host);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let cache = response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_owned();
    (response.json().await.unwrap(), cache)
}

fn assert_endpoints_under(metadata: &Value, base: &str) {
    assert_eq!(metadata["token_endpoint"], format!("{base}/oauth/token"));
    assert_eq!(
        metadata["jwks_uri"],
        format!("{base}/.well-known/jwks.json")
    );
}

#[tokio::test]
async fn the_metadata_names_the_token_endpoint_and_the_jwks() {
    let app = TestApp::spawn().await;
    let (metadata, _) = fetch_metadata(&app, None).await;
    assert_eq!(metadata["issuer"], "charter");
    assert_endpoints_under(&metadata, &app.address);
    assert_eq!(
        metadata["grant_types_supported"],
        json!(["client_credentials"])
    );
    assert!(
        metadata["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("api_key:manage"))
    );

    // With an issuer that is a URL, the endpoints are under it.
    let app =
        TestApp::spawn_with(|settings| settings.issuer = "https://id.example.com/".into()).await;
    let (metadata, _) = fetch_metadata(&app, Some("evil.example")).await;
    assert_eq!(
        metadata["token_endpoint"],
        "https://id.example.com/oauth/token"
    );
}

#[tokio::test]
async fn a_forged_host_never_reaches_the_cached_metadata() {
    // The public URL configured (TestApp's own address), and none: then the listen address,
    // here the unspecified one, whose loopback the test reaches.
    let configured = TestApp::spawn().await;
    let unconfigured = TestApp::spawn_with(|settings| {
        let own = settings.sso.public_url.take().unwrap();
        let port = own.rsplit(':').next().unwrap();
        settings.listen = format!("0.0.0.0:{port}").parse().unwrap();
    })
    .await;
    for app in [&configured, &unconfigured] {
        let (honest, _) = fetch_metadata(app, None).await;
        for host in ["evil.example", "evil.example:443", "[::1]:1"] {
            let (forged, cache) = fetch_metadata(app, Some(host)).await;
            assert_eq!(forged, honest, "Host: {host}");
            assert_eq!(cache, "public, max-age=300");
        }
        assert_endpoints_under(&honest, &app.address);
    }
}
