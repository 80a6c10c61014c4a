//! The methods every model's typed adapter has, written once.
//!
//! A typed adapter ([`crate::tasks::TasksAdapter`], [`crate::memories::MemoriesAdapter`]) wraps
//! a [`CortexAdapter`](crate::CortexAdapter) over the model's state (an `inner` field) and adds
//! the model's writes, one method per event. Everything else (opening, restoring, reading,
//! watching, snapshotting and closing) is the same for every model; the macros here expand to
//! those methods inside the adapter's `impl` block, the model's writes going between the two.
//! The docs name the model (`$model`, such as "tasks").

/// The first methods of the adapter `$adapter` of the model `$model`, whose fold is `$fold` and
/// whose default channel is the constant `$channel`: `open`, `open_with`, `open_from_snapshot`
/// and `open_from_snapshot_with`.
macro_rules! adapter_start {
    ($model:literal, $adapter:ident, $channel:ident, $fold:expr) => {
        #[doc = concat!("Opens the ", $model, " model on channel [`", stringify!($channel), "`]")]
        #[doc = "with the default configuration and folds its whole log."]
        pub fn open(redex: &::redex::Redex, origin_hash: u64) -> $crate::error::Result<Self> {
            let name = ::redex::ChannelName::new($channel)?;
            Self::open_with(redex, &name, origin_hash, $crate::config::CortexConfig::default())
        }

        #[doc = concat!("Opens the ", $model, " model on channel `name` with `config`.")]
        pub fn open_with(
            redex: &::redex::Redex,
            name: &::redex::ChannelName,
            origin_hash: u64,
            config: $crate::config::CortexConfig,
        ) -> $crate::error::Result<Self> {
            let inner =
                $crate::adapter::CortexAdapter::open(redex, name, origin_hash, $fold, config)?;
            Ok(Self { inner })
        }

        #[doc = concat!("Restores from a [`", stringify!($adapter), "::snapshot`] on channel")]
        #[doc = concat!("[`", stringify!($channel), "`] and folds only the events after")]
        #[doc = "`last_seq`."]
        pub fn open_from_snapshot(
            redex: &::redex::Redex,
            origin_hash: u64,
            bytes: &[u8],
            last_seq: Option<u64>,
        ) -> $crate::error::Result<Self> {
            let name = ::redex::ChannelName::new($channel)?;
            let config = $crate::config::CortexConfig::default();
            Self::open_from_snapshot_with(redex, &name, origin_hash, config, bytes, last_seq)
        }

        #[doc = concat!("[`", stringify!($adapter), "::open_from_snapshot`] on channel `name`")]
        #[doc = "with `config`."]
        pub fn open_from_snapshot_with(
            redex: &::redex::Redex,
            name: &::redex::ChannelName,
            origin_hash: u64,
            config: $crate::config::CortexConfig,
            bytes: &[u8],
            last_seq: Option<u64>,
        ) -> $crate::error::Result<Self> {
            let inner = $crate::adapter::CortexAdapter::open_from_snapshot(
                redex,
                name,
                origin_hash,
                $fold,
                config,
                bytes,
                last_seq,
            )?;
            Ok(Self { inner })
        }
    };
}

/// The last methods of an adapter over `$state`, whose watcher is `$watcher` and whose rows are
/// `$row`: `write` (appends one event, for the model's writes), `state`, `adapter`, `progress`,
/// `wait_for_seq`, `watch`, `snapshot_and_watch`, `snapshot` and `close`.
macro_rules! adapter_end {
    ($state:ty, $watcher:ident, $row:ty) => {
        /// Appends the event `dispatch` with `body`, stamped `now_ns`; returns its seq.
        fn write<B: ::serde::Serialize>(
            &self,
            dispatch: u8,
            now_ns: u64,
            body: &B,
        ) -> $crate::error::Result<u64> {
            let origin = self.inner.origin_hash();
            $crate::meta::with_encoded_event(dispatch, origin, now_ns, body, |bytes| {
                self.inner.append_encoded(bytes)
            })
        }

        /// The folded state.
        pub fn state(&self) -> &::std::sync::Arc<::parking_lot::RwLock<$state>> {
            self.inner.state()
        }

        /// The generic adapter underneath.
        pub fn adapter(&self) -> &$crate::adapter::CortexAdapter<$state> {
            &self.inner
        }

        /// Where the fold is.
        pub fn progress(&self) -> $crate::progress::Progress {
            self.inner.progress()
        }

        /// Waits until the event at `seq` is folded (see
        /// [`CortexAdapter::wait_for_seq`](crate::adapter::CortexAdapter::wait_for_seq)).
        pub async fn wait_for_seq(&self, seq: u64) -> $crate::error::Result<()> {
            self.inner.wait_for_seq(seq).await
        }

        /// A watch builder: chain filters, then `.stream()`.
        pub fn watch(&self) -> $watcher<'_> {
            $watcher::new(self)
        }

        /// The watcher's current result and a stream of its later changes, with no change lost
        /// between the two and the current result not repeated on the stream.
        pub fn snapshot_and_watch(
            &self,
            watcher: $watcher<'_>,
        ) -> (Vec<$row>, $crate::changes::ChangeStream<Vec<$row>>) {
            let filter = watcher.into_filter();
            self.inner.snapshot_and_changes(move |s: &$state| s.find_many(&filter))
        }

        /// Snapshot of the state and the seq of its last event.
        pub fn snapshot(&self) -> $crate::error::Result<(Vec<u8>, Option<u64>)> {
            self.inner.snapshot()
        }

        /// Stops the fold and closes the file (see
        /// [`CortexAdapter::close`](crate::adapter::CortexAdapter::close)).
        pub async fn close(&self) -> $crate::error::Result<()> {
            self.inner.close().await
        }
    };
}

pub(crate) use {adapter_end, adapter_start};
