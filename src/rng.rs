//! The seeded generator every random choice uses (compare's bootstrap draws, anchors --fit's
//! search, the test data generators): SplitMix64, small and reproducible on every machine.

/// SplitMix64 (Steele, Lea & Flood, OOPSLA 2014; Vigna's `splitmix64.c`).
pub struct SplitMix64 {
    state: u64,
}

/// SplitMix64's increment (the golden ratio in 64 bits).
pub const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function (a variant of MurmurHash3's finaliser).
pub fn mix64(z: u64) -> u64 {
    let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl SplitMix64 {
    /// The stream that starts from `state` (the first output is `mix64(state + GAMMA)`).
    pub fn from_state(state: u64) -> SplitMix64 {
        SplitMix64 { state }
    }

    /// The stream of bootstrap replicate `replicate` under `seed` (compare): it starts from state
    /// `mix64(seed ^ mix64(replicate))`, so every replicate has its own stream whatever the
    /// thread that computes it.
    pub fn for_replicate(seed: u64, replicate: u64) -> SplitMix64 {
        SplitMix64 {
            state: mix64(seed ^ mix64(replicate)),
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix64(self.state)
    }

    /// Uniform in `[0, n)`, unbiased (Lemire 2019, "Fast random integer generation in an
    /// interval": multiply, and reject the low products that would bias it).
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "an interval of at least one value");
        let mut m = self.next_u64() as u128 * n as u128;
        if (m as u64) < n {
            let t = n.wrapping_neg() % n;
            while (m as u64) < t {
                m = self.next_u64() as u128 * n as u128;
            }
        }
        (m >> 64) as u64
    }
}
