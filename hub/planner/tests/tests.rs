//! Integration tests of the planner crate (one binary; modules per area).

mod darp;
mod tours;
