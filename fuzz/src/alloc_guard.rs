//! A global allocator that remembers the largest single allocation made by the current thread
//! while armed, so decoder targets can check that no input makes a decoder allocate more than
//! the input justifies (a length field claiming 4 GiB must not become a 4 GiB `Vec`).
//!
//! Install it with `#[global_allocator] static A: TrackingAlloc = TrackingAlloc;` in the binary
//! (fuzz target or replay test), then wrap each decode in [`largest_allocation`].

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

/// Fixed allowance on top of the per-byte one: small buffers, and serde's cautious
/// preallocation of a sequence whose length prefix lies (capped by serde at 1 MiB).
pub const ALLOC_SLACK_BYTES: usize = (1 << 20) + (64 << 10);
/// Bytes a decoder may allocate at once per input byte (index entries are wider than the
/// bytes they index, and vectors grow by doubling).
pub const ALLOC_BYTES_PER_INPUT_BYTE: usize = 16;

/// The allocation limit for an input of `len` bytes.
pub fn allocation_limit(len: usize) -> usize {
    ALLOC_SLACK_BYTES + ALLOC_BYTES_PER_INPUT_BYTE * len
}

fn note(size: usize) {
    // `try_with` so an allocation during thread teardown is simply not counted.
    let armed = ARMED.try_with(Cell::get).unwrap_or(false);
    if armed {
        let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
    }
}

/// The system allocator, plus bookkeeping of the largest allocation while armed.
#[derive(Debug)]
pub struct TrackingAlloc;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the only
// addition is a thread-local counter update, which never allocates (const-initialised `Cell`s
// without destructors).
unsafe impl GlobalAlloc for TrackingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` through this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: `ptr` came from `System` with `layout`; the caller upholds `realloc`'s
        // contract for `new_size`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` and returns its result with the largest single allocation it made on this thread
/// (zero if [`TrackingAlloc`] is not the global allocator).
pub fn largest_allocation<R>(f: impl FnOnce() -> R) -> (R, usize) {
    LARGEST.with(|l| l.set(0));
    ARMED.with(|a| a.set(true));
    let out = f();
    ARMED.with(|a| a.set(false));
    (out, LARGEST.with(Cell::get))
}

/// Runs `f` on `input` and panics if any single allocation exceeded [`allocation_limit`].
pub fn check_allocations<R>(input: &[u8], what: &str, f: impl FnOnce() -> R) -> R {
    let (out, largest) = largest_allocation(f);
    let limit = allocation_limit(input.len());
    assert!(
        largest <= limit,
        "{what}: a {largest}-byte allocation for a {}-byte input (limit {limit})",
        input.len()
    );
    out
}
