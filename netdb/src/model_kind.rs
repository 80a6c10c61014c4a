//! [`ModelKind`]: which fold a model runs, as recorded in a snapshot bundle.

use serde::{Deserialize, Serialize};

/// The kind of a model. A bundle records it beside each model's state, so a restore can
/// refuse to feed one model's bytes to another kind of fold.
///
/// On the wire (postcard) it is the variant index: `0` tasks, `1` memories, `2` custom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ModelKind {
    /// The CortEX tasks model ([`cortex::tasks::TasksAdapter`]).
    Tasks,
    /// The CortEX memories model ([`cortex::memories::MemoriesAdapter`]).
    Memories,
    /// A caller's fold, added with [`crate::NetDbBuilder::with_custom`].
    Custom,
}

impl ModelKind {
    /// The variant index written in a bundle.
    pub(crate) fn wire_index(self) -> u8 {
        match self {
            ModelKind::Tasks => 0,
            ModelKind::Memories => 1,
            ModelKind::Custom => 2,
        }
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ModelKind::Tasks => "the tasks model",
            ModelKind::Memories => "the memories model",
            ModelKind::Custom => "a custom model",
        })
    }
}
