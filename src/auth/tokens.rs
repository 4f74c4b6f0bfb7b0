//! Access tokens (short-lived EdDSA JWTs) and refresh tokens (opaque, random, stored hashed).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use std::sync::Arc;

use super::keys::{KeyRing, KeyStore};
use crate::error::ApiError;

/// The `typ` claim of an access token; anything else is refused where an access token is expected.
const ACCESS: &str = "access";
/// The JOSE header `typ` of a session's access token, the generic one; a client-credentials
/// token has [`CLIENT_HEADER_TYP`], so that a verifier that checks the header cannot take one
/// for the other even when it reads no claim.
const ACCESS_HEADER_TYP: &str = "JWT";
/// The JOSE header `typ` of a client-credentials token: an OAuth access token (RFC 9068).
pub const CLIENT_HEADER_TYP: &str = "at+jwt";

#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    pub sid: String,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub typ: String,
    /// How the person signed in (RFC 8176 style): `pwd` (a password) or `sso` (single
    /// sign-on, with `idp`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The identity provider (its issuer) of a single sign-on session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
}

/// A verified access token: who, in which session, with which active organization.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub organization_id: Option<Uuid>,
}

/// How long after its expiry a token is still taken (clock skew between hosts).
pub const LEEWAY_SECONDS: i64 = 30;

pub struct TokenIssuer {
    keys: KeyStore,
    issuer: String,
    audience: String,
    access_ttl: Duration,
}

impl TokenIssuer {
    pub fn new(keys: KeyRing, issuer: String, audience: String, access_ttl: Duration) -> Self {
        Self {
            keys: KeyStore::new(keys),
            issuer,
            audience,
            access_ttl,
        }
    }

    /// The keys in force now.
    pub fn keys(&self) -> Arc<KeyRing> {
        self.keys.ring()
    }

    /// Where the keys in force are replaced when they rotate.
    pub fn key_store(&self) -> &KeyStore {
        &self.keys
    }

    /// Signs an access token; returns it with its expiry.
    pub fn issue_access(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        organization_id: Option<Uuid>,
        amr: Vec<String>,
        idp: Option<&str>,
    ) -> Result<(String, DateTime<Utc>), ApiError> {
        let now = Utc::now();
        let expires_at = now + self.access_ttl;
        let claims = AccessClaims {
            sub: user_id.to_string(),
            org: organization_id.map(|id| id.to_string()),
            sid: session_id.to_string(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: expires_at.timestamp(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            typ: ACCESS.to_owned(),
            amr,
            idp: idp.map(str::to_owned),
        };
        let token = self
            .sign(ACCESS_HEADER_TYP, &claims)
            .map_err(|err| ApiError::internal(format!("signing an access token: {err}")))?;
        Ok((token, expires_at))
    }

    /// Signs `claims` with the current key, under the header `typ`.
    fn sign(
        &self,
        typ: &str,
        claims: &impl Serialize,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let keys = self.keys.ring();
        let key = keys.current();
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(typ.to_owned());
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding)
    }

    /// Verifies an access token: EdDSA only, the header `typ` of a session's token (never a
    /// client-credentials token's), a known `kid`, our issuer and audience, `exp`, `nbf`, and
    /// the access `typ` claim.
    pub fn verify_access(&self, token: &str) -> Result<VerifiedToken, ApiError> {
        let invalid = || ApiError::unauthenticated("the access token is not valid");
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
        let session_typ = header
            .typ
            .as_deref()
            .is_some_and(|typ| typ.eq_ignore_ascii_case(ACCESS_HEADER_TYP));
        if header.alg != Algorithm::EdDSA || !session_typ {
            return Err(invalid());
        }
        let kid = header.kid.ok_or_else(invalid)?;
        let keys = self.keys.ring();
        let key = keys.find(&kid).ok_or_else(invalid)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS as u64;
        let data = jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &validation)
            .map_err(|err| match err.kind() {
                ErrorKind::ExpiredSignature => {
                    ApiError::unauthenticated("the access token has expired; refresh the session")
                }
                _ => invalid(),
            })?;
        let claims = data.claims;
        if claims.typ != ACCESS {
            return Err(invalid());
        }
        let parse = |value: &str| Uuid::parse_str(value).map_err(|_| invalid());
        Ok(VerifiedToken {
            user_id: parse(&claims.sub)?,
            session_id: parse(&claims.sid)?,
            organization_id: claims.org.as_deref().map(parse).transpose()?,
        })
    }
}

/// The claims of a token issued to an API key by the client-credentials grant, for other
/// services to verify offline against the JWKS, under the header `typ` [`CLIENT_HEADER_TYP`].
/// Charter itself does not take it as a bearer: neither its header `typ` nor its `typ` claim is
/// a session's, and it names no session.
#[derive(Debug, Serialize, Deserialize)]
pub struct ClientClaims {
    /// The key's holder.
    pub sub: String,
    pub org: String,
    /// The key (the OAuth client) the token was issued to.
    pub azp: String,
    pub client_id: String,
    /// The effective grants as `resource:level`, space-separated (RFC 8693 `scope`).
    pub scope: String,
    /// The same grants as a list.
    pub permissions: Vec<String>,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub jti: String,
    pub typ: String,
}

/// The `typ` claim of a client-credentials token.
pub const CLIENT: &str = "client_credentials";

impl TokenIssuer {
    /// Signs a client-credentials token for the key `key_id` held by `holder` in
    /// `organization`, carrying `permissions`; returns it with its lifetime in seconds.
    pub fn issue_client(
        &self,
        holder: Uuid,
        organization: Uuid,
        key_id: Uuid,
        permissions: Vec<String>,
    ) -> Result<(String, i64), ApiError> {
        let now = Utc::now();
        let lifetime = self.access_ttl;
        let claims = ClientClaims {
            sub: holder.to_string(),
            org: organization.to_string(),
            azp: key_id.to_string(),
            client_id: key_id.to_string(),
            scope: permissions.join(" "),
            permissions,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: (now + lifetime).timestamp(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            jti: Uuid::now_v7().to_string(),
            typ: CLIENT.to_owned(),
        };
        let token = self
            .sign(CLIENT_HEADER_TYP, &claims)
            .map_err(|err| ApiError::internal(format!("signing a client token: {err}")))?;
        Ok((token, lifetime.num_seconds()))
    }

    /// The issuer tokens name (`iss`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
}

/// A new refresh token: 256 random bits, shown once to the client.
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("crt_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored of a random token (refresh tokens, invitation tokens): its SHA-256, hex. The
/// token has 256 bits of entropy, so a fast hash is enough to make a leaked table useless.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}
