//! Planning for Dorfpunkt: shared rides (dial-a-ride with time windows) and IMBUS tours.
//!
//! The crate is pure: no I/O except reading a caller-supplied OSM byte stream, no clock, and
//! randomness only from a caller-supplied seed, so the same input always gives the same plan.

pub mod darp;
pub mod roads;
pub mod tours;
pub mod travel;
