//! COCO run-length-encoded masks: the data type every mask-reading module shares, ported from
//! pycocotools' `common/maskApi.c` operation by operation so that areas, boxes, polygon
//! rasterisation and IoUs are the same numbers. Sits below both `coco` (which reads masks) and
//! `eval` (which compares them).
//!
//! - this file: [`Rle`] itself (area, box, encode/decode to pixels);
//! - [`codec`]: COCO's compressed counts string, decoded straight from JSON text into a [`CountSink`];
//! - [`polygon`]: `rleFrPoly`, the fast rasteriser and the literal maskApi.c port it is tested against;
//! - [`iou`]: `rleIou`/`rleMerge`, with the per-mask facts and run intervals evaluation caches.
//!
//! An [`Rle`] stores alternating runs of 0s and 1s over the mask read in column-major order
//! (x outer, y inner), starting with a run of 0s. Integer arithmetic uses C's `uint`/`int`
//! widths (u32/i32 with wrap-around) where maskApi.c does.

pub mod codec;
pub mod iou;
pub mod polygon;
#[cfg(test)]
mod test_support;

pub use codec::{decode_json_text, CountSink, StringDecoder};
pub use iou::{
    counts_of_runs, intersect_runs, iou, iou_of_intersection, iou_precheck, iou_reference,
    iou_runs, iou_walk, merge, runs_of, IntersectRuns, MaskInfo, MaskRef, RunBuilder, RunStats,
};
pub use polygon::{check_polygon, from_polygon, from_polygon_reference};

/// A run-length-encoded binary mask of `h` rows and `w` columns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rle {
    pub h: u32,
    pub w: u32,
    pub counts: Vec<u32>,
}

/// Why a mask could not be built from user data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskError(pub String);

impl Rle {
    /// Build from explicit counts, checking that they cover exactly `h*w` pixels.
    pub fn from_counts(h: u32, w: u32, counts: Vec<u32>) -> Result<Rle, MaskError> {
        let sum: u64 = counts.iter().map(|&c| c as u64).sum();
        Rle::check_sum(h, w, sum)?;
        Ok(Rle { h, w, counts })
    }

    /// Counts summing to `sum` must cover exactly the `h*w` pixels.
    pub fn check_sum(h: u32, w: u32, sum: u64) -> Result<(), MaskError> {
        let hw = h as u64 * w as u64;
        if sum != hw {
            return Err(MaskError(format!(
                "RLE counts sum to {} but the mask has {}x{} = {} pixels",
                sum, h, w, hw
            )));
        }
        Ok(())
    }

    /// `rleArea`: the number of foreground pixels (sum of the odd runs).
    pub fn area(&self) -> u64 {
        self.counts
            .iter()
            .skip(1)
            .step_by(2)
            .map(|&c| c as u64)
            .sum()
    }

    /// `rleToBbox` (pycocotools 2.0.11's fixed version): `[x, y, w, h]` of the foreground pixels,
    /// all zeros for an empty mask. Computed by [`RunStats`] (property-tested against
    /// [`Rle::to_bbox_reference`]).
    pub fn to_bbox(&self) -> [f64; 4] {
        self.stats().bbox()
    }

    /// Area, box and the facts the run-interval IoU needs, in one pass over the counts.
    pub fn stats(&self) -> RunStats {
        let mut st = RunStats::new(self.h, self.w);
        for pair in self.counts.chunks(2) {
            st.zeros(pair[0]);
            if let Some(&c) = pair.get(1) {
                st.ones(c);
            }
        }
        st.end(self.counts.len());
        st
    }

    /// maskApi.c's `rleToBbox` loop as written (a division per run): the reference for
    /// [`Rle::to_bbox`].
    pub fn to_bbox_reference(&self) -> [f64; 4] {
        let (h, w) = (self.h, self.w);
        let m = (self.counts.len() / 2) * 2;
        if m == 0 || h == 0 {
            return [0.0; 4];
        }
        let (mut xs, mut ys, mut xe, mut ye) = (w, h, 0u32, 0u32);
        let mut cc: u32 = 0;
        for j in 0..m {
            let start = cc;
            cc = cc.wrapping_add(self.counts[j]);
            if j % 2 == 0 || self.counts[j] == 0 {
                continue;
            }
            let y_start = start % h;
            let x_start = (start - y_start) / h;
            let y_end = (cc - 1) % h;
            let x_end = (cc - 1 - y_end) / h;
            xs = xs.min(x_start);
            xe = xe.max(x_end);
            if x_start < x_end {
                ys = 0;
                ye = h - 1;
            } else {
                ys = ys.min(y_start);
                ye = ye.max(y_end);
            }
        }
        [
            xs as f64,
            ys as f64,
            xe.wrapping_sub(xs).wrapping_add(1) as f64,
            ye.wrapping_sub(ys).wrapping_add(1) as f64,
        ]
    }

    /// Decode to a column-major `h*w` byte mask; `None` if the counts overrun it (`rleDecode`).
    pub fn decode(&self) -> Option<Vec<u8>> {
        let s = self.h as usize * self.w as usize;
        let mut out = Vec::with_capacity(s);
        let mut v = 0u8;
        for &c in &self.counts {
            if out.len() + c as usize > s {
                return None;
            }
            out.resize(out.len() + c as usize, v);
            v ^= 1;
        }
        out.resize(s, 0);
        Some(out)
    }

    /// `rleEncode` of a column-major byte mask (nonzero = foreground).
    pub fn encode(mask: &[u8], h: u32, w: u32) -> Rle {
        let mut counts = Vec::new();
        let (mut p, mut c) = (false, 0u32);
        for &b in &mask[..h as usize * w as usize] {
            let v = b != 0;
            if v != p {
                counts.push(c);
                c = 0;
                p = v;
            }
            c += 1;
        }
        counts.push(c);
        Rle { h, w, counts }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::test_support::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn bbox_fast_equals_reference_on_any_counts(h in 1u32..9, counts in proptest::collection::vec(prop_oneof![2 => Just(0u32), 5 => 1u32..30], 0..12)) {
            let r = Rle { h, w: 1 + counts.iter().sum::<u32>() / h, counts };
            prop_assert_eq!(r.to_bbox(), r.to_bbox_reference());
        }

        #[test]
        fn encode_decode_round_trip((h, w, m) in arb_mask()) {
            let r = Rle::encode(&m, h, w);
            prop_assert_eq!(r.decode().unwrap(), m.clone());
            prop_assert_eq!(r.area() as usize, m.iter().filter(|&&b| b != 0).count());
            prop_assert_eq!(r.to_bbox(), r.to_bbox_reference());
            let s = r.to_compressed();
            prop_assert_eq!(Rle::from_compressed(s.as_bytes(), h, w).unwrap(), r.clone());
            // Box: tight bounds of the foreground pixels.
            let px: Vec<(u32, u32)> = (0..w).flat_map(|x| (0..h).map(move |y| (x, y))).filter(|&(x, y)| m[(x * h + y) as usize] != 0).collect();
            if px.is_empty() {
                prop_assert_eq!(r.to_bbox(), [0.0; 4]);
            } else {
                let x0 = px.iter().map(|p| p.0).min().unwrap();
                let x1 = px.iter().map(|p| p.0).max().unwrap();
                let y0 = px.iter().map(|p| p.1).min().unwrap();
                let y1 = px.iter().map(|p| p.1).max().unwrap();
                prop_assert_eq!(r.to_bbox(), [x0 as f64, y0 as f64, (x1 - x0 + 1) as f64, (y1 - y0 + 1) as f64]);
            }
        }
    }
}
