//! The GraphQL endpoint, following the GraphQL-over-HTTP specification: POST with a JSON body;
//! GET for queries only (never a mutation); no other content types, which also keeps browsers
//! from sending a query cross-site without a CORS preflight.

use std::net::SocketAddr;

use async_graphql::parser::types::OperationType;
use async_graphql::{Request, Response, ServerError};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use serde::Deserialize;

use super::HttpState;
use super::caller::{Caller, CallerError};
use crate::error::{ApiError, ErrorCode};
use crate::graphql::{RequestContext, document};
use crate::services::RequestMeta;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

pub async fn graphql_post(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    caller: Result<Caller, CallerError>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResponse {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media_type != JSON && media_type != GRAPHQL_RESPONSE {
        return request_error(
            &headers,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send GraphQL requests as POST with Content-Type: application/json",
        );
    }
    let request: Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            return request_error(
                &headers,
                StatusCode::BAD_REQUEST,
                &format!("the body is not a GraphQL request: {err}"),
            );
        }
    };
    execute(state, peer, caller, headers, request).await
}

pub async fn graphql_get(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    caller: Result<Caller, CallerError>,
    headers: HeaderMap,
    Query(params): Query<GetParams>,
) -> HttpResponse {
    let Some(query) = params.query else {
        return request_error(
            &headers,
            StatusCode::BAD_REQUEST,
            "the `query` parameter is required",
        );
    };
    let mut request = Request::new(query.as_str());
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    if let Some(variables) = params.variables {
        match serde_json::from_str(&variables) {
            Ok(variables) => request = request.variables(variables),
            Err(_) => {
                return request_error(&headers, StatusCode::BAD_REQUEST, "`variables` is not JSON");
            }
        }
    }
    if let Some(extensions) = params.extensions
        && serde_json::from_str::<serde_json::Value>(&extensions).is_err()
    {
        return request_error(
            &headers,
            StatusCode::BAD_REQUEST,
            "`extensions` is not JSON",
        );
    }
    // The document is parsed here to refuse mutations, so its nesting is bounded first.
    if let Err(error) = document::check_nesting(&query) {
        return request_error(&headers, StatusCode::BAD_REQUEST, &error.message);
    }
    if selects_mutation(&mut request) {
        let mut response = request_error(
            &headers,
            StatusCode::METHOD_NOT_ALLOWED,
            "mutations are accepted by POST only",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    execute(state, peer, caller, headers, request).await
}

/// Whether the operation a GET would run is a mutation (or a subscription). The document is
/// parsed once, and the executor reuses it.
fn selects_mutation(request: &mut Request) -> bool {
    let operation_name = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else {
        return false; // the executor reports the syntax error
    };
    document.operations.iter().any(|(name, operation)| {
        let selected = match operation_name.as_deref() {
            Some(wanted) => name.is_some_and(|name| name.as_str() == wanted),
            None => true,
        };
        selected && operation.node.ty != OperationType::Query
    })
}

async fn execute(
    state: HttpState,
    peer: SocketAddr,
    caller: Result<Caller, CallerError>,
    headers: HeaderMap,
    mut request: Request,
) -> HttpResponse {
    let principal = match caller {
        Ok(Caller(principal)) => principal,
        Err(CallerError(err)) => return graphql_error(&headers, err),
    };
    let meta = request_meta(peer, &headers, &state.app.settings.trusted_proxies);
    let started = std::time::Instant::now();
    let (kind, operation) = crate::graphql::operation_label(&mut request);
    let (context, batches) = RequestContext::new(&state.app, principal, meta);
    let span = tracing::info_span!(
        "graphql",
        otel.name = %operation,
        graphql.operation.type = kind,
    );
    let mut response = tracing::Instrument::instrument(
        crate::graphql::execute(&state.schema, request.data(context), batches),
        span,
    )
    .await;
    assign_codes(&mut response);
    count_operation(kind, operation, &response, started);
    respond(&headers, response)
}

/// Counts the operation under its label and the code of its first error (`OK` without one),
/// and times it by its type.
fn count_operation(
    kind: &'static str,
    operation: String,
    response: &Response,
    started: std::time::Instant,
) {
    let outcome = response
        .errors
        .first()
        .and_then(|error| error.extensions.as_ref()?.get("code").cloned())
        .and_then(|code| match code {
            // Only a code of the closed set names a series.
            async_graphql::Value::String(code) => ErrorCode::ALL
                .iter()
                .map(|known| known.as_str())
                .find(|known| *known == code),
            _ => None,
        })
        .unwrap_or(if response.errors.is_empty() {
            "OK"
        } else {
            "INTERNAL"
        });
    let metrics = crate::metrics::metrics();
    metrics
        .graphql_operations
        .get_or_create(&crate::metrics::OperationLabels { operation, outcome })
        .inc();
    metrics
        .graphql_seconds
        .get_or_create(&crate::metrics::OperationTypeLabels {
            operation_type: kind,
        })
        .observe(started.elapsed().as_secs_f64());
}

/// Where a request came from: the client's address and its user agent.
pub fn request_meta(
    peer: SocketAddr,
    headers: &HeaderMap,
    trusted: &[ipnet::IpNet],
) -> RequestMeta {
    RequestMeta {
        ip: Some(client_ip(peer.ip(), headers, trusted).to_string()),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned),
    }
}

/// Whether `ip` is one of the `trusted` proxies, whose forwarded headers are believed.
pub fn is_trusted_proxy(ip: &std::net::IpAddr, trusted: &[ipnet::IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(ip))
}

/// The client's address: the peer, unless the peer is a trusted proxy, in which case the
/// rightmost address of `X-Forwarded-For` that is not itself a trusted proxy (addresses further
/// left were written by the client and prove nothing).
pub fn client_ip(
    peer: std::net::IpAddr,
    headers: &HeaderMap,
    trusted: &[ipnet::IpNet],
) -> std::net::IpAddr {
    let is_trusted = |ip: &std::net::IpAddr| is_trusted_proxy(ip, trusted);
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<std::net::IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer)
}

/// Gives every error a code from the closed set: request-level errors (syntax, validation,
/// variables) are INVALID_INPUT; anything else without a code is INTERNAL, with its text hidden.
fn assign_codes(response: &mut Response) {
    for error in &mut response.errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|extensions| extensions.get("code").is_some());
        if has_code {
            continue;
        }
        let code = if error.path.is_empty() {
            ErrorCode::InvalidInput
        } else {
            tracing::error!(message = %error.message, "field error without a code");
            error.message = "internal error".to_owned();
            ErrorCode::Internal
        };
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", code.as_str());
    }
}

fn wants_graphql_response(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains(GRAPHQL_RESPONSE))
}

/// Whether the request was refused before execution (a document that does not parse or
/// validate, a refused credential, a limit): then there is no `data` at all, only errors without
/// a path. A field that failed during execution always leaves its path, even when it nulls
/// `data` itself.
fn never_executed(response: &Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty())
}

fn respond(headers: &HeaderMap, response: Response) -> HttpResponse {
    let graphql_response = wants_graphql_response(headers);
    let executed = !never_executed(&response);
    // With application/graphql-response+json, only a request that never executed is a 400;
    // with application/json every GraphQL response is a 200.
    let status = if graphql_response && !executed {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let content_type = if graphql_response {
        GRAPHQL_RESPONSE
    } else {
        JSON
    };
    let body = if executed {
        serde_json::to_vec(&response)
    } else {
        // The GraphQL specification: a request that never executed has no `data` entry.
        serde_json::to_value(&response).and_then(|mut body| {
            if let Some(fields) = body.as_object_mut() {
                fields.remove("data");
            }
            serde_json::to_vec(&body)
        })
    };
    match body {
        Ok(body) => (status, [(header::CONTENT_TYPE, content_type)], body).into_response(),
        Err(err) => {
            let _ = ApiError::internal(format!("serializing a response: {err}"));
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn graphql_error(headers: &HeaderMap, err: ApiError) -> HttpResponse {
    let error: async_graphql::Error = err.into();
    let response = Response::from_errors(vec![error.into_server_error(Default::default())]);
    respond(headers, response)
}

fn request_error(headers: &HeaderMap, status: StatusCode, message: &str) -> HttpResponse {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", ErrorCode::InvalidInput.as_str());
    let body = serde_json::json!({ "errors": [error] });
    let content_type = if wants_graphql_response(headers) {
        GRAPHQL_RESPONSE
    } else {
        JSON
    };
    (
        status,
        [(header::CONTENT_TYPE, content_type)],
        body.to_string(),
    )
        .into_response()
}
