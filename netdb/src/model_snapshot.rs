//! [`ModelSnapshot`]: one model's share of a [`crate::NetDbSnapshot`].

use crate::model_kind::ModelKind;

/// The snapshot of one model: what it is, the last event its state includes, and the state.
///
/// For the tasks and memories models `state` is exactly what
/// [`cortex::CortexAdapter::snapshot`] returns (a versioned CortEX snapshot, see
/// `docs/FORMAT.md`); for a custom model it is the postcard encoding of the fold's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSnapshot {
    /// The model's name, which is also the RedEX channel its log lives on.
    pub name: String,
    /// Which fold produced the state.
    pub kind: ModelKind,
    /// The schema version of the state: the CortEX model version for tasks and memories, the
    /// version given to [`crate::NetDbBuilder::with_custom_versioned`] (default `0`) for a
    /// custom model.
    pub schema_version: u32,
    /// Seq of the last event the state includes (`None`: no event). A restore folds from the
    /// seq after it.
    pub last_seq: Option<u64>,
    /// The serialized state.
    pub state: Vec<u8>,
}
