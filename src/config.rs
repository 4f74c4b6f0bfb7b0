//! Settings and their defaults, from flags, environment and an optional TOML file.
//!
//! Precedence: a flag or environment variable, then the configuration file, then the default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde::Deserialize;

/// Options every command that touches data takes.
#[derive(Debug, Clone, Default, Args)]
pub struct DataArgs {
    /// Directory for the SQLite database, signing keys and the mail outbox [default: ./data].
    #[arg(long, env = "CHARTER_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,

    /// Database URL; `postgres://…` for PostgreSQL. Default: SQLite `charter.db` in the data directory.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Policy file (TOML) replacing the built-in permission matrix.
    #[arg(long, env = "CHARTER_POLICY", global = true)]
    pub policy: Option<PathBuf>,

    /// Optional TOML configuration file with any of the settings below.
    #[arg(long, env = "CHARTER_CONFIG", global = true)]
    pub config: Option<PathBuf>,
}

/// The configuration file's shape: every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<SocketAddr>,
    metrics_listen: Option<SocketAddr>,
    log_format: Option<LogFormat>,
    otlp_endpoint: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    policy: Option<PathBuf>,
    signing_key: Option<PathBuf>,
    signing_key_rotation_days: Option<i64>,
    key_refresh_seconds: Option<u64>,
    issuer: Option<String>,
    audience: Option<String>,
    access_token_minutes: Option<i64>,
    refresh_token_days: Option<i64>,
    session_days: Option<i64>,
    default_seats: Option<i32>,
    max_query_depth: Option<usize>,
    max_query_complexity: Option<usize>,
    database_max_connections: Option<u32>,
    audit_retention_days: Option<i64>,
    invitations_per_day: Option<u32>,
    trusted_proxies: Option<Vec<String>>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    header_read_timeout_seconds: Option<u64>,
    body_read_timeout_seconds: Option<u64>,
    request_timeout_seconds: Option<u64>,
    shutdown_grace_seconds: Option<u64>,
    database_acquire_timeout_seconds: Option<u64>,
    database_statement_timeout_seconds: Option<u64>,
    public_url: Option<String>,
    sso_return_origins: Option<Vec<String>>,
    sso_allow_insecure_issuers: Option<bool>,
    ldap_allow_plain: Option<bool>,
    tls_listen: Option<SocketAddr>,
    tls_certificate: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    ldap_timeout_seconds: Option<u64>,
    dns_server: Option<SocketAddr>,
    secrets_key: Option<PathBuf>,
    mfa_step_up_minutes: Option<i64>,
    webauthn_rp_id: Option<String>,
    webauthn_origins: Option<Vec<String>>,
    outbound_allow: Option<Vec<String>>,
    outbound_timeout_seconds: Option<u64>,
    webhook_allow_http: Option<bool>,
    webhook_timeout_seconds: Option<u64>,
    webhook_poll_milliseconds: Option<u64>,
    audit_checkpoint_minutes: Option<u64>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Resolved settings of one process.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    /// A separate address that serves `/metrics` alone (then the main listener does not).
    pub metrics_listen: Option<SocketAddr>,
    /// Log lines as text (the default) or JSON.
    pub log_format: LogFormat,
    /// Where traces go over OTLP/HTTP (`http://collector:4318`); none sends no traces.
    pub otlp_endpoint: Option<String>,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub policy: Option<PathBuf>,
    /// A key file to sign with instead of the database's keys (then rotation is the
    /// operator's).
    pub signing_key: Option<PathBuf>,
    /// Days a database signing key signs before the next one takes over.
    pub signing_key_rotation_days: i64,
    /// How often a process reads the keys in the database again.
    pub key_refresh: Duration,
    pub issuer: String,
    pub audience: String,
    pub access_token_ttl: chrono::Duration,
    pub refresh_token_ttl: chrono::Duration,
    pub session_ttl: chrono::Duration,
    pub default_seats: i32,
    pub max_query_depth: usize,
    pub max_query_complexity: usize,
    /// Size of the connection pool (default: 8 on SQLite, 16 on PostgreSQL).
    pub database_max_connections: Option<u32>,
    /// Days of audit events to keep; `None` keeps them forever.
    pub audit_retention_days: Option<i64>,
    /// Invitations an organization may send in 24 hours.
    pub invitations_per_day: u32,
    /// Proxies whose `X-Forwarded-For` is believed for the client's address (IPs or CIDRs).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// SMTP server for invitation mail; without it, mail goes to `<data-dir>/outbox/`.
    pub smtp_url: Option<String>,
    /// The `From` of mail sent over SMTP.
    pub mail_from: Option<String>,
    /// Bounds on slow or idle clients, and on the drain at shutdown.
    pub timeouts: Timeouts,
    /// How long a request waits for a pooled database connection before failing.
    pub database_acquire_timeout: Duration,
    /// How long PostgreSQL lets one statement run before cancelling it.
    pub database_statement_timeout: Duration,
    /// Single sign-on and verified domains.
    pub sso: SsoSettings,
    /// How recent a session's second-factor check must be for a sensitive change.
    pub mfa_step_up: chrono::Duration,
    /// The WebAuthn relying party id (a domain: the public URL's host by default).
    pub webauthn_rp_id: Option<String>,
    /// The origins security keys may answer from (the public URL's origin by default).
    pub webauthn_origins: Vec<String>,
    /// Requests to URLs administrators give (identity providers).
    pub outbound: OutboundSettings,
    /// Delivering the audit log to webhook endpoints.
    pub webhooks: WebhookSettings,
}

/// How webhook deliveries are made. Their addresses go through the outbound guard
/// ([`OutboundSettings::allow`]).
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Lets endpoints be `http://` URLs (a receiver on loopback in development and tests);
    /// otherwise only `https://` endpoints are accepted.
    pub allow_http: bool,
    /// How long one delivery attempt may take, from connecting to the end of the answer.
    pub timeout: Duration,
    /// How often each process looks for due deliveries.
    pub poll: Duration,
    /// How often each organization's audit chain head is signed (when it moved).
    pub checkpoint_every: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_http: false,
            timeout: Duration::from_secs(15),
            poll: Duration::from_secs(1),
            checkpoint_every: Duration::from_secs(60 * 60),
        }
    }
}

impl WebhookSettings {
    /// How long a process holds a claimed delivery before another may take it: long enough for
    /// the attempt's timeout twice over, so a live process never loses one it is sending.
    pub fn lease(&self) -> Duration {
        self.timeout * 2 + Duration::from_secs(5)
    }
}

/// What requests to administrator-given URLs may reach, and how long they may take.
#[derive(Debug, Clone)]
pub struct OutboundSettings {
    /// Networks outside the public internet (loopback, private, link-local, …) that such
    /// requests may reach all the same: an identity provider on the internal network, or on
    /// loopback in development. Every other special-use address is refused.
    pub allow: Vec<ipnet::IpNet>,
    /// How long one request may take, from connecting to the end of the answer.
    pub timeout: Duration,
}

impl Default for OutboundSettings {
    fn default() -> Self {
        Self {
            allow: Vec::new(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Where Charter is reached from outside, where single sign-on may send people back to, and how
/// it checks domains and providers.
#[derive(Debug, Clone)]
pub struct SsoSettings {
    /// Charter's own URL as browsers reach it (`https://id.example.com`), without a trailing
    /// slash: the provider sends people back to `<public_url>/sso/callback`. Without it,
    /// single sign-on cannot be configured.
    pub public_url: Option<String>,
    /// Origins (`https://app.example.com`) a finished sign-in may return to, besides the pages
    /// of Charter's own console under `public_url`; any other `return_to` is refused, so
    /// Charter is no open redirect.
    pub return_origins: Vec<String>,
    /// Lets issuers be `http://` URLs (a provider on loopback in development and tests);
    /// otherwise only `https://` issuers are accepted.
    pub allow_insecure_issuers: bool,
    /// The DNS server domain challenges are looked up through; the system's resolvers when
    /// unset.
    pub dns_server: Option<SocketAddr>,
    /// The key file that seals stored secrets; `<data_dir>/keys/secrets.key` when unset.
    pub secrets_key: Option<PathBuf>,
    /// Lets a directory be reached in clear (`ldap://` without StartTLS; a directory on
    /// loopback in development and tests).
    pub ldap_allow_plain: bool,
    /// How long one exchange with a directory may take in all (a sign-in's search and binds).
    pub ldap_timeout: Duration,
    /// Charter's own TLS listener, which asks for client certificates (smart cards): where it
    /// listens, and its certificate chain and key (PEM files).
    pub tls_listen: Option<SocketAddr>,
    pub tls_certificate: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

impl Default for SsoSettings {
    fn default() -> Self {
        Self {
            public_url: None,
            return_origins: Vec::new(),
            allow_insecure_issuers: false,
            dns_server: None,
            secrets_key: None,
            ldap_allow_plain: false,
            ldap_timeout: Duration::from_secs(5),
            tls_listen: None,
            tls_certificate: None,
            tls_key: None,
        }
    }
}

/// How long the server waits on a client, on a request, and on the drain at shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From a connection's start, or from the end of its previous response, until the request
    /// head has arrived: this also closes idle keep-alive connections.
    pub header_read: Duration,
    /// For the whole request body to arrive.
    pub body_read: Duration,
    /// For a request, once its body has arrived, to be answered.
    pub request: Duration,
    /// For open requests to finish after SIGTERM; then the process exits anyway.
    pub shutdown_grace: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(10),
            body_read: Duration::from_secs(30),
            request: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

impl Settings {
    /// Settings for `data_dir` with every other value at its default.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            metrics_listen: None,
            log_format: LogFormat::Text,
            otlp_endpoint: None,
            data_dir: data_dir.into(),
            database_url: None,
            policy: None,
            signing_key: None,
            signing_key_rotation_days: 30,
            key_refresh: Duration::from_secs(30),
            issuer: "charter".to_owned(),
            audience: "charter".to_owned(),
            access_token_ttl: chrono::Duration::minutes(15),
            refresh_token_ttl: chrono::Duration::days(14),
            session_ttl: chrono::Duration::days(30),
            default_seats: 25,
            max_query_depth: 16,
            max_query_complexity: 50_000,
            database_max_connections: None,
            audit_retention_days: None,
            invitations_per_day: 50,
            trusted_proxies: Vec::new(),
            smtp_url: None,
            mail_from: None,
            timeouts: Timeouts::default(),
            database_acquire_timeout: Duration::from_secs(5),
            database_statement_timeout: Duration::from_secs(30),
            sso: SsoSettings::default(),
            mfa_step_up: chrono::Duration::minutes(10),
            webauthn_rp_id: None,
            webauthn_origins: Vec::new(),
            outbound: OutboundSettings::default(),
            webhooks: WebhookSettings::default(),
        }
    }

    /// Resolves the settings from the command line (flags and environment) and the optional file.
    pub fn resolve(args: &DataArgs, listen: Option<SocketAddr>) -> anyhow::Result<Self> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileSettings::default(),
        };
        let mut settings = Self::for_data_dir(
            args.data_dir
                .clone()
                .or(file.data_dir.clone())
                .unwrap_or_else(|| PathBuf::from("./data")),
        );
        if let Some(listen) = listen.or(file.listen) {
            settings.listen = listen;
        }
        settings.database_url = args
            .database_url
            .clone()
            .filter(|url| !url.is_empty())
            .or(file.database_url.clone());
        settings.policy = args.policy.clone().or(file.policy.clone());
        settings.apply_tokens(&file)?;
        settings.apply_limits(&file)?;
        settings.apply_network(&file)?;
        settings.apply_timeouts(&file)?;
        settings.apply_sso(&file)?;
        Ok(settings)
    }

    /// Signing, issuer and audience, and how long tokens and sessions last.
    fn apply_tokens(&mut self, file: &FileSettings) -> anyhow::Result<()> {
        self.signing_key = file.signing_key.clone();
        if let Some(days) = checked(
            file.signing_key_rotation_days,
            "signing_key_rotation_days",
            1,
            365,
        )? {
            self.signing_key_rotation_days = days;
        }
        if let Some(seconds) = checked(file.key_refresh_seconds, "key_refresh_seconds", 1, 60)? {
            self.key_refresh = Duration::from_secs(seconds);
        }
        if let Some(issuer) = &file.issuer {
            self.issuer = issuer.clone();
        }
        if let Some(audience) = &file.audience {
            self.audience = audience.clone();
        }
        if let Some(minutes) = checked(file.access_token_minutes, "access_token_minutes", 1, 60)? {
            self.access_token_ttl = chrono::Duration::minutes(minutes);
        }
        if let Some(days) = checked(file.refresh_token_days, "refresh_token_days", 1, 90)? {
            self.refresh_token_ttl = chrono::Duration::days(days);
        }
        if let Some(days) = checked(file.session_days, "session_days", 1, 365)? {
            self.session_ttl = chrono::Duration::days(days);
        }
        if let Some(minutes) = checked(file.mfa_step_up_minutes, "mfa_step_up_minutes", 1, 1440)? {
            self.mfa_step_up = chrono::Duration::minutes(minutes);
        }
        Ok(())
    }

    /// Seats, query bounds, the pool, invitations and audit retention.
    fn apply_limits(&mut self, file: &FileSettings) -> anyhow::Result<()> {
        if let Some(seats) = at_least(file.default_seats, "default_seats", 1)? {
            self.default_seats = seats;
        }
        if let Some(depth) = file.max_query_depth {
            self.max_query_depth = depth;
        }
        if let Some(complexity) = file.max_query_complexity {
            self.max_query_complexity = complexity;
        }
        if let Some(connections) =
            at_least(file.database_max_connections, "database_max_connections", 1)?
        {
            self.database_max_connections = Some(connections);
        }
        if let Some(limit) = at_least(file.invitations_per_day, "invitations_per_day", 1)? {
            self.invitations_per_day = limit;
        }
        if let Some(days) = at_least(file.audit_retention_days, "audit_retention_days", 1)? {
            self.audit_retention_days = Some(days);
        }
        Ok(())
    }

    /// Trusted proxies, mail and the networks outbound requests may reach, which the
    /// environment may also set.
    fn apply_network(&mut self, file: &FileSettings) -> anyhow::Result<()> {
        self.trusted_proxies = networks("CHARTER_TRUSTED_PROXIES", &file.trusted_proxies)?;
        self.metrics_listen = file.metrics_listen;
        self.log_format = file.log_format.unwrap_or(LogFormat::Text);
        self.otlp_endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
            .ok()
            .or(file.otlp_endpoint.clone())
            .filter(|endpoint| !endpoint.is_empty());
        if let Some(endpoint) = &self.otlp_endpoint {
            anyhow::ensure!(
                endpoint.starts_with("http://") || endpoint.starts_with("https://"),
                "otlp_endpoint must be an http(s) URL (the collector's OTLP/HTTP address)"
            );
        }
        self.smtp_url = std::env::var("CHARTER_SMTP_URL")
            .ok()
            .filter(|url| !url.is_empty())
            .or(file.smtp_url.clone());
        self.mail_from = file.mail_from.clone();
        self.outbound.allow = networks("CHARTER_OUTBOUND_ALLOW", &file.outbound_allow)?;
        if let Some(seconds) = checked(
            file.outbound_timeout_seconds,
            "outbound_timeout_seconds",
            1,
            60,
        )? {
            self.outbound.timeout = Duration::from_secs(seconds);
        }
        self.webhooks.allow_http = file.webhook_allow_http.unwrap_or(false);
        if let Some(seconds) = checked(
            file.webhook_timeout_seconds,
            "webhook_timeout_seconds",
            1,
            60,
        )? {
            self.webhooks.timeout = Duration::from_secs(seconds);
        }
        if let Some(millis) = checked(
            file.webhook_poll_milliseconds,
            "webhook_poll_milliseconds",
            50,
            60_000,
        )? {
            self.webhooks.poll = Duration::from_millis(millis);
        }
        if let Some(minutes) = checked(
            file.audit_checkpoint_minutes,
            "audit_checkpoint_minutes",
            1,
            7 * 24 * 60,
        )? {
            self.webhooks.checkpoint_every = Duration::from_secs(minutes * 60);
        }
        Ok(())
    }

    /// The bounds on clients, requests, the shutdown drain and the database.
    fn apply_timeouts(&mut self, file: &FileSettings) -> anyhow::Result<()> {
        let seconds = |value: Option<u64>, name: &str, default: Duration| {
            Ok::<_, anyhow::Error>(at_least(value, name, 1)?.map_or(default, Duration::from_secs))
        };
        let defaults = Timeouts::default();
        self.timeouts = Timeouts {
            header_read: seconds(
                file.header_read_timeout_seconds,
                "header_read_timeout_seconds",
                defaults.header_read,
            )?,
            body_read: seconds(
                file.body_read_timeout_seconds,
                "body_read_timeout_seconds",
                defaults.body_read,
            )?,
            request: seconds(
                file.request_timeout_seconds,
                "request_timeout_seconds",
                defaults.request,
            )?,
            shutdown_grace: seconds(
                file.shutdown_grace_seconds,
                "shutdown_grace_seconds",
                defaults.shutdown_grace,
            )?,
        };
        self.database_acquire_timeout = seconds(
            file.database_acquire_timeout_seconds,
            "database_acquire_timeout_seconds",
            self.database_acquire_timeout,
        )?;
        self.database_statement_timeout = seconds(
            file.database_statement_timeout_seconds,
            "database_statement_timeout_seconds",
            self.database_statement_timeout,
        )?;
        Ok(())
    }

    /// Single sign-on: the public URL and return origins (which the environment may also
    /// set), the issuers allowed, the DNS server and the secrets key.
    fn apply_sso(&mut self, file: &FileSettings) -> anyhow::Result<()> {
        let env = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|value| !value.trim().is_empty())
        };
        if let Some(url) = env("CHARTER_PUBLIC_URL").or(file.public_url.clone()) {
            self.sso.public_url = Some(origin_of(&url, "public_url", true)?);
        }
        let origins = match env("CHARTER_SSO_RETURN_ORIGINS") {
            Some(list) => list.split(',').map(|o| o.trim().to_owned()).collect(),
            None => file.sso_return_origins.clone().unwrap_or_default(),
        };
        for origin in origins {
            self.sso
                .return_origins
                .push(origin_of(&origin, "sso_return_origins", false)?);
        }
        self.sso.allow_insecure_issuers = file.sso_allow_insecure_issuers.unwrap_or(false);
        self.sso.ldap_allow_plain = file.ldap_allow_plain.unwrap_or(false);
        self.sso.tls_listen = file.tls_listen;
        self.sso.tls_certificate = file.tls_certificate.clone();
        self.sso.tls_key = file.tls_key.clone();
        if self.sso.tls_listen.is_some()
            && (self.sso.tls_certificate.is_none() || self.sso.tls_key.is_none())
        {
            anyhow::bail!("tls_listen needs tls_certificate and tls_key");
        }
        if let Some(seconds) = checked(file.ldap_timeout_seconds, "ldap_timeout_seconds", 1, 60)? {
            self.sso.ldap_timeout = Duration::from_secs(seconds);
        }
        if let Some(server) = env("CHARTER_DNS_SERVER") {
            self.sso.dns_server = Some(server.parse().map_err(|_| {
                anyhow::anyhow!("CHARTER_DNS_SERVER must be an address and port, like 127.0.0.1:53")
            })?);
        } else {
            self.sso.dns_server = file.dns_server;
        }
        self.sso.secrets_key = file.secrets_key.clone();
        self.webauthn_rp_id = file.webauthn_rp_id.clone();
        for origin in file.webauthn_origins.clone().unwrap_or_default() {
            self.webauthn_origins
                .push(origin_of(&origin, "webauthn_origins", false)?);
        }
        Ok(())
    }

    /// The database URL in effect: `DATABASE_URL`, or the SQLite file in the data directory.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("charter.db").display()
            ),
        }
    }
}

/// `value` when it is from `min` to `max`; otherwise an error naming the setting.
fn checked<T: PartialOrd + std::fmt::Display>(
    value: Option<T>,
    name: &str,
    min: T,
    max: T,
) -> anyhow::Result<Option<T>> {
    match value {
        Some(value) if value < min || value > max => {
            anyhow::bail!("{name} must be {min} to {max}")
        }
        value => Ok(value),
    }
}

/// `value` when it is `min` or more; otherwise an error naming the setting.
fn at_least<T: PartialOrd + std::fmt::Display>(
    value: Option<T>,
    name: &str,
    min: T,
) -> anyhow::Result<Option<T>> {
    match value {
        Some(value) if value < min => anyhow::bail!("{name} must be at least {min}"),
        value => Ok(value),
    }
}

/// The origin of `text` (`scheme://host[:port]`), which must be an http(s) URL with nothing
/// after the host but, when `path_allowed`, a path (Charter behind a prefix).
pub fn origin_of(text: &str, name: &str, path_allowed: bool) -> anyhow::Result<String> {
    let url = url::Url::parse(text.trim())
        .map_err(|err| anyhow::anyhow!("{name}: `{text}` is not a URL: {err}"))?;
    anyhow::ensure!(
        matches!(url.scheme(), "http" | "https") && url.host().is_some(),
        "{name}: `{text}` must be an http or https URL"
    );
    anyhow::ensure!(
        url.query().is_none() && url.fragment().is_none() && url.username().is_empty(),
        "{name}: `{text}` must have no query, fragment or credentials"
    );
    let origin = url.origin().ascii_serialization();
    if path_allowed {
        Ok(format!("{origin}{}", url.path().trim_end_matches('/')))
    } else {
        anyhow::ensure!(
            url.path() == "/",
            "{name}: `{text}` must be an origin, without a path"
        );
        Ok(origin)
    }
}

/// The networks listed, comma-separated, in the environment variable `env`, or else in the
/// file's list.
fn networks(env: &str, file: &Option<Vec<String>>) -> anyhow::Result<Vec<ipnet::IpNet>> {
    let listed: Vec<String> = match std::env::var(env) {
        Ok(list) if !list.trim().is_empty() => {
            list.split(',').map(|item| item.trim().to_owned()).collect()
        }
        _ => file.clone().unwrap_or_default(),
    };
    listed.iter().map(|item| parse_network(item)).collect()
}

/// An IP network from `10.0.0.0/8`, or a single address.
pub fn parse_network(text: &str) -> anyhow::Result<ipnet::IpNet> {
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| anyhow::anyhow!("`{text}` is not an IP address or network"))
}

fn read_file(path: &Path) -> anyhow::Result<FileSettings> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", path.display()))?;
    toml::from_str(&text).map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve_file(text: &str) -> anyhow::Result<Settings> {
        let dir = std::env::temp_dir().join(format!("charter-config-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("charter.toml");
        std::fs::write(&path, text)?;
        let args = DataArgs {
            data_dir: Some(dir.clone()),
            config: Some(path),
            ..Default::default()
        };
        let settings = Settings::resolve(&args, None);
        std::fs::remove_dir_all(&dir)?;
        settings
    }

    #[test]
    fn a_file_sets_tokens_limits_and_timeouts() {
        let settings = resolve_file(
            "access_token_minutes = 5\ndefault_seats = 3\nrequest_timeout_seconds = 7\n",
        )
        .unwrap();
        assert_eq!(settings.access_token_ttl, chrono::Duration::minutes(5));
        assert_eq!(settings.default_seats, 3);
        assert_eq!(settings.timeouts.request, Duration::from_secs(7));
        assert_eq!(
            settings.timeouts.header_read,
            Timeouts::default().header_read
        );
    }

    #[test]
    fn outbound_networks_and_timeout_come_from_the_file() {
        let settings = resolve_file(
            "outbound_allow = [\"10.0.0.0/8\", \"127.0.0.1\"]\noutbound_timeout_seconds = 3\n",
        )
        .unwrap();
        let allowed: Vec<String> = settings
            .outbound
            .allow
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(allowed, ["10.0.0.0/8", "127.0.0.1/32"]);
        assert_eq!(settings.outbound.timeout, Duration::from_secs(3));
        assert!(Settings::for_data_dir("x").outbound.allow.is_empty());
        let message = |text: &str| resolve_file(text).unwrap_err().to_string();
        assert!(message("outbound_allow = [\"intranet\"]").contains("`intranet`"));
        assert_eq!(
            message("outbound_timeout_seconds = 0"),
            "outbound_timeout_seconds must be 1 to 60"
        );
    }

    #[test]
    fn out_of_range_values_are_refused_by_name() {
        let message = |text: &str| resolve_file(text).unwrap_err().to_string();
        assert_eq!(
            message("access_token_minutes = 61"),
            "access_token_minutes must be 1 to 60"
        );
        assert_eq!(message("session_days = 0"), "session_days must be 1 to 365");
        assert_eq!(
            message("default_seats = 0"),
            "default_seats must be at least 1"
        );
        assert_eq!(
            message("shutdown_grace_seconds = 0"),
            "shutdown_grace_seconds must be at least 1"
        );
    }

    #[test]
    fn single_sign_on_urls_are_origins_and_refused_when_they_are_not() {
        let settings = resolve_file(
            "public_url = \"https://ID.example.com/charter/\"\nsso_return_origins = [\"https://app.example.com\"]\n",
        )
        .unwrap();
        assert_eq!(
            settings.sso.public_url.as_deref(),
            Some("https://id.example.com/charter")
        );
        assert_eq!(settings.sso.return_origins, ["https://app.example.com"]);
        assert!(!settings.sso.allow_insecure_issuers);
        let message = |text: &str| resolve_file(text).unwrap_err().to_string();
        assert!(
            message("sso_return_origins = [\"https://app.example.com/path\"]")
                .contains("must be an origin")
        );
        assert!(message("public_url = \"ftp://id.example.com\"").contains("http or https"));
        assert!(message("public_url = \"https://id.example.com/?q=1\"").contains("no query"));
    }
}
