//! The memories model: notes with tags, a source and a pin, folded from a log of memory events.
//!
//! - [`types`] defines [`Memory`].
//! - [`events`] lists the event bodies and their dispatch bytes.
//! - [`state`] holds [`MemoriesState`], the rows and the secondary indexes the fold keeps.
//! - [`fold`] has [`MemoriesFold`], how each event changes the state.
//! - [`filter`] has [`MemoriesFilter`], the plain filter struct.
//! - [`query`] has `find_unique` / `find_many` / `count_where` / `exists_where` and the fluent
//!   [`MemoriesQuery`].
//! - [`adapter`] has [`MemoriesAdapter`], the typed write path.
//! - [`watch`] has [`MemoriesWatcher`], filtered change streams.

pub mod adapter;
pub mod events;
pub mod filter;
pub mod fold;
pub mod query;
pub mod state;
pub mod types;
pub mod watch;

pub use adapter::MemoriesAdapter;
pub use filter::MemoriesFilter;
pub use fold::MemoriesFold;
pub use query::MemoriesQuery;
pub use state::MemoriesState;
pub use types::{Memory, MemoryId};
pub use watch::MemoriesWatcher;
