//! The store's error type: what went wrong with a read or write, in terms the API can answer.

/// Why a store operation did not happen. Every variant but `Db` and `Internal` is the caller's
/// doing and changes nothing.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A field of the input is wrong; `field` is its JSON path (e.g. `opening_hours[2].close`).
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// The addressed record does not exist.
    #[error("no {kind} with id {id}")]
    NotFound { kind: &'static str, id: String },
    /// The request contradicts the stored state (an id reused with other content, a slot taken).
    #[error("{0}")]
    Conflict(String),
    /// The database failed; details go to the log, not to the client.
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    /// An invariant of the store broke.
    #[error("internal error: {0}")]
    Internal(String),
}

impl StoreError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        StoreError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;
