//! Every request in a span of its own (the child of the caller's `traceparent`, with an id of
//! its own that its log lines carry), counted and timed by the route it matched; and `/metrics`
//! for Prometheus.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::metrics::{RouteLabels, RouteOnlyLabels, metrics};
use crate::services::AppState;

/// Runs the request in its span, and counts and times it under its route's template (never
/// its path, which a caller chooses). The response names the request's id in `x-request-id`.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = method_label(request.method());
    let request_id = uuid::Uuid::now_v7().simple().to_string();
    let span = tracing::info_span!(
        "request",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = method,
        http.route = %route,
        request_id = %request_id,
        trace_id = tracing::field::Empty,
    );
    let traceparent = request
        .headers()
        .get("traceparent")
        .and_then(|value| value.to_str().ok());
    crate::telemetry::adopt(&span, traceparent);
    // The trace id in the log lines: the span's when traces are on, else the caller's.
    let trace_id = crate::telemetry::trace_id_of(&span).or_else(|| {
        traceparent
            .and_then(crate::telemetry::trace_id_in)
            .map(str::to_owned)
    });
    if let Some(trace_id) = &trace_id {
        span.record("trace_id", trace_id.as_str());
    }
    let started = Instant::now();
    let mut response = tracing::Instrument::instrument(next.run(request), span).await;
    if let Ok(value) = header::HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    let metrics = metrics();
    metrics
        .http_seconds
        .get_or_create(&RouteOnlyLabels {
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .http_requests
        .get_or_create(&RouteLabels {
            route,
            method,
            status: status_class(response.status().as_u16()),
        })
        .inc();
    response
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// The process's metrics, the database's figures read first (at most every few seconds,
/// whoever asks).
pub async fn scrape(State(app): State<AppState>) -> Response {
    crate::services::observed::sample(&app).await;
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        metrics().encode(),
    )
        .into_response()
}
