//! GraphiQL at `/graphiql`, served from files compiled into the binary under a strict
//! Content-Security-Policy, so that it works offline and loads nothing from elsewhere.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// Where the page may load from: only this origin, and no inline script. Styles may be inline:
/// GraphiQL's dialogs add a `<style>` element (to lock scrolling) whose text varies, so no hash
/// can allow it. Fonts and icons of GraphiQL's stylesheet are `data:` URLs. The page may not be
/// framed (clickjacking).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// One vendored file (see `assets/graphiql/README.md`).
struct Asset {
    file: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($file:literal, $content_type:expr) => {
        Asset {
            file: $file,
            content_type: $content_type,
            bytes: include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/assets/graphiql/",
                $file
            )),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// In the order the page loads them: styles, then React, GraphiQL and Charter's start-up script.
const ASSETS: [Asset; 6] = [
    asset!("graphiql.min.css", CSS),
    asset!("charter-graphiql.css", CSS),
    asset!("react.production.min.js", JS),
    asset!("react-dom.production.min.js", JS),
    asset!("graphiql.min.js", JS),
    asset!("charter-graphiql.js", JS),
];

/// Each asset's URL carries a digest of its content, so a new build never meets an old copy in
/// a cache and the copies can be cached for good.
static DIGESTS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| {
            Sha256::digest(asset.bytes)[..6]
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect()
        })
        .collect()
});

fn url(index: usize) -> String {
    format!("/graphiql/assets/{}/{}", DIGESTS[index], ASSETS[index].file)
}

static PAGE: LazyLock<String> = LazyLock::new(|| {
    let mut styles = String::new();
    let mut scripts = String::new();
    for (index, asset) in ASSETS.iter().enumerate() {
        if asset.content_type == CSS {
            styles += &format!("    <link rel=\"stylesheet\" href=\"{}\">\n", url(index));
        } else {
            scripts += &format!("    <script src=\"{}\"></script>\n", url(index));
        }
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="robots" content="noindex">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="referrer" content="same-origin">
    <title>Charter GraphiQL</title>
    <link rel="icon" href="data:,">
{styles}  </head>
  <body>
    <div id="graphiql" data-endpoint="/graphql">Loading…</div>
{scripts}  </body>
</html>
"#
    )
});

/// The GraphiQL page.
pub async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_FRAME_OPTIONS, "DENY"),
            // The page names its assets by digest: revalidate it so that a new build is seen.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE.as_str(),
    )
        .into_response()
}

/// One asset, by the digest and name the page gave it.
pub async fn asset(Path((digest, file)): Path<(String, String)>) -> Response {
    let found = ASSETS
        .iter()
        .zip(DIGESTS.iter())
        .find(|(asset, known)| asset.file == file && **known == digest);
    let Some((asset, _)) = found else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = asset.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}
