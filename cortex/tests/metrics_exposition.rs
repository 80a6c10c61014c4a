//! Goal: a model's fold metrics (lag, next seq, watchers, errors, running) read its adapter
//! correctly and render as text exposition that sits beside `Redex::prometheus_text()`.

use cortex::tasks::TasksAdapter;
use redex::Redex;

#[tokio::test]
async fn fold_metrics_follow_the_fold() {
    let redex = Redex::new();
    let tasks = TasksAdapter::open(&redex, 7).expect("open tasks");
    let seq = tasks.create(1, "write docs", 1).expect("create");
    tasks.wait_for_seq(seq).await.expect("folded");
    let adapter = tasks.adapter();
    let m = adapter.fold_metrics("tasks");
    assert_eq!(m.lag_events, 0);
    assert_eq!(m.next_seq, seq + 1);
    assert!(m.running);
    let text = format!("{}{}", redex.prometheus_text(), cortex::metrics::render(&[m]));
    assert!(text.contains("cortex_fold_lag_events{model=\"tasks\"} 0"), "{text}");
    assert!(text.contains("cortex_fold_running{model=\"tasks\"} 1"), "{text}");
    assert!(text.contains("# TYPE cortex_fold_errors_total counter"), "{text}");
    assert!(text.contains("redex_appends_total{channel="), "{text}");
}
