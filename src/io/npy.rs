//! `.npy` input (numpy's format, versions 1–3), read straight into one typed buffer: float32 /
//! float16 logits and integer targets of any width, C or Fortran order, either byte order.
//! Every malformed file is bad input (exit 2) that names the file and what is wrong; nothing
//! here panics on user data, and no buffer is allocated before the file proves long enough.

use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;

/// Element type of an array as its header declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F16,
    F32,
    Int { signed: bool, bytes: usize },
}

/// A parsed `.npy` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub descr: String,
    pub dtype: Option<DType>,
    pub big_endian: bool,
    pub fortran_order: bool,
    pub shape: Vec<usize>,
}

impl Header {
    pub fn len(&self) -> Option<usize> {
        self.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
    }
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

/// A float array as read: float32, or float16 kept as raw bits (no second copy), in native
/// byte order, in the file's memory order. `'a` is the lifetime of borrowed data (a caller's
/// buffer, e.g. a numpy array); arrays read from files are `'static`.
pub enum FloatData<'a> {
    F32(F32Buf<'a>),
    F16(std::borrow::Cow<'a, [u16]>),
}

/// float32 values: read into memory, (little-endian, aligned, large files) the file's pages
/// mapped read-only, or a caller's buffer borrowed, so the logits are never copied.
pub enum F32Buf<'a> {
    Owned(Vec<f32>),
    Mapped {
        map: memmap2::Mmap,
        offset: usize,
        len: usize,
    },
    Borrowed(&'a [f32]),
}

impl std::ops::Deref for F32Buf<'_> {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        match self {
            F32Buf::Owned(v) => v,
            // Alignment and length were checked when the map was made (`try_map_f32`).
            F32Buf::Mapped { map, offset, len } => {
                bytemuck::cast_slice(&map[*offset..*offset + 4 * *len])
            }
            F32Buf::Borrowed(v) => v,
        }
    }
}

impl From<Vec<f32>> for F32Buf<'_> {
    fn from(v: Vec<f32>) -> Self {
        F32Buf::Owned(v)
    }
}

impl F32Buf<'_> {
    pub fn into_vec(self) -> Vec<f32> {
        match self {
            F32Buf::Owned(v) => v,
            m => m.to_vec(),
        }
    }
}

/// Map `n` native-order float32 values at byte `offset` of `file`, when that is possible without
/// a copy (file large enough to be worth it, data 4-byte aligned in the map).
fn try_map_f32(file: &std::fs::File, offset: usize, n: usize) -> Option<F32Buf<'static>> {
    const MAP_ABOVE: usize = 1 << 20;
    if 4 * n < MAP_ABOVE || cfg!(target_endian = "big") {
        return None;
    }
    // SAFETY: the map is read-only and lives as long as the logits; as with any mmap reader, a
    // file truncated by another process during the run could fault. Inputs are not expected to
    // change while they are read.
    let map = unsafe { memmap2::MmapOptions::new().populate().map(file) }.ok()?;
    let bytes = map.get(offset..offset.checked_add(4 * n)?)?;
    bytemuck::try_cast_slice::<u8, f32>(bytes).ok()?;
    Some(F32Buf::Mapped {
        map,
        offset,
        len: n,
    })
}

pub struct FloatArray<'a> {
    pub shape: Vec<usize>,
    pub fortran_order: bool,
    pub data: FloatData<'a>,
}

/// An integer array widened to i64 in the file's memory order.
pub struct IntArray {
    pub shape: Vec<usize>,
    pub fortran_order: bool,
    pub data: Vec<i64>,
}

const MAGIC: &[u8] = b"\x93NUMPY";

fn bad(path: &Path, msg: impl std::fmt::Display) -> Error {
    Error::in_file(path, "", msg)
}

/// Parse the header from the start of a reader; returns the header and the data offset.
pub fn read_header(path: &Path, r: &mut impl Read) -> Result<(Header, usize)> {
    let mut pre = [0u8; 10];
    read_full(path, r, &mut pre, "the header")?;
    if &pre[..6] != MAGIC {
        return Err(bad(path, "not a .npy file (no \\x93NUMPY magic)")
            .with_hint("write arrays with numpy.save"));
    }
    let (major, minor) = (pre[6], pre[7]);
    let (hlen, prefix) = match major {
        1 => (u16::from_le_bytes([pre[8], pre[9]]) as usize, 10),
        2 | 3 => {
            let mut more = [0u8; 2];
            read_full(path, r, &mut more, "the header")?;
            (
                u32::from_le_bytes([pre[8], pre[9], more[0], more[1]]) as usize,
                12,
            )
        }
        _ => {
            return Err(bad(
                path,
                format!("unsupported .npy format version {}.{}", major, minor),
            ))
        }
    };
    if hlen > 1 << 20 {
        return Err(bad(
            path,
            format!("header of {} bytes is implausibly long", hlen),
        ));
    }
    let mut text = vec![0u8; hlen];
    read_full(path, r, &mut text, "the header")?;
    let text = String::from_utf8_lossy(&text);
    let h = parse_header_dict(&text).map_err(|m| bad(path, format!("header: {}", m)))?;
    Ok((h, prefix + hlen))
}

fn read_full(path: &Path, r: &mut impl Read, buf: &mut [u8], what: &str) -> Result<()> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => {
                return Err(bad(
                    path,
                    format!(
                        "truncated: file ends inside {} ({} of {} bytes)",
                        what,
                        got,
                        buf.len()
                    ),
                )
                .with_hint("the file was cut short; write it again with numpy.save"))
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, "read", &e)),
        }
    }
    Ok(())
}

/// Parse numpy's header dict, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
pub fn parse_header_dict(text: &str) -> std::result::Result<Header, String> {
    let t = text.trim().trim_end_matches('\n');
    let inner = t
        .strip_prefix('{')
        .and_then(|s| s.trim_end().strip_suffix('}'))
        .ok_or("not a Python dict")?;
    let value_of = |key: &str| -> std::result::Result<&str, String> {
        let k1 = format!("'{}'", key);
        let k2 = format!("\"{}\"", key);
        let at = inner
            .find(&k1)
            .or_else(|| inner.find(&k2))
            .ok_or(format!("missing '{}'", key))?;
        let rest = inner[at + k1.len()..].trim_start();
        let rest = rest
            .strip_prefix(':')
            .ok_or(format!("no ':' after '{}'", key))?
            .trim_start();
        Ok(rest)
    };
    // descr: a quoted string (structured dtypes are lists: unsupported).
    let d = value_of("descr")?;
    let q = d.chars().next().ok_or("empty descr")?;
    if q != '\'' && q != '"' {
        return Err(format!(
            "structured dtype {} is not supported",
            d.split(", '").next().unwrap_or(d)
        ));
    }
    let end = d[1..].find(q).ok_or("unterminated descr")?;
    let descr = d[1..1 + end].to_string();
    let f = value_of("fortran_order")?;
    let fortran_order = if f.starts_with("True") {
        true
    } else if f.starts_with("False") {
        false
    } else {
        return Err("fortran_order is neither True nor False".into());
    };
    let s = value_of("shape")?;
    let s = s.strip_prefix('(').ok_or("shape is not a tuple")?;
    let close = s.find(')').ok_or("unterminated shape")?;
    let mut shape = Vec::new();
    for item in s[..close].split(',') {
        let item = item.trim().trim_end_matches('L');
        if item.is_empty() {
            continue;
        }
        shape.push(
            item.parse::<usize>()
                .map_err(|_| format!("bad dimension '{}' in shape", item))?,
        );
    }
    let (big_endian, dtype) = parse_descr(&descr);
    Ok(Header {
        descr,
        dtype,
        big_endian,
        fortran_order,
        shape,
    })
}

fn parse_descr(descr: &str) -> (bool, Option<DType>) {
    let mut chars = descr.chars();
    let order = chars.next().unwrap_or('?');
    let (big, body) = match order {
        '<' | '=' => (cfg!(target_endian = "big") && order == '=', chars.as_str()),
        '>' => (true, chars.as_str()),
        '|' => (false, chars.as_str()),
        _ => (false, descr),
    };
    // By chars, not bytes: the header is user text and may hold any UTF-8.
    let kind_len = body.chars().next().map_or(0, char::len_utf8);
    let (kind, size) = body.split_at(kind_len);
    let size: usize = match size.parse() {
        Ok(s) => s,
        Err(_) => return (big, None),
    };
    let dt = match (kind, size) {
        ("f", 2) => Some(DType::F16),
        ("f", 4) => Some(DType::F32),
        ("i", 1 | 2 | 4 | 8) => Some(DType::Int {
            signed: true,
            bytes: size,
        }),
        ("u", 1 | 2 | 4 | 8) => Some(DType::Int {
            signed: false,
            bytes: size,
        }),
        _ => None,
    };
    (big, dt)
}

/// Human name of a numpy descr, for error messages.
pub fn describe(descr: &str) -> String {
    let body = descr.trim_start_matches(['<', '>', '|', '=']);
    let name = match body.chars().next() {
        Some('f') => format!("float{}", body[1..].parse::<usize>().unwrap_or(0) * 8),
        Some('c') => format!("complex{}", body[1..].parse::<usize>().unwrap_or(0) * 8),
        Some('i') => format!("int{}", body[1..].parse::<usize>().unwrap_or(0) * 8),
        Some('u') => format!("uint{}", body[1..].parse::<usize>().unwrap_or(0) * 8),
        Some('b') => "bool".into(),
        Some('U') | Some('S') => "string".into(),
        Some('O') => "object".into(),
        Some('M') | Some('m') => "datetime".into(),
        _ => body.to_string(),
    };
    format!("{} ('{}')", name, descr)
}

fn data_len(path: &Path, h: &Header, elem: usize, available: u64) -> Result<usize> {
    let n = h
        .len()
        .ok_or_else(|| bad(path, format!("shape {:?} overflows", h.shape)))?;
    let need = (n as u64)
        .checked_mul(elem as u64)
        .ok_or_else(|| bad(path, "shape overflows"))?;
    if available < need {
        return Err(bad(
            path,
            format!(
                "truncated: shape {:?} needs {} bytes of data, the file has {}",
                h.shape, need, available
            ),
        )
        .with_hint("the file was cut short; write it again with numpy.save"));
    }
    Ok(n)
}

/// Open `path` and parse its header; returns the reader positioned at the data, the number of
/// data bytes the file holds and the data's byte offset.
fn open(path: &Path) -> Result<(Header, std::io::BufReader<std::fs::File>, u64, usize)> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, "open", &e))?;
    let total = f.metadata().map_err(|e| Error::io(path, "read", &e))?.len();
    let mut r = std::io::BufReader::with_capacity(1 << 16, f);
    let (h, off) = read_header(path, &mut r)?;
    Ok((h, r, total.saturating_sub(off as u64), off))
}

/// Read a float32/float16 array (logits).
pub fn read_float(path: &Path) -> Result<FloatArray<'static>> {
    let (h, mut r, avail, offset) = open(path)?;
    if h.dtype == Some(DType::F32) && !h.big_endian {
        let n = data_len(path, &h, 4, avail)?;
        if let Some(buf) = try_map_f32(r.get_ref(), offset, n) {
            return Ok(FloatArray {
                shape: h.shape.clone(),
                fortran_order: h.fortran_order,
                data: FloatData::F32(buf),
            });
        }
    }
    read_float_from(path, &h, &mut r, avail)
}

/// Read a float32/float16 array whose header was already parsed.
pub fn read_float_from(
    path: &Path,
    h: &Header,
    r: &mut impl Read,
    avail: u64,
) -> Result<FloatArray<'static>> {
    let data = match h.dtype {
        Some(DType::F32) => {
            let n = data_len(path, h, 4, avail)?;
            let mut v = vec![0f32; n];
            read_full(path, r, bytemuck::cast_slice_mut(&mut v), "the data")?;
            if h.big_endian != cfg!(target_endian = "big") {
                for x in v.iter_mut() {
                    *x = f32::from_bits(x.to_bits().swap_bytes());
                }
            }
            FloatData::F32(F32Buf::Owned(v))
        }
        Some(DType::F16) => {
            let n = data_len(path, h, 2, avail)?;
            let mut v = vec![0u16; n];
            read_full(path, r, bytemuck::cast_slice_mut(&mut v), "the data")?;
            if h.big_endian != cfg!(target_endian = "big") {
                for x in v.iter_mut() {
                    *x = x.swap_bytes();
                }
            }
            FloatData::F16(v.into())
        }
        _ => {
            return Err(bad(
                path,
                format!(
                    "logits must be float32 or float16, found {}",
                    describe(&h.descr)
                ),
            )
            .with_hint("save the logits with x.astype(numpy.float32)"))
        }
    };
    Ok(FloatArray {
        shape: h.shape.clone(),
        fortran_order: h.fortran_order,
        data,
    })
}

/// Read an integer array of any width (targets), widened to i64.
pub fn read_int(path: &Path) -> Result<IntArray> {
    let (h, mut r, avail, _) = open(path)?;
    read_int_from(path, &h, &mut r, avail)
}

/// Read an integer array whose header was already parsed.
pub fn read_int_from(path: &Path, h: &Header, r: &mut impl Read, avail: u64) -> Result<IntArray> {
    let (signed, bytes) = match h.dtype {
        Some(DType::Int { signed, bytes }) => (signed, bytes),
        _ => return Err(bad(
            path,
            format!("targets must be integers, found {}", describe(&h.descr)),
        )
        .with_hint(
            "targets are class indices 0..C-1, -1 background, -2 ignored, as `assign` writes them",
        )),
    };
    let n = data_len(path, h, bytes, avail)?;
    let mut raw = vec![0u8; n * bytes];
    read_full(path, r, &mut raw, "the data")?;
    let big = h.big_endian;
    let mut out = Vec::with_capacity(n);
    for c in raw.chunks_exact(bytes) {
        let mut b = [0u8; 8];
        if big {
            for (i, &x) in c.iter().rev().enumerate() {
                b[i] = x;
            }
        } else {
            b[..bytes].copy_from_slice(c);
        }
        let u = u64::from_le_bytes(b);
        let v = if signed {
            let shift = 64 - 8 * bytes as u32;
            ((u << shift) as i64) >> shift
        } else if u > i64::MAX as u64 {
            i64::MAX // out of range anyway; reported by the caller's range check
        } else {
            u as i64
        };
        out.push(v);
    }
    Ok(IntArray {
        shape: h.shape.clone(),
        fortran_order: h.fortran_order,
        data: out,
    })
}

/// Read the integer array `key` (e.g. `labels`) out of an uncompressed `.npz` (`numpy.savez`).
pub fn read_int_from_npz(path: &Path, key: &str) -> Result<IntArray> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, "open", &e))?;
    read_int_from_npz_reader(path, std::io::BufReader::new(f), key)
}

/// [`read_int_from_npz`] on any seekable bytes (`path` names them in errors).
pub fn read_int_from_npz_reader(
    path: &Path,
    reader: impl Read + std::io::Seek,
    key: &str,
) -> Result<IntArray> {
    let mut z = zip::ZipArchive::new(reader)
        .map_err(|e| bad(path, format!("not a readable .npz: {}", e)))?;
    let name = format!("{}.npy", key);
    let mut entry = match z.by_name(&name) {
        Ok(e) => e,
        Err(zip::result::ZipError::FileNotFound) => {
            return Err(bad(path, format!("no '{}' array in the .npz", key))
                .with_hint("pass the .npz files that `assign --out-dir` writes"))
        }
        Err(e) => {
            return Err(bad(path, format!("cannot read '{}': {}", name, e))
                .with_hint("write the file with numpy.savez (uncompressed)"))
        }
    };
    let avail = entry.size();
    let (h, off) = read_header(path, &mut entry)?;
    read_int_from(path, &h, &mut entry, avail.saturating_sub(off as u64))
}

/// float16 bits → f32 (exact).
#[inline(always)]
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h as u32) & 0x8000) << 16;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x3ff) as u32;
    let bits = if exp == 0 {
        if man == 0 {
            sign
        } else {
            // subnormal: value = man * 2^-24
            let v = man as f32 * (1.0 / 16_777_216.0);
            return if sign != 0 { -v } else { v };
        }
    } else if exp == 0x1f {
        sign | 0x7f80_0000 | (man << 13)
    } else {
        sign | ((exp + 112) << 23) | (man << 13)
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_dicts() {
        let h =
            parse_header_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }   \n")
                .unwrap();
        assert_eq!(h.dtype, Some(DType::F32));
        assert_eq!(h.shape, vec![2, 3]);
        assert!(!h.fortran_order);
        let h =
            parse_header_dict("{'descr': '>i2', 'fortran_order': True, 'shape': (7,), }").unwrap();
        assert_eq!(
            h.dtype,
            Some(DType::Int {
                signed: true,
                bytes: 2
            })
        );
        assert!(h.big_endian && h.fortran_order);
        assert_eq!(h.shape, vec![7]);
        let h =
            parse_header_dict("{'descr': '<c8', 'fortran_order': False, 'shape': (), }").unwrap();
        assert_eq!(h.dtype, None);
        assert!(h.shape.is_empty());
        assert!(parse_header_dict(
            "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }"
        )
        .is_err());
    }

    #[test]
    fn f16_conversion_is_exact() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 5.960_464_5e-8);
        assert!(f16_to_f32(0x7c00).is_infinite());
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x8000).to_bits(), 0x8000_0000);
    }
}
