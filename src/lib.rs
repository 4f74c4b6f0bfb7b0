//! Charter: a GraphQL identity and organization API.
//!
//! `main.rs` parses the command line; this library builds the application, so that the tests
//! run exactly what the binary serves.

pub mod auth;
pub mod authz;
pub mod certificate;
pub mod cli;
pub mod clientcert;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod http;
pub mod ldap;
pub mod mail;
pub mod metrics;
pub mod outbound;
pub mod saml;
pub mod scim;
pub mod services;
pub mod telemetry;
pub mod webhooks;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use auth::tokens::TokenIssuer;
use authz::Policy;
use config::Settings;
use services::AppState;

/// A ready application: its state and its HTTP routes.
pub struct App {
    pub state: AppState,
    pub router: axum::Router,
}

/// Connects to the configured database, migrates it and builds the application.
pub async fn build(settings: Settings) -> anyhow::Result<App> {
    let policy = load_policy(&settings)?;
    let db = db::connect(&settings).await?;
    build_with(settings, db, policy).await
}

/// Builds the application on an open database connection (tests set a statement counter on it).
pub async fn build_with(
    settings: Settings,
    db: DatabaseConnection,
    policy: Policy,
) -> anyhow::Result<App> {
    let undeclared = graphql::undeclared_requirements(&policy);
    anyhow::ensure!(
        undeclared.is_empty(),
        "the policy lacks what Charter's fields require:\n{}",
        undeclared.join("\n")
    );
    std::fs::create_dir_all(&settings.data_dir)?;
    let (keys, secrets) = db::exclusively(&db, async |conn: &DatabaseConnection| {
        db::apply_migrations(conn).await?;
        services::store::scope::write_unrecorded(conn, async |txn| {
            services::organization::roles::sync_predefined(txn, &policy)
                .await
                .map_err(|err| error::ApiError::new(error::ErrorCode::Internal, format!("{err:#}")))
        })
        .await
        .map_err(|err| anyhow::anyhow!("{}", err.message))?;
        // Keys that do not fit the other processes' stop start-up here, before any token is
        // signed or secret sealed with them.
        auth::key_store::open(conn, &settings).await
    })
    .await?;
    let tokens = TokenIssuer::new(
        keys,
        settings.issuer.clone(),
        settings.audience.clone(),
        settings.access_token_ttl,
    );
    auth::password::warm_up();
    let mailer = mailer(&settings)?;
    let sso = services::identity::sso::Runtime::new(&settings)?;
    let shared = services::Shared {
        mailer: Arc::new(mailer),
        sso: Arc::new(sso),
        secrets: Arc::new(secrets),
        webauthn: services::identity::mfa::webauthn::relying_party(&settings)?,
        webhooks: Arc::new(services::webhooks::Runtime::new(&settings)?),
        policy: Arc::new(policy),
        tokens: Arc::new(tokens),
        settings: Arc::new(settings),
    };
    let state = AppState::new(db, shared);
    let router = http::router(state.clone());
    Ok(App { state, router })
}

/// Where invitations go: the SMTP server of the settings, or the outbox in the data directory.
fn mailer(settings: &Settings) -> anyhow::Result<mail::Mailer> {
    Ok(match &settings.smtp_url {
        Some(url) => mail::Mailer::smtp(&mail::SmtpConfig {
            url: url.clone(),
            from: settings.mail_from.clone().ok_or_else(|| {
                anyhow::anyhow!("set mail_from (a real sender address) when smtp_url is set")
            })?,
        })?,
        None => mail::Mailer::outbox(&settings.data_dir),
    })
}

/// The policy in force: the file named in the settings, or the built-in one. A bad file stops
/// start-up with every problem it has.
pub fn load_policy(settings: &Settings) -> anyhow::Result<Policy> {
    match &settings.policy {
        None => Ok(Policy::built_in()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|err| anyhow::anyhow!("cannot read policy {}: {err}", path.display()))?;
            Policy::from_toml(&text)
                .map_err(|err| anyhow::anyhow!("policy {} is invalid:\n{err}", path.display()))
        }
    }
}
