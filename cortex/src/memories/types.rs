//! The row type of the memories model.

use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

use crate::order::Row;
use crate::slab::Vacant;

/// Identifier of a memory, chosen by the writer.
pub type MemoryId = u64;

/// One memory. Queries hand memories out as `Arc<Memory>`: a result costs a reference count
/// per row, not a copy of its content and tags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Memory {
    /// Its id.
    pub id: MemoryId,
    /// What is remembered (dereferences to `str`; inline up to 23 bytes, else shared).
    pub content: SmolStr,
    /// Tags, in the order the writer gave them.
    pub tags: Vec<SmolStr>,
    /// Where it came from.
    pub source: SmolStr,
    /// The writer's time when it was stored (Unix nanoseconds).
    pub created_ns: u64,
    /// The writer's time of its last change.
    pub updated_ns: u64,
    /// Whether it is pinned.
    pub pinned: bool,
}

impl Memory {
    /// Whether it carries `tag`.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}

impl Row for Memory {
    fn id(&self) -> u64 {
        self.id
    }

    fn created_ns(&self) -> u64 {
        self.created_ns
    }

    fn updated_ns(&self) -> u64 {
        self.updated_ns
    }
}

/// A free slot of the memories slab holds one shared empty memory: freeing a slot allocates
/// nothing (an `Arc::default()` would allocate a new empty memory per freed slot).
impl Vacant for Arc<Memory> {
    fn vacant() -> Self {
        static EMPTY: OnceLock<Arc<Memory>> = OnceLock::new();
        Arc::clone(EMPTY.get_or_init(Default::default))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every freed slot holds the same empty memory: freeing allocates nothing.
    #[test]
    fn vacant_memories_are_one_shared_value() {
        let (a, b) = (Arc::<Memory>::vacant(), Arc::<Memory>::vacant());
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(*a, Memory::default());
    }
}
