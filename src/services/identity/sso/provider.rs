//! The OpenID provider as Charter's code sees it, through the `openidconnect` crate: discovery
//! and its checks at configuration time, the authorization request (code flow, PKCE S256,
//! `state`, `nonce`), and the code exchange with the ID token's checks (signature against the
//! provider's JWKS, `iss`, `aud`, `exp`, `nonce`).

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreJsonWebKeySet, CoreProviderMetadata,
    CoreResponseType,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, ResponseTypes, Scope, TokenResponse,
};

use std::future::Future;
use std::pin::Pin;

use openidconnect::RequestTokenError;

use crate::error::{ApiError, ApiResult, chain};
use crate::outbound::{Outbound, Unreachable};

/// What discovery fetched and checked, kept with the connection.
#[derive(Debug, Clone)]
pub struct Discovered {
    /// The discovery document, JSON.
    pub metadata: String,
    /// The key set, JSON.
    pub jwks: String,
}

/// The settings a client of one provider is built from.
pub struct ClientConfig<'a> {
    pub metadata: &'a str,
    pub jwks: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub redirect_uri: &'a str,
}

/// An authorization request: where to send the browser and what to keep for its return.
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// The person the provider vouched for in a verified ID token.
#[derive(Debug, Clone)]
pub struct Verified {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    /// Whether the provider says it did multi-factor authentication (`amr` holds `mfa`, or a
    /// second method beside a password).
    pub mfa: bool,
}

/// Why a callback's exchange or ID token was refused; each says what the provider sent wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The token endpoint refused the code (used, expired, or not for this verifier).
    Exchange(String),
    /// The token endpoint gave no answer an OAuth client can read (what it did instead is
    /// logged, not shown: it would describe whatever listens at that address).
    Unreachable,
    /// The answer carried no ID token.
    NoIdToken,
    /// No published key verifies the signature.
    Signature,
    Nonce,
    /// Issuer, audience, expiry or another claim check failed.
    Claims(String),
}

impl Rejection {
    pub fn message(&self) -> String {
        match self {
            Rejection::Exchange(detail) => {
                format!("the identity provider refused the sign-in code: {detail}")
            }
            Rejection::Unreachable => {
                "the identity provider's token endpoint could not be reached".to_owned()
            }
            Rejection::NoIdToken => "the identity provider sent no ID token".to_owned(),
            Rejection::Signature => {
                "the ID token is not signed by a key the identity provider publishes".to_owned()
            }
            Rejection::Nonce => "the ID token was not issued for this sign-in (nonce)".to_owned(),
            Rejection::Claims(detail) => format!("the ID token is not valid: {detail}"),
        }
    }
}

/// Provider requests go through the outbound guard: `openidconnect` sends them with it as it
/// would with reqwest.
impl<'c> openidconnect::AsyncHttpClient<'c> for Outbound {
    type Error = Unreachable;
    type Future =
        Pin<Box<dyn Future<Output = Result<openidconnect::HttpResponse, Unreachable>> + Send + 'c>>;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(self.fetch(request))
    }
}

/// The one refusal of an issuer whose discovery failed, whatever failed: a refused address, a
/// closed port, silence, TLS, or an answer that is not an OpenID provider's. Anything more
/// precise would tell an administrator what listens where behind Charter.
fn unreachable_issuer() -> ApiError {
    ApiError::invalid("issuer", "is not a reachable OpenID provider")
}

/// Checks that `issuer` is an OpenID provider Charter can use, fetching its discovery document
/// and key set: an `https` URL (or `http` where the settings allow it), whose document names
/// the same issuer, supports the code flow and publishes at least one key.
pub async fn discover(
    http: &Outbound,
    issuer: &str,
    allow_insecure: bool,
) -> ApiResult<Discovered> {
    let invalid = |message: String| ApiError::invalid("issuer", message);
    let url = url::Url::parse(issuer).map_err(|_| invalid("is not a URL".to_owned()))?;
    if url.scheme() != "https" && !(allow_insecure && url.scheme() == "http") {
        return Err(invalid("must be an https URL".to_owned()));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(invalid(
            "must have no query, fragment or credentials".to_owned(),
        ));
    }
    let issuer_url =
        IssuerUrl::new(issuer.to_owned()).map_err(|_| invalid("is not a URL".to_owned()))?;
    let metadata = CoreProviderMetadata::discover_async(issuer_url, http)
        .await
        .map_err(|err| {
            tracing::debug!(%issuer, error = %chain(&err), "discovery failed");
            unreachable_issuer()
        })?;
    let code = ResponseTypes::new(vec![CoreResponseType::Code]);
    if !metadata.response_types_supported().contains(&code) {
        return Err(invalid(
            "names a provider that does not offer the authorization code flow".to_owned(),
        ));
    }
    if metadata.token_endpoint().is_none() {
        return Err(invalid(
            "names a provider without a token endpoint".to_owned(),
        ));
    }
    // Where the metadata sends Charter next must be as safe as the issuer itself.
    let endpoints = [
        Some(metadata.authorization_endpoint().url()),
        metadata.token_endpoint().map(|url| url.url()),
        Some(metadata.jwks_uri().url()),
    ];
    if !allow_insecure
        && endpoints
            .into_iter()
            .flatten()
            .any(|url| url.scheme() != "https")
    {
        return Err(invalid(
            "names a provider whose authorization, token or key endpoint is not https".to_owned(),
        ));
    }
    if metadata.jwks().keys().is_empty() {
        return Err(invalid(
            "names a provider that publishes no signing keys".to_owned(),
        ));
    }
    let jwks = serde_json::to_string(metadata.jwks()).map_err(ApiError::internal)?;
    let metadata = serde_json::to_string(&metadata).map_err(ApiError::internal)?;
    Ok(Discovered { metadata, jwks })
}

/// The provider's key set fetched again (its keys may have rotated since configuration).
pub async fn fetch_jwks(http: &Outbound, metadata: &str) -> ApiResult<String> {
    let metadata: CoreProviderMetadata =
        serde_json::from_str(metadata).map_err(ApiError::internal)?;
    let jwks = CoreJsonWebKeySet::fetch_async(metadata.jwks_uri(), http)
        .await
        .map_err(|err| {
            ApiError::internal(format!("fetching the provider's keys: {}", chain(&err)))
        })?;
    serde_json::to_string(&jwks).map_err(ApiError::internal)
}

fn client(
    config: &ClientConfig<'_>,
) -> ApiResult<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
> {
    let metadata: CoreProviderMetadata =
        serde_json::from_str(config.metadata).map_err(ApiError::internal)?;
    let jwks: CoreJsonWebKeySet = serde_json::from_str(config.jwks).map_err(ApiError::internal)?;
    let redirect = RedirectUrl::new(config.redirect_uri.to_owned()).map_err(ApiError::internal)?;
    Ok(CoreClient::from_provider_metadata(
        metadata.set_jwks(jwks),
        ClientId::new(config.client_id.to_owned()),
        Some(ClientSecret::new(config.client_secret.to_owned())),
    )
    .set_redirect_uri(redirect))
}

/// A new authorization request with a fresh `state`, `nonce` and PKCE S256 pair, asking for
/// the `openid`, `email` and `profile` scopes.
pub fn authorize(config: &ClientConfig<'_>) -> ApiResult<Authorization> {
    let client = client(config)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".to_owned()))
        .add_scope(Scope::new("profile".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    Ok(Authorization {
        url: url.to_string(),
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
    })
}

/// Exchanges `code` with the PKCE verifier for the provider's ID token. `Ok(Err(..))` is the
/// provider's refusal; `Err` is Charter's own failure.
pub async fn exchange(
    http: &Outbound,
    config: &ClientConfig<'_>,
    code: &str,
    pkce_verifier: &str,
) -> ApiResult<Result<CoreIdToken, Rejection>> {
    let client = client(config)?;
    let request = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(ApiError::internal)?
        .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()));
    match request.request_async(http).await {
        Ok(response) => Ok(response.id_token().cloned().ok_or(Rejection::NoIdToken)),
        // The provider's own OAuth refusal is its word to the person signing in.
        Err(RequestTokenError::ServerResponse(refusal)) => {
            Ok(Err(Rejection::Exchange(refusal.to_string())))
        }
        Err(err) => {
            tracing::debug!(error = %chain(&err), "the code exchange failed");
            Ok(Err(Rejection::Unreachable))
        }
    }
}

/// Verifies an ID token against the configured key set, client and `nonce`.
pub fn verify(
    config: &ClientConfig<'_>,
    id_token: &CoreIdToken,
    nonce: &str,
) -> ApiResult<Result<Verified, Rejection>> {
    let client = client(config)?;
    let verifier = client.id_token_verifier();
    let claims = match id_token.claims(&verifier, &Nonce::new(nonce.to_owned())) {
        Ok(claims) => claims,
        Err(openidconnect::ClaimsVerificationError::SignatureVerification(_)) => {
            return Ok(Err(Rejection::Signature));
        }
        Err(openidconnect::ClaimsVerificationError::InvalidNonce(_)) => {
            return Ok(Err(Rejection::Nonce));
        }
        Err(err) => return Ok(Err(Rejection::Claims(err.to_string()))),
    };
    Ok(Ok(Verified {
        subject: claims.subject().as_str().to_owned(),
        email: claims.email().map(|email| email.as_str().to_owned()),
        email_verified: claims.email_verified() == Some(true),
        name: claims
            .name()
            .and_then(|name| name.get(None))
            .map(|name| name.as_str().to_owned()),
        mfa: claims.auth_method_refs().is_some_and(|methods| {
            let methods: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
            methods.contains(&"mfa")
                || methods
                    .iter()
                    .any(|m| ["otp", "hwk", "swk", "sms", "fpt", "face"].contains(m))
        }),
    }))
}
