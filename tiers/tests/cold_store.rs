//! The contract every `ColdStore` implementation must keep, run against each implementation
//! available here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::ErrorKind;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use redex_tiers::cold::s3::{MULTIPART_THRESHOLD, PART_SIZE};
use redex_tiers::cold::{ColdKey, ColdStore, LocalDirColdStore, S3ColdStore, S3Config};

/// Round trips, replacement, ranged reads, listing and deletion.
pub async fn conformance(store: &dyn ColdStore, channel: &str) {
    let key = ColdKey::new(channel, 42);
    let parts = vec![Bytes::from_static(b"head"), Bytes::from(vec![7u8; 100_000]), Bytes::new()];
    let whole: Vec<u8> = parts.iter().flat_map(|p| p.to_vec()).collect();
    store.archive_segment(&key, parts).await.expect("archive");
    assert_eq!(store.fetch_segment(&key, None).await.expect("fetch")[..], whole[..]);
    assert_eq!(store.fetch_segment(&key, Some(2..9)).await.expect("range")[..], whole[2..9]);
    let len = whole.len() as u64;
    assert_eq!(store.fetch_segment(&key, Some(len - 1..len)).await.expect("last byte")[..], [7]);
    assert!(store.fetch_segment(&key, Some(len - 1..len + 1)).await.is_err(), "past the end");

    // Replacing an object (a retried archive) leaves exactly the new bytes.
    store.archive_segment(&key, vec![Bytes::from_static(b"again")]).await.expect("replace");
    assert_eq!(&store.fetch_segment(&key, None).await.expect("fetch")[..], b"again");

    let other = ColdKey::new(channel, 7);
    store.archive_segment(&other, vec![Bytes::from_static(b"x")]).await.expect("archive");
    let listed = store.list(channel).await.expect("list");
    let keys: Vec<_> = listed.iter().map(|o| (o.key.clone(), o.size)).collect();
    assert_eq!(keys, vec![(other.clone(), 1), (key.clone(), 5)]);
    assert!(store.list(&format!("{channel}-none")).await.expect("list").is_empty());

    store.delete(&key).await.expect("delete");
    store.delete(&key).await.expect("deleting a missing object succeeds");
    let missing = store.fetch_segment(&key, None).await.expect_err("deleted");
    assert_eq!(missing.kind(), ErrorKind::NotFound, "{missing}");
    assert_eq!(store.list(channel).await.expect("list").len(), 1);
    assert!(store.describe(&key).contains(&key.path()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_dir_store_keeps_the_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalDirColdStore::new(dir.path().join("archive")).expect("store");
    conformance(&store, "orders/eu").await;
    // No temporary files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("archive/orders/eu"))
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

/// The S3 store of the local test server whose address `.ci/s3-server` exports, under `prefix`
/// (made unique per run by the caller). `None`, with a message, when the variables are unset;
/// under CI (`CI` set) that is a failure instead, so CI never skips the S3 tests silently.
fn s3_store_from_env(prefix: &str) -> Option<S3ColdStore> {
    let Some(mut config) = S3Config::from_env().unwrap_or_else(|e| panic!("{e}")) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but REDEX_S3_ENDPOINT is not: .ci/run must start the S3 test server \
             (eval \"$(.ci/s3-server)\")"
        );
        eprintln!(
            "skipping the S3 cold-store test: no S3 server configured. Run \
             `eval \"$(.ci/s3-server)\"` first (it starts a local s3s-fs and sets REDEX_S3_*)."
        );
        return None;
    };
    config.prefix = prefix.to_owned();
    Some(S3ColdStore::new(config).expect("S3 store"))
}

/// A key prefix no other run or test shares: `redex-tests/<test>-<pid>-<nanos>`.
fn unique_prefix(test: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_nanos();
    format!("redex-tests/{test}-{}-{nanos}", std::process::id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_store_keeps_the_contract() {
    let Some(store) = s3_store_from_env(&unique_prefix("conformance")) else { return };
    conformance(&store, "orders/eu").await;
    let key = ColdKey::new("orders/eu", 42);
    assert!(store.describe(&key).starts_with(&format!("s3://{}/redex-tests/", store.bucket())));
    // A channel nested under another is not part of its listing.
    store
        .archive_segment(&ColdKey::new("orders/eu/x", 1), vec![Bytes::from_static(b"n")])
        .await
        .expect("archive");
    let listed = store.list("orders/eu").await.expect("list");
    assert_eq!(listed.iter().map(|o| o.key.first_seq()).collect::<Vec<_>>(), vec![7]);
    // A range starting past the end is an error too, and so is fetching a missing range.
    let past =
        store.fetch_segment(&ColdKey::new("orders/eu", 7), Some(5..6)).await.expect_err("past");
    assert_eq!(past.kind(), ErrorKind::InvalidInput, "{past}");
    let over =
        store.fetch_segment(&ColdKey::new("orders/eu", 7), Some(0..2)).await.expect_err("over");
    assert_eq!(over.kind(), ErrorKind::InvalidInput, "{over}");
    assert!(over.to_string().contains(&store.describe(&ColdKey::new("orders/eu", 7))), "{over}");
    assert!(store
        .fetch_segment(&ColdKey::new("orders/eu", 7), Some(1..1))
        .await
        .expect("empty")
        .is_empty());
    let gone = store.fetch_segment(&key, Some(0..1)).await.expect_err("deleted");
    assert_eq!(gone.kind(), ErrorKind::NotFound, "{gone}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_store_uploads_large_objects_in_parts() {
    let Some(store) = s3_store_from_env(&unique_prefix("multipart")) else { return };
    // 40 MiB in uneven caller buffers (so part boundaries fall inside them), patterned so any
    // misplaced byte shows.
    let total: usize = 40 << 20;
    assert!(total.div_ceil(PART_SIZE) >= 4 && total >= MULTIPART_THRESHOLD, "several parts");
    let whole: Vec<u8> =
        (0..total as u64).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let whole = Bytes::from(whole);
    let cuts = [0, 3, 5 << 20, (5 << 20) + 1, 17 << 20, (33 << 20) + 12_345, total];
    let parts: Vec<Bytes> = cuts.windows(2).map(|w| whole.slice(w[0]..w[1])).collect();
    let key = ColdKey::new("big", 1000);
    store.archive_segment(&key, parts).await.expect("multipart archive");

    let listed = store.list("big").await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].size, total as u64);
    let fetched = store.fetch_segment(&key, None).await.expect("fetch");
    assert!(fetched == whole, "whole object differs");
    let part = PART_SIZE as u64;
    for range in [
        0..1,
        part - 10..part + 10,
        2 * part - 1..3 * part + 1,
        1..total as u64,
        total as u64 - 5..total as u64,
    ] {
        let got = store.fetch_segment(&key, Some(range.clone())).await.expect("range");
        assert!(
            got[..] == whole[range.start as usize..range.end as usize],
            "range {range:?} differs"
        );
    }
    assert!(store.fetch_segment(&key, Some(total as u64 - 5..total as u64 + 1)).await.is_err());

    // Replacing it with a small object leaves exactly the new bytes.
    store.archive_segment(&key, vec![Bytes::from_static(b"small")]).await.expect("replace");
    assert_eq!(&store.fetch_segment(&key, None).await.expect("fetch")[..], b"small");
    store.delete(&key).await.expect("delete");
    assert!(store.list("big").await.expect("list").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_s3_upload_leaves_no_object() {
    let Some(store) = s3_store_from_env(&unique_prefix("interrupted")) else { return };
    let total = 3 * PART_SIZE;
    let key = ColdKey::new("cut", 5);
    let data = Bytes::from(vec![0x5a; total]);
    // Give up on the multipart upload while its parts are in flight.
    let cut = tokio::time::timeout(
        Duration::from_millis(30),
        store.archive_segment(&key, vec![data.clone()]),
    )
    .await;
    let listed = store.list("cut").await.expect("list");
    if cut.is_err() {
        assert!(listed.is_empty(), "a cancelled upload left {listed:?}");
        let missing = store.fetch_segment(&key, None).await.expect_err("no object");
        assert_eq!(missing.kind(), ErrorKind::NotFound, "{missing}");
    } else {
        assert_eq!(listed.len(), 1, "the upload finished within the timeout");
        assert_eq!(listed[0].size, total as u64);
    }
    // A retry of the same archive then succeeds.
    store.archive_segment(&key, vec![data]).await.expect("retry");
    assert_eq!(store.list("cut").await.expect("list")[0].size, total as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_s3_store_fails_fast() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let store = S3ColdStore::new(S3Config {
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        bucket: "nowhere".to_owned(),
        prefix: String::new(),
        access_key_id: "k".to_owned(),
        secret_access_key: "s".to_owned(),
        region: "us-east-1".to_owned(),
        virtual_hosted_style: false,
        allow_http: true,
    })
    .expect("store");
    let key = ColdKey::new("orders", 1);
    let started = Instant::now();
    let err =
        store.archive_segment(&key, vec![Bytes::from_static(b"x")]).await.expect_err("archive");
    assert_ne!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains(&store.describe(&key)), "{err}");
    let err = store.fetch_segment(&key, Some(0..1)).await.expect_err("fetch");
    assert_ne!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(store.list("orders").await.is_err());
    assert!(store.delete(&key).await.is_err());
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(20), "four failed calls took {elapsed:?}");
    eprintln!(
        "unreachable store: four calls failed in {elapsed:?}; last error: {err} ({:?})",
        err.kind()
    );
}
