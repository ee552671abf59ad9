//! A per-source-address budget for unauthenticated answers (Binding, 401, 400), so the relay
//! cannot be used as a reflector. A fixed table of buckets indexed by a keyed hash of the
//! address: memory stays constant however many addresses a spoofed flood uses.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::time::Instant;

const SLOTS: usize = 4096;

/// Token buckets shared by whichever addresses hash to the same slot.
pub struct SourceBudget {
    per_second: u32,
    hasher: RandomState,
    slots: Box<[(u32, Option<Instant>)]>,
}

impl SourceBudget {
    /// `per_second` answers per address, with a burst of twice that.
    pub fn new(per_second: u32) -> SourceBudget {
        SourceBudget { per_second, hasher: RandomState::new(), slots: vec![(0, None); SLOTS].into_boxed_slice() }
    }

    /// Spends one answer for `source`; false when its budget is used up.
    pub fn take(&mut self, source: IpAddr, now: Instant) -> bool {
        let burst = self.per_second.saturating_mul(2);
        let slot = &mut self.slots[self.hasher.hash_one(source) as usize % SLOTS];
        let (tokens, refilled) = slot;
        match refilled {
            None => *tokens = burst,
            Some(at) => {
                let gained = now.saturating_duration_since(*at).as_millis() as u64 * self.per_second as u64 / 1000;
                if gained > 0 {
                    *tokens = (*tokens as u64 + gained).min(burst as u64) as u32;
                } else {
                    return spend(tokens);
                }
            }
        }
        *refilled = Some(now);
        spend(tokens)
    }
}

fn spend(tokens: &mut u32) -> bool {
    match tokens.checked_sub(1) {
        Some(left) => {
            *tokens = left;
            true
        }
        None => false,
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
