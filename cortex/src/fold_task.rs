//! The fold task: applies the log's events to the state, in seq order.
//!
//! The task runs [`redex::follow_log`], the engine's loop for following a log (chunked history
//! reads while behind, then the tail, back to history after a lag), with `Shared` as its
//! [`LogFollower`]: it applies `batch` events per write lock, the configured bound on how long
//! readers wait, every one through [`apply_locked`], and `close` stops it through
//! `Shared::stop`.
//!
//! A fold that panics halts the adapter, whatever its [`FoldErrorPolicy`]: the panic is caught
//! around [`RedexFold::apply`] (on the task and on a waiter folding inline alike) and becomes a
//! `Halted` status, so waiters, appends and change streams answer as for any halted fold
//! instead of waiting on a task that died. Should the task itself die any other way (a panic
//! outside `apply`, its runtime shutting down), `follow_log` calls [`LogFollower::died`], which
//! sets the same kind of status.

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::Ordering;

use bytes::Buf;
use redex::follow::panic_message;
use redex::{FollowStep, LogFollower, RedexError, RedexEvent};

use crate::adapter::Shared;
use crate::fold::{FoldError, FoldEvent, RedexFold};
use crate::meta::{EventMeta, EVENT_META_LEN};
use crate::policy::FoldErrorPolicy;
use crate::progress::FoldStatus;

/// The fold's side of [`redex::follow_log`]: every item goes through [`apply_locked`].
impl<S: 'static> LogFollower for Shared<S> {
    fn next_seq(&self) -> Option<u64> {
        let p = self.progress.borrow();
        (p.status == FoldStatus::Running).then_some(p.next_seq)
    }

    fn apply(
        &self,
        items: impl IntoIterator<Item = redex::Result<RedexEvent>>,
        wake: bool,
    ) -> FollowStep {
        apply_locked(self, &mut *self.state.write(), items, wake)
    }

    fn wake(&self) {
        self.progress.send_modify(|_| {});
    }

    fn read_failed(&self, _error: &RedexError, _pause: std::time::Duration) {
        self.read_retries.fetch_add(1, Ordering::Relaxed);
    }

    fn stop_requested(&self) -> impl Future<Output = ()> + Send {
        self.stop.notified()
    }

    /// The task ended without returning: it panicked outside the fold, which [`apply_locked`]
    /// catches, or was dropped unfinished by an abort or its runtime's shutdown. Halts the
    /// fold, so nothing waits on a dead task and no append is accepted for nobody to apply.
    /// After `close` or the adapter's drop the status is already `Closed`, and the first status
    /// set wins.
    fn died(&self) {
        // The seq the fold was at; the panic hit while applying it or between events.
        let seq = self.progress.borrow().next_seq;
        let reason = if std::thread::panicking() {
            format!("the fold task panicked at seq {seq}, outside RedexFold::apply")
        } else {
            format!("the fold task was dropped at seq {seq} (its runtime shut down?)")
        };
        self.set_status(FoldStatus::Halted { seq, reason });
    }
}

/// Applies `items` (consecutive items of the log, from a history read or the tail) to the
/// state, whose write lock the caller holds, and publishes the new progress before the lock is
/// released, even if the adapter was closed meanwhile: the progress always counts exactly the
/// events in the state. Wakes the progress's waiters and change streams if `wake` (a halt
/// wakes them regardless); the progress's value moves either way, so a new `wait_for_seq` or
/// snapshot sees it. Events below the progress were already applied (by a `wait_for_seq`
/// that folded them inline) and are skipped. Used by the fold task and by
/// [`crate::CortexAdapter::wait_for_seq`]'s inline path alike, so both apply events exactly
/// the same way and never twice.
pub(crate) fn apply_locked<S: 'static>(
    shared: &Shared<S>,
    state: &mut S,
    items: impl IntoIterator<Item = redex::Result<RedexEvent>>,
    wake: bool,
) -> FollowStep {
    let fold = &*shared.fold;
    let (start_seq, running) = {
        let p = shared.progress.borrow();
        (p.next_seq, p.status == FoldStatus::Running)
    };
    if !running {
        // Halted (possibly by an inline fold) or closed: apply nothing more.
        return FollowStep::Stop;
    }
    let mut next_seq = start_seq;
    let mut outcome = FollowStep::Continue;
    let mut halted = None;
    let mut applied = false;
    for item in items {
        let event = match item {
            Ok(event) => event,
            Err(RedexError::Lagged { at_seq, skipped }) => {
                tracing::debug!(at_seq, skipped, "fold tail lagged; resubscribing");
                outcome = FollowStep::Reread;
                break;
            }
            Err(RedexError::Evicted { requested, head })
                if !applied && shared.fresh.load(Ordering::Relaxed) =>
            {
                // Opened at the head with an empty state, nothing applied yet: the fold of the
                // retained events starts at the new head, as it would had it opened now.
                tracing::debug!(requested, head, "head moved before the fold's first event");
                next_seq = next_seq.max(head);
                outcome = FollowStep::Reread;
                break;
            }
            Err(RedexError::Evicted { requested, head })
                if shared.policy == FoldErrorPolicy::LogAndContinue =>
            {
                tracing::warn!(requested, head, "events evicted before the fold saw them");
                shared.fold_errors.fetch_add(head.saturating_sub(requested), Ordering::Relaxed);
                next_seq = next_seq.max(head);
                outcome = FollowStep::Reread;
                break;
            }
            Err(RedexError::Closed { .. }) => {
                halted = Some(FoldStatus::Closed);
                break;
            }
            Err(e) => {
                halted = Some(FoldStatus::Halted { seq: next_seq, reason: e.to_string() });
                break;
            }
        };
        if event.seq < next_seq {
            // Already applied inline by a waiter.
            continue;
        }
        if event.seq != next_seq {
            // Reads and the tail promise no gap; treat a broken promise as a halt, not as loss.
            let reason = format!("log delivered seq {} while expecting {next_seq}", event.seq);
            halted = Some(FoldStatus::Halted { seq: next_seq, reason });
            break;
        }
        applied = true;
        if let Err(e) = apply_one(state, fold, event) {
            let e = match e {
                Failure::Rejected(e) => e,
                Failure::Panicked(reason) => {
                    // Whatever the policy: the state may hold half of this event (see
                    // `apply_one`), so no later event may be applied on top of it.
                    tracing::error!(seq = next_seq, %reason, "fold panicked; halted");
                    shared.poisoned.store(true, Ordering::Release);
                    halted = Some(FoldStatus::Halted { seq: next_seq, reason });
                    break;
                }
            };
            match shared.policy {
                FoldErrorPolicy::Stop => {
                    tracing::error!(seq = next_seq, error = %e, "fold halted");
                    halted = Some(FoldStatus::Halted { seq: next_seq, reason: e.to_string() });
                    break;
                }
                FoldErrorPolicy::LogAndContinue => {
                    tracing::warn!(seq = next_seq, error = %e, "fold skipped an event");
                    shared.fold_errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        next_seq += 1;
    }
    if applied {
        shared.fresh.store(false, Ordering::Relaxed);
    }
    let stop = halted.is_some();
    if next_seq != start_seq || stop {
        shared.progress.send_if_modified(|p| {
            // Progress moves only under the state's write lock, which we hold.
            debug_assert_eq!(p.next_seq, start_seq, "progress moved without the state's lock");
            // Recorded whatever the status: `close` and the adapter's drop set `Closed` without
            // the state's lock, possibly while these events were being applied, and the state
            // holds them all the same. A snapshot must claim exactly what its state holds.
            p.next_seq = next_seq;
            // A terminal status already set (closed, or halted) is kept: the first one wins.
            if let Some(status) = halted {
                if p.status == FoldStatus::Running {
                    p.status = status;
                }
            }
            wake || stop
        });
        if stop {
            shared.running.store(false, Ordering::Release);
        }
    }
    if stop {
        FollowStep::Stop
    } else {
        outcome
    }
}

/// Why [`apply_one`] did not apply an event.
enum Failure {
    /// The envelope did not check out or the fold returned an error: handled by the policy.
    Rejected(FoldError),
    /// The fold panicked (the reason says so, with the seq and the panic's message).
    Panicked(String),
}

/// Applies one event. A panic in the fold is caught and returned as [`Failure::Panicked`], so
/// it reaches neither the fold task (which would die and leave its waiters hanging) nor a
/// waiter folding inline. `AssertUnwindSafe` is sound here because nothing observes the
/// unwound state as if it were consistent: the caller halts the fold for good, whatever the
/// policy, since `apply` may have left the state half-updated (`parking_lot` locks do not
/// poison, so the halt is what marks it), and `snapshot` refuses a state left so.
fn apply_one<S, F: RedexFold<S> + ?Sized>(
    state: &mut S,
    fold: &F,
    event: RedexEvent,
) -> Result<(), Failure> {
    let meta = EventMeta::decode(&event.payload)
        .map_err(|e| Failure::Rejected(FoldError::new(e.to_string())))?;
    // The event's own reference moves into the fold event, past the envelope (`decode`
    // checked it is there): no second reference count taken and dropped per event.
    let mut payload = event.payload;
    payload.advance(EVENT_META_LEN);
    let seq = event.seq;
    let event = FoldEvent { seq, timestamp_ns: event.timestamp_ns, meta, payload };
    match panic::catch_unwind(AssertUnwindSafe(|| fold.apply(state, &event))) {
        Ok(applied) => applied.map_err(Failure::Rejected),
        Err(payload) => Err(Failure::Panicked(format!(
            "the fold panicked at seq {seq}: {}",
            panic_message(&*payload)
        ))),
    }
}
