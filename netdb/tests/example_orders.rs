//! Goal: the orders example (`cargo run -p netdb --example orders`) runs to completion in the
//! test suite: a restart from its snapshot plus the log tail matches a full replay, and its
//! final line reports the expected order book.

#[allow(dead_code, reason = "the example's main is not called here")]
#[path = "../examples/orders.rs"]
mod orders;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_example_final_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let line = orders::run(dir.path()).await.expect("the example runs");
    assert_eq!(
        line,
        "orders: 400 total, 180 delivered, 40 cancelled; restart folded 310 tail events after \
         the snapshot; state matches full replay: yes"
    );
}
