//! The console's dashboard under load. Seeds one viewer who owns N organizations of M members
//! (each member a user holding one of the seven predefined roles) through Charter's own
//! services, starts the release `charter` binary on it, drives it over loopback with `wrk`, and
//! prints requests per second, p50, p99, CPU milliseconds per request, RSS and statements per
//! request for the dashboard query and two small queries (an organization's first page of 50
//! members, and the viewer's email), and how many times one dashboard
//! request's execution is polled (passes over its tree) and how many rounds of batched reads it
//! takes. Then, per database and for this build only, it serves the first page of 50 members
//! of an organization of 50 and of one of 10,000 side by side.
//!
//! Run with `cargo bench --bench dashboard`. Settings, all optional:
//! - `CHARTER_BENCH_SHAPES`: N×M shapes, default `10x50,50x20`;
//! - `CHARTER_BENCH_SECONDS`: seconds per load run, default 10;
//! - `CHARTER_BENCH_CONNECTIONS`: connections of the dashboard run, default 8;
//! - `DATABASE_URL`: a PostgreSQL server to run on as well as SQLite (a database of its own is
//!   created and dropped per shape);
//! - `CHARTER_BENCH_BASELINE`: another `charter` binary (an older commit) to run beside this
//!   one on the same data, printing the ratios; `CHARTER_BENCH_BASELINE_MIGRATIONS` says how
//!   many migrations it knows (6 for 144ef1f, 7 for b19dfe4), so its copy of the data, seeded
//!   on this build's schema, is migrated down to there.
//!
//! After the peak runs, both binaries serve the dashboard at a fixed rate, half the older
//! binary's peak (this one's without a baseline), and the latencies are measured from each
//! request's scheduled time.
//!
//! - `CHARTER_BENCH_PERF`: a directory; `perf record -g` samples each server during its
//!   dashboard run into `<dir>/<database>-<N>x<M>-<binary>.data` (Debian's `linux-perf`);
//!   `CHARTER_BENCH_PERF_CALL_GRAPH=dwarf` for call graphs through the release build.
//!
//! - `CHARTER_BENCH_STATEMENTS`: set to print each statement of the counted dashboard request.
//!
//! This build also serves the small and the viewer queries authenticated by an API key (whose
//! grants cover them) instead of a session's access token, and prints both p50s side by side.
//!
//! It needs `wrk` (Debian's `wrk`). It prints figures; it asserts nothing on time.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use charter::config::Settings;
use charter::domain::{Email, OrganizationName};
use charter::services::AppState;
use charter::services::audit::Actor;
use charter::services::identity::users;
use charter::services::organization::organizations;
use charter::services::store::{records, scope};
use migration::MigratorTrait;
use sea_orm::{ActiveModelTrait, DatabaseConnection};
use serde_json::{Value, json};

mod support;

const PASSWORD: &str = "dashboard-bench-password";

const DASHBOARD: &str = "{ viewer { memberships(first: 50) { edges { node { organization { name \
    members(first: 20) { edges { node { user { email } role { key grants { resource level } } } } } \
    } } } } } }";

const VIEWER_EMAIL: &str = "{ viewer { user { email } } }";

/// The small query: one organization's first page of 50 members with their user and role.
fn small_members(organization: &str) -> String {
    format!(
        "{{ organization(id: \"{organization}\") {{ members(first: 50) {{ edges {{ node {{ \
         user {{ email }} role {{ key grants {{ resource level }} }} }} }} }} }} }}"
    )
}

/// The organizations' sizes of the run that compares a first page in a small and a large one.
const PAGE_SIZES: [usize; 2] = [50, 10_000];

struct Options {
    shapes: Vec<(usize, usize)>,
    seconds: u64,
    connections: usize,
    postgres: Option<String>,
    baseline: Option<(PathBuf, u32)>,
    perf: Option<PathBuf>,
}

impl Options {
    fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let shapes = var("CHARTER_BENCH_SHAPES")
            .unwrap_or_else(|| "10x50,50x20".to_owned())
            .split(',')
            .filter_map(|shape| {
                let (n, m) = shape.trim().split_once('x')?;
                Some((n.parse().ok()?, m.parse().ok()?))
            })
            .collect();
        let number =
            |name: &str, default: u64| var(name).and_then(|v| v.parse().ok()).unwrap_or(default);
        let baseline = var("CHARTER_BENCH_BASELINE").map(|path| {
            let migrations = number("CHARTER_BENCH_BASELINE_MIGRATIONS", 6) as u32;
            (PathBuf::from(path), migrations)
        });
        Self {
            shapes,
            seconds: number("CHARTER_BENCH_SECONDS", 10),
            connections: number("CHARTER_BENCH_CONNECTIONS", 8) as usize,
            postgres: var("DATABASE_URL").filter(|url| url.starts_with("postgres")),
            baseline,
            perf: var("CHARTER_BENCH_PERF").map(PathBuf::from),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::from_env();
    anyhow::ensure!(
        Command::new("wrk").arg("--version").output().is_ok(),
        "the dashboard benchmark drives the server with wrk: apt-get install wrk"
    );
    let mut backends = vec![None];
    backends.extend(options.postgres.clone().map(Some));
    for &(organizations, members) in &options.shapes {
        for admin_url in &backends {
            run_shape(&options, admin_url.as_deref(), organizations, members).await?;
        }
    }
    for admin_url in &backends {
        run_page_sizes(&options, admin_url.as_deref()).await?;
    }
    Ok(())
}

/// One shape on one database: this binary, and the baseline beside it when there is one.
async fn run_shape(
    options: &Options,
    admin_url: Option<&str>,
    organizations: usize,
    members: usize,
) -> anyhow::Result<()> {
    let backend = backend_name(admin_url);
    println!("\n== {backend}, {organizations} organizations x {members} members ==");
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_charter"));
    let sizes = vec![members; organizations];
    let current = Target::prepare("this build", binary, None, admin_url, &sizes).await?;
    let mut rows = vec![current.measure(options).await?];
    let mut targets = vec![current];
    if let Some((binary, migrations)) = &options.baseline {
        let baseline = Target::prepare(
            "baseline",
            binary.clone(),
            Some(*migrations),
            admin_url,
            &sizes,
        )
        .await?;
        rows.push(baseline.measure(options).await?);
        targets.push(baseline);
    }
    // Half the peak of the older binary when there is one (or of this one), the same rate
    // for both.
    let peak = rows.last().map_or(0.0, |row| row.dashboard.per_second);
    let rate = (peak / 2.0).max(1.0);
    println!("fixed rate: {rate:.1} req/s, {} s each", options.seconds);
    for (row, target) in rows.iter_mut().zip(&targets) {
        row.fixed = Some(
            fixed_rate(
                &target.address,
                &target.token,
                DASHBOARD,
                rate,
                options.seconds,
            )
            .await?,
        );
    }
    for target in targets {
        target.finish().await?;
    }
    print_rows(&rows);
    print_targets(backend, (organizations, members), &rows);
    Ok(())
}

/// The first page of 50 members of an organization of 50 and of one of 10,000, side by side
/// on one server at one connection: what a page costs should not grow with the list.
async fn run_page_sizes(options: &Options, admin_url: Option<&str>) -> anyhow::Result<()> {
    let backend = backend_name(admin_url);
    println!("\n== {backend}, first page of 50 members at {PAGE_SIZES:?} members ==");
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_charter"));
    let target = Target::prepare("this build", binary, None, admin_url, &PAGE_SIZES).await?;
    let organizations = organizations_of(&target.address, &target.token).await?;
    let mut pages = Vec::new();
    for (size, organization) in PAGE_SIZES.iter().zip(&organizations) {
        let query = small_members(organization);
        wrk(&target.address, &target.token, &query, 1, 2)?; // warm up
        let load = wrk(&target.address, &target.token, &query, 1, options.seconds)?;
        println!(
            "  {size:>6} members: p50 {:.3} ms, p99 {:.3} ms, {:.1} req/s",
            load.p50_ms, load.p99_ms, load.per_second
        );
        pages.push(load);
    }
    target.finish().await?;
    let ratio = pages[1].p50_ms / pages[0].p50_ms;
    println!(
        "targets:\n  the 10,000-member page p50 <= 1.3x the 50-member page's: {ratio:.2}x, {}",
        if ratio <= 1.3 { "met" } else { "NOT met" }
    );
    Ok(())
}

fn backend_name(admin_url: Option<&str>) -> &'static str {
    match admin_url {
        Some(_) => "PostgreSQL",
        None => "SQLite",
    }
}

/// A seeded database and a `charter` process serving it.
struct Target {
    label: &'static str,
    baseline: bool,
    /// `<database>-<N>x<M>-<binary>`, for profiles.
    profile_name: String,
    _data_dir: tempfile::TempDir,
    process: Child,
    address: String,
    token: String,
    /// An API key of the viewer in `organization` (this build only: older ones have none).
    key: Option<String>,
    organization: String,
    /// The database, for counting the statements of a request in process.
    database: support::BenchDatabase,
}

impl Target {
    async fn prepare(
        label: &'static str,
        binary: PathBuf,
        migrations: Option<u32>,
        admin_url: Option<&str>,
        sizes: &[usize],
    ) -> anyhow::Result<Self> {
        let data_dir = tempfile::tempdir()?;
        let database = support::BenchDatabase::on(data_dir.path(), admin_url).await?;
        let settings = &database.settings;
        let db = charter::db::connect(settings).await?;
        // Seeded by this build's code on its own schema; an older binary's copy is then
        // migrated down to the migrations it knows.
        charter::db::migrate(&db).await?;
        let started = Instant::now();
        seed(settings, db, sizes).await?;
        if let Some(known) = migrations {
            let newer = migration::Migrator::migrations().len() as u32 - known;
            if newer > 0 {
                let db = charter::db::connect(settings).await?;
                migration::Migrator::down(&db, Some(newer)).await?;
            }
        }
        println!(
            "{label}: seeded in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let port = free_port()?;
        let process = start(&binary, data_dir.path(), settings, port)?;
        let address = format!("http://127.0.0.1:{port}");
        wait_ready(&address).await?;
        let token = login(&address).await?;
        let organization = first_organization(&address, &token).await?;
        let key = match migrations {
            None => Some(api_key(&address, &token, &organization).await?),
            Some(_) => None,
        };
        let engine = if admin_url.is_some() {
            "postgres"
        } else {
            "sqlite"
        };
        let binary_name = if migrations.is_some() {
            "baseline"
        } else {
            "current"
        };
        Ok(Self {
            label,
            baseline: migrations.is_some(),
            profile_name: format!(
                "{engine}-{}x{}-{binary_name}",
                sizes.len(),
                sizes.iter().max().unwrap_or(&0)
            ),
            _data_dir: data_dir,
            process,
            address,
            token,
            key,
            organization,
            database,
        })
    }

    async fn finish(mut self) -> anyhow::Result<()> {
        let _ = self.process.kill();
        let _ = self.process.wait();
        self.database.drop_database().await
    }

    async fn measure(&self, options: &Options) -> anyhow::Result<Row> {
        let pid = self.process.id();
        let idle_rss = rss_kib(pid, "VmRSS")?;
        // Counted in process with this build's code, so only for this build's own data.
        let statements = match self.baseline {
            false => statements_per_request(&self.database.settings, &self.token).await,
            true => None,
        };
        let seconds = options.seconds;
        wrk(&self.address, &self.token, DASHBOARD, 2, 2)?; // warm up
        let perf = options
            .perf
            .as_ref()
            .map(|dir| profile(dir, pid, &self.profile_name))
            .transpose()?;
        let cpu_before = cpu_seconds(pid)?;
        let dashboard = wrk(
            &self.address,
            &self.token,
            DASHBOARD,
            options.connections,
            seconds,
        )?;
        let cpu = cpu_seconds(pid)? - cpu_before;
        if let Some(perf) = perf {
            stop_profile(perf)?;
        }
        let peak_rss = rss_kib(pid, "VmHWM")?;
        let small = wrk(
            &self.address,
            &self.token,
            &small_members(&self.organization),
            1,
            seconds,
        )?;
        let viewer = wrk(&self.address, &self.token, VIEWER_EMAIL, 1, seconds)?;
        let by_key = match &self.key {
            Some(key) => Some((
                wrk(
                    &self.address,
                    key,
                    &small_members(&self.organization),
                    1,
                    seconds,
                )?,
                wrk(&self.address, key, VIEWER_EMAIL, 1, seconds)?,
            )),
            None => None,
        };
        Ok(Row {
            label: self.label,
            fixed: None,
            cpu_ms_per_request: cpu * 1000.0 / dashboard.requests.max(1) as f64,
            dashboard,
            small,
            viewer,
            by_key,
            idle_rss,
            peak_rss,
            statements,
        })
    }
}

/// The viewer (`viewer@bench.example`, who owns every organization) and one organization per
/// size of `sizes` with that many members, the others holding the predefined roles in turn.
async fn seed(settings: &Settings, db: DatabaseConnection, sizes: &[usize]) -> anyhow::Result<()> {
    let policy = Arc::new(charter::load_policy(settings)?);
    charter::services::organization::roles::sync_predefined(&db, &policy).await?;
    let state = seeding_state(settings, db.clone(), policy.clone())?;
    let actor = Actor::command_line();
    let hash = api(charter::auth::password::hash(PASSWORD.to_owned()).await)?;
    let viewer = new_user(&db, &actor, "viewer@bench.example", Some(hash)).await?;
    let roles: Vec<_> = policy.roles().iter().filter(|role| !role.owner).collect();
    for (n, &members) in sizes.iter().enumerate() {
        let name = api(OrganizationName::parse(
            "name",
            &format!("Organization {n:03}"),
        ))?;
        let org = api(organizations::create(&state, &actor, viewer.id, name).await)?;
        for m in 1..members {
            let email = format!("member{m:04}.org{n:03}@bench.example");
            let person = new_user(&db, &actor, &email, None).await?;
            let role = roles[(n + m) % roles.len()];
            records::new_membership(&person, org.id, role.id, &role.name, Some(viewer.id))
                .insert(&db)
                .await?;
        }
    }
    db.close().await?;
    Ok(())
}

/// The services' state on a database migrated as far as the binary under test knows (so not
/// through `charter::build_with`, which migrates it all the way).
fn seeding_state(
    settings: &Settings,
    db: DatabaseConnection,
    policy: Arc<charter::authz::Policy>,
) -> anyhow::Result<AppState> {
    std::fs::create_dir_all(&settings.data_dir)?;
    // Seeding signs nothing the server checks later and seals nothing: keys of its own.
    let key = charter::auth::keys::generate_key();
    let keys = charter::auth::keys::KeyRing::from_database(&[key], 0, vec![0])?;
    let file = charter::auth::sealing::SecretsFile::path_for(&settings.data_dir, None);
    let secrets = charter::auth::sealing::SecretBox::new(
        charter::auth::sealing::SecretsFile::generate(&file)?,
    );
    secrets.install(&[secrets
        .new_sealing_key()
        .map_err(|err| anyhow::anyhow!("{}", err.message))?])?;
    let tokens = charter::auth::tokens::TokenIssuer::new(
        keys,
        settings.issuer.clone(),
        settings.audience.clone(),
        settings.access_token_ttl,
    );
    Ok(AppState::new(
        db,
        charter::services::Shared {
            policy,
            tokens: Arc::new(tokens),
            settings: Arc::new(settings.clone()),
            mailer: Arc::new(charter::mail::Mailer::outbox(&settings.data_dir)),
            sso: Arc::new(charter::services::identity::sso::Runtime::new(settings)?),
            secrets: Arc::new(secrets),
            webauthn: None,
            webhooks: Arc::new(charter::services::webhooks::Runtime::new(settings)?),
        },
    ))
}

async fn new_user(
    db: &DatabaseConnection,
    actor: &Actor,
    email: &str,
    password_hash: Option<String>,
) -> anyhow::Result<entity::user::Model> {
    let email = api(Email::parse("email", email))?;
    let name = email
        .as_str()
        .split('@')
        .next()
        .unwrap_or("member")
        .to_owned();
    api(scope::write(db, actor, async |txn| {
        let (user, created) = users::create(txn, &email, name, password_hash).await?;
        Ok((user, vec![created]))
    })
    .await)
}

/// A service's answer as this benchmark's error.
fn api<T>(result: charter::error::ApiResult<T>) -> anyhow::Result<T> {
    result.map_err(|err| anyhow::anyhow!("{}: {}", err.code.as_str(), err.message))
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn start(binary: &Path, data_dir: &Path, settings: &Settings, port: u16) -> anyhow::Result<Child> {
    Ok(Command::new(binary)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data_dir)
        .env(
            "DATABASE_URL",
            settings.database_url.clone().unwrap_or_default(),
        )
        .env("CHARTER_LOG", "warn")
        .env_remove("CHARTER_POLICY")
        .env_remove("CHARTER_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?)
}

async fn wait_ready(address: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(response) = client.get(format!("{address}/readyz")).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("charter did not become ready at {address}")
}

async fn graphql(address: &str, token: Option<&str>, query: &str) -> anyhow::Result<Value> {
    let mut request = reqwest::Client::new()
        .post(format!("{address}/graphql"))
        .json(&json!({ "query": query }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let body: Value = request.send().await?.json().await?;
    anyhow::ensure!(body.get("errors").is_none(), "{body}");
    Ok(body)
}

async fn login(address: &str) -> anyhow::Result<String> {
    let body = graphql(
        address,
        None,
        &format!(
            "mutation {{ login(input: {{ email: \"viewer@bench.example\", password: \
             \"{PASSWORD}\" }}) {{ accessToken }} }}"
        ),
    )
    .await?;
    body["data"]["login"]["accessToken"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no access token in {body}"))
}

/// A key of the viewer in `organization` with what the small and the viewer queries need.
async fn api_key(address: &str, token: &str, organization: &str) -> anyhow::Result<String> {
    let body = graphql(
        address,
        Some(token),
        &format!(
            "mutation {{ createApiKey(input: {{ organizationId: \"{organization}\", name: \"bench\", \
             grants: [{{ resource: \"organization\", level: \"read\" }}, \
             {{ resource: \"member\", level: \"read\" }}, {{ resource: \"role\", level: \"read\" }}] }}) \
             {{ secret }} }}"
        ),
    )
    .await?;
    body["data"]["createApiKey"]["secret"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no API key in {body}"))
}

async fn first_organization(address: &str, token: &str) -> anyhow::Result<String> {
    organizations_of(address, token)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("the viewer has no organization"))
}

/// The ids of the viewer's organizations, oldest first (as seeded).
async fn organizations_of(address: &str, token: &str) -> anyhow::Result<Vec<String>> {
    let body = graphql(
        address,
        Some(token),
        "{ viewer { memberships(first: 50) { edges { node { organization { id } } } } } }",
    )
    .await?;
    let edges = body["data"]["viewer"]["memberships"]["edges"].as_array();
    let ids = edges.into_iter().flatten().filter_map(|edge| {
        let id = edge["node"]["organization"]["id"].as_str()?;
        Some(id.to_owned())
    });
    Ok(ids.collect())
}

/// The statements one dashboard request sends, counted in process on the same database, and
/// how many times its execution was polled and batch rounds ran.
async fn statements_per_request(settings: &Settings, token: &str) -> Option<Counted> {
    let mut db = charter::db::connect(settings).await.ok()?;
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let show = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let showing = show.clone();
    db.set_metric_callback(move |info| {
        if showing.load(Ordering::SeqCst) {
            let sql: String = info.statement.sql.chars().take(300).collect();
            println!("  statement: {sql}");
        }
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let policy = charter::load_policy(settings).ok()?;
    let app = charter::build_with(settings.clone(), db, policy)
        .await
        .ok()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.ok()?;
    let address = format!("http://{}", listener.local_addr().ok()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(charter::http::serve(
        listener,
        app.router,
        app.state.settings.timeouts,
        async move {
            let _ = stopped.await;
        },
    ));
    count.store(0, Ordering::SeqCst);
    show.store(
        std::env::var_os("CHARTER_BENCH_STATEMENTS").is_some(),
        Ordering::SeqCst,
    );
    let (polls, rounds) = charter::graphql::batches::drive_counts();
    let answered = graphql(&address, Some(token), DASHBOARD).await.is_ok();
    let statements = count.load(Ordering::SeqCst);
    let (polls_after, rounds_after) = charter::graphql::batches::drive_counts();
    let _ = stop.send(());
    let _ = server.await;
    answered.then_some(Counted {
        statements,
        polls: polls_after - polls,
        rounds: rounds_after - rounds,
    })
}

/// What one dashboard request took, counted in process.
struct Counted {
    statements: usize,
    /// Polls of the request's execution in `drive`: passes over the tree.
    polls: u64,
    /// Rounds of batched reads.
    rounds: u64,
}

/// What one `wrk` run measured.
struct Load {
    requests: u64,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn wrk(
    address: &str,
    token: &str,
    query: &str,
    connections: usize,
    seconds: u64,
) -> anyhow::Result<Load> {
    let script = tempfile::Builder::new().suffix(".lua").tempfile()?;
    let body = serde_json::to_string(&json!({ "query": query }))?;
    std::fs::write(
        script.path(),
        format!(
            "wrk.method = \"POST\"\nwrk.body = {}\nwrk.headers[\"Content-Type\"] = \
             \"application/json\"\nwrk.headers[\"Authorization\"] = \"Bearer {token}\"\n",
            lua_string(&body)
        ),
    )?;
    let output = Command::new("wrk")
        .args(["-t1", &format!("-c{connections}"), &format!("-d{seconds}s")])
        .args(["--latency", "-s"])
        .arg(script.path())
        .arg(format!("{address}/graphql"))
        .output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(
        !text.contains("Non-2xx"),
        "wrk saw failed responses:\n{text}"
    );
    parse_wrk(&text).ok_or_else(|| anyhow::anyhow!("unreadable wrk output:\n{text}"))
}

fn lua_string(text: &str) -> String {
    format!("[==[{text}]==]")
}

fn parse_wrk(text: &str) -> Option<Load> {
    let line = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find(|line| line.starts_with(prefix))
            .and_then(|line| line.split_whitespace().nth(1))
    };
    let requests = text
        .lines()
        .find(|line| line.contains("requests in"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(Load {
        requests,
        per_second: line("Requests/sec:")?.parse().ok()?,
        p50_ms: milliseconds(line("50%")?)?,
        p99_ms: milliseconds(line("99%")?)?,
    })
}

/// A wrk duration (`812.00us`, `1.20ms`, `1.02s`) in milliseconds.
fn milliseconds(value: &str) -> Option<f64> {
    let split = value.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().ok()?;
    Some(match unit {
        "us" => number / 1000.0,
        "ms" => number,
        "s" => number * 1000.0,
        "m" => number * 60_000.0,
        _ => return None,
    })
}

/// Latencies of requests sent at a fixed rate.
struct FixedRate {
    sent: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

/// `rate` requests a second for `seconds`, each sent when it is due whatever the answers'
/// pace (an open loop, unlike wrk's connections that wait for each answer). A request's
/// latency counts from the moment it was due, so a stall counts against every request
/// scheduled behind it rather than hiding them.
async fn fixed_rate(
    address: &str,
    token: &str,
    query: &str,
    rate: f64,
    seconds: u64,
) -> anyhow::Result<FixedRate> {
    let client = reqwest::Client::new();
    let url = format!("{address}/graphql");
    let body = serde_json::to_vec(&json!({ "query": query }))?;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let total = (rate * seconds as f64).round().max(1.0) as usize;
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    let mut requests = tokio::task::JoinSet::new();
    for n in 0..total {
        let due = start + interval * n as u32;
        tokio::time::sleep_until(due).await;
        let request = client
            .post(&url)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.clone());
        requests.spawn(async move {
            let response = request.send().await?;
            anyhow::ensure!(response.status().is_success(), "{}", response.status());
            response.bytes().await?;
            Ok(due.elapsed())
        });
    }
    let mut latencies = Vec::with_capacity(total);
    while let Some(done) = requests.join_next().await {
        latencies.push(done??.as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    let at = |quantile: f64| latencies[((latencies.len() - 1) as f64 * quantile).round() as usize];
    Ok(FixedRate {
        sent: latencies.len(),
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        max_ms: at(1.0),
    })
}

/// `perf record` sampling process `pid` until [`stop_profile`].
fn profile(dir: &Path, pid: u32, name: &str) -> anyhow::Result<Child> {
    std::fs::create_dir_all(dir)?;
    let child = Command::new("perf")
        .args(["record", "-F", "499", "-p", &pid.to_string(), "-o"])
        // Frame pointers by default; `CHARTER_BENCH_PERF_CALL_GRAPH=dwarf` unwinds through
        // code built without them (the release profile), at the cost of bigger profiles.
        .arg(format!(
            "--call-graph={}",
            std::env::var("CHARTER_BENCH_PERF_CALL_GRAPH").unwrap_or_else(|_| "fp".to_owned())
        ))
        .arg(dir.join(format!("{name}.data")))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    std::thread::sleep(Duration::from_millis(300));
    Ok(child)
}

fn stop_profile(mut perf: Child) -> anyhow::Result<()> {
    Command::new("kill")
        .args(["-INT", &perf.id().to_string()])
        .status()?;
    perf.wait()?;
    Ok(())
}

/// User and system CPU time of process `pid` so far, in seconds.
fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    Ok(ticks / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// A memory figure of `/proc/<pid>/status` (`VmRSS`, `VmHWM`) in KiB.
fn rss_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no {field} for process {pid}"))
}

struct Row {
    label: &'static str,
    /// The dashboard at a fixed rate, measured after every binary's peak is known.
    fixed: Option<FixedRate>,
    dashboard: Load,
    small: Load,
    viewer: Load,
    /// The small and the viewer queries authenticated by an API key.
    by_key: Option<(Load, Load)>,
    cpu_ms_per_request: f64,
    idle_rss: u64,
    peak_rss: u64,
    statements: Option<Counted>,
}

/// The targets against this run's figures: each with what was measured and whether it was
/// met. Those relative to the older binary need one (`CHARTER_BENCH_BASELINE`, a9432a9's).
fn print_targets(backend: &str, shape: (usize, usize), rows: &[Row]) {
    let current = &rows[0];
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    let postgres = backend == "PostgreSQL";
    println!("targets:");
    if let Some(baseline) = rows.get(1) {
        let ratio = current.dashboard.per_second / baseline.dashboard.per_second;
        println!(
            "  dashboard >= 2x the older binary's req/s: {ratio:.2}x, {}",
            verdict(ratio >= 2.0)
        );
    }
    if shape == (10, 50) {
        let bound = if postgres { 1.5 } else { 2.5 };
        println!(
            "  CPU per dashboard request <= {bound} ms: {:.2} ms, {}",
            current.cpu_ms_per_request,
            verdict(current.cpu_ms_per_request <= bound)
        );
        let bound = if postgres { 0.6 } else { 0.5 };
        println!(
            "  first page of 50 members p50 at 1 connection <= {bound} ms: {:.3} ms, {}",
            current.small.p50_ms,
            verdict(current.small.p50_ms <= bound)
        );
    }
    if shape == (50, 20) {
        let growth = current.peak_rss as f64 / current.idle_rss.max(1) as f64;
        println!(
            "  RSS under load <= 2x idle: {growth:.2}x, {}",
            verdict(growth <= 2.0)
        );
    }
}

fn print_rows(rows: &[Row]) {
    println!(
        "{:<11} {:>10} {:>9} {:>9} {:>11} {:>9} {:>9} {:>10} {:>12} {:>12}",
        "binary",
        "dash req/s",
        "dash p50",
        "dash p99",
        "CPU ms/req",
        "RSS idle",
        "RSS peak",
        "statements",
        "small p50",
        "viewer p50"
    );
    for row in rows {
        println!(
            "{:<11} {:>10.1} {:>7.2}ms {:>7.2}ms {:>11.2} {:>6}MiB {:>6}MiB {:>10} {:>10.3}ms {:>10.3}ms",
            row.label,
            row.dashboard.per_second,
            row.dashboard.p50_ms,
            row.dashboard.p99_ms,
            row.cpu_ms_per_request,
            row.idle_rss / 1024,
            row.peak_rss / 1024,
            row.statements
                .as_ref()
                .map_or_else(|| "-".to_owned(), |n| n.statements.to_string()),
            row.small.p50_ms,
            row.viewer.p50_ms,
        );
    }
    for row in rows {
        if let Some((small, viewer)) = &row.by_key {
            println!(
                "{:<11} by API key: small p50 {:.3}ms (session {:.3}ms), viewer p50 {:.3}ms (session {:.3}ms), small req/s {:.1} (session {:.1})",
                row.label,
                small.p50_ms,
                row.small.p50_ms,
                viewer.p50_ms,
                row.viewer.p50_ms,
                small.per_second,
                row.small.per_second,
            );
        }
    }
    for row in rows {
        if let Some(counted) = &row.statements {
            println!(
                "{:<11} one dashboard request: {} statements, its execution polled {} times, {} batch rounds",
                row.label, counted.statements, counted.polls, counted.rounds
            );
        }
    }
    for row in rows {
        if let Some(fixed) = &row.fixed {
            println!(
                "{:<11} fixed rate: {} requests, p50 {:.2}ms, p99 {:.2}ms, max {:.2}ms",
                row.label, fixed.sent, fixed.p50_ms, fixed.p99_ms, fixed.max_ms
            );
        }
    }
    if let [current, baseline] = rows {
        println!(
            "ratio       {:>9.2}x {:>8.2}x {:>8.2}x {:>10.2}x {:>29} {:>11.2}x {:>11.2}x",
            current.dashboard.per_second / baseline.dashboard.per_second,
            baseline.dashboard.p50_ms / current.dashboard.p50_ms,
            baseline.dashboard.p99_ms / current.dashboard.p99_ms,
            baseline.cpu_ms_per_request / current.cpu_ms_per_request,
            "",
            baseline.small.p50_ms / current.small.p50_ms,
            baseline.viewer.p50_ms / current.viewer.p50_ms,
        );
    }
}
