//! The caller of an HTTP request, established once per request from its `Authorization` header.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::HttpState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::services::identity::sessions;

/// Who sent the request: a signed-in user, no one, or a refused credential. A route takes it as
/// `Result<Caller, CallerError>` and answers a failure to establish it in its own format.
pub struct Caller(pub Principal);

/// The caller could not be established (the database did not answer, say).
pub struct CallerError(pub ApiError);

impl FromRequestParts<HttpState> for Caller {
    type Rejection = CallerError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &HttpState,
    ) -> Result<Self, Self::Rejection> {
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok());
        sessions::authenticate(&state.app, authorization)
            .await
            .map(Caller)
            .map_err(CallerError)
    }
}

impl axum::response::IntoResponse for CallerError {
    fn into_response(self) -> axum::response::Response {
        (self.0.code.http_status(), self.0.message).into_response()
    }
}
