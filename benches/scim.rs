//! SCIM provisioning over HTTP on loopback, as an identity provider drives it: the time to
//! provision 10,000 users (each looked up by `userName`, then created, four clients at once),
//! and to push a 1,000-member group in one PATCH that moves every member to another role, and
//! out again. SQLite in a temporary directory by default; PostgreSQL when DATABASE_URL names a
//! server. CHARTER_BENCH_SCIM_USERS and CHARTER_BENCH_SCIM_GROUP change the 10,000 and the
//! 1,000.
//!
//! Run with `cargo bench --bench scim`. It prints figures; it asserts nothing on time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use charter::authz::require;
use charter::domain::{Email, OrganizationName};
use charter::services::audit::Actor;
use charter::services::organization::{api_keys, organizations, service_accounts};
use charter::services::store::access::Viewer;
use charter::services::store::scope::OrgScope;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};

mod support;

const DOMAIN: &str = "bench.example";
const CLIENTS: usize = 4;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let count = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(default)
    };
    let users = count("CHARTER_BENCH_SCIM_USERS", 10_000);
    let group = count("CHARTER_BENCH_SCIM_GROUP", 1_000).min(users);
    let dir = tempfile::tempdir()?;
    let bench_db = support::BenchDatabase::new(dir.path()).await?;
    let app = charter::build(bench_db.settings.clone()).await?;
    let state = app.state.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(charter::http::serve(
        listener,
        app.router,
        state.settings.timeouts,
        async move {
            let _ = stopped.await;
        },
    ));
    let (public_id, key) = organization(&state).await?;
    let base = format!("{address}/scim/v2/{public_id}");
    let client = Arc::new(Client::new(&base, &key));

    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..CLIENTS {
        let client = client.clone();
        workers.push(tokio::spawn(async move {
            let mut made = Vec::new();
            for n in (worker..users).step_by(CLIENTS) {
                made.push(client.provision(n).await?);
            }
            anyhow::Ok(made)
        }));
    }
    let mut created: Vec<(usize, String, Duration)> = Vec::with_capacity(users);
    for worker in workers {
        created.extend(worker.await??);
    }
    let elapsed = started.elapsed();
    let mut times: Vec<Duration> = created.iter().map(|(_, _, time)| *time).collect();
    times.sort();
    println!(
        "{}: {users} users provisioned in {:.1} s ({:.0}/s; lookup + create p50 {:.2} ms, p99 {:.2} ms; {CLIENTS} clients)",
        bench_db.backend(),
        elapsed.as_secs_f64(),
        users as f64 / elapsed.as_secs_f64(),
        ms(times[times.len() / 2]),
        ms(times[times.len() * 99 / 100]),
    );

    created.sort_by_key(|(n, _, _)| *n);
    let members: Vec<Value> = created[..group]
        .iter()
        .map(|(_, id, _)| json!({ "value": id }))
        .collect();
    let (status, made) = client
        .send(
            reqwest::Method::POST,
            "/Groups",
            json!({ "schemas": [GROUP], "displayName": "Standard User" }),
        )
        .await?;
    anyhow::ensure!(status == 201, "group: {status} {made}");
    let path = format!("/Groups/{}", made["id"].as_str().unwrap_or_default());
    let add = json!({ "schemas": [PATCH], "Operations": [{ "op": "add", "path": "members", "value": members }] });
    let started = Instant::now();
    let (status, body) = client.send(reqwest::Method::PATCH, &path, add).await?;
    let pushed = started.elapsed();
    anyhow::ensure!(status == 200, "group push: {status} {body}");
    let remove = json!({ "schemas": [PATCH], "Operations": [{ "op": "Remove", "path": "members", "value": members }] });
    let started = Instant::now();
    let (status, body) = client.send(reqwest::Method::PATCH, &path, remove).await?;
    let emptied = started.elapsed();
    anyhow::ensure!(status == 200, "group removal: {status} {body}");
    println!(
        "{}: a {group}-member group pushed in one PATCH in {:.2} s (each member moved to Standard User, one audit event each); emptied in {:.2} s",
        bench_db.backend(),
        pushed.as_secs_f64(),
        emptied.as_secs_f64(),
    );
    let _ = stop.send(());
    let _ = server.await;
    bench_db.finish(state.database().clone()).await
}

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

struct Client {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Client {
    fn new(base: &str, key: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.to_owned(),
            key: key.to_owned(),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if method != reqwest::Method::GET {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Okta's sequence for one person: look them up by `userName`, then create them.
    async fn provision(&self, n: usize) -> anyhow::Result<(usize, String, Duration)> {
        let email = format!("person{n:05}@{DOMAIN}");
        let started = Instant::now();
        let lookup = format!("/Users?filter=userName%20eq%20%22{email}%22&startIndex=1&count=100");
        let (status, found) = self
            .send(reqwest::Method::GET, &lookup, Value::Null)
            .await?;
        anyhow::ensure!(
            status == 200 && found["totalResults"] == 0,
            "lookup: {status} {found}"
        );
        let body = json!({
            "schemas": [USER],
            "userName": email,
            "name": { "givenName": "Person", "familyName": format!("{n:05}") },
            "emails": [{ "primary": true, "value": email, "type": "work" }],
            "externalId": format!("00u{n:05}"),
            "active": true,
        });
        let (status, created) = self.send(reqwest::Method::POST, "/Users", body).await?;
        anyhow::ensure!(status == 201, "create: {status} {created}");
        let id = created["id"].as_str().unwrap_or_default().to_owned();
        Ok((n, id, started.elapsed()))
    }
}

/// An organization with a million seats and its domain verified, and the API key of a service
/// account that administers it: its public id and the key.
async fn organization(state: &charter::services::AppState) -> anyhow::Result<(String, String)> {
    let actor = Actor::command_line();
    let email = Email::parse("email", &format!("owner@{DOMAIN}")).map_err(api)?;
    let owner = charter::services::store::scope::write(state.database(), &actor, async |txn| {
        let (user, created) =
            charter::services::identity::users::create(txn, &email, "Owner".to_owned(), None)
                .await?;
        Ok((user, vec![created]))
    })
    .await
    .map_err(api)?;
    let name = OrganizationName::parse("name", "Bench").map_err(api)?;
    let org = organizations::create(state, &actor, owner.id, name)
        .await
        .map_err(api)?;
    let license = organizations::LicenseChange {
        seats: Some(1_000_000),
        ..Default::default()
    };
    organizations::change_license(state, &actor, org.id, license)
        .await
        .map_err(api)?;
    entity::organization_domain::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        organization_id: Set(org.id),
        domain: Set(DOMAIN.to_owned()),
        challenge: Set("bench".to_owned()),
        created_by: Set(Some(owner.id)),
        created_at: Set(chrono::Utc::now()),
        verified_at: Set(Some(chrono::Utc::now())),
    }
    .insert(state.database())
    .await?;
    let change = |requirement| async move {
        let scope = OrgScope::enter(
            state.database(),
            &state.policy,
            &Viewer::user(owner.id),
            "organization",
            org.id,
            requirement,
        )
        .await
        .map_err(api)?;
        anyhow::Ok(scope.change_as(Actor::command_line()))
    };
    let admin = state
        .policy
        .role_by_key("organization_administrator")
        .ok_or_else(|| anyhow::anyhow!("the built-in policy has an administrator"))?;
    let account = service_accounts::create(
        &change(require::MEMBER_MANAGE).await?,
        service_accounts::AccountSpec {
            name: Some("Okta".to_owned()),
            description: None,
            role_id: Some(admin.id),
        },
    )
    .await
    .map_err(api)?;
    let grants = state
        .policy
        .describe(&admin.grants)
        .map(|(resource, level)| (resource.to_owned(), level.to_owned()))
        .collect();
    let issued = api_keys::create(
        &change(require::API_KEY_MANAGE).await?,
        api_keys::KeySpec {
            service_account_id: Some(account.id),
            name: "SCIM".to_owned(),
            grants,
            ..Default::default()
        },
    )
    .await
    .map_err(api)?;
    Ok((org.public_id, issued.secret))
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// A service error as a benchmark error.
fn api(err: charter::error::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{}", err.message)
}
