//! The kiosk's library: the local database ([`store`]), the sync client ([`sync`]), the
//! device identity and its HTTPS client ([`identity`], [`hub_client`]), the booking core
//! ([`core`]), heartbeats ([`heartbeat`]), the simulated resident ([`sim`]), the background loop
//! of `kiosk run` ([`appliance`]) and what it does before the kiosk is enrolled ([`setup`]). The
//! appliance binary sits on top of it.
//! The touch UI's screens and `kiosk screenshots` are in [`ui`].

pub mod appliance;
pub mod board;
pub mod core;
pub mod frontend;
pub mod heartbeat;
pub mod hub_client;
pub mod identity;
pub mod install_server;
pub mod printing;
pub mod requests;
pub mod setup;
pub mod sim;
pub mod speech;
pub mod staff;
pub mod store;
pub mod sync;
pub mod ticket;
pub mod ui;
pub mod update;
pub mod watchdog;

pub use store::{Store, StoreError};

/// The kiosk database's file name in the data directory.
pub const DATABASE_FILE: &str = "kiosk.db";
