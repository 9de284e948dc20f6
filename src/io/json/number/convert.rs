//! From a decimal mantissa and exponent to the correctly rounded double: exact powers of ten
//! (Clinger's fast path) and the Eisel-Lemire algorithm.

/// Exact powers of ten for the fast number path.
pub(super) const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Decimal exponents `q` that [`eisel_lemire`] handles: those of its table. In this range its
/// 128-bit product never needs the slow-path fallback (fast_float's `inside_safe_exponent`).
pub(super) const LEMIRE_Q_MIN: i64 = -27;
pub(super) const LEMIRE_Q_MAX: i64 = 27;

/// `5^q` as 128 bits `(hi, lo)`, normalised so the top bit is set, truncated for `q >= 0` and
/// `floor(2^b / 5^-q) + 1` for `q < 0`: the entries of fast_float's `POWER_OF_FIVE_128` table for
/// `q` in [`LEMIRE_Q_MIN`, `LEMIRE_Q_MAX`], computed at compile time (a test pins some entries).
pub(super) const POW5_128: [(u64, u64); (LEMIRE_Q_MAX - LEMIRE_Q_MIN + 1) as usize] = {
    let mut t = [(0u64, 0u64); (LEMIRE_Q_MAX - LEMIRE_Q_MIN + 1) as usize];
    let mut q = LEMIRE_Q_MIN;
    while q <= LEMIRE_Q_MAX {
        let mut c: u128 = if q < 0 {
            let p5 = 5u128.pow((-q) as u32);
            let mut z = 0u32;
            while (1u128 << z) < p5 {
                z += 1;
            }
            // floor(2^(z+127) / 5^-q) by long division; the quotient lies in [2^127, 2^128).
            let b = z + 127;
            let (mut rem, mut quo) = (0u128, 0u128);
            let mut i = b as i64;
            while i >= 0 {
                rem = (rem << 1) | (i == b as i64) as u128;
                if rem >= p5 {
                    rem -= p5;
                    quo |= 1u128 << i;
                }
                i -= 1;
            }
            quo + 1
        } else {
            5u128.pow(q as u32)
        };
        while c < (1u128 << 127) {
            c <<= 1;
        }
        t[(q - LEMIRE_Q_MIN) as usize] = ((c >> 64) as u64, c as u64);
        q += 1;
    }
    t
};

/// The double nearest to `w * 10^q` (ties to even) by the Eisel-Lemire algorithm, as
/// fast_float and Rust's `core::num::dec2flt::lemire` compute it (ported from there for f64),
/// for `w > 0` exact (at most 19 digits) and `q` in [`LEMIRE_Q_MIN`, `LEMIRE_Q_MAX`]; `None`
/// outside that domain or where the general parser must decide.
#[inline]
pub(super) fn eisel_lemire(q: i64, w: u64) -> Option<f64> {
    const MANTISSA_BITS: i32 = 52;
    const MINIMUM_EXPONENT: i32 = -1023;
    const INFINITE_POWER: i32 = 0x7FF;
    // 5^q < 2^64 in exactly this range: only there can a product be an exact tie.
    const MIN_EXPONENT_ROUND_TO_EVEN: i64 = -4;
    const MAX_EXPONENT_ROUND_TO_EVEN: i64 = 23;
    if w == 0 || !(LEMIRE_Q_MIN..=LEMIRE_Q_MAX).contains(&q) {
        return None;
    }
    let lz = w.leading_zeros();
    let w = w << lz;
    // w * 5^q to 55 significant bits (mantissa + hidden bit + rounding bit + leading zero).
    let (hi5, lo5) = POW5_128[(q - LEMIRE_Q_MIN) as usize];
    let mask = u64::MAX >> (MANTISSA_BITS + 3);
    let full = |a: u64, b: u64| {
        let r = a as u128 * b as u128;
        (r as u64, (r >> 64) as u64)
    };
    let (mut lo, mut hi) = full(w, hi5);
    if hi & mask == mask {
        let (_, second_hi) = full(w, lo5);
        lo = lo.wrapping_add(second_hi);
        if second_hi > lo {
            hi += 1;
        }
    }
    let upperbit = (hi >> 63) as i32;
    let shift = upperbit + 64 - MANTISSA_BITS - 3;
    let mut mantissa = hi >> shift;
    // floor(log2(10^q)) + 63, as fast_float computes it.
    let power = ((q as i32).wrapping_mul(152_170 + 65536) >> 16) + 63;
    let mut power2 = power + upperbit - lz as i32 - MINIMUM_EXPONENT;
    if power2 <= 0 {
        // Subnormal: not reachable for q >= -27; leave it to the general parser.
        return None;
    }
    if lo <= 1
        && (MIN_EXPONENT_ROUND_TO_EVEN..=MAX_EXPONENT_ROUND_TO_EVEN).contains(&q)
        && mantissa & 3 == 1
        && (mantissa << shift) == hi
    {
        // Exactly halfway: round down to even.
        mantissa &= !1u64;
    }
    mantissa += mantissa & 1;
    mantissa >>= 1;
    if mantissa >= (2u64 << MANTISSA_BITS) {
        mantissa = 1u64 << MANTISSA_BITS;
        power2 += 1;
    }
    mantissa &= !(1u64 << MANTISSA_BITS);
    if power2 >= INFINITE_POWER {
        return None;
    }
    Some(f64::from_bits(mantissa | (power2 as u64) << MANTISSA_BITS))
}
