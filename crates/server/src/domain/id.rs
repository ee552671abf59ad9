//! Time-ordered 64-bit ids: milliseconds since the Unix epoch shifted left 22 bits, plus a counter.

use std::sync::atomic::{AtomicI64, Ordering};

/// Bits below the millisecond timestamp; 4 million ids per millisecond before borrowing from it.
const COUNTER_BITS: u32 = 22;

/// Hands out unique, strictly increasing ids that sort by creation time.
#[derive(Debug, Default)]
pub struct IdGenerator {
    last: AtomicI64,
}

impl IdGenerator {
    /// A generator that never returns an id at or below `floor` (e.g. the largest stored id),
    /// so a clock that stepped back across a restart cannot repeat ids.
    pub fn starting_after(floor: i64) -> Self {
        IdGenerator { last: AtomicI64::new(floor) }
    }

    /// The next id for a clock reading of `now_ms`. If the clock stands still or steps back,
    /// ids keep increasing by one, so uniqueness never depends on the clock.
    pub fn next(&self, now_ms: i64) -> i64 {
        let candidate = now_ms.max(0) << COUNTER_BITS;
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let next = candidate.max(last + 1);
            match self.last.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return next,
                Err(seen) => last = seen,
            }
        }
    }
}

/// The creation time, in unix milliseconds, encoded in an id.
pub fn timestamp_ms(id: i64) -> i64 {
    id >> COUNTER_BITS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_and_carry_their_time() {
        let ids = IdGenerator::default();
        let a = ids.next(1_700_000_000_000);
        let b = ids.next(1_700_000_000_000);
        let c = ids.next(1_699_999_999_000);
        let d = ids.next(1_700_000_000_005);
        assert!(a < b && b < c && c < d);
        assert_eq!(timestamp_ms(a), 1_700_000_000_000);
        assert_eq!(timestamp_ms(d), 1_700_000_000_005);
    }

    #[test]
    fn ids_are_unique_across_threads() {
        let ids = std::sync::Arc::new(IdGenerator::default());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let ids = ids.clone();
                std::thread::spawn(move || (0..10_000).map(|_| ids.next(5)).collect::<Vec<_>>())
            })
            .collect();
        let mut all: Vec<i64> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n);
    }

    #[test]
    fn a_floor_is_never_repeated() {
        let ids = IdGenerator::starting_after(10 << COUNTER_BITS);
        assert!(ids.next(1) > 10 << COUNTER_BITS);
    }
}
