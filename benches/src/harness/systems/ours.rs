//! Our engine, crate `redex`.

use std::path::Path;
use std::time::Duration;

use redex::{Bytes, ChannelName, FsyncPolicy, Redex, RedexFile, RedexFileConfig, Retention};

use crate::harness::options::FsyncArg;
use crate::harness::system::{Capability, Log, LogSpec, LogSystem};
use crate::harness::Result;

/// Our engine.
#[derive(Debug, Clone, Copy)]
pub struct Ours;

/// An open log of our engine, with the manager that owns its directory lock.
#[derive(Debug)]
struct OursLog {
    file: RedexFile,
    _redex: Redex,
}

fn policy(fsync: FsyncArg) -> FsyncPolicy {
    match fsync {
        FsyncArg::Never => FsyncPolicy::Never,
        FsyncArg::EveryN(n) => FsyncPolicy::EveryN(n),
        FsyncArg::IntervalMs(ms) => FsyncPolicy::Interval(Duration::from_millis(ms)),
    }
}

impl LogSystem for Ours {
    fn name(&self) -> &'static str {
        "redex"
    }

    fn supports(&self, _capability: Capability) -> std::result::Result<(), String> {
        Ok(())
    }

    fn open(&self, spec: &LogSpec, channel: &str, dir: Option<&Path>) -> Result<Box<dyn Log>> {
        let redex = match (spec.persistent, dir) {
            (true, Some(dir)) => Redex::with_persistent_dir(dir)?,
            (true, None) => return Err("a persistent log needs a directory".into()),
            (false, _) => Redex::new(),
        };
        let mut config = RedexFileConfig::default()
            .with_persistent(spec.persistent)
            .with_fsync_policy(policy(spec.fsync));
        if let Some(events) = spec.retention_events {
            config = config.with_retention(Retention::events(events));
        }
        if let Some(bytes) = spec.segment_bytes {
            config = config.with_segment_bytes_max(bytes);
        }
        let file = redex.open_file(&ChannelName::new(channel)?, config)?;
        Ok(Box::new(OursLog { file, _redex: redex }))
    }
}

impl Log for OursLog {
    fn append(&mut self, payload: &[u8]) -> Result<()> {
        self.file.append(payload)?;
        Ok(())
    }

    fn append_batch(&mut self, batch: &[Bytes]) -> Result<()> {
        self.file.append_batch(batch)?;
        Ok(())
    }

    fn scan(
        &mut self,
        chunk_events: Option<u64>,
        on_chunk: &mut dyn FnMut(u64, u64),
    ) -> Result<()> {
        let end = self.file.next_seq();
        let mut start = self.file.head_seq();
        let chunk = chunk_events.unwrap_or(u64::MAX).max(1);
        while start < end {
            let stop = start.saturating_add(chunk).min(end);
            let events = self.file.read_range(start, stop)?;
            let bytes = events.iter().map(|e| e.payload.len() as u64).sum();
            on_chunk(events.len() as u64, bytes);
            start = stop;
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        Ok(self.file.sync()?)
    }

    fn retained_events(&self) -> u64 {
        self.file.len()
    }

    fn next_seq(&self) -> u64 {
        self.file.next_seq()
    }

    fn close(self: Box<Self>) -> Result<()> {
        Ok(self.file.close()?)
    }
}
