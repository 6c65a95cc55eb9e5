//! Dispatch outputs of the ride service: the driver's run sheet of a shift (JSON and A4 PDF) and
//! the daily ride figures of a region.
//!
//! `runsheet` loads a sheet from the store, `pdf` renders it (pure, blocking: call it off the
//! async executor), `figures` computes a day's numbers from loaded rows. The functions here are
//! the entry points for the command line; the API handlers in `api/dispatch.rs` use the same
//! parts with the caller's scope and identity.

pub mod figures;
pub mod pdf;
pub mod runsheet;

use chrono::NaiveDate;

use crate::store::logs::Who;
use crate::store::{Store, StoreError};
pub use figures::DayFigures;
pub use runsheet::RunSheet;

/// Why a run sheet or the figures could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// The shift or region does not exist.
    #[error("no {kind} with id {id}")]
    NotFound { kind: &'static str, id: String },
    /// The reader may not see this region's data.
    #[error("{0}")]
    Forbidden(String),
    /// The store failed or holds data that breaks an invariant.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The PDF could not be produced.
    #[error("pdf: {0}")]
    Pdf(String),
}

impl From<rusqlite::Error> for DispatchError {
    fn from(e: rusqlite::Error) -> Self {
        DispatchError::Store(StoreError::Db(e))
    }
}

/// Whose data a reader may see: the whole hub (administrators, the command line) or one region
/// (dispatchers and drivers work in their own region).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    Hub,
    Region(String),
}

impl Scope {
    /// Refuses unless `region_id` lies in the scope.
    pub fn check(&self, region_id: &str) -> Result<(), DispatchError> {
        match self {
            Scope::Hub => Ok(()),
            Scope::Region(own) if own == region_id => Ok(()),
            Scope::Region(_) => Err(DispatchError::Forbidden(
                "this belongs to another region".into(),
            )),
        }
    }
}

/// The run sheet of `shift_id` as the command line reads it (audited as `cli:run-sheet`).
pub fn run_sheet(store: &Store, shift_id: &str) -> Result<RunSheet, DispatchError> {
    let who = Who::cli("run-sheet");
    store
        .blocking(|conn| Ok(runsheet::load(conn, &who, &Scope::Hub, shift_id)))
        .map_err(DispatchError::from)?
}

/// The run sheet of `shift_id` as an A4 PDF, for the command line. Blocking.
pub fn run_sheet_pdf(store: &Store, shift_id: &str) -> Result<Vec<u8>, DispatchError> {
    // Loading holds the database connection; rendering does not need it.
    let sheet = run_sheet(store, shift_id)?;
    pdf::render(&sheet)
}

/// The ride figures of a region on a local date, for the command line. Blocking.
pub fn figures(
    store: &Store,
    region_id: &str,
    date: NaiveDate,
) -> Result<DayFigures, DispatchError> {
    store
        .blocking(|conn| Ok(figures::load(conn, &Scope::Hub, region_id, date)))
        .map_err(DispatchError::from)?
}
