//! Web pages: driver.
