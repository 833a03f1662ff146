//! Synthetic data shared by the tests and the benchmark package (`bench/`): valid
//! organisation numbers in order, and a small seeded generator.

use crate::domain::ids::OrgNo;

/// Valid organisation numbers, in order, from an 8-digit prefix on.
pub fn org_numbers(from: u32) -> impl Iterator<Item = OrgNo> {
    (from..99_999_999).filter_map(|prefix| {
        const WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];
        let digits = format!("{prefix:08}");
        let sum: u32 = digits.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
        let check = match sum % 11 {
            0 => 0,
            1 => return None,
            r => 11 - r,
        };
        OrgNo::parse(&format!("{digits}{check}")).ok()
    })
}

/// A small deterministic generator (no dependency for benchmark data).
pub struct Lcg(u64);
impl Lcg {
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}
