//! The `hub` command line.
fn main() {}
