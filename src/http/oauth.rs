//! OAuth 2.0 for machines: the client-credentials grant (RFC 6749 §4.4) at `POST /oauth/token`,
//! where an API key (client id = the key's id, client secret = its secret) gets a short-lived
//! JWT that other services verify offline against `/.well-known/jwks.json`; and the
//! authorization server's metadata (RFC 8414).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use super::HttpState;
use super::server::BodyBound;
use crate::config::Settings;
use crate::error::ErrorCode;
use crate::services::identity::keys;

pub const TOKEN_PATH: &str = "/oauth/token";
const GRANT: &str = "client_credentials";
/// The largest body the token endpoint reads: its form holds a grant type, a scope and perhaps
/// the client's credentials.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// The longest `scope`, and the most words it may name: a key holds one grant per resource,
/// and the token carries every word asked for.
const MAX_SCOPE_BYTES: usize = 4 * 1024;
const MAX_SCOPE_WORDS: usize = 256;

/// The token endpoint's bound: a larger body is refused before it is read, in RFC 6749's shape.
pub const BODY_BOUND: BodyBound = BodyBound {
    limit: MAX_BODY_BYTES,
    refuse: body_too_large,
};

/// An error of the token endpoint, as RFC 6749 §5.2 spells it.
struct OAuthError {
    error: &'static str,
    description: String,
    /// The client authenticated with HTTP Basic: a refusal then says how to authenticate.
    basic: bool,
    status: StatusCode,
}

impl OAuthError {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        let status = match error {
            "invalid_client" => StatusCode::UNAUTHORIZED,
            "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
            "temporarily_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        Self {
            error,
            description: description.into(),
            basic: false,
            status,
        }
    }
}

/// `413` for a body over [`MAX_BODY_BYTES`], as `invalid_request`.
fn body_too_large() -> Response {
    OAuthError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        ..OAuthError::new(
            "invalid_request",
            format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
        )
    }
    .into_response()
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = self.status;
        let body = Json(json!({ "error": self.error, "error_description": self.description }));
        let mut response = (status, body).into_response();
        if self.basic && status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"charter\""),
            );
        }
        no_store(&mut response);
        response
    }
}

fn no_store(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// The value of the form's parameter `name` (parameters are not repeated: that is refused).
fn param<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// The client's id and secret, from HTTP Basic (each form-urlencoded, RFC 6749 §2.3.1) or from
/// the body's fields; using both is refused.
fn client_of(
    headers: &HeaderMap,
    form: &[(String, String)],
) -> Result<(String, String, bool), OAuthError> {
    let field = |name: &str| param(form, name).map(str::to_owned);
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .strip_prefix("Basic ")
                .or_else(|| value.strip_prefix("basic "))
        });
    match (basic, field("client_id"), field("client_secret")) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(OAuthError::new(
            "invalid_request",
            "authenticate the client one way: HTTP Basic or the form's fields, not both",
        )),
        (Some(encoded), None, None) => {
            let refused = || OAuthError {
                basic: true,
                ..OAuthError::new("invalid_client", "the Basic credentials are malformed")
            };
            let decoded = STANDARD.decode(encoded.trim()).map_err(|_| refused())?;
            let decoded = String::from_utf8(decoded).map_err(|_| refused())?;
            let (id, secret) = decoded.split_once(':').ok_or_else(refused)?;
            let unescape = |part: &str| {
                url::form_urlencoded::parse(format!("x={part}").as_bytes())
                    .next()
                    .map(|(_, value)| value.into_owned())
            };
            Ok((
                unescape(id).ok_or_else(refused)?,
                unescape(secret).ok_or_else(refused)?,
                true,
            ))
        }
        (None, Some(id), Some(secret)) => Ok((id, secret, false)),
        _ => Err(OAuthError::new(
            "invalid_client",
            "send the API key's id as client_id and its secret as client_secret (HTTP Basic \
             or form fields)",
        )),
    }
}

/// `POST /oauth/token`: `grant_type=client_credentials`, optionally `scope` (a subset of the
/// key's effective grants, as `resource:level` words).
pub async fn token(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let issued = issue(&state, &headers, &body).await;
    let outcome = if issued.is_ok() { "issued" } else { "refused" };
    crate::metrics::metrics().sign_in("client_credentials", outcome);
    issued.unwrap_or_else(IntoResponse::into_response)
}

async fn issue(
    state: &HttpState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, OAuthError> {
    let form = form_of(headers, body)?;
    let field = |name: &str| param(&form, name);
    let (client_id, secret, basic) = client_of(headers, &form)?;
    match field("grant_type") {
        None => {
            return Err(OAuthError::new("invalid_request", "grant_type is required"));
        }
        Some(GRANT) => {}
        Some(_) => {
            return Err(OAuthError::new(
                "unsupported_grant_type",
                "this server grants only client_credentials",
            ));
        }
    }
    let app = &state.app;
    let credentials = keys::client_credentials(app, &client_id, &secret)
        .await
        .map_err(|err| match err.code {
            ErrorCode::Unauthenticated => OAuthError {
                basic,
                ..OAuthError::new("invalid_client", err.message)
            },
            _ => OAuthError::new("server_error", "the token could not be issued; try again"),
        })?;
    let held: Vec<String> = credentials
        .permissions
        .iter()
        .map(|(resource, level)| format!("{resource}:{level}"))
        .collect();
    let permissions = granted(held, field("scope"))?;
    let key = &credentials.key;
    let (token, expires_in) = app
        .tokens
        .issue_client(
            key.holder_id,
            key.organization_id,
            key.key_id,
            permissions.clone(),
        )
        .map_err(|_| OAuthError::new("server_error", "the token could not be signed"))?;
    tracing::info!(key = %key.key_id, organization = %key.organization_id, "client token issued");
    let mut response = Json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": permissions.join(" "),
    }))
    .into_response();
    no_store(&mut response);
    Ok(response)
}

/// The body's form parameters: `application/x-www-form-urlencoded`, none repeated.
fn form_of(headers: &HeaderMap, body: &[u8]) -> Result<Vec<(String, String)>, OAuthError> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|value| {
            value
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if form_type != Some(true) {
        return Err(OAuthError::new(
            "invalid_request",
            "send the request as application/x-www-form-urlencoded",
        ));
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let mut names: Vec<&str> = form.iter().map(|(key, _)| key.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|pair| pair[0] == pair[1]) {
        return Err(OAuthError::new(
            "invalid_request",
            "a parameter is repeated (RFC 6749 §3.2)",
        ));
    }
    Ok(form)
}

/// What the token grants: the key's effective grants (`held`, as `resource:level` words), or
/// the `scope` asked, which must be among them.
fn granted(held: Vec<String>, scope: Option<&str>) -> Result<Vec<String>, OAuthError> {
    let Some(scope) = scope else {
        return Ok(held);
    };
    let asked = scope_words(scope)?;
    if let Some(beyond) = asked.iter().find(|word| !held.contains(word)) {
        return Err(OAuthError::new(
            "invalid_scope",
            format!("`{beyond}` is not among the key's effective grants"),
        ));
    }
    Ok(asked)
}

/// The words of `scope`, each once, in the order first asked; refused when the scope is longer
/// than [`MAX_SCOPE_BYTES`] or names more than [`MAX_SCOPE_WORDS`] words.
fn scope_words(scope: &str) -> Result<Vec<String>, OAuthError> {
    if scope.len() > MAX_SCOPE_BYTES {
        return Err(OAuthError::new(
            "invalid_scope",
            format!("scope is longer than {MAX_SCOPE_BYTES} bytes"),
        ));
    }
    let mut words: Vec<String> = Vec::new();
    for (count, word) in scope.split_whitespace().enumerate() {
        if count == MAX_SCOPE_WORDS {
            return Err(OAuthError::new(
                "invalid_scope",
                format!("scope names more than {MAX_SCOPE_WORDS} words"),
            ));
        }
        if !words.iter().any(|known| known == word) {
            words.push(word.to_owned());
        }
    }
    Ok(words)
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414), with absolute endpoints under
/// [`endpoints_base`]. Nothing in it comes from the request, so shared caches may keep it.
pub async fn metadata(State(state): State<HttpState>) -> Response {
    let issuer = state.app.tokens.issuer().to_owned();
    let base = endpoints_base(&state.app.settings);
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(json!({
            "issuer": issuer,
            "token_endpoint": format!("{base}{TOKEN_PATH}"),
            "jwks_uri": format!("{base}/.well-known/jwks.json"),
            "grant_types_supported": [GRANT],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "response_types_supported": [],
            "scopes_supported": scopes(&state),
        })),
    )
        .into_response()
}

/// Where the metadata's endpoints live, from the configuration alone — never from the request's
/// `Host`, which a client chooses: copied into a cached answer, it would send other clients'
/// secrets to whoever forged it. The issuer when it is an http(s) URL (as RFC 8414 wants it),
/// else the public URL (`public_url`), else the listen address, which is right for clients on
/// the same machine, the one place a server without a configured URL is surely reached from (an
/// unspecified address, `0.0.0.0` or `::`, as its loopback).
fn endpoints_base(settings: &Settings) -> String {
    let issuer = &settings.issuer;
    if issuer.starts_with("https://") || issuer.starts_with("http://") {
        return issuer.trim_end_matches('/').to_owned();
    }
    if let Some(public_url) = &settings.sso.public_url {
        return public_url.clone();
    }
    let mut listen = settings.listen;
    if listen.ip().is_unspecified() {
        listen.set_ip(match listen {
            SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{listen}")
}

/// Every `resource:level` a token's scope may name under the policy.
fn scopes(state: &HttpState) -> Vec<String> {
    state
        .app
        .policy
        .resources()
        .iter()
        .flat_map(|resource| {
            resource
                .levels
                .iter()
                .skip(1)
                .map(move |level| format!("{}:{level}", resource.key))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoints_come_from_the_issuer_the_public_url_or_the_listen_address() {
        let mut settings = Settings::for_data_dir("data");
        settings.listen = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(endpoints_base(&settings), "http://127.0.0.1:8080");
        settings.listen = "[::]:9000".parse().unwrap();
        assert_eq!(endpoints_base(&settings), "http://[::1]:9000");
        settings.listen = "10.1.2.3:8080".parse().unwrap();
        assert_eq!(endpoints_base(&settings), "http://10.1.2.3:8080");
        settings.sso.public_url = Some("https://id.example.com/charter".to_owned());
        assert_eq!(endpoints_base(&settings), "https://id.example.com/charter");
        settings.issuer = "https://issuer.example.com/".to_owned();
        assert_eq!(endpoints_base(&settings), "https://issuer.example.com");
    }
}
