//! A small, strict, position-aware JSON reader for the large COCO files.
//!
//! Why not serde_json alone: a val2017-scale results file (≈ 40 MB, 470k objects) takes ≈ 0.4 s to
//! deserialize on one core, more than our whole evaluation budget. This reader parses top-level
//! arrays in parallel chunks (see [`parse_array_par`]), never builds a DOM, and reports errors with
//! the JSON path and line:column. Numbers are parsed correctly rounded (Rust's `f64::from_str`
//! implements correct rounding, like Python's `float()`), integers exactly.
//!
//! Grammar: RFC 8259, plus recognition of Python's `NaN`, `Infinity`, `-Infinity` literals so that
//! they are reported as what they are (non-finite numbers are bad input for every COCO field).

use rayon::prelude::*;
use std::borrow::Cow;

/// A parse or validation error at a byte offset, with a JSON path relative to the value the
/// current parser started at (for example `.bbox[2]`). The caller prefixes the outer path.
#[derive(Debug, Clone)]
pub struct JsonError {
    pub pos: usize,
    pub path: String,
    pub message: String,
}

impl JsonError {
    pub fn new(pos: usize, message: impl Into<String>) -> Self {
        JsonError { pos, path: String::new(), message: message.into() }
    }
    /// Prefix the path with an object key.
    pub fn in_key(mut self, key: &str) -> Self {
        self.path = format!(".{}{}", key, self.path);
        self
    }
    /// Prefix the path with an array index.
    pub fn in_index(mut self, index: usize) -> Self {
        self.path = format!("[{}]{}", index, self.path);
        self
    }
}

pub type JResult<T> = Result<T, JsonError>;

/// 1-based line and column (in bytes) of a byte offset.
pub fn line_col(buf: &[u8], pos: usize) -> (usize, usize) {
    let pos = pos.min(buf.len());
    let before = &buf[..pos];
    let line = memchr::memchr_iter(b'\n', before).count() + 1;
    let col = match memchr::memrchr(b'\n', before) {
        Some(nl) => pos - nl,
        None => pos + 1,
    };
    (line, col)
}

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

/// Exact powers of ten for the fast number path.
const POW10: [f64; 23] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/// The 8 bytes at `p` as a little-endian word, if there are 8.
#[inline]
fn load8(b: &[u8], p: usize) -> Option<u64> {
    let w: [u8; 8] = b.get(p..p + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(w))
}

/// fast_float's SWAR digit test: the high bit of every byte of a little-endian word that is not
/// an ASCII digit. A carry or borrow can only corrupt the flags of bytes after the first flagged
/// one, so the first flag and whether there is one are exact.
#[inline(always)]
fn non_digit_bytes(v: u64) -> u64 {
    let a = v.wrapping_add(0x4646_4646_4646_4646);
    let b = v.wrapping_sub(ZEROS8);
    (a | b) & HIGH
}

/// Whether all 8 bytes of a little-endian word are ASCII digits.
#[inline]
fn all_digits8(v: u64) -> bool {
    non_digit_bytes(v) == 0
}

/// The value of 8 ASCII digits (first digit in the lowest byte), fast_float's SWAR conversion.
#[inline]
fn parse_digits8(v: u64) -> u64 {
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
const ZEROS8: u64 = 0x3030_3030_3030_3030;

/// 1 in every byte, and every byte's high bit.
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of the bytes of `w` equal to `c`: exact for the first such byte and for whether
/// there is one (a borrow only runs upward from a match).
#[inline(always)]
fn bytes_equal(w: u64, c: u8) -> u64 {
    let x = w ^ (ONES * c as u64);
    x.wrapping_sub(ONES) & !x & HIGH
}

/// `10^n` for the digit counts of one 8-byte word.
const POW10_U64: [u64; 9] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

/// How many ASCII digits a little-endian word starts with (0..=8).
#[inline(always)]
fn digit_run8(w: u64) -> usize {
    non_digit_bytes(w).trailing_zeros() as usize / 8
}

/// The value of the first `n` (0..=8) digit bytes of a little-endian word: they are moved to the
/// top and the bytes below are filled with `'0'`, which [`parse_digits8`] reads as leading zeros.
#[inline(always)]
fn digits_value(w: u64, n: usize) -> u64 {
    debug_assert!(n <= 8);
    let s = 64 - 8 * n as u32;
    let top = w.checked_shl(s).unwrap_or(0);
    let fill = ZEROS8 & 1u64.checked_shl(s).unwrap_or(0).wrapping_sub(1);
    parse_digits8(top | fill)
}

/// Start of a number of the common shape: `-?` then 1 to 7 integer digits without a leading
/// zero. Gives (negative, position after the integer digits, their count, their value).
#[inline(always)]
fn fast_int_part(b: &[u8], start: usize) -> Option<(bool, usize, usize, u64)> {
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
fn fast_frac_part(b: &[u8], p: usize, mant: u64) -> Option<(usize, usize, u64)> {
    let w1 = load8(b, p)?;
    let w2 = load8(b, p + 8)?;
    let n1 = digit_run8(w1);
    let n2 = if n1 == 8 { digit_run8(w2) } else { 0 };
    let mut mant = mant.wrapping_mul(POW10_U64[n1]).wrapping_add(digits_value(w1, n1));
    mant = mant.wrapping_mul(POW10_U64[n2]).wrapping_add(digits_value(w2, n2));
    let mut n = n1 + n2;
    if n == 16 {
        let w3 = load8(b, p + 16)?;
        let n3 = digit_run8(w3);
        if n3 == 8 {
            return None;
        }
        mant = mant.wrapping_mul(POW10_U64[n3]).wrapping_add(digits_value(w3, n3));
        n += n3;
    }
    Some((p + n, n, mant))
}

/// Bytes `0..n` of a word set, for `n` in 0..=8.
const LOW_BYTES: [u64; 9] = [0, 0xFF, 0xFFFF, 0xFF_FFFF, 0xFFFF_FFFF, 0xFF_FFFF_FFFF, 0xFFFF_FFFF_FFFF, 0xFF_FFFF_FFFF_FFFF, u64::MAX];

/// The first `n` digit bytes of a word followed by `'0'`s: their value times `10^(8-n)`.
#[inline(always)]
fn digits_padded(w: u64, n: usize) -> u64 {
    let m = LOW_BYTES[n];
    parse_digits8((w & m) | (ZEROS8 & !m))
}

/// The common shape of a number, `-?int(.frac)?` with at most 7 integer digits, at most 19
/// digits in all and no exponent, parsed with word operations and few branches instead of a
/// loop per digit. Gives the value and the end position, exactly as [`Reader::number`] then
/// [`Number::as_f64`] would (both are correctly rounded); `None` leaves everything else, and
/// every error, to them.
#[inline(always)]
fn fast_f64(b: &[u8], start: usize) -> Option<(f64, usize)> {
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
                let (mant, q) = if n1 == 8 { (lo * 100_000_000 + digits_padded(w2, n2), -16) } else { (lo, -8) };
                let end = f + n1 + n2;
                if b[end] | 0x20 == b'e' {
                    return None;
                }
                let v = if mant == 0 { 0.0 } else { eisel_lemire(q, mant)? };
                return Some((if neg { -v } else { v }, end));
            }
        }
    }
    let (end, frac, mant) = fast_frac_part(b, f, int)?;
    if frac == 0 || int_digits + frac > 19 || b[end] | 0x20 == b'e' {
        return None;
    }
    // Eisel-Lemire is correctly rounded wherever it answers, like Clinger's fast path.
    let v = if mant == 0 { 0.0 } else { eisel_lemire(-(frac as i64), mant)? };
    Some((if neg { -v } else { v }, end))
}

/// Where a number of [`fast_f64`]'s shape ends (any number of fraction digits up to 23),
/// without its value; `None` as there.
#[inline(always)]
fn fast_number_end(b: &[u8], start: usize) -> Option<usize> {
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
fn read_digits(b: &[u8], p: &mut usize, mant: &mut u64) -> usize {
    let start = *p;
    while let Some(v) = load8(b, *p) {
        if !all_digits8(v) {
            break;
        }
        *mant = mant.wrapping_mul(100_000_000).wrapping_add(parse_digits8(v));
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
fn skip_digits(b: &[u8], p: &mut usize) -> usize {
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

/// Decimal exponents `q` that [`eisel_lemire`] handles: those of its table. In this range its
/// 128-bit product never needs the slow-path fallback (fast_float's `inside_safe_exponent`).
const LEMIRE_Q_MIN: i64 = -27;
const LEMIRE_Q_MAX: i64 = 27;

/// `5^q` as 128 bits `(hi, lo)`, normalised so the top bit is set, truncated for `q >= 0` and
/// `floor(2^b / 5^-q) + 1` for `q < 0`: the entries of fast_float's `POWER_OF_FIVE_128` table for
/// `q` in [`LEMIRE_Q_MIN`, `LEMIRE_Q_MAX`], computed at compile time (a test pins some entries).
const POW5_128: [(u64, u64); (LEMIRE_Q_MAX - LEMIRE_Q_MIN + 1) as usize] = {
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
fn eisel_lemire(q: i64, w: u64) -> Option<f64> {
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
    if lo <= 1 && (MIN_EXPONENT_ROUND_TO_EVEN..=MAX_EXPONENT_ROUND_TO_EVEN).contains(&q) && mantissa & 3 == 1 && (mantissa << shift) == hi {
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

/// The kind of the next value, for error messages and dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Object => "an object",
            Kind::Array => "an array",
            Kind::String => "a string",
            Kind::Number => "a number",
            Kind::Bool => "a boolean",
            Kind::Null => "null",
        }
    }
}

/// Cursor over a JSON text.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    pub fn at(buf: &'a [u8], pos: usize) -> Self {
        Reader { buf, pos }
    }
    pub fn pos(&self) -> usize {
        self.pos
    }
    pub fn buf(&self) -> &'a [u8] {
        self.buf
    }

    #[inline]
    pub fn skip_ws(&mut self) {
        // Most calls land on a non-space byte already.
        match self.buf.get(self.pos) {
            Some(&b) if b > b' ' => return,
            None => return,
            _ => {}
        }
        while let Some(&b) = self.buf.get(self.pos) {
            if is_ws(b) {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn err<T>(&self, message: impl Into<String>) -> JResult<T> {
        Err(JsonError::new(self.pos, message))
    }

    fn unexpected<T>(&self, expected: &str) -> JResult<T> {
        match self.buf.get(self.pos) {
            None => self.err(format!("unexpected end of file, expected {}", expected)),
            Some(&b) => self.err(format!("unexpected {}, expected {}", describe_byte(b), expected)),
        }
    }

    /// Kind of the next value (after whitespace).
    pub fn peek_kind(&mut self) -> JResult<Kind> {
        self.skip_ws();
        match self.buf.get(self.pos) {
            Some(b'{') => Ok(Kind::Object),
            Some(b'[') => Ok(Kind::Array),
            Some(b'"') => Ok(Kind::String),
            Some(b'-' | b'0'..=b'9' | b'N' | b'I') => Ok(Kind::Number),
            Some(b't' | b'f') => Ok(Kind::Bool),
            Some(b'n') => Ok(Kind::Null),
            _ => self.unexpected("a JSON value"),
        }
    }

    /// Expect the end of the text (only whitespace left).
    pub fn expect_end(&mut self) -> JResult<()> {
        self.skip_ws();
        if self.pos < self.buf.len() {
            return self.err(format!("unexpected {} after the end of the JSON value", describe_byte(self.buf[self.pos])));
        }
        Ok(())
    }

    /// Consume `[`. Afterwards call [`Reader::next_element`] before each element.
    pub fn begin_array(&mut self) -> JResult<()> {
        self.skip_ws();
        if self.buf.get(self.pos) == Some(&b'[') {
            self.pos += 1;
            Ok(())
        } else {
            let k = self.peek_kind().map(|k| k.name()).unwrap_or("something else");
            self.err(format!("expected an array, found {}", k))
        }
    }

    /// Between array elements: returns true if another element follows (its start is the current
    /// position), false after consuming the closing `]`. `first` tracks the comma rule.
    pub fn next_element(&mut self, first: &mut bool) -> JResult<bool> {
        self.skip_ws();
        match self.buf.get(self.pos) {
            Some(b']') => {
                self.pos += 1;
                Ok(false)
            }
            Some(b',') if !*first => {
                self.pos += 1;
                self.skip_ws();
                if self.buf.get(self.pos) == Some(&b']') {
                    return self.err("trailing comma before ']'");
                }
                Ok(true)
            }
            Some(_) if *first => {
                *first = false;
                Ok(true)
            }
            _ => self.unexpected("',' or ']'"),
        }
    }

    /// Consume `{`. Afterwards call [`Reader::next_key`] until it returns `None`.
    pub fn begin_object(&mut self) -> JResult<()> {
        self.skip_ws();
        if self.buf.get(self.pos) == Some(&b'{') {
            self.pos += 1;
            Ok(())
        } else {
            let k = self.peek_kind().map(|k| k.name()).unwrap_or("something else");
            self.err(format!("expected an object, found {}", k))
        }
    }

    /// Next key of an object (the `:` is consumed), or `None` after the closing `}`.
    pub fn next_key(&mut self, first: &mut bool) -> JResult<Option<Cow<'a, str>>> {
        self.skip_ws();
        match self.buf.get(self.pos) {
            Some(b'}') => {
                self.pos += 1;
                return Ok(None);
            }
            Some(b',') if !*first => {
                self.pos += 1;
                self.skip_ws();
            }
            Some(b'"') if *first => {}
            _ => return self.unexpected(if *first { "a key or '}'" } else { "',' or '}'" }),
        }
        *first = false;
        if self.buf.get(self.pos) != Some(&b'"') {
            return self.unexpected("a key in double quotes");
        }
        // Fast path for plain ASCII keys without escapes (every COCO key): keys are short, so a
        // byte loop beats a memchr call.
        let from = self.pos + 1;
        let mut q = from;
        let b = self.buf;
        // Eight bytes at a time: the first byte that is a quote, a backslash, a control byte or
        // not ASCII (exact for the first such byte: borrows only run upward from it).
        while let Some(w) = load8(b, q) {
            let stop = bytes_equal(w, b'"') | bytes_equal(w, b'\\') | ((w.wrapping_sub(ONES * 0x20) | w) & HIGH);
            if stop != 0 {
                q += stop.trailing_zeros() as usize / 8;
                break;
            }
            q += 8;
        }
        while q < b.len() && b[q] != b'"' && (0x20..0x80).contains(&b[q]) && b[q] != b'\\' {
            q += 1;
        }
        let key = if q < b.len() && b[q] == b'"' {
            self.pos = q + 1;
            // SAFETY: every byte of the key was just checked to be printable ASCII (valid UTF-8).
            Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(&b[from..q]) })
        } else {
            self.string()?
        };
        self.skip_ws();
        if self.buf.get(self.pos) != Some(&b':') {
            return self.unexpected("':'");
        }
        self.pos += 1;
        Ok(Some(key))
    }

    /// A string value.
    pub fn string(&mut self) -> JResult<Cow<'a, str>> {
        self.skip_ws();
        if self.buf.get(self.pos) != Some(&b'"') {
            let k = self.peek_kind().map(|k| k.name()).unwrap_or("something else");
            return self.err(format!("expected a string, found {}", k));
        }
        let start = self.pos + 1;
        // Fast path: no escapes. Stops at the closing quote, a backslash (slow path) or a newline.
        let i = match memchr::memchr3(b'"', b'\\', b'\n', &self.buf[start..]) {
            None => {
                self.pos = self.buf.len();
                return self.err("unterminated string");
            }
            Some(off) => start + off,
        };
        match self.buf[i] {
            b'"' => {
                let raw = &self.buf[start..i];
                if let Some(bad) = raw.iter().position(|&b| b < 0x20) {
                    self.pos = start + bad;
                    return self.err("control character in string");
                }
                let s = std::str::from_utf8(raw).map_err(|e| JsonError::new(start + e.valid_up_to(), "invalid UTF-8 in string"))?;
                self.pos = i + 1;
                return Ok(Cow::Borrowed(s));
            }
            b'\n' => {
                self.pos = i;
                return self.err("unterminated string (newline inside)");
            }
            _ => {}
        }
        // Slow path with escapes, starting at the first backslash at `i`.
        let mut out: Vec<u8> = self.buf[start..i].to_vec();
        let mut p = i;
        loop {
            let Some(&b) = self.buf.get(p) else {
                self.pos = p;
                return self.err("unterminated string");
            };
            match b {
                b'"' => {
                    p += 1;
                    break;
                }
                b'\\' => {
                    let Some(&e) = self.buf.get(p + 1) else {
                        self.pos = p;
                        return self.err("unterminated string");
                    };
                    p += 2;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let cp = self.hex4(p)?;
                            p += 4;
                            let c = if (0xD800..0xDC00).contains(&cp) {
                                // Surrogate pair.
                                if self.buf.get(p) == Some(&b'\\') && self.buf.get(p + 1) == Some(&b'u') {
                                    let lo = self.hex4(p + 2)?;
                                    if (0xDC00..0xE000).contains(&lo) {
                                        p += 6;
                                        char::from_u32(0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00))
                                    } else {
                                        None
                                    }
                                } else {
                                    None
                                }
                            } else {
                                char::from_u32(cp)
                            };
                            // Lone surrogates: Python keeps them; we replace them (they never
                            // matter for COCO numbers) rather than fail.
                            let c = c.unwrap_or('\u{FFFD}');
                            let mut tmp = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                        }
                        _ => {
                            self.pos = p - 1;
                            return self.err(format!("invalid escape '\\{}'", e as char));
                        }
                    }
                }
                c if c < 0x20 => {
                    self.pos = p;
                    return self.err("control character in string");
                }
                _ => {
                    out.push(b);
                    p += 1;
                }
            }
        }
        self.pos = p;
        match String::from_utf8(out) {
            Ok(s) => Ok(Cow::Owned(s)),
            Err(_) => self.err("invalid UTF-8 in string"),
        }
    }

    /// A string made only of bytes in `lo..=hi` (printable ASCII, so `0x20 < lo <= hi < 0x7f`)
    /// and `\\` escapes (compressed RLE text), as its raw span between the quotes, escapes left
    /// in, without copying or UTF-8 checks. `None`, with the position unchanged, for any other
    /// string or value: the caller reads it with [`Reader::string`], which reports what is wrong
    /// with it. Eight bytes are checked at a time where none of them is a backslash or outside
    /// the range (a quote, `0x22`, is outside it).
    #[inline]
    pub fn plain_string_span(&mut self, lo: u8, hi: u8) -> Option<(usize, usize)> {
        debug_assert!(0x20 < lo && lo <= hi && hi < 0x7f);
        self.skip_ws();
        let b = self.buf;
        if b.get(self.pos) != Some(&b'"') {
            return None;
        }
        let start = self.pos + 1;
        let mut p = start;
        let (below, above) = (ONES * lo as u64, ONES * (0x7f - hi) as u64);
        loop {
            // Whole words: a byte below `lo` borrows and one above `hi` carries into its high bit
            // (bytes with the high bit already set are caught by `w`); borrows and carries only
            // come from flagged bytes, so a word with no flag is all in range.
            while let Some(w) = load8(b, p) {
                if (w.wrapping_sub(below) | w.wrapping_add(above) | w | bytes_equal(w, b'\\')) & HIGH != 0 {
                    break;
                }
                p += 8;
            }
            // Then byte by byte up to the next word boundary that may be whole again.
            let stop = p + 8;
            while p < stop {
                let &c = b.get(p)?;
                if c == b'"' {
                    self.pos = p + 1;
                    return Some((start, p));
                } else if c == b'\\' && b.get(p + 1) == Some(&b'\\') {
                    p += 2;
                } else if (lo..=hi).contains(&c) && c != b'\\' {
                    p += 1;
                } else {
                    return None;
                }
            }
        }
    }

    fn hex4(&self, p: usize) -> JResult<u32> {
        let h = self.buf.get(p..p + 4).ok_or_else(|| JsonError::new(p, "truncated \\u escape"))?;
        let s = std::str::from_utf8(h).map_err(|_| JsonError::new(p, "invalid \\u escape"))?;
        u32::from_str_radix(s, 16).map_err(|_| JsonError::new(p, "invalid \\u escape"))
    }

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
                Some(b'N') if b[p..].starts_with(b"NaN") => return self.err("non-finite number NaN; every number must be finite"),
                Some(b'I') if b[p..].starts_with(b"Infinity") => {
                    return self.err("non-finite number Infinity; every number must be finite")
                }
                _ => {
                    let k = self.peek_kind().map(|k| k.name()).unwrap_or("something else");
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
                Some(if e10 < 0 { m / POW10[(-e10) as usize] } else { m * POW10[e10 as usize] })
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
        let v: f64 = text.parse().map_err(|_| JsonError::new(start, "invalid number"))?;
        if !v.is_finite() {
            return Err(JsonError::new(start, format!("number {} overflows to infinity; every number must be finite", text)));
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
        match self.number()? {
            Number::Int(i) => Ok(i),
            Number::Float(f) if f.fract() == 0.0 && f.abs() < 1.7e38 => Ok(f as i128),
            Number::Float(f) => Err(JsonError::new(start, format!("expected an integer, found {}", f))),
        }
    }

    /// `true`/`false`; numbers are accepted as Python truthiness (`iscrowd: 1`).
    pub fn bool_like(&mut self) -> JResult<bool> {
        self.skip_ws();
        if self.buf[self.pos..].starts_with(b"true") {
            self.pos += 4;
            return Ok(true);
        }
        if self.buf[self.pos..].starts_with(b"false") {
            self.pos += 5;
            return Ok(false);
        }
        match self.number() {
            Ok(n) => Ok(n.as_f64() != 0.0),
            Err(e) if e.message.starts_with("expected a number") => {
                let k = self.peek_kind().map(|k| k.name()).unwrap_or("something else");
                self.err(format!("expected 0/1 or a boolean, found {}", k))
            }
            Err(e) => Err(e),
        }
    }

    /// `null`?
    pub fn is_null(&mut self) -> bool {
        self.skip_ws();
        self.buf[self.pos..].starts_with(b"null")
    }

    /// Skip one value of any kind, validating its grammar. Iterative, with an explicit stack of
    /// open containers: a value nested a million deep (in a field nobody reads) is skipped in
    /// bounded stack space instead of overflowing the thread's stack.
    pub fn skip_value(&mut self) -> JResult<()> {
        let mut open: Vec<SkipFrame<'a>> = Vec::new();
        self.skip_value_iter(&mut open).map_err(|mut e| {
            // The path reads from the outside in; built once (linear, not a prepend per level),
            // and for hostile depths the middle levels are elided so the message stays one line.
            let part = |f: &SkipFrame<'_>| match f {
                SkipFrame::Object { key: Some(k), .. } => format!(".{}", k),
                SkipFrame::Array { current: Some(i), .. } => format!("[{}]", i),
                _ => String::new(),
            };
            let mut path = String::new();
            if open.len() <= 2 * PATH_EDGE {
                open.iter().for_each(|f| path.push_str(&part(f)));
            } else {
                open[..PATH_EDGE].iter().for_each(|f| path.push_str(&part(f)));
                path.push_str(&format!("…({} levels)…", open.len() - 2 * PATH_EDGE));
                open[open.len() - PATH_EDGE..].iter().for_each(|f| path.push_str(&part(f)));
            }
            e.path = path + &e.path;
            e
        })
    }

    fn skip_value_iter(&mut self, open: &mut Vec<SkipFrame<'a>>) -> JResult<()> {
        loop {
            // One value at the current position; a container opens a frame.
            match self.peek_kind()? {
                Kind::Object => {
                    self.begin_object()?;
                    open.push(SkipFrame::Object { key: None, first: true });
                }
                Kind::Array => {
                    // Arrays of plain numbers (boxes, polygons, keypoints) are checked on the
                    // fast path; anything else it does not take is walked element by element.
                    if self.fast_number_array(|_| false, &mut Vec::new()).is_none() {
                        self.begin_array()?;
                        open.push(SkipFrame::Array { current: None, next: 0, first: true });
                    }
                }
                Kind::String => {
                    self.string()?;
                }
                Kind::Number => self.skip_number()?,
                Kind::Bool => {
                    self.bool_like()?;
                }
                Kind::Null => {
                    if self.buf[self.pos..].starts_with(b"null") {
                        self.pos += 4;
                    } else {
                        return self.unexpected("a JSON value");
                    }
                }
            }
            // Move to the next value to skip, closing the containers that end here.
            loop {
                match open.last_mut() {
                    None => return Ok(()),
                    Some(SkipFrame::Object { key, first }) => {
                        *key = None;
                        match self.next_key(first)? {
                            Some(k) => {
                                *key = Some(k);
                                break;
                            }
                            None => {
                                open.pop();
                            }
                        }
                    }
                    Some(SkipFrame::Array { current, next, first }) => {
                        *current = None;
                        if self.next_element(first)? {
                            *current = Some(*next);
                            *next += 1;
                            break;
                        }
                        open.pop();
                    }
                }
            }
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
            let k = self.peek_kind().map(|k| k.name()).unwrap_or("something else");
            return self.err(format!("expected a number, found {}", k));
        }
        let int_start = p;
        let n = skip_digits(b, &mut p);
        if n == 0 || (n > 1 && b[int_start] == b'0') {
            self.pos = int_start;
            return self.err(if n == 0 { "invalid number" } else { "invalid number: leading zero" });
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
    pub fn fast_number_array(&mut self, keep: impl Fn(usize) -> bool, out: &mut Vec<f64>) -> Option<usize> {
        #[inline(always)]
        fn ws(b: &[u8], mut p: usize) -> usize {
            while b.get(p).is_some_and(|&c| is_ws(c)) {
                p += 1;
            }
            p
        }
        let b = self.buf;
        let len0 = out.len();
        let mut p = ws(b, self.pos);
        let fail = |out: &mut Vec<f64>| {
            out.truncate(len0);
            None
        };
        if b.get(p) != Some(&b'[') {
            return fail(out);
        }
        p = ws(b, p + 1);
        let mut n = 0;
        if b.get(p) == Some(&b']') {
            self.pos = p + 1;
            return Some(0);
        }
        loop {
            if keep(n) {
                let Some((v, q)) = fast_f64(b, p) else { return fail(out) };
                out.push(v);
                p = q;
            } else {
                let Some(q) = fast_number_end(b, p) else { return fail(out) };
                p = q;
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
                _ => return fail(out),
            }
        }
    }

    /// Parse exactly 4 finite numbers `[a, b, c, d]`.
    pub fn f64x4(&mut self) -> JResult<[f64; 4]> {
        let start = self.pos;
        self.begin_array()?;
        let mut out = [0.0; 4];
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
            return Err(JsonError::new(start, format!("expected 4 numbers [x, y, width, height], found {}", n)));
        }
        Ok(out)
    }

    /// Structural skip used only to find where a value ends before it is parsed in parallel:
    /// strings and bracket depth are tracked, nothing else is validated (the real parse does).
    pub fn fast_skip(&mut self) -> JResult<()> {
        self.skip_ws();
        let start = self.pos;
        let b = self.buf;
        if !matches!(b.get(start), Some(b'[' | b'{')) {
            // A scalar: the validating skip handles it.
            return self.skip_value();
        }
        let mut depth: usize = 0;
        let mut p = start;
        loop {
            // Jump over bytes that cannot change the structure.
            while p < b.len() && !STRUCTURAL[b[p] as usize] {
                p += 1;
            }
            let Some(&c) = b.get(p) else {
                self.pos = start;
                return self.err("unexpected end of file inside this value");
            };
            match c {
                b'"' => {
                    p += 1;
                    loop {
                        match memchr::memchr2(b'"', b'\\', &b[p..]) {
                            None => {
                                self.pos = start;
                                return self.err("unterminated string inside this value");
                            }
                            Some(o) if b[p + o] == b'\\' => p += o + 2,
                            Some(o) => {
                                p += o + 1;
                                break;
                            }
                        }
                    }
                    continue;
                }
                b'[' | b'{' => depth += 1,
                _ => {
                    depth -= 1;
                    if depth == 0 {
                        p += 1;
                        break;
                    }
                }
            }
            p += 1;
        }
        self.pos = p;
        Ok(())
    }
}

/// Bytes that matter to [`Reader::fast_skip`]: quotes, brackets and braces.
static STRUCTURAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b'"' as usize] = true;
    t[b'[' as usize] = true;
    t[b']' as usize] = true;
    t[b'{' as usize] = true;
    t[b'}' as usize] = true;
    t
};

/// An open container of [`Reader::skip_value`]: where it stands (the key or index whose value is
/// being skipped, for the error path) and whether its first member is still to come.
/// Levels of a skipped value's path shown at each end of an error path; deeper ones are elided.
const PATH_EDGE: usize = 16;

enum SkipFrame<'a> {
    Object { key: Option<Cow<'a, str>>, first: bool },
    Array { current: Option<usize>, next: usize, first: bool },
}

fn describe_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else if b == 0 {
        "a NUL byte (is this a binary file?)".into()
    } else {
        format!("byte 0x{:02x}", b)
    }
}

/// Outcome of parsing one speculative chunk of an array.
enum ChunkEnd {
    /// Landed exactly on the start of chunk `j`.
    Seam(usize),
    /// Consumed the array's closing `]`; the position after it.
    ArrayEnd(usize),
}

/// Parse the elements of the array whose `[` is at `open`, in parallel.
///
/// The text from `open` to `limit` is cut into chunks at guessed element starts (a `{` after a
/// `,`). Each chunk is parsed on its own thread as if its guess were right. Chunk 0 starts at the
/// true first element; a chunk's result is used only when the chunk before it, itself used, ended
/// exactly at its start — so a wrong guess (say, a `,{` inside a string) costs time, never
/// correctness. `parse` gets a reader positioned at an element start and must consume exactly one
/// element; its errors are prefixed with the element's global index.
///
/// Returns the elements in order and the position just after the closing `]`.
pub fn parse_array_par<'a, T, F>(buf: &'a [u8], open: usize, limit: usize, parse: F) -> JResult<(Vec<T>, usize)>
where
    T: Send,
    F: Fn(&mut Reader<'a>) -> JResult<T> + Sync,
{
    let (chunks, end) = parse_array_par_with(buf, open, limit, |r: &mut Reader<'a>, _: &mut ()| parse(r))?;
    let total: usize = chunks.iter().map(|(v, _)| v.len()).sum();
    let mut chunks = chunks.into_iter();
    let mut all: Vec<T> = chunks.next().map(|(v, _)| v).unwrap_or_default();
    all.reserve(total - all.len());
    for (items, ()) in chunks {
        all.extend(items);
    }
    Ok((all, end))
}

/// [`parse_array_par`] for parsers that write into a per-chunk state `S` (an arena for the
/// elements' variable-length parts, say) instead of allocating per element. Returns the used
/// chunks in order, each with its elements and its state, without concatenating them.
pub fn parse_array_par_with<'a, T, S, F>(buf: &'a [u8], open: usize, limit: usize, parse: F) -> JResult<(Vec<(Vec<T>, S)>, usize)>
where
    T: Send,
    S: ChunkState,
    F: Fn(&mut Reader<'a>, &mut S) -> JResult<T> + Sync,
{
    const MIN_CHUNK: usize = 1 << 19;
    let mut r = Reader::at(buf, open);
    r.begin_array()?;
    r.skip_ws();
    let first_elem = r.pos();
    let span = limit.saturating_sub(first_elem);
    let threads = rayon::current_num_threads().max(1);
    let n_chunks = if span < 2 * MIN_CHUNK { 1 } else { (span / MIN_CHUNK).min(threads * 8).max(1) };

    // Chunk starts: the true first element, then guesses.
    let mut starts = vec![first_elem];
    for c in 1..n_chunks {
        let nominal = first_elem + span * c / n_chunks;
        if nominal <= *starts.last().unwrap_or(&0) {
            continue;
        }
        if let Some(s) = guess_element_start(buf, nominal, limit) {
            if s > *starts.last().unwrap_or(&0) {
                starts.push(s);
            }
        }
    }

    type Chunk<T, S> = (Vec<T>, S, JResult<ChunkEnd>);
    let parse_chunk = |ci: usize| -> Chunk<T, S> {
        let mut out = Vec::new();
        let mut state = S::default();
        let mut r = Reader::at(buf, starts[ci]);
        let mut next = ci + 1;
        // Chunk 0 may start with an empty array.
        if ci == 0 {
            r.skip_ws();
            if buf.get(r.pos()) == Some(&b']') {
                return (out, state, Ok(ChunkEnd::ArrayEnd(r.pos() + 1)));
            }
        }
        loop {
            let idx = out.len();
            match parse(&mut r, &mut state) {
                Ok(v) => out.push(v),
                Err(e) => return (out, state, Err(e.in_index(idx))),
            }
            if idx == 0 {
                // Elements are alike: size the chunk's buffers from the first one (a quarter
                // more; untouched capacity costs no memory), so they are not regrown and copied.
                let chunk_end = starts.get(ci + 1).copied().unwrap_or(limit).max(r.pos());
                let first_len = (r.pos() - starts[ci]).max(1);
                // Capped at one element per 16 bytes of text, so that a tiny first element
                // cannot make a huge reservation.
                let span = chunk_end - starts[ci];
                let estimate = (span / first_len * 5 / 4).min(span / 16) + 16;
                out.reserve(estimate);
                state.reserve_like_first(estimate);
            }
            r.skip_ws();
            match buf.get(r.pos()) {
                Some(b',') => {
                    r.pos += 1;
                    r.skip_ws();
                    if buf.get(r.pos()) == Some(&b']') {
                        return (out, state, Err(JsonError::new(r.pos(), "trailing comma before ']'")));
                    }
                }
                Some(b']') => return (out, state, Ok(ChunkEnd::ArrayEnd(r.pos() + 1))),
                Some(_) => {
                    let e = r.unexpected::<()>("',' or ']' after an element").unwrap_err();
                    return (out, state, Err(e));
                }
                None => return (out, state, Err(JsonError::new(r.pos(), "unexpected end of file: the array is not closed"))),
            }
            while next < starts.len() && r.pos() > starts[next] {
                next += 1;
            }
            if next < starts.len() && r.pos() == starts[next] {
                return (out, state, Ok(ChunkEnd::Seam(next)));
            }
        }
    };

    let results: Vec<Chunk<T, S>> = if starts.len() == 1 {
        vec![parse_chunk(0)]
    } else {
        (0..starts.len()).into_par_iter().map(parse_chunk).collect()
    };

    let mut used: Vec<(Vec<T>, S)> = Vec::new();
    let mut base = 0;
    let mut results: Vec<Option<Chunk<T, S>>> = results.into_iter().map(Some).collect();
    let mut ci = 0;
    loop {
        let (items, state, end) = results[ci].take().expect("each chunk is visited once");
        match end {
            Err(mut e) => {
                // Re-base the local element index of the path onto the global one.
                if let Some(rest) = e.path.strip_prefix('[') {
                    if let Some(close) = rest.find(']') {
                        if let Ok(local) = rest[..close].parse::<usize>() {
                            e.path = format!("[{}]{}", base + local, &rest[close + 1..]);
                        }
                    }
                }
                return Err(e);
            }
            Ok(ChunkEnd::ArrayEnd(p)) => {
                used.push((items, state));
                return Ok((used, p));
            }
            Ok(ChunkEnd::Seam(j)) => {
                base += items.len();
                used.push((items, state));
                ci = j;
            }
        }
    }
}

/// The per-chunk state of [`parse_array_par_with`].
pub trait ChunkState: Default + Send {
    /// After a chunk's first element: about `n` elements will follow; make room for them if
    /// each needs what the first one did.
    fn reserve_like_first(&mut self, _n: usize) {}
}

impl ChunkState for () {}

impl<T: Send> ChunkState for Vec<T> {
    fn reserve_like_first(&mut self, n: usize) {
        self.reserve(n.saturating_mul(self.len()));
    }
}

/// First position at or after `from` (and before `limit`) that looks like an object element
/// start: a `{` whose previous non-whitespace byte is `,`.
fn guess_element_start(buf: &[u8], from: usize, limit: usize) -> Option<usize> {
    let mut p = from;
    while p < limit {
        let off = memchr::memchr(b'{', &buf[p..limit])?;
        let q = p + off;
        let mut k = q;
        while k > 0 && is_ws(buf[k - 1]) {
            k -= 1;
        }
        if k > 0 && buf[k - 1] == b',' {
            return Some(q);
        }
        p = q + 1;
    }
    None
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
        for tail in [", 1234567890123456789012345", "]                        ", " ,\n", "}"] {
            let padded = format!("{}{}", text, tail);
            let mut r = Reader::new(padded.as_bytes());
            assert_eq!(r.f64().unwrap().to_bits(), ours.to_bits(), "{:?}", padded);
            assert_eq!(r.pos(), text.len(), "{:?}", padded);
            let mut r = Reader::new(padded.as_bytes());
            r.skip_number().unwrap();
            assert_eq!(r.pos(), text.len(), "{:?}", padded);
        }
        let arr = format!("[{}, {},{} ]   ", text, text, text);
        let mut out = vec![];
        if let Some(n) = Reader::new(arr.as_bytes()).fast_number_array(|i| i != 1, &mut out) {
            assert_eq!(n, 3);
            assert_eq!(out.len(), 2);
            assert!(out.iter().all(|v| v.to_bits() == ours.to_bits()), "{:?}", arr);
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

    #[test]
    fn long_numbers_round_like_rust_and_python() {
        for t in [
            "459.1171658925659", "52.404669362504585", "0.09483076347685593", "0.9677999949201714", "9007199254740993.0",
            "1.7976931348623157e308", "2.2250738585072014e-308", "4.9e-324", "0.1e-26", "123456789012345678.9", "9999999999999999999e-27",
            "1e27", "9999999999999999999e27", "1.0000000000000002", "0.30000000000000004", "-0.0", "-7.000000000000001e-5",
            // Exact ties between two doubles (round half to even), in and near the tie range.
            "9007199254740993e0", "9007199254740995e0", "9.007199254740993e15", "90071992547409930e-1", "4503599627370497.5",
        ] {
            let (a, b) = both(t);
            assert_eq!(a.to_bits(), b.to_bits(), "{}", t);
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

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(5000))]
        /// The word-at-a-time scan agrees with a byte loop on strings of RLE-like text with a few
        /// bytes of anything (quotes, escapes, control and non-ASCII bytes) at any offset.
        #[test]
        fn plain_string_span_equals_a_byte_loop(body in "[0-o]{0,40}", junk in proptest::collection::vec((0usize..41, 0u8..=255), 0..3), lead in 0usize..9) {
            let mut bytes = body.into_bytes();
            for &(at, c) in &junk {
                let at = at.min(bytes.len());
                bytes.insert(at, c);
            }
            let mut text = vec![b' '; lead];
            text.push(b'"');
            text.extend_from_slice(&bytes);
            text.extend_from_slice(b"\", 1]");
            let reference = {
                let mut p = lead + 1;
                loop {
                    match text.get(p) {
                        Some(b'"') => break Some((lead + 1, p)),
                        Some(b'\\') if text.get(p + 1) == Some(&b'\\') => p += 2,
                        Some(&c) if (b'0'..=b'o').contains(&c) && c != b'\\' => p += 1,
                        _ => break None,
                    }
                }
            };
            let mut r = Reader::new(&text);
            let got = r.plain_string_span(b'0', b'o');
            proptest::prop_assert_eq!(got, reference);
            proptest::prop_assert_eq!(r.pos(), got.map(|(_, e)| e + 1).unwrap_or(lead));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        /// Keys of any length, with escapes and non-ASCII anywhere, read like string values.
        #[test]
        fn keys_read_like_strings(key in "([a-z_]|\\\\[n\"\\\\/]|é|\\\\u00e9){0,24}") {
            let text = format!("{{\"{}\": 1, \"{}\" : [2]}}", key, key);
            let mut r = Reader::new(text.as_bytes());
            r.begin_object().unwrap();
            let mut first = true;
            let k1 = r.next_key(&mut first).unwrap().unwrap().into_owned();
            r.skip_value().unwrap();
            let k2 = r.next_key(&mut first).unwrap().unwrap().into_owned();
            let mut s = Reader::new(text[1..].as_bytes());
            let want = s.string().unwrap().into_owned();
            proptest::prop_assert_eq!(&k1, &want);
            proptest::prop_assert_eq!(&k2, &want);
        }
    }

    #[test]
    fn strings_and_escapes() {
        let mut r = Reader::new(br#""a\"b\u00e9\ud83d\ude00""#);
        assert_eq!(r.string().unwrap(), "a\"b\u{e9}\u{1F600}");
        let mut r = Reader::new(b"\"abc");
        assert!(r.string().is_err());
    }

    #[test]
    fn skip_validates() {
        let mut r = Reader::new(b"{\"a\": [1, 2, {\"b\": null}], \"c\": \"x\"}");
        r.skip_value().unwrap();
        r.expect_end().unwrap();
        let mut r = Reader::new(b"[1,,2]");
        assert!(r.skip_value().is_err());
        let mut r = Reader::new(b"[1,2,]");
        assert!(r.skip_value().is_err());
    }

    #[test]
    fn skip_error_paths_name_the_innermost_member() {
        let path = |t: &str| Reader::new(t.as_bytes()).skip_value().unwrap_err().path;
        assert_eq!(path(r#"{"a": [1, {"b": [1, x]}]}"#), ".a[1].b[1]");
        // A malformed key or separator belongs to the container, not to its last member.
        assert_eq!(path(r#"{"a": {"b": 1 "c": 2}}"#), ".a");
        assert_eq!(path(r#"[[1, 2] 3]"#), "");
        assert_eq!(path(r#"{"a": "\q"}"#), ".a");
    }

    #[test]
    fn skip_survives_hostile_nesting() {
        // Regression (issue 10): a million nested arrays, and 300,000 nested objects, in a value
        // nobody reads overflowed the stack of the recursive skip (SIGABRT).
        let n = 1_000_000;
        let text = format!("{}{}", "[".repeat(n), "]".repeat(n));
        let mut r = Reader::new(text.as_bytes());
        r.skip_value().unwrap();
        r.expect_end().unwrap();
        let n = 300_000;
        let text = format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
        let mut r = Reader::new(text.as_bytes());
        r.skip_value().unwrap();
        r.expect_end().unwrap();
        // Truncated: an error, with the path down to the innermost open member.
        let text = "[".repeat(n);
        let e = Reader::new(text.as_bytes()).skip_value().unwrap_err();
        assert!(e.message.contains("end of file"), "{}", e.message);
        // n open arrays; the innermost failed before its first element, so it adds no index.
        assert_eq!(e.path, format!("{}…({} levels)…{}", "[0]".repeat(16), n - 32, "[0]".repeat(15)));
    }

    fn parse_ids(text: &str) -> JResult<Vec<i128>> {
        let buf = text.as_bytes();
        parse_array_par(buf, 0, buf.len(), |r| {
            r.begin_object()?;
            let mut first = true;
            let mut id = None;
            while let Some(k) = r.next_key(&mut first)? {
                if k == "id" {
                    id = Some(r.int().map_err(|e| e.in_key("id"))?);
                } else {
                    r.skip_value().map_err(|e| e.in_key(&k))?;
                }
            }
            id.ok_or_else(|| JsonError::new(r.pos(), "missing id"))
        })
        .map(|(v, _)| v)
    }

    #[test]
    fn parallel_array_matches_sequential_even_with_decoy_seams() {
        // Strings containing ",{" are decoys for the chunk guesser.
        let mut text = String::from("[");
        for i in 0..60000 {
            if i > 0 {
                text.push_str(", ");
            }
            text.push_str(&format!("{{\"id\": {}, \"s\": \",{{\\\",{{ \", \"x\": [{{\"y\": 1}}, {{\"z\": 2}}]}}", i));
        }
        text.push(']');
        let ids = parse_ids(&text).unwrap();
        assert_eq!(ids.len(), 60000);
        assert!(ids.iter().enumerate().all(|(i, &v)| v == i as i128));
    }

    #[test]
    fn parallel_array_error_has_global_index() {
        let mut text = String::from("[");
        for i in 0..50000 {
            if i > 0 {
                text.push(',');
            }
            if i == 41234 {
                text.push_str("{\"id\": 1.5}");
            } else {
                text.push_str(&format!("{{\"id\": {}, \"pad\": \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}}", i));
            }
        }
        text.push(']');
        let e = parse_ids(&text).unwrap_err();
        assert_eq!(e.path, "[41234].id");
        let e = parse_ids("[{\"id\": 1}, {\"id\": 2}").unwrap_err();
        assert!(e.message.contains("not closed"), "{}", e.message);
        assert_eq!(parse_ids("[]").unwrap(), Vec::<i128>::new());
        assert_eq!(parse_ids(" [ {\"id\":3} ] ").unwrap(), vec![3]);
    }

    #[test]
    fn line_col_is_one_based() {
        let buf = b"ab\ncd";
        assert_eq!(line_col(buf, 0), (1, 1));
        assert_eq!(line_col(buf, 4), (2, 2));
    }
}
