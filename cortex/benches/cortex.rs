//! Placeholder until the CortEX benches land.
fn main() {}
