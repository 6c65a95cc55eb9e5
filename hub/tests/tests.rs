//! Integration tests of the hub: the real server over real TLS on loopback, a real SQLite file.

mod api;
mod bad_input;
mod cli;
mod common;
mod devices;
mod dispatch;
mod rides;
mod sync;
