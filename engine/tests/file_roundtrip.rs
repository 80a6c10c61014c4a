//! Goal: the basic contract of a file, heap-only and persistent: appends get dense seqs, reads
//! return the same bytes, a reopened persistent file has everything, rollover is transparent.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use redex::{ChannelName, Redex, RedexError, RedexFileConfig};

fn name(s: &str) -> ChannelName {
    ChannelName::new(s).expect("valid name")
}

#[test]
fn heap_only_append_and_read() {
    let redex = Redex::new();
    let f = redex.open_file(&name("a"), RedexFileConfig::default()).unwrap();
    assert_eq!(f.append(b"x").unwrap(), 0);
    assert_eq!(f.append_batch(&[b"yy".as_slice(), b"zzz"]).unwrap(), Some(1));
    assert_eq!(f.append_batch::<&[u8]>(&[]).unwrap(), None);
    assert_eq!(f.next_seq(), 3);
    let got: Vec<_> = f.read_range(0, 10).unwrap().into_iter().map(|e| e.payload).collect();
    assert_eq!(got, vec![&b"x"[..], b"yy", b"zzz"]);
    assert!(f.get(3).unwrap().is_none());
}

#[test]
fn persistent_reopen_across_many_segments() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = RedexFileConfig::default().with_persistent(true).with_segment_bytes_max(4096);
    let payloads: Vec<Vec<u8>> = (0..2000u32).map(|i| vec![i as u8; (i % 50) as usize]).collect();
    {
        let redex = Redex::with_persistent_dir(dir.path()).unwrap();
        let f = redex.open_file(&name("a/b"), cfg.clone()).unwrap();
        for chunk in payloads.chunks(7) {
            f.append_batch(chunk).unwrap();
        }
        let got: Vec<_> =
            f.read_range(0, 2000).unwrap().into_iter().map(|e| e.payload.to_vec()).collect();
        assert_eq!(got, payloads);
        f.close().unwrap();
    }
    let redex = Redex::with_persistent_dir(dir.path()).unwrap();
    let f = redex.open_file(&name("a/b"), cfg).unwrap();
    assert_eq!(f.next_seq(), 2000);
    let got: Vec<_> =
        f.read_range(0, 2000).unwrap().into_iter().map(|e| e.payload.to_vec()).collect();
    assert_eq!(got, payloads);
    assert_eq!(f.append(b"more").unwrap(), 2000);
}

#[test]
fn second_writer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = Redex::with_persistent_dir(dir.path()).unwrap();
    let second = Redex::with_persistent_dir(dir.path());
    assert!(matches!(second, Err(RedexError::Locked { .. })), "{second:?}");
    drop(first);
    assert!(Redex::with_persistent_dir(dir.path()).is_ok());
}
