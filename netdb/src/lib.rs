//! NetDB: one handle over several CortEX models, with whole-database snapshot and restore.
//!
//! Not built yet: the façade arrives with its own issue. The crate exists so the workspace has
//! its final shape.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use cortex;
