//! [`follow_log`]: the task loop that keeps something up to date from a log, applying its
//! entries in seq order. [`RedexIndex`](crate::RedexIndex) and CortEX's fold both run it; what
//! they keep, and what an entry or an error does to it, is theirs ([`LogFollower`]).
//!
//! While the follower is behind the log's `next_seq` (on start, after a lagged tail), the loop
//! reads stored history with [`RedexFile::read_range_async`], 4096 entries per read (or
//! `batch`, if larger; an archived part is awaited on the engine's cold runtime, so no worker
//! blocks on the store), applies them `batch` per [`LogFollower::apply`] (the bound on one
//! write lock), wakes the follower's waiters once per read (waking them per slice cost ~8 % of
//! a replay) and yields between reads. Once caught up it subscribes to [`RedexFile::tail`] at
//! the follower's next seq, so the switch has no gap and no duplicate, and applies live entries
//! in ready chunks of up to `batch`: under load one write lock still covers many entries.
//! History read through the tail costs a stream poll and an async step per entry (a 10 M-event
//! replay took 1.6x as long that way). A tail that lags (the writer outran the file's
//! `tail_buffer_events`) is not a loss: `apply` answers [`FollowStep::Reread`] and the loop
//! goes back to reading history from the follower's next seq.
//!
//! A read that fails with an I/O error (a cold store that is down or unreachable, a descriptor
//! limit) is not the follower's to judge: it may succeed later, and halting a fold for good on
//! a store's bad minute would leave a long-lived daemon without its state until restarted. The
//! loop tries again from the same seq after a pause that doubles from 100 ms up to 10 s,
//! logging each failure and telling [`LogFollower::read_failed`], until the read succeeds or a
//! stop is requested. Nothing is skipped meanwhile: the follower stays where it was, and its
//! waiters wait. Damage, eviction and a closed file are not retried; they go to
//! [`LogFollower::apply`] as before.

use std::any::Any;
use std::future::Future;
use std::time::Duration;

use futures::StreamExt;

use crate::error::{RedexError, Result};
use crate::event::RedexEvent;
use crate::file::RedexFile;

/// Entries read from storage per step while catching up: enough to amortise a read (and a cold
/// fetch's hop to the cold runtime), few enough to see a stop promptly.
const HISTORY_CHUNK: u64 = 4096;

/// Pause after the first failed read of a run of failures; doubled after each further one.
const RETRY_PAUSE_FIRST: Duration = Duration::from_millis(100);

/// Longest pause between two tries of a failing read.
const RETRY_PAUSE_MAX: Duration = Duration::from_secs(10);

/// What [`LogFollower::apply`] tells [`follow_log`] to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowStep {
    /// Go on as before. After an error that ended the items (the tail stream ends with its
    /// error), going on means reading history again from [`LogFollower::next_seq`], as
    /// [`FollowStep::Reread`] does.
    Continue,
    /// Read history again from [`LogFollower::next_seq`]: the tail lagged, or entries evicted
    /// before they were read were passed over.
    Reread,
    /// The follower stopped or closed: end the task.
    Stop,
}

/// What [`follow_log`] keeps up to date: it holds its own position and status, and decides
/// what each entry and each error does to it.
pub trait LogFollower {
    /// The seq of the next entry to apply, or `None` once the follower has stopped.
    fn next_seq(&self) -> Option<u64>;

    /// Applies `items`, consecutive items of the log (one history read's slice of up to
    /// `batch` entries, or one tail chunk) under one write lock. Entries below the follower's
    /// position were applied already (by a waiter inline) and are to be passed over. An error
    /// ends the items: what ended a read or the tail (`Lagged`, `Evicted`, a failed fetch, and
    /// `Closed` when the tail ends because the file was closed, after which the task ends
    /// whatever the answer). Wakes the follower's waiters if `wake`; history slices come with
    /// `wake` false and [`LogFollower::wake`] once per read.
    fn apply(&self, items: impl IntoIterator<Item = Result<RedexEvent>>, wake: bool) -> FollowStep;

    /// Wakes the follower's waiters after the slices of one history read were applied.
    fn wake(&self);

    /// A read failed with `error`, which may pass (see [`is_transient`]); the loop tries it
    /// again after `pause`. For counters; nothing by default.
    fn read_failed(&self, error: &RedexError, pause: Duration) {
        let _ = (error, pause);
    }

    /// Completes when the task is asked to stop; checked first, before every read and every
    /// tail chunk. Never, by default.
    fn stop_requested(&self) -> impl Future<Output = ()> + Send {
        std::future::pending()
    }

    /// Called if the task ends without returning: it panicked outside `apply`
    /// (`std::thread::panicking()` tells) or was dropped unfinished (aborted, or its runtime
    /// shut down). It should set a terminal status, so that nothing waits on a dead task.
    fn died(&self);
}

/// Keeps `follower` up to date from `file` (see the [module docs](self)) until it stops, the
/// file is closed or [`LogFollower::stop_requested`] completes. Run it as a task of its own.
pub async fn follow_log<F: LogFollower>(file: &RedexFile, follower: &F, batch: usize) {
    let guard = Unexpected(follower);
    follow(file, follower, batch).await;
    std::mem::forget(guard);
}

/// Held while [`follow_log`] runs: dropped only if the task ends without returning.
struct Unexpected<'a, F: LogFollower>(&'a F);

impl<F: LogFollower> Drop for Unexpected<'_, F> {
    fn drop(&mut self) {
        self.0.died();
    }
}

/// Catches up from storage, then follows the tail; back to storage whenever the tail lags.
async fn follow<F: LogFollower>(file: &RedexFile, follower: &F, batch: usize) {
    loop {
        if !catch_up(file, follower, batch).await {
            return;
        }
        let Some(from) = follower.next_seq() else { return };
        let mut tail = Box::pin(file.tail(from).ready_chunks(batch));
        loop {
            let chunk = tokio::select! {
                biased;
                () = follower.stop_requested() => return,
                chunk = tail.next() => chunk,
            };
            let Some(mut chunk) = chunk else {
                // The tail ends when the file is closed: told as a read of it would.
                let closed = RedexError::Closed { channel: file.channel().to_string() };
                follower.apply([Err(closed)], true);
                return;
            };
            // A backfill read that failed but may pass: history reads retry it.
            if chunk.last().is_some_and(|item| item.as_ref().is_err_and(is_transient)) {
                chunk.pop();
                if follower.apply(chunk, true) == FollowStep::Stop {
                    return;
                }
                break;
            }
            // An error ends the tail stream: whatever the answer, the next item would be the
            // stream's end, which is not the file's closing.
            let ended = chunk.last().is_some_and(Result::is_err);
            match follower.apply(chunk, true) {
                FollowStep::Continue if !ended => {}
                FollowStep::Continue | FollowStep::Reread => break,
                FollowStep::Stop => return,
            }
        }
    }
}

/// Applies stored history until the follower reaches the log's `next_seq` as last read; false
/// if it stopped.
async fn catch_up<F: LogFollower>(file: &RedexFile, follower: &F, batch: usize) -> bool {
    let chunk = HISTORY_CHUNK.max(batch as u64);
    let mut pause = Duration::ZERO;
    loop {
        let Some(next) = follower.next_seq() else { return false };
        let end = file.next_seq().min(next.saturating_add(chunk));
        if next >= end {
            return true;
        }
        let read = tokio::select! {
            biased;
            () = follower.stop_requested() => return false,
            read = file.read_range_async(next, end) => read,
        };
        let step = match read {
            // Nothing stored there (cannot happen in a dense log): let the tail wait instead.
            Ok(events) if events.is_empty() => return true,
            Ok(events) => {
                let mut events = events.into_iter();
                let mut step = FollowStep::Continue;
                while step == FollowStep::Continue && !events.as_slice().is_empty() {
                    step = follower.apply(events.by_ref().take(batch).map(Ok), false);
                }
                follower.wake();
                pause = Duration::ZERO;
                step
            }
            Err(e) if is_transient(&e) => {
                pause = (pause * 2).clamp(RETRY_PAUSE_FIRST, RETRY_PAUSE_MAX);
                let channel = file.channel();
                tracing::warn!(%channel, seq = next, error = %e, ?pause, "read failed; trying again");
                follower.read_failed(&e, pause);
                let slept = tokio::select! {
                    biased;
                    () = follower.stop_requested() => return false,
                    slept = sleep(pause) => slept,
                };
                if slept {
                    continue;
                }
                // Nothing to wait on: the failure is final after all.
                follower.apply([Err(e)], true)
            }
            Err(e) => follower.apply([Err(e)], true),
        };
        if step == FollowStep::Stop {
            return false;
        }
        // A warm read completes without yielding: let a stop, waiters and other tasks in.
        tokio::task::yield_now().await;
    }
}

/// Whether a failed read may succeed if tried again: an I/O error (a cold store that is down,
/// a request that timed out, a descriptor limit), as opposed to damage, eviction, a closed
/// file or a read the configuration does not allow.
pub fn is_transient(error: &RedexError) -> bool {
    matches!(error, RedexError::Io { .. })
}

/// Waits `pause` on the engine's own runtime, whose timer is always on (the follower's runtime
/// may have been built without one); false if that runtime cannot run it.
async fn sleep(pause: Duration) -> bool {
    let slept = crate::cold::run(async move {
        tokio::time::sleep(pause).await;
        Ok(())
    });
    slept.await.is_ok()
}

/// The message of a panic's payload (`panic!` with a literal or a format string), if it has
/// one; `"(no message)"` otherwise.
pub fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}
