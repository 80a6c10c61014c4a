//! Goal: a `RedexFile` behaves exactly like a `Vec<Vec<u8>>` with a retained head, for random
//! sequences of appends, batches, reads, syncs, reopens and retention limits, heap-only and
//! persistent, across segment rollovers.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use proptest::prelude::*;
use redex::{ChannelName, Redex, RedexError, RedexFile, RedexFileConfig, Retention};

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<u8>),
    Batch(Vec<Vec<u8>>),
    Get(u64),
    Range(u64, u64),
    Sync,
    Reopen,
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..=8),
        proptest::collection::vec(any::<u8>(), 9..200),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => payload().prop_map(Op::Append),
        3 => proptest::collection::vec(payload(), 0..12).prop_map(Op::Batch),
        2 => (0u64..300).prop_map(Op::Get),
        2 => (0u64..300, 0u64..80).prop_map(|(a, n)| Op::Range(a, a + n)),
        1 => Just(Op::Sync),
        1 => Just(Op::Reopen),
    ]
}

fn retention() -> impl Strategy<Value = Retention> {
    (proptest::option::weighted(0.3, 1u64..60), proptest::option::weighted(0.3, 1u64..3000))
        .prop_map(|(events, bytes)| Retention {
            max_events: events,
            max_bytes: bytes,
            max_age: None,
        })
}

/// The model: every payload ever appended and the retained head.
struct Model {
    entries: Vec<Vec<u8>>,
    head: u64,
    retention: Retention,
}

impl Model {
    fn push(&mut self, batch: &[Vec<u8>]) {
        self.entries.extend(batch.iter().cloned());
        let next = self.entries.len() as u64;
        if let Some(max) = self.retention.max_events {
            self.head = self.head.max(next.saturating_sub(max));
        }
        if let Some(max) = self.retention.max_bytes {
            let mut bytes: u64 =
                self.entries[self.head as usize..].iter().map(|p| p.len() as u64).sum();
            while bytes > max {
                bytes -= self.entries[self.head as usize].len() as u64;
                self.head += 1;
            }
        }
    }
}

fn open(redex: &Redex, cfg: &RedexFileConfig) -> RedexFile {
    redex.open_file(&ChannelName::new("model/log").unwrap(), cfg.clone()).unwrap()
}

fn run(
    ops: Vec<Op>,
    retention: Retention,
    persistent: bool,
    seg_events: u64,
) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let cfg = RedexFileConfig::default()
        .with_persistent(persistent)
        .with_segment_bytes_max(4096)
        .with_segment_events_max(seg_events)
        .with_retention(retention);
    let mut redex =
        if persistent { Redex::with_persistent_dir(dir.path()).unwrap() } else { Redex::new() };
    let mut file = open(&redex, &cfg);
    let mut model = Model { entries: Vec::new(), head: 0, retention };
    for op in ops {
        match op {
            Op::Append(p) => {
                let seq = file.append(&p).unwrap();
                prop_assert_eq!(seq, model.entries.len() as u64);
                model.push(&[p]);
            }
            Op::Batch(b) => {
                let first = file.append_batch(&b).unwrap();
                let expect = (!b.is_empty()).then_some(model.entries.len() as u64);
                prop_assert_eq!(first, expect);
                model.push(&b);
            }
            Op::Get(seq) => match file.get(seq) {
                Ok(Some(ev)) => {
                    prop_assert!(seq >= model.head);
                    prop_assert_eq!(ev.seq, seq);
                    prop_assert_eq!(&ev.payload[..], &model.entries[seq as usize][..]);
                }
                Ok(None) => prop_assert!(seq >= model.entries.len() as u64),
                Err(RedexError::Evicted { requested, head }) => {
                    prop_assert_eq!((requested, head), (seq, model.head));
                    prop_assert!(seq < model.head);
                }
                Err(e) => prop_assert!(false, "get({seq}): {e}"),
            },
            Op::Range(a, b) => match file.read_range(a, b) {
                Ok(events) => {
                    prop_assert!(a >= model.head);
                    let end = b.min(model.entries.len() as u64);
                    let expect: Vec<&[u8]> =
                        (a..end.max(a)).map(|s| &model.entries[s as usize][..]).collect();
                    let got: Vec<&[u8]> = events.iter().map(|e| &e.payload[..]).collect();
                    prop_assert_eq!(got, expect);
                    for (i, e) in events.iter().enumerate() {
                        prop_assert_eq!(e.seq, a + i as u64);
                    }
                    // The same entries lent out by a batch, timestamps included.
                    let batch = file.read_batch(a, b).unwrap();
                    prop_assert_eq!(batch.len(), events.len());
                    for (r, e) in batch.iter().zip(&events) {
                        prop_assert_eq!(
                            (r.seq, r.timestamp_ns, r.payload),
                            (e.seq, e.timestamp_ns, &e.payload[..])
                        );
                    }
                }
                Err(RedexError::Evicted { .. }) => {
                    prop_assert!(a < model.head);
                    let batch = file.read_batch(a, b);
                    prop_assert!(matches!(batch, Err(RedexError::Evicted { .. })), "{:?}", batch);
                }
                Err(e) => prop_assert!(false, "read_range({a}, {b}): {e}"),
            },
            Op::Sync => file.sync().unwrap(),
            Op::Reopen => {
                if persistent {
                    file.close().unwrap();
                    drop(file);
                    drop(redex);
                    redex = Redex::with_persistent_dir(dir.path()).unwrap();
                    file = open(&redex, &cfg);
                }
            }
        }
        prop_assert_eq!(file.next_seq(), model.entries.len() as u64);
        prop_assert_eq!(file.head_seq(), model.head);
        let bytes: u64 = model.entries[model.head as usize..].iter().map(|p| p.len() as u64).sum();
        prop_assert_eq!(file.retained_bytes(), bytes);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn heap_only_matches_model(ops in proptest::collection::vec(op(), 1..120), r in retention(), seg_events in 1u64..40) {
        run(ops, r, false, seg_events)?;
    }

    #[test]
    fn persistent_matches_model(ops in proptest::collection::vec(op(), 1..120), r in retention(), seg_events in 1u64..40) {
        run(ops, r, true, seg_events)?;
    }
}
