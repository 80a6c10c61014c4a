//! CortEX's part of the Prometheus text exposition: per model, how far the fold lags its log,
//! how many watchers it feeds, how many events it skipped, and whether it runs. Append it to
//! `Redex::prometheus_text()` to expose the whole stack from one endpoint.
//!
//! | metric | type | meaning |
//! |--------|------|---------|
//! | `cortex_fold_lag_events` | gauge | events appended to the model's log but not yet folded |
//! | `cortex_fold_next_seq` | gauge | seq of the next event the fold will apply |
//! | `cortex_watchers` | gauge | live watch streams plus `wait_for_seq` calls in progress |
//! | `cortex_fold_errors_total` | counter | events skipped under `LogAndContinue` |
//! | `cortex_fold_read_retries_total` | counter | failed log reads tried again (a cold store down) |
//! | `cortex_fold_running` | gauge | 1 while the fold runs, 0 once it halted or closed |

use std::fmt::Write;

use crate::adapter::CortexAdapter;
use crate::progress::FoldStatus;

/// One model's fold figures, read from its adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldMetrics {
    /// The model's name (its channel, or any label the caller picks).
    pub model: String,
    /// Events in the log not yet folded.
    pub lag_events: u64,
    /// Seq of the next event the fold applies.
    pub next_seq: u64,
    /// Live watch streams plus `wait_for_seq` calls in progress.
    pub watchers: u64,
    /// Events skipped under `LogAndContinue`.
    pub fold_errors: u64,
    /// Log reads that failed with an error that may pass (a cold store down) and were tried
    /// again; the fold waits at its seq meanwhile.
    pub read_retries: u64,
    /// Whether the fold still runs.
    pub running: bool,
}

impl<S: Send + Sync + 'static> CortexAdapter<S> {
    /// This model's fold figures, labelled `model`.
    pub fn fold_metrics(&self, model: &str) -> FoldMetrics {
        let progress = self.progress();
        FoldMetrics {
            model: model.to_string(),
            lag_events: self.file().next_seq().saturating_sub(progress.next_seq),
            next_seq: progress.next_seq,
            watchers: self.active_watchers() as u64,
            fold_errors: self.fold_errors(),
            read_retries: self.read_retries(),
            running: matches!(progress.status, FoldStatus::Running),
        }
    }
}

/// A series: name, help text, type, and how to read it.
type Series = (&'static str, &'static str, &'static str, fn(&FoldMetrics) -> u64);

/// Renders the fold figures of several models in the text exposition format.
///
/// ```
/// let m = cortex::metrics::FoldMetrics {
///     model: "tasks".into(), lag_events: 3, next_seq: 10, watchers: 1, fold_errors: 0, read_retries: 0,
///     running: true,
/// };
/// let text = cortex::metrics::render(&[m]);
/// assert!(text.contains("cortex_fold_lag_events{model=\"tasks\"} 3"));
/// ```
pub fn render(models: &[FoldMetrics]) -> String {
    let mut out = String::new();
    let series: [Series; 6] = [
        ("cortex_fold_lag_events", "Events appended but not yet folded.", "gauge", |m| {
            m.lag_events
        }),
        ("cortex_fold_next_seq", "Seq of the next event the fold applies.", "gauge", |m| {
            m.next_seq
        }),
        (
            "cortex_watchers",
            "Live watch streams plus wait_for_seq calls in progress.",
            "gauge",
            |m| m.watchers,
        ),
        ("cortex_fold_errors_total", "Events skipped under LogAndContinue.", "counter", |m| {
            m.fold_errors
        }),
        ("cortex_fold_read_retries_total", "Failed log reads tried again.", "counter", |m| {
            m.read_retries
        }),
        ("cortex_fold_running", "1 while the fold runs.", "gauge", |m| u64::from(m.running)),
    ];
    for (name, help, kind, value) in series {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for m in models {
            let label = m.model.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
            let _ = writeln!(out, "{name}{{model=\"{label}\"}} {}", value(m));
        }
    }
    out
}
