//! Goal: against a `Vec` model, random appends (inline, small and large payloads) pushed through
//! hot, warm and cold by tiny segment and warm-window thresholds, reads of random ranges and
//! single entries, and close/reopen at random points always return exactly the model's bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use proptest::prelude::*;
use redex::{
    ChannelName, ColdStore, LocalDirColdStore, Redex, RedexFile, RedexFileConfig, Retention, Tier,
};

#[path = "common/cold.rs"]
mod cold;
use cold::settle;

#[derive(Debug, Clone)]
enum Op {
    /// A batch of payloads with these lengths.
    Append(Vec<usize>),
    /// `read_range` over fractions of the log.
    Read(f64, f64),
    /// `get` at a fraction of the log.
    Get(f64),
    /// Wait until archival has caught up.
    Settle,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    let len = prop_oneof![0usize..=8, 9usize..200, 1000usize..6000];
    prop_oneof![
        6 => proptest::collection::vec(len, 1..20).prop_map(Op::Append),
        3 => (0.0..1.0f64, 0.0..1.0f64).prop_map(|(a, b)| Op::Read(a.min(b), a.max(b))),
        2 => (0.0..1.0f64).prop_map(Op::Get),
        1 => Just(Op::Settle),
        1 => Just(Op::Reopen),
    ]
}

fn bytes_for(seq: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (seq * 13 + i * 7) as u8).collect()
}

struct Harness {
    dir: tempfile::TempDir,
    store: Arc<dyn ColdStore>,
    warm_events: u64,
    redex: Option<Redex>,
    file: Option<RedexFile>,
}

impl Harness {
    fn cfg(&self) -> RedexFileConfig {
        RedexFileConfig::default()
            .with_persistent(true)
            .with_segment_bytes_max(8 * 1024)
            .with_cold_store(Arc::clone(&self.store))
            .with_warm_retention(Retention::events(self.warm_events))
            .with_cold_cache_bytes(256 * 1024)
    }

    fn open(&mut self) {
        let redex = Redex::with_persistent_dir(self.dir.path().join("db")).expect("manager");
        let name = ChannelName::new("model/cold").expect("name");
        self.file = Some(redex.open_file(&name, self.cfg()).expect("open"));
        self.redex = Some(redex);
    }

    fn close(&mut self) {
        if let Some(f) = self.file.take() {
            f.close().expect("close");
        }
        self.redex = None;
    }

    fn file(&self) -> &RedexFile {
        self.file.as_ref().expect("open")
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn reads_across_hot_warm_and_cold_match_the_model(
        warm_events in 10u64..120,
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn ColdStore> =
            Arc::new(LocalDirColdStore::new(dir.path().join("archive")).expect("store"));
        let mut h = Harness { dir, store, warm_events, redex: None, file: None };
        h.open();
        let mut model: Vec<Vec<u8>> = Vec::new();
        let mut saw_cold = false;
        for op in ops {
            match op {
                Op::Append(lens) => {
                    let batch: Vec<Vec<u8>> =
                        lens.iter().enumerate().map(|(i, &l)| bytes_for(model.len() + i, l)).collect();
                    let first = h.file().append_batch(&batch).expect("append");
                    prop_assert_eq!(first, Some(model.len() as u64));
                    model.extend(batch);
                }
                Op::Read(a, b) => {
                    let n = model.len() as f64;
                    let (start, end) = ((a * n) as u64, (b * n).ceil() as u64);
                    let got = h.file().read_range(start, end).expect("read");
                    let want = &model[start as usize..end.min(model.len() as u64) as usize];
                    prop_assert_eq!(got.len(), want.len());
                    for (ev, (i, w)) in got.iter().zip(want.iter().enumerate()) {
                        prop_assert_eq!(ev.seq, start + i as u64);
                        prop_assert_eq!(&ev.payload[..], &w[..]);
                    }
                    // The same through a batch (cold parts fetched, the rest lent in place).
                    let batch = h.file().read_batch(start, end).expect("read_batch");
                    prop_assert_eq!(batch.to_events(), got);
                }
                Op::Get(a) => {
                    if !model.is_empty() {
                        let seq = ((a * model.len() as f64) as usize).min(model.len() - 1);
                        let ev = h.file().get(seq as u64).expect("get").expect("present");
                        prop_assert_eq!(&ev.payload[..], &model[seq][..]);
                    }
                }
                Op::Settle => settle(h.file()),
                Op::Reopen => {
                    h.close();
                    h.open();
                    prop_assert_eq!(h.file().next_seq(), model.len() as u64);
                }
            }
            saw_cold |= h.file().segments().iter().any(|s| s.tier == Tier::Cold);
        }
        // Finally everything, after archival has caught up, and once more after a reopen.
        settle(h.file());
        for _ in 0..2 {
            let all = h.file().read_range(0, u64::MAX).expect("read all");
            prop_assert_eq!(all.len(), model.len());
            for (ev, w) in all.iter().zip(&model) {
                prop_assert_eq!(&ev.payload[..], &w[..]);
            }
            h.close();
            h.open();
        }
        let total: usize = model.iter().map(Vec::len).sum();
        if total > 200_000 {
            prop_assert!(saw_cold || h.file().segments().iter().any(|s| s.tier == Tier::Cold));
        }
        h.close();
    }
}
