//! The Dorfpunkt hub: region data, bookings, planning, kiosk sync and device management.
//!
//! `store` owns the SQLite file, `domain` the records and their rules, `api` the HTTP surface,
//! `server` TLS and the process lifecycle, `import` and `demo` the ways data comes in.

pub mod accounts;
pub mod api;
pub mod config;
pub mod counselling;
pub mod demo;
pub mod demo_kiosk;
pub mod devices;
pub mod dispatch;
pub mod domain;
pub mod import;
pub mod ntp;
pub mod privacy;
pub mod publish;
pub mod reminders;
pub mod rides;
pub mod server;
pub mod staff;
pub mod store;
pub mod sync;
pub mod tours;
pub mod updates;
pub mod web;
