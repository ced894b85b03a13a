//! Relay connections, written once: `first` validation, opaque cursors,
//! and the limit+1 / has-next / truncate pattern every listing uses.

use async_graphql::OutputType;
use async_graphql::connection::{Connection, Edge};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::error::ApiError;
use super::scalars::Position;

/// Page size when `first` is not given.
pub const DEFAULT_PAGE: i32 = 20;
/// Largest `first` accepted.
pub const MAX_PAGE: i32 = 100;

/// A validated page request: how many rows to show, and the cursor after
/// which to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page<C> {
    /// Rows to show (`first`).
    pub size: u64,
    /// Where the previous page ended, if any.
    pub after: Option<C>,
}

impl<C> Page<C> {
    /// How many rows to fetch: one more than shown, to learn whether there
    /// is a next page.
    pub fn fetch(&self) -> u64 {
        self.size + 1
    }

    /// Builds the connection from up to `fetch()` rows, in order.
    pub fn connection<T, N: OutputType>(
        &self,
        mut rows: Vec<T>,
        cursor: impl Fn(&T) -> String,
        node: impl Fn(T) -> N,
    ) -> Connection<String, N> {
        let has_next = rows.len() as u64 > self.size;
        rows.truncate(self.size as usize);
        let mut connection = Connection::new(self.after.is_some(), has_next);
        connection.edges.extend(rows.into_iter().map(|row| {
            let cursor = cursor(&row);
            Edge::new(cursor, node(row))
        }));
        connection
    }
}

/// Validates a connection's `first` (default 20, at most 100).
pub fn page_size(first: Option<i32>) -> Result<u64, ApiError> {
    match first.unwrap_or(DEFAULT_PAGE) {
        n if n < 0 => Err(ApiError::validation("`first` must not be negative")),
        n if n > MAX_PAGE => Err(ApiError::validation(format!(
            "`first` must be at most {MAX_PAGE}"
        ))),
        n => Ok(n as u64),
    }
}

/// A page over a listing ordered by the position its rows were created at
/// (newest first); cursors are opaque.
pub fn listing_page(first: Option<i32>, after: Option<&str>) -> Result<Page<i64>, ApiError> {
    Ok(Page {
        size: page_size(first)?,
        after: after.map(parse_listing_cursor).transpose()?,
    })
}

/// A page over the event log; the cursor is the position (a decimal
/// string, so a client may also start from a `CommandResult.position`).
pub fn log_page(first: Option<i32>, after: Option<&str>) -> Result<Page<Position>, ApiError> {
    Ok(Page {
        size: page_size(first)?,
        after: after.map(|a| Position::parse("after", a)).transpose()?,
    })
}

/// Encodes a listing position as an opaque cursor.
pub fn listing_cursor(created_position: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("c1:{created_position}"))
}

fn parse_listing_cursor(cursor: &str) -> Result<i64, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|s| s.strip_prefix("c1:").and_then(|p| p.parse().ok()))
        .ok_or_else(|| ApiError::validation("`after` is not a cursor this server issued"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_cursors_round_trip_and_forgeries_are_refused() {
        let page = listing_page(Some(5), Some(&listing_cursor(42))).expect("valid");
        assert_eq!(page.after, Some(42));
        assert_eq!(page.fetch(), 6);
        assert!(listing_page(None, Some("c1:42")).is_err());
        assert!(listing_page(Some(101), None).is_err());
        assert!(listing_page(Some(-1), None).is_err());
        assert!(log_page(None, Some("-3")).is_err());
    }
}
