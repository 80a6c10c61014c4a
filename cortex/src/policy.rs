//! [`FoldErrorPolicy`]: what an adapter does when its fold rejects an event.
//!
//! Both choices are explicit because both are right somewhere: a ledger would rather stop than
//! build state on a gap, while a cache of UI hints would rather skip one bad event than go dark.
//! Neither choice hangs a caller: under `Stop`, waiting on or appending past the halted event
//! returns [`crate::CortexError::FoldHalted`]. A fold that panics is not a rejected event: the
//! panic is caught and halts the fold under either policy, because the state may be left
//! half-updated (see [`crate::RedexFold::apply`]).

/// What the fold task does when [`crate::RedexFold::apply`] fails, or an event's envelope does
/// not check out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FoldErrorPolicy {
    /// Stop folding at the failing event. The state keeps everything before it;
    /// [`crate::CortexAdapter::wait_for_seq`] for that seq or later, and every later append,
    /// return [`crate::CortexError::FoldHalted`].
    #[default]
    Stop,
    /// Log the failure with `tracing`, count it ([`crate::CortexAdapter::fold_errors`]), skip
    /// the event and go on.
    LogAndContinue,
}
