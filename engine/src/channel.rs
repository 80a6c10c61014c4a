//! Validated channel names (`a/b/c`) and where a channel lives on disk.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{RedexError, Result};

/// Longest accepted name, in bytes.
pub const CHANNEL_NAME_BYTES_MAX: usize = 255;
/// Longest accepted part between slashes, in bytes.
pub const CHANNEL_PART_BYTES_MAX: usize = 64;
/// Most parts in a name.
pub const CHANNEL_DEPTH_MAX: usize = 16;

/// The name of a log: one to 16 parts separated by `/`, each 1 to 64 bytes of
/// `[A-Za-z0-9_.-]` not starting with `.`, at most 255 bytes in all.
///
/// The rules make every name a safe relative path: no empty part, no `.` or `..`, no hidden
/// files, no separators or control characters.
///
/// ```
/// use redex::ChannelName;
/// assert!(ChannelName::new("orders/eu-west/v1").is_ok());
/// assert!(ChannelName::new("../etc").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelName(String);

impl ChannelName {
    /// Validates `name`.
    pub fn new(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let reject = |reason| Err(RedexError::InvalidChannelName { name: name.clone(), reason });
        if name.is_empty() {
            return reject("empty");
        }
        if name.len() > CHANNEL_NAME_BYTES_MAX {
            return reject("longer than 255 bytes");
        }
        let mut depth = 0;
        for part in name.split('/') {
            depth += 1;
            if part.is_empty() {
                return reject("empty part (leading, trailing or doubled '/')");
            }
            if part.len() > CHANNEL_PART_BYTES_MAX {
                return reject("a part is longer than 64 bytes");
            }
            if part.starts_with('.') {
                return reject("a part starts with '.' (includes '.' and '..')");
            }
            if !part.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')) {
                return reject("only ASCII letters, digits, '_', '-', '.' and '/' are allowed");
            }
            if is_object_name(part) {
                return reject("a part is named like an archived segment (<20 digits>.rxseg)");
            }
        }
        if depth > CHANNEL_DEPTH_MAX {
            return reject("more than 16 parts");
        }
        Ok(ChannelName(name))
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The directory holding this channel's segments under a manager's base directory:
    /// `<base>/channels/<part>/.../<part>/.redex`. No part may start with `.`, so a channel's
    /// `.redex` directory never collides with a deeper channel's parts (docs/FORMAT.md). For
    /// tools that look at the files themselves.
    pub fn segment_dir(&self, base: &Path) -> PathBuf {
        let mut dir = base.join("channels");
        for part in self.0.split('/') {
            dir.push(part);
        }
        dir.push(".redex");
        dir
    }
}

impl fmt::Display for ChannelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ChannelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChannelName({:?})", self.0)
    }
}

impl TryFrom<&str> for ChannelName {
    type Error = RedexError;
    fn try_from(s: &str) -> Result<Self> {
        ChannelName::new(s)
    }
}

/// Whether `part` is the name of a cold object (`<seq, 20 digits>.rxseg`): a channel part of
/// that name would put a directory where its parent channel's archived segment goes in a
/// directory store (`<channel>/<seq>.rxseg`), and archival of that segment would fail for ever.
fn is_object_name(part: &str) -> bool {
    part.strip_suffix(redex_tiers::cold::OBJECT_SUFFIX)
        .is_some_and(|seq| seq.len() == 20 && seq.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for ok in ["a", "a/b/c", "orders.v1/eu-west_2", &"x".repeat(64)] {
            assert!(ChannelName::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_unsafe_names() {
        let long_part = "x".repeat(65);
        let long_name = vec!["abcdefgh"; 30].join("/");
        let deep = vec!["a"; 17].join("/");
        for bad in [
            "", "/", "/a", "a/", "a//b", ".", "..", "a/../b", "a/./b", ".hidden", "a b", "a\\b",
            "a\0b", "é", &long_part, &long_name, &deep,
        ] {
            assert!(
                matches!(ChannelName::new(bad), Err(RedexError::InvalidChannelName { .. })),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn rejects_parts_named_like_cold_objects() {
        let bad = ChannelName::new("a/00000000000000000005.rxseg");
        assert!(matches!(bad, Err(RedexError::InvalidChannelName { .. })), "{bad:?}");
        for ok in ["a/5.rxseg", "a/x.rxseg", "00000000000000000005.rxseg.v2"] {
            assert!(ChannelName::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn segment_dir_stays_under_base() {
        let dir = ChannelName::new("a/b").map(|c| c.segment_dir(Path::new("/base")));
        assert_eq!(dir.ok(), Some(PathBuf::from("/base/channels/a/b/.redex")));
    }
}
