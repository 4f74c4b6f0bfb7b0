//! The web layer: routes, the GraphQL endpoint, health checks and the public keys.

mod bundle;
mod caller;
mod console;
mod graphiql;
mod graphql;
mod headers;
mod lists;
mod measured;
mod oauth;
mod scim;
mod server;
mod sso;
pub mod tls;

pub use server::{MAX_BODY_BYTES, serve, serve_tls};

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::{get, post};

use crate::graphql::{CharterSchema, build_schema};
use crate::services::AppState;

/// What every handler can reach.
#[derive(Clone)]
pub struct HttpState {
    pub app: AppState,
    pub schema: CharterSchema,
}

pub fn router(app: AppState) -> Router {
    let schema = build_schema(app.clone());
    let on_main_listener = app.settings.metrics_listen.is_none();
    let state = HttpState { app, schema };
    let router = Router::new();
    let router = if on_main_listener {
        router.route("/metrics", get(measured::scrape))
    } else {
        router
    };
    router
        .route(
            "/graphql",
            get(graphql::graphql_get).post(graphql::graphql_post),
        )
        .route("/lists/{file}", get(lists::download))
        .route("/graphiql", get(graphiql::page))
        .route("/graphiql/assets/{digest}/{file}", get(graphiql::asset))
        .route("/console", get(console::page))
        .route("/console/", get(console::page))
        .route("/console/{*path}", get(console::page))
        .route("/console/assets/{digest}/{file}", get(console::asset))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/.well-known/jwks.json", get(jwks))
        .route(oauth::TOKEN_PATH, post(oauth::token))
        .route("/sso/callback", get(sso::callback))
        .route("/sso/{organization}/start", get(sso::start))
        .route("/sso/{organization}/saml/metadata", get(sso::saml_metadata))
        .route("/sso/{organization}/saml/acs", post(sso::saml_acs))
        .route("/cert/{organization}/start", get(sso::certificate_start))
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth::metadata),
        )
        .merge(scim::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(measured::track))
        .with_state(state)
}

/// The routes of the `metrics_listen` address: `/metrics` alone.
pub fn metrics_router(app: AppState) -> Router {
    Router::new()
        .route("/metrics", get(measured::scrape))
        .with_state(app)
}

impl axum::extract::FromRef<HttpState> for AppState {
    fn from_ref(state: &HttpState) -> Self {
        state.app.clone()
    }
}

/// The body bound of the route at `path`: the token endpoint's small form, a SAML ACS's
/// Response, SCIM's (refused in SCIM's shape), or the default.
fn body_bound(path: &str) -> server::BodyBound {
    match path {
        oauth::TOKEN_PATH => oauth::BODY_BOUND,
        _ if path.starts_with("/sso/") && path.ends_with("/saml/acs") => sso::ACS_BODY_BOUND,
        _ if path.starts_with("/scim/") => scim::BODY_BOUND,
        _ => server::BodyBound::DEFAULT,
    }
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The process can serve: its database answers, within two seconds (a load balancer's probe
/// must not hang on a database that is down or frozen).
async fn readyz(State(state): State<HttpState>) -> impl IntoResponse {
    if state.app.ping(std::time::Duration::from_secs(2)).await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
    }
}

/// The published signing keys. A verifier may keep the set no longer than a token lives (at
/// most five minutes), so that the next key, published a token's life before it signs, is in
/// every set it holds when that key begins to sign.
async fn jwks(State(state): State<HttpState>) -> impl IntoResponse {
    let max_age = state
        .app
        .settings
        .access_token_ttl
        .num_seconds()
        .clamp(0, 300);
    (
        [(
            axum::http::header::CACHE_CONTROL,
            format!("public, max-age={max_age}"),
        )],
        Json(state.app.tokens.keys().jwks()),
    )
}
