//! JSON numbers: integers exact in i128, everything else correctly rounded to f64 (as Rust's
//! `f64::from_str` and Python's `float()` round). The common COCO shapes (up to 19 significant
//! digits, small exponents) take a fast path — 8 digits at a time, then an exact power of ten or
//! Eisel-Lemire — and everything else falls back to Rust's parser; property tests pin both.
//!
//! This file holds the reader's number methods (scalars, ids, boxes, number arrays) and the
//! tests; `scan` the word-at-a-time shape scanners they try first, `convert` the exact
//! decimal-to-double steps (powers of ten, Eisel-Lemire).

use super::{is_ws, JResult, JsonError, Reader};

/// A JSON number as written: integers are kept exact when they fit in an `i128`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(i128),
    Float(f64),
}

impl Number {
    pub fn as_f64(self) -> f64 {
        match self {
            // i64 → f64 is one instruction; i128 → f64 is a libcall.
            Number::Int(i) => match i64::try_from(i) {
                Ok(x) => x as f64,
                Err(_) => i as f64,
            },
            Number::Float(f) => f,
        }
    }
}

mod convert;
mod scan;
use convert::*;
use scan::*;

impl<'a> Reader<'a> {
    /// A number. Integers (no fraction, no exponent) are exact when they fit in i128; every other
    /// number is parsed correctly rounded to f64. Non-finite values (`NaN`, `Infinity`, or a
    /// literal that overflows such as `1e400`) are errors.
    pub fn number(&mut self) -> JResult<Number> {
        self.skip_ws();
        let start = self.pos;
        let b = self.buf;
        let mut p = start;
        let neg = b.get(p) == Some(&b'-');
        if neg {
            p += 1;
        }
        // Digits are accumulated with wrapping arithmetic; the value is used only when the
        // literal has at most 19 digits (so it fit exactly). Clinger's fast path then applies.
        let mut mant: u64 = 0;
        let int_start = p;
        read_digits(b, &mut p, &mut mant);
        let int_digits = p - int_start;
        if int_digits == 0 {
            match b.get(p) {
                Some(b'N') if b[p..].starts_with(b"NaN") => {
                    return self.err("non-finite number NaN; every number must be finite")
                }
                Some(b'I') if b[p..].starts_with(b"Infinity") => {
                    return self.err("non-finite number Infinity; every number must be finite")
                }
                _ => {
                    let k = self
                        .peek_kind()
                        .map(|k| k.name())
                        .unwrap_or("something else");
                    self.pos = start;
                    return self.err(format!("expected a number, found {}", k));
                }
            }
        }
        if int_digits > 1 && b[int_start] == b'0' {
            // JSON forbids leading zeros: read "0" and let the caller trip over the rest.
            p = int_start + 1;
            mant = 0;
        }
        let int_digits = p - int_start;
        let mut is_int = true;
        let mut frac_digits: usize = 0;
        if b.get(p) == Some(&b'.') {
            is_int = false;
            p += 1;
            frac_digits = read_digits(b, &mut p, &mut mant);
            if frac_digits == 0 {
                self.pos = p;
                return self.err("invalid number: digits expected after '.'");
            }
        }
        let mut exp: i64 = 0;
        if matches!(b.get(p), Some(b'e' | b'E')) {
            is_int = false;
            p += 1;
            let eneg = match b.get(p) {
                Some(b'-') => {
                    p += 1;
                    true
                }
                Some(b'+') => {
                    p += 1;
                    false
                }
                _ => false,
            };
            let d0 = p;
            while let Some(&c @ b'0'..=b'9') = b.get(p) {
                if exp < 100_000 {
                    exp = exp * 10 + (c - b'0') as i64;
                }
                p += 1;
            }
            if p == d0 {
                self.pos = p;
                return self.err("invalid number: digits expected in exponent");
            }
            if eneg {
                exp = -exp;
            }
        }
        self.pos = p;
        if int_digits + frac_digits <= 18 && is_int {
            let v = mant as i64;
            return Ok(Number::Int(if neg { -(v as i128) } else { v as i128 }));
        }
        if int_digits + frac_digits <= 19 && !is_int {
            // `mant` holds the digits exactly.
            let e10 = exp - frac_digits as i64;
            let v = if mant <= (1u64 << 53) && (-22..=22).contains(&e10) {
                // Clinger's fast path: both operands exact, one correctly rounded operation.
                let m = mant as f64;
                Some(if e10 < 0 {
                    m / POW10[(-e10) as usize]
                } else {
                    m * POW10[e10 as usize]
                })
            } else {
                eisel_lemire(e10, mant)
            };
            if let Some(v) = v {
                return Ok(Number::Float(if neg { -v } else { v }));
            }
        }
        // General case: Rust's parser is correctly rounded (like Python's float()).
        // The span is ASCII by construction.
        let text = std::str::from_utf8(&b[start..p]).unwrap_or("");
        if is_int {
            if let Ok(i) = text.parse::<i128>() {
                return Ok(Number::Int(i));
            }
        }
        let v: f64 = text
            .parse()
            .map_err(|_| JsonError::new(start, "invalid number"))?;
        if !v.is_finite() {
            return Err(JsonError::new(
                start,
                format!(
                    "number {} overflows to infinity; every number must be finite",
                    text
                ),
            ));
        }
        Ok(Number::Float(v))
    }

    /// A finite number as f64.
    #[inline]
    pub fn f64(&mut self) -> JResult<f64> {
        self.skip_ws();
        if let Some((v, p)) = fast_f64(self.buf, self.pos) {
            self.pos = p;
            return Ok(v);
        }
        Ok(self.number()?.as_f64())
    }

    /// An integer id. Python's json makes `3.0` a float that still compares equal to `3`, so an
    /// integral float is accepted; `3.5` is not.
    pub fn int(&mut self) -> JResult<i128> {
        let start = self.pos;
        self.skip_ws();
        // Ids as files write them (1 to 7 digits, no fraction or exponent) from one word.
        if let Some((neg, p, _, v)) = fast_int_part(self.buf, self.pos) {
            // The word held the non-digit at `p`, so `b[p]` exists.
            let c = self.buf[p];
            if c != b'.' && c | 0x20 != b'e' {
                self.pos = p;
                return Ok(if neg { -(v as i128) } else { v as i128 });
            }
        }
        match self.number()? {
            Number::Int(i) => Ok(i),
            Number::Float(f) if f.fract() == 0.0 && f.abs() < 1.7e38 => Ok(f as i128),
            Number::Float(f) => Err(JsonError::new(
                start,
                format!("expected an integer, found {}", f),
            )),
        }
    }

    /// Skip a number, checking its grammar but not computing it. Python's json accepts `NaN`,
    /// `Infinity` and `-Infinity`; in a value nobody reads, so do we. Anything else that is not
    /// a number is "expected a number".
    pub fn skip_number(&mut self) -> JResult<()> {
        self.skip_ws();
        if let Some(p) = fast_number_end(self.buf, self.pos) {
            self.pos = p;
            return Ok(());
        }
        let b = self.buf;
        let mut p = self.pos;
        if b.get(p) == Some(&b'-') {
            p += 1;
        }
        if matches!(b.get(p), Some(b'N' | b'I')) {
            for lit in [&b"NaN"[..], &b"Infinity"[..]] {
                if b[p..].starts_with(lit) {
                    self.pos = p + lit.len();
                    return Ok(());
                }
            }
        }
        if p == self.pos && !matches!(b.get(p), Some(b'0'..=b'9' | b'N' | b'I')) {
            let k = self
                .peek_kind()
                .map(|k| k.name())
                .unwrap_or("something else");
            return self.err(format!("expected a number, found {}", k));
        }
        let int_start = p;
        let n = skip_digits(b, &mut p);
        if n == 0 || (n > 1 && b[int_start] == b'0') {
            self.pos = int_start;
            return self.err(if n == 0 {
                "invalid number"
            } else {
                "invalid number: leading zero"
            });
        }
        if b.get(p) == Some(&b'.') {
            p += 1;
            if skip_digits(b, &mut p) == 0 {
                self.pos = p;
                return self.err("invalid number: digits expected after '.'");
            }
        }
        if matches!(b.get(p), Some(b'e' | b'E')) {
            p += 1;
            if matches!(b.get(p), Some(b'+' | b'-')) {
                p += 1;
            }
            if skip_digits(b, &mut p) == 0 {
                self.pos = p;
                return self.err("invalid number: digits expected in exponent");
            }
        }
        self.pos = p;
        Ok(())
    }

    /// Parse `[n0, n1, ...]` of finite numbers into `out` (cleared first).
    pub fn f64_array_into(&mut self, out: &mut Vec<f64>) -> JResult<()> {
        out.clear();
        self.begin_array()?;
        let mut first = true;
        while self.next_element(&mut first)? {
            let i = out.len();
            out.push(self.f64().map_err(|e| e.in_index(i))?);
        }
        Ok(())
    }

    /// `[n0, n1, ...]` on the fast number path only: appends to `out` the numbers at the
    /// indices where `keep(i)` holds (the others are only checked), and gives how many there
    /// were. Returns `None`, with `out` and the position as they were, at the first thing the
    /// fast path does not handle (an exponent, a long integer, a syntax error, ...): the caller
    /// then parses the array with the general methods, which also report every error.
    #[inline]
    pub fn fast_number_array(
        &mut self,
        keep: impl Fn(usize) -> bool,
        out: &mut Vec<f64>,
    ) -> Option<usize> {
        let len0 = out.len();
        let n = self.fast_numbers(keep, |_, v| out.push(v));
        if n.is_none() {
            out.truncate(len0);
        }
        n
    }

    /// [`Reader::fast_number_array`] handing each kept number with its index to `sink`
    /// instead of a vector. On `None` the position is unchanged and `sink` may have been
    /// called for some numbers, which the caller then disregards.
    #[inline]
    pub fn fast_numbers(
        &mut self,
        keep: impl Fn(usize) -> bool,
        mut sink: impl FnMut(usize, f64),
    ) -> Option<usize> {
        #[inline(always)]
        fn ws(b: &[u8], mut p: usize) -> usize {
            while b.get(p).is_some_and(|&c| is_ws(c)) {
                p += 1;
            }
            p
        }
        let b = self.buf;
        let mut p = ws(b, self.pos);
        if b.get(p) != Some(&b'[') {
            return None;
        }
        p = ws(b, p + 1);
        let mut n = 0;
        if b.get(p) == Some(&b']') {
            self.pos = p + 1;
            return Some(0);
        }
        // Runs of `number,` followed by one space or none (as the first separator has it) are
        // read a block at a time: the commas of the 64 bytes from `p` are found at once, so
        // where the next number starts comes from the comma mask, not from the end of the
        // number before it, and the processor overlaps the numbers of a block. Each number must
        // end exactly at its comma; anything else (the last number, other whitespace, shapes
        // the short path leaves alone) goes on in the loop below from that number.
        let mut sep = 0;
        'blocks: while let Some((mut commas, digits)) = block_masks(b, p) {
            let base = p;
            while commas != 0 {
                let c = base + commas.trailing_zeros() as usize;
                commas &= commas - 1;
                let Some(num) = block_number(b, base, digits, p, c) else {
                    break 'blocks;
                };
                if keep(n) {
                    let Some(v) = short_value(b, &num) else {
                        break 'blocks;
                    };
                    sink(n, v);
                }
                n += 1;
                let space = b.get(c + 1).is_some_and(|&x| is_ws(x));
                if sep == 0 {
                    sep = 1 + space as usize;
                } else if sep == 2 && !space {
                    p = c + 1;
                    break 'blocks;
                }
                p = c + sep;
            }
            if p == base {
                break;
            }
        }
        // Wherever the blocks stopped, `p` follows a comma (or the `[`): the loop below starts
        // at the number after the whitespace.
        p = ws(b, p);
        // The short path is tried until a number is past it (long coordinates usually are all
        // long: then each one goes straight to the longer path).
        let mut short = true;
        loop {
            if keep(n) {
                let r = if short { short_f64(b, p) } else { None };
                let (v, q) = match r {
                    Some(r) => r,
                    None => {
                        short = false;
                        long_f64(b, p)?
                    }
                };
                sink(n, v);
                p = q;
            } else {
                let r = if short { short_shape(b, p) } else { None };
                p = match r {
                    Some(s) => s.end,
                    None => {
                        short = false;
                        long_number_end(b, p)?
                    }
                };
            }
            n += 1;
            // The common separator ", " first.
            if b.get(p) == Some(&b',') && b.get(p + 1) == Some(&b' ') {
                p += 2;
                continue;
            }
            p = ws(b, p);
            match b.get(p) {
                Some(b',') => p = ws(b, p + 1),
                Some(b']') => {
                    self.pos = p + 1;
                    return Some(n);
                }
                _ => return None,
            }
        }
    }

    /// Parse exactly 4 finite numbers `[a, b, c, d]`.
    pub fn f64x4(&mut self) -> JResult<[f64; 4]> {
        let start = self.pos;
        let mut out = [0.0; 4];
        if self.fast_numbers(|i| i < 4, |i, v| out[i] = v) == Some(4) {
            return Ok(out);
        }
        // Anything else (and every error) on the general path, from the same position.
        self.pos = start;
        self.begin_array()?;
        let mut n = 0;
        let mut first = true;
        while self.next_element(&mut first)? {
            let v = self.f64().map_err(|e| e.in_index(n))?;
            if n < 4 {
                out[n] = v;
            }
            n += 1;
        }
        if n != 4 {
            return Err(JsonError::new(
                start,
                format!("expected 4 numbers [x, y, width, height], found {}", n),
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_exactly() {
        let mut r = Reader::new(b" 9007199254740993 ");
        assert_eq!(r.number().unwrap(), Number::Int(9007199254740993));
        let mut r = Reader::new(b"0.1");
        assert_eq!(r.f64().unwrap(), 0.1);
        // A many-digit literal halfway between two doubles must round correctly.
        let mut r = Reader::new(b"2.00000000000000011102230246251565404236316680908203125");
        assert_eq!(r.f64().unwrap(), 2.0);
        let mut r = Reader::new(b"-1e400");
        assert!(r.number().is_err());
        let mut r = Reader::new(b"NaN");
        assert!(r.number().unwrap_err().message.contains("NaN"));
        let mut r = Reader::new(b"01");
        assert_eq!(r.number().unwrap(), Number::Int(0)); // then "1" is trailing garbage
        assert!(r.expect_end().is_err());
    }

    #[test]
    fn pow5_table_matches_fast_float() {
        // Entries of fast_float's POWER_OF_FIVE_128 (fast-float2 0.2.4, src/table.rs).
        for (q, hi, lo) in [
            (-27, 0x9e74d1b791e07e48u64, 0x775ea264cf55347eu64),
            (-20, 0xbce5086492111aea, 0x88f4bb1ca6bcf585),
            (-1, 0xcccccccccccccccc, 0xcccccccccccccccd),
            (0, 0x8000000000000000, 0x0),
            (1, 0xa000000000000000, 0x0),
            (27, 0xcecb8f27f4200f3a, 0x0),
        ] {
            assert_eq!(POW5_128[(q - LEMIRE_Q_MIN) as usize], (hi, lo), "5^{}", q);
        }
    }

    /// Our value of `text` and Rust's (correctly rounded) parser's. Each number is read both at the very end of the buffer
    /// (the general parser) and followed by more text (the fast path where its shape allows);
    /// the two must agree bit for bit, and the fast number array and skip must agree too.
    fn both(text: &str) -> (f64, f64) {
        let mut r = Reader::new(text.as_bytes());
        let ours = r.f64().unwrap();
        assert_eq!(r.pos(), text.len(), "{}", text);
        for tail in [
            ", 1234567890123456789012345",
            "]                        ",
            " ,\n",
            "}",
        ] {
            let padded = format!("{}{}", text, tail);
            let mut r = Reader::new(padded.as_bytes());
            assert_eq!(r.f64().unwrap().to_bits(), ours.to_bits(), "{:?}", padded);
            assert_eq!(r.pos(), text.len(), "{:?}", padded);
            let mut r = Reader::new(padded.as_bytes());
            r.skip_number().unwrap();
            assert_eq!(r.pos(), text.len(), "{:?}", padded);
        }
        // After other text (the 16-byte path needs 8 bytes before the number's end).
        let after = format!("12345678, {}, 1234567890123456789012345", text);
        let mut r = Reader::at(after.as_bytes(), 10);
        assert_eq!(r.f64().unwrap().to_bits(), ours.to_bits(), "{:?}", after);
        assert_eq!(r.pos(), 10 + text.len(), "{:?}", after);
        let mut r = Reader::at(after.as_bytes(), 10);
        r.skip_number().unwrap();
        assert_eq!(r.pos(), 10 + text.len(), "{:?}", after);
        let arr = format!("[12345678, {}, {},{} ]   ", text, text, text);
        let mut out = vec![];
        if let Some(n) = Reader::new(arr.as_bytes()).fast_number_array(|i| i != 2, &mut out) {
            assert_eq!(n, 4);
            assert_eq!(out.len(), 3);
            assert!(
                out[1..].iter().all(|v| v.to_bits() == ours.to_bits()),
                "{:?}",
                arr
            );
        } else {
            assert!(out.is_empty());
        }
        let arr = format!("[{}, {},{} ]   ", text, text, text);
        let mut out = vec![];
        if let Some(n) = Reader::new(arr.as_bytes()).fast_number_array(|i| i != 1, &mut out) {
            assert_eq!(n, 3);
            assert_eq!(out.len(), 2);
            assert!(
                out.iter().all(|v| v.to_bits() == ours.to_bits()),
                "{:?}",
                arr
            );
        } else {
            assert!(out.is_empty());
        }
        (ours, text.parse::<f64>().unwrap())
    }

    #[test]
    fn fast_number_array_leaves_odd_arrays_to_the_general_path() {
        for (text, want) in [
            ("[]  ", Some(vec![])),
            ("[ 1 , 2.5,\n-3 ]          ", Some(vec![1.0, 2.5, -3.0])),
            ("[1e3, 2]          ", None),
            ("[1, 2,]           ", None),
            ("[1 2]             ", None),
            ("[01, 2]           ", None),
            ("[1., 2]           ", None),
            ("[-, 2]            ", None),
            ("[12345678, 2]     ", None),
            ("[NaN, 2]          ", None),
            ("[1, 2               ", None),
            ("[0.000000000000000000000001, 2] ", None),
            ("[1, 2]", None), // too close to the end for the word loads
        ] {
            let mut out = vec![7.0];
            let mut r = Reader::new(text.as_bytes());
            let got = r.fast_number_array(|_| true, &mut out);
            match want {
                Some(w) => {
                    assert_eq!(got, Some(w.len()), "{}", text);
                    assert_eq!(&out[1..], &w[..], "{}", text);
                    assert_eq!(&text[r.pos()..].trim(), &"", "{}", text);
                }
                None => {
                    assert_eq!(got, None, "{}", text);
                    assert_eq!((out.len(), r.pos()), (1, 0), "{}", text);
                }
            }
        }
    }

    /// Long arrays of mixed shapes and separators, so that the comma blocks meet every way out
    /// (a long number, an exponent, a separator unlike the first, a comma after the array):
    /// the fast reader gives the general reader's numbers and end, or leaves the array to it.
    #[test]
    fn comma_blocks_equal_the_general_path() {
        let mut rng = crate::rng::SplitMix64::from_state(0x9E37_79B9_7F4A_7C15u64);
        let mut next = |m: u64| rng.below(m);
        let (mut fast, mut general) = (0, 0);
        for _ in 0..3000 {
            let len = 1 + next(40) as usize;
            let seps = [", ", ",", " , ", ",\n  "];
            let first_sep = seps[next(2) as usize];
            let mut text = String::from("[");
            let (mut bad, mut general_only) = (false, false);
            for i in 0..len {
                if i > 0 {
                    text += if next(30) == 0 {
                        seps[next(4) as usize]
                    } else {
                        first_sep
                    };
                }
                // (An exponent sends the whole array to the general reader, and a stray byte
                // makes it invalid: both rare here.)
                if next(400) == 0 {
                    text += "x";
                    bad = true;
                }
                if next(300) == 0 {
                    // Not JSON numbers: the whole array is refused.
                    let junk = [
                        "-", "1.", ".5", "05", "-05.1", "1.2.3", "--1", "+1", "0x1", "1.-2",
                    ];
                    text += junk[next(junk.len() as u64) as usize];
                    bad = true;
                    continue;
                }
                text += &match next(300) {
                    0 => {
                        general_only = true;
                        format!("{}e{}", next(100), next(5))
                    }
                    1..=20 => format!("{}", next(10_000_000)),
                    21..=40 => format!("-{}.{}", next(1000), next(100)),
                    41..=60 => format!("{}.{:03}", next(10), next(1000)),
                    61..=80 => format!("{:.12}", next(1_000_000) as f64 / 7.0),
                    81..=100 => format!("{}.{:07}", next(100), next(10_000_000)),
                    _ => format!("{}.{}", next(1000), next(100)),
                };
            }
            text += "], \"x\": [1, 2], \"y\": 3, 1234567890123456789012345678901234567890";
            let mut want = Vec::new();
            let mut g = Reader::new(text.as_bytes());
            if bad {
                assert!(g.f64_array_into(&mut want).is_err(), "{}", text);
                let mut out = Vec::new();
                let got = Reader::new(text.as_bytes()).fast_number_array(|_| true, &mut out);
                assert_eq!((got, out.len()), (None, 0), "{}", text);
                continue;
            }
            g.f64_array_into(&mut want).unwrap();
            let keep = |i: usize| i % 3 != 2;
            let want: Vec<f64> = want
                .iter()
                .enumerate()
                .filter(|(i, _)| keep(*i))
                .map(|(_, v)| *v)
                .collect();
            let mut out = Vec::new();
            let mut r = Reader::new(text.as_bytes());
            match r.fast_number_array(keep, &mut out) {
                Some(n) => {
                    assert_eq!(n, len, "{}", text);
                    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&out), bits(&want), "{}", text);
                    assert_eq!(r.pos(), g.pos(), "{}", text);
                    fast += 1;
                }
                None => {
                    assert!(general_only, "{}", text);
                    assert_eq!((out.len(), r.pos()), (0, 0), "{}", text);
                    general += 1;
                }
            }
        }
        // Both ways are exercised.
        assert!(fast > 2000 && general > 50, "{} {}", fast, general);
    }

    #[test]
    fn long_numbers_round_like_rust_and_python() {
        for t in [
            "459.1171658925659",
            "52.404669362504585",
            "0.09483076347685593",
            "0.9677999949201714",
            "9007199254740993.0",
            "1.7976931348623157e308",
            "2.2250738585072014e-308",
            "4.9e-324",
            "0.1e-26",
            "123456789012345678.9",
            "9999999999999999999e-27",
            "1e27",
            "9999999999999999999e27",
            "1.0000000000000002",
            "0.30000000000000004",
            "-0.0",
            "-7.000000000000001e-5",
            // Exact ties between two doubles (round half to even), in and near the tie range.
            "9007199254740993e0",
            "9007199254740995e0",
            "9.007199254740993e15",
            "90071992547409930e-1",
            "4503599627370497.5",
        ] {
            let (a, b) = both(t);
            assert_eq!(a.to_bits(), b.to_bits(), "{}", t);
        }
    }

    /// Short decimals (up to 3 integer and 7 fraction digits) take a division instead of
    /// Eisel-Lemire: every `i.f` and `i.0f` with `i < 1000`, `f < 100`, and a stride through
    /// the 7-digit fractions, against Rust's correctly rounded parser.
    #[test]
    fn short_decimals_round_like_rust() {
        let mut texts = vec![];
        for i in 0..1000u32 {
            for f in 0..100u32 {
                texts.push(format!("{}.{}", i, f));
                texts.push(format!("-{}.0{}", i, f));
            }
        }
        for f in (0..10_000_000u32).step_by(9973) {
            texts.push(format!("{}.{:07}", f % 1000, f));
        }
        for t in texts {
            let (a, b) = both(&t);
            assert_eq!(a.to_bits(), b.to_bits(), "{}", t);
        }
    }

    /// Integers take a one-word path in `int`: the same value and end as `number`, and
    /// everything else (fractions, exponents, leading zeros, 8+ digits) is left to it.
    #[test]
    fn ints_from_one_word_equal_the_number_path() {
        let mut texts: Vec<String> = (0..100_000)
            .step_by(7)
            .map(|i: i64| i.to_string())
            .collect();
        for v in [
            0i64,
            -0,
            7,
            -7,
            9_999_999,
            -9_999_999,
            10_000_000,
            397133,
            2232119,
            900100259180,
            i64::MAX,
            i64::MIN,
        ] {
            texts.push(v.to_string());
        }
        texts.extend(["-0", "01", "1.0", "1e3", "12E2", "3.", "-", "00", "1.5"].map(String::from));
        for t in texts {
            for tail in [", 12345678", "}         ", "]", "  ,\n  "] {
                let text = format!("{}{}", t, tail);
                let mut a = Reader::new(text.as_bytes());
                let mut b = Reader::new(text.as_bytes());
                let want = b.number().map(|n| match n {
                    Number::Int(i) => Ok(i),
                    Number::Float(f) if f.fract() == 0.0 && f.abs() < 1.7e38 => Ok(f as i128),
                    Number::Float(_) => Err(()),
                });
                let got = a.int();
                match (got, want) {
                    (Ok(x), Ok(Ok(y))) => assert_eq!((x, a.pos()), (y, b.pos()), "{:?}", text),
                    (Err(_), Err(_)) | (Err(_), Ok(Err(()))) => {}
                    (g, w) => panic!(
                        "{:?}: int {:?}, number {:?}",
                        text,
                        g.map(|_| ()),
                        w.map(|_| ())
                    ),
                }
            }
        }
    }

    /// The short shape: every `i.f` and `i` with up to 8 digits in all (8-digit decimals are
    /// past it, on the longer path) (leading zeros in the
    /// fraction), signed, against Rust's parser, at the start of the text and after other text
    /// (see `both`); and the shapes it must leave alone.
    #[test]
    fn short_numbers_round_like_rust() {
        let mut n = 0;
        for n_int in 1..=8u32 {
            for n_frac in 0..=(8 - n_int) {
                let total = 10u64.pow(n_int + n_frac);
                // A stride through all digit strings of this shape (all of them when short).
                let step = (total / 10_000).max(1) | 1;
                for m in (0..total).step_by(step as usize) {
                    let digits = format!("{:0width$}", m, width = (n_int + n_frac) as usize);
                    let (i, f) = digits.split_at(n_int as usize);
                    if i.len() > 1 && i.starts_with('0') {
                        continue;
                    }
                    for neg in ["", "-"] {
                        let t = if f.is_empty() {
                            format!("{}{}", neg, i)
                        } else {
                            format!("{}{}.{}", neg, i, f)
                        };
                        let (a, b) = both(&t);
                        if f.is_empty() && i == "0" {
                            // An integer -0 is Python's int 0.
                            assert_eq!(a.to_bits(), 0.0f64.to_bits(), "{}", t);
                        } else {
                            assert_eq!(a.to_bits(), b.to_bits(), "{}", t);
                        }
                        n += 1;
                    }
                }
            }
        }
        assert!(n > 250_000, "{}", n);
        // (text, what `Reader::f64` gives, what the short path takes)
        for (text, want, short) in [
            ("1.5e3, 0000", Some((1500.0f64, 5usize)), None),
            ("1.5E-1]     ", Some((0.15, 6)), None),
            ("15e3, 00000", Some((15000.0, 4)), None),
            // A leading zero ends the number (the caller then meets the `1`).
            ("01.5, 00000", Some((0.0, 1)), None),
            ("1., 0000000", None, None),
            ("-.5, 000000", None, None),
            ("123456.5, 0", Some((123456.5, 8)), Some((123456.5, 8))),
            ("123456.78, ", Some((123456.78, 9)), None),
            ("-12345.67, ", Some((-12345.67, 9)), Some((-12345.67, 9))),
            ("-368.08892,", Some((-368.08892, 10)), None),
            ("1234567.89,", Some((1234567.89, 10)), None),
            ("0.123456, 0", Some((0.123456, 8)), Some((0.123456, 8))),
            ("0.1234567, ", Some((0.1234567, 9)), None),
            ("0.12345678,", Some((0.12345678, 10)), None),
            ("12345678, 0", Some((12345678.0, 8)), Some((12345678.0, 8))),
            ("123456789, ", Some((123456789.0, 9)), None),
            ("-0, 0000000", Some((0.0, 2)), Some((0.0, 2))),
            ("-0.0, 00000", Some((-0.0, 4)), Some((-0.0, 4))),
            ("12345.6, 00", Some((12345.6, 7)), Some((12345.6, 7))),
            ("-12.5]00000", Some((-12.5, 5)), Some((-12.5, 5))),
            ("1.5.3, 0000", Some((1.5, 3)), Some((1.5, 3))),
        ] {
            let after = format!("12345678, {}      ", text);
            let bits = |r: Option<(f64, usize)>| r.map(|(v, e)| (v.to_bits(), e));
            assert_eq!(
                bits(short_f64(after.as_bytes(), 10).map(|(v, e)| (v, e - 10))),
                bits(short),
                "{}",
                text
            );
            let mut r = Reader::new(text.as_bytes());
            match (r.f64(), want) {
                (Ok(v), Some((x, end))) => {
                    assert_eq!((v.to_bits(), r.pos()), (x.to_bits(), end), "{}", text)
                }
                (Err(_), None) => {}
                (got, _) => panic!("{}: {:?}", text, got.map(|v| (v, r.pos()))),
            }
        }
    }

    /// The block reader's shape test on a token between a comma and the next one agrees with
    /// the 16-byte one (which the sweeps above check against Rust's parser), valid or not.
    #[test]
    fn block_numbers_agree_with_the_short_shape() {
        let tokens = [
            "0",
            "-0",
            "7",
            "12345678",
            "123456789",
            "0.5",
            "-0.5",
            "459.12",
            "1234567.8",
            "123456.7",
            "0.1234567",
            "0.12345678",
            "05",
            "-05.1",
            "00",
            "0.0",
            "-",
            "1.",
            ".5",
            "1.2.3",
            "--1",
            "+1",
            "0x1",
            "1.-2",
            "1e5",
            "1E5",
            "-12.5",
            " 1",
            "1 ",
            "",
            "1.5x",
        ];
        for t in tokens {
            for lead in ["[1, 2, 3, ", "[-1.25,"] {
                let text = format!("{}{}, 7, 8, 9, 10, 11, 12]{}", lead, t, " ".repeat(80));
                let b = text.as_bytes();
                let p = lead.len();
                let c = p + t.len();
                for base in [p - 5, p - 1, p] {
                    let (commas, digits) = block_masks(b, base).unwrap();
                    assert_eq!(
                        block_masks_bytes(b[base..base + 64].try_into().unwrap()),
                        (commas, digits)
                    );
                    assert!(commas >> (c - base) & 1 == 1, "{:?}", text);
                    let got = block_number(b, base, digits, p, c).map(|s| {
                        (
                            s.neg,
                            s.n_int,
                            s.n_frac,
                            short_value(b, &s).map(f64::to_bits),
                        )
                    });
                    let want = short_shape(b, p).filter(|s| s.end == c).map(|s| {
                        (
                            s.neg,
                            s.n_int,
                            s.n_frac,
                            short_value(b, &s).map(f64::to_bits),
                        )
                    });
                    assert_eq!(got, want, "{:?} at {}", t, base);
                }
            }
        }
    }

    /// The 16-byte digit classification equals the byte-by-byte one for every byte value at
    /// every position.
    #[test]
    fn digit_mask16_matches_bytes() {
        for c in 0..=255u8 {
            for pos in 0..16 {
                let mut w = *b"0a9/:.-123456789";
                w[pos] = c;
                assert_eq!(digit_mask16(&w), digit_mask16_bytes(&w), "{:?}", w);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20000))]
        #[test]
        fn numbers_with_up_to_19_digits_round_like_rust(m in 0u64..10_000_000_000_000_000_000, point in 0usize..21, e in -40i32..40, exp in proptest::bool::ANY, neg in proptest::bool::ANY) {
            let digits = m.to_string();
            let p = point.min(digits.len());
            let mut t = String::new();
            if neg {
                t.push('-');
            }
            if p == 0 {
                t.push('0');
            } else {
                t.push_str(&digits[..p]);
            }
            if p < digits.len() || !exp {
                t.push('.');
                t.push_str(if p < digits.len() { &digits[p..] } else { "0" });
            }
            if exp {
                t.push_str(&format!("e{}", e));
            }
            let (a, b) = both(&t);
            proptest::prop_assert_eq!(a.to_bits(), b.to_bits(), "{}", t);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20000))]
        /// The fast path's own shape: any integer part, any fraction digits (leading zeros too).
        #[test]
        fn decimal_numbers_round_like_rust(int in proptest::prop_oneof![0u64..1000, 0u64..100_000_000], frac in "[0-9]{0,25}", neg in proptest::bool::ANY) {
            let mut t = format!("{}{}", if neg { "-" } else { "" }, int);
            if !frac.is_empty() {
                t.push('.');
                t.push_str(&frac);
            }
            let (a, b) = both(&t);
            // An integer literal is a Python int, which has no negative zero: "-0" is 0.0.
            let b = if frac.is_empty() && int == 0 { 0.0 } else { b };
            proptest::prop_assert_eq!(a.to_bits(), b.to_bits(), "{}", t);
        }
    }
}
