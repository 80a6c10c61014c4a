//! [`OrderedAppender`]: appends that land contiguously, in call order, or not at all.
//!
//! A [`RedexFile`] takes appends from any number of handles; each append gets the next seq,
//! whoever made it. An `OrderedAppender` is for a writer that must own a stretch of the log:
//! it remembers the seq its next entry should get and makes each append conditional on the
//! file still being there ([`RedexFile::append_batch_at`], checked under the file's write
//! lock). If anyone else appended in between, the append fails with
//! [`SeqMismatch`](crate::RedexError::SeqMismatch) and writes nothing, so the appender's
//! entries never interleave with another writer's unnoticed. Uses: replaying a recorded
//! sequence at exactly the seqs it had, or a single logical writer that wants to find out
//! about a second one at its next write rather than from a corrupted state later.
//!
//! ```
//! # fn main() -> Result<(), redex::RedexError> {
//! use redex::{ChannelName, OrderedAppender, Redex, RedexError, RedexFileConfig};
//! let redex = Redex::new();
//! let file = redex.open_file(&ChannelName::new("orders")?, RedexFileConfig::default())?;
//! let mut writer = OrderedAppender::new(file.clone());
//! assert_eq!(writer.append(b"placed")?, 0);
//! assert_eq!(writer.append_batch(&["paid", "shipped"])?, Some(1));
//!
//! file.append(b"someone else")?; // seq 3, behind the appender's back
//! let err = writer.append(b"delivered").unwrap_err();
//! assert!(matches!(err, RedexError::SeqMismatch { expected: 3, actual: 4, .. }));
//! assert_eq!(file.next_seq(), 4); // nothing was written
//!
//! assert_eq!(writer.resync(), 4); // accept the log as it is now, and go on
//! assert_eq!(writer.append(b"delivered")?, 4);
//! # Ok(()) }
//! ```

use crate::error::Result;
use crate::file::RedexFile;

/// A writer whose appends land at consecutive seqs, in the order it makes them, starting from
/// the seq it expects next; an append that would land anywhere else fails with
/// [`crate::RedexError::SeqMismatch`] and writes nothing. See the [module docs](self).
///
/// The methods take `&mut self`: one appender is one writer, and its calls are ordered by the
/// borrow checker rather than by a lock. Appends are as durable as [`RedexFile::append`]'s;
/// the `_durable` variants return only once fsynced (or call `file().sync()` after a run of
/// plain ones) for durability against a machine crash. The check costs one
/// comparison under the file's write lock, which the append takes anyway.
#[derive(Debug)]
pub struct OrderedAppender {
    file: RedexFile,
    next_seq: u64,
}

impl OrderedAppender {
    /// An appender whose first entry must land at the file's current
    /// [`RedexFile::next_seq`].
    pub fn new(file: RedexFile) -> Self {
        let next_seq = file.next_seq();
        OrderedAppender { file, next_seq }
    }

    /// An appender whose first entry must land at `next_seq` (for a replay that has to put
    /// its entries at known seqs). Nothing is checked until the first append.
    pub fn starting_at(file: RedexFile, next_seq: u64) -> Self {
        OrderedAppender { file, next_seq }
    }

    /// Appends one entry at [`OrderedAppender::next_seq`] and returns that seq. Fails with
    /// [`crate::RedexError::SeqMismatch`], writing nothing, if the file's next seq is not
    /// the expected one; any other error of [`RedexFile::append`] also leaves the appender
    /// where it was.
    pub fn append(&mut self, payload: &[u8]) -> Result<u64> {
        let seq = self.next_seq;
        self.append_batch(&[payload])?;
        Ok(seq)
    }

    /// Appends a batch atomically at [`OrderedAppender::next_seq`]: its entries get that seq
    /// and the ones after it. Returns the first seq, or `None` for an empty batch (which
    /// writes nothing but is still checked, so it tells whether the appender is still in
    /// step with the file). Fails as [`OrderedAppender::append`] does.
    pub fn append_batch<P: AsRef<[u8]>>(&mut self, payloads: &[P]) -> Result<Option<u64>> {
        let first = self.file.append_batch_at(self.next_seq, payloads)?;
        Ok(self.advance(first, payloads.len()))
    }

    /// [`OrderedAppender::append`], returning only once the entry is durable against a
    /// machine crash (fsynced; concurrent durable appenders of the file share fsyncs, as
    /// with [`RedexFile::append_durable`]).
    pub fn append_durable(&mut self, payload: &[u8]) -> Result<u64> {
        let seq = self.next_seq;
        self.append_batch_durable(&[payload])?;
        Ok(seq)
    }

    /// [`OrderedAppender::append_batch`], returning only once the batch is durable.
    pub fn append_batch_durable<P: AsRef<[u8]>>(&mut self, payloads: &[P]) -> Result<Option<u64>> {
        let first = self.file.append_batch_at_durable(self.next_seq, payloads)?;
        Ok(self.advance(first, payloads.len()))
    }

    /// Moves past a batch of `count` entries that landed at `first` (`None`: an empty batch).
    fn advance(&mut self, first: Option<u64>, count: usize) -> Option<u64> {
        if first.is_some() {
            self.next_seq += count as u64;
        }
        first
    }

    /// The seq the next append must land at.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Takes the file's current next seq as the expected one and returns it: after a
    /// [`crate::RedexError::SeqMismatch`], once the caller has decided the other writer's
    /// entries are acceptable (or has read them), to carry on after them.
    pub fn resync(&mut self) -> u64 {
        self.next_seq = self.file.next_seq();
        self.next_seq
    }

    /// The file appended to.
    pub fn file(&self) -> &RedexFile {
        &self.file
    }

    /// The file, giving up the appender.
    pub fn into_file(self) -> RedexFile {
        self.file
    }
}
