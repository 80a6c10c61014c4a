//! Buffers faulted in ahead of need, on a background thread.
//!
//! A heap-only segment grows by fresh memory: payloads go into arena chunks, index entries into
//! fixed-size vectors. The first write to each fresh page traps into the kernel, which zeroes
//! the page before the append can go on: `perf` of CortEX `create` put `clear_page_erms` under
//! the appending thread at a quarter of its time (docs/BENCHMARKS.md). So, as a log
//! "pretoucher" does, one process-wide thread (`redex-pretouch`, started by the first request)
//! keeps [`DEPTH`] buffers of each kind asked for allocated with every page touched, and
//! appending threads take them ready.
//!
//! Memory: at most [`DEPTH`] buffers of each kind (type and capacity) wait, and only kinds a
//! segment has asked for (so a process without large heap-only logs never pays); buffers nobody
//! takes within [`IDLE_DROP`] are freed.

use std::any::{Any, TypeId};
use std::hint::black_box;
use std::mem::MaybeUninit;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::BytesMut;
use parking_lot::{Condvar, Mutex};

/// Buffers of each kind kept ready.
const DEPTH: usize = 2;
/// How long prepared buffers wait for a taker before they are freed.
const IDLE_DROP: Duration = Duration::from_secs(10);
/// Touching one byte per page faults the whole page in.
const PAGE_BYTES: usize = 4096;

type Buffer = Box<dyn Any + Send>;

/// The buffers of one kind.
struct Kind {
    id: TypeId,
    capacity: usize,
    make: fn(usize) -> Buffer,
    ready: Vec<Buffer>,
    /// Taken from since it was last full: refill it.
    wanted: bool,
}

struct Pool {
    kinds: Mutex<Vec<Kind>>,
    wake: Condvar,
}

/// An empty arena chunk of `capacity` bytes, its pages faulted in if one was ready.
pub(crate) fn bytes(capacity: usize) -> BytesMut {
    fn make(capacity: usize) -> Buffer {
        Box::new(touched_bytes(capacity))
    }
    take(capacity, make).unwrap_or_else(|| BytesMut::with_capacity(capacity))
}

/// An empty vector with room for `capacity` elements, its pages faulted in if one was ready.
pub(crate) fn vec<T: Send + 'static>(capacity: usize) -> Vec<T> {
    fn make<T: Send + 'static>(capacity: usize) -> Buffer {
        Box::new(touched_vec::<T>(capacity))
    }
    take(capacity, make::<T>).unwrap_or_else(|| Vec::with_capacity(capacity))
}

/// A ready buffer of type `B` and `capacity`, if one is; either way the pool is refilled.
/// `make` builds one, touched, as a `B`.
fn take<B: Send + 'static>(capacity: usize, make: fn(usize) -> Buffer) -> Option<B> {
    let pool = pool()?;
    let id = TypeId::of::<B>();
    let ready = {
        let mut kinds = pool.kinds.lock();
        let kind = match kinds.iter().position(|k| k.id == id && k.capacity == capacity) {
            Some(i) => &mut kinds[i],
            None => {
                kinds.push(Kind { id, capacity, make, ready: Vec::new(), wanted: false });
                kinds.last_mut().expect("just pushed")
            }
        };
        kind.wanted = true;
        kind.ready.pop()
    };
    pool.wake.notify_one();
    ready.and_then(|b| b.downcast::<B>().ok()).map(|b| *b)
}

/// The process-wide pool, its thread started on first use; `None` if the thread could not be.
fn pool() -> Option<&'static Pool> {
    static POOL: OnceLock<Option<&'static Pool>> = OnceLock::new();
    *POOL.get_or_init(|| {
        let pool: &'static Pool =
            Box::leak(Box::new(Pool { kinds: Mutex::new(Vec::new()), wake: Condvar::new() }));
        match std::thread::Builder::new().name("redex-pretouch".into()).spawn(move || run(pool)) {
            Ok(_) => Some(pool),
            Err(e) => {
                tracing::warn!(error = %e, "could not start the pretouch thread; appends fault pages in themselves");
                None
            }
        }
    })
}

fn run(pool: &'static Pool) {
    loop {
        let job = {
            let mut kinds = pool.kinds.lock();
            loop {
                let next = kinds.iter_mut().find(|k| k.wanted && k.ready.len() < DEPTH);
                if let Some(kind) = next {
                    break (kind.id, kind.capacity, kind.make);
                }
                // Here no kind is wanted (a take marks its kind wanted and wakes this thread):
                // if none is taken for that long either, give the memory back.
                if pool.wake.wait_for(&mut kinds, IDLE_DROP).timed_out() {
                    kinds.iter_mut().for_each(|k| k.ready = Vec::new());
                }
            }
        };
        let (id, capacity, make) = job;
        let buffer = make(capacity);
        let mut kinds = pool.kinds.lock();
        if let Some(kind) = kinds.iter_mut().find(|k| k.id == id && k.capacity == capacity) {
            kind.ready.push(buffer);
            kind.wanted = kind.ready.len() < DEPTH;
        }
    }
}

/// An empty buffer of `capacity` bytes whose pages are all resident.
fn touched_bytes(capacity: usize) -> BytesMut {
    let mut buf = BytesMut::with_capacity(capacity);
    touch(buf.spare_capacity_mut());
    buf
}

/// An empty vector with room for `capacity` elements whose pages are all resident.
fn touched_vec<T>(capacity: usize) -> Vec<T> {
    let mut v = Vec::with_capacity(capacity);
    touch(v.spare_capacity_mut());
    v
}

/// Writes zeros to one element per page of `spare` (never read: it stays uninitialised as far
/// as its owner knows).
fn touch<T>(spare: &mut [MaybeUninit<T>]) {
    let step = (PAGE_BYTES / std::mem::size_of::<T>().max(1)).max(1);
    for slot in spare.iter_mut().step_by(step) {
        *slot = MaybeUninit::zeroed();
    }
    // Nothing reads the writes: keep the compiler from dropping them.
    black_box(spare);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_have_the_asked_capacity_and_start_empty() {
        for _ in 0..4 {
            let b = bytes(1 << 20);
            assert!(b.capacity() >= 1 << 20 && b.is_empty());
            let v: Vec<u64> = vec(4096);
            assert!(v.capacity() >= 4096 && v.is_empty());
            let v: Vec<[u8; 12]> = vec(4096);
            assert!(v.capacity() >= 4096 && v.is_empty());
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
