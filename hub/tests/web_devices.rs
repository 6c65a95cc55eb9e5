//! Web pages: devices.
