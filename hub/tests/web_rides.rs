//! Web pages: rides.
