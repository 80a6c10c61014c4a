//! [`ChangeStream`]: a deduplicated, latest-wins stream of a value derived from folded state.
//!
//! The stream owns no task and no buffer. It holds a receiver of the fold's progress channel
//! (a single slot that always holds the newest progress) and a function that evaluates the
//! value from the state. Each time it is polled after a change it evaluates the value from the
//! state *as it is now*; so a slow consumer skips intermediate values instead of queueing them,
//! the last value it sees always reflects the final state, and dropping the stream simply drops
//! the receiver: there is nothing left running.
//!
//! Why no update is lost: the stream marks the current progress as seen *before* it reads the
//! state. A fold step that lands after the read bumps the progress again, so the stream will
//! evaluate once more; one that lands between the mark and the read is already in what was
//! read, and the extra wake-up is absorbed by deduplication.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures::stream::{BoxStream, FusedStream};
use futures::{Stream, StreamExt};
use parking_lot::RwLock;
use tokio::sync::watch;

use crate::progress::{FoldStatus, Progress};

type Eval<R> = Box<dyn Fn() -> R + Send>;

struct Core<R> {
    rx: watch::Receiver<Progress>,
    eval: Eval<R>,
    last: Option<R>,
    /// The first evaluation happened (no wait before it).
    started: bool,
    /// The fold stopped; after the value that reflects its final state, the stream ends.
    finished: bool,
}

impl<R: Clone + PartialEq> Core<R> {
    /// Marks the progress seen, then evaluates. Returns the value and whether the fold has
    /// stopped for good.
    fn evaluate(&mut self) -> (R, bool) {
        let terminal = self.rx.borrow_and_update().status != FoldStatus::Running;
        ((self.eval)(), terminal)
    }

    async fn next(&mut self) -> Option<R> {
        loop {
            if self.finished {
                return None;
            }
            if self.started && self.rx.changed().await.is_err() {
                // The adapter is gone; one last look at the state it left.
                self.finished = true;
            }
            self.started = true;
            let (value, terminal) = self.evaluate();
            self.finished |= terminal;
            if self.last.as_ref() != Some(&value) {
                self.last = Some(value.clone());
                return Some(value);
            }
        }
    }
}

/// Emits a value derived from an adapter's state: immediately on first poll, then whenever a
/// fold step changes it (equal consecutive values are emitted once). A consumer that polls
/// slowly gets the newest value, never a backlog. Ends after the adapter closes or its fold
/// halts, once the final value has been emitted; polled again after that, it answers `None`
/// (it is a [`FusedStream`]), so an event loop may poll it on every turn.
pub struct ChangeStream<R> {
    /// Not started yet: the first poll moves it into `stream`.
    core: Option<Core<R>>,
    /// Started and not ended. Both are `None` once the stream ended.
    stream: Option<BoxStream<'static, R>>,
}

impl<R> std::fmt::Debug for ChangeStream<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeStream").field("started", &self.stream.is_some()).finish()
    }
}

impl<R: Clone + PartialEq + Send + 'static> ChangeStream<R> {
    pub(crate) fn new<S, E>(rx: watch::Receiver<Progress>, state: Arc<RwLock<S>>, eval: E) -> Self
    where
        S: Send + Sync + 'static,
        E: Fn(&S) -> R + Send + 'static,
    {
        let eval: Eval<R> = Box::new(move || eval(&state.read()));
        let core = Core { rx, eval, last: None, started: false, finished: false };
        ChangeStream { core: Some(core), stream: None }
    }

    /// Like `new`, but evaluates the current value now and records it as already emitted, so
    /// the stream's first item is the first change after it (used by `snapshot_and_watch`).
    pub(crate) fn new_after_current<S, E>(
        rx: watch::Receiver<Progress>,
        state: Arc<RwLock<S>>,
        eval: E,
    ) -> (R, Self)
    where
        S: Send + Sync + 'static,
        E: Fn(&S) -> R + Send + 'static,
    {
        let eval: Eval<R> = Box::new(move || eval(&state.read()));
        let mut core = Core { rx, eval, last: None, started: true, finished: false };
        let (value, terminal) = core.evaluate();
        core.finished = terminal;
        core.last = Some(value.clone());
        (value, ChangeStream { core: Some(core), stream: None })
    }
}

// The stream is never pin-projected: its fields are moved freely, so it is `Unpin` whatever
// `R` is.
impl<R> Unpin for ChangeStream<R> {}

impl<R: Clone + PartialEq + Send + 'static> Stream for ChangeStream<R> {
    type Item = R;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<R>> {
        if self.stream.is_none() {
            let Some(core) = self.core.take() else { return Poll::Ready(None) };
            let stream = futures::stream::unfold(core, |mut core| async move {
                let value = core.next().await?;
                Some((value, core))
            });
            self.stream = Some(stream.boxed());
        }
        let Some(stream) = self.stream.as_mut() else { return Poll::Ready(None) };
        let item = ready!(stream.poll_next_unpin(cx));
        if item.is_none() {
            // The inner stream must not be polled again (`unfold` panics if it is).
            self.stream = None;
        }
        Poll::Ready(item)
    }
}

impl<R: Clone + PartialEq + Send + 'static> FusedStream for ChangeStream<R> {
    fn is_terminated(&self) -> bool {
        self.core.is_none() && self.stream.is_none()
    }
}
