//! The fold task: applies the log's events to the state, in seq order.
//!
//! While the fold is behind the log's `next_seq` (a replay on open, a restore from a snapshot,
//! a tail that lagged), it reads stored history directly, `HISTORY_CHUNK` events (or `batch`,
//! if larger) per read, and applies them `batch` events per write lock, the configured bound
//! on how long readers wait; waiters are woken once per read. Once caught up it subscribes to
//! `tail(next_seq)`, which hands it each event as it lands, in ready chunks, so under load one
//! write lock and one change notification still cover many events. History read through the
//! tail costs a stream poll and an async step per event: a 10 M-event replay took 1.6x as long
//! that way.
//!
//! The tail starts at the seq after the last applied one, so the switch has no gap and no
//! duplicate. A tail that lags (the appender outran the bounded live buffer) is not an error:
//! the task goes back to chunked reads from its next seq.
//!
//! A fold that panics halts the adapter, whatever its [`FoldErrorPolicy`]: the panic is caught
//! around [`RedexFold::apply`] (on the task and on a waiter folding inline alike) and becomes a
//! `Halted` status, so waiters, appends and change streams answer as for any halted fold
//! instead of waiting on a task that died. Should the task itself die any other way (a panic
//! outside `apply`, its runtime shutting down), a guard it holds sets the same kind of status.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures::StreamExt;
use redex::{RedexError, RedexEvent};

use crate::adapter::Shared;
use crate::fold::{FoldError, FoldEvent, RedexFold};
use crate::meta::{EventMeta, EVENT_META_LEN};
use crate::policy::FoldErrorPolicy;
use crate::progress::FoldStatus;

/// Events read from storage per step while catching up: enough to amortise the read (and a
/// cold fetch's hop to the cold runtime), few enough to see `close` promptly.
const HISTORY_CHUNK: u64 = 4096;

/// What applying one chunk of log items told the loop to do next.
pub(crate) enum Next {
    /// Keep reading the same subscription.
    Continue,
    /// Subscribe again from the next seq (after `Lagged`, or skipping past evicted history).
    Resubscribe,
    /// Stop the task.
    Stop,
}

pub(crate) async fn run<S>(shared: Arc<Shared<S>>, batch: usize)
where
    S: Send + Sync + 'static,
{
    let guard = Unexpected(&shared);
    fold(&shared, batch).await;
    std::mem::forget(guard);
}

/// Held by the fold task while it runs: dropped only if the task ends without returning (it
/// panicked outside the fold, which [`apply_locked`] catches, or was dropped unfinished by an
/// abort or its runtime's shutdown). It then halts the fold, so nothing waits on a dead task and
/// no append is accepted for nobody to apply. After `close` or the adapter's drop the status is
/// already `Closed`, and the first status set wins.
struct Unexpected<'a, S>(&'a Shared<S>);

impl<S> Drop for Unexpected<'_, S> {
    fn drop(&mut self) {
        // The seq the fold was at; the panic hit while applying it or between events.
        let seq = self.0.progress.borrow().next_seq;
        let reason = if std::thread::panicking() {
            format!("the fold task panicked at seq {seq}, outside RedexFold::apply")
        } else {
            format!("the fold task was dropped at seq {seq} (its runtime shut down?)")
        };
        self.0.set_status(FoldStatus::Halted { seq, reason });
    }
}

async fn fold<S>(shared: &Shared<S>, batch: usize)
where
    S: Send + Sync + 'static,
{
    loop {
        if let Next::Stop = catch_up(shared, batch).await {
            return;
        }
        let from = shared.progress.borrow().next_seq;
        let mut chunks = Box::pin(shared.file.tail(from).ready_chunks(batch));
        loop {
            let chunk = tokio::select! {
                biased;
                () = shared.stop.notified() => return,
                chunk = chunks.next() => chunk,
            };
            let Some(chunk) = chunk else {
                // The file was closed under us.
                shared.set_status(FoldStatus::Closed);
                return;
            };
            match apply_chunk(shared, chunk, Wake::Now) {
                Next::Continue => {}
                // Lagged or skipped past evicted history: catch up from storage again.
                Next::Resubscribe => break,
                Next::Stop => return,
            }
        }
    }
}

/// Applies stored history until the fold reaches the log's `next_seq` as last read. Errors
/// (evicted history, a closed file, a failed cold fetch) go through [`apply_locked`] like the
/// tail's, so every policy behaves as it does on the tail.
async fn catch_up<S: 'static>(shared: &Shared<S>, batch: usize) -> Next {
    let chunk = HISTORY_CHUNK.max(batch as u64);
    loop {
        let next = shared.progress.borrow().next_seq;
        let end = shared.file.next_seq().min(next.saturating_add(chunk));
        if next >= end {
            return Next::Continue;
        }
        // Async so a cold fetch never blocks a runtime worker.
        let read = tokio::select! {
            biased;
            () = shared.stop.notified() => return Next::Stop,
            read = shared.file.read_range_async(next, end) => read,
        };
        let outcome = match read {
            // Nothing stored there (cannot happen in a dense log): let the tail wait instead.
            Ok(events) if events.is_empty() => return Next::Continue,
            Ok(events) => {
                let mut events = events.into_iter();
                let mut outcome = Next::Continue;
                while matches!(outcome, Next::Continue) && !events.as_slice().is_empty() {
                    let slice = events.by_ref().take(batch).map(Ok);
                    outcome = apply_chunk(shared, slice, Wake::Deferred);
                }
                // One wake-up per read chunk: waking waiters per slice cost ~8 % of a replay.
                shared.progress.send_modify(|_| {});
                outcome
            }
            Err(e) => apply_chunk(shared, std::iter::once(Err(e)), Wake::Now),
        };
        if let Next::Stop = outcome {
            return Next::Stop;
        }
        // A warm read completes without yielding: let close, waiters and other tasks in.
        tokio::task::yield_now().await;
    }
}

fn apply_chunk<S: 'static>(
    shared: &Shared<S>,
    items: impl IntoIterator<Item = redex::Result<RedexEvent>>,
    wake: Wake,
) -> Next {
    let mut state = shared.state.write();
    apply_locked(shared, &mut state, items, wake)
}

/// When [`apply_locked`] wakes the progress's waiters and change streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// As it publishes the progress.
    Now,
    /// Later, by the caller, after more slices (a halt still wakes them at once). The
    /// progress's value moves regardless, so a new `wait_for_seq` or snapshot sees it.
    Deferred,
}

/// Applies `items` (consecutive items of the log, from a history read or the tail) to the
/// state, whose write lock the caller holds, and publishes the new progress before the lock is
/// released, even if the adapter was closed meanwhile: the progress always counts exactly the
/// events in the state. Events below the progress were already applied (by a `wait_for_seq`
/// that folded them inline) and are skipped. Used by the fold task and by
/// [`crate::CortexAdapter::wait_for_seq`]'s inline path alike, so both apply events exactly
/// the same way and never twice.
pub(crate) fn apply_locked<S: 'static>(
    shared: &Shared<S>,
    state: &mut S,
    items: impl IntoIterator<Item = redex::Result<RedexEvent>>,
    wake: Wake,
) -> Next {
    let fold = &*shared.fold;
    let (start_seq, running) = {
        let p = shared.progress.borrow();
        (p.next_seq, p.status == FoldStatus::Running)
    };
    if !running {
        // Halted (possibly by an inline fold) or closed: apply nothing more.
        return Next::Stop;
    }
    let mut next_seq = start_seq;
    let mut outcome = Next::Continue;
    let mut halted = None;
    for item in items {
        let event = match item {
            Ok(event) => event,
            Err(RedexError::Lagged { at_seq, skipped }) => {
                tracing::debug!(at_seq, skipped, "fold tail lagged; resubscribing");
                outcome = Next::Resubscribe;
                break;
            }
            Err(RedexError::Evicted { requested, head })
                if shared.policy == FoldErrorPolicy::LogAndContinue =>
            {
                tracing::warn!(requested, head, "events evicted before the fold saw them");
                shared.fold_errors.fetch_add(head.saturating_sub(requested), Ordering::Relaxed);
                next_seq = next_seq.max(head);
                outcome = Next::Resubscribe;
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
            wake == Wake::Now || stop
        });
        if stop {
            shared.running.store(false, Ordering::Release);
        }
    }
    if stop {
        Next::Stop
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
    let payload = event.payload.slice(EVENT_META_LEN..);
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

/// The message of a panic (`panic!` with a literal or a format string), if it has one.
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}
