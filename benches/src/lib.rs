//! Benchmark support for RedEX.
//!
//! This crate holds the code that the criterion benches in `benches/benches/` share, so each
//! bench file answers one question and the workloads stay identical across systems:
//!
//! - [`limits`]: this machine's own limits (memcpy bandwidth, sequential write bandwidth with and
//!   without `fdatasync`, small-write `fdatasync` latency). Engine figures are read against
//!   these ceilings.
//! - [`workload`]: the payloads, batch shapes, sizes and timing loop used by both
//!   `benches/redex.rs` (our engine) and `benches/peer_redex.rs` (the reference system, behind
//!   the `peers` feature), so the two report comparable figures under the same names.
//!
//! - [`harness`]: the `redex-bench` binary's scenarios, systems, measurements and reports: the
//!   README's main job, which runs named scenarios against our engine (and, with the `peers`
//!   feature, net-mesh's RedEX and batpak) next to the machine limits.
//!
//! Run the harness's quick suite with:
//!
//! ```text
//! cargo run --release -p redex-benches --bin redex-bench
//! cargo run --release -p redex-benches --features peers --bin redex-bench
//! ```
//!
//! Run the criterion benches with:
//!
//! ```text
//! cargo bench -p redex-benches --bench limits
//! cargo bench -p redex-benches --bench redex
//! cargo bench -p redex-benches --features peers --bench peer_redex
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod harness;
pub mod limits;
pub mod workload;
