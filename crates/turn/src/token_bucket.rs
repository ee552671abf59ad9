//! Token buckets on the caller's clock, for the relay's two budgets: bytes per allocation and
//! direction, and unauthenticated answers per source address. Sans-IO: time is passed in.

use std::time::{Duration, Instant};

/// How fast a bucket refills and how much it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Tokens added per second.
    pub per_second: u64,
    /// Most tokens a bucket holds (the largest burst).
    pub burst: u64,
}

/// The state of one bucket; the [`Limit`] is kept by the owner, so a table of buckets under one
/// limit stores it once.
#[derive(Debug, Clone, Copy)]
pub struct TokenBucket {
    tokens: u64,
    refilled: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn full(limit: Limit, now: Instant) -> TokenBucket {
        TokenBucket { tokens: limit.burst, refilled: now }
    }

    /// Spends `amount` tokens if the bucket has them.
    pub fn take(&mut self, amount: u64, limit: Limit, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled);
        let gained = (u128::from(limit.per_second) * elapsed.as_micros() / 1_000_000).min(u128::from(u64::MAX)) as u64;
        if gained > 0 {
            let tokens = self.tokens.saturating_add(gained);
            if tokens >= limit.burst {
                self.tokens = limit.burst;
                self.refilled = now;
            } else {
                // Move the clock by exactly what the whole tokens were worth, so frequent calls
                // do not lose the fraction of a token each one would round away.
                self.tokens = tokens;
                self.refilled += Duration::from_micros((u128::from(gained) * 1_000_000 / u128::from(limit.per_second)) as u64);
            }
        }
        match self.tokens.checked_sub(amount) {
            Some(left) => {
                self.tokens = left;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_allows_the_burst_then_the_rate() {
        let limit = Limit { per_second: 1000, burst: 1000 };
        let start = Instant::now();
        let mut bucket = TokenBucket::full(limit, start);
        assert!(bucket.take(1000, limit, start));
        assert!(!bucket.take(1, limit, start));
        assert!(bucket.take(100, limit, start + Duration::from_millis(100)));
        assert!(!bucket.take(1, limit, start + Duration::from_millis(100)));
        assert!(!bucket.take(1001, limit, start + Duration::from_secs(60)), "never more than the burst");
    }

    #[test]
    fn frequent_small_takes_get_the_whole_rate() {
        let limit = Limit { per_second: 50, burst: 50 };
        let start = Instant::now();
        let mut bucket = TokenBucket::full(limit, start);
        while bucket.take(1, limit, start) {}
        // Every 15 ms for 10 s: 0.75 tokens earned per call, which a bucket that rounds each
        // refill down would lose every time.
        let taken = (1..=666).filter(|i| bucket.take(1, limit, start + Duration::from_millis(15 * i))).count();
        assert!((495..=500).contains(&taken), "{taken}");
    }
}
