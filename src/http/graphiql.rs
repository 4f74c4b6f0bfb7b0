//! GraphiQL at `/graphiql`, served from files compiled into the binary under a strict
//! Content-Security-Policy, so that it works offline and loads nothing from elsewhere.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::response::Response;

use super::bundle::{Asset, Bundle, CSS, JS, asset};

/// Where the page may load from: only this origin, and no inline script. Styles may be inline:
/// GraphiQL's dialogs add a `<style>` element (to lock scrolling) whose text varies, so no hash
/// can allow it. Fonts and icons of GraphiQL's stylesheet are `data:` URLs. The page may not be
/// framed (clickjacking).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// In the order the page loads them: styles, then React, GraphiQL and Charter's start-up script
/// (see `assets/graphiql/README.md`).
static ASSETS: [Asset; 6] = [
    asset!("graphiql", "graphiql.min.css", CSS),
    asset!("graphiql", "charter-graphiql.css", CSS),
    asset!("graphiql", "react.production.min.js", JS),
    asset!("graphiql", "react-dom.production.min.js", JS),
    asset!("graphiql", "graphiql.min.js", JS),
    asset!("graphiql", "charter-graphiql.js", JS),
];

static BUNDLE: Bundle = Bundle::new("/graphiql/assets", &ASSETS);

static PAGE: LazyLock<String> = LazyLock::new(|| {
    BUNDLE.html(
        "Charter GraphiQL",
        r#"<div id="graphiql" data-endpoint="/graphql">Loading…</div>"#,
        false,
    )
});

/// The GraphiQL page.
pub async fn page() -> Response {
    super::bundle::page(PAGE.as_str(), CONTENT_SECURITY_POLICY)
}

/// One asset, by the digest and name the page gave it.
pub async fn asset(Path((digest, file)): Path<(String, String)>) -> Response {
    BUNDLE.serve(&digest, &file)
}
