//! Integration tests of the hub: the real server over real TLS on loopback, a real SQLite file.

mod api;
mod bad_input;
mod caregivers_kiosk;
mod cli;
mod common;
mod counselling;
mod devices;
mod dispatch;
mod help;
mod publish;
mod rides;
mod staff;
mod sync;
mod tours;
mod web_login;
