//! The contract every `ColdStore` implementation must keep, run against each implementation
//! available here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::ErrorKind;

use bytes::Bytes;
use redex_tiers::cold::{ColdKey, ColdStore, LocalDirColdStore};

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
