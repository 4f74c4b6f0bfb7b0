//! Lists as files for devices and scripts: `GET /lists/{id}.txt` (one value per line) and
//! `GET /lists/{id}.csv` (value, note, added at; cells a spreadsheet would run as formulas are
//! quoted with a leading `'`), authorized by the same access token as the API. The body is streamed a page of entries at a time, so memory stays flat whatever the
//! list's size.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt, stream};

use super::HttpState;
use super::caller::{Caller, CallerError};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::graphql::ids::NodeId;
use crate::services::organization::lists::{self, EntryRecord, Readable};
use crate::services::store::access::Viewer;

/// Entries read per statement while streaming.
const PAGE: u64 = 1000;

#[derive(Clone, Copy)]
enum Format {
    Text,
    Csv,
}

pub async fn download(
    State(state): State<HttpState>,
    Path(file): Path<String>,
    caller: Result<Caller, CallerError>,
) -> Response {
    let principal = match caller {
        Ok(Caller(principal)) => principal,
        Err(CallerError(err)) => return error_response(err),
    };
    match export(state, &file, principal).await {
        Ok(response) => response,
        Err(err) => error_response(err),
    }
}

async fn export(state: HttpState, file: &str, principal: Principal) -> Result<Response, ApiError> {
    let (id, format) = match file.rsplit_once('.') {
        Some((id, "txt")) => (id, Format::Text),
        Some((id, "csv")) => (id, Format::Csv),
        _ => return Err(ApiError::not_found("list")),
    };
    let list_id = NodeId::list("id", &async_graphql::ID(id.to_owned()))
        .map_err(|_| ApiError::not_found("list"))?;
    let viewer = match principal {
        Principal::Anonymous => {
            return Err(ApiError::unauthenticated(
                "send an access token or an API key as `Authorization: Bearer <token>`",
            ));
        }
        principal => Viewer::of(&principal)?,
    };
    let app = state.app;
    let Readable { list, read } = lists::open(&app, &viewer, list_id).await?;
    tracing::info!(
        list = %list.id,
        user = %viewer.user_id,
        key = ?viewer.key.as_ref().map(|key| key.key_id),
        entries = list.entry_count,
        "list exported"
    );

    // Each step reads the next page after the last value sent; a failure mid-stream ends the
    // body early (the client sees a truncated transfer, never a wrong line).
    let pages = stream::try_unfold(Some(None::<String>), move |cursor| {
        let app = app.clone();
        let read = read.clone();
        async move {
            let Some(after) = cursor else {
                return Ok::<_, std::io::Error>(None);
            };
            let entries = lists::entries_after(&app, &read, after.as_deref(), PAGE)
                .await
                .map_err(|err| std::io::Error::other(err.message))?;
            if entries.is_empty() {
                return Ok(None);
            }
            let next = (entries.len() as u64 == PAGE)
                .then(|| entries.last().map(|entry| entry.value.clone()));
            let chunk = format.render(&entries)?;
            Ok(Some((Bytes::from(chunk), next.flatten().map(Some))))
        }
    });
    let body = match format.header_row() {
        Some(row) => Body::from_stream(stream::iter([Ok::<_, std::io::Error>(row)]).chain(pages)),
        None => Body::from_stream(pages),
    };
    // No-store and nosniff come from the hygiene middleware, as for every route.
    let mut response = Response::new(body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    Ok(response)
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }

    fn header_row(self) -> Option<Bytes> {
        match self {
            Format::Text => None,
            Format::Csv => Some(Bytes::from_static(b"value,note,added_at\r\n")),
        }
    }

    /// One page of entries as the body's next chunk: a value a line, or CSV records.
    fn render(self, entries: &[EntryRecord]) -> std::io::Result<Vec<u8>> {
        match self {
            Format::Text => {
                let mut out = String::new();
                for entry in entries {
                    out.push_str(&entry.value);
                    out.push('\n');
                }
                Ok(out.into_bytes())
            }
            Format::Csv => {
                let mut writer = csv::WriterBuilder::new()
                    .terminator(csv::Terminator::CRLF)
                    .from_writer(Vec::new());
                for entry in entries {
                    let added_at = entry.added_at.to_rfc3339();
                    writer
                        .write_record([
                            &*spreadsheet_safe(&entry.value),
                            &*spreadsheet_safe(entry.note.as_deref().unwrap_or("")),
                            added_at.as_str(),
                        ])
                        .map_err(std::io::Error::other)?;
                }
                writer
                    .into_inner()
                    .map_err(|err| std::io::Error::other(err.to_string()))
            }
        }
    }
}

/// A CSV cell a spreadsheet will not run: text starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return is read as a formula by spreadsheets, so it gets a leading `'` (OWASP's
/// advice against CSV injection). Notes and text values may come from another organization
/// through sharing; addresses, domains, URLs, hashes and emails never start with these. The
/// `.txt` export, for devices, keeps values exactly as stored.
fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

fn error_response(err: ApiError) -> Response {
    let status = err.code.http_status();
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{}: {}\n", err.code.as_str(), err.message),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}
