//! The properties the fuzz targets in `fuzz/` check, one function per parser that sees user
//! bytes. Each takes arbitrary bytes and panics only when a property fails (a wrong value, a
//! fast path that disagrees with its reference); bad input must come back as an error. They live
//! in the library so that `cargo test` replays the kept inputs (`tests/fuzz_regressions.rs`)
//! through exactly the code the fuzzer ran.

use crate::coco::{shapes, Dataset, IouType};
use crate::io::json::{self, Kind, Number, Reader};
use crate::mask::{self, CountSink, Rle, StringDecoder};
use serde_json::{Map, Value};
use std::path::Path;

/// The targets, by the name of their file in `fuzz/fuzz_targets/` and of their directories under
/// `fuzz/regressions/` and `fuzz/seeds/`.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("json_reader", json_reader),
    ("coco_gt", coco_gt),
    ("coco_results", coco_results),
    ("rle_text", rle_text),
    ("polygon", polygon),
    ("npy", npy),
    ("flag_lists", flag_lists),
];

/// Deeper than this, the tree is not built (serde_json refuses beyond 128 levels, and a deep
/// `Value` would overflow the stack when dropped); the rest of the value is skipped instead.
const TREE_DEPTH: usize = 128;

/// One value read with our [`Reader`] into a serde_json [`Value`] (objects: last duplicate key
/// wins, as serde_json's map), iteratively. `Ok(None)`: nested deeper than [`TREE_DEPTH`].
fn read_tree(r: &mut Reader<'_>) -> json::JResult<Option<Value>> {
    enum Open {
        Arr(Vec<Value>, bool),
        Obj(Map<String, Value>, Option<String>, bool),
    }
    let mut stack: Vec<Open> = Vec::new();
    let mut too_deep = false;
    loop {
        // Read one scalar or open one container, then close what is complete.
        let mut value = match r.peek_kind()? {
            Kind::Array if stack.len() < TREE_DEPTH => {
                r.begin_array()?;
                stack.push(Open::Arr(Vec::new(), true));
                None
            }
            Kind::Object if stack.len() < TREE_DEPTH => {
                r.begin_object()?;
                stack.push(Open::Obj(Map::new(), None, true));
                None
            }
            Kind::Array | Kind::Object => {
                too_deep = true;
                r.skip_value()?;
                Some(Value::Null)
            }
            Kind::String => Some(Value::String(r.string()?.into_owned())),
            Kind::Number => Some(match r.number()? {
                Number::Int(i) => match (i64::try_from(i), u64::try_from(i)) {
                    (Ok(x), _) => Value::from(x),
                    (_, Ok(x)) => Value::from(x),
                    _ => Value::from(i as f64),
                },
                Number::Float(f) => Value::from(f),
            }),
            Kind::Bool => Some(Value::Bool(r.bool_like()?)),
            Kind::Null => {
                r.skip_value()?;
                Some(Value::Null)
            }
        };
        loop {
            let Some(top) = stack.last_mut() else {
                return Ok(if too_deep { None } else { value });
            };
            match top {
                Open::Arr(items, first) => {
                    if let Some(v) = value.take() {
                        items.push(v);
                    }
                    if r.next_element(first)? {
                        break;
                    }
                }
                Open::Obj(map, key, first) => {
                    if let (Some(v), Some(k)) = (value.take(), key.take()) {
                        map.insert(k, v);
                    }
                    match r.next_key(first)? {
                        Some(k) => {
                            *key = Some(k.into_owned());
                            break;
                        }
                        None => {}
                    }
                }
            }
            value = Some(match stack.pop() {
                Some(Open::Arr(items, _)) => Value::Array(items),
                Some(Open::Obj(map, _, _)) => Value::Object(map),
                None => unreachable!("the loop returns when the stack is empty"),
            });
        }
    }
}

/// A whole document: one value, then only whitespace.
fn read_document(buf: &[u8]) -> json::JResult<Option<Value>> {
    let mut r = Reader::new(buf);
    let v = read_tree(&mut r)?;
    r.expect_end()?;
    Ok(v)
}

/// Numbers equal as JSON numbers: integers exactly, anything else as the same double (either
/// zero sign: serde_json reads `-0` as an integer 0 or as -0.0 depending on its version).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(p), Some(q), _, _) => p == q,
                (_, _, Some(p), Some(q)) => p == q,
                _ => x.as_f64().is_some_and(|p| y.as_f64() == Some(p)),
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_json(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// The JSON reader: on any bytes, no panic; whatever serde_json accepts, we accept with the same
/// values (and `skip_value` agrees); whatever serde_json refuses for a reason other than its
/// nesting limit, we refuse; a top-level array parsed in parallel chunks (made tiny here so
/// that seams are guessed inside strings and numbers) equals the sequential parse.
pub fn json_reader(data: &[u8]) {
    let ours = read_document(data);
    let theirs = serde_json::from_slice::<Value>(data);
    match (&ours, &theirs) {
        (Ok(Some(a)), Ok(b)) => assert!(
            same_json(a, b),
            "values differ: ours {:?}, serde_json {:?}",
            a,
            b
        ),
        (Ok(None), Ok(_)) => panic!(
            "serde_json read a value nested deeper than {} levels",
            TREE_DEPTH
        ),
        (Err(e), Ok(b)) => panic!(
            "we refuse what serde_json reads as {:?}: {} at byte {}",
            b, e.message, e.pos
        ),
        // Python's json.loads (the reference) keeps lone surrogates where serde_json refuses
        // them; we read them as U+FFFD. Anything else serde_json refuses, we must refuse.
        (Ok(_), Err(e)) => {
            let m = e.to_string();
            // A high surrogate not followed by `\u` is "unexpected end of hex escape" to serde_json.
            let high_surrogate = data.windows(4).any(|w| {
                w[0] == b'\\'
                    && w[1] == b'u'
                    && w[2].eq_ignore_ascii_case(&b'd')
                    && matches!(w[3].to_ascii_lowercase(), b'8'..=b'9' | b'a'..=b'b')
            });
            let lone = m.contains("surrogate")
                || (high_surrogate && m.contains("unexpected end of hex escape"));
            assert!(
                m.contains("recursion limit") || lone,
                "we accept what serde_json refuses: {}",
                m
            )
        }
        (Err(_), Err(_)) => {}
    }
    // Skipping validates the same grammar (plus Python's NaN/Infinity, which skip_value lets
    // through in values nobody reads) and ends where the value ends.
    let mut s = Reader::new(data);
    let skipped = s.skip_value().and_then(|_| s.expect_end());
    if ours.is_ok() {
        assert!(
            skipped.is_ok(),
            "skip_value refuses a valid document: {:?}",
            skipped.err().map(|e| e.message)
        );
    }
    // Parallel chunks.
    let mut r = Reader::new(data);
    r.skip_ws();
    let open = r.pos();
    if data.get(open) == Some(&b'[') {
        let seq = {
            let mut r = Reader::at(data, open);
            read_tree(&mut r).map(|v| (v, r.pos()))
        };
        for min_chunk in [1, 7] {
            let par = json::parse_array_par_sized(
                data,
                open,
                data.len(),
                min_chunk,
                |r: &mut Reader<'_>, _: &mut ()| read_tree(r),
            )
            .map(|(chunks, end)| {
                let all: Vec<Option<Value>> = chunks.into_iter().flat_map(|(v, ())| v).collect();
                (all, end)
            });
            // The joined parser (chunks in waves, vectors reused) gives the same elements, end
            // and error.
            let joined = json::parse_array_par_joined(
                data,
                open,
                data.len(),
                min_chunk,
                |r: &mut Reader<'_>, _: &mut ()| read_tree(r),
            );
            match (&par, &joined) {
                (Ok((a, ea)), Ok((b, counts, eb))) => {
                    assert_eq!(ea, eb, "joined parse ends elsewhere");
                    assert_eq!(a.len(), b.len(), "joined parse has another element count");
                    assert_eq!(
                        counts.iter().map(|(n, ())| n).sum::<usize>(),
                        b.len(),
                        "joined parse miscounts its chunks"
                    );
                    for (x, y) in a.iter().zip(b) {
                        assert!(
                            match (x, y) {
                                (Some(x), Some(y)) => same_json(x, y),
                                (None, None) => true,
                                _ => false,
                            },
                            "joined element differs"
                        );
                    }
                }
                (Err(a), Err(b)) => assert!(
                    a.pos == b.pos && a.path == b.path && a.message == b.message,
                    "joined parse fails otherwise: {:?} vs {:?}",
                    (a.pos, &a.path, &a.message),
                    (b.pos, &b.path, &b.message)
                ),
                _ => panic!("joined parse and chunked parse disagree on validity"),
            }
            match (&seq, par) {
                (Ok((Some(Value::Array(items)), end)), Ok((got, pend))) => {
                    assert_eq!(*end, pend, "parallel parse ends elsewhere");
                    assert_eq!(
                        got.len(),
                        items.len(),
                        "parallel parse has another element count"
                    );
                    for (g, w) in got.iter().zip(items) {
                        assert!(
                            g.as_ref().is_some_and(|g| same_json(g, w)),
                            "parallel element differs: {:?} vs {:?}",
                            g,
                            w
                        );
                    }
                }
                (Ok((Some(_), _)), Err(e)) => {
                    panic!("parallel parse refuses a valid array: {}", e.message)
                }
                (Err(_), Ok(_)) => {
                    panic!("parallel parse accepts an array the sequential parse refuses")
                }
                _ => {}
            }
        }
    }
    fast_numbers_agree(data, &theirs);
}

/// The word-at-a-time number readers (`f64`, `int`, number arrays: what boxes, scores, ids,
/// polygons and keypoints go through) give serde_json's values wherever they take a number,
/// except that an integer literal `-0` is Python's int 0 (+0.0 as a float; serde_json says -0.0).
fn fast_numbers_agree(data: &[u8], theirs: &serde_json::Result<Value>) {
    let Ok(Value::Array(items)) = theirs else {
        return;
    };
    if items.is_empty() || !items.iter().all(Value::is_number) {
        return;
    }
    let mut vals = Vec::new();
    let mut r = Reader::new(data);
    let mut first = true;
    let _ = r.begin_array();
    while r.next_element(&mut first).unwrap_or(false) {
        let Some(w) = items.get(vals.len()) else {
            panic!("f64: more elements than serde_json reads");
        };
        r.skip_ws();
        let at = r.pos();
        let v = r.f64().map(f64::to_bits).ok();
        let literal = &data[at..r.pos()];
        let int_literal = !literal.iter().any(|c| matches!(c, b'.' | b'e' | b'E'));
        let want = match w.as_f64() {
            Some(x) if x == 0.0 && int_literal => Some(0f64.to_bits()),
            x => x.map(f64::to_bits),
        };
        assert_eq!(v, want, "f64 of {}", w);
        if let Some(want) = w.as_i64() {
            let mut ri = Reader::at(data, at);
            assert_eq!(ri.int().ok(), Some(want as i128), "int of {}", w);
            assert_eq!(ri.pos(), r.pos(), "int ends elsewhere than f64 for {}", w);
        }
        vals.push(v.unwrap_or(0));
    }
    let mut out = Vec::new();
    let mut r = Reader::new(data);
    if let Some(n) = r.fast_number_array(|_| true, &mut out) {
        assert_eq!(n, vals.len(), "fast number array: another count");
        for (v, w) in out.iter().zip(&vals) {
            assert_eq!(
                v.to_bits(),
                *w,
                "fast number array: {} vs f64 {}",
                v,
                f64::from_bits(*w)
            );
        }
    }
}

/// A small ground truth with boxes, polygons, RLE masks, crowd regions and keypoints: the
/// results targets parse against it.
const GT: &[u8] = br#"{"images": [{"id": 1, "height": 40, "width": 30}, {"id": 2, "height": 20, "width": 20}, {"id": 7, "height": 8, "width": 9}],
"categories": [{"id": 1, "name": "person", "keypoints": ["a", "b", "c"]}, {"id": 3, "name": "car"}],
"annotations": [
 {"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 3, 10, 12], "area": 90, "iscrowd": 0, "segmentation": [[2, 3, 12, 3, 12, 15, 2, 15]], "keypoints": [3, 4, 2, 8, 9, 1, 0, 0, 0], "num_keypoints": 2},
 {"id": 2, "image_id": 1, "category_id": 3, "bbox": [15, 20, 8, 6], "area": 48, "iscrowd": 1, "segmentation": {"size": [40, 30], "counts": "`=2f0000000000000000;"}, "keypoints": [0, 0, 0, 0, 0, 0, 0, 0, 0], "num_keypoints": 0},
 {"id": 3, "image_id": 2, "category_id": 1, "bbox": [0, 0, 5, 5], "area": 25, "iscrowd": 0, "segmentation": {"size": [20, 20], "counts": [0, 5, 15, 5, 375]}, "keypoints": [1, 1, 2, 2, 2, 2, 3, 3, 2], "num_keypoints": 3}]}"#;

/// The ground-truth parser: on any bytes, no panic; a file it accepts also yields its shapes for
/// every IoU type (or an error).
pub fn coco_gt(data: &[u8]) {
    let path = Path::new("gt.json");
    if let Ok(gt) = Dataset::parse(path, data) {
        for (t, k) in [
            (IouType::Segm, 0),
            (IouType::Keypoints, 3),
            (IouType::Keypoints, 17),
        ] {
            let _ = shapes::GtShapes::parse(path, data, &gt, t, k);
        }
        let _ = gt.sorted_image_ids();
    }
}

/// The results parsers (bbox, segm, keypoints; COCO and LVIS GTs alike read results the same
/// way): on any bytes, no panic; what they accept is evaluated without panic.
pub fn coco_results(data: &[u8]) {
    let path = Path::new("results.json");
    let gt = Dataset::parse(Path::new("gt.json"), GT).expect("the built-in GT parses");
    let _ = crate::coco::Results::parse(path, data, &gt);
    // The literal shortcut for the common box-result layout gives what the general parse gives.
    // Checked at the first few '{' (the elements of a results array, and anything else).
    for pos in data
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'{')
        .map(|(i, _)| i)
        .take(8)
    {
        let [fast, general] = box_result_both_ways(data, pos, &gt);
        assert_eq!(
            fast, general,
            "box result shortcut vs general parse at {}",
            pos
        );
    }
    for (t, k) in [
        (IouType::Bbox, 3),
        (IouType::Segm, 3),
        (IouType::Keypoints, 3),
    ] {
        let Ok((res, dt)) =
            shapes::parse_results(path, crate::io::FileBytes::Owned(data.to_vec()), &gt, t, k)
        else {
            continue;
        };
        let Ok(gts) = shapes::GtShapes::parse(Path::new("gt.json"), GT, &gt, t, k) else {
            continue;
        };
        let mut p = crate::eval::Params::new(t);
        if t == IouType::Keypoints {
            p.kpt_sigmas = vec![0.026, 0.025, 0.035];
        }
        let sh = crate::eval::Shapes::new(&gt, &gts, &dt, &p);
        let _ = crate::eval::run_with(
            &gt,
            &res,
            if t == IouType::Bbox { None } else { Some(&sh) },
            &p,
            &crate::progress::NoProgress,
        );
    }
}

/// The box result at `pos` of `text`, parsed with and without the literal shortcut: the
/// detection (or the error: position, path, message), where the reader stops, and the unknown
/// category ids.
pub(crate) fn box_result_both_ways(text: &[u8], pos: usize, gt: &Dataset) -> [String; 2] {
    [true, false].map(|fast| {
        let mut r = Reader::at(text, pos);
        let mut unknown = Vec::new();
        let out = crate::coco::parse_box_result(&mut r, gt, &mut unknown, fast);
        let out = match out {
            Ok(d) => format!("{:?}", d),
            Err(e) => format!("error at {} {} {}", e.pos, e.path, e.message),
        };
        format!("{} | end {} | unknown {:?}", out, r.pos(), unknown)
    })
}

/// Counts as [`StringDecoder`] reads `text` one character at a time (`None` if it refuses).
pub(crate) fn decoder_counts(text: &[u8]) -> Option<Vec<u32>> {
    let mut d = StringDecoder::default();
    let mut out = Vec::new();
    for &b in text {
        if let Some(v) = d.push(b).ok()? {
            out.push(v);
        }
    }
    d.finish().ok()?;
    Some(out)
}

/// Counts as [`mask::decode_json_text`] reads `raw` (still JSON-escaped), checking it reports
/// runs of 0s and 1s alternately.
pub(crate) fn json_text_counts(raw: &[u8]) -> Option<Vec<u32>> {
    struct Tagged(Vec<(bool, u32)>);
    impl CountSink for Tagged {
        fn zeros(&mut self, c: u32) {
            self.0.push((false, c));
        }
        fn ones(&mut self, c: u32) {
            self.0.push((true, c));
        }
    }
    let t = mask::decode_json_text(raw, Tagged(Vec::new())).ok()?;
    assert!(
        t.0.iter()
            .enumerate()
            .all(|(i, &(one, _))| one == (i % 2 == 1)),
        "run parity broken: {:?}",
        t.0
    );
    Some(t.0.into_iter().map(|(_, c)| c).collect())
}

/// `rleIou` as evaluation computes it (facts, run intervals, pre-check) for two masks.
pub(crate) fn fast_iou(d: &Rle, g: &Rle, crowd: bool) -> f64 {
    let (di, gi) = (d.stats().info(), g.stats().info());
    let (mut dr, mut gr) = (Vec::new(), Vec::new());
    mask::runs_of(&d.counts, &mut dr);
    mask::runs_of(&g.counts, &mut gr);
    mask::iou(
        mask::MaskRef {
            info: &di,
            runs: &dr,
            counts: &d.counts,
        },
        mask::MaskRef {
            info: &gi,
            runs: &gr,
            counts: &g.counts,
        },
        crowd,
    )
}

/// The RLE text decoder and the fast mask IoU. Bytes: `h`, `w`, a crowd flag, then two
/// compressed count strings separated by a space. The three decoders (whole string, one char
/// at a time, straight from JSON text) agree on every string, valid or not; for two valid masks
/// the fast IoU, box and area equal the literal maskApi.c ports.
pub fn rle_text(data: &[u8]) {
    let [h, w, flags, rest @ ..] = data else {
        return;
    };
    let (h, w, crowd) = (*h as u32 % 64, *w as u32 % 64, flags & 1 == 1);
    let mut parts = rest.splitn(2, |&b| b == b' ');
    let (a, b) = (parts.next().unwrap_or(&[]), parts.next().unwrap_or(&[]));
    let mut masks = Vec::new();
    for text in [a, b] {
        let whole = Rle::from_compressed(text, h, w);
        let by_char = decoder_counts(text);
        // A JSON string holds the text with `\` and `"` escaped; other bytes as they are.
        if !text.iter().any(|&c| c == b'"' || c < 0x20) {
            let escaped: Vec<u8> = text
                .iter()
                .flat_map(|&c| if c == b'\\' { vec![c, c] } else { vec![c] })
                .collect();
            assert_eq!(
                json_text_counts(&escaped),
                by_char,
                "JSON-text decoder differs on {:?}",
                String::from_utf8_lossy(text)
            );
        }
        match (&whole, &by_char) {
            (Ok(r), Some(c)) => assert_eq!(&r.counts, c),
            (Ok(_), None) => panic!("from_compressed accepts what the char decoder refuses"),
            _ => {}
        }
        if let Ok(r) = whole {
            assert_eq!(r.to_bbox(), r.to_bbox_reference(), "box of {:?}", r.counts);
            assert_eq!(
                Rle::from_compressed(r.to_compressed().as_bytes(), h, w).as_ref(),
                Ok(&r),
                "round trip"
            );
            masks.push(r);
        }
    }
    if let [d, g] = &masks[..] {
        let want = mask::iou_reference(d, &d.to_bbox_reference(), g, &g.to_bbox_reference(), crowd);
        assert_eq!(
            fast_iou(d, g, crowd).to_bits(),
            want.to_bits(),
            "IoU of {:?} and {:?}",
            d.counts,
            g.counts
        );
        // `rleMerge` is maskApi.c's walk, which (like `rleIou`'s) ends early on zero-length runs;
        // without them it is the pixelwise union or intersection.
        let plain = |r: &Rle| !r.counts.iter().skip(1).any(|&c| c == 0);
        if plain(d) && plain(g) {
            let (pd, pg) = (
                d.decode().expect("valid mask"),
                g.decode().expect("valid mask"),
            );
            for intersect in [false, true] {
                let want: Vec<u8> = pd
                    .iter()
                    .zip(&pg)
                    .map(|(a, b)| if intersect { a & b } else { a | b })
                    .collect();
                assert_eq!(
                    mask::merge(&[d.clone(), g.clone()], intersect).decode(),
                    Some(want),
                    "merge (intersect: {})",
                    intersect
                );
            }
        }
    }
}

/// Polygon rasterisation: the fast rasteriser equals the literal maskApi.c port. Bytes: `h`,
/// `w`, then pairs of little-endian i16 coordinates in tenths of a pixel (so every rounding
/// case of `rleFrPoly`, and coordinates far outside the image, occur).
pub fn polygon(data: &[u8]) {
    let [h, w, rest @ ..] = data else { return };
    let (h, w) = (*h as u32, *w as u32);
    let xy: Vec<f64> = rest
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]) as f64 / 10.0)
        .collect();
    let xy = &xy[..xy.len() & !1];
    if mask::check_polygon(xy).is_err() {
        return; // refused as bad input: nothing to rasterise (see check_polygon)
    }
    assert_eq!(
        mask::from_polygon(xy, h, w),
        mask::from_polygon_reference(xy, h, w),
        "polygon {:?} in {}x{}",
        xy,
        h,
        w
    );
}

/// The `.npy` header and data readers and the `.npz` reader: on any bytes, no panic and no
/// allocation beyond what the bytes can hold.
pub fn npy(data: &[u8]) {
    let path = Path::new("x.npy");
    let mut cur = std::io::Cursor::new(data);
    if let Ok((h, off)) = crate::io::npy::read_header(path, &mut cur) {
        let avail = (data.len() as u64).saturating_sub(off as u64);
        let _ = crate::io::npy::read_float_from(
            path,
            &h,
            &mut std::io::Cursor::new(&data[off.min(data.len())..]),
            avail,
        );
        let _ = crate::io::npy::read_int_from(
            path,
            &h,
            &mut std::io::Cursor::new(&data[off.min(data.len())..]),
            avail,
        );
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::io::npy::parse_header_dict(text);
    }
    let _ = crate::io::npy::read_int_from_npz_reader(
        Path::new("x.npz"),
        std::io::Cursor::new(data),
        "labels",
    );
}

/// The comma-list and `--area-rng` parsers: on any text, no panic; what they accept reads back
/// the same from its own rendering.
pub fn flag_lists(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(v) = crate::args::parse_list::<f64>("--x", s) {
        let back = v
            .iter()
            .map(|x| format!("{:?}", x))
            .collect::<Vec<_>>()
            .join(",");
        let again =
            crate::args::parse_list::<f64>("--x", &back).expect("a rendered list reads back");
        assert!(
            v.iter()
                .zip(&again)
                .all(|(a, b)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()))
                && v.len() == again.len()
        );
    }
    let _ = crate::args::parse_list::<usize>("--x", s);
    let _ = crate::args::parse_list::<i64>("--x", s);
    let items: Vec<String> = s.split('\n').map(String::from).collect();
    if let Ok(rs) = crate::args::parse_area_rng(&items) {
        for r in &rs {
            assert!(
                !r.label.is_empty() && r.lo <= r.hi,
                "accepted range {:?}",
                r
            );
        }
    }
}
