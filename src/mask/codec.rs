//! COCO's compressed RLE counts (`rleToString` / `rleFrString`): encoding, and decoding with
//! validation one character at a time, straight from the escaped text inside a JSON string into
//! any [`CountSink`] (a counts vector, the mask's facts, or an intersection with another mask).

use super::{MaskError, Rle};

impl Rle {
    /// `rleToString`: COCO's compressed text form (LEB128-like, 6 bits per char, chars 48..111,
    /// counts after the 3rd stored as differences to the count two before).
    pub fn to_compressed(&self) -> String {
        let mut s = String::new();
        for (i, &c) in self.counts.iter().enumerate() {
            let mut x = c as i64;
            if i > 2 {
                x -= self.counts[i - 2] as i64;
            }
            loop {
                let mut ch = (x & 0x1f) as u8;
                x >>= 5;
                let more = if ch & 0x10 != 0 { x != -1 } else { x != 0 };
                if more {
                    ch |= 0x20;
                }
                s.push((ch + 48) as char);
                if !more {
                    break;
                }
            }
        }
        s
    }

    /// `rleFrString` with validation: every char must be in COCO's alphabet (48..=111), the text
    /// may not end inside a value, every count must fit a `uint`, and the counts must sum to `h*w`.
    /// Valid strings decode exactly as maskApi.c decodes them (its `int` shifts included).
    pub fn from_compressed(s: &[u8], h: u32, w: u32) -> Result<Rle, MaskError> {
        // One count per char without the continuation bit (0x20 after the -48 shift).
        let n_values = s
            .iter()
            .filter(|&&b| b.wrapping_sub(48) & 0x20 == 0)
            .count();
        let mut counts: Vec<u32> = Vec::with_capacity(n_values);
        let mut dec = StringDecoder::default();
        for &b in s {
            if let Some(v) = dec.push(b)? {
                counts.push(v);
            }
        }
        dec.finish()?;
        Rle::from_counts(h, w, counts)
    }
}

/// `rleFrString`'s decoder fed one character at a time, with the checks of
/// [`Rle::from_compressed`] (which is built on it). Lets a caller decode text it does not own
/// (or that still has JSON escapes) without first copying it.
#[derive(Debug, Clone, Default)]
pub struct StringDecoder {
    /// The value being assembled and how many characters it has so far.
    x: i64,
    k: u32,
    /// Values decoded so far, and the last two (counts after the 3rd are stored as differences
    /// to the count two before).
    m: usize,
    prev2: u32,
    prev1: u32,
    /// Characters consumed (for error messages).
    p: usize,
}

impl StringDecoder {
    /// Consume one character; `Some(count)` when it completes a value.
    #[inline]
    pub fn push(&mut self, b: u8) -> Result<Option<u32>, MaskError> {
        if !(48..=111).contains(&b) {
            return Err(MaskError(format!(
                "compressed RLE string has an invalid character {:?} at {} (allowed: '0'..'o')",
                b as char, self.p
            )));
        }
        if self.k >= 7 {
            return Err(MaskError(format!(
                "compressed RLE string has a value longer than 7 characters at {}",
                self.p
            )));
        }
        let c = (b - 48) as i32;
        // maskApi.c: `x |= (c & 0x1f) << 5*k` in `int`, then sign-extended to `long`.
        self.x |= ((c & 0x1f).wrapping_shl(5 * self.k)) as i64;
        self.p += 1;
        self.k += 1;
        if c & 0x20 != 0 {
            return Ok(None);
        }
        if c & 0x10 != 0 {
            self.x |= ((-1i32).wrapping_shl(5 * self.k)) as i64;
        }
        let mut x = self.x;
        (self.x, self.k) = (0, 0);
        if self.m > 2 {
            x += self.prev2 as i64;
        }
        if !(0..=u32::MAX as i64).contains(&x) {
            return Err(MaskError(format!(
                "compressed RLE string decodes to an invalid run length {} (count #{})",
                x, self.m
            )));
        }
        let v = x as u32;
        (self.prev2, self.prev1) = (self.prev1, v);
        self.m += 1;
        Ok(Some(v))
    }

    /// After the last character: the text may not end inside a value.
    pub fn finish(&self) -> Result<(), MaskError> {
        if self.k > 0 {
            return Err(MaskError(format!(
                "compressed RLE string ends inside a value (at character {})",
                self.p
            )));
        }
        Ok(())
    }
}

/// `rleFrString` in one tight loop over a compressed string as it sits inside a JSON string,
/// where `\\` stands for one backslash (a character of the alphabet). Counts alternate between
/// the sink's `zeros` (even positions: runs of 0s) and `ones` (odd positions). `Err(())` on anything
/// [`StringDecoder`] rejects, which then says why; on valid text the counts are exactly its
/// counts (property-tested), up to where the sink is [`CountSink::full`]. The sink is taken and
/// given back by value, so that its fields can
/// live in registers through the loop.
///
/// Counts after the third are stored as differences to the count two before, i.e. to the previous
/// count of the same parity: after the first three, the loop keeps one running value per parity.
#[inline(always)]
pub fn decode_json_text<S: CountSink>(raw: &[u8], mut sink: S) -> Result<S, ()> {
    /// One stored value: most are a single character (a small difference).
    #[inline(always)]
    fn value(raw: &[u8], i: &mut usize) -> Result<i64, ()> {
        let b = *raw.get(*i).ok_or(())?;
        let c = b.wrapping_sub(48);
        if c < 0x20 {
            // No continuation bit: 5 bits, sign-extended.
            *i += 1;
            return Ok((((c as i32) << 27) >> 27) as i64);
        }
        let mut x = 0i64;
        let mut k = 0u32;
        loop {
            let b = *raw.get(*i).ok_or(())?;
            *i += 1 + (b == b'\\') as usize;
            let c = b.wrapping_sub(48);
            if c > 63 || k >= 7 {
                return Err(());
            }
            // maskApi.c: `x |= (c & 0x1f) << 5*k` in `int`, then sign-extended to `long`.
            x |= (((c & 0x1f) as i32).wrapping_shl(5 * k)) as i64;
            k += 1;
            if c & 0x20 == 0 {
                if c & 0x10 != 0 {
                    x |= ((-1i32).wrapping_shl(5 * k)) as i64;
                }
                return Ok(x);
            }
        }
    }
    /// A count must fit u32 (negative or too large values are rejected).
    #[inline(always)]
    fn count(x: i64) -> Result<u32, ()> {
        if x as u64 > u32::MAX as u64 {
            return Err(());
        }
        Ok(x as u32)
    }
    let n = raw.len();
    let mut i = 0;
    let mut m = 0;
    // The first three counts are stored as they are.
    let (mut zeros, mut ones) = (0, 0);
    if i < n {
        zeros = value(raw, &mut i)?;
        sink.zeros(count(zeros)?);
        m = 1;
    }
    if i < n {
        ones = value(raw, &mut i)?;
        sink.ones(count(ones)?);
        m = 2;
    }
    if i < n {
        zeros = value(raw, &mut i)?;
        sink.zeros(count(zeros)?);
        m = 3;
    }
    while i < n {
        ones += value(raw, &mut i)?;
        sink.ones(count(ones)?);
        m += 1;
        if i >= n || sink.full() {
            break;
        }
        zeros += value(raw, &mut i)?;
        sink.zeros(count(zeros)?);
        m += 1;
    }
    sink.end(m);
    Ok(sink)
}

/// Where decoded counts go, told apart by parity so that no sink tests it per count.
pub trait CountSink {
    /// A count at an even position: a run of 0s.
    fn zeros(&mut self, c: u32);
    /// A count at an odd position: a run of 1s.
    fn ones(&mut self, c: u32);
    /// After the last count: how many there were.
    #[inline(always)]
    fn end(&mut self, _n: usize) {}
    /// Whether the sink needs no more counts (checked after each count of 1s): decoding may
    /// stop there.
    #[inline(always)]
    fn full(&self) -> bool {
        false
    }
}

impl<T: CountSink + ?Sized> CountSink for &mut T {
    #[inline(always)]
    fn zeros(&mut self, c: u32) {
        (**self).zeros(c);
    }
    #[inline(always)]
    fn ones(&mut self, c: u32) {
        (**self).ones(c);
    }
    #[inline(always)]
    fn end(&mut self, n: usize) {
        (**self).end(n);
    }
    #[inline(always)]
    fn full(&self) -> bool {
        (**self).full()
    }
}

impl CountSink for Vec<u32> {
    #[inline]
    fn zeros(&mut self, c: u32) {
        self.push(c);
    }
    #[inline]
    fn ones(&mut self, c: u32) {
        self.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::test_support::*;
    use crate::mask::*;
    use proptest::prelude::*;

    #[test]
    fn bad_counts_are_rejected() {
        assert!(Rle::from_counts(3, 4, vec![2, 3, 5]).is_err());
        assert!(Rle::from_compressed(b"", 3, 4).is_err());
        assert!(Rle::from_compressed(b"0", 0, 0).is_ok());
        // A value cut off mid-way (continuation bit set on the last char).
        assert!(Rle::from_compressed(b"P", 1, 1).is_err());
    }

    proptest! {
        #[test]
        fn json_text_decoding_equals_the_reference_decoder(counts in proptest::collection::vec(prop_oneof![3 => 0u32..40, 1 => 0u32..5_000_000], 0..40),
                                                           noise in proptest::collection::vec((0usize..200, 0u8..=255), 0..3)) {
            // Valid strings (any counts, long values and backslashes included), then the same
            // strings with a few bytes replaced, which may make them invalid anywhere.
            let text = Rle { h: 1, w: counts.iter().map(|&c| c as u64).sum::<u64>().min(u32::MAX as u64) as u32, counts: counts.clone() }.to_compressed().into_bytes();
            prop_assert_eq!(json_text_counts(&text), Some(counts.clone()));
            prop_assert_eq!(decoder_counts(&text), Some(counts));
            let mut bad = text.clone();
            for &(at, b) in &noise {
                if !bad.is_empty() {
                    let k = at % bad.len();
                    bad[k] = b;
                }
            }
            prop_assert_eq!(json_text_counts(&bad), decoder_counts(&bad), "{:?}", String::from_utf8_lossy(&bad));
        }

        #[test]
        fn stats_while_decoding_text_equal_the_references(h in 1u32..9, counts in proptest::collection::vec(prop_oneof![2 => Just(0u32), 5 => 1u32..30], 0..12)) {
            // Any counts (zero-length runs, runs across columns), as evaluation reads results.
            let r = Rle { h, w: 1 + counts.iter().sum::<u32>() / h, counts };
            let text = json_escaped(r.to_compressed().as_bytes());
            let st = decode_json_text(&text, RunStats::new(r.h, r.w)).unwrap();
            prop_assert_eq!(st.info(), r.stats().info());
            prop_assert_eq!(st.info().bbox, r.to_bbox_reference());
            prop_assert_eq!(st.area(), r.area());
            prop_assert_eq!(st.pixels(), r.counts.iter().map(|&c| c as u64).sum::<u64>());
            prop_assert_eq!(st.info().plain, !r.counts.iter().skip(1).any(|&c| c == 0));
        }

        #[test]
        fn intersecting_while_decoding_equals_intersect_runs((h, w, m1) in arb_mask(), seed in 0u64..1000, cut in 0usize..40) {
            // Two related masks (and the second cut short, so decoding may stop early or not).
            let m2: Vec<u8> = m1.iter().enumerate().map(|(i, &b)| if (i as u64 * 2654435761 + seed) % 3 == 0 || i >= cut * 4 { 1 - b } else { b }).collect();
            let (a, b) = (Rle::encode(&m1, h, w), Rle::encode(&m2, h, w));
            let (mut ra, mut rb) = (Vec::new(), Vec::new());
            runs_of(&a.counts, &mut ra);
            runs_of(&b.counts, &mut rb);
            let text = json_escaped(a.to_compressed().as_bytes());
            let got = decode_json_text(&text, IntersectRuns::new(&rb)).unwrap().inter;
            prop_assert_eq!(got, intersect_runs(&ra, &rb));
            prop_assert_eq!(got as usize, m1.iter().zip(&m2).filter(|(x, y)| **x != 0 && **y != 0).count());
        }
    }
}
