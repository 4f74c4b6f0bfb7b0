//! Relay connections with keyset cursors (an opaque encoding of the last row's id).

use async_graphql::connection::{Connection, CursorType, Edge};
use async_graphql::{OutputType, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::error::ApiError;
use crate::services::{Page, PageArgs};

/// A position in a list: the id of the row the next page starts after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor(pub Uuid);

/// A cursor that this server did not hand out.
#[derive(Debug)]
pub struct InvalidCursor;

impl std::fmt::Display for InvalidCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a cursor from this list")
    }
}

impl CursorType for Cursor {
    type Error = InvalidCursor;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        let invalid = || InvalidCursor;
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| invalid())?;
        let raw = std::str::from_utf8(&bytes).map_err(|_| invalid())?;
        let id = raw.strip_prefix("c:").ok_or_else(invalid)?;
        Uuid::parse_str(id).map(Cursor).map_err(|_| invalid())
    }

    fn encode_cursor(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("c:{}", self.0))
    }
}

/// `totalCount` beside `edges` and `pageInfo`.
#[derive(SimpleObject)]
pub struct Total {
    /// How many items the whole list holds.
    pub total_count: i64,
}

pub type Conn<N> = Connection<Cursor, N, Total>;

/// Validates `first` and `after` into page arguments.
pub fn page_args(first: Option<i32>, after: Option<String>) -> Result<PageArgs, ApiError> {
    let after = after
        .as_deref()
        .map(Cursor::decode_cursor)
        .transpose()
        .map_err(|_| ApiError::invalid("after", "is not a cursor from this list"))?
        .map(|cursor| cursor.0);
    PageArgs::new(first, after)
}

/// Turns a page into a connection, keyed by each row's id.
pub fn connection<T, N: OutputType>(
    page: Page<T>,
    args: &PageArgs,
    total_count: i64,
    id: impl Fn(&T) -> Uuid,
    node: impl Fn(T) -> N,
) -> Conn<N> {
    let mut connection = Connection::with_additional_fields(
        args.after.is_some(),
        page.has_next_page,
        Total { total_count },
    );
    connection.edges.extend(
        page.items
            .into_iter()
            .map(|item| Edge::new(Cursor(id(&item)), node(item))),
    );
    connection
}
