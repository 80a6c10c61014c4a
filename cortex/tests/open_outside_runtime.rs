//! Goal: opening a model outside a tokio runtime is a clear `NoRuntime` error that leaves
//! nothing open behind it (it used to open the log first, which then stayed open in its
//! `Redex`: three descriptors and an fsync thread for a persistent channel).
#![allow(clippy::unwrap_used, reason = "test code: a failure is the test failing")]

use cortex::{CortexAdapter, CortexConfig, CortexError, FoldError, FoldEvent, RedexFold};
use redex::{ChannelName, Redex};

struct Count;

impl RedexFold<u64> for Count {
    fn apply(&self, state: &mut u64, _event: &FoldEvent) -> Result<(), FoldError> {
        *state += 1;
        Ok(())
    }
}

#[test]
fn opening_outside_a_runtime_opens_no_log() {
    let dir = tempfile::tempdir().unwrap();
    let redex = Redex::with_persistent_dir(dir.path()).unwrap();
    let name = ChannelName::new("counts").unwrap();
    let config = CortexConfig::default();
    let opened = CortexAdapter::<u64>::open(&redex, &name, 1, Count, config.clone());
    assert!(matches!(opened, Err(CortexError::NoRuntime)), "{:?}", opened.err());
    let restored = CortexAdapter::<u64>::open_with_state(&redex, &name, 1, Count, config, 0, None);
    assert!(matches!(restored, Err(CortexError::NoRuntime)), "{:?}", restored.err());
    assert!(redex.stats().is_empty(), "no log left open: {:?}", redex.stats());
}
