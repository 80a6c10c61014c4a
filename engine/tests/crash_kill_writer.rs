//! Goal: a writer process killed with SIGKILL at arbitrary moments (mid-append, mid-rollover,
//! mid-fsync) loses no acknowledged entry. The test binary re-executes itself as the writer; the
//! writer appends batches whose bytes are a function of their seq and prints `ack <next_seq>`
//! after each append returns. After every kill the parent reopens the same directory and checks
//! that every acknowledged entry is present and byte-identical, that whatever follows is a
//! valid continuation, and that appends work; the next round recovers on top of that recovery.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use redex::{ChannelName, FsyncPolicy, Redex, RedexFileConfig};

/// Tells the re-executed binary that it is the writer, and where to write.
const DIR_ENV: &str = "REDEX_TEST_KILL_WRITER_DIR";
/// The writer's configuration: `<policy>:<segment bytes>`.
const CFG_ENV: &str = "REDEX_TEST_KILL_WRITER_CFG";
const CHILD_TEST: &str = "kill_writer_child";
const ROUNDS: usize = 24;
/// Upper bound on the writer's appends, so a writer nobody kills still ends.
const CHILD_APPENDS_MAX: u64 = 200_000;

fn name() -> ChannelName {
    ChannelName::new("crash/kill").expect("valid channel name")
}

fn cfg(policy: FsyncPolicy, segment_bytes: u64) -> RedexFileConfig {
    RedexFileConfig::default()
        .with_persistent(true)
        .with_fsync_policy(policy)
        .with_segment_bytes_max(segment_bytes)
}

fn parse_cfg(s: &str) -> RedexFileConfig {
    let (policy, seg) = s.split_once(':').expect("policy:segment");
    let policy = match policy {
        "never" => FsyncPolicy::Never,
        "every1" => FsyncPolicy::EveryN(1),
        other => panic!("unknown policy {other}"),
    };
    cfg(policy, seg.parse().expect("segment bytes"))
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The payload of entry `seq`: 0..=300 bytes (a quarter of them 0..=8), derived from `seq`.
fn payload(seq: u64) -> Vec<u8> {
    let h = mix(seq);
    let len = if h.is_multiple_of(4) { (h >> 8) % 9 } else { (h >> 8) % 301 };
    let mut state = h;
    (0..len)
        .map(|_| {
            state = mix(state);
            state as u8
        })
        .collect()
}

/// The size of the batch that starts at `seq`: 1..=4 entries.
fn batch_at(seq: u64) -> Vec<Vec<u8>> {
    let n = 1 + mix(seq ^ 0xABCD_EF01) % 4;
    (seq..seq + n).map(payload).collect()
}

/// The writer. Does nothing unless the parent set `DIR_ENV`.
#[test]
fn kill_writer_child() {
    let Ok(dir) = std::env::var(DIR_ENV) else {
        return;
    };
    let config = parse_cfg(&std::env::var(CFG_ENV).expect("config env"));
    let redex = Redex::with_persistent_dir(&dir).expect("child: open dir");
    let f = redex.open_file(&name(), config).expect("child: open file");
    let mut out = std::io::stdout().lock();
    writeln!(out, "start {}", f.next_seq()).expect("stdout");
    out.flush().expect("flush");
    for _ in 0..CHILD_APPENDS_MAX {
        let seq = f.next_seq();
        let batch = batch_at(seq);
        let first = f.append_batch(&batch).expect("child: append");
        assert_eq!(first, Some(seq));
        writeln!(out, "ack {}", seq + batch.len() as u64).expect("stdout");
        out.flush().expect("flush");
    }
}

/// The number in a writer line `<tag> <n>`. The harness prints `test <name> ... ` without a
/// newline before the test body runs, so the tag may follow other text on its line.
fn tagged(line: &str, tag: &str) -> Option<u64> {
    let (before, n) = line.rsplit_once(&format!("{tag} "))?;
    if !(before.is_empty() || before.ends_with(' ')) {
        return None;
    }
    n.trim().parse().ok()
}

/// splitmix64 for the kill schedule.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = mix(self.0);
        self.0 % n
    }
}

/// Reopens `dir` and checks every entry against `payload`; returns the recovered `next_seq`.
fn verify(dir: &Path, config: &RedexFileConfig, acked: u64, round: usize) -> u64 {
    let redex = Redex::with_persistent_dir(dir).expect("parent: open dir");
    let f = redex
        .open_file(&name(), config.clone())
        .unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
    let next = f.next_seq();
    assert!(next >= acked, "round {round}: recovered {next} entries but {acked} were acknowledged");
    let mut seq = 0;
    while seq < next {
        let chunk = f.read_range(seq, seq + 4096).expect("read_range");
        assert!(!chunk.is_empty(), "round {round}: no entry at {seq}");
        for ev in chunk {
            assert_eq!(ev.seq, seq, "round {round}: dense seqs");
            assert!(
                ev.payload[..] == payload(seq)[..],
                "round {round}: entry {seq} has the wrong bytes (acked up to {acked})"
            );
            seq += 1;
        }
    }
    // Appends after recovery continue the same deterministic sequence.
    for _ in 0..3 {
        let s = f.next_seq();
        assert_eq!(f.append_batch(&batch_at(s)).expect("append"), Some(s));
    }
    let end = f.next_seq();
    f.close().expect("close");
    end
}

#[test]
fn killed_writer_keeps_every_acknowledged_entry() {
    let dir = scratch();
    let exe = std::env::current_exe().expect("current exe");
    let mut rng = Rng(0x5EED_0001);
    let mut expected_start = 0;
    let mut total_acks = 0;
    for round in 0..ROUNDS {
        let policy = if round % 2 == 0 { "never" } else { "every1" };
        let segment = match round % 4 {
            0 | 1 => 4096,
            2 => 16 << 10,
            _ => 1 << 20,
        };
        let cfg_str = format!("{policy}:{segment}");
        let config = parse_cfg(&cfg_str);
        let mut child = Command::new(&exe)
            .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
            .env(DIR_ENV, dir.path())
            .env(CFG_ENV, &cfg_str)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn writer");
        let stdout = child.stdout.take().expect("stdout");
        let mut stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let err_reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });

        // Wait for the writer to be appending, then let it run a random while and kill it.
        let mut lines = Vec::new();
        let wait_acks = 1 + rng.below(40);
        let mut acks_seen = 0;
        while acks_seen < wait_acks {
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    acks_seen += u64::from(tagged(&line, "ack").is_some());
                    lines.push(line);
                }
                Err(_) => break, // the writer died or finished; the checks below will say
            }
        }
        std::thread::sleep(Duration::from_micros(rng.below(6000)));
        child.kill().expect("kill writer");
        let status = child.wait().expect("wait writer");
        reader.join().expect("reader thread");
        lines.extend(rx.try_iter());
        let stderr = err_reader.join().expect("stderr thread");
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(
                status.signal(),
                Some(libc::SIGKILL),
                "round {round}: writer was not killed mid-run: {status:?}\n{stderr}"
            );
        }
        let start: Vec<u64> = lines.iter().filter_map(|l| tagged(l, "start")).collect();
        assert_eq!(start, vec![expected_start], "round {round}: writer's start\n{stderr}");
        let acked = lines.iter().filter_map(|l| tagged(l, "ack")).max().unwrap_or(expected_start);
        total_acks += acked - expected_start;
        let state = describe_dir(dir.path());
        let before = expected_start;
        expected_start = verify(dir.path(), &config, acked, round);
        eprintln!(
            "round {round} ({cfg_str}): started at {before}, acked {acked}, \
             on disk after the kill: {state}"
        );
    }
    assert!(total_acks > 0, "the writers acknowledged nothing");
}

/// What the kill left in the segment directory, for the test log (`--nocapture`).
fn describe_dir(base: &Path) -> String {
    let seg = base.join("channels/crash/kill/.redex");
    let mut names: Vec<(String, u64)> = std::fs::read_dir(&seg)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| {
                    let len = e.metadata().map(|m| m.len()).unwrap_or(0);
                    (e.file_name().to_string_lossy().into_owned(), len)
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let logs = names.iter().filter(|(n, _)| n.ends_with(".log")).count();
    let tail: Vec<String> = names
        .iter()
        .rev()
        .take(3)
        .map(|(n, len)| format!("{}:{len}", n.trim_start_matches('0')))
        .collect();
    format!("{logs} logs, last files {tail:?}")
}

/// A scratch directory on tmpfs when there is one (SIGKILL only needs the page cache, and the
/// rollover fsyncs are slow on a real disk).
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::tempdir_in(shm) {
            return dir;
        }
    }
    tempfile::tempdir().expect("tempdir")
}
