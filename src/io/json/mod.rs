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
//!
//! - this file: the [`Reader`] core (tokens, strings, objects, arrays, skipping any value
//!   iteratively whatever its depth) and the error type with JSON paths;
//! - [`number`]: numbers, correctly rounded, with the fast paths COCO files hit (8-digit SWAR,
//!   Eisel-Lemire) tested against Rust's own parser;
//! - [`parallel`]: splitting a top-level array into chunks parsed in parallel.

mod number;
mod parallel;

pub use number::Number;
pub use parallel::{
    concat_par, parse_array_par, parse_array_par_joined, parse_array_par_sized,
    parse_array_par_with, ChunkState, MIN_CHUNK,
};

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
        JsonError {
            pos,
            path: String::new(),
            message: message.into(),
        }
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

// Word-at-a-time byte tests (SWAR), shared by the string scanner and the number fast path.

/// The 8 bytes at `p` as a little-endian word, if there are 8.
#[inline]
pub(super) fn load8(b: &[u8], p: usize) -> Option<u64> {
    let w: [u8; 8] = b.get(p..p + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(w))
}

/// 1 in every byte, and every byte's high bit.
pub(super) const ONES: u64 = 0x0101_0101_0101_0101;
pub(super) const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of the bytes of `w` equal to `c`: exact for the first such byte and for whether
/// there is one (a borrow only runs upward from a match).
#[inline(always)]
pub(super) fn bytes_equal(w: u64, c: u8) -> u64 {
    let x = w ^ (ONES * c as u64);
    x.wrapping_sub(ONES) & !x & HIGH
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
pub(super) fn is_ws(b: u8) -> bool {
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
    /// Consume `lit` if the text continues with exactly these bytes; otherwise stay put.
    #[inline]
    pub fn eat(&mut self, lit: &[u8]) -> bool {
        let hit = self.buf.get(self.pos..self.pos + lit.len()) == Some(lit);
        if hit {
            self.pos += lit.len();
        }
        hit
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
            Some(&b) => self.err(format!(
                "unexpected {}, expected {}",
                describe_byte(b),
                expected
            )),
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
            return self.err(format!(
                "unexpected {} after the end of the JSON value",
                describe_byte(self.buf[self.pos])
            ));
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
            let k = self
                .peek_kind()
                .map(|k| k.name())
                .unwrap_or("something else");
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
            let k = self
                .peek_kind()
                .map(|k| k.name())
                .unwrap_or("something else");
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
            let stop = bytes_equal(w, b'"')
                | bytes_equal(w, b'\\')
                | ((w.wrapping_sub(ONES * 0x20) | w) & HIGH);
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
            let k = self
                .peek_kind()
                .map(|k| k.name())
                .unwrap_or("something else");
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
                let s = std::str::from_utf8(raw).map_err(|e| {
                    JsonError::new(start + e.valid_up_to(), "invalid UTF-8 in string")
                })?;
                self.pos = i + 1;
                return Ok(Cow::Borrowed(s));
            }
            b'\n' => {
                self.pos = i;
                return self.err("unterminated string (newline inside)");
            }
            _ => {}
        }
        // Slow path with escapes, starting at the first backslash at `i`; the bytes before it
        // are held to the same rule as the rest (no raw control characters, as RFC 8259 and
        // Python's json.loads require).
        if let Some(bad) = self.buf[start..i].iter().position(|&b| b < 0x20) {
            self.pos = start + bad;
            return self.err("control character in string");
        }
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
                                if self.buf.get(p) == Some(&b'\\')
                                    && self.buf.get(p + 1) == Some(&b'u')
                                {
                                    let lo = self.hex4(p + 2)?;
                                    if (0xDC00..0xE000).contains(&lo) {
                                        p += 6;
                                        char::from_u32(
                                            0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00),
                                        )
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
                if (w.wrapping_sub(below) | w.wrapping_add(above) | w | bytes_equal(w, b'\\'))
                    & HIGH
                    != 0
                {
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
        let h = self
            .buf
            .get(p..p + 4)
            .ok_or_else(|| JsonError::new(p, "truncated \\u escape"))?;
        // Exactly four hex digits (no sign: `\u+007` is refused, as JSON and Python's json do).
        h.iter()
            .try_fold(0u32, |v, &c| Some(v * 16 + (c as char).to_digit(16)?))
            .ok_or_else(|| JsonError::new(p, "invalid \\u escape"))
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
                let k = self
                    .peek_kind()
                    .map(|k| k.name())
                    .unwrap_or("something else");
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
                SkipFrame::Array {
                    current: Some(i), ..
                } => format!("[{}]", i),
                _ => String::new(),
            };
            let mut path = String::new();
            if open.len() <= 2 * PATH_EDGE {
                open.iter().for_each(|f| path.push_str(&part(f)));
            } else {
                open[..PATH_EDGE]
                    .iter()
                    .for_each(|f| path.push_str(&part(f)));
                path.push_str(&format!("…({} levels)…", open.len() - 2 * PATH_EDGE));
                open[open.len() - PATH_EDGE..]
                    .iter()
                    .for_each(|f| path.push_str(&part(f)));
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
                    open.push(SkipFrame::Object {
                        key: None,
                        first: true,
                    });
                }
                Kind::Array => {
                    // Arrays of plain numbers (boxes, polygons, keypoints) are checked on the
                    // fast path; anything else it does not take is walked element by element.
                    if self.fast_number_array(|_| false, &mut Vec::new()).is_none() {
                        self.begin_array()?;
                        open.push(SkipFrame::Array {
                            current: None,
                            next: 0,
                            first: true,
                        });
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
                    Some(SkipFrame::Array {
                        current,
                        next,
                        first,
                    }) => {
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
}

/// Levels of a skipped value's path shown at each end of an error path; deeper ones are elided.
const PATH_EDGE: usize = 16;

/// An open container of [`Reader::skip_value`]: where it stands (the key or index whose value is
/// being skipped, for the error path) and whether its first member is still to come.
enum SkipFrame<'a> {
    Object {
        key: Option<Cow<'a, str>>,
        first: bool,
    },
    Array {
        current: Option<usize>,
        next: usize,
        first: bool,
    },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicode_escapes_take_exactly_four_hex_digits() {
        // Found by the json_reader fuzz target: `\u+007` was read as U+0007.
        for bad in [r#""\u+007""#, r#""\u-007""#, r#""\u 007""#, r#""\u00g1""#] {
            assert!(Reader::new(bad.as_bytes()).string().is_err(), "{}", bad);
        }
        assert_eq!(
            Reader::new(br#""\u0041\u00e9""#).string().unwrap(),
            "A\u{e9}"
        );
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
        assert_eq!(
            e.path,
            format!(
                "{}…({} levels)…{}",
                "[0]".repeat(16),
                n - 32,
                "[0]".repeat(15)
            )
        );
    }

    #[test]
    fn line_col_is_one_based() {
        let buf = b"ab\ncd";
        assert_eq!(line_col(buf, 0), (1, 1));
        assert_eq!(line_col(buf, 4), (2, 2));
    }
}
