//! The tasks model: a to-do list folded from a log of task events.
//!
//! - [`types`] defines [`Task`], [`TaskStatus`].
//! - [`events`] lists the event bodies and their dispatch bytes.
//! - [`state`] holds [`TasksState`], the rows and the secondary indexes the fold keeps.
//! - [`fold`] has [`TasksFold`], how each event changes the state.
//! - [`filter`] has [`TasksFilter`], the plain filter struct.
//! - [`query`] has `find_unique` / `find_many` / `count_where` / `exists_where` and the fluent
//!   [`TasksQuery`].
//! - [`adapter`] has [`TasksAdapter`], the typed write path over a [`crate::CortexAdapter`].
//! - [`watch`] has [`TasksWatcher`], filtered change streams.

pub mod adapter;
pub mod events;
pub mod filter;
pub mod fold;
pub mod query;
pub mod state;
pub mod types;
pub mod watch;

pub use adapter::TasksAdapter;
pub use filter::TasksFilter;
pub use fold::TasksFold;
pub use query::TasksQuery;
pub use state::TasksState;
pub use types::{Task, TaskId, TaskStatus};
pub use watch::TasksWatcher;
