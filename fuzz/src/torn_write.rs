//! The `torn_write` fuzz target's logic: a persistent RedEX file driven through appends of mixed
//! sizes, syncs, rollovers with tiny segment thresholds and retention, then a crash image (which
//! files survive, how long each is, which bytes are garbage) reopened and checked.
//!
//! Fault model. The image is a copy of the channel directory taken either while the writer is
//! live (a background freeze may be half done: that is a real process-crash state) or after
//! `close()`, pretending the machine died just before it. Two kinds of damage are then applied,
//! chosen by the input:
//!
//! - **Torn** (what a process or machine crash can do, per docs/DURABILITY.md): only bytes no
//!   completed `sync()` covered are cut, flipped or zeroed, and only in logs that have no
//!   `.idx` (a frozen segment's log was fsynced before its index was written). The most recent
//!   freeze, when it is the one right before the last log, may be undone at any of its steps
//!   (no `.idx`, a torn `.idx.tmp`, `.idx` but no manifest record, a torn manifest record).
//!   Invariants: reopen succeeds; the log is a prefix of what was appended; every entry
//!   appended before the last completed `sync()` and not already evicted at the crash is present
//!   and byte-identical; `verify()` passes; appends after recovery work and survive one more
//!   reopen.
//! - **Hostile** (media errors, foreign writes): any file deleted, cut, flipped, extended, or
//!   stray files added. Invariants: no panic; reopen gives `Ok` or an error; every entry a read
//!   returns is byte-identical to what was appended at that seq (damage is reported, never
//!   handed out, and a read that succeeds has no gaps); seqs never pass what was appended
//!   (but an empty file may start at a stray header-less log's seq, see `check_reads`).
//!
//! Along the way: durable appends and compare-and-append at an expected seq (plain, durable,
//! through an `OrderedAppender`, and at a wrong seq, which must fail with `SeqMismatch` and
//! write nothing); a bound of 1..=4 open warm segments in some setups, so random point reads
//! keep closing and re-opening segments (the bound is checked after every operation, and
//! payloads handed out earlier are checked again after later reads closed their segments);
//! `apply_retention()`, also on a quiet file until it has installed the running freeze, after
//! which no warm segment below the head and no file of a dropped segment may remain; and
//! read-only opens: of the live directory (no lock, a freeze may be running), which must show
//! exactly what the writer shows, and of the crash image before and after recovery, which must
//! show what the recovering open shows and leave every file byte-identical.
//!
//! Panics are the failure signal: the fuzz target and the corpus replay test both call
//! [`run`] and treat a panic as a finding.
//!
//! Not modelled: a crash between retention's manifest record and its unlinks (the files are
//! gone from the final image; `engine/tests/warm_manifest_recovery.rs` covers it), eviction by
//! age (it depends on the wall clock and the timer thread; setups add an age limit of an hour,
//! which is evaluated on every append and reopen but never evicts), whether the engine's
//! fsyncs really cover what it promises (the damage model trusts the promises) and I/O errors
//! (see the crash campaign's RLIMIT_FSIZE and ENOSPC modes).

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use redex::config::OPEN_SEGMENTS_MAX_DEFAULT;
use redex::{
    AppendBackend, Bytes, ChannelName, FsyncPolicy, OrderedAppender, Redex, RedexError, RedexFile,
    RedexFileConfig, Retention, Tier,
};

use crate::input::Input;

/// At most this many operations per input, so one execution stays around a millisecond.
const OPS_MAX: usize = 48;
/// At most this many payloads above 256 KiB per input (they take the entry-by-entry read path
/// of frozen segments, and are slow to encode).
const LARGE_APPENDS_MAX: usize = 1;
const LOG_HEADER_LEN: u64 = 32;
/// The age limit some setups add: far beyond any run, so it never moves the head (and the age
/// timer, which ticks every minute at most, never fires during a run).
const AGE_NEVER: Duration = Duration::from_secs(3600);
/// Payloads held from earlier reads (and checked again later: a closed segment's mapping must
/// outlive the payloads sliced out of it).
const HELD_MAX: usize = 8;
const CHANNEL: &str = "fz/t";

fn channel() -> ChannelName {
    ChannelName::new(CHANNEL).expect("valid channel name")
}

/// The segment directory of [`CHANNEL`] under a manager's base directory.
pub fn seg_dir(base: &Path) -> PathBuf {
    base.join("channels").join("fz").join("t").join(".redex")
}

/// A scratch directory on tmpfs when there is one: fsync is free there and a crash image only
/// needs the page cache.
pub fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::Builder::new().prefix("redex-fuzz-").tempdir_in(shm) {
            return dir;
        }
    }
    tempfile::Builder::new().prefix("redex-fuzz-").tempdir().expect("tempdir")
}

/// The payload appended at `seq` with length `len`: a function of both, so the model only
/// stores lengths... and so that a misplaced payload of the same length still differs.
pub fn payload(seq: u64, len: usize) -> Vec<u8> {
    let mut state = seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ len as u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// A payload length of one of four classes: inline (0..=8), small, medium, and (rarely) above
/// the 256 KiB frame-verification threshold.
fn payload_len(input: &mut Input<'_>, large_left: &mut usize) -> usize {
    match input.u8() % 16 {
        0..=5 => input.below(9) as usize,
        6..=11 => 9 + input.below(300) as usize,
        12..=14 => 300 + input.below(6000) as usize,
        _ if *large_left > 0 => {
            *large_left -= 1;
            256 * 1024 + 1 + input.below(40_000) as usize
        }
        _ => input.below(9) as usize,
    }
}

/// The configuration the input picks: segment thresholds, fsync policy, retention.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    /// Segment byte threshold.
    pub segment_bytes: u64,
    /// Segment entry threshold.
    pub segment_events: u64,
    /// Fsync policy.
    pub policy: FsyncPolicy,
    /// Retention limits (never age: it depends on the clock).
    pub retention: Retention,
    /// Append path: the portable one, or io_uring where the kernel allows it.
    pub backend: AppendBackend,
    /// Bound on open (mapped) warm segments: `None` for the default, or 1..=4, so that reads
    /// keep closing and re-opening segments.
    pub open_max: Option<usize>,
}

impl Setup {
    /// The backend comes from the parity of the whole input, so that adding it left the
    /// meaning of every checked-in input's bytes unchanged.
    fn from_input(input: &mut Input<'_>, data: &[u8]) -> Self {
        let parity = data.iter().fold(0u8, |a, b| a ^ b) & 1;
        let backend = if parity == 0 { AppendBackend::Std } else { AppendBackend::Auto };
        let segment_bytes = match input.u8() % 4 {
            0 => 64 << 10,
            _ => 4096 + input.below(8) * 1024,
        };
        // The low three bits pick the entry threshold (as before the bound existed), the next
        // ones the bound on open segments, so older inputs keep their byte alignment.
        let events_byte = input.u8();
        let open_max = match (events_byte >> 3) % 5 {
            0 => None,
            n => Some(usize::from(n)),
        };
        let segment_events = match events_byte % 8 {
            0 => 1,
            1 => 2,
            2 => 3,
            3 => 5,
            4 => 16,
            _ => 1 << 24,
        };
        let policy = match input.u8() % 6 {
            0 | 1 => FsyncPolicy::Never,
            2 => FsyncPolicy::EveryN(1),
            3 => FsyncPolicy::EveryN(2 + input.below(8)),
            4 => FsyncPolicy::Interval(Duration::from_millis(1)),
            _ => FsyncPolicy::IntervalOrBytes {
                period: Duration::from_millis(2),
                max_bytes: 1 + input.below(8192),
            },
        };
        let retention_byte = input.u8();
        let retention = match retention_byte % 6 {
            0 => Retention::events(1 + input.below(120)),
            1 => Retention::bytes(1 + input.below(30_000)),
            2 => Retention::events(1 + input.below(120)).with_max_bytes(input.below(30_000)),
            _ => Retention::unlimited(),
        };
        // An age limit no entry of a run can reach: deterministic, yet every append and reopen
        // evaluates it (reading timestamps through warm segments) and the file is put on the
        // age timer. Taken from the same byte, so older inputs keep their alignment.
        let retention = match (retention_byte / 6) % 3 {
            2 => retention.with_max_age(AGE_NEVER),
            _ => retention,
        };
        Setup { segment_bytes, segment_events, policy, retention, backend, open_max }
    }

    /// The file configuration.
    pub fn config(&self) -> RedexFileConfig {
        RedexFileConfig::default()
            .with_persistent(true)
            .with_segment_bytes_max(self.segment_bytes)
            .with_segment_events_max(self.segment_events)
            .with_fsync_policy(self.policy)
            .with_retention(self.retention)
            .with_append_backend(self.backend)
            .with_open_segments_max(self.open_max.unwrap_or(OPEN_SEGMENTS_MAX_DEFAULT))
    }

    /// The bound on open warm segments in effect.
    fn open_bound(&self) -> u64 {
        self.open_max.unwrap_or(OPEN_SEGMENTS_MAX_DEFAULT) as u64
    }
}

/// Everything ever appended (by length; bytes come from [`payload`]), and what was durable.
#[derive(Debug, Default)]
struct Model {
    lens: Vec<usize>,
    /// `next_seq` when the last `sync()` or `close()` completed.
    synced: u64,
    /// Length of each log file (by name) when the last `sync()` or `close()` completed.
    durable_log_lens: HashMap<String, u64>,
}

impl Model {
    fn expect(&self, seq: u64) -> Vec<u8> {
        let len = self.lens.get(seq as usize).copied().expect("seq inside the model");
        payload(seq, len)
    }

    /// The lowest head the retention limits allow for a log of `next` entries: every entry at or
    /// above it must be kept.
    fn policy_head(&self, next: u64, retention: &Retention) -> u64 {
        let mut head = 0;
        if let Some(max) = retention.max_events {
            head = head.max(next.saturating_sub(max));
        }
        if let Some(max) = retention.max_bytes {
            let mut bytes = 0u64;
            let mut h = next;
            while h > 0 {
                let len = self.lens[(h - 1) as usize] as u64;
                if bytes + len > max {
                    break;
                }
                bytes += len;
                h -= 1;
            }
            head = head.max(h);
        }
        head
    }
}

fn log_lens(dir: &Path) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".log") {
                out.insert(name, e.metadata().map(|m| m.len()).unwrap_or(0));
            }
        }
    }
    out
}

fn open(base: &Path, setup: &Setup) -> Result<(Redex, RedexFile), RedexError> {
    let redex = Redex::with_persistent_dir(base)?;
    let file = redex.open_file(&channel(), setup.config())?;
    Ok((redex, file))
}

/// A file's bytes in the crash image, by name.
type Image = Vec<(String, Vec<u8>)>;

/// Copies the segment directory the way a crash would leave it. The manifest is read first and
/// the other files after, so a background freeze running meanwhile can only make the copy look
/// like a later instant of the freeze for files read later (which is a state a crash can
/// leave: the manifest record is the freeze's last step); a file that vanishes between the
/// listing and its copy (a `.tmp` renamed) is skipped.
fn snapshot(dir: &Path) -> Image {
    let mut image = Vec::new();
    if let Ok(bytes) = fs::read(dir.join("manifest")) {
        image.push(("manifest".to_owned(), bytes));
    }
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("list segment dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "manifest")
        .collect();
    names.sort();
    for name in names {
        match fs::read(dir.join(&name)) {
            Ok(bytes) => image.push((name, bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("copy {name}: {e}"),
        }
    }
    image
}

fn write_image(dir: &Path, image: &Image) {
    fs::create_dir_all(dir).expect("create image dir");
    for (name, bytes) in image {
        fs::write(dir.join(name), bytes).expect("write image file");
    }
}

fn log_seq(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(".log")?;
    (stem.len() == 20).then(|| stem.parse().ok()).flatten()
}

fn find<'i>(image: &'i mut Image, name: &str) -> Option<&'i mut Vec<u8>> {
    image.iter_mut().find(|(n, _)| n == name).map(|(_, b)| b)
}

fn remove(image: &mut Image, name: &str) {
    image.retain(|(n, _)| n != name);
}

/// Damage a crash can do: see the module docs. Returns a description for failure messages.
fn torn_damage(input: &mut Input<'_>, image: &mut Image, model: &Model) -> String {
    use redex_tiers::manifest::{self, RecordKind, MANIFEST_HEADER_LEN, RECORD_LEN};
    let mut what = Vec::new();
    let mut logs: Vec<(u64, String)> =
        image.iter().filter_map(|(n, _)| log_seq(n).map(|s| (s, n.clone()))).collect();
    logs.sort();
    // Undo the most recent freeze, at one of its steps, if it is the one before the last log.
    let step = input.u8() % 8;
    if step > 0 && logs.len() >= 2 {
        let (prev_seq, last_seq) = (logs[logs.len() - 2].0, logs[logs.len() - 1].0);
        let manifest_bytes = find(image, "manifest").cloned().unwrap_or_default();
        let replay = manifest::decode(Path::new("manifest"), &manifest_bytes).ok();
        let last = replay.as_ref().and_then(|r| r.records.last().copied());
        let undoable = last.is_some_and(|r| {
            r.kind == RecordKind::Frozen
                && r.meta.first_seq == prev_seq
                && r.meta.next_seq() == last_seq
        });
        if undoable {
            let record_at = replay.map_or(0, |r| r.valid_len as usize) - RECORD_LEN;
            debug_assert!(record_at >= MANIFEST_HEADER_LEN);
            let idx = format!("{prev_seq:020}.idx");
            let m = find(image, "manifest").expect("manifest present");
            match step {
                // Torn manifest record, machine-crash garbage in its unsynced bytes.
                1 | 2 => {
                    let keep = record_at + input.below(RECORD_LEN as u64) as usize;
                    m.truncate(keep);
                    if step == 2 && keep > record_at {
                        let at = record_at + input.below((keep - record_at) as u64) as usize;
                        m[at] ^= 1 | input.u8();
                    }
                    what.push(format!("manifest record torn at {keep}"));
                }
                // Renamed but not recorded.
                3 => {
                    m.truncate(record_at);
                    what.push("manifest record missing".into());
                }
                // Index never renamed into place, maybe half written.
                _ => {
                    m.truncate(record_at);
                    let idx_bytes = find(image, &idx).cloned().unwrap_or_default();
                    remove(image, &idx);
                    if step >= 6 {
                        let cut = input.below(idx_bytes.len() as u64 + 1) as usize;
                        image.push((format!("{idx}.tmp"), idx_bytes[..cut].to_vec()));
                        what.push(format!("freeze undone, .idx.tmp of {cut} bytes"));
                    } else {
                        what.push("freeze undone".into());
                    }
                }
            }
        }
    }
    // Tear the unsynced tail of every log that has no index.
    for (seq, name) in &logs {
        if image.iter().any(|(n, _)| *n == format!("{seq:020}.idx")) {
            continue;
        }
        let Some(bytes) = find(image, name) else { continue };
        let len = bytes.len() as u64;
        let durable = model.durable_log_lens.get(name).copied().unwrap_or(LOG_HEADER_LEN).min(len);
        if durable == len || !input.bool() {
            continue;
        }
        let cut = durable + input.below(len - durable + 1);
        bytes.truncate(cut as usize);
        what.push(format!("{name} cut to {cut} (durable {durable}, was {len})"));
        let span = cut - durable;
        for _ in 0..input.below(4) {
            if span == 0 {
                break;
            }
            let at = (durable + input.below(span)) as usize;
            if input.bool() {
                bytes[at] ^= 1 | input.u8();
                what.push(format!("flip at {at}"));
            } else {
                let end = (at + 1 + input.below(4096) as usize).min(cut as usize);
                bytes[at..end].fill(0);
                what.push(format!("zeros {at}..{end}"));
            }
        }
    }
    what.join("; ")
}

/// Damage nothing promises to survive: any file cut, flipped, extended, deleted, or added.
fn hostile_damage(input: &mut Input<'_>, image: &mut Image) -> String {
    let mut what = Vec::new();
    for _ in 0..1 + input.below(4) {
        if image.is_empty() {
            break;
        }
        let i = input.below(image.len() as u64) as usize;
        let (name, bytes) = &mut image[i];
        match input.u8() % 6 {
            0 => {
                what.push(format!("deleted {name}"));
                image.remove(i);
            }
            1 => {
                let cut = input.below(bytes.len() as u64 + 1) as usize;
                bytes.truncate(cut);
                what.push(format!("{name} cut to {cut}"));
            }
            2 | 3 => {
                for _ in 0..1 + input.below(3) {
                    if bytes.is_empty() {
                        break;
                    }
                    let at = input.below(bytes.len() as u64) as usize;
                    bytes[at] ^= 1 | input.u8();
                    what.push(format!("{name} flipped at {at}"));
                }
            }
            4 => {
                let extra = input.bytes(200);
                bytes.extend_from_slice(extra);
                what.push(format!("{name} extended by {}", extra.len()));
            }
            _ => {
                let seq = input.below(1 << 16);
                let ext = ["log", "idx", "idx.tmp", "manifest.tmp"][input.below(4) as usize];
                let stray = format!("{seq:020}.{ext}");
                let junk = input.bytes(200).to_vec();
                what.push(format!("stray {stray} of {} bytes", junk.len()));
                remove(image, &stray);
                image.push((stray, junk));
            }
        }
    }
    what.join("; ")
}

fn check_error(e: &RedexError, ctx: &str) {
    let msg = e.to_string();
    assert!(!msg.contains("panicked"), "{ctx}: a background thread panicked: {msg}");
}

/// Reads `[head, next)` and checks it against the model. `strict` demands success; otherwise a
/// read may fail with an error, but never hand out wrong bytes.
fn check_reads(f: &RedexFile, model: &Model, strict: bool, ctx: &str) {
    let (head, next) = (f.head_seq(), f.next_seq());
    assert!(head <= next, "{ctx}: head {head} above next {next}");
    // Hostile damage may leave nothing but a stray header-less log, whose name recovery takes
    // as where the log continues (as it would a log torn at creation): an empty file then
    // starts there, and nothing it reads can be wrong.
    assert!(
        next <= model.lens.len() as u64 || (!strict && head == next),
        "{ctx}: {next} entries recovered but only {} were appended",
        model.lens.len()
    );
    match f.read_range(head, next) {
        Ok(events) => {
            assert_eq!(events.len() as u64, next - head, "{ctx}: read_range({head}, {next})");
            for (ev, seq) in events.iter().zip(head..) {
                assert_eq!(ev.seq, seq, "{ctx}: dense seqs");
                assert!(ev.payload[..] == model.expect(seq)[..], "{ctx}: wrong bytes at seq {seq}");
            }
        }
        Err(e) if !strict => check_error(&e, ctx),
        Err(e) => panic!("{ctx}: read_range({head}, {next}) failed: {e}"),
    }
    // Point reads take the record path (27-bit checksums) instead of whole frames.
    let step = ((next - head) / 64).max(1);
    for seq in (head..next).step_by(step as usize) {
        match f.get(seq) {
            Ok(Some(ev)) => {
                assert!(ev.payload[..] == model.expect(seq)[..], "{ctx}: get({seq}) wrong bytes")
            }
            Ok(None) => panic!("{ctx}: get({seq}) found nothing below next {next}"),
            Err(e) if !strict => check_error(&e, ctx),
            Err(e) => panic!("{ctx}: get({seq}) failed: {e}"),
        }
    }
    if head > 0 {
        assert!(
            matches!(f.get(head - 1), Err(RedexError::Evicted { .. })),
            "{ctx}: below the head is not Evicted"
        );
    }
}

/// How an append op writes, from the op byte's high nibble (which older inputs left random,
/// so most of their appends stay plain): the plain call, the durable one, a compare-and-append
/// at the right seq (plain or durable), or one at a wrong seq, which must fail with
/// `SeqMismatch` and write nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Plain,
    Durable,
    At,
    AtDurable,
    Mismatch,
    MismatchDurable,
}

impl Mode {
    fn from_variant(v: u8) -> Self {
        match v {
            0..=9 => Mode::Plain,
            10 | 11 => Mode::Durable,
            12 => Mode::At,
            13 => Mode::AtDurable,
            14 => Mode::Mismatch,
            _ => Mode::MismatchDurable,
        }
    }

    fn durable(self) -> bool {
        matches!(self, Mode::Durable | Mode::AtDurable | Mode::MismatchDurable)
    }
}

/// Appends `batch` at `first` (the file's next seq) the way `mode` says; `single` uses the
/// one-payload calls. Returns whether anything was written.
fn append_in_mode(f: &RedexFile, mode: Mode, first: u64, batch: &[Vec<u8>], single: bool) -> bool {
    let n = batch.len() as u64;
    match mode {
        Mode::Plain if single => assert_eq!(f.append(&batch[0]).expect("append"), first),
        Mode::Plain => assert_eq!(f.append_batch(batch).expect("append_batch"), Some(first)),
        Mode::Durable if single => {
            assert_eq!(f.append_durable(&batch[0]).expect("append_durable"), first)
        }
        Mode::Durable => {
            assert_eq!(f.append_batch_durable(batch).expect("append_batch_durable"), Some(first))
        }
        Mode::At | Mode::AtDurable => {
            // An empty batch at the right seq writes nothing and says so.
            let none: &[&[u8]] = &[];
            assert_eq!(f.append_batch_at(first, none).expect("empty append_batch_at"), None);
            let mut writer = OrderedAppender::starting_at(f.clone(), first);
            let got = match (mode, single) {
                (Mode::At, true) => Some(writer.append(&batch[0]).expect("ordered append")),
                (Mode::At, false) => writer.append_batch(batch).expect("ordered append_batch"),
                (_, true) => Some(writer.append_durable(&batch[0]).expect("ordered durable")),
                (_, false) => f.append_batch_at_durable(first, batch).expect("at_durable"),
            };
            assert_eq!(got, Some(first), "{mode:?} landed elsewhere");
            if mode != Mode::AtDurable || single {
                assert_eq!(writer.next_seq(), first + n, "ordered appender did not advance");
            }
        }
        Mode::Mismatch | Mode::MismatchDurable => {
            let wrong = match first.checked_sub(1) {
                Some(below) if mode == Mode::MismatchDurable => below,
                _ => first + 1 + n % 2,
            };
            let none: &[&[u8]] = &[];
            for payloads in [None, Some(batch)] {
                let got = match (payloads, mode.durable()) {
                    (None, false) => f.append_batch_at(wrong, none),
                    (None, true) => f.append_batch_at_durable(wrong, none),
                    (Some(b), false) => f.append_batch_at(wrong, b),
                    (Some(b), true) => f.append_batch_at_durable(wrong, b),
                };
                match got {
                    Err(RedexError::SeqMismatch { expected, actual, .. }) => {
                        assert_eq!((expected, actual), (wrong, first), "{mode:?}: SeqMismatch");
                    }
                    other => panic!("{mode:?} at {wrong} with next {first}: {other:?}"),
                }
                assert_eq!(f.next_seq(), first, "{mode:?}: a refused append wrote entries");
            }
            return false;
        }
    }
    true
}

/// Open (mapped) warm segments never pass the configured bound.
fn check_bound(f: &RedexFile, setup: &Setup, ctx: &str) {
    let open = f.stats().warm_open_segments;
    assert!(open <= setup.open_bound(), "{ctx}: {open} warm segments open, bound {setup:?}");
}

/// After retention was applied: no warm segment lies wholly below the head (only one still
/// freezing may), and every `.log`/`.idx` in `dir` belongs to a segment the file lists (the
/// files of dropped segments are gone).
fn check_retention_applied(f: &RedexFile, dir: &Path, ctx: &str) {
    let head = f.head_seq();
    let segments = f.segments();
    for s in &segments[..segments.len() - 1] {
        assert!(
            s.tier != Tier::Warm || s.next_seq > head,
            "{ctx}: warm segment {}..{} kept below the head {head}",
            s.first_seq,
            s.next_seq
        );
    }
    for entry in fs::read_dir(dir).expect("list segment dir").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".log").or_else(|| name.strip_suffix(".idx")) else {
            continue;
        };
        let seq: u64 = stem.parse().expect("segment file name");
        assert!(
            segments.iter().any(|s| s.first_seq == seq),
            "{ctx}: {name} left behind by retention (head {head}, segments {segments:?})"
        );
    }
}

/// Every segment the file lists is warm or the active one: no freeze is pending.
fn no_freeze_pending(f: &RedexFile) -> bool {
    f.segments().iter().filter(|s| s.tier == Tier::Hot).count() == 1
}

/// Payloads handed out earlier, with their seqs: checked again after later reads (which may
/// close the segments they came from), retention and reopens.
#[derive(Default)]
struct Held(Vec<(u64, Bytes)>);

impl Held {
    fn keep(&mut self, seq: u64, payload: Bytes, slot: u64) {
        if self.0.len() < HELD_MAX {
            self.0.push((seq, payload));
        } else {
            self.0[slot as usize % HELD_MAX] = (seq, payload);
        }
    }

    fn check(&self, model: &Model, ctx: &str) {
        for (seq, payload) in &self.0 {
            assert!(payload[..] == model.expect(*seq)[..], "{ctx}: held payload of {seq} changed");
        }
    }
}

/// A small xorshift for picking read positions without consuming input bytes.
fn mix(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

/// Every file under `dir` with its bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = fs::read(&p) {
                out.insert(p, bytes);
            }
        }
    }
    out
}

/// Opens `base` read-only (no lock, nothing changed on disk) and checks what it shows against
/// the model: reads, appends refused, retention and `verify` harmless; `strict` demands that
/// the open, the reads and `verify` succeed. Every file under `base` must be byte-identical
/// afterwards. Returns the view's `(head, next)` if it opened.
fn read_only_check(
    base: &Path,
    setup: &Setup,
    model: &Model,
    strict: bool,
    ctx: &str,
) -> Option<(u64, u64)> {
    let before = tree(base);
    let ctx = format!("{ctx}; read-only");
    let opened = Redex::open_read_only(base).and_then(|r| {
        let f = r.open_file(&channel(), setup.config())?;
        Ok((r, f))
    });
    let seen = match opened {
        Ok((_redex, f)) => {
            let (head, next) = (f.head_seq(), f.next_seq());
            check_reads(&f, model, strict, &ctx);
            check_bound(&f, setup, &ctx);
            let refused = f.append(b"x");
            assert!(matches!(refused, Err(RedexError::ReadOnly { .. })), "{ctx}: {refused:?}");
            match f.apply_retention() {
                Ok(()) => {
                    if strict {
                        assert_eq!(f.head_seq(), head, "{ctx}: apply_retention moved the head");
                    }
                }
                Err(e) if !strict => check_error(&e, &ctx),
                Err(e) => panic!("{ctx}: apply_retention: {e}"),
            }
            match f.verify() {
                Ok(_) => {}
                Err(e) if !strict => check_error(&e, &ctx),
                Err(e) => panic!("{ctx}: verify: {e}"),
            }
            Some((head, next))
        }
        Err(e) if !strict => {
            check_error(&e, &ctx);
            None
        }
        Err(e) => panic!("{ctx}: open failed: {e}"),
    };
    let after = tree(base);
    if before != after {
        let changed: Vec<&PathBuf> =
            before.keys().chain(after.keys()).filter(|p| before.get(*p) != after.get(*p)).collect();
        panic!("{ctx}: the read-only open changed {changed:?}");
    }
    seen
}

/// Runs one input. Panics on any invariant violation.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let setup = Setup::from_input(&mut input, data);
    let work = scratch();
    let base = work.path().join("live");
    let (mut redex, mut f) = open(&base, &setup).expect("open a fresh file");
    let mut model = Model::default();
    let mut large_left = LARGE_APPENDS_MAX;
    let dir = seg_dir(&base);
    let mut held = Held::default();

    let mut ops = 0;
    while !input.is_empty() && ops < OPS_MAX {
        ops += 1;
        // The low nibble picks the operation (as it always did), the high one a variant.
        let op = input.u8();
        let variant = op >> 4;
        match op % 16 {
            kind @ 0..=9 => {
                let single = kind <= 5;
                let n = if single { 1 } else { 1 + input.below(8) as usize };
                let first = model.lens.len() as u64;
                let lens: Vec<usize> =
                    (0..n).map(|_| payload_len(&mut input, &mut large_left)).collect();
                let batch: Vec<Vec<u8>> =
                    lens.iter().zip(first..).map(|(&l, s)| payload(s, l)).collect();
                let mode = Mode::from_variant(variant);
                if append_in_mode(&f, mode, first, &batch, single) {
                    model.lens.extend(lens);
                    if mode.durable() {
                        // Durable against a machine crash, and so (a prefix) is all before it.
                        model.synced = f.next_seq();
                        model.durable_log_lens = log_lens(&dir);
                    }
                    check_retention_applied(&f, &dir, &format!("{setup:?}, op {ops} {mode:?}"));
                }
            }
            10 | 11 => {
                f.sync().expect("sync");
                model.synced = f.next_seq();
                model.durable_log_lens = log_lens(&dir);
            }
            12 => {
                f.apply_retention().expect("apply_retention");
                if variant >= 8 {
                    // A quiet file: no append comes to install the running freeze, so
                    // apply_retention must (then it may drop that segment too).
                    let deadline = std::time::Instant::now() + Duration::from_secs(2);
                    while !no_freeze_pending(&f) && std::time::Instant::now() < deadline {
                        std::thread::sleep(Duration::from_micros(200));
                        f.apply_retention().expect("apply_retention");
                    }
                }
                check_retention_applied(&f, &dir, &format!("{setup:?}, op {ops} retention"));
            }
            13 => {
                let (head, next) = (f.head_seq(), f.next_seq());
                let start = head + input.below(next - head + 1);
                let end = start + input.below(next - start + 1);
                match variant {
                    0..=7 => {
                        let got = f.read_range(start, end).expect("read_range");
                        assert_eq!(got.len() as u64, end - start);
                        for ev in got {
                            assert!(
                                ev.payload[..] == model.expect(ev.seq)[..],
                                "live read {}",
                                ev.seq
                            );
                            held.keep(ev.seq, ev.payload, start ^ end);
                        }
                    }
                    8..=13 if next > head => {
                        // Point reads and short ranges at random seqs: under a small bound on
                        // open segments each may close one segment to open another.
                        let mut x = mix((start << 32) ^ end ^ ops as u64 ^ 0x5DEE_CE66);
                        for i in 0..16 {
                            x = mix(x);
                            let seq = head + x % (next - head);
                            if i % 4 == 3 {
                                let got = f.read_range(seq, seq + 3).expect("short read_range");
                                for ev in got {
                                    assert!(ev.payload[..] == model.expect(ev.seq)[..]);
                                }
                                continue;
                            }
                            let ev = f.get(seq).expect("get").expect("retained seq present");
                            assert!(ev.payload[..] == model.expect(seq)[..], "get({seq})");
                            if i == 0 {
                                held.keep(seq, ev.payload, x);
                            }
                        }
                    }
                    8..=13 => {}
                    _ => {
                        // A read-only view of the live directory (no lock; a freeze may be
                        // running) shows exactly what the writer shows.
                        let view = Redex::open_read_only(&base)
                            .and_then(|r| Ok((r.open_file(&channel(), setup.config())?, r)));
                        let (view, _ro) = view.expect("read-only open of a live directory");
                        let ctx = format!("{setup:?}, op {ops}: live read-only view");
                        assert_eq!((view.head_seq(), view.next_seq()), (head, next), "{ctx}");
                        check_reads(&view, &model, true, &ctx);
                        check_bound(&view, &setup, &ctx);
                    }
                }
                held.check(&model, "live read");
            }
            _ => {
                // A clean close and reopen: everything is durable and comes back.
                f.close().expect("close");
                model.synced = model.lens.len() as u64;
                model.durable_log_lens = log_lens(&dir);
                drop((f, redex));
                (redex, f) = open(&base, &setup).expect("reopen after close");
                assert_eq!(f.next_seq(), model.lens.len() as u64, "clean reopen lost entries");
                check_reads(&f, &model, true, "clean reopen");
                held.check(&model, "clean reopen");
            }
        }
        // Count and byte limits move the head exactly as far as they require.
        let next = model.lens.len() as u64;
        assert_eq!(f.next_seq(), next, "next_seq after op {ops}");
        let want = model.policy_head(next, &setup.retention);
        assert_eq!(f.head_seq(), want, "{setup:?}: head after op {ops} with {next} entries");
        check_bound(&f, &setup, &format!("after op {ops}"));
    }
    assert_eq!(f.next_seq(), model.lens.len() as u64);
    held.check(&model, "before the crash");
    let head_at_crash = f.head_seq();
    let next_at_crash = f.next_seq();
    let live = input.u8().is_multiple_of(4);
    let mut image = if live {
        // A process crash now, possibly in the middle of a background freeze.
        let image = snapshot(&dir);
        drop((f, redex));
        image
    } else {
        // The machine dies just before `close()` returns: close only settles the freeze.
        f.close().expect("close");
        drop((f, redex));
        snapshot(&dir)
    };
    let hostile = input.u8().is_multiple_of(4);
    let damage = if hostile {
        hostile_damage(&mut input, &mut image)
    } else {
        torn_damage(&mut input, &mut image, &model)
    };
    let ctx = format!(
        "{setup:?}, {} appended, synced {}, head {head_at_crash}, live image {live}, \
         hostile {hostile}: {damage}",
        model.lens.len(),
        model.synced
    );
    let crash_base = work.path().join("crash");
    write_image(&seg_dir(&crash_base), &image);

    // A read-only open first: it must show what the recovering open below shows, from the
    // same image, without changing a byte of it.
    let read_only = read_only_check(&crash_base, &setup, &model, !hostile, &ctx);
    let reopened = open(&crash_base, &setup);
    let (redex, f) = match reopened {
        Ok(pair) => pair,
        Err(e) if hostile => {
            check_error(&e, &ctx);
            return;
        }
        Err(e) => panic!("{ctx}: reopen after a crash failed: {e}"),
    };
    let (head, next) = (f.head_seq(), f.next_seq());
    check_reads(&f, &model, !hostile, &ctx);
    check_bound(&f, &setup, &ctx);
    held.check(&model, &ctx);
    if !hostile {
        assert_eq!(read_only, Some((head, next)), "{ctx}: read-only and recovering opens differ");
        assert!(next >= model.synced, "{ctx}: synced entries lost: recovered {next}");
        assert!(next <= next_at_crash, "{ctx}: recovered {next} > appended {next_at_crash}");
        let must_keep = model.policy_head(next, &setup.retention).max(head_at_crash);
        assert!(
            head <= must_keep || must_keep >= model.synced,
            "{ctx}: head {head} evicts retained synced entries from {must_keep}"
        );
        f.verify().unwrap_or_else(|e| panic!("{ctx}: verify after recovery: {e}"));
    } else if let Err(e) = f.verify() {
        check_error(&e, &ctx);
    }

    if next > model.lens.len() as u64 {
        // An empty file past the appended seqs (hostile, see `check_reads`): nothing to go on.
        return;
    }
    // Appending after recovery works, and survives another reopen.
    let extra: Vec<usize> = (0..1 + input.below(3) as usize).map(|i| i * 7).collect();
    model.lens.truncate(next as usize);
    let batch: Vec<Vec<u8>> = extra.iter().zip(next..).map(|(&l, s)| payload(s, l)).collect();
    match f.append_batch(&batch) {
        Ok(first) => {
            assert_eq!(first, Some(next), "{ctx}: append after recovery");
            model.lens.extend(&extra);
        }
        Err(e) if hostile => {
            check_error(&e, &ctx);
            return;
        }
        Err(e) => panic!("{ctx}: append after recovery failed: {e}"),
    }
    match f.close() {
        Ok(()) => {}
        Err(e) if hostile => {
            check_error(&e, &ctx);
            return;
        }
        Err(e) => panic!("{ctx}: close after recovery failed: {e}"),
    }
    drop((f, redex));
    match open(&crash_base, &setup) {
        Ok((_redex, f)) => {
            if !hostile {
                assert_eq!(f.next_seq(), model.lens.len() as u64, "{ctx}: second reopen");
            }
            check_reads(&f, &model, !hostile, &format!("{ctx}; second reopen"));
        }
        Err(e) if hostile => {
            check_error(&e, &ctx);
            return;
        }
        Err(e) => panic!("{ctx}: second reopen failed: {e}"),
    }
    // And read-only once more, on the recovered directory.
    let seen = read_only_check(&crash_base, &setup, &model, !hostile, &format!("{ctx}; final"));
    if !hostile {
        let end = seen.map(|(_, next)| next);
        assert_eq!(end, Some(model.lens.len() as u64), "{ctx}: final read-only open");
    }
    let _ = head;
}
