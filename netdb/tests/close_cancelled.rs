//! Goal: `NetDb::close` is cancel-safe. A daemon bounds its shutdown with
//! `tokio::time::timeout(limit, db.close())`; dropped while it waits for a fold task, the close
//! must still have closed every model (status `Closed`, appends refused, logs closed), not only
//! those it had reached. Before the fix the models were closed one after another, so a close
//! dropped while waiting for the first model's fold left the others running, taking writes.
#![allow(clippy::unwrap_used, reason = "test code: a failure is the test failing")]

mod common;

use common::{all_models, wait_all, write_all, KvState, KV};
use cortex::{CortexError, FoldStatus};
use netdb::NetDb;
use redex::Redex;

#[tokio::test(flavor = "current_thread")]
async fn a_cancelled_close_still_closes_every_model() {
    let redex = Redex::new();
    let db = NetDb::open(&redex, all_models()).unwrap();
    let last = write_all(&db, 0..20);
    wait_all(&db, last).await;

    {
        // On a current-thread runtime the fold tasks cannot run while this one polls, so the
        // close stops at waiting for one of them; then it is dropped, as a timeout would.
        let mut close = Box::pin(db.close());
        assert!(futures::poll!(&mut close).is_pending(), "close waits for the fold tasks");
    }

    let kv = db.custom::<KvState>(KV).unwrap();
    assert_eq!(db.tasks().progress().status, FoldStatus::Closed);
    assert_eq!(db.memories().progress().status, FoldStatus::Closed);
    assert_eq!(kv.progress().status, FoldStatus::Closed);
    assert!(matches!(db.tasks().create(999, "late", 1), Err(CortexError::Closed { .. })));
    assert!(matches!(db.memories().pin(1, 1), Err(CortexError::Closed { .. })));
    assert!(matches!(kv.append(common::KV_PUT, 1, b""), Err(CortexError::Closed { .. })));
    assert!(db.tasks().adapter().file().is_closed());
    assert!(db.memories().adapter().file().is_closed());
    assert!(kv.file().is_closed());

    // Closing again is fine, and the states stay readable.
    db.close().await.unwrap();
    assert_eq!(db.snapshot().unwrap().model(KV).unwrap().last_seq, Some(last.2));
}
