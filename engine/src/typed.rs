//! [`TypedRedexFile`]: a log of serde values encoded with postcard.

use std::marker::PhantomData;

use futures::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{RedexError, Result};
use crate::file::RedexFile;

/// A [`RedexFile`] whose payloads are `T` values in postcard encoding. A payload must decode
/// as exactly one `T`: one that does not, or has bytes left over after it, is a
/// [`RedexError::Codec`] naming its seq.
///
/// ```
/// # fn main() -> Result<(), redex::RedexError> {
/// use redex::{ChannelName, Redex, RedexFileConfig, TypedRedexFile};
/// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
/// struct Reading { sensor: u32, celsius: f32 }
///
/// let redex = Redex::new();
/// let file = redex.open_file(&ChannelName::new("readings")?, RedexFileConfig::default())?;
/// let typed = TypedRedexFile::<Reading>::new(file);
/// typed.append_typed(&Reading { sensor: 7, celsius: 21.5 })?;
/// assert_eq!(typed.read_typed(0, 1)?, vec![(0, Reading { sensor: 7, celsius: 21.5 })]);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TypedRedexFile<T> {
    file: RedexFile,
    _values: PhantomData<fn() -> T>,
}

impl<T> Clone for TypedRedexFile<T> {
    fn clone(&self) -> Self {
        TypedRedexFile { file: self.file.clone(), _values: PhantomData }
    }
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    postcard::to_allocvec(value).map_err(|e| RedexError::Codec { seq: None, reason: e.to_string() })
}

fn decode<T: DeserializeOwned>(seq: u64, bytes: &[u8]) -> Result<T> {
    decode_exact(bytes).map_err(|reason| RedexError::Codec { seq: Some(seq), reason })
}

/// Decodes a `T` that must fill `bytes` exactly: a payload with bytes left over is some other
/// value (another type, a longer struct, damage) whose prefix happens to decode, and taking
/// that prefix would return a wrong value without a word.
pub(crate) fn decode_exact<T: DeserializeOwned>(bytes: &[u8]) -> std::result::Result<T, String> {
    match postcard::take_from_bytes(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(format!(
            "{} trailing bytes after a {} of {} bytes",
            rest.len(),
            std::any::type_name::<T>(),
            bytes.len() - rest.len()
        )),
        Err(e) => Err(e.to_string()),
    }
}

impl<T: Serialize + DeserializeOwned> TypedRedexFile<T> {
    /// Wraps a file.
    pub fn new(file: RedexFile) -> Self {
        TypedRedexFile { file, _values: PhantomData }
    }

    /// The underlying byte log.
    pub fn file(&self) -> &RedexFile {
        &self.file
    }

    /// Appends one value; returns its seq.
    pub fn append_typed(&self, value: &T) -> Result<u64> {
        self.file.append(&encode(value)?)
    }

    /// Appends values as one atomic batch; returns the first seq (`None` if empty).
    pub fn append_batch_typed(&self, values: &[T]) -> Result<Option<u64>> {
        let encoded = values.iter().map(encode).collect::<Result<Vec<_>>>()?;
        self.file.append_batch(&encoded)
    }

    /// Decodes the value at `seq`.
    pub fn get_typed(&self, seq: u64) -> Result<Option<T>> {
        self.file.get(seq)?.map(|ev| decode(ev.seq, &ev.payload)).transpose()
    }

    /// Decodes entries `start..end` as `(seq, value)` pairs.
    pub fn read_typed(&self, start: u64, end: u64) -> Result<Vec<(u64, T)>> {
        self.file
            .read_range(start, end)?
            .into_iter()
            .map(|ev| decode(ev.seq, &ev.payload).map(|v| (ev.seq, v)))
            .collect()
    }

    /// [`RedexFile::tail`] with each payload decoded.
    pub fn tail_typed(&self, from_seq: u64) -> impl Stream<Item = Result<(u64, T)>> + Send + 'static
    where
        T: Send + 'static,
    {
        self.file
            .tail(from_seq)
            .map(|item| item.and_then(|ev| decode(ev.seq, &ev.payload).map(|v| (ev.seq, v))))
    }
}
