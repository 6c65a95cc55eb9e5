//! Web pages: accounts.
