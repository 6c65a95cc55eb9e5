//! Web pages: data.
