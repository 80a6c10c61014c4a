//! Decoder targets for the on-disk structures of `redex-tiers`: the 20-byte index record, the
//! log header and frames (replayed as recovery does), the index file of a frozen segment (raw,
//! and as a mapped segment built valid then damaged), and the manifest.
//!
//! Each function takes arbitrary bytes and panics only when an invariant fails: a decoder must
//! return `Ok` or an error, never panic, read out of bounds, or allocate more than the input
//! justifies ([`crate::alloc_guard`]); what it accepts must round-trip.

use std::path::Path;

use bytes::Bytes;
use redex_tiers::cold::object::ObjectHeader;
use redex_tiers::frame::{self, FRAME_HEADER_LEN};
use redex_tiers::index_file::{self, INDEX_FOOTER_LEN, INDEX_HEADER_LEN};
use redex_tiers::index_record::{record_checksum, IndexRecord, PayloadRef, INDEX_RECORD_LEN};
use redex_tiers::log_file::{self, LOG_HEADER_LEN};
use redex_tiers::manifest::{self, MANIFEST_HEADER_LEN, RECORD_LEN};
use redex_tiers::{FrozenSegment, HotSegment, TierError};

use crate::alloc_guard::check_allocations;
use crate::input::Input;

/// Index records: any 20 bytes decode to a payload reference or a clear refusal; an accepted
/// record's fields are within their ranges; records built from payloads read back exactly.
pub fn index_record(data: &[u8]) {
    let whole = data.len() / INDEX_RECORD_LEN * INDEX_RECORD_LEN;
    let records: &[IndexRecord] =
        bytemuck::try_cast_slice(&data[..whole]).expect("alignment-1 records cast from any offset");
    for rec in records {
        let _ = rec.seq();
        let _ = rec.checksum();
        match rec.payload_ref() {
            Ok(PayloadRef::Inline { bytes, len }) => {
                assert!(len <= bytes.len(), "inline length {len}");
                assert_eq!(rec.payload_len() as usize, len);
                // Rebuilding the record from its payload gives the same payload. (Padding
                // bytes past `len` are not checked by the decoder: they are never handed out,
                // and the record checksum covers only the payload.)
                let again = IndexRecord::new(rec.seq(), 0, &bytes[..len], 0);
                match again.payload_ref() {
                    Ok(PayloadRef::Inline { bytes: b, len: l }) => {
                        assert_eq!((&b[..l], l), (&bytes[..len], len));
                    }
                    other => panic!("rebuilt inline record decodes as {other:?}"),
                }
            }
            Ok(PayloadRef::InLog { len, .. }) => assert_eq!(rec.payload_len(), len),
            Err(why) => {
                assert!(!why.is_empty());
                assert_eq!(rec.payload_len(), 0);
            }
        }
    }
    // Round trip: a record built from fuzzer payloads holds exactly that payload.
    let mut input = Input::new(data);
    let seq = u64::from(input.u32());
    let offset = input.u32();
    let ts = u64::from(input.u32());
    let payload = input.bytes(40);
    let rec = IndexRecord::new(seq, offset, payload, ts);
    let back: IndexRecord = *bytemuck::from_bytes(bytemuck::bytes_of(&rec));
    assert_eq!(back.seq(), seq);
    assert_eq!(back.checksum(), record_checksum(payload, ts));
    assert_eq!(back.payload_len() as usize, payload.len());
    match back.payload_ref() {
        Ok(PayloadRef::Inline { bytes, len }) => assert_eq!(&bytes[..len], payload),
        Ok(PayloadRef::InLog { offset: o, len }) => {
            assert!(payload.len() > redex_tiers::INLINE_MAX);
            assert_eq!((o, len as usize), (offset, payload.len()));
        }
        Err(why) => panic!("a record built from a payload is refused: {why}"),
    }
}

/// A log file: header, then frames replayed exactly as recovery does. Whatever replay keeps
/// lies inside the input and re-parses to the same entries; a log built from fuzzer payloads
/// replays to exactly those payloads, and every cut of it to a prefix of them.
pub fn log_frame(data: &[u8]) {
    let path = Path::new("fuzz.log");
    let mut input = Input::new(data);
    if input.u8().is_multiple_of(2) {
        raw_log(path, &data[1.min(data.len())..]);
    } else {
        built_log(path, &mut input);
    }
}

fn raw_log(path: &Path, data: &[u8]) {
    check_allocations(data, "log header", || match log_file::decode_header(path, data) {
        Ok(first) => assert_eq!(&log_file::encode_header(first)[..], &data[..LOG_HEADER_LEN]),
        Err(e) => assert_clear(&e),
    });
    // Replay whatever follows a header position, whether or not the header is valid: frames
    // are checked on their own.
    let frames = Bytes::copy_from_slice(data.get(LOG_HEADER_LEN..).unwrap_or_default());
    let base = u64::from_le_bytes(data.get(16..24).map_or([0; 8], |b| {
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        a
    }));
    let (seg, report) = check_allocations(data, "log replay", || {
        HotSegment::replay(base, LOG_HEADER_LEN as u64, frames.clone())
    });
    check_replay(&seg, &report, &frames);
    // Every frame parse on its own stays inside the buffer.
    let mut at = 0;
    while at < frames.len() {
        match frame::parse(&frames[at..]) {
            Ok(view) => {
                for (off, len) in view.payloads() {
                    assert!(off + len <= view.frame_len && at + view.frame_len <= frames.len());
                }
                at += view.frame_len;
            }
            Err(_) => at += 1 + (frames[at] as usize % 7),
        }
    }
}

fn check_replay(seg: &HotSegment, report: &redex_tiers::ReplayReport, frames: &Bytes) {
    let valid = report.valid_len - LOG_HEADER_LEN as u64;
    assert!(valid + report.dropped_bytes <= frames.len() as u64);
    // What is neither kept nor dropped can only be a zero tail (preallocated space).
    let rest = &frames[(valid + report.dropped_bytes) as usize..];
    assert!(rest.iter().all(|&b| b == 0), "unaccounted non-zero bytes after the replay");
    assert_eq!(report.stop_reason.is_some(), report.dropped_bytes > 0);
    assert_eq!(seg.log_len(), report.valid_len);
    let mut total = 0u64;
    for seq in seg.base_seq()..seg.next_seq() {
        let (p, _) = seg.get(seq).expect("replayed entry readable");
        total += p.len() as u64;
    }
    assert_eq!(total, seg.payload_bytes());
    // Frozen-index records built from the replay point inside the valid prefix.
    for (rec, _) in seg.index_records() {
        if let Ok(PayloadRef::InLog { offset, len }) = rec.payload_ref() {
            assert!(u64::from(offset) + u64::from(len) <= report.valid_len);
        }
    }
}

/// Builds `batches` as frames after a header; returns the log bytes and the flat payloads.
fn build_log(input: &mut Input<'_>, base: u64) -> (Vec<u8>, Vec<Vec<u8>>, Vec<usize>) {
    let mut log = log_file::encode_header(base).to_vec();
    let mut flat = Vec::new();
    let mut frame_ends = Vec::new();
    let batches = 1 + input.below(6);
    for b in 0..batches {
        let n = 1 + input.below(5) as usize;
        let payloads: Vec<Vec<u8>> = (0..n)
            .map(|_| {
                let len = if input.bool() { input.below(9) } else { input.below(400) } as usize;
                input.bytes(len).to_vec()
            })
            .collect();
        let len = frame::encoded_len(&payloads).expect("small frame");
        frame::encode(
            &mut log,
            base + flat.len() as u64,
            1000 + b,
            &payloads,
            (len - FRAME_HEADER_LEN) as u32,
        );
        flat.extend(payloads);
        frame_ends.push(log.len());
    }
    (log, flat, frame_ends)
}

fn built_log(path: &Path, input: &mut Input<'_>) {
    let base = u64::from(input.u16());
    let (log, flat, frame_ends) = build_log(input, base);
    assert_eq!(log_file::decode_header(path, &log).ok(), Some(base));
    let replay_prefix = |cut: usize| {
        let frames = Bytes::copy_from_slice(&log[LOG_HEADER_LEN..cut]);
        let (seg, report) = HotSegment::replay(base, LOG_HEADER_LEN as u64, frames.clone());
        check_replay(&seg, &report, &frames);
        let whole = frame_ends.iter().filter(|&&end| end <= cut).count();
        let expect_len = frame_ends[..whole].last().copied().unwrap_or(LOG_HEADER_LEN);
        assert_eq!(report.valid_len as usize, expect_len, "cut at {cut}");
        for (i, p) in flat.iter().enumerate().take(seg.len()) {
            assert_eq!(seg.get(base + i as u64).map(|(b, _)| b.to_vec()), Some(p.clone()));
        }
        seg.len()
    };
    assert_eq!(replay_prefix(log.len()), flat.len());
    let cut = LOG_HEADER_LEN + input.below((log.len() - LOG_HEADER_LEN) as u64 + 1) as usize;
    replay_prefix(cut);
    // A flipped byte ends replay at or before the frame that holds it.
    let mut bad = log.clone();
    let at = LOG_HEADER_LEN + input.below((log.len() - LOG_HEADER_LEN) as u64) as usize;
    bad[at] ^= 1 | input.u8();
    let frames = Bytes::copy_from_slice(&bad[LOG_HEADER_LEN..]);
    let (seg, report) = HotSegment::replay(base, LOG_HEADER_LEN as u64, frames.clone());
    check_replay(&seg, &report, &frames);
    assert!(report.valid_len as usize <= at, "a flip at {at} was replayed past");
    for (i, p) in flat.iter().enumerate().take(seg.len()) {
        assert_eq!(seg.get(base + i as u64).map(|(b, _)| b.to_vec()), Some(p.clone()));
    }
}

/// A frozen segment's index file: raw bytes through `index_file::decode`, or a valid segment
/// (built from fuzzer payloads) damaged in place, optionally with every checksum recomputed so
/// the damage gets past them, then mapped and read every way the engine reads it.
pub fn index_file(data: &[u8]) {
    let mut input = Input::new(data);
    if input.u8().is_multiple_of(2) {
        let raw = input.rest();
        let path = Path::new("fuzz.idx");
        check_allocations(raw, "index decode", || match index_file::decode(path, raw) {
            Ok((footer, layout)) => {
                assert_eq!(layout.file_len(), raw.len());
                assert!(footer.count >= 1 && layout.frames >= 1);
                for i in 0..layout.frames {
                    let _ = index_file::frame_entry(raw, &layout, i);
                }
                let _ = index_file::verify_body(path, raw, &footer, &layout);
            }
            Err(e) => assert_clear(&e),
        });
    } else {
        frozen_segment(&mut input);
    }
}

fn reseal_index(idx: &mut [u8]) {
    const H_CRC: usize = INDEX_HEADER_LEN - 4;
    if idx.len() < INDEX_HEADER_LEN + INDEX_FOOTER_LEN {
        return;
    }
    let crc = crc32c::crc32c(&idx[..H_CRC]);
    idx[H_CRC..INDEX_HEADER_LEN].copy_from_slice(&crc.to_le_bytes());
    let footer_at = idx.len() - INDEX_FOOTER_LEN;
    let body = crc32c::crc32c(&idx[..footer_at]);
    idx[footer_at + 48..footer_at + 52].copy_from_slice(&body.to_le_bytes());
    let fcrc = crc32c::crc32c(&idx[footer_at..footer_at + 52]);
    idx[footer_at + 52..footer_at + 56].copy_from_slice(&fcrc.to_le_bytes());
}

fn frozen_segment(input: &mut Input<'_>) {
    let base = u64::from(input.u16());
    let (log, flat, _) = build_log(input, base);
    let frames = Bytes::copy_from_slice(&log[LOG_HEADER_LEN..]);
    let (hot, _) = HotSegment::replay(base, LOG_HEADER_LEN as u64, frames);
    assert_eq!(hot.len(), flat.len());
    let entries: Vec<_> = hot.index_records().collect();
    let table: Vec<_> = hot.frame_table().collect();
    let mut idx = index_file::encode(base, &entries, &table, hot.log_len(), hot.payload_bytes());
    let mut log = log;
    // Damage: byte writes into either file, maybe a cut, maybe checksums made to agree again.
    let mut damaged_idx = false;
    let mut damaged_log = false;
    for _ in 0..input.below(5) {
        let (file, flag) =
            if input.bool() { (&mut idx, &mut damaged_idx) } else { (&mut log, &mut damaged_log) };
        match input.u8() % 8 {
            0 => {
                let cut = input.below(file.len() as u64 + 1) as usize;
                file.truncate(cut);
            }
            1 => {
                // Overwrite an aligned little-endian u32 (counts, offsets, lengths).
                if file.len() >= 4 {
                    let at = input.below(file.len() as u64 - 3) as usize;
                    file[at..at + 4].copy_from_slice(&input.u32().to_le_bytes());
                }
            }
            _ => {
                if !file.is_empty() {
                    let at = input.below(file.len() as u64) as usize;
                    file[at] ^= 1 | input.u8();
                }
            }
        }
        *flag = true;
    }
    let resealed = input.bool();
    if resealed {
        reseal_index(&mut idx);
    }
    let dir = scratch();
    let (log_path, idx_path) = (dir.path().join("0.log"), dir.path().join("0.idx"));
    std::fs::write(&log_path, &log).expect("write log");
    std::fs::write(&idx_path, &idx).expect("write idx");
    let seg = match FrozenSegment::open(&log_path, &idx_path) {
        Ok(seg) => seg,
        Err(e) => {
            assert!(damaged_idx || damaged_log, "an intact segment was refused: {e}");
            assert_clear(&e);
            return;
        }
    };
    let (first, next) = (seg.base_seq(), seg.next_seq());
    let intact = !damaged_idx && !damaged_log;
    // Point reads: what comes back agrees with its record's checksum; when the index is
    // genuine, it is the payload that was appended.
    let records = seg.records().map(<[IndexRecord]>::to_vec).ok();
    for seq in first..next.min(first + 4096) {
        match seg.get(seq) {
            Ok(Some((payload, ts))) => {
                let slot = (seq - first) as usize;
                if let Some(rec) = records.as_ref().and_then(|r| r.get(slot)) {
                    assert_eq!(record_checksum(&payload, ts), rec.checksum(), "seq {seq}");
                }
                if !damaged_idx {
                    assert!(payload[..] == flat[slot][..], "seq {seq}: wrong bytes from get");
                }
            }
            Ok(None) => panic!("seq {seq} inside {first}..{next} not found"),
            Err(e) => {
                assert!(!intact, "intact segment: get({seq}): {e}");
                assert_clear(&e);
            }
        }
    }
    // Sequential reads walk the frame table and check whole frames against the log's own
    // CRCs, so even a forged index (checksums recomputed) cannot make them hand out bytes
    // other than the ones appended at that seq.
    let mut seen = 0u64;
    let walked = seg.for_each(first, next, |seq, payload, _| {
        assert!(seq >= first && seq < next, "for_each handed out seq {seq}");
        let slot = (seq - first) as usize;
        assert!(payload[..] == flat[slot][..], "seq {seq}: wrong bytes from for_each");
        seen += 1;
    });
    match walked {
        Ok(()) => assert!(seen <= next - first),
        Err(e) => {
            assert!(!intact, "intact segment: for_each: {e}");
            assert_clear(&e);
        }
    }
    match seg.verify() {
        Ok(()) => {}
        Err(e) => {
            assert!(!intact, "intact segment failed verify: {e}");
            assert_clear(&e);
        }
    }
}

/// A scratch directory on tmpfs when there is one.
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::Builder::new().prefix("redex-fuzz-").tempdir_in(shm) {
            return dir;
        }
    }
    tempfile::Builder::new().prefix("redex-fuzz-").tempdir().expect("tempdir")
}

/// The manifest: decoding stops at the first bad record, the valid prefix re-encodes to the same
/// bytes, and the live set follows the records.
pub fn manifest(data: &[u8]) {
    let path = Path::new("manifest");
    let mut input = Input::new(data);
    let file: Vec<u8> = if input.u8().is_multiple_of(2) {
        input.rest().to_vec()
    } else {
        // A valid header and well-formed records (fuzzer-chosen fields), then raw bytes.
        let mut file = manifest::encode_header().to_vec();
        for _ in 0..input.below(8) {
            let kind = match input.below(3) {
                0 => manifest::RecordKind::Frozen,
                1 => manifest::RecordKind::Dropped,
                _ => manifest::RecordKind::Cold { index_len: u32::from(input.u16()) },
            };
            let meta = manifest::SegmentMeta {
                first_seq: u64::from(input.u16()),
                count: u64::from(input.u8()),
                log_len: u64::from(input.u16()),
                payload_bytes: u64::from(input.u16()),
                min_ts_ns: u64::from(input.u8()),
                max_ts_ns: u64::from(input.u8()),
            };
            file.extend_from_slice(&manifest::encode_record(&manifest::Record { kind, meta }));
        }
        file.extend_from_slice(input.rest());
        file
    };
    check_allocations(&file, "manifest decode", || match manifest::decode(path, &file) {
        Ok(replay) => {
            let valid = replay.valid_len as usize;
            assert!(valid >= MANIFEST_HEADER_LEN && valid <= file.len());
            assert_eq!((valid - MANIFEST_HEADER_LEN) % RECORD_LEN, 0);
            assert_eq!(replay.records.len(), (valid - MANIFEST_HEADER_LEN) / RECORD_LEN);
            // (The header is kept as found: version 1 is read too.)
            let mut again = file[..MANIFEST_HEADER_LEN].to_vec();
            for r in &replay.records {
                again.extend_from_slice(&manifest::encode_record(r));
            }
            assert!(again[..] == file[..valid], "accepted records do not re-encode");
            let live = manifest::live_segments(&replay.records);
            assert!(live.windows(2).all(|w| w[0].meta.first_seq < w[1].meta.first_seq));
            for m in live.iter().map(|s| &s.meta) {
                assert!(m.count >= 1 && m.first_seq.checked_add(m.count).is_some());
            }
        }
        Err(e) => assert_clear(&e),
    });
}

/// A decoder error says what and where.
/// `cold_object`: archived-segment objects, either arbitrary bytes or a valid object (sections
/// and header fields chosen by the fuzzer) with one flipped bit or a cut, through
/// `ObjectHeader::decode` and `verify_object`: `Ok` only for a consistent object that
/// re-encodes to its own header, otherwise a clear error.
pub fn cold_object(data: &[u8]) {
    let name = Path::new("object");
    let mut input = Input::new(data);
    let object: Vec<u8> = if input.u8().is_multiple_of(2) {
        input.rest().to_vec()
    } else {
        let index_len = INDEX_HEADER_LEN + INDEX_FOOTER_LEN + input.below(200) as usize;
        let log_len = LOG_HEADER_LEN + input.below(300) as usize;
        let index: Vec<u8> = (0..index_len).map(|i| i as u8).collect();
        let log: Vec<u8> = (0..log_len).map(|i| (i * 7) as u8).collect();
        let footer = index_file::Footer {
            first_seq: u64::from(input.u16()),
            count: 1 + u64::from(input.u8()),
            min_ts_ns: u64::from(input.u8()),
            max_ts_ns: u64::from(input.u16()),
            log_len: log_len as u64,
            payload_bytes: u64::from(input.u16()),
            body_crc: 0,
        };
        let channel = "fuzz/".repeat(1 + input.below(4) as usize);
        let header = ObjectHeader::for_segment(&channel, &footer, &index, &log);
        let mut object: Vec<u8> = header.parts(index.into(), log.into()).concat();
        match input.below(3) {
            0 => {}
            1 => {
                let at = input.below(object.len() as u64) as usize;
                object[at] ^= 1 << input.below(8);
            }
            _ => object.truncate(input.below(object.len() as u64 + 1) as usize),
        }
        object
    };
    check_allocations(&object, "cold object decode", || {
        match ObjectHeader::verify_object(name, &object) {
            Ok(header) => {
                assert_eq!(header.object_len(), object.len() as u64);
                assert!(object.starts_with(&header.encode()), "header does not re-encode");
            }
            Err(e) => assert_clear(&e),
        }
        if let Err(e) = ObjectHeader::decode(name, &object) {
            assert_clear(&e);
        }
    });
}

fn assert_clear(e: &TierError) {
    let msg = e.to_string();
    assert!(!msg.is_empty());
    match e {
        TierError::Corrupt { reason, .. } => assert!(!reason.is_empty()),
        TierError::UnsupportedVersion { found, supported, .. } => assert_ne!(found, supported),
        TierError::Io { .. } => {}
        _ => {}
    }
}
