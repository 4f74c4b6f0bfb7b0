//! The web layer: routes, the GraphQL endpoint, health checks and the public keys.

mod caller;
mod graphiql;
mod graphql;
mod headers;
mod lists;
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
    let state = HttpState { app, schema };
    Router::new()
        .route(
            "/graphql",
            get(graphql::graphql_get).post(graphql::graphql_post),
        )
        .route("/lists/{file}", get(lists::download))
        .route("/graphiql", get(graphiql::page))
        .route("/graphiql/assets/{digest}/{file}", get(graphiql::asset))
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
        .with_state(state)
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
