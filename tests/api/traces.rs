//! Traces and logs of a `charter serve` with `otlp_endpoint` and `log_format = "json"`: the
//! spans reach an OTLP/HTTP endpoint run by the test, decoded with the official OpenTelemetry
//! protobuf definitions; a request's `traceparent` is the parent of Charter's request span and
//! goes on to the webhook the request caused; log lines are JSON carrying the request's id and
//! trace id.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use serde_json::{Value, json};

use crate::faults::{free_port, ready};
use crate::helpers::FreshDatabase;
use crate::metrics::Running;

const EMAIL: &str = "owner@traces.example";
const PASSWORD: &str = "traces owner passphrase 2291";

/// A span as received: trace id, span id, parent span id (hex) and name.
#[derive(Debug, Clone)]
struct Received {
    trace_id: String,
    span_id: String,
    parent: String,
    name: String,
}

type Spans = Arc<Mutex<Vec<Received>>>;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

async fn collect(State(spans): State<Spans>, body: Bytes) -> Vec<u8> {
    let request = ExportTraceServiceRequest::decode(body).expect("an OTLP trace export");
    let mut spans = spans.lock().unwrap();
    for resource in request.resource_spans {
        for scope in resource.scope_spans {
            for span in scope.spans {
                spans.push(Received {
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent: hex(&span.parent_span_id),
                    name: span.name,
                });
            }
        }
    }
    Vec::new()
}

/// The `traceparent` headers of the webhook deliveries received.
type Deliveries = Arc<Mutex<Vec<Option<String>>>>;

async fn receive(State(deliveries): State<Deliveries>, headers: HeaderMap) -> &'static str {
    let traceparent = headers
        .get("traceparent")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    deliveries.lock().unwrap().push(traceparent);
    "ok"
}

/// Serves `router` on loopback; its port.
async fn serve(router: axum::Router) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, router).await });
    port
}

async fn gql(port: u16, token: Option<&str>, query: &str, variables: Value) -> (HeaderMap, Value) {
    gql_traced(port, token, None, query, variables).await
}

async fn gql_traced(
    port: u16,
    token: Option<&str>,
    traceparent: Option<&str>,
    query: &str,
    variables: Value,
) -> (HeaderMap, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(traceparent) = traceparent {
        request = request.header("traceparent", traceparent);
    }
    let response = request.send().await.unwrap();
    let headers = response.headers().clone();
    (headers, response.json().await.unwrap())
}

/// Waits (up to 30 s) until `ready` holds of what `shared` holds.
async fn wait_until<T: Clone>(shared: &Arc<Mutex<Vec<T>>>, ready: impl Fn(&[T]) -> bool) -> Vec<T> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = shared.lock().unwrap().clone();
        if ready(&now) || Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_callers_traceparent_parents_the_request_span_and_reaches_the_webhook() {
    let spans: Spans = Arc::default();
    let otlp = serve(
        axum::Router::new()
            .route("/v1/traces", axum::routing::post(collect))
            .with_state(spans.clone()),
    )
    .await;
    let deliveries: Deliveries = Arc::default();
    let hook = serve(
        axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(deliveries.clone()),
    )
    .await;

    let database = FreshDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let url = database.shared_url(dir.path());
    let config = dir.path().join("charter.toml");
    std::fs::write(
        &config,
        format!(
            "otlp_endpoint = \"http://127.0.0.1:{otlp}\"\nlog_format = \"json\"\n\
             webhook_allow_http = true\noutbound_allow = [\"127.0.0.1/32\"]\n\
             webhook_poll_milliseconds = 100\n"
        ),
    )
    .unwrap();
    let charter = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_charter"));
        command
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--config")
            .arg(&config)
            .env("DATABASE_URL", &url)
            // The batch processor sends every 100 ms; the drive's line shows the spans' fields.
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            .env("CHARTER_LOG", "info,charter::graphql::batches=debug")
            .env("CHARTER_BOOTSTRAP_PASSWORD", PASSWORD)
            .env_remove("CHARTER_POLICY");
        command
    };
    let boot = charter(&["bootstrap", "--email", EMAIL, "--organization", "Traced"])
        .output()
        .unwrap();
    assert!(boot.status.success(), "{boot:?}");
    let port = free_port();
    let log = dir.path().join("charter.log");
    let child = charter(&["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut process = Running(child);
    ready(&mut process.0, port).await.unwrap();

    let (_, login) = gql(
        port,
        None,
        "mutation($input: LoginInput!) { login(input: $input) { accessToken } }",
        json!({ "input": { "email": EMAIL, "password": PASSWORD } }),
    )
    .await;
    let token = login["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let org = crate::fleet::first_organization(port, &token).await;
    let (_, created) = gql(
        port,
        Some(&token),
        "mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret } }",
        json!({ "input": { "organizationId": org, "url": format!("http://127.0.0.1:{hook}/hook"), "events": ["organization.*"] } }),
    )
    .await;
    assert!(created["errors"].is_null(), "{created}");

    // The caller's trace: its id and the id of its span.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let traceparent = format!("00-{trace_id}-{caller_span}-01");
    let (headers, renamed) = gql_traced(
        port,
        Some(&token),
        Some(&traceparent),
        "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { name } }",
        json!({ "input": { "organizationId": org, "name": "Traced Renamed" } }),
    )
    .await;
    assert_eq!(
        renamed["data"]["updateOrganization"]["name"],
        "Traced Renamed"
    );
    let request_id = headers["x-request-id"].to_str().unwrap().to_owned();

    // Charter's request span is the child of the caller's; the operation's is the request's.
    let received = wait_until(&spans, |spans| {
        spans
            .iter()
            .any(|span| span.trace_id == trace_id && span.name == "webhook.deliver")
    })
    .await;
    let ours: Vec<&Received> = received
        .iter()
        .filter(|span| span.trace_id == trace_id)
        .collect();
    let request = ours
        .iter()
        .find(|span| span.parent == caller_span)
        .unwrap_or_else(|| panic!("no span is the caller's child: {ours:#?}"));
    assert_eq!(request.name, "POST /graphql");
    let operation = ours
        .iter()
        .find(|span| span.parent == request.span_id)
        .unwrap_or_else(|| panic!("no span is the request's child: {ours:#?}"));
    assert_eq!(operation.name, "mutation.updateOrganization");
    assert!(
        ours.iter().any(|span| span.name == "webhook.deliver"),
        "{ours:#?}"
    );
    // The viewer's memberships went through a loader: its batch is a span of that operation.
    let viewer = received
        .iter()
        .find(|span| span.name == "query.viewer")
        .unwrap_or_else(|| panic!("no viewer operation: {received:#?}"));
    assert!(
        received
            .iter()
            .any(|span| span.name == "sql.batch" && span.parent == viewer.span_id),
        "{received:#?}"
    );

    // The webhook the request caused carries the same trace.
    let delivered = wait_until(&deliveries, |got| {
        got.iter()
            .flatten()
            .any(|traceparent| traceparent.contains(trace_id))
    })
    .await;
    let carried = delivered
        .iter()
        .flatten()
        .find(|traceparent| traceparent.contains(trace_id))
        .unwrap_or_else(|| panic!("no delivery carries the trace: {delivered:?}"));
    assert_eq!(
        charter::telemetry::trace_id_in(carried),
        Some(trace_id),
        "{carried}"
    );
    assert!(
        !carried.contains(caller_span),
        "a span of Charter's is its parent: {carried}"
    );

    // Log lines are JSON; the request's carry its id and its trace id.
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|line| line["message"] == "database schema up to date"),
        "{text}"
    );
    let in_request = lines.iter().find(|line| {
        line["spans"].as_array().is_some_and(|spans| {
            spans
                .iter()
                .any(|span| span["request_id"] == request_id.as_str())
        })
    });
    let in_request = in_request.unwrap_or_else(|| panic!("no line of {request_id}:\n{text}"));
    assert!(
        in_request["spans"]
            .as_array()
            .unwrap()
            .iter()
            .any(|span| span["trace_id"] == trace_id),
        "{in_request}"
    );
}

#[tokio::test]
async fn a_malformed_or_huge_traceparent_is_ignored_and_never_echoed() {
    let app = crate::helpers::TestApp::spawn().await;
    let client = reqwest::Client::new();
    let huge = format!("00-{}-00f067aa0ba902b7-01", "a".repeat(16 * 1024));
    let hostile = [
        "not a traceparent".to_owned(),
        "00-zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-00f067aa0ba902b7-01".to_owned(),
        "00-00000000000000000000000000000000-0000000000000000-01".to_owned(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736".to_owned(),
        huge,
    ];
    for traceparent in &hostile {
        let response = client
            .post(format!("{}/graphql", app.address))
            .header("traceparent", traceparent)
            .json(&json!({ "query": "{ __typename }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            200,
            "{}",
            &traceparent[..40.min(traceparent.len())]
        );
        let request_id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(request_id.len(), 32);
        assert!(!request_id.contains("4bf92f35"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["data"]["__typename"], "Query");
        assert!(!body.to_string().contains("traceparent"));
    }
    // What a well-formed traceparent names is taken only as the 32 hex digits it must be.
    assert_eq!(charter::telemetry::trace_id_in(&hostile[1]), None);
    assert_eq!(charter::telemetry::trace_id_in(&hostile[4]), None);
    assert_eq!(
        charter::telemetry::trace_id_in("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
}
