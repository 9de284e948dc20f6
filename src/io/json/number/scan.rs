//! Word-at-a-time scanning of the number shapes COCO files are made of: SWAR digit tests, the
//! common `-?int(.frac)?` shape read in one or two words, the 16-byte short shape, and the
//! comma and digit masks of 64-byte blocks of number arrays. Each gives a value (or an end) only
//! where it is certainly the one [`super::Reader::number`] gives; `None` leaves the rest to it.

use super::super::{load8, HIGH};
use super::convert::{eisel_lemire, POW10};

/// fast_float's SWAR digit test: the high bit of every byte of a little-endian word that is not
/// an ASCII digit. A carry or borrow can only corrupt the flags of bytes after the first flagged
/// one, so the first flag and whether there is one are exact.
#[inline(always)]
pub(super) fn non_digit_bytes(v: u64) -> u64 {
    let a = v.wrapping_add(0x4646_4646_4646_4646);
    let b = v.wrapping_sub(ZEROS8);
    (a | b) & HIGH
}

/// Whether all 8 bytes of a little-endian word are ASCII digits.
#[inline]
pub(super) fn all_digits8(v: u64) -> bool {
    non_digit_bytes(v) == 0
}

/// The value of 8 ASCII digits (first digit in the lowest byte), fast_float's SWAR conversion.
#[inline]
pub(super) fn parse_digits8(v: u64) -> u64 {
    const MASK: u64 = 0x0000_00FF_0000_00FF;
    const MUL1: u64 = 0x000F_4240_0000_0064;
    const MUL2: u64 = 0x0000_2710_0000_0001;
    let v = v - 0x3030_3030_3030_3030;
    let v = v * 10 + (v >> 8);
    let v1 = (v & MASK).wrapping_mul(MUL1);
    let v2 = ((v >> 16) & MASK).wrapping_mul(MUL2);
    (v1.wrapping_add(v2) >> 32) as u32 as u64
}

/// `'0'` in every byte.
pub(super) const ZEROS8: u64 = 0x3030_3030_3030_3030;

/// `10^n` for the digit counts of one 8-byte word.
pub(super) const POW10_U64: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// How many ASCII digits a little-endian word starts with (0..=8).
#[inline(always)]
pub(super) fn digit_run8(w: u64) -> usize {
    non_digit_bytes(w).trailing_zeros() as usize / 8
}

/// The value of the first `n` (0..=8) digit bytes of a little-endian word: they are moved to the
/// top and the bytes below are filled with `'0'`, which [`parse_digits8`] reads as leading zeros.
#[inline(always)]
pub(super) fn digits_value(w: u64, n: usize) -> u64 {
    debug_assert!(n <= 8);
    let s = 64 - 8 * n as u32;
    let top = w.checked_shl(s).unwrap_or(0);
    let fill = ZEROS8 & 1u64.checked_shl(s).unwrap_or(0).wrapping_sub(1);
    parse_digits8(top | fill)
}

/// Start of a number of the common shape: `-?` then 1 to 7 integer digits without a leading
/// zero. Gives (negative, position after the integer digits, their count, their value).
#[inline(always)]
pub(super) fn fast_int_part(b: &[u8], start: usize) -> Option<(bool, usize, usize, u64)> {
    let neg = *b.get(start)? == b'-';
    let p = start + neg as usize;
    let w = load8(b, p)?;
    let n = digit_run8(w);
    if n == 0 || n == 8 || (n > 1 && w as u8 == b'0') {
        return None;
    }
    Some((neg, p + n, n, digits_value(w, n)))
}

/// The digits after a decimal point at `p`, accumulated onto `mant`: (end, count, mantissa),
/// the mantissa exact when `int_digits + count <= 19`. Up to 16 digits take no data-dependent
/// branch (the second word only counts when the first is all digits); `None` for more than 23
/// or too close to the end of the buffer.
#[inline(always)]
pub(super) fn fast_frac_part(b: &[u8], p: usize, mant: u64) -> Option<(usize, usize, u64)> {
    let w1 = load8(b, p)?;
    let w2 = load8(b, p + 8)?;
    let n1 = digit_run8(w1);
    let n2 = if n1 == 8 { digit_run8(w2) } else { 0 };
    let mut mant = mant
        .wrapping_mul(POW10_U64[n1])
        .wrapping_add(digits_value(w1, n1));
    mant = mant
        .wrapping_mul(POW10_U64[n2])
        .wrapping_add(digits_value(w2, n2));
    let mut n = n1 + n2;
    if n == 16 {
        let w3 = load8(b, p + 16)?;
        let n3 = digit_run8(w3);
        if n3 == 8 {
            return None;
        }
        mant = mant
            .wrapping_mul(POW10_U64[n3])
            .wrapping_add(digits_value(w3, n3));
        n += n3;
    }
    Some((p + n, n, mant))
}

/// Bytes `0..n` of a word set, for `n` in 0..=8.
pub(super) const LOW_BYTES: [u64; 9] = [
    0,
    0xFF,
    0xFFFF,
    0xFF_FFFF,
    0xFFFF_FFFF,
    0xFF_FFFF_FFFF,
    0xFFFF_FFFF_FFFF,
    0xFF_FFFF_FFFF_FFFF,
    u64::MAX,
];

/// The first `n` digit bytes of a word followed by `'0'`s: their value times `10^(8-n)`.
#[inline(always)]
pub(super) fn digits_padded(w: u64, n: usize) -> u64 {
    let m = LOW_BYTES[n];
    parse_digits8((w & m) | (ZEROS8 & !m))
}

/// The common shape of a number, `-?int(.frac)?` with at most 7 integer digits, at most 19
/// digits in all and no exponent, parsed with word operations and few branches instead of a
/// loop per digit. Gives the value and the end position, exactly as [`Reader::number`] then
/// [`Number::as_f64`] would (both are correctly rounded); `None` leaves everything else, and
/// every error, to them.
#[inline(always)]
pub(super) fn fast_f64(b: &[u8], start: usize) -> Option<(f64, usize)> {
    short_f64(b, start).or_else(|| long_f64(b, start))
}

/// [`fast_f64`] without trying [`short_f64`] first.
#[inline(always)]
pub(super) fn long_f64(b: &[u8], start: usize) -> Option<(f64, usize)> {
    let (neg, p, int_digits, int) = fast_int_part(b, start)?;
    // The word held a non-digit at `p`, so `b[p]` exists.
    if b[p] != b'.' {
        if b[p] | 0x20 == b'e' {
            return None;
        }
        let v = int as i64;
        return Some((if neg { -v } else { v } as f64, p));
    }
    // Up to 15 fraction digits after at most 3 integer digits (coordinates as Python prints
    // them): the fraction is read as 8 or 16 digits padded with zeros, which is the same
    // decimal, so the mantissa takes two fixed multiplications and still fits u64.
    let f = p + 1;
    if int_digits <= 3 {
        if let (Some(w1), Some(w2)) = (load8(b, f), load8(b, f + 8)) {
            let n1 = digit_run8(w1);
            let n2 = if n1 == 8 { digit_run8(w2) } else { 0 };
            if n1 > 0 && n2 < 8 {
                let lo = int * 100_000_000 + digits_padded(w1, n1);
                let end = f + n1 + n2;
                if b[end] | 0x20 == b'e' {
                    return None;
                }
                let v = if n1 < 8 {
                    // At most 3 + 7 digits: `lo < 10^11 < 2^53` and `10^8` are exact doubles,
                    // so one division is correctly rounded (Clinger's fast path), the same
                    // double as Eisel-Lemire gives, for less work. The branch is the one on
                    // `n1` that short and long fractions take anyway.
                    lo as f64 / 1e8
                } else {
                    let mant = lo * 100_000_000 + digits_padded(w2, n2);
                    if mant == 0 {
                        0.0
                    } else {
                        eisel_lemire(-16, mant)?
                    }
                };
                return Some((if neg { -v } else { v }, end));
            }
        }
    }
    let (end, frac, mant) = fast_frac_part(b, f, int)?;
    if frac == 0 || int_digits + frac > 19 || b[end] | 0x20 == b'e' {
        return None;
    }
    // Eisel-Lemire is correctly rounded wherever it answers, like Clinger's fast path.
    let v = if mant == 0 {
        0.0
    } else {
        eisel_lemire(-(frac as i64), mant)?
    };
    Some((if neg { -v } else { v }, end))
}

/// Bit `i` set where `w[i]` is an ASCII digit. On x86_64 SSE2 (part of the baseline) classifies
/// the 16 bytes at once.
#[inline(always)]
pub(super) fn digit_mask16(w: &[u8; 16]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::*;
        // SAFETY: SSE2 is always present on x86_64; the load reads exactly the 16 bytes of `w`
        // (unaligned loads are allowed).
        unsafe {
            let x = _mm_loadu_si128(w.as_ptr().cast());
            let t = _mm_sub_epi8(x, _mm_set1_epi8(b'0' as i8));
            // Digits are the bytes with `byte - '0' <= 9` (unsigned): min(t, 9) == t.
            let digit = _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8(9)), t);
            _mm_movemask_epi8(digit) as u32
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        digit_mask16_bytes(w)
    }
}

/// [`digit_mask16`] one byte at a time (other targets; the tests compare the two).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline]
pub(super) fn digit_mask16_bytes(w: &[u8; 16]) -> u32 {
    w.iter()
        .enumerate()
        .fold(0, |m, (i, c)| m | ((c.is_ascii_digit() as u32) << i))
}

/// For the 64 bytes from `p` (`None` past the end): bit `i` set where `b[p + i]` is a comma,
/// and where it is an ASCII digit.
#[inline(always)]
pub(super) fn block_masks(b: &[u8], p: usize) -> Option<(u64, u64)> {
    let w: &[u8; 64] = b.get(p..p + 64)?.try_into().ok()?;
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::*;
        // SAFETY: SSE2 is always present on x86_64; each load reads 16 of the 64 bytes of `w`.
        unsafe {
            let (comma, zero, nine) = (
                _mm_set1_epi8(b',' as i8),
                _mm_set1_epi8(b'0' as i8),
                _mm_set1_epi8(9),
            );
            let m = |i: usize| {
                let x = _mm_loadu_si128(w.as_ptr().add(16 * i).cast());
                let t = _mm_sub_epi8(x, zero);
                let d = _mm_cmpeq_epi8(_mm_min_epu8(t, nine), t);
                (
                    _mm_movemask_epi8(_mm_cmpeq_epi8(x, comma)) as u16 as u64,
                    _mm_movemask_epi8(d) as u16 as u64,
                )
            };
            let (a, b, c, d) = (m(0), m(1), m(2), m(3));
            Some((
                a.0 | b.0 << 16 | c.0 << 32 | d.0 << 48,
                a.1 | b.1 << 16 | c.1 << 32 | d.1 << 48,
            ))
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Some(block_masks_bytes(w))
    }
}

/// [`block_masks`] one byte at a time (other targets; the tests compare the two).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline]
pub(super) fn block_masks_bytes(w: &[u8; 64]) -> (u64, u64) {
    w.iter().enumerate().fold((0, 0), |(c, d), (i, &x)| {
        (
            c | ((x == b',') as u64) << i,
            d | (x.is_ascii_digit() as u64) << i,
        )
    })
}

/// The top `n` bytes of a word set, for `n` in 0..=8.
pub(super) const HIGH_BYTES: [u64; 9] = [
    0,
    0xFF00_0000_0000_0000,
    0xFFFF_0000_0000_0000,
    0xFFFF_FF00_0000_0000,
    0xFFFF_FFFF_0000_0000,
    0xFFFF_FFFF_FF00_0000,
    0xFFFF_FFFF_FFFF_0000,
    0xFFFF_FFFF_FFFF_FF00,
    u64::MAX,
];

/// What [`short_f64`] reads of a number: its sign, digit counts (`n_frac == 0`: no point) and
/// end.
pub(super) struct Short {
    pub(super) neg: bool,
    pub(super) n_int: u32,
    pub(super) n_frac: u32,
    pub(super) end: usize,
}

/// The shape detectors write most (`459.12`, `-0.5`, `17`): `-?int(.frac)?` whose digits and
/// point fit 8 bytes, no leading zero and no exponent, whose text and terminator lie in the 16
/// bytes from `start`. The digits are found with one 16-byte classification instead of a word
/// test per run. `None` for anything else, which [`fast_f64`]'s longer path handles.
#[inline(always)]
pub(super) fn short_shape(b: &[u8], start: usize) -> Option<Short> {
    let w: &[u8; 16] = b.get(start..start + 16)?.try_into().ok()?;
    let neg = w[0] == b'-';
    let s = neg as u32;
    let d = digit_mask16(w) >> s;
    let n_int = (!d).trailing_zeros();
    // 1..=8 integer digits (so `i` <= 9 is inside the window), no leading zero. The checks are
    // combined without branches, and indices masked to the window (they are in it when the
    // checks pass), because every number takes them.
    let i = (s + n_int) as usize;
    let point = w[i & 15] == b'.';
    let n_frac = if point {
        (!(d >> (n_int + 1))).trailing_zeros()
    } else {
        0
    };
    // Digits and point fit one word (what `short_f64` converts), which keeps the terminator at
    // index <= 9.
    let e = i + point as usize + n_frac as usize;
    if (n_int.wrapping_sub(1) >= 8)
        | (n_int > 1 && w[s as usize] == b'0')
        | (point & (n_frac == 0))
        | (n_int + n_frac + point as u32 > 8)
        | (w[e & 15] | 0x20 == b'e')
    {
        return None;
    }
    Some(Short {
        neg,
        n_int,
        n_frac,
        end: start + e,
    })
}

/// The value of a [`short_shape`] number, as [`Reader::number`] then [`Number::as_f64`] give it:
/// the mantissa (< 10^8) and `10^n_frac` are exact doubles, so one division is correctly rounded
/// (Clinger's fast path). An integer `-0` is Python's int 0, so +0.0.
#[inline(always)]
pub(super) fn short_f64(b: &[u8], start: usize) -> Option<(f64, usize)> {
    let s = short_shape(b, start)?;
    Some((short_value(b, &s)?, s.end))
}

/// The value of a number of the short shape `s` found in `b`.
#[inline(always)]
pub(super) fn short_value(b: &[u8], s: &Short) -> Option<f64> {
    // The word that ends with the last digit: the fraction digits on top, then the point (moved
    // out by shifting what is below it up one byte), then the integer digits; the bytes below
    // the digits are filled with '0', which `parse_digits8` reads as leading zeros.
    let w = load8(b, s.end.checked_sub(8)?)?;
    let frac = HIGH_BYTES[s.n_frac as usize];
    let shifted = w << (8 * (s.n_frac > 0) as u32);
    let digits = (w & frac) | (shifted & !frac);
    let all = HIGH_BYTES[(s.n_int + s.n_frac) as usize];
    let mant = parse_digits8((digits & all) | (ZEROS8 & !all));
    let v = mant as f64 / POW10[s.n_frac as usize];
    let neg = s.neg & ((s.n_frac > 0) | (mant != 0));
    Some(f64::from_bits(v.to_bits() | (neg as u64) << 63))
}

/// The number in `b[p..c]` (`c` a comma of the block at `base`, `p < c`) if it is of the short
/// shape, read from the block's digit mask (bit `i`: `b[base + i]` is a digit) instead of a
/// classification of its own: `-?` then digits with at most one point, which is neither the
/// first nor the last, no leading zero, digits and point fitting one word.
#[inline(always)]
pub(super) fn block_number(
    b: &[u8],
    base: usize,
    digits: u64,
    p: usize,
    c: usize,
) -> Option<Short> {
    let neg = b[p] == b'-';
    let (r0, rc) = ((p + neg as usize - base) as u32, (c - base) as u32);
    // The bytes from the first digit to the comma (rc <= 63).
    let span = ((1u64 << rc) - 1) & !((1u64 << r0) - 1);
    let other = span & !digits;
    let len = rc.saturating_sub(r0);
    let (n_int, n_frac) = if other == 0 {
        (len, 0)
    } else {
        let pt = other.trailing_zeros();
        if other & (other - 1) != 0 || b[base + pt as usize] != b'.' {
            return None;
        }
        (pt - r0, rc - pt - 1)
    };
    let point = other != 0;
    if (n_int == 0)
        | (point & (n_frac == 0))
        | (n_int + n_frac + point as u32 > 8)
        | (n_int > 1 && b[base + r0 as usize] == b'0')
    {
        return None;
    }
    Some(Short {
        neg,
        n_int,
        n_frac,
        end: c,
    })
}

/// Where a number of [`fast_f64`]'s shape ends (any number of fraction digits up to 23),
/// without its value; `None` as there.
#[inline(always)]
pub(super) fn fast_number_end(b: &[u8], start: usize) -> Option<usize> {
    short_shape(b, start)
        .map(|s| s.end)
        .or_else(|| long_number_end(b, start))
}

/// [`fast_number_end`] without trying [`short_shape`] first.
#[inline(always)]
pub(super) fn long_number_end(b: &[u8], start: usize) -> Option<usize> {
    let (_, p, _, _) = fast_int_part(b, start)?;
    if b[p] != b'.' {
        return (b[p] | 0x20 != b'e').then_some(p);
    }
    let (end, frac, _) = fast_frac_part(b, p + 1, 0)?;
    (frac > 0 && b[end] | 0x20 != b'e').then_some(end)
}

/// Consume a run of ASCII digits at `*p`, accumulating them into `mant` with wrapping
/// arithmetic (exact while at most 19 digits have been read); returns how many.
#[inline]
pub(super) fn read_digits(b: &[u8], p: &mut usize, mant: &mut u64) -> usize {
    let start = *p;
    while let Some(v) = load8(b, *p) {
        if !all_digits8(v) {
            break;
        }
        *mant = mant
            .wrapping_mul(100_000_000)
            .wrapping_add(parse_digits8(v));
        *p += 8;
    }
    while let Some(&c) = b.get(*p) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        *mant = mant.wrapping_mul(10).wrapping_add(d as u64);
        *p += 1;
    }
    *p - start
}

/// Skip a run of ASCII digits at `*p`; returns how many.
#[inline]
pub(super) fn skip_digits(b: &[u8], p: &mut usize) -> usize {
    let start = *p;
    while let Some(v) = load8(b, *p) {
        if !all_digits8(v) {
            break;
        }
        *p += 8;
    }
    while b.get(*p).is_some_and(|c| c.is_ascii_digit()) {
        *p += 1;
    }
    *p - start
}
