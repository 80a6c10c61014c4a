//! Goal: a fold error halts the adapter under `Stop` (waits and appends get `FoldHalted`, never
//! a hang) and is skipped and counted under `LogAndContinue`.

use cortex::tasks::TasksAdapter;
use cortex::{CortexConfig, CortexError, FoldErrorPolicy, FoldStatus};
use redex::{ChannelName, Redex};

fn open(redex: &Redex, policy: FoldErrorPolicy) -> TasksAdapter {
    let name = ChannelName::new("policy/tasks").expect("valid name");
    TasksAdapter::open_with(redex, &name, 1, CortexConfig::default().with_error_policy(policy))
        .expect("open")
}

#[tokio::test]
async fn stop_halts_on_bytes_without_envelope() {
    let redex = Redex::new();
    let tasks = open(&redex, FoldErrorPolicy::Stop);
    tasks.create(1, "before", 10).unwrap();
    // Another writer puts bytes that are not an event into the same log.
    let bad = tasks.adapter().file().append(b"not an event").unwrap();
    let err = tasks.wait_for_seq(bad).await.unwrap_err();
    assert!(matches!(err, CortexError::FoldHalted { seq, .. } if seq == bad), "{err}");
    // Later appends are refused rather than written for nobody to fold.
    let err = tasks.create(2, "after", 20).unwrap_err();
    assert!(matches!(err, CortexError::FoldHalted { seq, .. } if seq == bad), "{err}");
    // Waiting for a seq beyond the halt fails too, even one another writer appended.
    let later = tasks.adapter().file().append(b"more").unwrap();
    assert!(matches!(tasks.wait_for_seq(later).await, Err(CortexError::FoldHalted { .. })));
    // Everything before the bad event is in the state; a wait below it still succeeds.
    tasks.wait_for_seq(bad - 1).await.unwrap();
    assert_eq!(tasks.state().read().len(), 1);
    assert!(matches!(tasks.progress().status, FoldStatus::Halted { seq, .. } if seq == bad));
    tasks.close().await.unwrap();
}

#[tokio::test]
async fn stop_halts_on_unknown_dispatch_and_bad_checksum() {
    let redex = Redex::new();
    let tasks = open(&redex, FoldErrorPolicy::Stop);
    let seq = tasks.adapter().append(0x7f, 5, b"").unwrap();
    let err = tasks.wait_for_seq(seq).await.unwrap_err();
    assert!(err.to_string().contains("unknown dispatch"), "{err}");

    let redex = Redex::new();
    let tasks = open(&redex, FoldErrorPolicy::Stop);
    let mut bytes = cortex::EventMeta::encode(0x01, 0, 1, 5, b"\x01\x03abc");
    if let Some(last) = bytes.last_mut() {
        *last ^= 0xff;
    }
    let seq = tasks.adapter().append_encoded_batch(&[bytes]).unwrap().unwrap();
    let err = tasks.wait_for_seq(seq).await.unwrap_err();
    assert!(err.to_string().contains("checksum"), "{err}");
}

#[tokio::test]
async fn log_and_continue_skips_and_counts() {
    let redex = Redex::new();
    let tasks = open(&redex, FoldErrorPolicy::LogAndContinue);
    tasks.create(1, "one", 10).unwrap();
    tasks.adapter().file().append(b"junk").unwrap();
    tasks.adapter().append(0x7f, 11, b"").unwrap();
    let last = tasks.create(2, "two", 20).unwrap();
    tasks.wait_for_seq(last).await.unwrap();
    let ids: Vec<u64> = tasks.state().read().iter().map(|t| t.id).collect();
    assert_eq!(ids, vec![1, 2]);
    assert_eq!(tasks.adapter().fold_errors(), 2);
    assert_eq!(tasks.progress().status, FoldStatus::Running);
    tasks.close().await.unwrap();
}

#[tokio::test]
async fn closed_adapter_answers_with_errors() {
    let redex = Redex::new();
    let tasks = open(&redex, FoldErrorPolicy::Stop);
    let seq = tasks.create(1, "one", 10).unwrap();
    tasks.wait_for_seq(seq).await.unwrap();
    tasks.close().await.unwrap();
    tasks.close().await.unwrap();
    assert!(matches!(tasks.create(2, "two", 20), Err(CortexError::Closed { .. })));
    assert!(matches!(tasks.wait_for_seq(seq + 5).await, Err(CortexError::Closed { .. })));
    // What was folded stays readable.
    tasks.wait_for_seq(seq).await.unwrap();
    assert_eq!(tasks.state().read().len(), 1);
}
