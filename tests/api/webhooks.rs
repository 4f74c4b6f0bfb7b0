//! Webhook deliveries as a receiver verifies them: the Standard Webhooks reference library for
//! the shared-secret signatures, the published JWKS for the Ed25519 one.

use charter::webhooks::signature::{Secret, headers};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::node;

#[tokio::test]
async fn a_delivery_verifies_with_the_reference_library_and_the_published_keys() {
    let app = TestApp::spawn().await;
    // Mid-rotation an endpoint signs with both secrets; a secret it does not hold verifies
    // nothing.
    let (current, previous, stranger) =
        (Secret::generate(), Secret::generate(), Secret::generate());
    let body = json!({
        "id": "0193a1b2-0000-7000-8000-000000000001",
        "type": "member.role_changed",
        "data": { "email": "bob@example.com", "émoji": "🔑" },
    })
    .to_string();
    let signed = headers(
        "msg_0193a1b2-0000-7000-8000-000000000001",
        chrono::Utc::now(),
        body.as_bytes(),
        &[current.clone(), previous.clone()],
        app.state.tokens.keys().current(),
    );
    assert_eq!(
        signed.signature.split(' ').count(),
        3,
        "{}",
        signed.signature
    );
    let delivery = json!({
        "secrets": [current.expose(), previous.expose(), stranger.expose()],
        "headers": {
            "webhook-id": signed.id,
            "webhook-timestamp": signed.timestamp.to_string(),
            "webhook-signature": signed.signature,
            "webhook-key-id": signed.key_id,
        },
        "body": body,
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("delivery.json");
    std::fs::write(&file, delivery.to_string()).unwrap();
    let Some(run) = node::run_script(
        "verify-webhook.mjs",
        &[&app.address, file.to_str().unwrap()],
    )
    .await
    else {
        return;
    };
    assert!(run.success, "verify-webhook.mjs:\n{}", run.output);
    let verified: Value = serde_json::from_str(run.output.trim()).expect(&run.output);
    assert_eq!(
        verified["v1"],
        json!([true, true, "No matching signature found"]),
        "{verified}"
    );
    assert_eq!(verified["v1a"], true, "{verified}");
    // One byte of the body changed: nothing verifies.
    assert!(
        verified["tampered"]["v1"]
            .as_array()
            .unwrap()
            .iter()
            .all(|answer| answer != &json!(true)),
        "{verified}"
    );
    assert_ne!(verified["tampered"]["v1a"], true, "{verified}");
}

/// The receiver of `tests/js/webhook-receiver.mjs`, on loopback: it verifies every request
/// with the reference library and the live JWKS, and answers as the test scripts it.
pub(crate) struct Receiver {
    child: std::process::Child,
    base: String,
    client: reqwest::Client,
}

impl Receiver {
    /// Starts a receiver that checks `v1a` signatures against `charter`'s keys; `None` (after
    /// saying why) when node is missing outside CI.
    pub(crate) async fn start(charter: &str) -> Option<Self> {
        if let Err(missing) = node::node_tools() {
            node::skip_or_fail(&missing);
            return None;
        }
        let charter = charter.to_owned();
        let (child, port) = tokio::task::spawn_blocking(move || {
            use std::io::BufRead;
            node::install_packages().expect("tests/js packages");
            let mut child = std::process::Command::new("node")
                .arg(node::js_dir().join("webhook-receiver.mjs"))
                .arg(&charter)
                .current_dir(node::js_dir())
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("node starts");
            let mut line = String::new();
            std::io::BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .expect("the receiver prints its port");
            let port = serde_json::from_str::<Value>(&line).expect(&line)["port"]
                .as_u64()
                .expect("a port");
            (child, port)
        })
        .await
        .unwrap();
        Some(Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
        })
    }

    pub(crate) fn hook(&self) -> String {
        format!("{}/hook", self.base)
    }

    pub(crate) async fn script(&self, script: Value) {
        let response = self
            .client
            .post(format!("{}/control", self.base))
            .json(&script)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }

    pub(crate) async fn received(&self) -> Vec<Value> {
        self.client
            .get(format!("{}/received", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits (at most `seconds`) until `done` holds for what was received.
    async fn wait_for(&self, seconds: u64, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
        loop {
            let received = self.received().await;
            if done(&received) || std::time::Instant::now() > deadline {
                return received;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server whose deliveries may reach loopback over plain HTTP (the receiver's), with an
/// attempt timeout of `timeout` seconds.
async fn app_reaching_loopback(timeout: u64) -> TestApp {
    TestApp::spawn_with(|settings| {
        settings.webhooks.allow_http = true;
        settings.webhooks.timeout = std::time::Duration::from_secs(timeout);
        settings.outbound.allow = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await
}

/// An organization owned by a signed-in owner.
async fn owned_org(app: &TestApp, email: &str) -> (String, String, uuid::Uuid) {
    let owner = app.create_user(email).await;
    let org = app.create_org(&owner, "Acme").await;
    let session = app.login(email).await;
    (crate::helpers::org_id(&org), session.access_token, org.id)
}

const CREATE: &str = "mutation($input: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $input) { secret endpoint { id url events enabled } } }";

/// Creates an endpoint for `url` with `events`; returns its id and secret.
pub(crate) async fn endpoint(
    app: &TestApp,
    token: &str,
    org: &str,
    url: &str,
    events: &[&str],
) -> (String, String) {
    let body = app
        .gql(
            Some(token),
            CREATE,
            json!({ "input": { "organizationId": org, "url": url, "events": events } }),
        )
        .await;
    let issued = &body["data"]["createWebhookEndpoint"];
    assert!(
        issued["secret"]
            .as_str()
            .is_some_and(|s| s.starts_with("whsec_")),
        "{body}"
    );
    (
        issued["endpoint"]["id"].as_str().unwrap().to_owned(),
        issued["secret"].as_str().unwrap().to_owned(),
    )
}

async fn rename(app: &TestApp, token: &str, org: &str, name: &str) {
    let body = app
        .gql(
            Some(token),
            "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { name } }",
            json!({ "input": { "organizationId": org, "name": name } }),
        )
        .await;
    assert_eq!(body["data"]["updateOrganization"]["name"], name, "{body}");
}

async fn create_list(app: &TestApp, token: &str, org: &str, name: &str) {
    let body = app
        .gql(
            Some(token),
            "mutation($input: CreateListInput!) { createList(input: $input) { id } }",
            json!({ "input": { "organizationId": org, "name": name, "kind": "IP" } }),
        )
        .await;
    assert!(body["data"]["createList"]["id"].is_string(), "{body}");
}

pub(crate) async fn deliver(app: &TestApp) -> usize {
    charter::services::webhooks::worker::deliver_due(&app.state)
        .await
        .expect("delivery runs")
}

#[tokio::test]
async fn a_change_delivers_exactly_what_the_filter_selects_and_a_rollback_nothing() {
    let app = app_reaching_loopback(15).await;
    let Some(receiver) = Receiver::start(&app.address).await else {
        return;
    };
    let (org, token, organization) = owned_org(&app, "owner@example.com").await;
    let (_, secret) = endpoint(&app, &token, &org, &receiver.hook(), &["organization.*"]).await;
    receiver.script(json!({ "secrets": [secret] })).await;

    // A change recorded and then rolled back leaves no event, so nothing is delivered.
    {
        use charter::services::audit::{self, Action, Actor, Event, Scope};
        use sea_orm::TransactionTrait;
        let txn = app.state.database().begin().await.unwrap();
        let event = Event::new(
            Scope::Organization(organization),
            Action::OrganizationUpdated,
            "a change that never commits",
        );
        audit::record(&txn, &Actor::command_line(), event)
            .await
            .unwrap();
        txn.rollback().await.unwrap();
    }
    assert_eq!(deliver(&app).await, 0);

    rename(&app, &token, &org, "Acme Renamed").await;
    create_list(&app, &token, &org, "blocked").await;
    assert_eq!(deliver(&app).await, 1);
    let received = receiver.received().await;
    assert_eq!(received.len(), 1, "{received:?}");
    let delivery = &received[0];
    assert_eq!(delivery["type"], "organization.updated");
    assert_eq!(delivery["v1"], true, "{delivery}");
    assert_eq!(delivery["v1a"], true, "{delivery}");
    assert_eq!(delivery["contentType"], "application/json");
    let body: Value = serde_json::from_str(delivery["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["id"].as_str(), delivery["id"].as_str());
    assert_eq!(body["actor"]["email"], "owner@example.com");
    assert_eq!(body["data"]["after"]["name"], "Acme Renamed", "{body}");
    assert!(!body.to_string().contains("whsec_"));
    // Nothing more is due: one delivery per event, at least once, not again.
    assert_eq!(deliver(&app).await, 0);
}

/// The delivery rows of the test's database, newest first.
async fn deliveries(app: &TestApp) -> Vec<entity::webhook_delivery::Model> {
    use sea_orm::{EntityTrait, QueryOrder};
    entity::webhook_delivery::Entity::find()
        .order_by_desc(entity::webhook_delivery::Column::Id)
        .all(app.state.database())
        .await
        .unwrap()
}

#[tokio::test]
async fn failures_back_off_a_recovered_receiver_gets_everything_and_410_disables() {
    let app = app_reaching_loopback(15).await;
    let Some(receiver) = Receiver::start(&app.address).await else {
        return;
    };
    let (org, token, _) = owned_org(&app, "owner@example.com").await;
    let (endpoint_id, secret) =
        endpoint(&app, &token, &org, &receiver.hook(), &["organization.*"]).await;
    receiver
        .script(json!({ "secrets": [secret], "status": 500 }))
        .await;
    rename(&app, &token, &org, "One").await;
    rename(&app, &token, &org, "Two").await;
    let clock = &app.state.webhooks.clock;
    // Each failure waits longer than the one before: 5 s, 5 min, 30 min (±10 %).
    let mut waits = Vec::new();
    for _ in 0..4 {
        assert_eq!(deliver(&app).await, 2);
        let pending = deliveries(&app).await;
        let next = pending[0].next_attempt_at.expect("another attempt is due");
        let last = pending[0].last_attempt_at.unwrap();
        waits.push((next - last).num_seconds());
        assert_eq!(pending[0].last_status_code, Some(500));
        // Not yet due: nothing is sent.
        assert_eq!(deliver(&app).await, 0);
        // Past the latest of the two (each has its own jitter).
        let latest = pending
            .iter()
            .filter_map(|d| d.next_attempt_at)
            .max()
            .unwrap();
        clock.advance(latest - clock.now() + chrono::Duration::seconds(1));
    }
    assert!((4..=6).contains(&waits[0]), "{waits:?}");
    assert!((270..=330).contains(&waits[1]), "{waits:?}");
    assert!((1620..=1980).contains(&waits[2]), "{waits:?}");
    assert!((6480..=7920).contains(&waits[3]), "{waits:?}");
    // The receiver is back: every event arrives, verified, each under its one id.
    receiver.script(json!({ "status": 204 })).await;
    assert_eq!(deliver(&app).await, 2);
    let received = receiver.received().await;
    assert_eq!(received.len(), 10, "{received:?}");
    assert!(received.iter().all(|r| r["v1"] == true && r["v1a"] == true));
    let ids: std::collections::BTreeSet<&str> =
        received.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2, "retries keep their webhook-id");
    let page = app
        .gql(
            Some(&token),
            "query($id: ID!) { organization(id: $id) { webhookEndpoints { enabled failingSince
                deliveries(first: 5) { totalCount edges { node { status attemptCount lastStatusCode
                attempts { statusCode error durationMs } } } } } } }",
            json!({ "id": org }),
        )
        .await;
    let endpoint = &page["data"]["organization"]["webhookEndpoints"][0];
    assert_eq!(endpoint["failingSince"], Value::Null, "{page}");
    assert_eq!(endpoint["deliveries"]["totalCount"], 2, "{page}");
    let node = &endpoint["deliveries"]["edges"][0]["node"];
    assert_eq!(node["status"], "DELIVERED", "{page}");
    assert_eq!(node["attemptCount"], 5, "{page}");
    assert_eq!(node["attempts"][0]["statusCode"], 204, "{page}");
    assert_eq!(node["attempts"][1]["error"], "HTTP 500", "{page}");

    // 410 Gone: the endpoint is disabled, the log says why, and nothing more is sent.
    receiver.script(json!({ "status": 410 })).await;
    rename(&app, &token, &org, "Three").await;
    assert_eq!(deliver(&app).await, 1);
    rename(&app, &token, &org, "Four").await;
    assert_eq!(deliver(&app).await, 0);
    let after = app
        .gql(
            Some(&token),
            "query($id: ID!) { organization(id: $id) { webhookEndpoints { enabled disabledReason }
                auditLog(first: 5, action: \"webhook.disabled\") { edges { node { action description } } } } }",
            json!({ "id": org }),
        )
        .await;
    let organization = &after["data"]["organization"];
    assert_eq!(
        organization["webhookEndpoints"][0]["enabled"], false,
        "{after}"
    );
    assert!(
        organization["webhookEndpoints"][0]["disabledReason"]
            .as_str()
            .is_some_and(|reason| reason.contains("410")),
        "{after}"
    );
    assert_eq!(
        organization["auditLog"]["edges"][0]["node"]["action"], "webhook.disabled",
        "{after}"
    );
    let _ = endpoint_id;
}

#[tokio::test]
async fn five_days_of_failures_disable_an_endpoint_and_a_slow_receiver_times_out() {
    let app = app_reaching_loopback(1).await;
    let Some(receiver) = Receiver::start(&app.address).await else {
        return;
    };
    let (org, token, _) = owned_org(&app, "owner@example.com").await;
    let (_, secret) = endpoint(
        &app,
        &token,
        &org,
        &receiver.hook(),
        &["organization.updated"],
    )
    .await;
    receiver
        .script(json!({ "secrets": [secret], "delayMs": 3000 }))
        .await;
    rename(&app, &token, &org, "Slow").await;
    assert_eq!(deliver(&app).await, 1);
    let slow = &deliveries(&app).await[0];
    assert_eq!(slow.last_error.as_deref(), Some("timed out"));
    assert_eq!(slow.last_status_code, None);
    receiver
        .script(json!({ "delayMs": 0, "status": 503, "retryAfter": "120" }))
        .await;
    let clock = &app.state.webhooks.clock;
    clock.advance(chrono::Duration::seconds(10));
    assert_eq!(deliver(&app).await, 1);
    // 503 with Retry-After: the receiver's wait, not the schedule's 5 minutes.
    let asked = &deliveries(&app).await[0];
    let wait = asked.next_attempt_at.unwrap() - asked.last_attempt_at.unwrap();
    assert_eq!(wait.num_seconds(), 120);
    receiver
        .script(json!({ "status": 500, "retryAfter": null }))
        .await;
    // Failing on: after five days of failures in a row, the endpoint is disabled.
    for _ in 0..12 {
        clock.advance(chrono::Duration::hours(11));
        rename(
            &app,
            &token,
            &org,
            &format!("Day {}", uuid::Uuid::new_v4().simple()),
        )
        .await;
        deliver(&app).await;
    }
    let after = app
        .gql(
            Some(&token),
            "query($id: ID!) { organization(id: $id) { webhookEndpoints { enabled disabledReason } } }",
            json!({ "id": org }),
        )
        .await;
    let endpoint = &after["data"]["organization"]["webhookEndpoints"][0];
    assert_eq!(endpoint["enabled"], false, "{after}");
    assert!(
        endpoint["disabledReason"]
            .as_str()
            .unwrap()
            .contains("5 days"),
        "{after}"
    );
    let pending = deliveries(&app).await;
    assert!(
        pending.iter().all(|d| d.status != "pending"),
        "nothing is left pending"
    );
}

#[tokio::test]
async fn bad_urls_private_addresses_unknown_events_and_foreign_ids_are_refused() {
    let app = TestApp::spawn().await;
    let (org, token, _) = owned_org(&app, "owner@example.com").await;
    let refused = |url: String, events: Vec<&'static str>, field: &'static str| {
        let app = &app;
        let token = token.clone();
        let org = org.clone();
        async move {
            let body = app
                .gql(
                    Some(&token),
                    CREATE,
                    json!({ "input": { "organizationId": org, "url": url, "events": events } }),
                )
                .await;
            assert_eq!(
                crate::helpers::error_code(&body),
                "INVALID_INPUT",
                "{url}: {body}"
            );
            let message = body["errors"][0]["message"].as_str().unwrap();
            assert!(message.starts_with(field), "{url}: {message}");
            assert!(!message.contains('\0'));
        }
    };
    for url in [
        "http://hooks.example.com/",
        "https://10.0.0.1/hook",
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://localhost/hook",
        "https://user:pass@hooks.example.com/",
        "https://hooks.example.com/\0",
        "not a url",
    ] {
        refused(url.to_owned(), vec!["*"], "url").await;
    }
    refused(
        format!("https://hooks.example.com/{}", "a".repeat(1 << 20)),
        vec!["*"],
        "url",
    )
    .await;
    refused(
        "https://93.184.216.34/hook".to_owned(),
        vec!["member.exploded"],
        "events",
    )
    .await;
    refused("https://93.184.216.34/hook".to_owned(), vec![], "events").await;
    let description = app
        .gql(
            Some(&token),
            CREATE,
            json!({ "input": { "organizationId": org, "url": "https://93.184.216.34/hook",
                "events": ["*"], "description": "d".repeat(1 << 20) } }),
        )
        .await;
    assert_eq!(
        crate::helpers::error_code(&description),
        "INVALID_INPUT",
        "{description}"
    );
    // Nothing was written by any of these.
    use sea_orm::{EntityTrait, PaginatorTrait};
    let written = entity::webhook_endpoint::Entity::find()
        .count(app.state.database())
        .await
        .unwrap();
    assert_eq!(written, 0);

    // Another organization's endpoint answers like a missing one.
    let (id, _) = endpoint(&app, &token, &org, "https://93.184.216.34/hook", &["*"]).await;
    let (_, stranger, _) = owned_org(&app, "stranger@example.com").await;
    for mutation in [
        "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }",
        "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }",
        "mutation($id: ID!) { sendTestWebhook(endpointId: $id) { id } }",
    ] {
        let body = app
            .gql(Some(&stranger), mutation, json!({ "id": id }))
            .await;
        assert_eq!(crate::helpers::error_code(&body), "NOT_FOUND", "{body}");
        let missing = app
            .gql(
                Some(&stranger),
                mutation,
                json!({ "id": charter::graphql::ids::NodeId::WebhookEndpoint(uuid::Uuid::now_v7()).to_id().0 }),
            )
            .await;
        assert_eq!(
            body["errors"][0]["message"],
            missing["errors"][0]["message"]
        );
    }
}

/// `charter serve` on `app`'s database and keys, delivering to loopback: another process of
/// the same deployment.
fn serve_beside(app: &TestApp, port: u16) -> std::process::Child {
    let data_dir = &app.state.settings.data_dir;
    let config = data_dir.join(format!("beside-{port}.toml"));
    std::fs::write(
        &config,
        "webhook_allow_http = true\noutbound_allow = [\"127.0.0.1/32\"]\n\
         webhook_poll_milliseconds = 100\nwebhook_timeout_seconds = 2\nshutdown_grace_seconds = 1\n",
    )
    .unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_charter"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--config")
        .arg(&config)
        .env(
            "DATABASE_URL",
            app.state.settings.database_url.clone().unwrap_or_default(),
        )
        .env("CHARTER_LOG", "warn")
        .env_remove("CHARTER_POLICY")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("charter starts")
}

#[tokio::test]
async fn two_processes_deliver_each_attempt_once_and_one_takes_over_after_kill_9() {
    if std::env::var("DATABASE_URL").is_err() {
        // Several delivering processes need PostgreSQL; on SQLite one process delivers.
        return;
    }
    let app = app_reaching_loopback(2).await;
    let Some(receiver) = Receiver::start(&app.address).await else {
        return;
    };
    let (org, token, _) = owned_org(&app, "owner@example.com").await;
    let (_, secret) = endpoint(&app, &token, &org, &receiver.hook(), &["organization.*"]).await;
    receiver.script(json!({ "secrets": [secret] })).await;
    let ports = [crate::faults::free_port(), crate::faults::free_port()];
    let mut first = serve_beside(&app, ports[0]);
    let mut second = serve_beside(&app, ports[1]);
    crate::faults::ready(&mut first, ports[0]).await.unwrap();
    crate::faults::ready(&mut second, ports[1]).await.unwrap();
    for n in 0..30 {
        rename(&app, &token, &org, &format!("Acme {n}")).await;
    }
    let received = receiver.wait_for(60, |got| got.len() >= 30).await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let received_after = receiver.received().await;
    assert_eq!(received.len(), 30, "every event arrives");
    assert_eq!(
        received_after.len(),
        30,
        "and none twice: {received_after:?}"
    );
    let ids: std::collections::BTreeSet<&str> = received_after
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 30);
    assert!(
        received_after
            .iter()
            .all(|r| r["v1"] == true && r["v1a"] == true)
    );

    // One process left, and the receiver stalls: the delivery it holds dies with it.
    let _ = second.kill();
    let _ = second.wait();
    receiver.script(json!({ "delayMs": 60_000 })).await;
    rename(&app, &token, &org, "Held").await;
    let held = receiver.wait_for(30, |got| got.len() > 30).await;
    assert_eq!(held.len(), 31, "the first process sends it");
    let status = std::process::Command::new("kill")
        .args(["-9", &first.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let _ = first.wait();
    receiver.script(json!({ "delayMs": 0 })).await;
    // Another process takes it once the dead one's lease ends (2 × 2 s + 5 s).
    let mut third = serve_beside(&app, ports[1]);
    crate::faults::ready(&mut third, ports[1]).await.unwrap();
    let retaken = receiver.wait_for(60, |got| got.len() > 31).await;
    // The receiver saw the request before the process read its answer: wait for the record.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let delivered = loop {
        let newest = deliveries(&app).await.remove(0);
        if newest.status != "pending" || std::time::Instant::now() > deadline {
            break newest;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let _ = third.kill();
    let _ = third.wait();
    assert_eq!(retaken.len(), 32, "{retaken:?}");
    assert_eq!(
        retaken[31]["id"], retaken[30]["id"],
        "the same message, again"
    );
    assert_eq!(retaken[31]["v1"], true);
    assert_eq!(delivered.status, "delivered");
}

#[tokio::test]
async fn checkpoints_verify_offline_and_a_rewritten_history_does_not() {
    let app = app_reaching_loopback(15).await;
    let Some(receiver) = Receiver::start(&app.address).await else {
        return;
    };
    let (org, token, organization) = owned_org(&app, "owner@example.com").await;
    let (_, secret) = endpoint(&app, &token, &org, &receiver.hook(), &["audit.checkpoint"]).await;
    receiver.script(json!({ "secrets": [secret] })).await;
    rename(&app, &token, &org, "Before").await;
    deliver(&app).await;
    app.state.webhooks.clock.advance(chrono::Duration::hours(2));
    rename(&app, &token, &org, "After").await;
    deliver(&app).await;
    let received = receiver.received().await;
    assert_eq!(received.len(), 2, "{received:?}");
    assert!(
        received
            .iter()
            .all(|r| r["type"] == "audit.checkpoint" && r["v1a"] == true)
    );
    let listed = app
        .gql(
            Some(&token),
            "query($o: ID!) { organization(id: $o) { auditCheckpoints { totalCount nodes { seq keyId } } } }",
            json!({ "o": org }),
        )
        .await;
    assert_eq!(
        listed["data"]["organization"]["auditCheckpoints"]["totalCount"], 2,
        "{listed}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("checkpoints.jsonl");
    let lines: Vec<&str> = received
        .iter()
        .map(|r| r["body"].as_str().unwrap())
        .collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let verify = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_charter"))
            .arg("--data-dir")
            .arg(&app.state.settings.data_dir)
            .args(["audit", "verify", "--checkpoints"])
            .arg(&file)
            .env(
                "DATABASE_URL",
                app.state.settings.database_url.clone().unwrap_or_default(),
            )
            .env_remove("CHARTER_CONFIG")
            .env_remove("CHARTER_POLICY")
            .output()
            .unwrap()
    };
    let output = verify();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout)
            .matches("ok: organization")
            .count(),
        2
    );

    // An operator rewrites an event and rehashes the whole chain: the chain alone verifies,
    // but not against what the subscriber was sent.
    rewrite_history(&app, organization).await;
    let output = verify();
    assert!(!output.status.success(), "{output:?}");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("no longer has the hash that was signed"),
        "{said}"
    );
}

/// Changes the description of the organization's first event and recomputes every hash after
/// it, as someone with the database and the code would.
async fn rewrite_history(app: &TestApp, organization: uuid::Uuid) {
    use entity::{audit_event, audit_head};
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
    let chain = charter::services::audit::Scope::Organization(organization).chain();
    let db = app.state.database();
    let events = audit_event::Entity::find()
        .filter(audit_event::Column::Chain.eq(&chain))
        .order_by_asc(audit_event::Column::Seq)
        .all(db)
        .await
        .unwrap();
    let mut prev = charter::services::audit::GENESIS.to_owned();
    for (index, mut event) in events.into_iter().enumerate() {
        if index == 0 {
            event.description = "nothing happened here".to_owned();
        }
        event.prev_hash = prev.clone();
        event.hash = charter::services::audit::hash_of(&event);
        prev = event.hash.clone();
        let mut active: audit_event::ActiveModel = event.clone().into();
        active.description = Set(event.description.clone());
        active.prev_hash = Set(event.prev_hash.clone());
        active.hash = Set(event.hash.clone());
        active.reset_all().update(db).await.unwrap();
    }
    audit_head::Entity::update_many()
        .col_expr(
            audit_head::Column::Hash,
            sea_orm::sea_query::Expr::value(prev),
        )
        .filter(audit_head::Column::Chain.eq(&chain))
        .exec(db)
        .await
        .unwrap();
}

#[tokio::test]
async fn sigterm_releases_a_delivery_under_way_for_the_next_process_at_once() {
    let app = app_reaching_loopback(2).await;
    let Some(receiver) = Receiver::start(&app.address).await else {
        return;
    };
    let (org, token, _) = owned_org(&app, "owner@example.com").await;
    let (_, secret) = endpoint(&app, &token, &org, &receiver.hook(), &["organization.*"]).await;
    receiver
        .script(json!({ "secrets": [secret], "delayMs": 60_000 }))
        .await;
    let port = crate::faults::free_port();
    let mut first = serve_beside(&app, port);
    crate::faults::ready(&mut first, port).await.unwrap();
    rename(&app, &token, &org, "Interrupted").await;
    assert_eq!(receiver.wait_for(30, |got| !got.is_empty()).await.len(), 1);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &first.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let stopping = std::time::Instant::now();
    let exited = loop {
        if let Some(status) = first.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopping.elapsed() < std::time::Duration::from_secs(15),
            "the process outlived its grace"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(exited.success(), "{exited:?}");
    // The attempt did not finish within the 1 s grace: released, not counted.
    let released = &deliveries(&app).await[0];
    assert_eq!(released.status, "pending");
    assert_eq!(released.lease_owner, None);
    assert_eq!(released.attempts, 0);
    // The next process sends it at once, without waiting out a lease (2 × 2 s + 5 s).
    receiver.script(json!({ "delayMs": 0 })).await;
    let mut second = serve_beside(&app, port);
    crate::faults::ready(&mut second, port).await.unwrap();
    let started = std::time::Instant::now();
    let again = receiver.wait_for(20, |got| got.len() >= 2).await;
    let waited = started.elapsed();
    let _ = second.kill();
    let _ = second.wait();
    assert_eq!(again.len(), 2, "{again:?}");
    assert_eq!(again[1]["id"], again[0]["id"]);
    assert!(waited < std::time::Duration::from_secs(5), "{waited:?}");
}

/// A checkpoint being signed while a change of the same organization is under way: the change
/// holds the organization's row and then wants its chain's head. The signer takes the rows in
/// the same order (organization first), so one waits for the other; taken the other way round
/// (head, then the organization for the checkpoint's foreign key), PostgreSQL would find a
/// deadlock and abort one of them. On SQLite, writers take turns on the whole database.
#[tokio::test]
async fn a_checkpoint_and_a_change_of_the_same_organization_wait_for_each_other() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let app = TestApp::spawn_with(|settings| {
        settings.webhooks.checkpoint_every = std::time::Duration::ZERO;
    })
    .await;
    let owner = app.create_user("owner@example.com").await;
    let org = app.create_org(&owner, "Acme").await;
    let db = app.state.database();
    if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return;
    }
    let change = db.begin().await.unwrap();
    change
        .execute_unprepared(&format!(
            "SELECT id FROM organizations WHERE id = '{}' FOR UPDATE",
            org.id
        ))
        .await
        .unwrap();
    let state = app.state.clone();
    let signer =
        tokio::spawn(
            async move { charter::services::webhooks::checkpoints::sign_due(&state).await },
        );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    change
        .execute_unprepared(&format!(
            "SELECT seq FROM audit_heads WHERE chain = 'org:{}' FOR UPDATE",
            org.id
        ))
        .await
        .expect("the change takes its head: no deadlock");
    change.commit().await.unwrap();
    let signed = signer
        .await
        .unwrap()
        .expect("the signer waited, then signed");
    assert!(signed >= 1, "{signed}");
}
