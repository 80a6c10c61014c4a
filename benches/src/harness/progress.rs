//! Progress bars (indicatif) for the long parts of a run, drawn only when enabled, which the
//! binary does only when stdout is a terminal, so files and pipes get the table alone.

use indicatif::{ProgressBar, ProgressStyle};

/// Makes progress bars, or hidden ones when disabled.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    enabled: bool,
}

impl Progress {
    /// Draws bars only when `enabled`.
    pub fn new(enabled: bool) -> Self {
        Progress { enabled }
    }

    /// A bar counting `len` events, labelled `label`.
    pub fn bar(&self, len: u64, label: &str) -> ProgressBar {
        if !self.enabled {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(len);
        let style = ProgressStyle::with_template(
            "{prefix:>44} [{bar:30}] {human_pos:>10}/{human_len:10} {per_sec:>14} {elapsed:>4}",
        )
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        bar
    }
}
