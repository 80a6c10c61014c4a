//! The cold tier: frozen segments archived as single self-describing objects in a
//! [`ColdStore`] (a local directory, S3-compatible object storage, or a user's own), read back
//! by ranged fetches through a bounded [`cache::ColdCache`].
//!
//! The engine decides *when* a segment goes cold and *how* a crash at each step is recovered
//! (see `docs/DURABILITY.md`); this module holds the object format ([`object`]), the store
//! trait and its implementations, the fetch cache, and the reader that turns ranged fetches
//! into checked entries ([`segment`]).

use std::fmt;
use std::future::Future;
use std::io;
use std::ops::Range;
use std::pin::Pin;

use bytes::Bytes;

pub mod cache;
pub mod local;
pub mod object;
pub mod s3;
pub mod segment;

pub use cache::ColdCache;
pub use local::LocalDirColdStore;
pub use s3::{S3ColdStore, S3Config};
pub use segment::{ColdReader, ColdSegmentRef};

/// The future a [`ColdStore`] method returns: boxed, so the trait stays object-safe and a user
/// can plug in an `Arc<dyn ColdStore>` of their own.
pub type ColdFuture<'a, T> = Pin<Box<dyn Future<Output = io::Result<T>> + Send + 'a>>;

/// File-name suffix of an archived segment object.
pub const OBJECT_SUFFIX: &str = ".rxseg";

/// Where one archived segment lives inside a store: `<channel>/<first seq, 20 digits>.rxseg`
/// (the channel's `/`-separated parts become key prefixes).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ColdKey {
    channel: String,
    first_seq: u64,
}

impl ColdKey {
    /// The key of the segment of `channel` starting at `first_seq`.
    pub fn new(channel: impl Into<String>, first_seq: u64) -> Self {
        ColdKey { channel: channel.into(), first_seq }
    }

    /// The channel the segment belongs to.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The segment's first seq.
    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }

    /// The key as a relative, `/`-separated object path.
    pub fn path(&self) -> String {
        format!("{}/{:020}{OBJECT_SUFFIX}", self.channel, self.first_seq)
    }

    /// Parses an object path made by [`ColdKey::path`]; `None` for anything else.
    pub fn parse(path: &str) -> Option<Self> {
        let (channel, name) = path.rsplit_once('/')?;
        let digits = name.strip_suffix(OBJECT_SUFFIX)?;
        if channel.is_empty() || digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(ColdKey { channel: channel.to_owned(), first_seq: digits.parse().ok()? })
    }
}

impl fmt::Display for ColdKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// One archived object, as [`ColdStore::list`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColdObjectInfo {
    /// Its key.
    pub key: ColdKey,
    /// Its size in bytes.
    pub size: u64,
}

/// An archive of frozen segments. Implementations must be safe to call concurrently; the engine
/// calls them from its own Tokio runtime. Errors are `io::Error`s: a missing object is
/// [`io::ErrorKind::NotFound`]; anything else is treated as the store being unavailable, and the
/// engine keeps the data where it is and retries later.
pub trait ColdStore: Send + Sync + fmt::Debug {
    /// Stores the concatenation of `parts` as the object `key`, replacing any object already
    /// there (a retried archive of the same segment writes the same bytes). Returns once the
    /// store holds the whole object durably; a failed or interrupted call never leaves a
    /// partial object under `key`.
    fn archive_segment<'a>(&'a self, key: &'a ColdKey, parts: Vec<Bytes>) -> ColdFuture<'a, ()>;

    /// The bytes of object `key`, or only `range` of them. A range reaching past the end of the
    /// object is an error of kind [`io::ErrorKind::InvalidInput`], which a reader reports as a
    /// damaged object (shorter than its manifest record says) rather than an outage to retry.
    fn fetch_segment<'a>(
        &'a self,
        key: &'a ColdKey,
        range: Option<Range<u64>>,
    ) -> ColdFuture<'a, Bytes>;

    /// Every object of `channel`, in key order.
    fn list<'a>(&'a self, channel: &'a str) -> ColdFuture<'a, Vec<ColdObjectInfo>>;

    /// Deletes object `key`; deleting a missing object succeeds.
    fn delete<'a>(&'a self, key: &'a ColdKey) -> ColdFuture<'a, ()>;

    /// Whether an archived object must be read back whole to be verified (the default). A store
    /// whose written bytes are already known to be the caller's (a local directory: written
    /// from the caller's buffers and fsynced; reading it back would only read the page cache)
    /// returns `false`, and the engine then checks only its header and its last byte, which
    /// also proves its length.
    fn verify_by_read_back(&self) -> bool {
        true
    }

    /// A human-readable location of `key` for error messages and logs, such as
    /// `s3://bucket/prefix/orders/00000000000000001000.rxseg`.
    fn describe(&self, key: &ColdKey) -> String;
}

/// A range check shared by the stores: `range` must lie inside an object of `len` bytes.
pub(crate) fn check_range(range: &Range<u64>, len: u64, what: &str) -> io::Result<()> {
    if range.start > range.end || range.end > len {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("range {range:?} outside {what} of {len} bytes"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_their_paths() {
        let key = ColdKey::new("orders/eu", 1234);
        assert_eq!(key.path(), "orders/eu/00000000000000001234.rxseg");
        assert_eq!(ColdKey::parse(&key.path()), Some(key));
        for bad in [
            "x.rxseg",
            "a/123.rxseg",
            "a/0000000000000000123x.rxseg",
            "/00000000000000000001.rxseg",
            "a/00000000000000000001.seg",
        ] {
            assert_eq!(ColdKey::parse(bad), None, "{bad}");
        }
    }
}
