//! Goal: running out of space (simulated with `RLIMIT_FSIZE`, so writes past the limit fail
//! with `EFBIG`) is a clean `RedexError::Io`, never a panic, a poisoned file or a lost
//! acknowledged entry. The test binary re-executes itself as a writer under the limit; the
//! writer appends until an append fails (or, when only index writes hit the limit, for a fixed
//! number of appends), checks its earlier entries are still readable and that one more append
//! either fails cleanly or succeeds, and reports every acknowledged seq. The parent reopens the
//! directory without the limit and checks the acknowledged entries, byte for byte, and appends.

#[path = "common/rlimit.rs"]
mod rlimit;
use rlimit::set_file_size_limit;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use redex::{ChannelName, Redex, RedexError, RedexFileConfig};

const DIR_ENV: &str = "REDEX_TEST_DISK_FULL_DIR";
const MODE_ENV: &str = "REDEX_TEST_DISK_FULL_MODE";
const CHILD_TEST: &str = "disk_full_child";

/// Serialises the tests of this file that take directory locks or spawn processes. A child
/// forked by one test holds copies of every descriptor of this process until it execs, which
/// includes another test's lock file: that test, closing and at once reopening its directory,
/// would see a spurious `Locked`.
static LOCK_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serialise() -> std::sync::MutexGuard<'static, ()> {
    LOCK_TESTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A writer scenario: configuration, file-size limit and the shape of the appended data.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// One segment; its log hits the limit.
    Log,
    /// Several frozen segments first (rolled over by entry count), then larger payloads until
    /// the active log hits the limit.
    Frozen,
    /// Small logs but segments with many tiny entries, so the index written when a segment
    /// freezes is larger than the limit: the limit hits during rollover.
    Seal,
    /// Like `Log`, but every append is durable (`append_batch_durable`, on io_uring where the
    /// kernel allows it): the limit hits while preallocating or in a linked write + fsync.
    Durable,
}

impl Mode {
    fn parse(s: &str) -> Mode {
        match s {
            "log" => Mode::Log,
            "frozen" => Mode::Frozen,
            "seal" => Mode::Seal,
            "durable" => Mode::Durable,
            other => panic!("unknown mode {other}"),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Mode::Log => "log",
            Mode::Frozen => "frozen",
            Mode::Seal => "seal",
            Mode::Durable => "durable",
        }
    }

    fn limit(self) -> u64 {
        match self {
            Mode::Log | Mode::Frozen | Mode::Durable => 20_000,
            Mode::Seal => 6_000,
        }
    }

    fn config(self) -> RedexFileConfig {
        let cfg = RedexFileConfig::default().with_persistent(true);
        match self {
            Mode::Log => cfg,
            Mode::Durable => cfg.with_append_backend(redex::AppendBackend::Auto),
            Mode::Frozen => cfg.with_segment_bytes_max(64 << 10).with_segment_events_max(40),
            Mode::Seal => cfg.with_segment_bytes_max(4096),
        }
    }

    /// Seqs from here on use the second phase's payloads and batch sizes.
    fn phase_two_at(self) -> u64 {
        match self {
            Mode::Log | Mode::Durable => u64::MAX,
            Mode::Frozen => 150,
            Mode::Seal => 60,
        }
    }

    /// Stop after this many entries even if no append failed.
    fn entries_max(self) -> u64 {
        match self {
            Mode::Log | Mode::Frozen => 100_000,
            Mode::Seal | Mode::Durable => 4_000,
        }
    }

    fn payload(self, seq: u64) -> Vec<u8> {
        let h = mix(seq);
        let len = match (self, seq >= self.phase_two_at()) {
            (_, false) if h.is_multiple_of(4) => (h >> 8) % 9,
            (_, false) => (h >> 8) % 301,
            (Mode::Frozen, true) => 1500 + (h >> 8) % 100,
            (_, true) => (h >> 8) % 3,
        };
        let mut state = h;
        (0..len)
            .map(|_| {
                state = mix(state);
                state as u8
            })
            .collect()
    }

    fn batch(self, seq: u64) -> Vec<Vec<u8>> {
        let n = if self == Mode::Seal && seq >= self.phase_two_at() {
            50
        } else {
            1 + mix(seq ^ 0x1234_5678) % 4
        };
        (seq..seq + n).map(|s| self.payload(s)).collect()
    }
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn name() -> ChannelName {
    ChannelName::new("disk/full").expect("valid channel name")
}

fn expect_io(e: &RedexError, what: &str) {
    assert!(matches!(e, RedexError::Io { .. }), "{what}: expected RedexError::Io, got {e:?}");
}

/// The writer. Does nothing unless the parent set `DIR_ENV`.
#[test]
fn disk_full_child() {
    let Ok(dir) = std::env::var(DIR_ENV) else {
        return;
    };
    let mode = Mode::parse(&std::env::var(MODE_ENV).expect("mode env"));
    set_file_size_limit(mode.limit());
    let mut out = std::io::stdout().lock();
    let mut say = |line: String| {
        writeln!(out, "\n{line}").expect("stdout");
        out.flush().expect("flush");
    };
    let redex = Redex::with_persistent_dir(&dir).expect("child: open dir");
    let f = redex.open_file(&name(), mode.config()).expect("child: open file");
    let mut errors = 0;
    let mut failed = false;
    while f.next_seq() < mode.entries_max() {
        let seq = f.next_seq();
        let batch = mode.batch(seq);
        let appended = if mode == Mode::Durable {
            f.append_batch_durable(&batch)
        } else {
            f.append_batch(&batch)
        };
        match appended {
            Ok(first) => {
                assert_eq!(first, Some(seq));
                say(format!("ack {}", seq + batch.len() as u64));
            }
            Err(e) => {
                expect_io(&e, "failed append");
                say(format!("error append: {e}"));
                errors += 1;
                failed = true;
                break;
            }
        }
    }
    // Everything acknowledged is still readable, byte for byte.
    let next = f.next_seq();
    let got = f.read_range(0, next).expect("child: read after the failure");
    assert_eq!(got.len() as u64, next);
    for ev in &got {
        assert!(ev.payload[..] == mode.payload(ev.seq)[..], "child: seq {} differs", ev.seq);
    }
    // One more append fails cleanly or succeeds (a smaller frame may still fit).
    let seq = f.next_seq();
    let small = vec![mode.payload(seq)];
    match f.append_batch(&small) {
        Ok(first) => {
            assert_eq!(first, Some(seq));
            say(format!("ack {}", seq + 1));
        }
        Err(e) => {
            expect_io(&e, "append after the failure");
            say(format!("error second append: {e}"));
        }
    }
    // Index writes run when segments freeze; their failures surface here at the latest.
    for (what, result) in [("sync", f.sync()), ("close", f.close())] {
        if let Err(e) = result {
            expect_io(&e, what);
            say(format!("error {what}: {e}"));
            errors += 1;
        }
    }
    say(format!("done failed_append={failed} errors={errors}"));
}

fn run_child(dir: &Path, mode: Mode) -> (u64, Vec<String>) {
    let exe = std::env::current_exe().expect("current exe");
    let out = Command::new(exe)
        .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(DIR_ENV, dir)
        .env(MODE_ENV, mode.as_str())
        .output()
        .expect("run writer");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "writer ({mode:?}) failed: {:?}\n{stdout}\n{stderr}", out.status);
    let acked = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("ack "))
        .filter_map(|n| n.trim().parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    let errors = stdout
        .lines()
        .filter(|l| l.starts_with("error ") || l.starts_with("done "))
        .map(str::to_owned)
        .collect();
    (acked, errors)
}

fn verify_and_append(dir: &Path, mode: Mode, expected: u64) {
    let redex = Redex::with_persistent_dir(dir).expect("open dir");
    let f = redex
        .open_file(&name(), mode.config())
        .unwrap_or_else(|e| panic!("{mode:?}: reopen without the limit failed: {e}"));
    assert_eq!(f.next_seq(), expected, "{mode:?}: recovered entries");
    let got = f.read_range(0, expected).expect("read");
    assert_eq!(got.len() as u64, expected);
    for ev in &got {
        assert!(
            ev.payload[..] == mode.payload(ev.seq)[..],
            "{mode:?}: entry {} differs after recovery",
            ev.seq
        );
    }
    for _ in 0..5 {
        let seq = f.next_seq();
        let batch = mode.batch(seq);
        assert_eq!(f.append_batch(&batch).expect("append"), Some(seq));
    }
    f.close().expect("close");
}

fn disk_full_round_trip(mode: Mode) {
    let _serial = serialise();
    let dir = tempfile::tempdir().expect("tempdir");
    let (acked, errors) = run_child(dir.path(), mode);
    eprintln!("{mode:?}: acked {acked}; {errors:?}");
    assert!(acked > 0, "{mode:?}: nothing was acknowledged");
    let done = errors.iter().find(|l| l.starts_with("done ")).expect("writer finished");
    assert!(!done.ends_with("errors=0"), "{mode:?}: the limit never caused an error");
    if mode != Mode::Seal {
        assert!(done.contains("failed_append=true"), "{mode:?}: no append failed");
    }
    verify_and_append(dir.path(), mode, acked);
    // The appends after recovery survive one more reopen.
    let redex = Redex::with_persistent_dir(dir.path()).expect("open dir");
    let f = redex.open_file(&name(), mode.config()).expect("reopen");
    let next = f.next_seq();
    assert!(next > acked);
    let got = f.read_range(0, next).expect("read");
    assert!(got.iter().all(|ev| ev.payload[..] == mode.payload(ev.seq)[..]));
    let tmp_left = std::fs::read_dir(dir.path().join("channels/disk/full/.redex"))
        .expect("list")
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().ends_with(".tmp"));
    assert!(!tmp_left, "{mode:?}: a temporary index survived recovery");
}

#[test]
fn log_write_past_the_limit_fails_cleanly() {
    disk_full_round_trip(Mode::Log);
}

#[test]
fn log_write_past_the_limit_after_frozen_segments_fails_cleanly() {
    disk_full_round_trip(Mode::Frozen);
}

#[test]
fn index_write_past_the_limit_during_rollover_fails_cleanly() {
    disk_full_round_trip(Mode::Seal);
}

#[test]
fn durable_append_past_the_limit_fails_cleanly() {
    disk_full_round_trip(Mode::Durable);
}
