//! [`MemoriesFold`]: applies memory events to a [`MemoriesState`].
//!
//! Like the tasks fold it is defensive: events about a memory that does not exist, and a second
//! store of an existing id, change nothing. Only bytes that are not a memory event are errors.

use crate::fold::{decode_body as decode, FoldError, FoldEvent, RedexFold};
use crate::memories::events::{
    IdBody, RetaggedBody, StoredBody, MEMORY_DELETED, MEMORY_PINNED, MEMORY_RETAGGED,
    MEMORY_STORED, MEMORY_UNPINNED,
};
use crate::memories::state::MemoriesState;

/// The fold of the memories model.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoriesFold;

impl RedexFold<MemoriesState> for MemoriesFold {
    fn apply(&self, state: &mut MemoriesState, event: &FoldEvent) -> Result<(), FoldError> {
        let now = event.meta.seq_or_ts;
        let body = &event.payload[..];
        match event.meta.dispatch {
            MEMORY_STORED => {
                let b: StoredBody<'_> = decode(body)?;
                state.store(b.id, b.content, &b.tags, b.source, now);
            }
            MEMORY_RETAGGED => {
                let b: RetaggedBody<'_> = decode(body)?;
                state.retag(b.id, &b.tags, now);
            }
            MEMORY_PINNED => state.set_pinned(decode::<IdBody>(body)?.id, true, now),
            MEMORY_UNPINNED => state.set_pinned(decode::<IdBody>(body)?.id, false, now),
            MEMORY_DELETED => state.delete(decode::<IdBody>(body)?.id),
            other => return Err(FoldError::unknown_dispatch(other)),
        }
        Ok(())
    }
}
