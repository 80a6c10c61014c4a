//! [`NetDbSnapshot`]: the snapshots of every model of a database, in one portable bundle.
//!
//! The encoded bundle is a fixed 16-byte header and a postcard body:
//!
//! | bytes  | field            | meaning                                                  |
//! |--------|------------------|----------------------------------------------------------|
//! | 0..8   | `magic`          | `b"NETDBSNP"`                                            |
//! | 8..12  | `format_version` | `u32` LE, [`BUNDLE_FORMAT_VERSION`]                      |
//! | 12..16 | `body_crc`       | `u32` LE, CRC-32C of every byte from 16 to the end       |
//! | 16..   | `body`           | postcard: a sequence of models, each `name` (str), `kind` (variant index), `schema_version` (varint), `last_seq` (option of varint), `state` (byte string) |
//!
//! The version is checked before the checksum, so a bundle of a newer format is reported as
//! such and never as damage. `docs/FORMAT.md` has the full description.

use std::mem::size_of;

use serde::Deserialize;

use crate::error::{NetDbError, Result};
use crate::model_kind::ModelKind;
use crate::model_snapshot::ModelSnapshot;
use crate::wire::{put_bytes, put_option_varint, put_varint, VARINT_U64_BYTES_MAX};

/// First bytes of every bundle.
pub const BUNDLE_MAGIC: [u8; 8] = *b"NETDBSNP";
/// The bundle format version this build writes and reads.
pub const BUNDLE_FORMAT_VERSION: u32 = 1;

// Header layout: each offset is the previous one plus its field's size.
const VERSION_OFFSET: usize = BUNDLE_MAGIC.len();
const CRC_OFFSET: usize = VERSION_OFFSET + size_of::<u32>();
/// Bytes before the postcard body.
pub const BUNDLE_HEADER_LEN: usize = CRC_OFFSET + size_of::<u32>();
const _: () = assert!(BUNDLE_HEADER_LEN == 16);

/// The snapshots of every model of a [`crate::NetDb`], as taken by [`crate::NetDb::snapshot`]
/// and restored by [`crate::NetDb::open_from_snapshot`]. Models are kept in name order, each
/// name at most once.
///
/// Each model is snapshotted under its own state lock; models are separate logs, so the
/// bundle is consistent per model (each state matches its own `last_seq` exactly) but says
/// nothing about the order of events across models.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetDbSnapshot {
    models: Vec<ModelSnapshot>,
}

/// One model as the decoder reads it, borrowing from the input.
#[derive(Deserialize)]
struct WireModel<'a> {
    name: &'a str,
    kind: ModelKind,
    schema_version: u32,
    last_seq: Option<u64>,
    state: &'a [u8],
}

impl NetDbSnapshot {
    /// A bundle of `models`, sorted by name. Refuses a name given twice.
    pub fn from_models(mut models: Vec<ModelSnapshot>) -> Result<Self> {
        models.sort_by(|a, b| a.name.cmp(&b.name));
        if let Some(w) =
            models.windows(2).find(|w| w.first().map(|m| &m.name) == w.get(1).map(|m| &m.name))
        {
            let name = w.first().map(|m| m.name.clone()).unwrap_or_default();
            return Err(NetDbError::DuplicateModel { name });
        }
        Ok(NetDbSnapshot { models })
    }

    /// The models, in name order.
    pub fn models(&self) -> &[ModelSnapshot] {
        &self.models
    }

    /// The model called `name`.
    pub fn model(&self, name: &str) -> Option<&ModelSnapshot> {
        self.models
            .binary_search_by(|m| m.name.as_str().cmp(name))
            .ok()
            .and_then(|i| self.models.get(i))
    }

    /// The models, by value.
    pub fn into_models(self) -> Vec<ModelSnapshot> {
        self.models
    }

    /// Total bytes of model state in the bundle.
    pub fn state_bytes(&self) -> usize {
        self.models.iter().map(|m| m.state.len()).sum()
    }

    /// Encodes the bundle (header, then postcard body). Cannot fail.
    pub fn encode(&self) -> Vec<u8> {
        let per_model = 3 * VARINT_U64_BYTES_MAX + 2;
        let capacity = BUNDLE_HEADER_LEN
            + VARINT_U64_BYTES_MAX
            + self
                .models
                .iter()
                .map(|m| m.name.len() + m.state.len() + 2 * VARINT_U64_BYTES_MAX + per_model)
                .sum::<usize>();
        let mut out = Vec::with_capacity(capacity);
        out.extend_from_slice(&BUNDLE_MAGIC);
        out.extend_from_slice(&BUNDLE_FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&[0; size_of::<u32>()]);
        debug_assert_eq!(out.len(), BUNDLE_HEADER_LEN);
        put_varint(&mut out, self.models.len() as u64);
        for m in &self.models {
            put_bytes(&mut out, m.name.as_bytes());
            put_varint(&mut out, u64::from(m.kind.wire_index()));
            put_varint(&mut out, u64::from(m.schema_version));
            put_option_varint(&mut out, m.last_seq);
            put_bytes(&mut out, &m.state);
        }
        let crc = crc_fast::crc32_iscsi(out.get(BUNDLE_HEADER_LEN..).unwrap_or_default());
        if let Some(slot) = out.get_mut(CRC_OFFSET..BUNDLE_HEADER_LEN) {
            slot.copy_from_slice(&crc.to_le_bytes());
        }
        out
    }

    /// Decodes a bundle made by [`NetDbSnapshot::encode`]. Checks, in order: the magic, the
    /// format version ([`NetDbError::UnsupportedBundleVersion`]), the checksum
    /// ([`NetDbError::BundleChecksum`]), then the body, which must fill the bytes exactly and
    /// name each model once. Model states are checked when they are restored.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let (header, body) = bytes.split_first_chunk::<BUNDLE_HEADER_LEN>().ok_or_else(|| {
            NetDbError::NotABundle {
                reason: format!(
                    "{} bytes, shorter than the {BUNDLE_HEADER_LEN}-byte header",
                    bytes.len()
                ),
            }
        })?;
        let (magic, rest) = header
            .split_first_chunk::<{ BUNDLE_MAGIC.len() }>()
            .ok_or_else(|| NetDbError::NotABundle { reason: "header is cut short".into() })?;
        if *magic != BUNDLE_MAGIC {
            return Err(NetDbError::NotABundle { reason: format!("magic {magic:02x?}") });
        }
        let (version, rest) = split_u32(rest)?;
        if version != BUNDLE_FORMAT_VERSION {
            return Err(NetDbError::UnsupportedBundleVersion {
                found: version,
                supported: BUNDLE_FORMAT_VERSION,
            });
        }
        let (stored, _) = split_u32(rest)?;
        let computed = crc_fast::crc32_iscsi(body);
        if stored != computed {
            return Err(NetDbError::BundleChecksum { stored, computed });
        }
        let (wire, trailing): (Vec<WireModel<'_>>, &[u8]) = postcard::take_from_bytes(body)
            .map_err(|e| NetDbError::Codec {
                what: "snapshot bundle body".into(),
                reason: e.to_string(),
            })?;
        if !trailing.is_empty() {
            return Err(NetDbError::Codec {
                what: "snapshot bundle body".into(),
                reason: format!("{} trailing bytes after the last model", trailing.len()),
            });
        }
        let models = wire
            .into_iter()
            .map(|w| ModelSnapshot {
                name: w.name.to_owned(),
                kind: w.kind,
                schema_version: w.schema_version,
                last_seq: w.last_seq,
                state: w.state.to_vec(),
            })
            .collect();
        NetDbSnapshot::from_models(models)
    }
}

fn split_u32(bytes: &[u8]) -> Result<(u32, &[u8])> {
    let (head, rest) = bytes
        .split_first_chunk::<{ size_of::<u32>() }>()
        .ok_or_else(|| NetDbError::NotABundle { reason: "header is cut short".into() })?;
    Ok((u32::from_le_bytes(*head), rest))
}

#[cfg(test)]
#[path = "bundle_tests.rs"]
mod tests;
