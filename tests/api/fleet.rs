//! Several `charter serve` processes on one database, as a deployment runs them: a signing key
//! rotation made from the command line reaches every process within a minute, a token signed
//! before it verifies with `jose` against every process's key set until it expires; a process
//! without the secrets key refuses to start and names it; re-sealing while requests run loses
//! nothing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Database, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::faults::{free_port, ready};
use crate::helpers::FreshDatabase;

const EMAIL: &str = "owner@fleet.example";
const PASSWORD: &str = "fleet owner passphrase 4417";

/// One `charter serve`, killed when dropped.
struct Process {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Processes sharing one database, one secrets key and one configuration.
struct Fleet {
    _database: FreshDatabase,
    shared: tempfile::TempDir,
    url: String,
    config: PathBuf,
    processes: Vec<Process>,
}

impl Fleet {
    /// `count` processes started at once on a fresh database (they take turns at start-up),
    /// reading the keys again every second, with one-minute access tokens.
    async fn start(count: usize) -> Self {
        let database = FreshDatabase::create().await;
        let shared = tempfile::tempdir().unwrap();
        let url = database.shared_url(shared.path());
        let secrets = shared.path().join("secrets.key");
        charter::auth::sealing::SecretsFile::generate(&secrets).unwrap();
        let config = shared.path().join("charter.toml");
        std::fs::write(
            &config,
            format!(
                "key_refresh_seconds = 1\naccess_token_minutes = 1\nsecrets_key = {secrets:?}\n\
                 webhook_allow_http = true\noutbound_allow = [\"127.0.0.1/32\"]\n\
                 shutdown_grace_seconds = 1\n"
            ),
        )
        .unwrap();
        let mut fleet = Self {
            _database: database,
            shared,
            url,
            config,
            processes: Vec::new(),
        };
        let mut started: Vec<Process> = (0..count).map(|_| fleet.spawn()).collect();
        for process in &mut started {
            ready(&mut process.child, process.port).await.unwrap();
        }
        fleet.processes = started;
        fleet
    }

    fn spawn(&self) -> Process {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = self
            .command(dir.path(), &self.config)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("charter starts");
        Process {
            child,
            port,
            _dir: dir,
        }
    }

    /// `charter` on the fleet's database, from `data_dir`, with `config`.
    fn command(&self, data_dir: &Path, config: &Path) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_charter"));
        command
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--config")
            .arg(config)
            .env("DATABASE_URL", &self.url)
            .env("CHARTER_LOG", "warn")
            .env_remove("CHARTER_POLICY");
        command
    }

    /// Runs a `charter` command line beside the processes; its output, or a panic with it.
    async fn run(&self, args: &[&str]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let mut command = self.command(dir.path(), &self.config);
        command
            .args(args)
            .env("CHARTER_BOOTSTRAP_PASSWORD", PASSWORD);
        let output = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "charter {args:?}: {text}");
        text
    }

    fn base(&self, index: usize) -> String {
        format!("http://127.0.0.1:{}", self.processes[index].port)
    }

    async fn gql(&self, index: usize, token: Option<&str>, query: &str, variables: Value) -> Value {
        post(self.processes[index].port, token, query, variables).await
    }

    /// Signs the owner in at process `index`: the access token.
    async fn sign_in(&self, index: usize) -> String {
        sign_in_at(self.processes[index].port).await
    }

    /// The key ids process `index` publishes.
    async fn published(&self, index: usize) -> Vec<String> {
        let set: Value = reqwest::get(format!("{}/.well-known/jwks.json", self.base(index)))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        set["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key["kid"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn database(&self) -> sea_orm::DatabaseConnection {
        Database::connect(&self.url).await.unwrap()
    }
}

/// A GraphQL request to the process on `port`.
pub(crate) async fn post(port: u16, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut request = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().json().await.unwrap()
}

/// Signs the owner in at the process on `port`: the access token.
async fn sign_in_at(port: u16) -> String {
    let body = post(
        port,
        None,
        "mutation($input: LoginInput!) { login(input: $input) { accessToken } }",
        json!({ "input": { "email": EMAIL, "password": PASSWORD } }),
    )
    .await;
    body["data"]["login"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("sign-in failed: {body}"))
        .to_owned()
}

/// The id of the first organization the bearer of `token` is a member of.
pub(crate) async fn first_organization(port: u16, token: &str) -> String {
    let orgs = post(
        port,
        Some(token),
        "{ viewer { memberships { nodes { organization { id } } } } }",
        json!({}),
    )
    .await;
    orgs["data"]["viewer"]["memberships"]["nodes"][0]["organization"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{orgs}"))
        .to_owned()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

fn expiry_of(token: &str) -> DateTime<Utc> {
    let claims = crate::sso::claims(token);
    DateTime::from_timestamp(claims["exp"].as_i64().unwrap(), 0).unwrap()
}

async fn sleep_until(at: DateTime<Utc>) {
    let left = (at - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(left).await;
}

/// `jose`'s verdict on `token` against each process's key set.
async fn jose(fleet: &Fleet, token: &str) -> Option<Vec<Value>> {
    let servers: Vec<String> = (0..fleet.processes.len())
        .map(|index| fleet.base(index))
        .collect();
    let mut args = vec![token, "charter", "charter"];
    args.extend(servers.iter().map(String::as_str));
    let run = crate::node::run_script("verify-with-jwks.mjs", &args).await?;
    assert!(run.success, "{}", run.output);
    Some(serde_json::from_str(run.output.trim()).expect(&run.output))
}

/// Whether process `index` takes `token`.
async fn accepted(fleet: &Fleet, index: usize, token: &str) -> bool {
    accepted_at(fleet.processes[index].port, token).await
}

async fn accepted_at(port: u16, token: &str) -> bool {
    let body = post(
        port,
        Some(token),
        "{ viewer { user { email } } }",
        json!({}),
    )
    .await;
    body["data"]["viewer"]["user"]["email"] == EMAIL
}

#[tokio::test]
async fn a_rotation_reaches_every_process_and_earlier_tokens_verify_until_they_expire() {
    let fleet = Fleet::start(3).await;
    fleet
        .run(&["bootstrap", "--email", EMAIL, "--organization", "Fleet"])
        .await;
    let before = fleet.published(0).await;
    assert_eq!(before.len(), 2, "the signing key and the next: {before:?}");
    for index in 1..3 {
        assert_eq!(fleet.published(index).await, before);
    }
    let earlier = fleet.sign_in(0).await;
    let old_kid = kid_of(&earlier);
    let next = before.iter().find(|kid| **kid != old_kid).unwrap().clone();

    // The next key has been published longer than a token lives (as after a first rotation):
    // the rotation takes effect at once.
    let db = fleet.database().await;
    entity::signing_key::Entity::update_many()
        .col_expr(
            entity::signing_key::Column::CreatedAt,
            Expr::value(Utc::now() - chrono::Duration::days(1)),
        )
        .filter(entity::signing_key::Column::SignsFrom.is_null())
        .exec(&db)
        .await
        .unwrap();
    let rotated_at = Instant::now();
    let said = fleet.run(&["keys", "rotate"]).await;
    assert!(
        said.contains(&format!("signing key {next} signs from")),
        "{said}"
    );

    // Every process signs with the new key within a minute, without a restart.
    for index in 0..3 {
        loop {
            let token = fleet.sign_in(index).await;
            if kid_of(&token) == next {
                break;
            }
            assert!(
                rotated_at.elapsed() < Duration::from_secs(60),
                "process {index} still signs with {}",
                kid_of(&token)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    eprintln!(
        "every process signed with the new key {:.1} s after the rotation",
        rotated_at.elapsed().as_secs_f64()
    );
    for index in 0..3 {
        let published = fleet.published(index).await;
        assert!(published.contains(&old_kid) && published.contains(&next));
        assert_eq!(
            published.len(),
            3,
            "previous, current and a new next: {published:?}"
        );
        assert!(accepted(&fleet, index, &earlier).await);
    }

    // The earlier token verifies with jose against every process's key set until it expires.
    let Some(verdicts) = jose(&fleet, &earlier).await else {
        return;
    };
    assert!(verdicts.iter().all(|v| v["ok"] == true), "{verdicts:?}");
    let expiry = expiry_of(&earlier);
    sleep_until(expiry + chrono::Duration::seconds(2)).await;
    let verdicts = jose(&fleet, &earlier).await.unwrap();
    assert!(
        verdicts.iter().all(|v| v["code"] == "ERR_JWT_EXPIRED"),
        "{verdicts:?}"
    );
    // Charter gives it the leeway verifiers give, then refuses it everywhere.
    sleep_until(expiry + chrono::Duration::seconds(32)).await;
    for index in 0..3 {
        assert!(!accepted(&fleet, index, &earlier).await);
    }
    // Once no token it signed can be taken, the old key leaves every key set.
    let lead = chrono::Duration::seconds(60 + 30);
    let rotation: DateTime<Utc> = said
        .split("signs from ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .and_then(|at| DateTime::parse_from_rfc3339(at.trim()).ok())
        .unwrap_or_else(|| panic!("{said}"))
        .with_timezone(&Utc);
    sleep_until(rotation + lead + chrono::Duration::seconds(3)).await;
    for index in 0..3 {
        let published = fleet.published(index).await;
        assert!(!published.contains(&old_kid), "{published:?}");
        assert!(published.contains(&next));
    }
}

#[tokio::test]
async fn a_process_without_the_secrets_key_refuses_to_start_naming_the_key_id() {
    let fleet = Fleet::start(1).await;
    let secrets = fleet.shared.path().join("secrets.key");
    let needed = charter::auth::sealing::SecretsFile::read(&secrets)
        .unwrap()
        .unwrap()
        .id()
        .to_owned();
    let bare = fleet.shared.path().join("bare.toml");
    std::fs::write(&bare, "key_refresh_seconds = 1\n").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut command = fleet.command(dir.path(), &bare);
    command.args(["serve", "--listen", "127.0.0.1:0"]);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "it started: {stderr}");
    assert!(stderr.contains("there is no secrets key"), "{stderr}");
    assert!(stderr.contains(&needed), "{stderr}");
    assert!(!dir.path().join("keys/secrets.key").exists());
}

/// Creates an endpoint at process `index`: its GraphQL id and secret.
async fn create_endpoint(fleet: &Fleet, index: usize, token: &str, org: &str) -> (String, String) {
    let body = fleet
        .gql(
            index,
            Some(token),
            "mutation($input: CreateWebhookEndpointInput!) {
                createWebhookEndpoint(input: $input) { secret endpoint { id } } }",
            json!({ "input": { "organizationId": org, "url": "http://127.0.0.1:9/hook", "events": ["list.*"] } }),
        )
        .await;
    let issued = &body["data"]["createWebhookEndpoint"];
    (
        issued["endpoint"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_owned(),
        issued["secret"].as_str().unwrap().to_owned(),
    )
}

async fn rotate_secret(fleet: &Fleet, index: usize, token: &str, id: &str) -> String {
    let body = fleet
        .gql(
            index,
            Some(token),
            "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }",
            json!({ "id": id }),
        )
        .await;
    body["data"]["rotateWebhookSecret"]["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned()
}

#[tokio::test]
async fn resealing_while_requests_run_loses_nothing() {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};
    let fleet = Arc::new(Fleet::start(3).await);
    fleet
        .run(&["bootstrap", "--email", EMAIL, "--organization", "Fleet"])
        .await;
    let token = fleet.sign_in(0).await;
    let org = first_organization(fleet.processes[0].port, &token).await;
    let secrets: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
    for n in 0..10 {
        let (id, secret) = create_endpoint(&fleet, n % 3, &token, &org).await;
        secrets.lock().unwrap().insert(id, secret);
    }

    let first_five: Vec<String> = secrets.lock().unwrap().keys().take(5).cloned().collect();
    let untouched = 5;

    // Requests on every process seal new secrets while the command re-seals.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (fleet, secrets, stop, token, org, first_five) = (
            fleet.clone(),
            secrets.clone(),
            stop.clone(),
            token.clone(),
            org.clone(),
            first_five.clone(),
        );
        tokio::spawn(async move {
            let mut n = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // An organization has at most 20 endpoints: new ones until then, then secrets
                // rotated.
                let room = secrets.lock().unwrap().len() < 20;
                if room && n.is_multiple_of(2) {
                    let (id, secret) = create_endpoint(&fleet, n % 3, &token, &org).await;
                    secrets.lock().unwrap().insert(id, secret);
                } else {
                    // Only the first five: the command must re-seal the others itself.
                    let id = first_five[n % 5].clone();
                    let secret = rotate_secret(&fleet, n % 3, &token, &id).await;
                    secrets.lock().unwrap().insert(id, secret);
                }
                n += 1;
            }
            n
        })
    };
    let said = fleet.run(&["keys", "rotate-sealing"]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let requests = writer.await.unwrap();
    let new_key = said
        .split("sealing key ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("{said}"))
        .to_owned();
    eprintln!("{requests} requests during re-sealing; {said}");
    assert!(requests > 10, "requests ran throughout: {requests}");
    let resealed: usize = said
        .split("re-sealed ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("{said}"));
    assert!(
        resealed >= untouched + 2,
        "the endpoints no request touched and the signing keys: {said}"
    );

    // Every secret the API handed out is what the database holds, under the new key.
    let db = fleet.database().await;
    let file = charter::auth::sealing::SecretsFile::read(&fleet.shared.path().join("secrets.key"))
        .unwrap()
        .unwrap();
    let sealer = charter::auth::sealing::SecretBox::new(file);
    charter::auth::key_store::install_sealing_keys(&db, &sealer)
        .await
        .unwrap();
    let rows = entity::webhook_endpoint::Entity::find()
        .all(&db)
        .await
        .unwrap();
    let expected = secrets.lock().unwrap().clone();
    assert_eq!(rows.len(), expected.len());
    for row in &rows {
        let id = charter::graphql::ids::NodeId::WebhookEndpoint(row.id)
            .to_id()
            .0;
        let opened = sealer.open(row.id.as_bytes(), &row.secret_sealed).unwrap();
        assert_eq!(Some(&opened), expected.get(&id), "endpoint {id}");
        assert_eq!(
            charter::auth::sealing::sealed_by(&row.secret_sealed),
            Some(new_key.as_str())
        );
    }
    let counts = charter::auth::resealing::count_by_key(&db).await.unwrap();
    assert_eq!(
        counts.keys().collect::<Vec<_>>(),
        vec![&new_key],
        "{counts:?}"
    );

    // A process started now opens everything (its signing keys too) and signs in.
    let mut again = fleet.spawn();
    ready(&mut again.child, again.port).await.unwrap();
    let token = sign_in_at(again.port).await;
    assert!(accepted_at(again.port, &token).await);
}
