//! The command line: `serve` (the default), `migrate`, `schema`, `policy check`, `bootstrap`,
//! `org`, `user`, `audit`, `keys`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{DataArgs, Settings};
use crate::services::{bootstrap, organization::organizations};

#[derive(Debug, Parser)]
#[command(
    name = "charter",
    version,
    about = "GraphQL identity and organization API"
)]
pub struct Cli {
    #[command(flatten)]
    pub data: DataArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database, then serve GraphQL at /graphql (the default command).
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long, env = "CHARTER_LISTEN")]
        listen: Option<SocketAddr>,
        /// Serve a fresh data directory seeded with example organizations, users and roles.
        #[arg(long)]
        demo: bool,
    },
    /// Apply the database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL), as committed in schema.graphql.
    Schema,
    /// Work with policy files.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Platform operations on organizations.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Platform operations on users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Verify, export and purge the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Rotate and list the token signing keys and the sealing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Create the first owner of a new organization. The password comes from
    /// CHARTER_BOOTSTRAP_PASSWORD; without it a generated one is printed once.
    Bootstrap {
        #[arg(long)]
        email: String,
        #[arg(long)]
        organization: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Change an organization's license and print it.
    License {
        /// The organization: its public id (`ORG-…`), its id as GraphQL shows it, or its
        /// internal id.
        #[arg(long)]
        organization: String,
        /// Licensed seats.
        #[arg(long)]
        seats: Option<i32>,
        /// Whether read-only roles take free seats.
        #[arg(long)]
        free_read_only_seats: Option<bool>,
        /// A feature to add (repeatable), e.g. `custom_roles`.
        #[arg(long = "feature")]
        features: Vec<String>,
        /// A feature to remove (repeatable).
        #[arg(long = "no-feature")]
        no_features: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Flag a user as a platform operator (or no longer, with --revoke).
    Operator {
        #[arg(long)]
        email: String,
        #[arg(long)]
        revoke: bool,
    },
    /// Disable an account (it cannot sign in; its sessions end), or re-enable it with --enable.
    Disable {
        #[arg(long)]
        email: String,
        #[arg(long)]
        enable: bool,
    },
    /// Remove a user's second factors and recovery codes (a lost phone); their sessions end.
    ResetMfa {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chains and name the first broken event of each broken chain.
    Verify {
        /// Only this organization (public id, GraphQL id or internal id).
        #[arg(long)]
        organization: Option<String>,
        /// Also prove that today's log extends every checkpoint in this file: the
        /// `audit.checkpoint` events a webhook receiver kept, as JSON Lines or a JSON array.
        #[arg(long)]
        checkpoints: Option<PathBuf>,
    },
    /// Write an organization's events to standard output as JSON Lines, oldest first.
    Export {
        #[arg(long)]
        organization: String,
        /// RFC 3339 time.
        #[arg(long)]
        from: Option<chrono::DateTime<chrono::Utc>>,
        #[arg(long)]
        to: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Remove events older than a time (or than the configured retention), recording it.
    Purge {
        /// RFC 3339 time.
        #[arg(long)]
        before: Option<chrono::DateTime<chrono::Utc>>,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// The signing keys (which signs, which are published) and the sealing keys.
    List,
    /// Schedule the next signing key to sign as soon as it has been published for a token's
    /// lifetime, and publish a new next key. Every process follows within key_refresh_seconds.
    Rotate,
    /// Make a new sealing key, wait until every process has read it, then re-seal every stored
    /// secret under it, in batches, while the service runs.
    RotateSealing,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate a policy file and print every problem.
    Check { file: PathBuf },
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let data = &cli.data;
    match cli.command.unwrap_or(Command::Serve {
        listen: None,
        demo: false,
    }) {
        Command::Serve { listen, demo } => serve(data, listen, demo).await,
        Command::Migrate => migrate(data).await,
        Command::Schema => {
            print!("{}", crate::graphql::sdl());
            Ok(())
        }
        Command::Policy {
            command: PolicyCommand::Check { file },
        } => check_policy(&file),
        Command::Org {
            command:
                OrgCommand::License {
                    organization,
                    seats,
                    free_read_only_seats,
                    features,
                    no_features,
                },
        } => {
            let change = organizations::LicenseChange {
                seats,
                free_read_only_seats,
                add_features: features,
                remove_features: no_features,
            };
            license(data, &organization, change).await
        }
        Command::User { command } => user(data, command).await,
        Command::Audit { command } => audit(data, command).await,
        Command::Keys { command } => keys(data, command).await,
        Command::Bootstrap {
            email,
            organization,
        } => bootstrap_owner(data, &email, &organization).await,
    }
}

async fn migrate(data: &DataArgs) -> anyhow::Result<()> {
    let settings = Settings::resolve(data, None)?;
    let db = crate::db::connect(&settings).await?;
    crate::db::migrate(&db).await?;
    println!("migrated {}", redact(&settings.effective_database_url()));
    Ok(())
}

fn check_policy(file: &std::path::Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file)
        .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", file.display()))?;
    match crate::authz::Policy::from_toml(&text) {
        Ok(policy) => {
            println!(
                "{}: ok ({} resources, {} roles, {} dependencies)",
                file.display(),
                policy.resources().len(),
                policy.roles().len(),
                policy.dependencies().len()
            );
            Ok(())
        }
        Err(problems) => {
            for problem in &problems.0 {
                eprintln!("{}: {problem}", file.display());
            }
            anyhow::bail!("{} problem(s) in {}", problems.0.len(), file.display())
        }
    }
}

async fn license(
    data: &DataArgs,
    organization: &str,
    change: organizations::LicenseChange,
) -> anyhow::Result<()> {
    let settings = Settings::resolve(data, None)?;
    let app = crate::build(settings).await?;
    let state = &app.state;
    let reference = crate::graphql::ids::organization_reference(organization);
    let org = organizations::find_by_reference(state, &reference)
        .await
        .map_err(api)?
        .ok_or_else(|| anyhow::anyhow!("no organization `{organization}`"))?;
    let actor = crate::services::audit::Actor::command_line();
    let org = organizations::change_license(state, &actor, org.id, change)
        .await
        .map_err(api)?;
    println!(
        "{} ({}): {} seats, free read-only seats {}, features [{}]",
        org.name,
        org.public_id,
        org.seats,
        if org.free_read_only_seats {
            "allowed"
        } else {
            "not allowed"
        },
        organizations::features(&org).join(", ")
    );
    Ok(())
}

async fn user(data: &DataArgs, command: UserCommand) -> anyhow::Result<()> {
    let settings = Settings::resolve(data, None)?;
    let app = crate::build(settings).await?;
    let actor = crate::services::audit::Actor::command_line();
    let state = &app.state;
    match command {
        UserCommand::Operator { email, revoke } => {
            let email = crate::domain::Email::parse("email", &email).map_err(api)?;
            let user =
                crate::services::identity::users::set_operator(state, &actor, &email, !revoke)
                    .await
                    .map_err(api)?;
            println!(
                "{} is {}a platform operator",
                user.email,
                if user.is_operator { "" } else { "no longer " }
            );
        }
        UserCommand::Disable { email, enable } => {
            let email = crate::domain::Email::parse("email", &email).map_err(api)?;
            let user =
                crate::services::identity::users::set_disabled(&app.state, &actor, &email, !enable)
                    .await
                    .map_err(api)?;
            println!("{} is {}", user.email, user.status);
        }
        UserCommand::ResetMfa { email } => {
            let email = crate::domain::Email::parse("email", &email).map_err(api)?;
            let removed = crate::services::identity::mfa::reset(&app.state, &actor, &email)
                .await
                .map_err(api)?;
            println!(
                "{}: {removed} second factor(s) removed, sessions ended",
                email.as_str()
            );
        }
    }
    Ok(())
}

async fn keys(data: &DataArgs, command: KeysCommand) -> anyhow::Result<()> {
    use crate::services::keys;
    let settings = Settings::resolve(data, None)?;
    let app = crate::build(settings.clone()).await?;
    let state = &app.state;
    match command {
        KeysCommand::List => list_keys(state).await,
        KeysCommand::Rotate => {
            let rotation = keys::rotate_signing(state).await?;
            println!(
                "signing key {} signs from {}; next key {} published",
                rotation.kid,
                rotation.signs_from.to_rfc3339(),
                rotation.next
            );
            Ok(())
        }
        KeysCommand::RotateSealing => {
            let id = keys::add_sealing_key(state).await?;
            let wait = settings.key_refresh * 2;
            println!(
                "sealing key {id} made; waiting {} s for every process to read it",
                wait.as_secs()
            );
            tokio::time::sleep(wait).await;
            let report = keys::reseal(state).await?;
            println!(
                "re-sealed {} value(s) under {id} ({} changed meanwhile and were read again)",
                report.resealed, report.raced
            );
            for (key, count) in &report.by_key {
                println!("  key {key}: {count} value(s)");
            }
            anyhow::ensure!(
                report.unopened.is_empty(),
                "{} value(s) did not open and were left as they are: {}",
                report.unopened.len(),
                report.unopened.join(", ")
            );
            Ok(())
        }
    }
}

/// Prints the secrets key's id, every signing key with its part now, and the sealing keys.
async fn list_keys(state: &crate::services::AppState) -> anyhow::Result<()> {
    let secrets = &state.secrets;
    println!(
        "secrets key {} ({})",
        secrets.file().id(),
        secrets.path().display()
    );
    let (signing, sealed) = crate::services::keys::list(state).await?;
    if let Some(path) = &state.settings.signing_key {
        let ring = state.tokens.keys();
        println!(
            "signing key {} (file {})",
            ring.current().kid,
            path.display()
        );
    }
    for key in &signing {
        let from = key
            .signs_from
            .map_or_else(|| "not scheduled".to_owned(), |at| at.to_rfc3339());
        println!("signing key {} {:<9} signs from {from}", key.kid, key.part);
    }
    let newest = secrets.sealing_key_id().unwrap_or_default();
    for (key, count) in &sealed {
        let part = if *key == newest { " (sealing)" } else { "" };
        println!("sealing key {key}{part}: {count} value(s)");
    }
    Ok(())
}

async fn bootstrap_owner(data: &DataArgs, email: &str, organization: &str) -> anyhow::Result<()> {
    let settings = Settings::resolve(data, None)?;
    let app = crate::build(settings).await?;
    let (password, generated) = match std::env::var("CHARTER_BOOTSTRAP_PASSWORD") {
        Ok(password) if !password.is_empty() => (password, false),
        _ => (bootstrap::generate_password(), true),
    };
    let (user, org) = bootstrap::bootstrap(&app.state, email, organization, &password)
        .await
        .map_err(api)?;
    println!(
        "created {} as owner of {} ({})",
        user.email, org.name, org.public_id
    );
    if generated {
        println!("password (shown once): {password}");
    }
    Ok(())
}

/// The settings `serve` runs with: `--demo` gets a fresh data directory of its own.
fn serve_settings(
    data: &DataArgs,
    listen: Option<SocketAddr>,
    demo: bool,
) -> anyhow::Result<Settings> {
    let mut settings = Settings::resolve(data, listen)?;
    if demo {
        anyhow::ensure!(
            settings.database_url.is_none(),
            "--demo runs on a fresh embedded SQLite database; unset DATABASE_URL"
        );
        if data.data_dir.is_none() {
            settings.data_dir =
                std::env::temp_dir().join(format!("charter-demo-{}", uuid::Uuid::now_v7()));
        }
        anyhow::ensure!(
            !settings.data_dir.join("charter.db").exists(),
            "--demo needs a fresh data directory; {} already holds a database",
            settings.data_dir.display()
        );
    }
    Ok(settings)
}

async fn serve(data: &DataArgs, listen: Option<SocketAddr>, demo: bool) -> anyhow::Result<()> {
    let settings = serve_settings(data, listen, demo)?;
    let app = crate::build(settings.clone()).await?;
    if demo {
        seed_and_show_demo(&app, &settings).await?;
    }
    spawn_maintenance(&app, &settings);
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|err| anyhow::anyhow!("cannot listen on {}: {err}", settings.listen))?;
    tracing::info!(
        address = %listener.local_addr()?,
        database = %redact(&settings.effective_database_url()),
        "serving GraphQL at /graphql"
    );
    // One signal stops both the listener and the webhook deliveries, which then get the
    // same grace to finish or release what they hold.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let delivery = tokio::spawn(crate::services::webhooks::worker::run(
        app.state.clone(),
        until_stopped(stopped.clone()),
    ));
    let tls = spawn_tls_listener(
        &settings,
        app.router.clone(),
        until_stopped(stopped.clone()),
    )
    .await?;
    let metrics = spawn_metrics_listener(&settings, &app, until_stopped(stopped.clone())).await?;
    crate::http::serve(
        listener,
        app.router,
        settings.timeouts,
        until_stopped(stopped),
    )
    .await?;
    let _ = delivery.await;
    for side in [tls, metrics].into_iter().flatten() {
        let _ = side.await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// The listener of `metrics_listen`, when set: `/metrics` alone.
async fn spawn_metrics_listener(
    settings: &Settings,
    app: &crate::App,
    stopped: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Option<tokio::task::JoinHandle<std::io::Result<()>>>> {
    let Some(address) = settings.metrics_listen else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|err| anyhow::anyhow!("cannot listen on {address} (metrics_listen): {err}"))?;
    tracing::info!(address = %listener.local_addr()?, "serving /metrics");
    let router = crate::http::metrics_router(app.state.clone());
    Ok(Some(tokio::spawn(crate::http::serve(
        listener,
        router,
        settings.timeouts,
        stopped,
    ))))
}

/// Charter's own TLS listener, when `tls_listen` is set: it asks browsers for a client
/// certificate (smart-card sign-in) and serves the same routes.
async fn spawn_tls_listener(
    settings: &Settings,
    router: axum::Router,
    stopped: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Option<tokio::task::JoinHandle<std::io::Result<()>>>> {
    let (Some(address), Some(certificate), Some(key)) = (
        settings.sso.tls_listen,
        &settings.sso.tls_certificate,
        &settings.sso.tls_key,
    ) else {
        return Ok(None);
    };
    let config = crate::http::tls::server_config(certificate, key)?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|err| anyhow::anyhow!("cannot listen on {address} (tls_listen): {err}"))?;
    tracing::info!(address = %listener.local_addr()?, "serving TLS with client certificates");
    let timeouts = settings.timeouts;
    Ok(Some(tokio::spawn(crate::http::serve_tls(
        listener, router, timeouts, config, stopped,
    ))))
}

/// Seeds the demo's organizations and people and prints how to sign in as them.
async fn seed_and_show_demo(app: &crate::App, settings: &Settings) -> anyhow::Result<()> {
    let logins = bootstrap::seed_demo(&app.state)
        .await
        .map_err(|err| anyhow::anyhow!("seeding the demo failed: {}", err.message))?;
    println!("Demo data in {}", settings.data_dir.display());
    println!(
        "Sign in to the console at http://{0}/console (or GraphiQL at http://{0}/graphiql) with:",
        settings.listen
    );
    for login in &logins {
        println!(
            "  {:<24} {}  ({})",
            login.email, login.password, login.summary
        );
    }
    for login in &logins {
        if let Some((secret, uri)) = &login.totp {
            println!(
                "{} also signs in with an authenticator app: the login answers an mfaChallenge; \
                 give verifyMfa its code. The app's secret is {secret}, or scan {uri}",
                login.email
            );
        }
    }

    Ok(())
}

/// The periodic upkeep a serving process does: the audit log's retention (when configured)
/// daily; expired sign-in throttles, used SAML assertions and revocation lists fetched from a
/// URL hourly.
fn spawn_maintenance(app: &crate::App, settings: &Settings) {
    spawn_key_refresh(app, settings);
    if let Some(days) = settings.audit_retention_days {
        let state = app.state.clone();
        tokio::spawn(async move {
            let mut daily = tokio::time::interval(std::time::Duration::from_secs(24 * 60 * 60));
            loop {
                daily.tick().await;
                let before = chrono::Utc::now() - chrono::Duration::days(days);
                let actor = crate::services::audit::Actor::command_line();
                match crate::services::audit::purge(&state, &actor, before).await {
                    Ok(removed) => tracing::info!(removed, %before, "audit retention applied"),
                    Err(err) => tracing::error!(error = %err.message, "audit retention failed"),
                }
            }
        });
    }
    let state = app.state.clone();
    tokio::spawn(async move {
        let mut hourly = tokio::time::interval(std::time::Duration::from_secs(60 * 60));
        loop {
            hourly.tick().await;
            if let Err(err) = crate::services::identity::credentials::purge_throttles(&state).await
            {
                tracing::error!(error = %err.message, "purging sign-in throttles failed");
            }
            if let Err(err) = crate::services::identity::sso::replay::purge(&state).await {
                tracing::error!(error = %err.message, "purging used SAML assertions failed");
            }
            if let Err(err) =
                crate::services::identity::sso::certificate::refresh_crls(&state).await
            {
                tracing::error!(error = %err.message, "refreshing revocation lists failed");
            }
        }
    });
}

/// Reads the keys in the database again every `key_refresh_seconds`, rotating the signing key
/// when it is due: what one process or `charter keys` changes, every process follows.
fn spawn_key_refresh(app: &crate::App, settings: &Settings) {
    let state = app.state.clone();
    let mut every = tokio::time::interval(settings.key_refresh);
    tokio::spawn(async move {
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.tick().await;
        loop {
            every.tick().await;
            if let Err(err) = crate::services::keys::refresh(&state).await {
                tracing::error!(error = %format!("{err:#}"), "reading the keys again failed");
            }
        }
    });
}

async fn audit(data: &DataArgs, command: AuditCommand) -> anyhow::Result<()> {
    use crate::services::audit::{self, Actor, Scope};
    let settings = Settings::resolve(data, None)?;
    let retention = settings.audit_retention_days;
    let app = crate::build(settings).await?;
    let state = &app.state;
    let organization = |reference: String| async move {
        let found = crate::graphql::ids::organization_reference(&reference);
        organizations::find_by_reference(state, &found)
            .await
            .map_err(api)?
            .ok_or_else(|| anyhow::anyhow!("no organization `{reference}`"))
    };
    match command {
        AuditCommand::Verify {
            organization: only,
            checkpoints,
        } => {
            let chain = match only {
                Some(reference) => {
                    Some(Scope::Organization(organization(reference).await?.id).chain())
                }
                None => None,
            };
            verify_chains(state, chain.as_deref(), checkpoints.as_deref()).await
        }
        AuditCommand::Export {
            organization: reference,
            from,
            to,
        } => {
            let org = organization(reference).await?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let written = audit::export(state, Scope::Organization(org.id), from, to, &mut out)
                .await
                .map_err(api)?;
            tracing::info!(events = written, "exported");
            Ok(())
        }
        AuditCommand::Purge { before } => {
            let before = match (before, retention) {
                (Some(before), _) => before,
                (None, Some(days)) => chrono::Utc::now() - chrono::Duration::days(days),
                (None, None) => anyhow::bail!(
                    "give --before, or configure audit_retention_days (events are kept forever by default)"
                ),
            };
            let removed = audit::purge(state, &Actor::command_line(), before)
                .await
                .map_err(api)?;
            println!("removed {removed} event(s) older than {before}");
            Ok(())
        }
    }
}

/// Verifies the audit chains (or `chain` alone) and prints what is broken; then, when given,
/// the checkpoints of `checkpoints`.
async fn verify_chains(
    state: &crate::services::AppState,
    chain: Option<&str>,
    checkpoints: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let (checked, broken) = crate::services::audit::verify(state, chain)
        .await
        .map_err(api)?;
    if broken.is_empty() {
        println!("ok: {checked} event(s) verified");
        return match checkpoints {
            Some(file) => verify_checkpoints(state, file).await,
            None => Ok(()),
        };
    }
    for problem in &broken {
        eprintln!(
            "{}: event {} (seq {}): {}",
            problem.chain, problem.event_id, problem.seq, problem.reason
        );
    }
    anyhow::bail!("{} broken chain(s)", broken.len())
}

/// Proves that the log extends every checkpoint in `file` (JSON Lines, or one JSON array, of
/// `audit.checkpoint` bodies or their `data`), printing one line per checkpoint.
async fn verify_checkpoints(
    state: &crate::services::AppState,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    use crate::services::webhooks::{checkpoints, payload::Checkpoint};
    let text = std::fs::read_to_string(file)
        .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", file.display()))?;
    let values: Vec<serde_json::Value> = match serde_json::from_str(&text) {
        Ok(serde_json::Value::Array(items)) => items,
        _ => text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()
            .map_err(|err| anyhow::anyhow!("{} is not JSON Lines: {err}", file.display()))?,
    };
    anyhow::ensure!(!values.is_empty(), "{} holds no checkpoint", file.display());
    let mut failed = 0;
    let mut parsed = Vec::with_capacity(values.len());
    for (line, value) in values.iter().enumerate() {
        match Checkpoint::from_json(value) {
            Some(checkpoint) => parsed.push(checkpoint),
            None => {
                eprintln!("checkpoint {}: not a checkpoint", line + 1);
                failed += 1;
            }
        }
    }
    let verdicts = checkpoints::verify(state, &parsed).await.map_err(api)?;
    for (checkpoint, verdict) in parsed.iter().zip(verdicts) {
        let place = format!(
            "organization {} at seq {}",
            checkpoint.organization_id, checkpoint.seq
        );
        match verdict {
            Ok(()) => println!("ok: {place}"),
            Err(reason) => {
                eprintln!("{place}: {reason}");
                failed += 1;
            }
        }
    }
    anyhow::ensure!(
        failed == 0,
        "{failed} of {} checkpoint(s) do not verify",
        values.len()
    );
    Ok(())
}

/// A service error as a command-line error (its message is safe to show).
fn api(err: crate::error::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{}", err.message)
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}

/// A database URL without its password, for logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
