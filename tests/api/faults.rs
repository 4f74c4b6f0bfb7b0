//! Faults around requests: slow and idle clients, shutdown with a request half sent, replicas
//! starting together, and a database that stops answering.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{FreshDatabase, TestApp};

/// Short bounds, so that each case ends within a few seconds.
async fn impatient_app() -> TestApp {
    TestApp::spawn_with(|settings| {
        settings.timeouts.header_read = Duration::from_secs(1);
        settings.timeouts.body_read = Duration::from_secs(1);
        settings.timeouts.request = Duration::from_secs(2);
    })
    .await
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .expect("the server accepts")
}

/// Reads until the server closes the connection; returns what it sent, or `None` when it was
/// still open after `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&received).into_owned())
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_header_timeout() {
    let app = impatient_app().await;
    let mut idle = connect(&app).await;
    let started = Instant::now();
    assert!(
        closed_within(&mut idle, Duration::from_secs(5))
            .await
            .is_some(),
        "an idle socket is still open"
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn an_unfinished_or_trickled_request_head_is_cut_off() {
    let app = impatient_app().await;
    let mut unfinished = connect(&app).await;
    unfinished
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: charter\r\n")
        .await
        .unwrap();
    assert!(
        closed_within(&mut unfinished, Duration::from_secs(5))
            .await
            .is_some(),
        "a half-sent head is still open"
    );

    let mut trickle = connect(&app).await;
    let head = b"GET /healthz HTTP/1.1\r\nHost: charter\r\nX-Padding: aaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let started = Instant::now();
    let mut cut_off = false;
    for byte in head {
        if trickle.write_all(&[*byte]).await.is_err() {
            cut_off = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        if started.elapsed() > Duration::from_secs(8) {
            break;
        }
    }
    let answer = closed_within(&mut trickle, Duration::from_secs(3)).await;
    assert!(
        cut_off
            || answer
                .as_deref()
                .is_some_and(|text| !text.contains("200 OK")),
        "a head sent a byte at a time was served: {answer:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(8));
}

#[tokio::test]
async fn an_unfinished_body_gets_408_and_the_connection_closes() {
    let app = impatient_app().await;
    let mut stream = connect(&app).await;
    stream
        .write_all(
            b"POST /graphql HTTP/1.1\r\nHost: charter\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"query\":",
        )
        .await
        .unwrap();
    let answer = closed_within(&mut stream, Duration::from_secs(5))
        .await
        .expect("the connection of an unfinished body is still open");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("INVALID_INPUT"), "{answer}");
    // The server's own refusals carry the hygiene headers of the route they answer.
    let head = answer.to_ascii_lowercase();
    assert!(head.contains("x-content-type-options: nosniff"), "{answer}");
    assert!(head.contains("cache-control: no-store"), "{answer}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let app = impatient_app().await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: charter\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
        .await
        .expect("an answer")
        .unwrap();
    assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200"));
    assert!(
        closed_within(&mut stream, Duration::from_secs(5))
            .await
            .is_some(),
        "an idle keep-alive connection is still open"
    );
}

#[tokio::test]
async fn a_request_that_runs_too_long_gets_503() {
    // A sign-in's argon2 verification takes far longer than a request timeout of 1 ms.
    let app = TestApp::spawn_with(|settings| {
        settings.timeouts.request = Duration::from_millis(1);
    })
    .await;
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&json!({ "query": "mutation { login(input: {email: \"a@example.com\", password: \"some-password\"}) { accessToken } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "INTERNAL",
        "{body}"
    );
}

/// A port that was free a moment ago.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `charter serve` on `port`, on the test's database.
fn serve_process(
    data_dir: &std::path::Path,
    database: &FreshDatabase,
    port: u16,
    config: Option<&std::path::Path>,
) -> std::process::Child {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_charter"));
    command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data_dir)
        .env("DATABASE_URL", database.url.clone().unwrap_or_default())
        .env("CHARTER_LOG", "warn")
        .env_remove("CHARTER_POLICY")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    match config {
        Some(path) => command.arg("--config").arg(path),
        None => command.env_remove("CHARTER_CONFIG"),
    };
    command.spawn().expect("charter starts")
}

/// Waits until `port` answers /readyz, or the process exits.
pub(crate) async fn ready(child: &mut std::process::Child, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                use std::io::Read;
                let _ = pipe.read_to_string(&mut stderr);
            }
            return Err(format!("exited with {status}: {stderr}"));
        }
        if let Ok(response) = reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await
            && response.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("not ready within 60 seconds".into())
}

#[tokio::test]
async fn replicas_started_together_on_one_empty_database_all_come_up() {
    let database = FreshDatabase::create().await;
    let data_dir = tempfile::tempdir().unwrap();
    let ports: Vec<u16> = (0..4).map(|_| free_port()).collect();
    let mut children: Vec<_> = ports
        .iter()
        .map(|port| serve_process(data_dir.path(), &database, *port, None))
        .collect();
    let mut failures = Vec::new();
    for (child, port) in children.iter_mut().zip(&ports) {
        if let Err(failure) = ready(child, *port).await {
            failures.push(failure);
        }
    }
    for child in &mut children {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(
        failures.is_empty(),
        "replicas failed to start: {failures:#?}"
    );
}

#[tokio::test]
async fn sigterm_with_a_half_sent_request_exits_after_the_grace() {
    let database = FreshDatabase::create().await;
    let data_dir = tempfile::tempdir().unwrap();
    let config = data_dir.path().join("charter.toml");
    std::fs::write(
        &config,
        "shutdown_grace_seconds = 1\nheader_read_timeout_seconds = 120\nbody_read_timeout_seconds = 120\n",
    )
    .unwrap();
    let port = free_port();
    let mut child = serve_process(data_dir.path(), &database, port, Some(&config));
    ready(&mut child, port).await.expect("the server starts");
    let mut half_sent = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    half_sent
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: charter\r\nContent-Length: 50\r\n\r\n{")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let exited = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(15) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    if exited.is_none() {
        let _ = child.kill();
    }
    let status = exited.expect("the process still runs 15 s after SIGTERM");
    assert!(status.success(), "{status}");
    eprintln!("exited {:?} after SIGTERM", started.elapsed());
}

/// A TCP relay between Charter and PostgreSQL that can freeze (hold every byte) or go down
/// (close every connection and refuse new ones), as a stopped or hung database server would.
struct Relay {
    address: std::net::SocketAddr,
    mode: tokio::sync::watch::Sender<RelayMode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RelayMode {
    Pass,
    Frozen,
    Down,
}

impl Relay {
    async fn start(upstream: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (mode, watch) = tokio::sync::watch::channel(RelayMode::Pass);
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if *watch.borrow() == RelayMode::Down {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                let watch = watch.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(&upstream).await {
                        relay(client, server, watch).await;
                    }
                });
            }
        });
        Self { address, mode }
    }

    fn set(&self, mode: RelayMode) {
        self.mode.send_replace(mode);
    }
}

async fn relay(
    client: TcpStream,
    server: TcpStream,
    watch: tokio::sync::watch::Receiver<RelayMode>,
) {
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let forward = |mut from: tokio::net::tcp::OwnedReadHalf,
                   mut to: tokio::net::tcp::OwnedWriteHalf,
                   mut watch: tokio::sync::watch::Receiver<RelayMode>| async move {
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            let n = tokio::select! {
                read = from.read(&mut buffer) => match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                },
                changed = watch.changed() => {
                    if changed.is_err() || *watch.borrow() == RelayMode::Down {
                        return;
                    }
                    continue;
                }
            };
            // Frozen: hold the bytes until the relay passes again, or goes down.
            loop {
                let mode = *watch.borrow_and_update();
                match mode {
                    RelayMode::Pass => break,
                    RelayMode::Down => return,
                    RelayMode::Frozen => {
                        if watch.changed().await.is_err() {
                            return;
                        }
                    }
                }
            }
            if to.write_all(&buffer[..n]).await.is_err() {
                return;
            }
        }
    };
    let up = tokio::spawn(forward(client_read, server_write, watch.clone()));
    let down = tokio::spawn(forward(server_read, client_write, watch));
    let _ = tokio::join!(up, down);
}

/// The host and port of a PostgreSQL URL (`postgres://user@host:port/db`).
fn host_and_port(url: &str) -> String {
    let rest = url.split("://").nth(1).unwrap();
    let rest = rest.rsplit('@').next().unwrap();
    let authority = rest.split(['/', '?']).next().unwrap();
    if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:5432")
    }
}

async fn timed_ready(app: &TestApp) -> (u16, Duration) {
    let started = Instant::now();
    let status = app
        .client
        .get(format!("{}/readyz", app.address))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    (status, started.elapsed())
}

#[tokio::test]
async fn a_frozen_or_stopped_database_fails_requests_fast_and_recovers() {
    let Ok(admin_url) = std::env::var("DATABASE_URL") else {
        eprintln!("skipped: the database outage test needs PostgreSQL (set DATABASE_URL)");
        return;
    };
    if !admin_url.starts_with("postgres") {
        eprintln!("skipped: the database outage test needs PostgreSQL (set DATABASE_URL)");
        return;
    }
    let relay = Relay::start(host_and_port(&admin_url)).await;
    let app = TestApp::spawn_with(|settings| {
        let url = settings.database_url.clone().unwrap();
        let upstream = host_and_port(&url);
        settings.database_url = Some(url.replacen(&upstream, &relay.address.to_string(), 1));
        settings.database_acquire_timeout = Duration::from_secs(2);
        settings.timeouts.request = Duration::from_secs(3);
    })
    .await;
    app.create_user("alice@example.com").await;
    let token = app.login("alice@example.com").await.access_token;
    let viewer = "{ viewer { user { email } } }";
    assert_eq!(timed_ready(&app).await.0, 200);

    for mode in [RelayMode::Frozen, RelayMode::Down] {
        relay.set(mode);
        let (status, took) = timed_ready(&app).await;
        assert_eq!(status, 503, "{mode:?}");
        assert!(
            took < Duration::from_secs(4),
            "{mode:?}: /readyz took {took:?}"
        );
        let started = Instant::now();
        let response = app
            .client
            .post(format!("{}/graphql", app.address))
            .bearer_auth(&token)
            .json(&json!({ "query": viewer }))
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .unwrap();
        let took = started.elapsed();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert!(
            took < Duration::from_secs(6),
            "{mode:?}: a request took {took:?}"
        );
        assert!(
            body["errors"][0]["extensions"]["code"] == "INTERNAL",
            "{mode:?}: {status} {body}"
        );
        eprintln!("{mode:?}: /readyz and a request failed in {took:?} ({status})");

        relay.set(RelayMode::Pass);
        let recovered = Instant::now();
        loop {
            let body = app.gql(Some(&token), viewer, json!({})).await;
            if body["data"]["viewer"]["user"]["email"] == "alice@example.com" {
                break;
            }
            assert!(
                recovered.elapsed() < Duration::from_secs(30),
                "{mode:?}: no recovery: {body}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(timed_ready(&app).await.0, 200);
    }
}

#[tokio::test]
async fn start_up_outwaits_the_statement_timeout_that_bounds_requests() {
    use sea_orm::ConnectionTrait;
    let database = FreshDatabase::create().await;
    let Some(url) = database.url.clone() else {
        eprintln!("skipped: the start-up lock under a statement timeout needs PostgreSQL");
        return;
    };
    // Another replica holds the start-up lock, as it would while migrating a large table.
    let other = sea_orm::Database::connect(&url).await.unwrap();
    let lock = "SELECT pg_advisory_lock(x'63686172746572'::bigint)";
    other.execute_unprepared(lock).await.unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let mut settings = charter::config::Settings::for_data_dir(data_dir.path());
    settings.database_url = Some(url);
    settings.database_statement_timeout = Duration::from_secs(1);
    let starting = tokio::spawn(async move { charter::build(settings).await });
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        !starting.is_finished(),
        "start-up did not wait for the lock"
    );
    let unlock = "SELECT pg_advisory_unlock(x'63686172746572'::bigint)";
    other.execute_unprepared(unlock).await.unwrap();
    let app = starting
        .await
        .unwrap()
        .unwrap_or_else(|err| panic!("start-up failed after waiting: {err}"));
    // Requests' own connections keep their bound.
    let slow = app
        .state
        .database()
        .execute_unprepared("SELECT pg_sleep(2)")
        .await;
    assert!(slow.is_err(), "a 2 s statement ran under a 1 s timeout");
    app.state.database().clone().close().await.ok();
    other.close().await.ok();
}
