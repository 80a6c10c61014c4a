//! `tail(from_seq)`: stored entries from `from_seq`, then live appends, with no gap and no
//! duplicate.
//!
//! The subscription to live appends is taken under the file's write lock together with the
//! current `next_seq`, so every seq below it is read from storage (in chunks, without holding
//! the lock across an await) and every seq at or above it arrives on the live channel. The live
//! channel is bounded: a subscriber that falls more than the file's `tail_buffer_events` behind
//! receives [`RedexError::Lagged`] and the stream ends, so a stalled reader never grows memory.

use std::collections::VecDeque;

use futures::Stream;
use tokio::sync::broadcast::{self, error::RecvError};

use crate::error::{RedexError, Result};
use crate::event::RedexEvent;
use crate::file::RedexFile;

/// Entries read from storage per backfill step.
const BACKFILL_CHUNK: u64 = 1024;

struct TailState {
    file: RedexFile,
    /// Next seq to deliver.
    next: u64,
    /// First seq delivered by the live channel; below it, entries come from storage.
    live_from: u64,
    buffered: VecDeque<RedexEvent>,
    rx: Option<broadcast::Receiver<RedexEvent>>,
    done: bool,
}

impl RedexFile {
    /// A stream of every entry from `from_seq` on: first what is stored (from any tier), then
    /// live appends as they happen, in seq order with no gap and no duplicate. The stream ends
    /// when the file is closed; it yields [`RedexError::Evicted`] if `from_seq` (or a backfill
    /// position) falls below the retained head, and [`RedexError::Lagged`] if the subscriber
    /// falls behind its bounded buffer. Either error ends the stream.
    pub fn tail(&self, from_seq: u64) -> impl Stream<Item = Result<RedexEvent>> + Send + 'static {
        let (rx, live_from, head, error) = match self.subscribe() {
            Ok((rx, live_from, head)) => (Some(rx), live_from, head, None),
            Err(e) => (None, 0, 0, Some(e)),
        };
        let mut buffered_error = error;
        if buffered_error.is_none() && from_seq < head {
            buffered_error = Some(RedexError::Evicted { requested: from_seq, head });
        }
        let state = TailState {
            file: self.clone(),
            next: from_seq,
            live_from,
            buffered: VecDeque::new(),
            rx,
            done: false,
        };
        futures::stream::unfold((state, buffered_error), |(mut st, pending_err)| async move {
            if let Some(e) = pending_err {
                st.done = true;
                return Some((Err(e), (st, None)));
            }
            if st.done {
                return None;
            }
            let item = st.next_item().await?;
            if item.is_err() {
                st.done = true;
            }
            Some((item, (st, None)))
        })
    }
}

impl TailState {
    async fn next_item(&mut self) -> Option<Result<RedexEvent>> {
        loop {
            if let Some(ev) = self.buffered.pop_front() {
                self.next = ev.seq + 1;
                return Some(Ok(ev));
            }
            if self.next < self.live_from {
                let end = self.live_from.min(self.next.saturating_add(BACKFILL_CHUNK));
                match self.file.read_range_async(self.next, end).await {
                    Ok(events) => self.buffered.extend(events),
                    // A read overtaken by retention says `Evicted` at its start, `self.next`.
                    Err(e) => return Some(Err(e)),
                }
                if self.buffered.is_empty() {
                    // Nothing stored in the range; cannot happen for a dense log, but never spin.
                    self.next = end;
                }
                continue;
            }
            let rx = self.rx.as_mut()?;
            match rx.recv().await {
                Ok(ev) if ev.seq < self.next => continue,
                Ok(ev) if ev.seq == self.next => {
                    self.next += 1;
                    return Some(Ok(ev));
                }
                Ok(ev) => {
                    return Some(Err(RedexError::Lagged {
                        at_seq: self.next,
                        skipped: ev.seq - self.next,
                    }))
                }
                Err(RecvError::Lagged(skipped)) => {
                    return Some(Err(RedexError::Lagged { at_seq: self.next, skipped }))
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}
