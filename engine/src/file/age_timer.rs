//! Age limits on a clock. Count and byte limits can only be passed by an append, which
//! applies them; an age limit is passed by time alone, so a file that goes quiet would keep
//! entries past their age until its next append. One engine thread, `redex-retention`, started
//! with the first file that has an age limit (in its retention, or its warm window when it
//! archives), calls [`RedexFile::apply_retention`] on each such file every eighth of its
//! shortest age limit (between 10 ms and a minute), so an entry outlives its age by at most
//! that much plus the span of its segment (segments go whole). The timer holds files weakly: it
//! never keeps one open, and drops it once closed. Read-only files are not timed (they delete
//! nothing).
//!
//! The same thread finishes what a background freeze leaves to the next append: a freeze thread
//! asks it, as its last step, to install its result ([`after_freeze`]), so a file that went
//! quiet right after a rollover still has the segment installed as warm (its in-memory index
//! released), the next full segment's freeze started, retention applied and archival started.

use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::{FileInner, RedexFile};
use crate::error::RedexError;

/// Shortest and longest pause between two applications to one file.
const TICK_MIN: Duration = Duration::from_millis(10);
const TICK_MAX: Duration = Duration::from_secs(60);
/// How soon after a freeze thread's request its result is installed (the thread has returned
/// by then; if not, the check repeats as often).
const FREEZE_CHECK: Duration = Duration::from_millis(10);

struct Timed {
    file: Weak<FileInner>,
    /// `None`: once, to install a finished freeze.
    every: Option<Duration>,
    due: Instant,
}

#[derive(Default)]
struct Timer {
    files: Mutex<Vec<Timed>>,
    /// Signalled when a file is added, so its first tick need not wait for the current sleep.
    added: Condvar,
}

static TIMER: OnceLock<Option<&'static Timer>> = OnceLock::new();

/// How often a file whose shortest age limit is `age` gets its retention applied.
fn tick_for(age: Duration) -> Duration {
    (age / 8).clamp(TICK_MIN, TICK_MAX)
}

/// Puts `file` on the timer if it has an age limit and may delete (not read-only).
pub(super) fn register(file: &RedexFile) {
    let config = &file.inner.config;
    let age = [config.retention().max_age, config.cold().warm_retention.max_age]
        .into_iter()
        .flatten()
        .min();
    let Some(age) = age.filter(|_| !file.inner.read_only) else { return };
    let Some(timer) = timer() else {
        tracing::warn!(channel = %file.inner.channel, "cannot start the retention timer thread; age limits apply on appends and apply_retention() only");
        return;
    };
    let every = tick_for(age);
    let entry = Timed {
        file: Arc::downgrade(&file.inner),
        every: Some(every),
        due: Instant::now() + every,
    };
    timer.files.lock().push(entry);
    timer.added.notify_one();
}

/// Asks for the freeze about to finish on the calling thread to be installed in `file` soon.
pub(super) fn after_freeze(file: Weak<FileInner>) {
    if let Some(timer) = timer() {
        timer.files.lock().push(Timed { file, every: None, due: Instant::now() + FREEZE_CHECK });
        timer.added.notify_one();
    }
}

/// The process's timer, its thread started on first use; `None` if the thread cannot start.
fn timer() -> Option<&'static Timer> {
    *TIMER.get_or_init(|| {
        let timer: &'static Timer = Box::leak(Box::default());
        let started =
            std::thread::Builder::new().name("redex-retention".into()).spawn(move || run(timer));
        started.ok().map(|_| timer)
    })
}

fn run(timer: &Timer) {
    let mut files = timer.files.lock();
    loop {
        let now = Instant::now();
        let mut due = Vec::new();
        let mut freezes = Vec::new();
        files.retain_mut(|t| match t.every {
            _ if t.due > now => true,
            Some(every) => {
                t.due = now + every;
                due.push(t.file.clone());
                true
            }
            None => {
                freezes.push(t.file.clone());
                false
            }
        });
        if due.is_empty() && freezes.is_empty() {
            match files.iter().map(|t| t.due).min() {
                Some(next) => {
                    timer.added.wait_until(&mut files, next);
                }
                None => timer.added.wait(&mut files),
            }
            continue;
        }
        // Applied without the timer's lock: opening files and freezes may register meanwhile.
        let (closed, still_freezing) = parking_lot::MutexGuard::unlocked(&mut files, || {
            let closed: Vec<Weak<FileInner>> = due.into_iter().filter(|f| !apply(f)).collect();
            let still_freezing: Vec<Weak<FileInner>> =
                freezes.into_iter().filter(|f| apply(f) && freeze_running(f)).collect();
            (closed, still_freezing)
        });
        files.retain(|t| t.file.strong_count() > 0 && !closed.iter().any(|c| c.ptr_eq(&t.file)));
        let again = Instant::now() + FREEZE_CHECK;
        files.extend(still_freezing.into_iter().map(|file| Timed {
            file,
            every: None,
            due: again,
        }));
    }
}

/// Whether the file `weak` points to has a freeze that has not finished yet.
fn freeze_running(weak: &Weak<FileInner>) -> bool {
    weak.upgrade().is_some_and(|inner| RedexFile { inner }.freeze_running())
}

/// Applies the retention of the file `weak` points to; false once it is gone or closed.
fn apply(weak: &Weak<FileInner>) -> bool {
    let Some(inner) = weak.upgrade() else { return false };
    let file = RedexFile { inner };
    match file.apply_retention() {
        Ok(()) => true,
        Err(RedexError::Closed { .. }) => false,
        Err(e) => {
            tracing::warn!(channel = %file.inner.channel, error = %e, "timed retention failed; trying again at the next tick");
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_an_eighth_of_the_age_within_bounds() {
        assert_eq!(tick_for(Duration::from_millis(1)), TICK_MIN);
        assert_eq!(tick_for(Duration::from_secs(8)), Duration::from_secs(1));
        assert_eq!(tick_for(Duration::from_secs(86_400)), TICK_MAX);
    }
}
