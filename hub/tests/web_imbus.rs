//! Web pages: imbus.
