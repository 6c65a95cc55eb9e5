//! Web pages: privacy.
