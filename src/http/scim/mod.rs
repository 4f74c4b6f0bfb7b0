//! SCIM 2.0 (RFC 7643, RFC 7644) per organization, at `/scim/v2/{publicId}/`: discovery,
//! Users and Groups, in `application/scim+json`, every error in the shape of §3.12. Every
//! request passes one gate ([`scim::admit`]): an API key of a service account of that
//! organization whose grants include `member: manage`.

mod resources;

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use self::resources::Projection;
use super::HttpState;
use super::caller::{Caller, CallerError};
use super::graphql::request_meta;
use crate::error::{ApiError, ErrorCode};
use crate::scim::document::{GROUP, Shape, USER};
use crate::scim::error::{ScimError, ScimType};
use crate::scim::{filter, patch, schema};
use crate::services::organization::scim::{self, Window, groups, users};
use crate::services::store::scope::OrgChange;

/// The most resources a filter the database cannot answer alone is checked against.
const MAX_SCAN: u64 = 20_000;

pub fn routes() -> Router<HttpState> {
    Router::new()
        .route(
            "/scim/v2/{organization}/ServiceProviderConfig",
            get(service_provider_config),
        )
        .route("/scim/v2/{organization}/ResourceTypes", get(resource_types))
        .route(
            "/scim/v2/{organization}/ResourceTypes/{id}",
            get(resource_type),
        )
        .route("/scim/v2/{organization}/Schemas", get(schemas))
        .route("/scim/v2/{organization}/Schemas/{id}", get(schema_by_id))
        .route(
            "/scim/v2/{organization}/Users",
            get(list_users).post(create_user),
        )
        .route(
            "/scim/v2/{organization}/Users/{id}",
            get(get_user)
                .put(put_user)
                .patch(patch_user)
                .delete(delete_user),
        )
        .route(
            "/scim/v2/{organization}/Groups",
            get(list_groups).post(create_group),
        )
        .route(
            "/scim/v2/{organization}/Groups/{id}",
            get(get_group)
                .put(put_group)
                .patch(patch_group)
                .delete(delete_group),
        )
        .route("/scim/v2/{organization}/.search", post(search_everything))
        .route("/scim/v2/{organization}/Users/.search", post(search_users))
        .route(
            "/scim/v2/{organization}/Groups/.search",
            post(search_groups),
        )
        .route(
            "/scim/v2/{organization}/{*rest}",
            axum::routing::any(unknown),
        )
}

/// The body bound of the SCIM routes: the service's, refused as a SCIM error (RFC 7644 §3.12).
pub const BODY_BOUND: super::server::BodyBound = super::server::BodyBound {
    limit: super::MAX_BODY_BYTES,
    refuse: || {
        failure(ScimError::status(
            413,
            format!(
                "the request body is larger than {} bytes",
                super::MAX_BODY_BYTES
            ),
        ))
    },
};

/// What every SCIM request has once it passed the gate.
struct Scim {
    change: OrgChange,
    base: String,
}

type Answer = Result<Response, ScimError>;

/// Every SCIM handler takes the request through the gate first: the organization of its path,
/// the caller of its `Authorization` header, the address it came from.
impl FromRequestParts<HttpState> for Scim {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &HttpState) -> Result<Self, Response> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| failure(ScimError::status(404, "no such endpoint")))?;
        let organization = params
            .get("organization")
            .map(String::as_str)
            .unwrap_or_default();
        let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .map_err(|_| failure(ScimError::status(500, "the request has no peer address")))?;
        let caller = Caller::from_request_parts(parts, state).await;
        enter(state, peer, &parts.headers, caller, organization)
            .await
            .map_err(failure)
    }
}

/// The gate, and the base URL resources are located at.
async fn enter(
    state: &HttpState,
    peer: SocketAddr,
    headers: &HeaderMap,
    caller: Result<Caller, CallerError>,
    organization: &str,
) -> Result<Scim, ScimError> {
    let principal = caller.map_err(|CallerError(err)| refused(err))?.0;
    let meta = request_meta(peer, headers, &state.app.settings.trusted_proxies);
    let change = scim::admit(&state.app, &principal, organization, &meta)
        .await
        .map_err(refused)?;
    let origin = match &state.app.settings.sso.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|value| value.to_str().ok())
                .filter(|host| host.len() <= 255 && !host.contains(['/', '\\', ' ']))
                .unwrap_or("localhost");
            format!("http://{host}")
        }
    };
    let base = format!("{origin}/scim/v2/{}", url_safe(organization));
    Ok(Scim { change, base })
}

/// The organization reference as it goes into URLs: only the characters of a public id.
fn url_safe(reference: &str) -> String {
    reference
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(64)
        .collect()
}

/// A refusal or failure of the service, as SCIM answers it.
fn refused(err: ApiError) -> ScimError {
    let status = match err.code {
        ErrorCode::Unauthenticated => 401,
        ErrorCode::Forbidden | ErrorCode::FeatureNotLicensed => 403,
        ErrorCode::NotFound => 404,
        ErrorCode::SeatLimitReached | ErrorCode::LastOwner | ErrorCode::Conflict => 409,
        ErrorCode::RateLimited => 429,
        ErrorCode::InvalidInput | ErrorCode::PermissionDependency => {
            return ScimError::bad_request(ScimType::InvalidValue, err.message);
        }
        ErrorCode::Internal => {
            tracing::error!(error = %err.message, "SCIM request failed");
            return ScimError::status(500, "the request could not be completed");
        }
    };
    ScimError::status(status, err.message)
}

fn respond(status: StatusCode, body: Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/scim+json"),
    );
    response
}

fn failure(err: ScimError) -> Response {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = respond(status, err.body());
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"charter-scim\""),
        );
    }
    response
}

fn finish(answer: Answer) -> Response {
    answer.unwrap_or_else(failure)
}

fn created(location: &str, body: Value) -> Response {
    let mut response = respond(StatusCode::CREATED, body);
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A JSON body; SCIM's media type or plain JSON.
fn json_body(body: &Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice(body).map_err(|err| {
        ScimError::bad_request(
            ScimType::InvalidSyntax,
            format!("the body is not JSON: {}", json_fault(&err)),
        )
    })
}

/// What is wrong with a body that is not JSON, in words that repeat none of it.
fn json_fault(err: &serde_json::Error) -> &'static str {
    match err.classify() {
        serde_json::error::Category::Io => "it could not be read",
        serde_json::error::Category::Syntax => "its syntax is invalid",
        serde_json::error::Category::Data => "it holds an unexpected value",
        serde_json::error::Category::Eof => "it ends too early",
    }
}

fn resource_id(id: &str, kind: &str) -> Result<Uuid, ScimError> {
    Uuid::parse_str(id).map_err(|_| ScimError::status(404, format!("no such {kind}")))
}

/// The query of a list or a read.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    filter: Option<String>,
    start_index: Option<String>,
    count: Option<String>,
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

impl ListQuery {
    /// A search request's body (RFC 7644 §3.4.3) as the query of a list.
    fn searched(body: &Bytes) -> Result<Self, ScimError> {
        let body = json_body(body)?;
        let names_search = filter::member(&body, "schemas")
            .and_then(Value::as_array)
            .is_some_and(|schemas| {
                schemas
                    .iter()
                    .any(|s| s.as_str() == Some(schema::SEARCH_REQUEST))
            });
        if !names_search {
            return Err(ScimError::bad_request(
                ScimType::InvalidSyntax,
                format!("`schemas` does not name {}", schema::SEARCH_REQUEST),
            ));
        }
        let text = |name: &str| match filter::member(&body, name) {
            Some(Value::String(text)) => Some(text.clone()),
            Some(Value::Number(number)) => Some(number.to_string()),
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => None,
        };
        Ok(Self {
            filter: text("filter"),
            start_index: text("startIndex"),
            count: text("count"),
            attributes: text("attributes"),
            excluded_attributes: text("excludedAttributes"),
        })
    }

    fn projection(&self) -> Result<Projection, ScimError> {
        Projection::parse(
            self.attributes.as_deref(),
            self.excluded_attributes.as_deref(),
        )
    }

    /// `startIndex` (1-based; below 1 counts as 1) and `count` (bounded by a page; negative
    /// counts as 0), as RFC 7644 §3.4.2.4 reads them.
    fn window(&self) -> Result<(u64, u64), ScimError> {
        let number = |name: &str, text: &Option<String>, default: i64| match text {
            None => Ok(default),
            Some(text) => text.trim().parse::<i64>().map_err(|_| {
                ScimError::bad_request(ScimType::InvalidValue, format!("`{name}` is not a number"))
            }),
        };
        let start = number("startIndex", &self.start_index, 1)?.max(1) as u64;
        let count = number("count", &self.count, schema::MAX_PAGE as i64)?
            .clamp(0, schema::MAX_PAGE as i64) as u64;
        Ok((start, count))
    }

    fn filter(&self) -> Result<Option<filter::Filter>, ScimError> {
        self.filter
            .as_deref()
            .map(filter::parse)
            .transpose()
            .map_err(ScimError::from)
    }
}

async fn service_provider_config(scim: Scim) -> Response {
    respond(StatusCode::OK, schema::service_provider_config(&scim.base))
}

async fn resource_types(scim: Scim) -> Response {
    let all = schema::resource_types(&scim.base);
    let total = all.len() as u64;
    respond(StatusCode::OK, schema::list(all, 1, total))
}

async fn resource_type(scim: Scim, Path((_, id)): Path<(String, String)>) -> Response {
    by_id(schema::resource_types(&scim.base), &id, "resource type")
}

async fn schemas(scim: Scim) -> Response {
    let all = schema::schemas(&scim.base);
    let total = all.len() as u64;
    respond(StatusCode::OK, schema::list(all, 1, total))
}

async fn schema_by_id(scim: Scim, Path((_, id)): Path<(String, String)>) -> Response {
    by_id(schema::schemas(&scim.base), &id, "schema")
}

fn by_id(all: Vec<Value>, id: &str, kind: &str) -> Response {
    match all.into_iter().find(|item| item["id"].as_str() == Some(id)) {
        Some(found) => respond(StatusCode::OK, found),
        None => failure(ScimError::status(404, format!("no such {kind}"))),
    }
}

async fn unknown(_scim: Scim) -> Response {
    failure(ScimError::status(404, "no such endpoint"))
}

async fn list_users(scim: Scim, Query(query): Query<ListQuery>) -> Response {
    finish(users_listed(&scim, &query).await)
}

async fn users_listed(scim: &Scim, query: &ListQuery) -> Answer {
    let filter = query.filter()?;
    let (prefilter, whole) = filter
        .as_ref()
        .map(resources::user_prefilter)
        .unwrap_or_default();
    let read = |window| users::page(&scim.change, &prefilter, window);
    let render = |user: &users::ScimUser| resources::render_user(&scim.base, user);
    listed(query, filter.as_ref(), whole, read, render).await
}

/// A list's answer: the page the database reads when it answers the whole filter, else every
/// candidate it selects (at most [`MAX_SCAN`]) checked against the filter, then windowed.
async fn listed<T, Read>(
    query: &ListQuery,
    filter: Option<&filter::Filter>,
    whole: bool,
    read: impl Fn(Window) -> Read,
    render: impl Fn(&T) -> Value,
) -> Answer
where
    Read: Future<Output = Result<(Vec<T>, u64), ApiError>>,
{
    let (start, count) = query.window()?;
    let projection = query.projection()?;
    let (page, total) = if filter.is_none() || whole {
        let window = Window {
            offset: start - 1,
            limit: count,
        };
        let (found, total) = read(window).await.map_err(refused)?;
        (found.iter().map(render).collect::<Vec<_>>(), total)
    } else {
        let all = Window {
            offset: 0,
            limit: MAX_SCAN + 1,
        };
        let (found, _) = read(all).await.map_err(refused)?;
        windowed(scanned(found.iter().map(render), filter)?, start, count)
    };
    let resources = page
        .into_iter()
        .map(|item| projection.apply(item))
        .collect();
    Ok(respond(
        StatusCode::OK,
        schema::list(resources, start, total),
    ))
}

/// The resources `filter` matches, of at most [`MAX_SCAN`] candidates.
fn scanned(
    candidates: impl ExactSizeIterator<Item = Value>,
    filter: Option<&filter::Filter>,
) -> Result<Vec<Value>, ScimError> {
    if candidates.len() as u64 > MAX_SCAN {
        return Err(ScimError::bad_request(
            ScimType::TooMany,
            format!(
                "the filter would be checked against more than {MAX_SCAN} resources; narrow it \
                 with `userName eq`, `externalId eq` or `displayName eq`"
            ),
        ));
    }
    Ok(candidates
        .filter(|resource| filter.is_none_or(|f| filter::matches(f, resource)))
        .collect())
}

fn windowed(all: Vec<Value>, start: u64, count: u64) -> (Vec<Value>, u64) {
    let total = all.len() as u64;
    let page = all
        .into_iter()
        .skip((start - 1) as usize)
        .take(count as usize)
        .collect();
    (page, total)
}

async fn get_user(
    scim: Scim,
    Path((_, id)): Path<(String, String)>,
    Query(query): Query<ListQuery>,
) -> Response {
    finish(user_read(&scim, &id, &query).await)
}

async fn user_read(scim: &Scim, id: &str, query: &ListQuery) -> Answer {
    let projection = query.projection()?;
    let user = users::get(&scim.change, resource_id(id, "user")?)
        .await
        .map_err(refused)?;
    let rendered = resources::render_user(&scim.base, &user);
    Ok(respond(StatusCode::OK, projection.apply(rendered)))
}

async fn create_user(scim: Scim, body: Bytes) -> Response {
    finish(user_created(&scim, &body).await)
}

async fn user_created(scim: &Scim, body: &Bytes) -> Answer {
    let input = resources::user_input(USER.check(&json_body(body)?)?)?;
    let user = users::create(&scim.change, &input)
        .await
        .map_err(refused)??;
    let rendered = resources::render_user(&scim.base, &user);
    Ok(created(
        &format!("{}/Users/{}", scim.base, user.membership.id),
        rendered,
    ))
}

async fn put_user(scim: Scim, Path((_, id)): Path<(String, String)>, body: Bytes) -> Response {
    finish(user_edited(&scim, &id, &body, false).await)
}

async fn patch_user(scim: Scim, Path((_, id)): Path<(String, String)>, body: Bytes) -> Response {
    finish(user_edited(&scim, &id, &body, true).await)
}

/// A PUT (the body is the user) or a PATCH (the body's operations change the stored user).
async fn user_edited(scim: &Scim, id: &str, body: &Bytes, patching: bool) -> Answer {
    let id = resource_id(id, "user")?;
    let (body, operations) = edit_request(body, patching)?;
    let base = scim.base.clone();
    let edit = move |current: &users::ScimUser| {
        let stored = resources::render_user(&base, current);
        resources::user_input(edited(&USER, body, operations.as_deref(), stored)?)
    };
    let user = users::edit(&scim.change, id, edit)
        .await
        .map_err(refused)??;
    let rendered = resources::render_user(&scim.base, &user);
    Ok(respond(StatusCode::OK, rendered))
}

/// A PUT's or PATCH's body: the resource, or the operations.
fn edit_request(
    body: &Bytes,
    patching: bool,
) -> Result<(Value, Option<Vec<patch::Operation>>), ScimError> {
    let body = json_body(body)?;
    let operations = match patching {
        true => Some(patch::parse(&body)?),
        false => None,
    };
    Ok((body, operations))
}

/// What a PUT or PATCH makes of the stored resource: the PUT's body, or the stored resource
/// (as rendered) with the PATCH's operations applied; checked against `shape` either way.
fn edited(
    shape: &Shape,
    body: Value,
    operations: Option<&[patch::Operation]>,
    stored: Value,
) -> Result<serde_json::Map<String, Value>, ScimError> {
    let resource = match (operations, stored) {
        (Some(operations), Value::Object(mut stored)) => {
            patch::apply(shape, &mut stored, operations)?;
            Value::Object(stored)
        }
        _ => body,
    };
    shape.check(&resource)
}

async fn delete_user(scim: Scim, Path((_, id)): Path<(String, String)>) -> Response {
    let answer = async {
        users::delete(&scim.change, resource_id(&id, "user")?)
            .await
            .map_err(refused)?;
        Ok(StatusCode::NO_CONTENT.into_response())
    };
    finish(answer.await)
}

async fn list_groups(scim: Scim, Query(query): Query<ListQuery>) -> Response {
    finish(groups_listed(&scim, &query).await)
}

async fn groups_listed(scim: &Scim, query: &ListQuery) -> Answer {
    let filter = query.filter()?;
    let (prefilter, whole) = filter
        .as_ref()
        .map(resources::group_prefilter)
        .unwrap_or_default();
    let members = !query.projection()?.leaves_out("members");
    let read = |window| groups::page(&scim.change, &prefilter, window, members);
    let render = |group: &groups::ScimGroup| resources::render_group(&scim.base, group);
    listed(query, filter.as_ref(), whole, read, render).await
}

async fn get_group(
    scim: Scim,
    Path((_, id)): Path<(String, String)>,
    Query(query): Query<ListQuery>,
) -> Response {
    let answer = async {
        let projection = query.projection()?;
        let members = !projection.leaves_out("members");
        let group = groups::get(&scim.change, resource_id(&id, "group")?, members)
            .await
            .map_err(refused)?;
        let rendered = resources::render_group(&scim.base, &group);
        Ok(respond(StatusCode::OK, projection.apply(rendered)))
    };
    finish(answer.await)
}

async fn create_group(scim: Scim, body: Bytes) -> Response {
    let answer = async {
        let input = resources::group_input(GROUP.check(&json_body(&body)?)?)?;
        let group = groups::create(&scim.change, &input)
            .await
            .map_err(refused)??;
        let location = format!("{}/Groups/{}", scim.base, group.group.id);
        Ok(created(
            &location,
            resources::render_group(&scim.base, &group),
        ))
    };
    finish(answer.await)
}

async fn put_group(scim: Scim, Path((_, id)): Path<(String, String)>, body: Bytes) -> Response {
    finish(group_edited(&scim, &id, &body, false).await)
}

async fn patch_group(scim: Scim, Path((_, id)): Path<(String, String)>, body: Bytes) -> Response {
    finish(group_edited(&scim, &id, &body, true).await)
}

/// A PUT or PATCH of a group. A PATCH answers the group as it now is, as Okta expects; its
/// members are listed, however many.
async fn group_edited(scim: &Scim, id: &str, body: &Bytes, patching: bool) -> Answer {
    let id = resource_id(id, "group")?;
    let (body, operations) = edit_request(body, patching)?;
    let base = scim.base.clone();
    let edit = move |current: &groups::ScimGroup| {
        let stored = resources::render_group(&base, current);
        resources::group_input(edited(&GROUP, body, operations.as_deref(), stored)?)
    };
    let group = groups::edit(&scim.change, id, edit)
        .await
        .map_err(refused)??;
    let rendered = resources::render_group(&scim.base, &group);
    Ok(respond(StatusCode::OK, rendered))
}

async fn delete_group(scim: Scim, Path((_, id)): Path<(String, String)>) -> Response {
    let answer = async {
        groups::delete(&scim.change, resource_id(&id, "group")?)
            .await
            .map_err(refused)?;
        Ok(StatusCode::NO_CONTENT.into_response())
    };
    finish(answer.await)
}

/// A search across resource types at the root: not offered (RFC 7644 §3.4.3 lets a service
/// provider answer 501); `/Users/.search` and `/Groups/.search` are.
async fn search_everything(_scim: Scim) -> Response {
    failure(ScimError::status(
        501,
        "searching several resource types at once is not supported: POST to /Users/.search or \
         /Groups/.search",
    ))
}

async fn search_users(scim: Scim, body: Bytes) -> Response {
    let answer = async { users_listed(&scim, &ListQuery::searched(&body)?).await };
    finish(answer.await)
}

async fn search_groups(scim: Scim, body: Bytes) -> Response {
    let answer = async { groups_listed(&scim, &ListQuery::searched(&body)?).await };
    finish(answer.await)
}
