//! [`RedexFold`]: how a model turns one logged event into a change of its state.
//!
//! A fold must be deterministic: the same events in the same order must give the same state,
//! because a restart replays the log (or a suffix of it after a snapshot) and expects to land
//! exactly where the previous process was. So a fold reads nothing but the state and the event:
//! no clock, no randomness, no I/O.

use bytes::Bytes;

use crate::meta::EventMeta;

/// One event as a fold sees it: its place in the log, its checked envelope and its tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldEvent {
    /// Seq of the event in its RedEX file.
    pub seq: u64,
    /// When RedEX appended it (Unix nanoseconds).
    pub timestamp_ns: u64,
    /// The decoded and checksum-verified envelope.
    pub meta: EventMeta,
    /// The bytes after the envelope (the model's encoded body).
    pub payload: Bytes,
}

/// Why a fold could not apply an event. What the adapter does next is set by its
/// [`crate::FoldErrorPolicy`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct FoldError {
    reason: String,
}

impl FoldError {
    /// A failure described by `reason`.
    pub fn new(reason: impl Into<String>) -> Self {
        FoldError { reason: reason.into() }
    }

    /// The event's body could not be decoded.
    pub fn invalid_payload(what: impl std::fmt::Display) -> Self {
        FoldError { reason: format!("invalid payload: {what}") }
    }

    /// The dispatch byte names no event this fold knows.
    pub fn unknown_dispatch(dispatch: u8) -> Self {
        FoldError { reason: format!("unknown dispatch byte {dispatch:#04x}") }
    }

    /// The description.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// Applies events, in seq order, to a state of type `State`.
///
/// ```
/// use cortex::{FoldError, FoldEvent, RedexFold};
/// struct Counter;
/// impl RedexFold<u64> for Counter {
///     fn apply(&self, state: &mut u64, event: &FoldEvent) -> Result<(), FoldError> {
///         if event.meta.dispatch != 1 {
///             return Err(FoldError::unknown_dispatch(event.meta.dispatch));
///         }
///         *state += 1;
///         Ok(())
///     }
/// }
/// ```
pub trait RedexFold<State>: Send + Sync + 'static {
    /// Applies `event` to `state`. Should check the event before mutating, so that an `Err`
    /// leaves `state` as it was (the adapter may skip the event and carry on).
    ///
    /// Should not panic. If it does (with `panic = "unwind"`, the default), the adapter catches
    /// the panic and halts at this event whatever its [`crate::FoldErrorPolicy`]: `state` may
    /// be half-updated, so no later event is applied to it and
    /// [`crate::CortexAdapter::snapshot`] refuses it; waits, appends and change streams then
    /// behave as after any halt ([`crate::CortexError::FoldHalted`]).
    fn apply(&self, state: &mut State, event: &FoldEvent) -> Result<(), FoldError>;
}

/// Decodes a postcard body that must fill `body` exactly.
pub(crate) fn decode_body<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> Result<T, FoldError> {
    match postcard::take_from_bytes(body) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(FoldError::invalid_payload(format!("{} trailing bytes", rest.len()))),
        Err(e) => Err(FoldError::invalid_payload(e)),
    }
}
