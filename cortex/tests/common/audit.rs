//! A fold that audits the events it applies, shared by the inline-fold and cold-outage tests.

use cortex::{FoldError, FoldEvent, RedexFold};

/// Counts events by summing their dispatch bytes and records the seqs it saw, so a double or a
/// missing application shows.
pub struct Audit;

/// What [`Audit`] saw.
#[derive(Default, Debug, PartialEq)]
pub struct Seen {
    pub sum: u64,
    pub seqs: Vec<u64>,
}

impl RedexFold<Seen> for Audit {
    fn apply(&self, state: &mut Seen, event: &FoldEvent) -> Result<(), FoldError> {
        state.sum += u64::from(event.meta.dispatch);
        state.seqs.push(event.seq);
        Ok(())
    }
}
