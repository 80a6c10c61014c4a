//! Wall-clock time for entry timestamps.
//!
//! Every append stamps its entries, so this clock is on the append path. Asking the OS
//! (`clock_gettime(CLOCK_REALTIME)` through the vDSO) costs about 24 ns on the VM these
//! benchmarks run on, a quarter of a heap-only append; reading the CPU's invariant time-stamp
//! counter costs about 10 ns. So each thread keeps an anchor, an OS wall-clock reading and a
//! counter reading taken together, and stamps with the anchor plus the counter's elapsed
//! nanoseconds, asking the OS again once the anchor is [`ANCHOR_MAX_AGE_NS`] old or the counter
//! reads below it (another core, a migrated VM). A stamp is therefore within a millisecond's
//! worth of calibration error (nanoseconds) of the OS clock, and follows an NTP slew or step
//! within a millisecond. Stamps of one file stay non-decreasing either way: the file raises
//! each stamp to the previous one under its lock.
//!
//! The counter's rate is calibrated against the OS's monotonic clock once per process, when
//! the first file is opened ([`calibrate`]; about 1-2 ms, by `quanta`), and used only if a read
//! of it measured cheaper than the OS clock then. Before that, and where the counter is missing
//! or not invariant, every stamp is an OS reading.

use std::cell::Cell;
use std::sync::OnceLock;
use std::time::Instant;

use rustix::time::{clock_gettime, ClockId};

/// How long a thread stamps from one anchor before reading the OS clock again.
const ANCHOR_MAX_AGE_NS: u64 = 1_000_000;

/// The calibrated counter, once [`calibrate`] has run: `None` if it is not cheaper than the OS.
static COUNTER: OnceLock<Option<quanta::Clock>> = OnceLock::new();

thread_local! {
    /// This thread's anchor: (counter reading, OS wall clock in ns) taken together; `None`
    /// before the first stamp.
    static ANCHOR: Cell<Option<(u64, u64)>> = const { Cell::new(None) };
}

/// Nanoseconds since the Unix epoch (0 if the clock is before it).
#[inline]
pub(crate) fn now_ns() -> u64 {
    match COUNTER.get() {
        Some(Some(counter)) => counter_now_ns(counter),
        _ => os_now_ns(),
    }
}

/// Calibrates the counter (once per process; later calls return at once).
pub(crate) fn calibrate() {
    COUNTER.get_or_init(|| {
        let counter = quanta::Clock::new();
        (cost_ns(|| counter.raw()) < cost_ns(os_now_ns) * 0.8).then_some(counter)
    });
}

fn counter_now_ns(counter: &quanta::Clock) -> u64 {
    let raw = counter.raw();
    ANCHOR.with(|anchor| {
        if let Some((anchor_raw, anchor_ns)) = anchor.get() {
            if raw >= anchor_raw {
                let elapsed = counter.delta_as_nanos(anchor_raw, raw);
                if elapsed < ANCHOR_MAX_AGE_NS {
                    return anchor_ns.saturating_add(elapsed);
                }
            }
        }
        let now = os_now_ns();
        anchor.set(Some((counter.raw(), now)));
        now
    })
}

/// The OS wall clock.
fn os_now_ns() -> u64 {
    let now = clock_gettime(ClockId::Realtime);
    match (u64::try_from(now.tv_sec), u64::try_from(now.tv_nsec)) {
        (Ok(secs), Ok(nanos)) => secs.saturating_mul(1_000_000_000).saturating_add(nanos),
        _ => 0,
    }
}

/// The cheapest of five timings of 256 calls of `read`, per call, in ns.
fn cost_ns(read: impl Fn() -> u64) -> f64 {
    (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..256 {
                std::hint::black_box(read());
            }
            start.elapsed().as_nanos() as f64 / 256.0
        })
        .fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    fn system_ns() -> i128 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128)
    }

    /// Every stamp lies between two OS readings taken around it, give or take 250 µs of
    /// counter calibration error (a 1 ms anchor age at a 25 % rate error: generous
    /// for a loaded machine, far below a unit mistake), across many anchor renewals.
    #[test]
    fn stamps_follow_the_system_clock() {
        calibrate();
        let slack = 250_000;
        let deadline = std::time::Instant::now() + Duration::from_millis(20);
        while std::time::Instant::now() < deadline {
            let before = system_ns();
            let ours = i128::from(now_ns());
            let after = system_ns();
            assert!(
                before - slack <= ours && ours <= after + slack,
                "{before} <= {ours} <= {after}"
            );
        }
    }

    #[test]
    fn the_os_clock_agrees_with_the_system_clock() {
        let before = system_ns();
        let ours = i128::from(os_now_ns());
        let after = system_ns();
        assert!(before <= ours && ours <= after, "{before} <= {ours} <= {after}");
    }
}
