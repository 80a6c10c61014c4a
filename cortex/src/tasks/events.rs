//! The events of the tasks model: a dispatch byte in the envelope names the kind, a postcard
//! body after it carries the fields, and the envelope's timestamp is the writer's `now_ns`.

use serde::{Deserialize, Serialize};

/// A task was created (body: [`TitleBody`]).
pub const TASK_CREATED: u8 = 0x01;
/// A task was renamed (body: [`TitleBody`]).
pub const TASK_RENAMED: u8 = 0x02;
/// A task was completed (body: [`IdBody`]).
pub const TASK_COMPLETED: u8 = 0x03;
/// A completed task was reopened (body: [`IdBody`]).
pub const TASK_REOPENED: u8 = 0x04;
/// A task was deleted (body: [`IdBody`]).
pub const TASK_DELETED: u8 = 0x05;

/// Body of events that carry a title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TitleBody<'a> {
    /// The task.
    pub id: u64,
    /// The new title.
    #[serde(borrow)]
    pub title: &'a str,
}

/// Body of events that carry only the task id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdBody {
    /// The task.
    pub id: u64,
}
