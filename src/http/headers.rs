//! Response headers every route needs for safe handling by browsers and caches.

use axum::extract::Request;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;

/// Adds to every response `X-Content-Type-Options: nosniff` (a browser never second-guesses a
/// content type into script or HTML), and to the routes that carry tokens or user data
/// `Cache-Control: no-store` (no shared or browser cache keeps them). A GET of `/graphql` also
/// varies by `Authorization`: the same URL answers differently for each caller.
pub async fn hygiene(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let private = path == "/graphql" || path.starts_with("/lists/");
    let varies_by_caller = path == "/graphql" && request.method() == Method::GET;
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if private {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if varies_by_caller {
        headers.append(header::VARY, HeaderValue::from_static("authorization"));
    }
    response
}
