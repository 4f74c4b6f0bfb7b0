//! Relay connections with keyset cursors (an opaque encoding of the last row's id).

use async_graphql::connection::{Connection, CursorType, Edge};
use async_graphql::{OutputType, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::error::ApiError;
use crate::services::{Page, PageArgs};

/// A key a connection pages by, written into its opaque cursor after a tag of its own, so that
/// a cursor of one kind of list is refused by another.
pub trait CursorKey: Sized + Send + Sync {
    const TAG: &'static str;
    fn write(&self) -> String;
    fn read(text: &str) -> Option<Self>;
}

/// A keyset cursor: base64url of `TAG:key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyset<K>(pub K);

/// A position in a list: the id of the row the next page starts after.
pub type Cursor = Keyset<Uuid>;

/// A cursor that this server did not hand out.
#[derive(Debug)]
pub struct InvalidCursor;

impl std::fmt::Display for InvalidCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a cursor from this list")
    }
}

impl<K: CursorKey> CursorType for Keyset<K> {
    type Error = InvalidCursor;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| InvalidCursor)?;
        std::str::from_utf8(&bytes)
            .ok()
            .and_then(|raw| raw.strip_prefix(K::TAG))
            .and_then(|rest| rest.strip_prefix(':'))
            .and_then(K::read)
            .map(Keyset)
            .ok_or(InvalidCursor)
    }

    fn encode_cursor(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", K::TAG, self.0.write()))
    }
}

/// Rows keyed by id.
impl CursorKey for Uuid {
    const TAG: &'static str = "c";

    fn write(&self) -> String {
        self.to_string()
    }

    fn read(text: &str) -> Option<Self> {
        Uuid::parse_str(text).ok()
    }
}

/// The key of the last row of the previous page, from the `after` argument (INVALID_INPUT on
/// a cursor this list did not hand out).
pub fn after<K: CursorKey>(after: Option<&str>) -> Result<Option<K>, ApiError> {
    after
        .map(Keyset::<K>::decode_cursor)
        .transpose()
        .map(|cursor| cursor.map(|cursor| cursor.0))
        .map_err(|_| ApiError::invalid("after", "is not a cursor from this list"))
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
    PageArgs::new(first, self::after(after.as_deref())?)
}

/// A page and, when the selection asks for `totalCount`, how many items the whole list holds
/// (0 when it does not ask: `total` is then never run).
pub async fn page_and_total<T>(
    ctx: &async_graphql::Context<'_>,
    page: impl Future<Output = Result<Page<T>, ApiError>>,
    total: impl Future<Output = Result<u64, ApiError>>,
) -> Result<(Page<T>, i64), ApiError> {
    let asked = ctx.look_ahead().field("totalCount").exists();
    let total = async {
        match asked {
            true => total.await.map(|count| count as i64),
            false => Ok(0),
        }
    };
    futures_util::try_join!(page, total)
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
            .map(|item| Edge::new(Keyset(id(&item)), node(item))),
    );
    connection
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_its_key() {
        let id = Uuid::now_v7();
        let encoded = Keyset(id).encode_cursor();
        assert_eq!(Keyset::<Uuid>::decode_cursor(&encoded).unwrap(), Keyset(id));
        let seq = Keyset(42_i64).encode_cursor();
        assert_eq!(Keyset::<i64>::decode_cursor(&seq).unwrap(), Keyset(42));
    }

    #[test]
    fn a_cursor_of_another_list_or_of_no_list_is_refused() {
        let seq = Keyset(42_i64).encode_cursor();
        assert!(Keyset::<Uuid>::decode_cursor(&seq).is_err());
        assert!(Keyset::<String>::decode_cursor(&seq).is_err());
        assert!(Keyset::<i64>::decode_cursor("not base64!").is_err());
        let untagged = URL_SAFE_NO_PAD.encode("42");
        assert!(Keyset::<i64>::decode_cursor(&untagged).is_err());
    }

    #[test]
    fn the_encoding_is_the_one_clients_already_hold() {
        assert_eq!(Keyset(7_i64).encode_cursor(), URL_SAFE_NO_PAD.encode("s:7"));
        let value = Keyset("evil.example".to_owned()).encode_cursor();
        assert_eq!(value, URL_SAFE_NO_PAD.encode("v:evil.example"));
    }
}
