//! [`CortexConfig`]: how an adapter opens its log and runs its fold.

use redex::RedexFileConfig;

use crate::policy::FoldErrorPolicy;

/// Events the fold task applies under one write lock, at most. Larger batches amortise the lock
/// and the change notification; smaller ones let readers in sooner.
pub const FOLD_BATCH_EVENTS_DEFAULT: usize = 256;

/// Configuration of a [`crate::CortexAdapter`], built fluently from `default()`.
///
/// ```
/// use cortex::{CortexConfig, FoldErrorPolicy};
/// use redex::{FsyncPolicy, RedexFileConfig};
/// let cfg = CortexConfig::default()
///     .with_file_config(RedexFileConfig::default().with_fsync_policy(FsyncPolicy::EveryN(100)))
///     .with_error_policy(FoldErrorPolicy::LogAndContinue);
/// assert_eq!(cfg.error_policy(), FoldErrorPolicy::LogAndContinue);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CortexConfig {
    file: RedexFileConfig,
    error_policy: FoldErrorPolicy,
    fold_batch_events: usize,
}

impl Default for CortexConfig {
    fn default() -> Self {
        CortexConfig {
            file: RedexFileConfig::default(),
            error_policy: FoldErrorPolicy::Stop,
            fold_batch_events: FOLD_BATCH_EVENTS_DEFAULT,
        }
    }
}

impl CortexConfig {
    /// The configuration the RedEX file is opened with.
    pub fn with_file_config(mut self, file: RedexFileConfig) -> Self {
        self.file = file;
        self
    }

    /// What to do when the fold fails.
    pub fn with_error_policy(mut self, policy: FoldErrorPolicy) -> Self {
        self.error_policy = policy;
        self
    }

    /// Most events applied under one write lock (at least 1; default 256).
    pub fn with_fold_batch_events(mut self, events: usize) -> Self {
        self.fold_batch_events = events.max(1);
        self
    }

    /// The RedEX file configuration.
    pub fn file_config(&self) -> &RedexFileConfig {
        &self.file
    }

    /// The fold error policy.
    pub fn error_policy(&self) -> FoldErrorPolicy {
        self.error_policy
    }

    /// Most events applied under one write lock.
    pub fn fold_batch_events(&self) -> usize {
        self.fold_batch_events
    }
}
