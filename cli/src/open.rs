//! Opening a directory and its channels read-only, the way every inspecting command does:
//! `Redex::open_read_only` takes no lock and changes nothing on disk, so it is safe against a
//! directory a live writer holds. With a cold store (`--cold-dir`, `--cold-s3`), each channel
//! is opened with it, so archived segments are read and checked too; the store is only read.

use std::path::Path;

use redex::{ChannelName, Redex, RedexFile, RedexFileConfig};

use crate::cold::Cold;
use crate::error::{CliError, CliResult};

/// The lock file every writer creates in its base directory (docs/FORMAT.md).
const LOCK_FILE: &str = "redex.lock";
/// The directory under the base that holds the channels.
const CHANNELS: &str = "channels";

/// Whether `dir` is a RedEX base directory: a writer created its lock file there, or it holds
/// channels (a copy may lack the lock file).
fn is_base_dir(dir: &Path) -> bool {
    dir.join(LOCK_FILE).is_file() || dir.join(CHANNELS).is_dir()
}

/// A directory opened for inspection.
#[derive(Debug)]
pub struct ReadOnlyDir {
    /// The manager, opened with `Redex::open_read_only`.
    pub redex: Redex,
    /// The directory as given on the command line (for messages).
    pub dir: String,
    /// The cold store channels are opened with, if any.
    pub cold: Option<Cold>,
}

impl ReadOnlyDir {
    /// Opens `dir` without its lock; its channels will read archived segments from `cold`.
    pub fn open(dir: &Path, cold: Option<&Cold>) -> CliResult<Self> {
        let shown = dir.display().to_string();
        let redex = Redex::open_read_only(dir)
            .map_err(|e| CliError::redex(format!("open directory {shown}"), e))?;
        // Anything else would read as a RedEX directory with no channels, and `verify` would
        // say "ok" about a mistyped path or a channel's own directory.
        if !is_base_dir(dir) {
            let hint = match dir.ancestors().skip(1).find(|a| is_base_dir(a)) {
                Some(base) => format!("; did you mean {}?", base.display()),
                None => String::new(),
            };
            return Err(CliError::Message(format!(
                "{shown} is not a RedEX directory: it holds neither {LOCK_FILE} nor {CHANNELS}/ \
                 (give the base directory the writer opens with Redex::with_persistent_dir){hint}"
            )));
        }
        Ok(ReadOnlyDir { redex, dir: shown, cold: cold.cloned() })
    }

    /// Every channel stored in the directory, sorted.
    pub fn channels(&self) -> CliResult<Vec<ChannelName>> {
        self.redex
            .list_channels()
            .map_err(|e| CliError::redex(format!("list channels of {}", self.dir), e))
    }

    /// The channel named on the command line, or every channel when none was.
    pub fn select(&self, channel: Option<&str>) -> CliResult<Vec<ChannelName>> {
        match channel {
            Some(name) => Ok(vec![self.channel(name)?]),
            None => self.channels(),
        }
    }

    /// Validates `name` and checks that the directory holds it (so a typo is reported as
    /// such, with the channels that do exist).
    pub fn channel(&self, name: &str) -> CliResult<ChannelName> {
        let channel =
            ChannelName::new(name).map_err(|e| CliError::redex(format!("channel {name:?}"), e))?;
        let all = self.channels()?;
        if all.contains(&channel) {
            return Ok(channel);
        }
        let known = match all.is_empty() {
            true => "it holds no channel".to_string(),
            false => {
                let names: Vec<&str> = all.iter().map(ChannelName::as_str).collect();
                format!("its channels are: {}", names.join(", "))
            }
        };
        Err(CliError::Message(format!("{} has no channel {name:?}; {known}", self.dir)))
    }

    /// Opens (recovers, read-only) one channel, with the cold store if there is one.
    pub fn file(&self, channel: &ChannelName) -> CliResult<RedexFile> {
        let config = RedexFileConfig::default().with_persistent(true);
        let config = match &self.cold {
            Some(cold) => config.with_cold_store(std::sync::Arc::clone(&cold.store)),
            None => config,
        };
        self.redex
            .open_file(channel, config)
            .map_err(|e| CliError::redex(format!("open channel {channel} in {}", self.dir), e))
    }
}
