//! Goal: a log cut or damaged anywhere near its end never makes the engine panic or hand out
//! wrong bytes. For every byte position of the last frames of the active `.log`, a copy of the
//! channel with the log truncated there (or with one byte flipped there) reopens to exactly the
//! entries of the complete, intact frames before that position, byte-identical, and takes and
//! keeps new appends. The same holds for the log of a full segment whose freeze had not made it
//! durable (no `.idx` yet, a later log already created) when it is cut: the log ends there.
//! Damage to a frozen segment's `.idx` or `.log` yields an error naming the damaged file or the
//! right bytes, never wrong ones.

use std::fs;
use std::path::{Path, PathBuf};

use redex::{ChannelName, Redex, RedexError, RedexFileConfig};

const CHANNEL: &str = "a/b";
const LOG_HEADER_LEN: usize = 32;
const FRAME_HEADER_LEN: usize = 32;
/// How many trailing frames of the active log are cut and flipped byte by byte.
const TAIL_FRAMES: usize = 3;

/// Length of a frozen segment index's header (docs/FORMAT.md).
const IDX_HEADER_LEN: usize = 40;
fn name() -> ChannelName {
    ChannelName::new(CHANNEL).expect("valid channel name")
}

fn cfg(segment_bytes: u64) -> RedexFileConfig {
    RedexFileConfig::default().with_persistent(true).with_segment_bytes_max(segment_bytes)
}

fn seg_dir(base: &Path) -> PathBuf {
    base.join("channels").join("a").join("b").join(".redex")
}

/// splitmix64: a tiny deterministic generator, so every run appends the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// `n` random batches of 1..=4 payloads (a third of them 0..=8 bytes, the rest 9..=300), then
/// three fixed batches so the tail frames always mix inline-sized, empty and larger payloads.
fn batches(seed: u64, n: usize) -> Vec<Vec<Vec<u8>>> {
    let mut rng = Rng(seed);
    let mut out: Vec<Vec<Vec<u8>>> = (0..n)
        .map(|_| {
            let count = 1 + rng.below(4) as usize;
            (0..count)
                .map(|_| {
                    let len = if rng.below(3) == 0 { rng.below(9) } else { 9 + rng.below(292) };
                    rng.bytes(len as usize)
                })
                .collect()
        })
        .collect();
    out.push(vec![rng.bytes(300)]);
    out.push(vec![Vec::new(), rng.bytes(1), rng.bytes(8), rng.bytes(9)]);
    out.push(vec![rng.bytes(5), rng.bytes(120)]);
    out
}

/// Writes `batches` to a fresh channel under `base`, closes it, and returns the flat model.
fn populate(base: &Path, segment_bytes: u64, batches: &[Vec<Vec<u8>>]) -> Vec<Vec<u8>> {
    let redex = Redex::with_persistent_dir(base).expect("open dir");
    let f = redex.open_file(&name(), cfg(segment_bytes)).expect("open");
    let mut model = Vec::new();
    for b in batches {
        let first = f.append_batch(b).expect("append").expect("non-empty");
        assert_eq!(first, model.len() as u64);
        model.extend(b.iter().cloned());
    }
    f.close().expect("close");
    model
}

/// One frame of a log file, as found by walking the frame headers.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    first_seq: u64,
    count: u64,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Walks the frames of an intact log file.
fn spans(log: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut at = LOG_HEADER_LEN;
    while at < log.len() {
        assert_eq!(&log[at..at + 4], b"RXFR", "frame magic at {at}");
        let end = at + FRAME_HEADER_LEN + u32_at(log, at + 24) as usize;
        out.push(Span {
            start: at,
            end,
            first_seq: u64_at(log, at + 8),
            count: u64::from(u32_at(log, at + 4)),
        });
        at = end;
    }
    assert_eq!(at, log.len(), "the intact log ends on a frame boundary");
    out
}

fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

/// A scratch directory on tmpfs when there is one: recovery fsyncs a lot, and these tests only
/// need crash-of-the-process semantics, which the page cache gives.
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::tempdir_in(shm) {
            return dir;
        }
    }
    tempfile::tempdir().expect("tempdir")
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("list") {
        let entry = entry.expect("entry");
        let dst = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &dst);
        } else {
            fs::copy(entry.path(), &dst).expect("copy");
        }
    }
}

/// A fresh copy of `src` with `damage` applied to the file at `rel` (relative to the base).
fn damaged_copy(src: &Path, rel: &Path, damage: impl FnOnce(&mut Vec<u8>)) -> tempfile::TempDir {
    let work = scratch();
    copy_dir(src, work.path());
    let path = work.path().join(rel);
    let mut bytes = fs::read(&path).expect("read");
    damage(&mut bytes);
    fs::write(&path, &bytes).expect("write");
    work
}

/// Reads every entry and checks it against the model prefix of the same length.
fn assert_prefix(f: &redex::RedexFile, model: &[Vec<u8>], expected_len: u64, what: &str) {
    assert_eq!(f.next_seq(), expected_len, "{what}: next_seq");
    let got = f.read_range(0, u64::MAX).expect("read_range");
    assert_eq!(got.len() as u64, expected_len, "{what}: entries read");
    for (i, ev) in got.iter().enumerate() {
        assert_eq!(ev.seq, i as u64, "{what}: seq order");
        assert!(ev.payload[..] == model[i][..], "{what}: entry {i} differs from what was appended");
    }
}

/// Reopens a recovered copy, checks the expected prefix, appends a marker batch, and checks
/// that the prefix plus the marker survive one more reopen.
fn reopen_check_append(
    base: &Path,
    segment_bytes: u64,
    model: &[Vec<u8>],
    expected: u64,
    what: &str,
) {
    let marker: Vec<Vec<u8>> = vec![b"after-recovery".to_vec(), vec![7u8; 3], vec![9u8; 40]];
    {
        let redex = Redex::with_persistent_dir(base).expect("open dir");
        let f = redex
            .open_file(&name(), cfg(segment_bytes))
            .unwrap_or_else(|e| panic!("{what}: reopen failed: {e}"));
        assert_prefix(&f, model, expected, what);
        assert_eq!(
            f.append_batch(&marker).expect("append after recovery"),
            Some(expected),
            "{what}: first seq after recovery"
        );
        f.close().expect("close");
    }
    let mut full: Vec<Vec<u8>> = model[..expected as usize].to_vec();
    full.extend(marker.iter().cloned());
    let redex = Redex::with_persistent_dir(base).expect("open dir");
    let f = redex
        .open_file(&name(), cfg(segment_bytes))
        .unwrap_or_else(|e| panic!("{what}: second reopen failed: {e}"));
    assert_prefix(&f, &full, full.len() as u64, &format!("{what} (second reopen)"));
}

/// The source channel plus what the test needs to know about its active log.
struct Fixture {
    src: tempfile::TempDir,
    model: Vec<Vec<u8>>,
    /// The active log, relative to the base directory.
    active_rel: PathBuf,
    active_len: usize,
    tail: Vec<Span>,
    /// Seq of the active segment's first entry.
    active_base: u64,
    frozen: usize,
    segment_bytes: u64,
    /// Append timestamps of the entries, as read from the intact channel.
    timestamps: Vec<u64>,
}

fn fixture(segment_bytes: u64, seed: u64, n_batches: usize) -> Fixture {
    let src = scratch();
    let model = populate(src.path(), segment_bytes, &batches(seed, n_batches));
    let seg = seg_dir(src.path());
    let logs = files_with_ext(&seg, "log");
    let active = logs.last().expect("an active log").clone();
    let bytes = fs::read(&active).expect("read active log");
    let all = spans(&bytes);
    assert!(all.len() >= TAIL_FRAMES, "active log has {} frames", all.len());
    let active_base = u64_at(&bytes, 16);
    assert_eq!(all[0].first_seq, active_base);
    let timestamps = {
        let redex = Redex::with_persistent_dir(src.path()).expect("open dir");
        let f = redex.open_file(&name(), cfg(segment_bytes)).expect("open");
        let events = f.read_range(0, u64::MAX).expect("read");
        events.iter().map(|e| e.timestamp_ns).collect()
    };
    let last = all[all.len() - 1];
    assert_eq!(last.first_seq + last.count, model.len() as u64);
    Fixture {
        active_rel: active.strip_prefix(src.path()).expect("under base").to_path_buf(),
        active_len: bytes.len(),
        tail: all[all.len() - TAIL_FRAMES..].to_vec(),
        active_base,
        frozen: files_with_ext(&seg, "idx").len(),
        src,
        model,
        segment_bytes,
        timestamps,
    }
}

/// Entries that survive a cut at `cut`: those of frames wholly before it.
fn survivors_of_cut(fx: &Fixture, cut: usize) -> u64 {
    if cut <= LOG_HEADER_LEN {
        // A torn header: the segment is recreated empty; a bare header holds nothing.
        return fx.active_base;
    }
    fx.tail
        .iter()
        .filter(|s| s.end <= cut)
        .map(|s| s.first_seq + s.count)
        .max()
        .unwrap_or(fx.tail[0].first_seq)
}

fn cut_every_tail_byte(fx: &Fixture, include_header: bool) {
    let mut cuts: Vec<usize> = (fx.tail[0].start..=fx.active_len).collect();
    if include_header {
        cuts.extend(0..=LOG_HEADER_LEN);
    }
    for cut in cuts {
        let expected = survivors_of_cut(fx, cut);
        let work = damaged_copy(fx.src.path(), &fx.active_rel, |b| b.truncate(cut));
        let what = format!("log cut at byte {cut} of {}", fx.active_len);
        reopen_check_append(work.path(), fx.segment_bytes, &fx.model, expected, &what);
    }
}

fn flip_every_tail_byte(fx: &Fixture) {
    for span in &fx.tail {
        for pos in span.start..span.end {
            let work = damaged_copy(fx.src.path(), &fx.active_rel, |b| b[pos] ^= 0x01);
            let what = format!("log byte {pos} flipped (frame {}..{})", span.start, span.end);
            {
                let redex = Redex::with_persistent_dir(work.path()).expect("open dir");
                let f = redex
                    .open_file(&name(), cfg(fx.segment_bytes))
                    .unwrap_or_else(|e| panic!("{what}: reopen failed: {e}"));
                assert_prefix(&f, &fx.model, span.first_seq, &what);
                let len = fs::metadata(work.path().join(&fx.active_rel)).expect("stat").len();
                assert_eq!(len, span.start as u64, "{what}: log not cut at the damaged frame");
            }
            reopen_check_append(work.path(), fx.segment_bytes, &fx.model, span.first_seq, &what);
        }
    }
}

#[test]
fn cut_tail_of_single_segment_log() {
    let fx = fixture(64 << 20, 1, 30);
    assert_eq!(fx.frozen, 0);
    assert_eq!(fx.active_base, 0);
    cut_every_tail_byte(&fx, true);
}

#[test]
fn cut_tail_of_log_after_frozen_segments() {
    let fx = fixture(4096, 2, 60);
    assert!(fx.frozen >= 2, "want frozen segments, got {}", fx.frozen);
    assert!(fx.active_base > 0);
    cut_every_tail_byte(&fx, true);
}

#[test]
fn flipped_byte_in_tail_truncates_at_damaged_frame_single_segment() {
    let fx = fixture(64 << 20, 3, 30);
    flip_every_tail_byte(&fx);
}

#[test]
fn flipped_byte_in_tail_truncates_at_damaged_frame_after_frozen_segments() {
    let fx = fixture(4096, 4, 60);
    assert!(fx.frozen >= 2, "want frozen segments, got {}", fx.frozen);
    flip_every_tail_byte(&fx);
}

/// Flips `mask` into byte `pos` of the file `rel` in a copy, then checks that opening fails
/// naming one of the `allowed` files, or that every entry reads back as appended (payload and
/// timestamp) or fails naming one of them.
fn check_frozen_damage(fx: &Fixture, rel: &Path, pos: usize, mask: u8, allowed: &[PathBuf]) {
    let work = damaged_copy(fx.src.path(), rel, |b| b[pos] ^= mask);
    let what = format!("{} byte {pos} ^ {mask:#04x}", rel.display());
    let allowed: Vec<PathBuf> = allowed.iter().map(|p| work.path().join(p)).collect();
    let names_damaged_file = |e: &RedexError| match e {
        RedexError::Corrupt { path, .. } | RedexError::UnsupportedVersion { path, .. } => {
            allowed.contains(path)
        }
        _ => false,
    };
    let redex = Redex::with_persistent_dir(work.path()).expect("open dir");
    let f = match redex.open_file(&name(), cfg(fx.segment_bytes)) {
        Ok(f) => f,
        Err(e) => {
            assert!(names_damaged_file(&e), "{what}: open error {e:?} does not name it");
            return;
        }
    };
    assert_eq!(f.next_seq(), fx.model.len() as u64, "{what}: next_seq");
    for (seq, want) in fx.model.iter().enumerate() {
        match f.get(seq as u64) {
            Ok(Some(ev)) => {
                assert!(
                    ev.payload[..] == want[..],
                    "{what}: seq {seq} read back WRONG BYTES without an error"
                );
                assert_eq!(
                    ev.timestamp_ns, fx.timestamps[seq],
                    "{what}: seq {seq} read back a wrong timestamp without an error"
                );
            }
            Ok(None) => panic!("{what}: seq {seq} missing"),
            Err(e) => assert!(names_damaged_file(&e), "{what}: seq {seq}: {e:?}"),
        }
    }
}

#[test]
fn flipped_bytes_in_frozen_segment_are_errors_or_correct_data() {
    let fx = fixture(4096, 5, 60);
    assert!(fx.frozen >= 2, "want frozen segments, got {}", fx.frozen);
    let seg = seg_dir(fx.src.path());
    let idx = files_with_ext(&seg, "idx")[0].clone();
    let log = idx.with_extension("log");
    let rel = |p: &Path| p.strip_prefix(fx.src.path()).expect("under base").to_path_buf();
    let allowed = [rel(&idx), rel(&log)];
    let idx_len = fs::metadata(&idx).expect("stat idx").len() as usize;
    let log_len = fs::metadata(&log).expect("stat log").len() as usize;
    // Every byte of the index with a low and a high bit, and every bit of each record's
    // flags/checksum word (inline flag and inline length are single bits there).
    let records = u32_at(&fs::read(&idx).expect("read idx"), 24) as usize;
    for pos in 0..idx_len {
        check_frozen_damage(&fx, &allowed[0], pos, 0x01, &allowed);
        check_frozen_damage(&fx, &allowed[0], pos, 0x80, &allowed);
    }
    for r in 0..records {
        for pos in IDX_HEADER_LEN + 20 * r + 16..IDX_HEADER_LEN + 20 * r + 20 {
            for bit in 1..7 {
                check_frozen_damage(&fx, &allowed[0], pos, 1 << bit, &allowed);
            }
        }
    }
    // The sealed log: its header and first frames byte by byte, then a stride through the rest.
    for pos in (0..log_len).filter(|&p| p < 512 || p.is_multiple_of(7)) {
        check_frozen_damage(&fx, &allowed[1], pos, 0x01, &allowed);
    }
}

/// A flipped bit in a frozen segment's time column must not be handed out as the entry's
/// timestamp (it was, before record checksums covered the timestamp; age retention and the
/// floor for new timestamps read that column too). Each byte of the column is flipped in turn;
/// reading the entry must either fail with `Corrupt` or return the timestamp
/// that was read before the damage.
#[test]
fn flipped_timestamp_in_frozen_index_is_detected() {
    let fx = fixture(4096, 6, 60);
    let seg = seg_dir(fx.src.path());
    let idx = files_with_ext(&seg, "idx")[0].clone();
    let idx_rel = idx.strip_prefix(fx.src.path()).expect("under base").to_path_buf();
    let raw = fs::read(&idx).expect("read idx");
    let first = u64_at(&raw, 16);
    let count = u32_at(&raw, 24) as usize;
    let times_at = IDX_HEADER_LEN + 20 * count;
    let original: Vec<u64> = {
        let redex = Redex::with_persistent_dir(fx.src.path()).expect("open dir");
        let f = redex.open_file(&name(), cfg(fx.segment_bytes)).expect("open");
        (first..first + count as u64)
            .map(|s| f.get(s).expect("get").expect("present").timestamp_ns)
            .collect()
    };
    let mut silent = Vec::new();
    for (slot, &appended) in original.iter().enumerate() {
        for byte in 0..8 {
            let pos = times_at + 8 * slot + byte;
            let work = damaged_copy(fx.src.path(), &idx_rel, |b| b[pos] ^= 0x01);
            let redex = Redex::with_persistent_dir(work.path()).expect("open dir");
            let Ok(f) = redex.open_file(&name(), cfg(fx.segment_bytes)) else {
                continue;
            };
            let seq = first + slot as u64;
            if let Ok(Some(ev)) = f.get(seq) {
                if ev.timestamp_ns != appended {
                    silent.push((pos, seq, appended, ev.timestamp_ns));
                }
            }
        }
    }
    assert!(
        silent.is_empty(),
        "{} flipped timestamp bytes were returned as data without an error, e.g. \
         (idx byte, seq, appended ts, returned ts) = {:?}",
        silent.len(),
        &silent[..silent.len().min(3)]
    );
}

/// A full segment is frozen in the background after the next log was created (durably), so a
/// machine crash can leave its log without an index and shorter than what was appended, while
/// the next log exists. Wherever the cut falls (inside a frame, on a frame boundary, right after
/// the header), recovery must end the log at the cut: the intact frames before it survive, the
/// later log (which lies beyond the gap) goes, and the channel takes appends again.
#[test]
fn cut_unfrozen_full_segment_ends_the_log_at_the_cut() {
    let fx = fixture(4096, 7, 60);
    let seg = seg_dir(fx.src.path());
    let idx = files_with_ext(&seg, "idx").last().expect("a frozen segment").clone();
    let log = idx.with_extension("log");
    let rel = |p: &Path| p.strip_prefix(fx.src.path()).expect("under base").to_path_buf();
    let (idx_rel, log_rel) = (rel(&idx), rel(&log));
    let bytes = fs::read(&log).expect("read log");
    let all = spans(&bytes);
    let base = u64_at(&bytes, 16);
    assert!(base + all.iter().map(|s| s.count).sum::<u64>() == fx.active_base);
    let mut cuts: std::collections::BTreeSet<usize> =
        (all[all.len() - TAIL_FRAMES].start..=bytes.len()).collect();
    cuts.extend(all.iter().map(|s| s.start));
    let mut failures = Vec::new();
    for cut in cuts {
        let work = damaged_copy(fx.src.path(), &log_rel, |b| b.truncate(cut));
        fs::remove_file(work.path().join(&idx_rel)).expect("remove idx");
        // A freeze that never wrote its index never reached the manifest either: drop the
        // manifest's last record (the fixture has no retention, so it is this segment's).
        let manifest = work.path().join(idx_rel.parent().expect("segment dir")).join("manifest");
        let manifest_len = fs::metadata(&manifest).expect("manifest").len();
        fs::OpenOptions::new()
            .write(true)
            .open(&manifest)
            .and_then(|f| f.set_len(manifest_len - 64))
            .expect("drop the last manifest record");
        let expected = if cut == bytes.len() {
            fx.model.len() as u64
        } else {
            base + all.iter().filter(|s| s.end <= cut).map(|s| s.count).sum::<u64>()
        };
        let what = format!("unfrozen log cut at byte {cut} of {}", bytes.len());
        // Collect refusals to reopen so the report shows every failing cut at once; any other
        // deviation fails right away.
        let opened = Redex::with_persistent_dir(work.path())
            .and_then(|r| r.open_file(&name(), cfg(fx.segment_bytes)).map(|f| f.close()));
        if let Err(e) = opened {
            failures.push(format!("{what}: reopen failed: {e}"));
            continue;
        }
        reopen_check_append(work.path(), fx.segment_bytes, &fx.model, expected, &what);
    }
    assert!(
        failures.is_empty(),
        "{} cuts failed, e.g.:\n{}",
        failures.len(),
        failures.iter().take(4).cloned().collect::<Vec<_>>().join("\n")
    );
}
