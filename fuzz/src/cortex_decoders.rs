//! Decoder targets for CortEX's in-payload structures: the 24-byte `EventMeta` envelope with
//! the tasks and memories event bodies behind it (through the folds, as a restart replays
//! them), and versioned snapshots of both models.
//!
//! Arbitrary bytes must give `Ok` or a clear error, never a panic or an allocation larger than
//! the input justifies; what decodes must re-encode to the same bytes (envelopes) or to a
//! snapshot that decodes to an equal state.

use bytes::Bytes;
use cortex::memories::{MemoriesFold, MemoriesState};
use cortex::snapshot::{self, SnapshotState, SNAPSHOT_FORMAT_VERSION, SNAPSHOT_MAGIC};
use cortex::tasks::{TasksFold, TasksState};
use cortex::{CortexError, EventMeta, FoldEvent, RedexFold, EVENT_META_LEN};

use crate::alloc_guard::check_allocations;
use crate::input::Input;

/// Events: each chunk of the input is an event payload, either raw or sealed with a valid
/// envelope (so the body decoders behind the checksum get exercised too), decoded and folded
/// into both models; the states that result must survive a snapshot round trip.
pub fn cortex_event(data: &[u8]) {
    let mut input = Input::new(data);
    let mut tasks = TasksState::default();
    let mut memories = MemoriesState::default();
    let mut seq = 0u64;
    while !input.is_empty() && seq < 64 {
        let sealed = !input.u8().is_multiple_of(4);
        let payload: Vec<u8> = if sealed {
            let dispatch = input.u8();
            let flags = input.u8() & 0b11;
            let origin = u64::from(input.u16());
            let ts = u64::from(input.u32());
            let tail = input.bytes(200);
            EventMeta::encode(dispatch, flags, origin, ts, tail)
        } else {
            input.bytes(240).to_vec()
        };
        let meta = check_allocations(&payload, "EventMeta::decode", || EventMeta::decode(&payload));
        let meta = match meta {
            Ok(meta) => meta,
            Err(e) => {
                assert_clear(&e);
                assert!(!sealed || payload.len() >= EVENT_META_LEN && payload[1] & !1 != 0);
                continue;
            }
        };
        let tail = &payload[EVENT_META_LEN..];
        let again =
            EventMeta::encode(meta.dispatch, meta.flags, meta.origin_hash, meta.seq_or_ts, tail);
        assert!(again == payload, "an accepted envelope does not re-encode to its bytes");
        let event = FoldEvent {
            seq,
            timestamp_ns: seq * 1000,
            meta,
            payload: Bytes::copy_from_slice(tail),
        };
        seq += 1;
        for (model, applied) in [
            ("tasks", fold_checked(&TasksFold, &mut tasks, &event, &payload)),
            ("memories", fold_checked(&MemoriesFold, &mut memories, &event, &payload)),
        ] {
            if let Err(reason) = applied {
                assert!(!reason.is_empty(), "{model}: an empty fold error");
            }
        }
    }
    round_trip(&tasks);
    round_trip(&memories);
}

/// Applies `event`; a refused event must leave the state as it was.
fn fold_checked<S: SnapshotState + Clone + PartialEq + std::fmt::Debug>(
    fold: &impl RedexFold<S>,
    state: &mut S,
    event: &FoldEvent,
    payload: &[u8],
) -> Result<(), String> {
    let before = state.clone();
    let out = check_allocations(payload, "fold", || fold.apply(state, event));
    match out {
        Ok(()) => Ok(()),
        Err(e) => {
            assert!(*state == before, "a refused event changed the state: {e}");
            Err(e.reason().to_owned())
        }
    }
}

fn round_trip<S: SnapshotState + PartialEq + std::fmt::Debug>(state: &S) {
    let bytes = snapshot::encode(state).expect("encode snapshot");
    let back: S = snapshot::decode(&bytes).expect("decode own snapshot");
    assert!(back == *state, "snapshot round trip changed the state");
}

/// Snapshots: raw bytes, or a valid header for one of the models followed by fuzzer bytes (so
/// the body decoder is reached), decoded as both models.
pub fn cortex_snapshot(data: &[u8]) {
    let mut input = Input::new(data);
    let bytes: Vec<u8> = match input.u8() % 3 {
        0 => input.rest().to_vec(),
        mode => {
            let (model, version) = if mode == 1 {
                (TasksState::MODEL, TasksState::MODEL_VERSION)
            } else {
                (MemoriesState::MODEL, MemoriesState::MODEL_VERSION)
            };
            let mut out = SNAPSHOT_MAGIC.to_vec();
            out.extend_from_slice(&SNAPSHOT_FORMAT_VERSION.to_le_bytes());
            out.extend_from_slice(&version.to_le_bytes());
            out.push(model.len() as u8);
            out.extend_from_slice(model.as_bytes());
            out.extend_from_slice(input.rest());
            out
        }
    };
    decode_as::<TasksState>(&bytes);
    decode_as::<MemoriesState>(&bytes);
}

fn decode_as<S: SnapshotState + PartialEq + std::fmt::Debug>(bytes: &[u8]) {
    let decoded = check_allocations(bytes, S::MODEL, || snapshot::decode::<S>(bytes));
    match decoded {
        Ok(state) => round_trip(&state),
        Err(e) => assert_clear(&e),
    }
}

fn assert_clear(e: &CortexError) {
    assert!(!e.to_string().is_empty());
}
