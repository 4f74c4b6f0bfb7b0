//! A Charter server per test: port 0, a fresh database (a new SQLite file, or a new PostgreSQL
//! database when DATABASE_URL names a server), and a counter of the SQL statements it sends.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use charter::config::Settings;
use charter::services::AppState;
use entity::{organization, user};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Database};
use serde_json::{Value, json};
use uuid::Uuid;

pub const PASSWORD: &str = "correct-horse-battery";

pub struct TestApp {
    /// Charter's TLS listener (client certificates), when the test configured one.
    pub tls_address: Option<String>,
    pub address: String,
    pub state: AppState,
    pub statements: Arc<AtomicUsize>,
    pub client: reqwest::Client,
    _data_dir: tempfile::TempDir,
    _database: FreshDatabase,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Charter's TLS listener beside the test server, when the settings give its certificate and
/// key (`tls_listen` is taken as "any free port"): its `https://` address.
async fn serve_tls(app: &charter::App) -> Option<String> {
    let settings = &app.state.settings.sso;
    let (Some(certificate), Some(key)) = (&settings.tls_certificate, &settings.tls_key) else {
        return None;
    };
    let config = charter::http::tls::server_config(certificate, key).expect("TLS settings");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("https://{}", listener.local_addr().unwrap());
    let timeouts = app.state.settings.timeouts;
    tokio::spawn(charter::http::serve_tls(
        listener,
        app.router.clone(),
        timeouts,
        config,
        std::future::pending(),
    ));
    Some(address)
}

/// Security keys need a WebAuthn origin with a name: the server's own port at `localhost`,
/// where the browser tests open it. Returns that origin.
pub fn webauthn_on_localhost(settings: &mut Settings) -> String {
    let port = settings
        .sso
        .public_url
        .as_deref()
        .and_then(|url| url.rsplit(':').next())
        .expect("the test server's public URL")
        .to_owned();
    let origin = format!("http://localhost:{port}");
    settings.webauthn_rp_id = Some("localhost".to_owned());
    settings.webauthn_origins = vec![origin.clone()];
    origin
}

/// A signed-in user of a test.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: String,
    pub access_token: String,
    pub refresh_token: String,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> Self {
        let data_dir = tempfile::tempdir().expect("a temporary directory");
        let mut settings = Settings::for_data_dir(data_dir.path());
        settings.database_max_connections = Some(4);
        let database = FreshDatabase::create().await;
        settings.database_url = database.url.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let address = format!("http://{}", listener.local_addr().unwrap());
        // What browsers would reach: single sign-on's callback is on it.
        settings.sso.public_url = Some(address.clone());
        configure(&mut settings);
        let mut db = charter::db::connect(&settings).await.expect("database");
        let statements = Arc::new(AtomicUsize::new(0));
        let counter = statements.clone();
        db.set_metric_callback(move |info| {
            if std::env::var("PRINT_SQL").is_ok() {
                eprintln!("SQL: {}", info.statement);
            }
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let policy = charter::load_policy(&settings).expect("policy");
        let app = charter::build_with(settings, db, policy)
            .await
            .expect("the application builds");
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let timeouts = app.state.settings.timeouts;
        let tls_address = serve_tls(&app).await;
        tokio::spawn(charter::http::serve(
            listener,
            app.router,
            timeouts,
            async move {
                let _ = stop.await;
            },
        ));
        TestApp {
            address,
            tls_address,
            state: app.state,
            statements,
            client: reqwest::Client::new(),
            _data_dir: data_dir,
            _database: database,
            shutdown: Some(shutdown),
        }
    }

    /// The newest invitation token written to the outbox for `email`.
    pub fn invitation_token(&self, email: &str) -> String {
        let dir = self._data_dir.path().join("outbox");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("an outbox")
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .rev()
            .map(|path| std::fs::read_to_string(path).unwrap())
            .find(|text| text.contains(&format!("To: {email}")))
            .and_then(|text| {
                text.split_whitespace()
                    .find(|word| word.starts_with("chi_"))
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| panic!("no invitation for {email} in {}", dir.display()))
    }

    /// Posts a GraphQL request and returns the decoded response body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the server answers");
        response.json().await.expect("a JSON body")
    }

    /// Creates an active user with [`PASSWORD`] directly in the database.
    pub async fn create_user(&self, email: &str) -> user::Model {
        let email = charter::domain::Email::parse("email", email).unwrap();
        let hash = password_hash().await;
        let name = email.as_str().split('@').next().unwrap().to_owned();
        let actor = charter::services::audit::Actor::command_line();
        charter::services::store::scope::write(self.state.database(), &actor, async |txn| {
            let (user, created) =
                charter::services::identity::users::create(txn, &email, name, Some(hash)).await?;
            Ok((user, vec![created]))
        })
        .await
        .expect("a new user")
    }

    /// Creates an organization owned by `owner`.
    pub async fn create_org(&self, owner: &user::Model, name: &str) -> organization::Model {
        charter::services::organization::organizations::create(
            &self.state,
            &charter::services::audit::Actor::user(owner, &Default::default()),
            owner.id,
            charter::domain::OrganizationName::parse("name", name).unwrap(),
        )
        .await
        .expect("a new organization")
    }

    /// Licenses `org` for custom roles.
    pub async fn license_custom_roles(&self, org: &organization::Model) {
        charter::services::organization::organizations::change_license(
            &self.state,
            &charter::services::audit::Actor::command_line(),
            org.id,
            charter::services::organization::organizations::LicenseChange {
                add_features: vec!["custom_roles".into()],
                ..Default::default()
            },
        )
        .await
        .expect("a custom-roles license");
    }

    /// Adds `user` to `org` with the predefined role `role_key`.
    pub async fn add_member(&self, user: &user::Model, org: &organization::Model, role_key: &str) {
        let role = self
            .state
            .policy
            .role_by_key(role_key)
            .expect("a predefined role");
        charter::services::store::records::new_membership(user, org.id, role.id, &role.name, None)
            .insert(self.state.database())
            .await
            .expect("a new membership");
    }

    pub async fn login(&self, email: &str) -> Session {
        self.login_to(email, None).await
    }

    pub async fn login_to(&self, email: &str, organization_id: Option<&str>) -> Session {
        let body = self
            .gql(
                None,
                "mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken user { id } } }",
                json!({ "input": { "email": email, "password": PASSWORD, "organizationId": organization_id } }),
            )
            .await;
        let login = &body["data"]["login"];
        assert!(login.is_object(), "login failed: {body}");
        Session {
            user_id: login["user"]["id"].as_str().unwrap().to_owned(),
            access_token: login["accessToken"].as_str().unwrap().to_owned(),
            refresh_token: login["refreshToken"].as_str().unwrap().to_owned(),
        }
    }

    /// Resets the statement counter, runs `query`, and returns the response and how many SQL
    /// statements it took.
    /// What `user` may change in `organization` under `requirement`, through the same gate a
    /// request passes, acting as the command line (for fixtures built below the API).
    pub async fn change_in(
        &self,
        user: uuid::Uuid,
        organization: uuid::Uuid,
        requirement: charter::authz::Requirement,
    ) -> charter::services::store::scope::OrgChange {
        charter::services::store::scope::OrgScope::enter(
            self.state.database(),
            &self.state.policy,
            &charter::services::store::access::Viewer::user(user),
            "organization",
            organization,
            requirement,
        )
        .await
        .expect("the user passes the gate")
        .change_as(charter::services::audit::Actor::command_line())
    }

    /// Makes the second-factor check of every session of `user_id` `minutes` old (past the
    /// step-up window when it is more than ten).
    pub async fn age_second_factor(&self, user_id: Uuid, minutes: i64) {
        use sea_orm::sea_query::Expr;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let old = chrono::Utc::now() - chrono::Duration::minutes(minutes);
        entity::session::Entity::update_many()
            .col_expr(entity::session::Column::MfaAt, Expr::value(old))
            .filter(entity::session::Column::UserId.eq(user_id))
            .exec(self.state.database())
            .await
            .expect("sessions aged");
    }

    pub async fn count_statements(&self, token: &str, query: &str) -> (Value, usize) {
        self.statements.store(0, Ordering::SeqCst);
        let body = self.gql(Some(token), query, json!({})).await;
        (body, self.statements.load(Ordering::SeqCst))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// A database of a test's own: a new PostgreSQL database when DATABASE_URL names a server
/// (dropped with this value), or else none, and the test uses a new SQLite file.
pub struct FreshDatabase {
    /// The URL to give Charter; `None` for SQLite in the data directory.
    pub url: Option<String>,
    postgres: Option<(String, String)>,
}

impl FreshDatabase {
    pub async fn create() -> Self {
        let Ok(admin_url) = std::env::var("DATABASE_URL") else {
            return Self {
                url: None,
                postgres: None,
            };
        };
        if !admin_url.starts_with("postgres") {
            return Self {
                url: None,
                postgres: None,
            };
        }
        let name = format!("charter_test_{}", Uuid::new_v4().simple());
        let admin = Database::connect(&admin_url)
            .await
            .expect("the PostgreSQL server of DATABASE_URL answers");
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("a fresh test database");
        admin.close().await.ok();
        Self {
            url: Some(with_database(&admin_url, &name)),
            postgres: Some((admin_url, name)),
        }
    }
}

impl FreshDatabase {
    /// The URL several processes share: the PostgreSQL database, or else a SQLite file in
    /// `dir` (each process's own data directory would give each its own file).
    pub fn shared_url(&self, dir: &std::path::Path) -> String {
        self.url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.join("charter.db").display()))
    }
}

/// Builds the application (migrations and start-up checks, no server) from `data_dir` on the
/// database at `database_url`, as one more process on that database would start.
pub async fn start_process(
    data_dir: &std::path::Path,
    database_url: &str,
    configure: impl FnOnce(&mut Settings),
) -> anyhow::Result<charter::App> {
    let mut settings = Settings::for_data_dir(data_dir);
    settings.database_max_connections = Some(2);
    settings.database_url = Some(database_url.to_owned());
    configure(&mut settings);
    charter::build(settings).await
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.postgres.take() {
            // The test's runtime is ending; drop its database from a runtime of our own. FORCE
            // ends the test's own pooled connections.
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                runtime.block_on(async move {
                    if let Ok(admin) = Database::connect(&admin_url).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await;
                        let _ = admin.close().await;
                    }
                });
            })
            .join()
            .ok();
        }
    }
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let root = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{root}/{name}?{query}"),
        None => format!("{root}/{name}"),
    }
}

/// One argon2 hash of [`PASSWORD`], computed once per test binary.
async fn password_hash() -> String {
    static HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    HASH.get_or_init(|| async {
        charter::auth::password::hash(PASSWORD.to_owned())
            .await
            .expect("hashing")
    })
    .await
    .clone()
}

/// The `extensions.code` of the first error of a response.
pub fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error with a code: {body}"))
}

/// The global id of an organization.
pub fn org_id(org: &organization::Model) -> String {
    charter::graphql::ids::NodeId::Organization(org.id)
        .to_id()
        .0
}

/// Every argument and input field of the schema whose type is one of `scalars` (also in lists
/// and nested inputs), as `Type.field(argument.inputField)`, read by introspection.
pub async fn arguments_of_type(app: &TestApp, scalars: &[&str]) -> BTreeSet<String> {
    let body = app
        .gql(
            None,
            "{ __schema { types { name kind fields { name args { name type { ...T } } }
               inputFields { name type { ...T } } } } }
             fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }",
            json!({}),
        )
        .await;
    let types = body["data"]["__schema"]["types"]
        .as_array()
        .unwrap()
        .clone();
    fn named(ty: &Value) -> &str {
        match ty["name"].as_str() {
            Some(name) => name,
            None => named(&ty["ofType"]),
        }
    }
    let inputs: std::collections::HashMap<&str, &Value> = types
        .iter()
        .filter(|t| t["kind"] == "INPUT_OBJECT")
        .map(|t| (t["name"].as_str().unwrap(), &t["inputFields"]))
        .collect();
    fn walk(
        inputs: &std::collections::HashMap<&str, &Value>,
        scalars: &[&str],
        prefix: String,
        ty: &str,
        out: &mut BTreeSet<String>,
    ) {
        match ty {
            scalar if scalars.contains(&scalar) => {
                out.insert(format!("{prefix})"));
            }
            input if inputs.contains_key(input) => {
                for field in inputs[input].as_array().unwrap() {
                    let name = field["name"].as_str().unwrap();
                    walk(
                        inputs,
                        scalars,
                        format!("{prefix}.{name}"),
                        named(&field["type"]),
                        out,
                    );
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    for ty in &types {
        let type_name = ty["name"].as_str().unwrap();
        if type_name.starts_with("__") {
            continue;
        }
        for field in ty["fields"].as_array().into_iter().flatten() {
            for arg in field["args"].as_array().unwrap() {
                let prefix = format!(
                    "{type_name}.{}({}",
                    field["name"].as_str().unwrap(),
                    arg["name"].as_str().unwrap()
                );
                walk(&inputs, scalars, prefix, named(&arg["type"]), &mut out);
            }
        }
    }
    out
}
