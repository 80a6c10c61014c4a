//! Goal: `tail(from)` delivers stored entries then live appends in seq order with no gap and no
//! duplicate, even while appends race with the subscription; a slow subscriber gets `Lagged`
//! instead of growing memory; a tail below the head gets `Evicted`; closing ends the stream.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::time::Duration;

use futures::StreamExt;
use redex::{ChannelName, Redex, RedexError, RedexFileConfig, Retention};

fn cfg() -> RedexFileConfig {
    RedexFileConfig::default().with_segment_bytes_max(4096)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_then_live_without_gap_while_a_writer_races() {
    let dir = tempfile::tempdir().unwrap();
    let redex = Redex::with_persistent_dir(dir.path()).unwrap();
    let file =
        redex.open_file(&ChannelName::new("t").unwrap(), cfg().with_persistent(true)).unwrap();
    for i in 0..500u32 {
        file.append(&i.to_le_bytes()).unwrap();
    }
    let writer = {
        let file = file.clone();
        std::thread::spawn(move || {
            for i in 500..3000u32 {
                file.append(&i.to_le_bytes()).unwrap();
            }
        })
    };
    let mut stream = Box::pin(file.tail(10));
    let mut expect = 10u64;
    while expect < 3000 {
        let ev = tokio::time::timeout(Duration::from_secs(20), stream.next())
            .await
            .expect("tail stalled")
            .expect("stream ended early")
            .expect("tail error");
        assert_eq!(ev.seq, expect);
        assert_eq!(&ev.payload[..], &(expect as u32).to_le_bytes());
        expect += 1;
    }
    writer.join().unwrap();
    file.close().unwrap();
    assert!(stream.next().await.is_none(), "stream must end after close");
}

#[tokio::test]
async fn tail_from_the_future_waits_for_that_seq() {
    let redex = Redex::new();
    let file = redex.open_file(&ChannelName::new("t").unwrap(), cfg()).unwrap();
    let mut stream = Box::pin(file.tail(3));
    for i in 0..5u8 {
        file.append(&[i]).unwrap();
    }
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!((first.seq, &first.payload[..]), (3, &[3u8][..]));
}

#[tokio::test]
async fn slow_subscriber_is_cut_off_with_lagged() {
    let redex = Redex::new();
    let file =
        redex.open_file(&ChannelName::new("t").unwrap(), cfg().with_tail_buffer_events(8)).unwrap();
    let mut stream = Box::pin(file.tail(0));
    for i in 0..100u8 {
        file.append(&[i]).unwrap();
    }
    let mut saw_lagged = false;
    while let Some(item) = stream.next().await {
        match item {
            Ok(_) => {}
            Err(RedexError::Lagged { .. }) => {
                saw_lagged = true;
                break;
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(saw_lagged);
    assert!(stream.next().await.is_none(), "a lagged stream ends");
}

#[tokio::test]
async fn tail_below_head_is_evicted() {
    let redex = Redex::new();
    let file = redex
        .open_file(&ChannelName::new("t").unwrap(), cfg().with_retention(Retention::events(5)))
        .unwrap();
    for i in 0..20u8 {
        file.append(&[i]).unwrap();
    }
    let mut stream = Box::pin(file.tail(0));
    assert!(matches!(
        stream.next().await,
        Some(Err(RedexError::Evicted { requested: 0, head: 15 }))
    ));
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn typed_tail_decodes() {
    let redex = Redex::new();
    let file = redex.open_file(&ChannelName::new("t").unwrap(), cfg()).unwrap();
    let typed = redex::TypedRedexFile::<(u32, String)>::new(file);
    typed.append_typed(&(1, "one".into())).unwrap();
    let mut stream = Box::pin(typed.tail_typed(0));
    typed.append_batch_typed(&[(2, "two".into())]).unwrap();
    assert_eq!(stream.next().await.unwrap().unwrap(), (0, (1, "one".to_string())));
    assert_eq!(stream.next().await.unwrap().unwrap(), (1, (2, "two".to_string())));
    assert_eq!(typed.get_typed(1).unwrap(), Some((2, "two".to_string())));
    typed.file().append(&[0xff, 0xff, 0xff]).unwrap();
    assert!(matches!(typed.read_typed(2, 3), Err(RedexError::Codec { seq: Some(2), .. })));
}

/// Once every subscriber is gone, appends stop feeding the old channel; a later tail gets the
/// live appends all the same, and the stats count subscribers as they come and go.
#[tokio::test]
async fn a_new_tail_after_every_subscriber_left_sees_live_appends() {
    let redex = Redex::new();
    let file = redex.open_file(&ChannelName::new("t").unwrap(), cfg()).unwrap();
    file.append(b"a").unwrap();
    // A tail subscribes when first polled: poll it once (nothing to read yet).
    let mut first = Box::pin(file.tail(1));
    assert!(tokio::time::timeout(Duration::from_millis(20), first.next()).await.is_err());
    assert_eq!(file.stats().tail_subscribers, 1);
    drop(first);
    file.append(b"b").unwrap(); // finds nobody listening
    file.append(b"c").unwrap();
    assert_eq!(file.stats().tail_subscribers, 0);
    let mut second = Box::pin(file.tail(1));
    for (seq, want) in [(1u64, &b"b"[..]), (2, b"c")] {
        let ev = second.next().await.unwrap().unwrap();
        assert_eq!((ev.seq, &ev.payload[..]), (seq, want));
    }
    file.append(b"d").unwrap();
    let ev = tokio::time::timeout(Duration::from_secs(5), second.next()).await.unwrap();
    assert_eq!(ev.unwrap().unwrap().seq, 3);
    assert_eq!(file.stats().tail_subscribers, 1);
}
