//! The events of the memories model: a dispatch byte in the envelope names the kind, a
//! postcard body after it carries the fields, and the envelope's timestamp is the writer's
//! `now_ns`. The values do not overlap the tasks model's, so pointing one model at the other's
//! log fails loudly instead of folding nonsense.

use serde::{Deserialize, Serialize};

/// A memory was stored (body: [`StoredBody`]).
pub const MEMORY_STORED: u8 = 0x21;
/// A memory's tags were replaced (body: [`RetaggedBody`]).
pub const MEMORY_RETAGGED: u8 = 0x22;
/// A memory was pinned (body: [`IdBody`]).
pub const MEMORY_PINNED: u8 = 0x23;
/// A memory was unpinned (body: [`IdBody`]).
pub const MEMORY_UNPINNED: u8 = 0x24;
/// A memory was deleted (body: [`IdBody`]).
pub const MEMORY_DELETED: u8 = 0x25;

/// Body of a store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredBody<'a> {
    /// The memory.
    pub id: u64,
    /// Its content.
    #[serde(borrow)]
    pub content: &'a str,
    /// Its tags.
    #[serde(borrow)]
    pub tags: Vec<&'a str>,
    /// Its source.
    #[serde(borrow)]
    pub source: &'a str,
}

/// Body of a retag: the complete new tag list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetaggedBody<'a> {
    /// The memory.
    pub id: u64,
    /// Its new tags.
    #[serde(borrow)]
    pub tags: Vec<&'a str>,
}

/// Body of events that carry only the memory id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdBody {
    /// The memory.
    pub id: u64,
}
