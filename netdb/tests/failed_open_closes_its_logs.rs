//! Goal: an open or restore that fails leaves the RedEX manager as it found it. The logs it
//! opened itself are closed again, so the caller can fall back (open from scratch, with
//! another fsync policy), and logs another handle had open stay open for that handle. Before
//! the fix a restore that failed (a bundle missing a model, a custom state that does not
//! decode) left every log it had looked at open, and the fallback `NetDb::open` with another
//! fsync policy failed with "channel cortex/tasks is already open with a different
//! configuration".
#![allow(clippy::unwrap_used, reason = "test code: a failure is the test failing")]

mod common;

use std::path::Path;

use common::{all_models, all_models_persistent, wait_all, write_all, KV};
use netdb::{NetDb, NetDbError, NetDbSnapshot};
use redex::{FsyncPolicy, Redex};

async fn persistent_bundle(dir: &Path) -> NetDbSnapshot {
    let redex = Redex::with_persistent_dir(dir).unwrap();
    let db = NetDb::open(&redex, all_models_persistent()).unwrap();
    let last = write_all(&db, 0..40);
    wait_all(&db, last).await;
    let bundle = db.snapshot().unwrap();
    db.close().await.unwrap();
    bundle
}

fn open_channels(redex: &Redex) -> Vec<String> {
    redex.stats().into_iter().map(|s| s.channel).collect()
}

/// The fallback after a failed restore: a fresh open with another fsync policy, which must
/// find no log of the failed attempt still open.
async fn fall_back(redex: &Redex) {
    let config = all_models_persistent().fsync_policy(FsyncPolicy::Never);
    let db = NetDb::open(redex, config).unwrap();
    let last = write_all(&db, 40..45);
    wait_all(&db, last).await;
    db.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_refused_by_its_checks_leaves_no_log_open() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = persistent_bundle(dir.path()).await;
    let redex = Redex::with_persistent_dir(dir.path()).unwrap();

    // Lacks the custom model, whose log comes last: the others are checked first.
    let fewer = NetDbSnapshot::from_models(
        bundle.models().iter().filter(|m| m.name != KV).cloned().collect(),
    )
    .unwrap();
    let err = NetDb::open_from_snapshot(&redex, &fewer, all_models_persistent()).unwrap_err();
    assert!(matches!(err, NetDbError::MissingModel { .. }), "{err}");
    assert_eq!(open_channels(&redex), Vec::<String>::new());

    // Ahead of the custom model's log: the other logs were opened to be checked.
    let mut models = bundle.clone().into_models();
    models.iter_mut().find(|m| m.name == KV).unwrap().last_seq = Some(1_000_000);
    let ahead = NetDbSnapshot::from_models(models).unwrap();
    let err = NetDb::open_from_snapshot(&redex, &ahead, all_models_persistent()).unwrap_err();
    assert!(matches!(err, NetDbError::SnapshotAheadOfLog { .. }), "{err}");
    assert_eq!(open_channels(&redex), Vec::<String>::new());

    fall_back(&redex).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_fails_to_restore_closes_the_models_opened_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = persistent_bundle(dir.path()).await;
    let redex = Redex::with_persistent_dir(dir.path()).unwrap();

    // The tasks and memories models are restored, then the custom state does not decode.
    let mut models = bundle.into_models();
    models.iter_mut().find(|m| m.name == KV).unwrap().state = vec![0xff; 3];
    let garbage = NetDbSnapshot::from_models(models).unwrap();
    let err = NetDb::open_from_snapshot(&redex, &garbage, all_models_persistent()).unwrap_err();
    assert!(matches!(err, NetDbError::Codec { .. }), "{err}");
    assert_eq!(open_channels(&redex), Vec::<String>::new());

    fall_back(&redex).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_restore_leaves_another_handles_logs_open() {
    let redex = Redex::new();
    let live = NetDb::open(&redex, all_models()).unwrap();
    let last = write_all(&live, 0..20);
    wait_all(&live, last).await;
    let mut models = live.snapshot().unwrap().into_models();
    models.iter_mut().find(|m| m.name == KV).unwrap().state = vec![0xff; 3];
    let garbage = NetDbSnapshot::from_models(models).unwrap();
    assert!(NetDb::open_from_snapshot(&redex, &garbage, all_models()).is_err());

    // The live database's logs were not closed under it.
    let last = write_all(&live, 20..30);
    wait_all(&live, last).await;
    live.close().await.unwrap();
}

#[test]
fn opening_outside_a_runtime_leaves_no_log_open() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = tokio::runtime::Runtime::new().unwrap().block_on(persistent_bundle(dir.path()));
    let redex = Redex::with_persistent_dir(dir.path()).unwrap();
    let err = NetDb::open(&redex, all_models_persistent()).unwrap_err();
    assert!(matches!(err, NetDbError::Cortex(cortex::CortexError::NoRuntime)), "{err}");
    assert_eq!(open_channels(&redex), Vec::<String>::new());
    // The restore checks its logs before any model meets the missing runtime.
    let err = NetDb::open_from_snapshot(&redex, &bundle, all_models_persistent()).unwrap_err();
    assert!(matches!(err, NetDbError::Cortex(cortex::CortexError::NoRuntime)), "{err}");
    assert_eq!(open_channels(&redex), Vec::<String>::new());
}
