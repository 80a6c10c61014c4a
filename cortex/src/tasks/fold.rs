//! [`TasksFold`]: applies task events to a [`TasksState`].
//!
//! The fold is defensive rather than strict: an event about a task that does not exist (or a
//! second create of an existing id) changes nothing, because refusing it would halt the whole
//! model under `FoldErrorPolicy::Stop` over what is usually a harmless race between writers.
//! Only bytes that are not a task event at all are an error.

use crate::fold::{decode_body as decode, FoldError, FoldEvent, RedexFold};
use crate::tasks::events::{
    IdBody, TitleBody, TASK_COMPLETED, TASK_CREATED, TASK_DELETED, TASK_RENAMED, TASK_REOPENED,
};
use crate::tasks::state::TasksState;
use crate::tasks::types::TaskStatus;

/// The fold of the tasks model.
#[derive(Debug, Clone, Copy, Default)]
pub struct TasksFold;

impl RedexFold<TasksState> for TasksFold {
    fn apply(&self, state: &mut TasksState, event: &FoldEvent) -> Result<(), FoldError> {
        let now = event.meta.seq_or_ts;
        let body = &event.payload[..];
        match event.meta.dispatch {
            TASK_CREATED => {
                let b: TitleBody<'_> = decode(body)?;
                state.create(b.id, b.title, now);
            }
            TASK_RENAMED => {
                let b: TitleBody<'_> = decode(body)?;
                state.rename(b.id, b.title, now);
            }
            TASK_COMPLETED => {
                state.set_status(decode::<IdBody>(body)?.id, TaskStatus::Completed, now)
            }
            TASK_REOPENED => state.set_status(decode::<IdBody>(body)?.id, TaskStatus::Pending, now),
            TASK_DELETED => state.delete(decode::<IdBody>(body)?.id),
            other => return Err(FoldError::unknown_dispatch(other)),
        }
        Ok(())
    }
}
