//! `/metrics`: a real Prometheus (Debian's `prometheus`, on loopback) scrapes a `charter serve`
//! on its `metrics_listen` address and its HTTP API answers the request counter after a known
//! number of requests; no label carries what a caller chose.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::faults::{free_port, ready};
use crate::fleet::post;
use crate::helpers::{FreshDatabase, TestApp};

/// A process killed when dropped.
pub(crate) struct Running(pub(crate) Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Prometheus on loopback scraping `target` every second; `None` (after saying why, or failing
/// under CI) when it is not installed.
fn prometheus(dir: &std::path::Path, target: &str) -> Option<(Running, u16)> {
    if let Err(missing) = crate::node::tool_available(
        "prometheus",
        "install Prometheus (Debian package `prometheus`)",
    ) {
        crate::node::skip_or_fail(&missing);
        return None;
    }
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: charter\n    scrape_interval: 1s\n    \
             scrape_timeout: 1s\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus starts");
    Some((Running(child), port))
}

/// The value of the single series `query` selects in Prometheus, once there is one.
async fn instant(port: u16, query: &str) -> Option<f64> {
    let answer: Value = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/api/v1/query"))
        .query(&[("query", query)])
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let series = answer["data"]["result"].as_array()?;
    let [only] = series.as_slice() else {
        return None;
    };
    only["value"][1].as_str()?.parse().ok()
}

/// Polls Prometheus for `query` until it answers `wanted` (within a minute); the last answer.
async fn wait_for(port: u16, query: &str, wanted: f64) -> Option<f64> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = None;
    while Instant::now() < deadline {
        last = instant(port, query).await;
        if last == Some(wanted) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    last
}

#[tokio::test]
async fn prometheus_scrapes_the_request_counter_from_the_metrics_listener() {
    let database = FreshDatabase::create().await;
    let shared = tempfile::tempdir().unwrap();
    let url = database.shared_url(shared.path());
    let (port, metrics_port) = (free_port(), free_port());
    let config = shared.path().join("charter.toml");
    std::fs::write(
        &config,
        format!("metrics_listen = \"127.0.0.1:{metrics_port}\"\n"),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_charter"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(shared.path())
        .arg("--config")
        .arg(&config)
        .env("DATABASE_URL", &url)
        .env("CHARTER_LOG", "warn")
        .env_remove("CHARTER_POLICY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("charter starts");
    let mut charter = Running(child);
    ready(&mut charter.0, port).await.unwrap();
    let Some((_prometheus, prometheus_port)) =
        prometheus(shared.path(), &format!("127.0.0.1:{metrics_port}"))
    else {
        return;
    };

    // A known number of operations, and a refused sign-in whose email and operation name must
    // not become labels.
    for _ in 0..7 {
        let body = post(
            port,
            None,
            "query CountedByPrometheus { __typename }",
            json!({}),
        )
        .await;
        assert_eq!(body["data"]["__typename"], "Query");
    }
    let refused = post(
        port,
        None,
        "mutation Evil9f3c($input: LoginInput!) { login(input: $input) { accessToken } }",
        json!({ "input": { "email": "nobody-7c1d@example.com", "password": "not the password 1" } }),
    )
    .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );

    let counted = wait_for(
        prometheus_port,
        r#"charter_graphql_operations_total{operation="query.__typename",outcome="OK"}"#,
        7.0,
    )
    .await;
    assert_eq!(counted, Some(7.0), "Prometheus's answer");
    let up = wait_for(prometheus_port, r#"up{job="charter"}"#, 1.0).await;
    assert_eq!(up, Some(1.0));
    let refusals = wait_for(
        prometheus_port,
        r#"charter_sign_ins_total{method="password",outcome="refused"}"#,
        1.0,
    )
    .await;
    assert_eq!(refusals, Some(1.0));
    let login = wait_for(
        prometheus_port,
        r#"charter_graphql_operations_total{operation="mutation.login",outcome="UNAUTHENTICATED"}"#,
        1.0,
    )
    .await;
    assert_eq!(login, Some(1.0));

    // The text itself: what a caller chose is nowhere in it, and the main listener does not
    // serve it when metrics_listen is set.
    let text = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for chosen in ["nobody-7c1d", "Evil9f3c", "CountedByPrometheus"] {
        assert!(!text.contains(chosen), "{chosen} in:\n{text}");
    }
    for family in [
        "charter_http_requests_total",
        "charter_http_request_duration_seconds_bucket",
        "charter_graphql_operation_duration_seconds_bucket",
        "charter_db_pool_connections",
        "charter_webhook_queue_depth",
        "charter_throttled_accounts",
        "charter_audit_events_written_total",
        "charter_db_transaction_begin_duration_seconds_bucket",
    ] {
        assert!(text.contains(family), "{family} missing:\n{text}");
    }
    let main = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap();
    assert_eq!(main.status(), 404);
}

#[tokio::test]
async fn the_main_listener_serves_metrics_and_a_foreign_root_field_is_invalid() {
    let app = TestApp::spawn().await;
    for query in ["{ noSuchField }", "{ __typename }"] {
        app.gql(None, query, json!({})).await;
    }
    let response = reqwest::get(format!("{}/metrics", app.address))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    assert!(!text.contains("noSuchField"), "{text}");
    assert!(
        text.contains(r#"operation="invalid",outcome="INVALID_INPUT""#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"charter_http_requests_total{route="/graphql",method="POST",status="2xx"}"#
        ),
        "{text}"
    );
}
