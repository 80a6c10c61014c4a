//! The methods of the fluent builders, written once for every model.
//!
//! A model's query ([`crate::tasks::TasksQuery`], [`crate::memories::MemoriesQuery`]) and its
//! watcher ([`crate::tasks::TasksWatcher`], [`crate::memories::MemoriesWatcher`]) each fill in
//! the model's filter struct, one field per method, then run it. The macros here expand to the
//! methods every model has, inside the builders' `impl` blocks (each needs a `filter` field);
//! the docs name the model's rows (`$rows`, such as "tasks"). A model's own predicates are in
//! its `filter` module, in one macro its query and its watcher share.

/// `where_id_in`: only the rows whose id (of type `$id`) is in a list.
macro_rules! where_id_in {
    ($rows:literal, $id:ty) => {
        #[doc = concat!("Only ", $rows, " whose id is in `ids`.")]
        pub fn where_id_in(mut self, ids: impl IntoIterator<Item = $id>) -> Self {
            self.filter.id_in = Some(ids.into_iter().collect());
            self
        }
    };
}

/// `created_after` and `created_before`; `$created` is how the docs say a row was created
/// ("created", "stored").
macro_rules! created_bounds {
    ($rows:literal, $created:literal) => {
        #[doc = concat!("Only ", $rows, " ", $created, " strictly after `ns`.")]
        pub fn created_after(mut self, ns: u64) -> Self {
            self.filter.created_after_ns = Some(ns);
            self
        }

        #[doc = concat!("Only ", $rows, " ", $created, " strictly before `ns`.")]
        pub fn created_before(mut self, ns: u64) -> Self {
            self.filter.created_before_ns = Some(ns);
            self
        }
    };
}

/// `updated_after` and `updated_before`.
macro_rules! updated_bounds {
    ($rows:literal) => {
        #[doc = concat!("Only ", $rows, " changed strictly after `ns`.")]
        pub fn updated_after(mut self, ns: u64) -> Self {
            self.filter.updated_after_ns = Some(ns);
            self
        }

        #[doc = concat!("Only ", $rows, " changed strictly before `ns`.")]
        pub fn updated_before(mut self, ns: u64) -> Self {
            self.filter.updated_before_ns = Some(ns);
            self
        }
    };
}

/// `order_by`, shared by queries and watchers.
macro_rules! order_by {
    () => {
        /// Result order (default id ascending).
        pub fn order_by(mut self, order: $crate::order::OrderBy) -> Self {
            self.filter.order_by = Some(order);
            self
        }
    };
}

/// The rest of a query over `$state` (a `state: &'a $state` field beside `filter: $filter`),
/// whose rows are `$row` (`$one` of the `$rows`): `order_by`, `limit`, `after`, `filter`, and
/// the methods that run it. (Not formatted by rustfmt, which re-indents the multi-line `doc`
/// attribute of `page` on every run.)
#[rustfmt::skip]
macro_rules! query_methods {
    ($rows:literal, $one:literal, $state:ident, $filter:ty, $row:ty) => {
        $crate::builder::order_by!();

        /// At most `n` rows.
        pub fn limit(mut self, n: usize) -> Self {
            self.filter.limit = Some(n);
            self
        }

        /// Continue strictly after `cursor`, in the cursor's order.
        pub fn after(mut self, cursor: $crate::order::Cursor) -> Self {
            self.filter.after = Some(cursor);
            self
        }

        /// The filter built so far.
        pub fn filter(&self) -> &$filter {
            &self.filter
        }

        #[doc = concat!("The matching ", $rows, ".")]
        pub fn collect(self) -> Vec<$row> {
            self.state.find_many(&self.filter)
        }

        #[doc = concat!("The matching ", $rows, ", borrowed from the state (see `find_many_ref`).")]
        pub fn collect_ref(self) -> Vec<&'a $row> {
            self.state.find_many_ref(&self.filter)
        }

        #[doc = concat!("How many ", $rows, " match.")]
        pub fn count(self) -> usize {
            self.state.count_where(&self.filter)
        }

        #[doc = concat!("The first matching ", $one, " in the query's order.")]
        pub fn first(mut self) -> Option<$row> {
            self.filter.limit = Some(self.filter.limit.unwrap_or(1).min(1));
            self.state.find_many(&self.filter).pop()
        }

        #[doc = concat!("Whether any ", $one, " matches.")]
        pub fn exists(self) -> bool {
            self.state.exists_where(&self.filter)
        }

        #[doc = concat!(
            "One page of results and the cursor to the next (see [`",
            stringify!($state),
            "::find_page`])."
        )]
        pub fn page(self) -> $crate::order::Page<$row> {
            self.state.find_page(&self.filter)
        }
    };
}

/// The first methods of a watcher over `$adapter` (an `adapter: &'a $adapter` field beside
/// `filter: $filter`): `new` and `filter`.
macro_rules! watcher_start {
    ($adapter:ty, $filter:ty) => {
        pub(crate) fn new(adapter: &'a $adapter) -> Self {
            Self { adapter, filter: <$filter>::default() }
        }

        /// Replaces the whole filter.
        pub fn filter(mut self, filter: $filter) -> Self {
            self.filter = filter;
            self
        }
    };
}

/// The last methods of a watcher of `$row`s over `$state`: `order_by`, `limit`, `into_filter`
/// and `stream`.
macro_rules! watcher_end {
    ($state:ty, $filter:ty, $row:ty) => {
        $crate::builder::order_by!();

        /// At most `n` rows per emission.
        pub fn limit(mut self, n: usize) -> Self {
            self.filter.limit = Some(n);
            self
        }

        pub(crate) fn into_filter(self) -> $filter {
            self.filter
        }

        /// Starts the stream: the current result first, then each changed result. Dropping the
        /// stream stops it; nothing keeps running behind it.
        pub fn stream(self) -> $crate::changes::ChangeStream<Vec<$row>> {
            let filter = self.filter;
            self.adapter.adapter().changes(move |s: &$state| s.find_many(&filter))
        }
    };
}

pub(crate) use {
    created_bounds, order_by, query_methods, updated_bounds, watcher_end, watcher_start,
    where_id_in,
};
