//! Requests to administrator-given URLs (a single sign-on issuer here): no loopback, private or
//! link-local address is reached, in whatever spelling, unless `outbound_allow` lists it, and
//! every failure gets one answer, so configuring an issuer tells nothing about what listens
//! where.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::{TestApp, org_id};

/// The whole error every failed issuer gets.
fn unreachable() -> Value {
    json!({
        "message": "issuer: is not a reachable OpenID provider",
        "extensions": { "code": "INVALID_INPUT", "field": "issuer" },
    })
}

/// A server whose owner may configure single sign-on, with `configure` applied to its
/// settings after insecure (`http://`) issuers are allowed.
struct Admin {
    app: TestApp,
    token: String,
    organization: String,
}

impl Admin {
    async fn start(configure: impl FnOnce(&mut charter::config::Settings)) -> Self {
        let app = TestApp::spawn_with(|settings| {
            settings.sso.allow_insecure_issuers = true;
            configure(settings);
        })
        .await;
        let owner = app.create_user("owner@acme.test").await;
        let org = app.create_org(&owner, "Acme").await;
        let token = app.login(&owner.email).await.access_token;
        Self {
            app,
            token,
            organization: org_id(&org),
        }
    }

    /// `configureSso` with `issuer`: its first error without the path, or `null` when it
    /// succeeded, and how long it took.
    async fn configure(&self, issuer: &str) -> (Value, Duration) {
        let started = Instant::now();
        let body = self
            .app
            .gql(
                Some(&self.token),
                "mutation($i: ConfigureSsoInput!) { configureSso(input: $i) { issuer } }",
                json!({ "i": {
                    "organizationId": self.organization,
                    "issuer": issuer,
                    "clientId": "charter",
                    "clientSecret": "a-secret",
                } }),
            )
            .await;
        let took = started.elapsed();
        let error = &body["errors"][0];
        if error.is_null() {
            assert_eq!(body["data"]["configureSso"]["issuer"], issuer, "{body}");
            return (Value::Null, took);
        }
        (
            json!({ "message": error["message"], "extensions": error["extensions"] }),
            took,
        )
    }
}

/// A TCP listener that counts the connections it accepts and never answers them.
struct Silent {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

impl Silent {
    async fn bind(address: &str) -> Option<Self> {
        let listener = tokio::net::TcpListener::bind(address).await.ok()?;
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                held.push(stream);
            }
        });
        Some(Self { port, accepted })
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn loopback_private_and_metadata_addresses_are_refused_before_connecting() {
    let admin = Admin::start(|settings| {
        settings.outbound.timeout = Duration::from_secs(3);
    })
    .await;
    let v4 = Silent::bind("127.0.0.1:0").await.expect("a loopback port");
    let port = v4.port;
    // The same port on IPv6 loopback where the machine has one.
    let v6 = Silent::bind(&format!("[::1]:{port}")).await;
    for issuer in [
        format!("http://127.1:{port}"),
        format!("http://2130706433:{port}"),
        format!("http://0x7f000001:{port}"),
        format!("http://0177.0.0.1:{port}"),
        format!("http://localhost:{port}"),
        format!("http://[::1]:{port}"),
        format!("http://[::ffff:127.0.0.1]:{port}"),
        format!("http://127.0.0.1:{port}"),
        format!("https://127.0.0.1:{port}"),
        "http://169.254.169.254".to_owned(),
        "http://[::ffff:169.254.169.254]".to_owned(),
        "http://10.0.0.1".to_owned(),
        "http://192.168.0.1".to_owned(),
        "http://0.0.0.0".to_owned(),
    ] {
        let (error, took) = admin.configure(&issuer).await;
        assert_eq!(error, unreachable(), "{issuer}");
        // Refused at once: no connection was tried (the timeout is 3 seconds).
        assert!(took < Duration::from_secs(1), "{issuer} took {took:?}");
    }
    assert_eq!(v4.accepted(), 0, "a connection reached loopback");
    assert_eq!(
        v6.map_or(0, |v6| v6.accepted()),
        0,
        "a connection reached ::1"
    );
}

#[tokio::test]
async fn closed_silent_plain_and_foreign_servers_on_allowed_addresses_get_the_same_answer() {
    let admin = Admin::start(|settings| {
        settings.outbound.allow = vec!["127.0.0.0/8".parse().unwrap()];
        settings.outbound.timeout = Duration::from_secs(1);
    })
    .await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let silent = Silent::bind("127.0.0.1:0").await.unwrap();
    // Charter itself: an HTTP server that is no OpenID provider.
    let plain = admin.app.address.clone();
    let plain_port = plain.rsplit(':').next().unwrap().to_owned();
    let started = Instant::now();
    for issuer in [
        format!("http://127.0.0.1:{closed}"),
        format!("http://127.0.0.1:{}", silent.port),
        plain.clone(),
        format!("{plain}/graphql"),
        // TLS spoken to a plain HTTP server.
        format!("https://127.0.0.1:{plain_port}"),
    ] {
        let (error, _) = admin.configure(&issuer).await;
        assert_eq!(error, unreachable(), "{issuer}");
    }
    // The silent server was reached (the allow-list let it) and outwaited.
    assert_eq!(silent.accepted(), 1);
    assert!(started.elapsed() < Duration::from_secs(8));
}

/// An OpenID discovery document on loopback whose `jwks_uri` is what the test sets, and a key
/// set beside it that counts its readers.
struct Discovery {
    issuer: String,
    jwks_uri: Arc<Mutex<String>>,
    jwks_reads: Arc<AtomicUsize>,
}

impl Discovery {
    async fn start() -> Self {
        use axum::routing::get;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let jwks_uri = Arc::new(Mutex::new(format!("{issuer}/jwks")));
        let jwks_reads = Arc::new(AtomicUsize::new(0));
        let document = {
            let (issuer, jwks_uri) = (issuer.clone(), jwks_uri.clone());
            move || {
                let jwks_uri = jwks_uri.lock().unwrap().clone();
                async move {
                    axum::Json(json!({
                        "issuer": issuer,
                        "authorization_endpoint": format!("{issuer}/authorize"),
                        "token_endpoint": format!("{issuer}/token"),
                        "jwks_uri": jwks_uri,
                        "response_types_supported": ["code"],
                        "subject_types_supported": ["public"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                    }))
                }
            }
        };
        let keys = {
            let reads = jwks_reads.clone();
            move || {
                reads.fetch_add(1, Ordering::SeqCst);
                let n = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0xab; 256]);
                async move {
                    axum::Json(json!({ "keys": [
                        { "kty": "RSA", "use": "sig", "alg": "RS256", "kid": "k1", "n": n, "e": "AQAB" }
                    ] }))
                }
            }
        };
        let router = axum::Router::new()
            .route("/.well-known/openid-configuration", get(document))
            .route("/jwks", get(keys));
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            issuer,
            jwks_uri,
            jwks_reads,
        }
    }
}

#[tokio::test]
async fn a_key_set_outside_the_allow_list_is_never_fetched() {
    let discovery = Discovery::start().await;
    let internal = Silent::bind("127.0.0.2:0")
        .await
        .expect("127.0.0.2 is loopback");
    let admin = Admin::start(|settings| {
        settings.outbound.allow = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    for jwks_uri in [
        format!("http://127.0.0.2:{}/jwks", internal.port),
        format!("http://[::ffff:127.0.0.2]:{}/jwks", internal.port),
    ] {
        *discovery.jwks_uri.lock().unwrap() = jwks_uri.clone();
        let (error, _) = admin.configure(&discovery.issuer).await;
        assert_eq!(error, unreachable(), "{jwks_uri}");
    }
    assert_eq!(internal.accepted(), 0, "the internal key set was requested");
    assert_eq!(discovery.jwks_reads.load(Ordering::SeqCst), 0);

    // The same provider with its key set on the allowed address is configured.
    *discovery.jwks_uri.lock().unwrap() = format!("{}/jwks", discovery.issuer);
    let (error, _) = admin.configure(&discovery.issuer).await;
    assert_eq!(error, Value::Null);
    assert_eq!(discovery.jwks_reads.load(Ordering::SeqCst), 1);
}
