//! Web pages: evaluation.
