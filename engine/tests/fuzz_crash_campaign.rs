//! Goal: a crash-consistency campaign. A writer child (this test binary, re-executed) runs under
//! each fsync policy with tiny segment thresholds and tight retention, so rollovers, background
//! freezes and retention drops happen every few appends; the parent kills it with SIGKILL at a
//! random moment, classifies the crash state it left (mid-freeze, half-written index, dropped
//! segment not yet deleted, torn manifest record), reopens and checks: every acknowledged entry
//! still within retention is present and byte-identical, whatever follows is a valid
//! continuation, the head is exactly where the retention limits put it, `verify()` passes, and
//! appends work. Fault rounds run the child under `RLIMIT_FSIZE` (writes past the limit fail
//! with `EFBIG`, in log, index or manifest writes alike) and, when `REDEX_CRASH_ENOSPC=1` and the
//! machine allows mounting, on a tiny tmpfs that really fills up (`ENOSPC`).
//!
//! CI runs a few dozen rounds. The long campaign is documented in docs/FUZZING.md:
//! `REDEX_CRASH_ROUNDS=1000 cargo test --release -p redex --test fuzz_crash_campaign -- --nocapture`.
//!
//! Series rotate through both append backends (`Std`, and `Auto`: io_uring where the kernel
//! allows it), and half of them archive to a cold store (a directory beside the log, warm
//! window of a few dozen entries), so kills also land during uploads, read-backs, cold manifest
//! records and local deletions. Short writes and fsync errors are injected in-process by
//! `fault_injection.rs`.

#[path = "common/rlimit.rs"]
mod rlimit;
use rlimit::set_file_size_limit;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use redex::{
    AppendBackend, ChannelName, FsyncPolicy, LocalDirColdStore, Redex, RedexError, RedexFileConfig,
    Retention,
};

const DIR_ENV: &str = "REDEX_CRASH_CAMPAIGN_DIR";
const CFG_ENV: &str = "REDEX_CRASH_CAMPAIGN_CFG";
const CHILD_TEST: &str = "crash_campaign_child";
/// Kill rounds in CI; `REDEX_CRASH_ROUNDS` overrides.
const KILL_ROUNDS_CI: usize = 30;
/// Fault (file-size limit) rounds in CI; `REDEX_CRASH_FAULT_ROUNDS` overrides.
const FAULT_ROUNDS_CI: usize = 6;
/// Rounds that share one directory and one configuration before a fresh series starts.
const ROUNDS_PER_SERIES: usize = 5;
/// Upper bound on a child's appends, so a child nobody kills still ends.
const CHILD_OPS_MAX: u64 = 20_000;

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serialise() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn name() -> ChannelName {
    ChannelName::new("crash/campaign").expect("valid channel name")
}

fn seg_dir(base: &Path) -> PathBuf {
    base.join("channels/crash/campaign/.redex")
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = mix(self.0);
        self.0 % n.max(1)
    }
}

/// Length of entry `seq`: a quarter inline-sized (0..=8), most small, some a few KiB.
fn payload_len(seq: u64) -> usize {
    let h = mix(seq ^ 0x00C0_FFEE);
    (match h % 20 {
        0..=4 => (h >> 8) % 9,
        5..=16 => 9 + (h >> 8) % 300,
        _ => 300 + (h >> 8) % 3000,
    }) as usize
}

fn payload(seq: u64) -> Vec<u8> {
    let mut state = mix(seq);
    (0..payload_len(seq))
        .map(|_| {
            state = mix(state);
            state as u8
        })
        .collect()
}

fn batch_at(seq: u64) -> Vec<Vec<u8>> {
    let n = 1 + mix(seq ^ 0xABCD) % 6;
    (seq..seq + n).map(payload).collect()
}

/// One series' configuration, as passed to the child in `CFG_ENV`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cfg {
    policy: u8,
    segment_bytes: u64,
    segment_events: u64,
    retention_events: u64,
    retention_bytes: u64,
    /// `RLIMIT_FSIZE` for the child, 0 for none.
    fsize_limit: u64,
    seed: u64,
    /// 0: the portable `pwrite` path; 1: io_uring where the kernel allows it (`Auto`).
    backend: u8,
    /// Warm window (entries) when archiving to a cold store in `<dir>/archive`; 0: no cold tier.
    cold_warm_events: u64,
}

impl Cfg {
    fn encode(&self) -> String {
        format!(
            "{} {} {} {} {} {} {} {} {}",
            self.policy,
            self.segment_bytes,
            self.segment_events,
            self.retention_events,
            self.retention_bytes,
            self.fsize_limit,
            self.seed,
            self.backend,
            self.cold_warm_events
        )
    }

    fn decode(s: &str) -> Cfg {
        let v: Vec<u64> = s.split(' ').map(|x| x.parse().expect("cfg number")).collect();
        Cfg {
            policy: v[0] as u8,
            segment_bytes: v[1],
            segment_events: v[2],
            retention_events: v[3],
            retention_bytes: v[4],
            fsize_limit: v[5],
            seed: v[6],
            backend: v[7] as u8,
            cold_warm_events: v[8],
        }
    }

    fn random(rng: &mut Rng, fsize_limit: u64) -> Cfg {
        let mut cfg = Cfg {
            policy: rng.below(5) as u8,
            segment_bytes: [4096, 4096, 8192, 64 << 10][rng.below(4) as usize],
            segment_events: [2, 3, 8, 32, 1 << 20][rng.below(5) as usize],
            retention_events: [0, 0, 10, 50, 300][rng.below(5) as usize],
            retention_bytes: [0, 0, 5_000, 40_000][rng.below(4) as usize],
            fsize_limit,
            seed: rng.below(u64::MAX),
            backend: rng.below(2) as u8,
            cold_warm_events: [0, 0, 0, 5, 20, 60][rng.below(6) as usize],
        };
        if cfg.cold_warm_events > 0 {
            // Retention tighter than the warm window would drop segments before they go cold.
            cfg.retention_events =
                cfg.retention_events.max(300) * u64::from(cfg.retention_events > 0);
            cfg.retention_bytes = 0;
        }
        cfg
    }

    fn policy(&self) -> FsyncPolicy {
        match self.policy {
            0 => FsyncPolicy::Never,
            1 => FsyncPolicy::EveryN(1),
            2 => FsyncPolicy::EveryN(16),
            3 => FsyncPolicy::Interval(Duration::from_millis(1)),
            _ => FsyncPolicy::IntervalOrBytes {
                period: Duration::from_millis(5),
                max_bytes: 16 << 10,
            },
        }
    }

    fn retention(&self) -> Retention {
        let mut r = Retention::unlimited();
        if self.retention_events > 0 {
            r = r.with_max_events(self.retention_events);
        }
        if self.retention_bytes > 0 {
            r = r.with_max_bytes(self.retention_bytes);
        }
        r
    }

    fn config(&self, dir: &Path) -> RedexFileConfig {
        let cfg = RedexFileConfig::default()
            .with_persistent(true)
            .with_fsync_policy(self.policy())
            .with_segment_bytes_max(self.segment_bytes)
            .with_segment_events_max(self.segment_events)
            .with_retention(self.retention())
            .with_append_backend(if self.backend == 0 {
                AppendBackend::Std
            } else {
                AppendBackend::Auto
            });
        if self.cold_warm_events == 0 {
            return cfg;
        }
        let store = LocalDirColdStore::new(dir.join("archive")).expect("cold store");
        cfg.with_cold_store(std::sync::Arc::new(store))
            .with_warm_retention(Retention::events(self.cold_warm_events))
    }

    /// The head the retention limits require for a log of `next` entries.
    fn policy_head(&self, next: u64) -> u64 {
        let mut head = 0;
        if self.retention_events > 0 {
            head = head.max(next.saturating_sub(self.retention_events));
        }
        if self.retention_bytes > 0 {
            let (mut h, mut bytes) = (next, 0u64);
            while h > 0 && bytes + payload_len(h - 1) as u64 <= self.retention_bytes {
                bytes += payload_len(h - 1) as u64;
                h -= 1;
            }
            head = head.max(h);
        }
        head
    }
}

/// The writer. Does nothing unless the parent set `DIR_ENV`. Prints `ack <next>` after every
/// append returns, `synced <next>` after every `sync()`, `error <what>` for a failed call.
#[test]
fn crash_campaign_child() {
    let Ok(dir) = std::env::var(DIR_ENV) else {
        return;
    };
    let cfg = Cfg::decode(&std::env::var(CFG_ENV).expect("cfg env"));
    // `u64::MAX` marks a fault round whose limit is the filesystem's size (ENOSPC).
    if cfg.fsize_limit > 0 && cfg.fsize_limit != u64::MAX {
        set_file_size_limit(cfg.fsize_limit);
    }
    let mut out = std::io::stdout().lock();
    let mut say = |line: String| {
        writeln!(out, "\n{line}").expect("stdout");
        out.flush().expect("flush");
    };
    let redex = Redex::with_persistent_dir(&dir).expect("child: open dir");
    let f = match redex.open_file(&name(), cfg.config(Path::new(&dir))) {
        Ok(f) => f,
        Err(e) => {
            // Only a fault round may fail here (the limit can hit recovery's own writes).
            assert!(cfg.fsize_limit > 0, "child: open file: {e}");
            say(format!("error open: {e}"));
            say("done".into());
            return;
        }
    };
    say(format!("start {}", f.next_seq()));
    say(format!("backend {:?}", f.backend()));
    let mut rng = Rng(cfg.seed);
    let mut errors = 0;
    for _ in 0..CHILD_OPS_MAX {
        let seq = f.next_seq();
        let op = rng.below(100);
        let result = if op < 8 {
            f.sync().map(|()| format!("synced {seq}"))
        } else if op < 10 {
            f.apply_retention().map(|()| "retention".to_owned())
        } else {
            let batch = if op < 40 { vec![payload(seq)] } else { batch_at(seq) };
            f.append_batch(&batch).map(|first| {
                assert_eq!(first, Some(seq), "child: append seq");
                format!("ack {}", seq + batch.len() as u64)
            })
        };
        match result {
            Ok(line) => say(line),
            Err(e) => {
                assert!(cfg.fsize_limit > 0, "child: unexpected error {e}");
                assert!(
                    matches!(e, RedexError::Io { .. }),
                    "child: a failure under the limit is not an I/O error: {e:?}"
                );
                say(format!("error {e}"));
                errors += 1;
                if errors >= 8 {
                    break;
                }
            }
        }
    }
    // Under a limit, what was acknowledged is still readable in this process.
    let (head, next) = (f.head_seq(), f.next_seq());
    let got = f.read_range(head, next).expect("child: read after errors");
    assert!(got.iter().all(|ev| ev.payload[..] == payload(ev.seq)[..]), "child: reread");
    if let Err(e) = f.close() {
        say(format!("error close: {e}"));
    }
    say("done".into());
}

fn tagged(line: &str, tag: &str) -> Option<u64> {
    let (before, n) = line.rsplit_once(&format!("{tag} "))?;
    if !(before.is_empty() || before.ends_with(' ')) {
        return None;
    }
    n.trim().parse().ok()
}

/// What a kill left on disk, for the campaign's coverage report.
#[derive(Debug, Default, Clone, Copy)]
struct CrashStates {
    rounds: usize,
    /// A full log without its index before the last log: killed during a freeze.
    mid_freeze: usize,
    /// A `.idx.tmp` file: killed while an index was being written.
    idx_tmp: usize,
    /// An index the manifest does not name yet: killed between rename and manifest record.
    unrecorded_idx: usize,
    /// Files of a segment the manifest dropped: killed between a drop record and the unlinks.
    dropped_files: usize,
    /// A manifest whose length is not a whole number of records: killed mid-record.
    torn_manifest: usize,
    /// The last log has non-zero bytes after its last whole frame (a write was cut).
    torn_frame: usize,
    /// Rounds where acknowledged data was followed by unacknowledged but complete entries.
    beyond_ack: usize,
    /// Syncs acknowledged over the campaign.
    syncs: u64,
    /// Entries acknowledged over the campaign.
    acked: u64,
    /// Fault rounds in which a write failed.
    faulted: usize,
    /// Rounds that left archived objects in the cold store.
    cold_objects: usize,
    /// Rounds killed with a cold segment's local files still present (after its cold record,
    /// before the unlinks) or an object whose segment is still warm (after the upload, before
    /// the cold record).
    mid_archive: usize,
    /// Rounds whose writer appended through io_uring.
    io_uring: usize,
}

fn classify(base: &Path, states: &mut CrashStates) {
    use redex_tiers::manifest;
    let dir = seg_dir(base);
    let Ok(listing) = std::fs::read_dir(&dir) else { return };
    let mut names: Vec<String> =
        listing.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    let seq_of = |n: &str, ext: &str| -> Option<u64> {
        n.strip_suffix(ext).filter(|s| s.len() == 20).and_then(|s| s.parse().ok())
    };
    let logs: Vec<u64> = names.iter().filter_map(|n| seq_of(n, ".log")).collect();
    let idxs: Vec<u64> = names.iter().filter_map(|n| seq_of(n, ".idx")).collect();
    let objects: Vec<u64> = std::fs::read_dir(base.join("archive").join(name().as_str()))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| seq_of(&e.file_name().to_string_lossy(), ".rxseg"))
        .collect();
    if !objects.is_empty() {
        states.cold_objects += 1;
        // Any object whose segment still has local files is mid-archival (either side of the
        // cold record); a finished archival leaves no local files.
        if objects.iter().any(|o| logs.contains(o)) {
            states.mid_archive += 1;
        }
    }
    if names.iter().any(|n| n.ends_with(".idx.tmp")) {
        states.idx_tmp += 1;
    }
    if logs.iter().rev().skip(1).any(|s| !idxs.contains(s)) {
        states.mid_freeze += 1;
    }
    let bytes = std::fs::read(dir.join("manifest")).unwrap_or_default();
    if !(bytes.len() as u64).saturating_sub(32).is_multiple_of(64) {
        states.torn_manifest += 1;
    }
    if let Ok(replay) = manifest::decode(Path::new("manifest"), &bytes) {
        let live = manifest::live_segments(&replay.records);
        if idxs.iter().any(|s| !live.iter().any(|m| m.meta.first_seq == *s)) {
            states.unrecorded_idx += 1;
        }
        let first_live = live.first().map(|m| m.meta.first_seq);
        if first_live.is_some_and(|f| logs.iter().any(|&s| s < f)) {
            states.dropped_files += 1;
        }
    }
    if let Some(last) = logs.last() {
        let data = std::fs::read(dir.join(format!("{last:020}.log"))).unwrap_or_default();
        let mut at = 32;
        while let Ok(view) = redex_tiers::frame::parse(data.get(at..).unwrap_or_default()) {
            at += view.frame_len;
        }
        // Zeros after the last frame are preallocated space, not a torn write.
        if data.get(at..).is_some_and(|rest| rest.iter().any(|&b| b != 0)) {
            states.torn_frame += 1;
        }
    }
}

/// Reopens `dir` with `cfg` and checks it against the acknowledgements. Returns the recovered
/// `next_seq` after a few appends of its own.
fn verify(dir: &Path, cfg: &Cfg, acked: u64, ctx: &str) -> (u64, bool) {
    let redex = Redex::with_persistent_dir(dir).expect("parent: open dir");
    let f = redex
        .open_file(&name(), cfg.config(dir))
        .unwrap_or_else(|e| panic!("{ctx}: reopen failed: {e}"));
    let (head, next) = (f.head_seq(), f.next_seq());
    assert!(next >= acked, "{ctx}: recovered {next} entries but {acked} were acknowledged");
    if cfg.cold_warm_events == 0 {
        assert_eq!(head, cfg.policy_head(next), "{ctx}: head after reopen with {next} entries");
    } else {
        // A cold segment is evicted whole or not at all: the head may trail the limits.
        assert!(head <= cfg.policy_head(next), "{ctx}: head {head} after reopen with {next}");
    }
    let mut seq = head;
    while seq < next {
        let chunk = f.read_range(seq, (seq + 4096).min(next)).expect("read_range");
        assert!(!chunk.is_empty(), "{ctx}: no entry at {seq}");
        for ev in chunk {
            assert_eq!(ev.seq, seq, "{ctx}: dense seqs");
            assert!(ev.payload[..] == payload(seq)[..], "{ctx}: entry {seq} has the wrong bytes");
            seq += 1;
        }
    }
    f.verify().unwrap_or_else(|e| panic!("{ctx}: verify: {e}"));
    for _ in 0..2 {
        let s = f.next_seq();
        assert_eq!(f.append_batch(&batch_at(s)).expect("append after recovery"), Some(s));
    }
    let end = f.next_seq();
    f.close().expect("close");
    (end, next > acked)
}

struct Child {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
}

fn spawn(dir: &Path, cfg: &Cfg) -> Child {
    let exe = std::env::current_exe().expect("current exe");
    let mut child = Command::new(exe)
        .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(DIR_ENV, dir)
        .env(CFG_ENV, cfg.encode())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn writer");
    let stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    Child { child, lines, stderr }
}

/// Acknowledgements in `lines`: highest `ack`, number of `synced`, whether an error was seen.
fn acks(lines: &[String], start: u64) -> (u64, u64, bool) {
    let acked = lines.iter().filter_map(|l| tagged(l, "ack")).max().unwrap_or(start).max(start);
    let syncs = lines.iter().filter(|l| tagged(l, "synced").is_some()).count() as u64;
    let errored = lines.iter().any(|l| l.trim_start().starts_with("error "));
    (acked, syncs, errored)
}

fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::tempdir_in(shm) {
            return dir;
        }
    }
    tempfile::tempdir().expect("tempdir")
}

/// Whether fault rounds use retention (the default; `REDEX_CRASH_FAULT_RETENTION=0` turns it
/// off). It found `fuzz_regression_manifest_drop.rs`.
fn fault_retention() -> bool {
    std::env::var("REDEX_CRASH_FAULT_RETENTION").ok().as_deref() != Some("0")
}

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn seed() -> u64 {
    std::env::var("REDEX_CRASH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5EED_C0DE)
}

/// One kill round: run the child until it has acknowledged a random number of entries, wait a
/// random moment, SIGKILL it, classify the crash state, verify.
fn kill_round(dir: &Path, cfg: &Cfg, start: u64, rng: &mut Rng, ctx: &str) -> (u64, CrashStates) {
    let mut states = CrashStates { rounds: 1, ..CrashStates::default() };
    let mut child = spawn(dir, cfg);
    let span = if rng.below(4) == 0 { 600 } else { 60 };
    let want = 1 + rng.below(span);
    let mut lines = Vec::new();
    let mut seen = 0;
    while seen < want {
        match child.lines.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                seen += u64::from(tagged(&line, "ack").is_some());
                lines.push(line);
            }
            Err(_) => break,
        }
    }
    std::thread::sleep(Duration::from_micros(rng.below(4000)));
    child.child.kill().expect("kill writer");
    let status = child.child.wait().expect("wait writer");
    lines.extend(child.lines.iter());
    let stderr = child.stderr.join().expect("stderr thread");
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{ctx}: writer ended early\n{stderr}");
    }
    let started: Vec<u64> = lines.iter().filter_map(|l| tagged(l, "start")).collect();
    assert_eq!(started, vec![start], "{ctx}: writer's start\n{stderr}");
    let (acked, syncs, _) = acks(&lines, start);
    states.io_uring = usize::from(lines.iter().any(|l| l.contains("backend Some(IoUring)")));
    states.acked = acked - start;
    states.syncs = syncs;
    classify(dir, &mut states);
    let (end, beyond) = verify(dir, cfg, acked, ctx);
    states.beyond_ack = usize::from(beyond);
    (end, states)
}

fn add(total: &mut CrashStates, s: &CrashStates) {
    total.rounds += s.rounds;
    total.mid_freeze += s.mid_freeze;
    total.idx_tmp += s.idx_tmp;
    total.unrecorded_idx += s.unrecorded_idx;
    total.dropped_files += s.dropped_files;
    total.torn_manifest += s.torn_manifest;
    total.torn_frame += s.torn_frame;
    total.beyond_ack += s.beyond_ack;
    total.syncs += s.syncs;
    total.acked += s.acked;
    total.faulted += s.faulted;
    total.io_uring += s.io_uring;
    total.cold_objects += s.cold_objects;
    total.mid_archive += s.mid_archive;
}

#[test]
fn sigkill_campaign_keeps_every_acknowledged_entry() {
    let _serial = serialise();
    let rounds = env_count("REDEX_CRASH_ROUNDS", KILL_ROUNDS_CI);
    let mut rng = Rng(seed());
    let mut total = CrashStates::default();
    let began = Instant::now();
    let mut round = 0;
    let mut policy_rounds = [0usize; 5];
    let mut backend_rounds = [0usize; 2];
    while round < rounds {
        let dir = scratch();
        let mut cfg = Cfg::random(&mut rng, 0);
        // Series rotate through every (policy, backend) pair: 10 series cover all of them.
        let series = round / ROUNDS_PER_SERIES;
        cfg.policy = (series % 5) as u8;
        cfg.backend = (series % 2) as u8;
        let mut start = 0;
        for _ in 0..ROUNDS_PER_SERIES.min(rounds - round) {
            let ctx = format!("round {round} {cfg:?} (seed {:#x})", seed());
            let (end, states) = kill_round(dir.path(), &cfg, start, &mut rng, &ctx);
            add(&mut total, &states);
            policy_rounds[cfg.policy as usize] += 1;
            backend_rounds[cfg.backend as usize] += 1;
            start = end;
            round += 1;
            cfg.seed = rng.below(u64::MAX);
        }
    }
    eprintln!(
        "sigkill campaign: {rounds} rounds in {:.1} s, rounds per fsync policy \
         [Never, EveryN(1), EveryN(16), Interval(1ms), IntervalOrBytes] = {policy_rounds:?}, \
         per backend [Std, Auto] = {backend_rounds:?}; {total:?}",
        began.elapsed().as_secs_f64()
    );
    assert!(rounds == 0 || total.acked > 0, "the writers acknowledged nothing");
}

/// One fault round: the child runs under a file-size limit (or on a full filesystem) until its
/// writes fail, maybe killed meanwhile; everything it acknowledged must survive.
fn fault_round(
    dir: &Path,
    cfg: &Cfg,
    start: u64,
    rng: &mut Rng,
    ctx: &str,
    before_verify: impl FnOnce(u64),
) -> (u64, CrashStates) {
    let mut states = CrashStates { rounds: 1, ..CrashStates::default() };
    let mut child = spawn(dir, cfg);
    let kill_after = (rng.below(3) == 0).then(|| Duration::from_millis(rng.below(200)));
    let began = Instant::now();
    let mut lines = Vec::new();
    loop {
        match child.lines.recv_timeout(Duration::from_millis(5)) {
            Ok(line) => lines.push(line),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if kill_after.is_some_and(|d| began.elapsed() >= d) {
            let _ = child.child.kill();
            break;
        }
        assert!(began.elapsed() < Duration::from_secs(120), "{ctx}: writer hangs");
    }
    let status = child.child.wait().expect("wait writer");
    lines.extend(child.lines.iter());
    let stderr = child.stderr.join().expect("stderr thread");
    assert!(
        status.success() || kill_after.is_some(),
        "{ctx}: writer failed: {status:?}\n{}\n{stderr}",
        lines.join("\n")
    );
    let (acked, syncs, errored) = acks(&lines, start);
    states.io_uring = usize::from(lines.iter().any(|l| l.contains("backend Some(IoUring)")));
    states.acked = acked.saturating_sub(start);
    states.syncs = syncs;
    states.faulted = usize::from(errored);
    classify(dir, &mut states);
    before_verify(acked);
    let (end, _) = verify(dir, cfg, acked, ctx);
    (end, states)
}

#[test]
fn write_failures_under_a_file_size_limit_lose_nothing_acknowledged() {
    let _serial = serialise();
    let rounds = env_count("REDEX_CRASH_FAULT_ROUNDS", FAULT_ROUNDS_CI);
    let mut rng = Rng(seed() ^ 0xFA17);
    let mut total = CrashStates::default();
    for round in 0..rounds {
        let dir = scratch();
        // The limit lands anywhere from inside the first segment to a few segments in; small
        // segment counts make index and manifest writes hit it too.
        let limit = 2048 + rng.below(30_000);
        let mut cfg = Cfg::random(&mut rng, limit);
        if !fault_retention() {
            (cfg.retention_events, cfg.retention_bytes) = (0, 0);
        }
        let ctx = format!("fault round {round} {cfg:?}");
        let (_, states) = fault_round(dir.path(), &cfg, 0, &mut rng, &ctx, |_| {});
        add(&mut total, &states);
    }
    eprintln!("fault campaign (RLIMIT_FSIZE): {rounds} rounds; {total:?}");
    assert!(rounds == 0 || total.faulted > 0, "the file-size limit never caused a failure");
}

fn reopen_on_full_fs(base: &Path, cfg: &Cfg, acked: u64, ctx: &str) {
    let Ok(redex) = Redex::with_persistent_dir(base) else { return };
    match redex.open_file(&name(), cfg.config(base)) {
        Ok(f) => {
            let (head, next) = (f.head_seq(), f.next_seq());
            assert!(next >= acked, "{ctx}: full-disk reopen recovered {next} < acked {acked}");
            let got = f.read_range(head, next).expect("read on a full disk");
            assert!(got.iter().all(|ev| ev.payload[..] == payload(ev.seq)[..]), "{ctx}: bytes");
        }
        Err(e) => assert!(matches!(e, RedexError::Io { .. }), "{ctx}: full-disk reopen: {e:?}"),
    }
}

/// A tmpfs of a few hundred KiB, unmounted on drop.
struct TinyFs(PathBuf);

impl TinyFs {
    fn mount(bytes: u64) -> Option<TinyFs> {
        let dir = std::env::temp_dir().join(format!("redex-enospc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(&dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(TinyFs(dir))
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("left {} mounted for a post-mortem (umount it afterwards)", self.0.display());
            return;
        }
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Real disk full: the child writes to a tiny tmpfs until `ENOSPC`. Needs `mount` (root), so it
/// runs only when `REDEX_CRASH_ENOSPC=1`; see docs/FUZZING.md.
#[test]
fn disk_full_on_a_tiny_filesystem_loses_nothing_acknowledged() {
    if std::env::var("REDEX_CRASH_ENOSPC").ok().as_deref() != Some("1") {
        return;
    }
    let _serial = serialise();
    let rounds = env_count("REDEX_CRASH_FAULT_ROUNDS", FAULT_ROUNDS_CI);
    let mut rng = Rng(seed() ^ 0xD15C);
    let mut total = CrashStates::default();
    for round in 0..rounds {
        let size = 64 * 1024 + rng.below(256 * 1024);
        let Some(fs) = TinyFs::mount(size) else {
            eprintln!("ENOSPC rounds skipped: cannot mount a tmpfs here");
            return;
        };
        let base = fs.0.join("base");
        let mut cfg = Cfg::random(&mut rng, u64::MAX);
        if !fault_retention() {
            (cfg.retention_events, cfg.retention_bytes) = (0, 0);
        }
        let ctx = format!("ENOSPC round {round} ({size} bytes) {cfg:?}");
        let (_, states) = fault_round(&base, &cfg, 0, &mut rng, &ctx, |acked| {
            // First a reopen on the still-full filesystem: recovery may fail, but cleanly, and
            // if it succeeds every acknowledged entry reads back.
            reopen_on_full_fs(&base, &cfg, acked, &ctx);
            // Then space is freed (the tmpfs grows) and the full check runs.
            let grown = Command::new("mount")
                .args(["-o", "remount,size=64m"])
                .arg(&fs.0)
                .status()
                .is_ok_and(|s| s.success());
            assert!(grown, "{ctx}: remount to free space failed");
        });
        add(&mut total, &states);
    }
    eprintln!("fault campaign (ENOSPC on tmpfs): {rounds} rounds; {total:?}");
}
