//! A small deterministic PRNG (SplitMix64): the same seed gives the same
//! schedule, on every machine, with no dependency.

use std::time::Duration;

use crate::domain::Address;

/// SplitMix64 (Steele, Lea and Flood, 2014): 64 bits of state, passes
/// BigCrush, and every seed (0 included) is a good one.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// An independent stream for one purpose (faults, users, transfers…),
    /// so that drawing more from one does not shift the others.
    pub fn stream(seed: u64, purpose: u64) -> Rng {
        let mut mixer = Rng(seed ^ purpose.wrapping_mul(0xA24B_AED4_963E_E407));
        Rng(mixer.next_u64())
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform between `lo` and `hi` (millisecond steps).
    pub fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        let (lo_ms, hi_ms) = (lo.as_millis() as u64, hi.as_millis() as u64);
        Duration::from_millis(lo_ms + self.below(hi_ms.saturating_sub(lo_ms) + 1))
    }

    /// The gap to the next event of a Poisson process with this mean gap.
    pub fn exponential(&mut self, mean: Duration) -> Duration {
        let u = 1.0 - self.unit(); // in (0, 1]
        mean.mul_f64(-u.ln()).min(mean * 20)
    }

    /// A uniformly chosen element.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }

    /// A random-looking address (20 random bytes).
    pub fn address(&mut self) -> Address {
        let (a, b, c) = (self.next_u64(), self.next_u64(), self.next_u64() as u32);
        Address::parse(&format!("0x{a:016x}{b:016x}{c:08x}")).expect("40 lowercase hex digits")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers_and_streams_differ() {
        let a: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(42);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(42);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(Rng::stream(42, 1).next_u64(), Rng::stream(42, 2).next_u64());
    }

    #[test]
    fn between_stays_within_bounds() {
        let mut r = Rng::new(7);
        let (lo, hi) = (Duration::from_millis(200), Duration::from_millis(250));
        assert!(
            (0..1000)
                .map(|_| r.between(lo, hi))
                .all(|d| d >= lo && d <= hi)
        );
    }
}
