//! A per-source-address budget for unauthenticated answers (Binding, 401, 400), so the relay
//! cannot be used as a reflector. A fixed table of buckets indexed by a keyed hash of the
//! address: memory stays constant however many addresses a spoofed flood uses.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::time::Instant;

use crate::token_bucket::{Limit, TokenBucket};

const SLOTS: usize = 4096;

/// Token buckets shared by whichever addresses hash to the same slot.
pub struct SourceBudget {
    limit: Limit,
    hasher: RandomState,
    slots: Box<[Option<TokenBucket>]>,
}

impl SourceBudget {
    /// `per_second` answers per address, with a burst of twice that.
    pub fn new(per_second: u32) -> SourceBudget {
        let limit = Limit { per_second: u64::from(per_second), burst: u64::from(per_second) * 2 };
        SourceBudget { limit, hasher: RandomState::new(), slots: vec![None; SLOTS].into_boxed_slice() }
    }

    /// Spends one answer for `source`; false when its budget is used up.
    pub fn take(&mut self, source: IpAddr, now: Instant) -> bool {
        let slot = &mut self.slots[self.hasher.hash_one(source) as usize % SLOTS];
        slot.get_or_insert_with(|| TokenBucket::full(self.limit, now)).take(1, self.limit, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn allows_a_burst_then_the_rate() {
        let mut budget = SourceBudget::new(10);
        let source: IpAddr = "192.0.2.1".parse().unwrap();
        let start = Instant::now();
        assert_eq!((0..30).filter(|_| budget.take(source, start)).count(), 20);
        assert!(budget.take(source, start + Duration::from_millis(100)));
        assert!(!budget.take(source, start + Duration::from_millis(100)));
    }
}
