//! CortEX: folds a RedEX log into queryable in-memory state.
//!
//! Not built yet: the fold driver, models and snapshots arrive with their own issue. The crate
//! exists so the workspace has its final shape and dependencies point down
//! (`netdb -> cortex -> redex -> redex-tiers`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use redex;
