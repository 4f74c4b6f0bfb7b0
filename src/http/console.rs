//! The console at `/console`: an administrator's web app built from `console/` (TypeScript,
//! on Charter's own GraphQL API) into `assets/console/`, compiled into the binary and served
//! under a Content-Security-Policy stricter than GraphiQL's: no inline script and no inline
//! style. Every path under `/console` answers the same page; the app routes in the browser.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::response::Response;

use super::bundle::{Asset, Bundle, CSS, JS, asset};

/// Only this origin, for scripts, styles and requests alike; images may be `data:` URLs (the
/// QR code of an authenticator app's enrollment). Forms post nowhere (the app sends its own
/// requests), and the page may not be framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Built by `npm run build` in `console/` (see the README's "The console").
static ASSETS: [Asset; 2] = [
    asset!("console", "console.css", CSS),
    asset!("console", "console.js", JS),
];

static BUNDLE: Bundle = Bundle::new("/console/assets", &ASSETS);

static PAGE: LazyLock<String> = LazyLock::new(|| {
    BUNDLE.html(
        "Charter console",
        "<div id=\"console\"></div>\n    <noscript>The console needs JavaScript.</noscript>",
        true,
    )
});

/// The console's page, for `/console` and every path under it.
pub async fn page() -> Response {
    super::bundle::page(PAGE.as_str(), CONTENT_SECURITY_POLICY)
}

/// One asset, by the digest and name the page gave it.
pub async fn asset(Path((digest, file)): Path<(String, String)>) -> Response {
    BUNDLE.serve(&digest, &file)
}
