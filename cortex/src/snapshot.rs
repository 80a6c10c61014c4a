//! Versioned snapshots: a state serialized with postcard behind a header that says what it is.
//!
//! postcard is compact and fast but not self-describing: bytes of one schema decode as garbage
//! (or as a wrong but valid value) under another. So a snapshot names its container format
//! version, its model and the model's schema version up front, and decoding checks all three
//! before it touches the body. A mismatch is a [`CortexError`] that says what was found and
//! what was expected.
//!
//! | bytes  | field            | meaning                                              |
//! |--------|------------------|------------------------------------------------------|
//! | 0..8   | `magic`          | `b"CTXSNAP\0"`                                       |
//! | 8..12  | `format_version` | `u32` LE, container version, `1`                     |
//! | 12..16 | `model_version`  | `u32` LE, [`SnapshotState::MODEL_VERSION`]           |
//! | 16..   | `model`          | postcard `&str`, [`SnapshotState::MODEL`]            |
//! | ...    | `state`          | body of the state ([`SnapshotState::encode_body`]), to the end of the bytes |

use std::mem::size_of;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{CortexError, Result};

/// First bytes of every snapshot.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"CTXSNAP\0";
/// The container format version this build writes and reads.
pub const SNAPSHOT_FORMAT_VERSION: u32 = 1;

const VERSION_OFFSET: usize = SNAPSHOT_MAGIC.len();
const MODEL_VERSION_OFFSET: usize = VERSION_OFFSET + size_of::<u32>();
const MODEL_OFFSET: usize = MODEL_VERSION_OFFSET + size_of::<u32>();

/// A state that can be snapshotted: serde plus a name and a schema version. Bump
/// `MODEL_VERSION` whenever the serialized shape changes, so old snapshots are refused with a
/// clear error instead of being misread.
pub trait SnapshotState: Serialize + DeserializeOwned {
    /// Name of the model, for example `"cortex.tasks"`.
    const MODEL: &'static str;
    /// Schema version of the serialized state.
    const MODEL_VERSION: u32;

    /// Appends the body of a snapshot of `self` to `out`. By default the postcard encoding of
    /// the state; a model with a faster codec of its own overrides this and
    /// [`SnapshotState::decode_body`] together.
    fn encode_body(&self, out: Vec<u8>) -> Result<Vec<u8>> {
        postcard::to_extend(self, out).map_err(|e| codec("snapshot state", e))
    }

    /// Decodes a body written by [`SnapshotState::encode_body`], which must fill `body`
    /// exactly.
    fn decode_body(body: &[u8]) -> Result<Self>
    where
        Self: Sized,
    {
        let (state, trailing) =
            postcard::take_from_bytes(body).map_err(|e| codec("snapshot state", e))?;
        if !trailing.is_empty() {
            return Err(CortexError::Codec {
                what: "snapshot state",
                reason: format!("{} trailing bytes after the state", trailing.len()),
            });
        }
        Ok(state)
    }
}

/// Serializes `state` behind the snapshot header.
pub fn encode<S: SnapshotState>(state: &S) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(&SNAPSHOT_MAGIC);
    out.extend_from_slice(&SNAPSHOT_FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&S::MODEL_VERSION.to_le_bytes());
    let out = postcard::to_extend(S::MODEL, out).map_err(|e| codec("snapshot header", e))?;
    state.encode_body(out)
}

/// Checks the header and deserializes the state.
pub fn decode<S: SnapshotState>(bytes: &[u8]) -> Result<S> {
    let (magic, rest) = bytes.split_first_chunk::<{ SNAPSHOT_MAGIC.len() }>().ok_or_else(|| {
        CortexError::NotASnapshot { reason: format!("only {} bytes", bytes.len()) }
    })?;
    if *magic != SNAPSHOT_MAGIC {
        return Err(CortexError::NotASnapshot { reason: format!("magic {magic:02x?}") });
    }
    let (version, rest) = split_u32(rest)?;
    if version != SNAPSHOT_FORMAT_VERSION {
        return Err(CortexError::UnsupportedSnapshotVersion {
            found: version,
            supported: SNAPSHOT_FORMAT_VERSION,
        });
    }
    let (model_version, rest) = split_u32(rest)?;
    debug_assert_eq!(bytes.len() - rest.len(), MODEL_OFFSET);
    let (model, body): (&str, &[u8]) =
        postcard::take_from_bytes(rest).map_err(|e| codec("snapshot header", e))?;
    if model != S::MODEL || model_version != S::MODEL_VERSION {
        return Err(CortexError::SnapshotModelMismatch {
            found_model: model.to_owned(),
            found_version: model_version,
            expected_model: S::MODEL,
            expected_version: S::MODEL_VERSION,
        });
    }
    S::decode_body(body)
}

fn split_u32(bytes: &[u8]) -> Result<(u32, &[u8])> {
    let (head, rest) = bytes
        .split_first_chunk::<4>()
        .ok_or_else(|| CortexError::NotASnapshot { reason: "header is cut short".into() })?;
    Ok((u32::from_le_bytes(*head), rest))
}

fn codec(what: &'static str, e: postcard::Error) -> CortexError {
    CortexError::Codec { what, reason: e.to_string() }
}
