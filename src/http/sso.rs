//! The browser's side of single sign-on: `GET /sso/{organization}/start?return_to=…` sends the
//! browser to the organization's identity provider, `GET /sso/callback` takes it back and sends
//! it on to `return_to` with a one-time code; a SAML provider posts its Response to
//! `POST /sso/{organization}/saml/acs`, which does the same. A refusal is a page that says why, with the
//! status that fits it, never a redirect to somewhere the request named.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::HttpState;
use super::graphql::{is_trusted_proxy, request_meta};
use crate::services::identity::sso::flow::{self, BROWSER_COOKIE, CallbackParams, Failure};
use crate::services::identity::sso::{certificate, saml};

#[derive(Debug, serde::Deserialize)]
pub struct StartParams {
    return_to: Option<String>,
}

pub async fn start(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(organization): Path<String>,
    Query(params): Query<StartParams>,
) -> Response {
    let meta = request_meta(peer, &headers, &state.app.settings.trusted_proxies);
    let started = flow::start(
        &state.app,
        &organization,
        params.return_to.as_deref(),
        &meta,
    )
    .await;
    match started {
        Ok(started) => {
            let secure = state
                .app
                .settings
                .sso
                .public_url
                .as_deref()
                .is_some_and(|url| url.starts_with("https://"));
            // Lax: an OpenID callback is a top-level navigation from the provider's site,
            // which carries Lax cookies. A SAML provider posts its Response from its own site,
            // which carries only `SameSite=None` cookies, and those only when Secure (so a
            // SAML sign-in needs an https public URL outside loopback development). Scripts
            // never read it; it lives as long as a sign-in may.
            let same_site = if started.posted_back && secure {
                "None"
            } else {
                "Lax"
            };
            let cookie = format!(
                "{BROWSER_COOKIE}={}; Path=/sso; HttpOnly; SameSite={same_site}; Max-Age={}{}",
                started.browser_secret,
                flow::LOGIN_TTL.num_seconds(),
                if secure { "; Secure" } else { "" }
            );
            redirect(&started.redirect, Some(cookie))
        }
        Err(failure) => page(&failure),
    }
}

/// `GET /sso/{organization}/saml/metadata`: the service provider metadata an identity
/// provider's administrator imports; 404 for an organization without a SAML connection.
pub async fn saml_metadata(
    State(state): State<HttpState>,
    Path(organization): Path<String>,
) -> Response {
    match crate::services::identity::sso::saml_metadata(&state.app, &organization).await {
        Ok(Some(xml)) => (
            [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
            xml,
        )
            .into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(err) => {
            tracing::error!(error = %err.message, "serving SAML metadata failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

pub async fn callback(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(params): Query<CallbackParams>,
) -> Response {
    let meta = request_meta(peer, &headers, &state.app.settings.trusted_proxies);
    let browser = cookie(&headers, BROWSER_COOKIE);
    ended(flow::callback(&state.app, params, browser.as_deref(), &meta).await)
}

/// `POST /sso/{organization}/saml/acs`: the SAML provider's Response (HTTP-POST binding), taken
/// back like an OpenID callback.
pub async fn saml_acs(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(organization): Path<String>,
    Form(posted): Form<saml::Posted>,
) -> Response {
    let meta = request_meta(peer, &headers, &state.app.settings.trusted_proxies);
    let browser = cookie(&headers, BROWSER_COOKIE);
    ended(saml::acs(&state.app, &organization, posted, browser.as_deref(), &meta).await)
}

/// The header a TLS-terminating proxy forwards the client's certificate in: URL-encoded PEM,
/// as nginx's `$ssl_client_escaped_cert` gives it (the chain's certificates one after another).
pub const CLIENT_CERT_HEADER: &str = "x-client-cert";

/// `GET /cert/{organization}/start?return_to=…`: a sign-in with the client certificate of the
/// TLS connection (Charter's own listener), or, from a trusted proxy only, of the header the
/// proxy forwards. Any other peer's header is ignored.
pub async fn certificate_start(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(organization): Path<String>,
    Query(params): Query<StartParams>,
    presented: Option<axum::Extension<super::tls::PeerCertificates>>,
) -> Response {
    let settings = &state.app.settings;
    let meta = request_meta(peer, &headers, &settings.trusted_proxies);
    let from_proxy = is_trusted_proxy(&peer.ip(), &settings.trusted_proxies);
    let chain = match presented {
        Some(axum::Extension(presented)) => Some(presented.0),
        None if from_proxy => forwarded_chain(&headers),
        None => None,
    };
    let outcome = certificate::sign_in(
        &state.app,
        &organization,
        params.return_to.as_deref(),
        chain,
        &meta,
    )
    .await;
    ended(outcome)
}

/// The chain a trusted proxy forwarded: the header's URL-encoded PEM certificates, DER; none
/// when it holds none (or something else).
fn forwarded_chain(headers: &HeaderMap) -> Option<Vec<Vec<u8>>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let value = headers.get(CLIENT_CERT_HEADER)?.to_str().ok()?;
    let pem = percent_encoding::percent_decode_str(value)
        .decode_utf8()
        .ok()?;
    let chain: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .take(crate::clientcert::MAX_CHAIN + 1)
        .map(|cert| cert.map(|cert| cert.to_vec()))
        .collect::<Result<_, _>>()
        .ok()?;
    (!chain.is_empty()).then_some(chain)
}

/// The browser sent on with its code, or shown why not; the binding cookie has done its work,
/// whatever the outcome.
fn ended(outcome: Result<String, Failure>) -> Response {
    let clear = format!("{BROWSER_COOKIE}=; Path=/sso; HttpOnly; SameSite=Lax; Max-Age=0");
    match outcome {
        Ok(back) => redirect(&back, Some(clear)),
        Err(failure) => {
            let mut response = page(&failure);
            if let Ok(value) = HeaderValue::from_str(&clear) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
    }
}

/// The ACS's body bound: a Response of at most 256 KB, base64 and form-encoded, refused with
/// a page.
pub const ACS_BODY_BOUND: super::server::BodyBound = super::server::BodyBound {
    limit: 2 * saml::MAX_POSTED,
    refuse: || {
        page(&Failure {
            status: 413,
            message: "the posted SAMLResponse is larger than 256 KB".to_owned(),
        })
    },
};

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

fn redirect(location: &str, cookie: Option<String>) -> Response {
    let Ok(location) = HeaderValue::from_str(location) else {
        return page(&Failure {
            status: 500,
            message: "single sign-on failed on Charter's side; try again later".to_owned(),
        });
    };
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
    if let Some(value) = cookie.and_then(|cookie| HeaderValue::from_str(&cookie).ok()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    harden(&mut response);
    response
}

/// A small HTML page saying why the sign-in did not go through.
fn page(failure: &Failure) -> Response {
    let status = StatusCode::from_u16(failure.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in failed</title></head>\
         <body><h1>Sign-in failed</h1><p id=\"reason\">{}</p></body></html>\n",
        escape(&failure.message)
    );
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    harden(&mut response);
    response
}

/// What every single-sign-on answer carries: no caching, and GraphiQL's content security
/// policy and frame refusal (the pages load nothing and may not be framed).
fn harden(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(super::graphiql::CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
