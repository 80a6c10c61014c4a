//! Goal: every bundle that does not fit is refused with its own clear error: damaged or
//! foreign bytes, another format version, a model the database does not enable, an enabled
//! model the bundle lacks, a model of another kind or schema version (all before any model is
//! opened), a snapshot ahead of its log, and model state that does not decode (found while
//! the models open; those opened before it are closed again).
#![allow(clippy::unwrap_used, reason = "test helpers fail the test on any error")]

mod common;

use common::{all_models, wait_all, write_all, KvFold, KvState, KV};
use cortex::tasks::TasksState;
use cortex::{CortexError, SnapshotState};
use netdb::{
    ModelKind, ModelSnapshot, NetDb, NetDbConfig, NetDbError, NetDbSnapshot, BUNDLE_FORMAT_VERSION,
};
use redex::Redex;

async fn populated(redex: &Redex) -> (NetDb, NetDbSnapshot) {
    let db = NetDb::open(redex, all_models()).unwrap();
    let last = write_all(&db, 0..40);
    wait_all(&db, last).await;
    let bundle = db.snapshot().unwrap();
    (db, bundle)
}

fn replace(
    bundle: &NetDbSnapshot,
    name: &str,
    f: impl FnOnce(&mut ModelSnapshot),
) -> NetDbSnapshot {
    let mut models = bundle.clone().into_models();
    f(models.iter_mut().find(|m| m.name == name).unwrap());
    NetDbSnapshot::from_models(models).unwrap()
}

#[test]
fn damaged_or_foreign_bytes() {
    let bytes = NetDbSnapshot::default().encode();
    assert!(matches!(NetDbSnapshot::decode(&bytes[..10]), Err(NetDbError::NotABundle { .. })));
    assert!(matches!(
        NetDbSnapshot::decode(b"CTXSNAP\0 not a bundle"),
        Err(NetDbError::NotABundle { .. })
    ));

    let mut newer = bytes.clone();
    newer[8..12].copy_from_slice(&(BUNDLE_FORMAT_VERSION + 1).to_le_bytes());
    let err = NetDbSnapshot::decode(&newer).unwrap_err();
    assert!(matches!(err, NetDbError::UnsupportedBundleVersion { found, supported }
        if found == BUNDLE_FORMAT_VERSION + 1 && supported == BUNDLE_FORMAT_VERSION));
    assert!(err.to_string().contains("version 2 is not supported"), "{err}");

    let with_model = NetDbSnapshot::from_models(vec![ModelSnapshot {
        name: KV.into(),
        kind: ModelKind::Custom,
        schema_version: 0,
        last_seq: Some(3),
        state: vec![1, 2, 3, 4],
    }])
    .unwrap()
    .encode();
    let mut flipped = with_model.clone();
    *flipped.last_mut().unwrap() ^= 0x40;
    assert!(matches!(NetDbSnapshot::decode(&flipped), Err(NetDbError::BundleChecksum { .. })));
    // Cut short, with the checksum fixed up: the body itself is refused.
    let mut cut = with_model[..with_model.len() - 2].to_vec();
    let crc = crc32c_of(&cut[16..]);
    cut[12..16].copy_from_slice(&crc.to_le_bytes());
    assert!(matches!(NetDbSnapshot::decode(&cut), Err(NetDbError::Codec { .. })));
}

fn crc32c_of(bytes: &[u8]) -> u32 {
    // CRC-32C, bit by bit: slow and obviously right, independent of the crate's.
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0x82f6_3b78 } else { crc >> 1 };
        }
    }
    !crc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundles_that_do_not_fit_the_database() {
    let redex = Redex::new();
    let (db, bundle) = populated(&redex).await;

    // The bundle holds a model this database does not enable.
    let err = NetDb::open_from_snapshot(
        &redex,
        &bundle,
        NetDbConfig::default().with_tasks().with_custom(KV, KvFold),
    )
    .unwrap_err();
    assert!(matches!(err, NetDbError::UnexpectedModel { ref name } if name == "cortex/memories"));
    assert!(err.to_string().contains("does not enable"), "{err}");

    // The database enables a model the bundle lacks.
    let fewer = NetDbSnapshot::from_models(
        bundle.models().iter().filter(|m| m.name != KV).cloned().collect(),
    )
    .unwrap();
    let err = NetDb::open_from_snapshot(&redex, &fewer, all_models()).unwrap_err();
    assert!(matches!(err, NetDbError::MissingModel { ref name } if name == KV));

    // Another kind of model under the same name.
    let wrong_kind = replace(&bundle, KV, |m| m.kind = ModelKind::Tasks);
    let err = NetDb::open_from_snapshot(&redex, &wrong_kind, all_models()).unwrap_err();
    assert!(matches!(err, NetDbError::ModelKindMismatch { ref name, found: ModelKind::Tasks,
        expected: ModelKind::Custom } if name == KV));

    // Another schema version of a custom model, and of a built-in one.
    let old_schema = replace(&bundle, KV, |m| m.schema_version = 7);
    let err = NetDb::open_from_snapshot(&redex, &old_schema, all_models()).unwrap_err();
    assert!(matches!(err, NetDbError::SchemaMismatch { found: 7, expected: 0, .. }));
    let versioned = || {
        NetDbConfig::default()
            .origin(0x5eed)
            .with_tasks()
            .with_memories()
            .with_custom_versioned(KV, KvFold, 3)
    };
    let err = NetDb::open_from_snapshot(&redex, &bundle, versioned()).unwrap_err();
    assert!(matches!(err, NetDbError::SchemaMismatch { found: 0, expected: 3, .. }));
    let old_tasks = replace(&bundle, "cortex/tasks", |m| m.schema_version = 99);
    let err = NetDb::open_from_snapshot(&redex, &old_tasks, all_models()).unwrap_err();
    assert!(matches!(err, NetDbError::SchemaMismatch { found: 99, expected, .. }
        if expected == TasksState::MODEL_VERSION));

    // A snapshot that includes events its log does not have.
    let ahead = replace(&bundle, KV, |m| m.last_seq = Some(1_000_000));
    let err = NetDb::open_from_snapshot(&redex, &ahead, all_models()).unwrap_err();
    assert!(matches!(
        err,
        NetDbError::SnapshotAheadOfLog { last_seq: 1_000_000, next_seq: 40, .. }
    ));

    // State bytes that do not decode: the custom model's postcard, and the built-in model's
    // CortEX snapshot header, each a clear error.
    let garbage = replace(&bundle, KV, |m| m.state = vec![0xff; 3]);
    let err = NetDb::open_from_snapshot(&redex, &garbage, all_models()).unwrap_err();
    assert!(matches!(err, NetDbError::Codec { ref what, .. } if what.contains(KV)), "{err}");
    let swapped = {
        let memories_state = bundle.model("cortex/memories").unwrap().state.clone();
        replace(&bundle, "cortex/tasks", |m| m.state = memories_state)
    };
    let err = NetDb::open_from_snapshot(&redex, &swapped, all_models()).unwrap_err();
    assert!(matches!(err, NetDbError::Cortex(CortexError::SnapshotModelMismatch { .. })), "{err}");

    // The original bundle still restores.
    let ok = NetDb::open_from_snapshot(&redex, &bundle, all_models()).unwrap();
    assert_eq!(ok.custom::<KvState>(KV).unwrap().state().read().writes, 40);
    ok.close().await.unwrap();
    db.close().await.unwrap();
}
