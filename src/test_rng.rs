//! The one pseudo-random generator of the unit tests: xorshift64 (Marsaglia 2003, shifts 13,
//! 7, 17), deterministic from its seed, so a failing mutation or split is the same on every
//! run. Property tests that need shrinking belong in proptest; this serves the loops that only
//! need many varied inputs.

/// xorshift64 state (never 0).
pub(crate) struct XorShift(u64);

impl XorShift {
    pub(crate) fn new(seed: u64) -> Self {
        XorShift(seed.max(1))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(crate) fn byte(&mut self) -> u8 {
        self.next_u64() as u8
    }

    /// `n` bytes.
    pub(crate) fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }
}
