//! Web pages compiled into the binary (GraphiQL, the console): each asset is served under a
//! digest of its content, so a new build never meets an old copy in a cache and the copies can
//! be cached for good, and the page that names them is revalidated on every load.

use std::sync::OnceLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

pub const JS: &str = "text/javascript; charset=utf-8";
pub const CSS: &str = "text/css; charset=utf-8";

/// One file of a bundle.
pub struct Asset {
    pub file: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

/// A file under `assets/<folder>/`, compiled in.
macro_rules! asset {
    ($folder:literal, $file:literal, $content_type:expr) => {
        $crate::http::bundle::Asset {
            file: $file,
            content_type: $content_type,
            bytes: include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/assets/",
                $folder,
                "/",
                $file
            )),
        }
    };
}
pub(crate) use asset;

/// The assets of one page, served at `<prefix>/<digest>/<file>`.
pub struct Bundle {
    prefix: &'static str,
    assets: &'static [Asset],
    digests: OnceLock<Vec<String>>,
}

impl Bundle {
    pub const fn new(prefix: &'static str, assets: &'static [Asset]) -> Self {
        Bundle {
            prefix,
            assets,
            digests: OnceLock::new(),
        }
    }

    fn digests(&self) -> &[String] {
        self.digests.get_or_init(|| {
            self.assets
                .iter()
                .map(|asset| {
                    Sha256::digest(asset.bytes)[..6]
                        .iter()
                        .map(|byte| format!("{byte:02x}"))
                        .collect()
                })
                .collect()
        })
    }

    /// The page that loads the bundle: `title`, then `body` and the scripts (`module` scripts
    /// when `modules`).
    pub fn html(&self, title: &str, body: &str, modules: bool) -> String {
        let (styles, scripts) = self.tags(modules);
        format!(
            r#"<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="robots" content="noindex">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="referrer" content="same-origin">
    <title>{title}</title>
    <link rel="icon" href="data:,">
{styles}  </head>
  <body>
    {body}
{scripts}  </body>
</html>
"#
        )
    }

    /// The page's `<link>` elements for its styles and `<script>` elements for its scripts, in
    /// the bundle's order (`module` scripts when `modules`).
    fn tags(&self, modules: bool) -> (String, String) {
        let mut styles = String::new();
        let mut scripts = String::new();
        let kind = if modules { " type=\"module\"" } else { "" };
        for (asset, digest) in self.assets.iter().zip(self.digests()) {
            let url = format!("{}/{digest}/{}", self.prefix, asset.file);
            if asset.content_type == CSS {
                styles += &format!("    <link rel=\"stylesheet\" href=\"{url}\">\n");
            } else {
                scripts += &format!("    <script{kind} src=\"{url}\"></script>\n");
            }
        }
        (styles, scripts)
    }

    /// One asset, by the digest and name the page gave it; 404 for any other pair.
    pub fn serve(&self, digest: &str, file: &str) -> Response {
        let found = self
            .assets
            .iter()
            .zip(self.digests())
            .find(|(asset, known)| asset.file == file && *known == digest);
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
}

/// A page of a bundle under its Content-Security-Policy: never framed, revalidated on every
/// load (it names its assets by digest, so a new build is seen).
pub fn page(html: &'static str, content_security_policy: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, content_security_policy),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        html,
    )
        .into_response()
}
