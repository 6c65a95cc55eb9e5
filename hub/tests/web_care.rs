//! Web pages: care.
