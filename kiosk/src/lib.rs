//! The kiosk's library: the local database ([`store`]) and the sync client ([`sync`]). The
//! appliance binary and, later, the touch UI sit on top of it.

pub mod store;
pub mod sync;

pub use store::{Store, StoreError};
