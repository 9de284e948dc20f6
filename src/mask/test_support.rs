//! Helpers shared by the mask tests: reference IoU on decoded pixels, decoders driven one
//! character at a time, random masks.

use super::*;
use proptest::prelude::*;

pub(super) use crate::fuzzing::{decoder_counts, fast_iou as iou_of};

/// Plain reference IoU on decoded masks.
pub(super) fn iou_ref(d: &Rle, g: &Rle, crowd: bool) -> f64 {
    let (md, mg) = (d.decode().unwrap(), g.decode().unwrap());
    let i = md
        .iter()
        .zip(&mg)
        .filter(|(a, b)| **a != 0 && **b != 0)
        .count();
    let un = md
        .iter()
        .zip(&mg)
        .filter(|(a, b)| **a != 0 || **b != 0)
        .count();
    let ad = md.iter().filter(|&&a| a != 0).count();
    if i == 0 {
        0.0
    } else if crowd {
        i as f64 / ad as f64
    } else {
        i as f64 / un as f64
    }
}

/// `text` as it sits inside a JSON string: each backslash doubled.
pub(super) fn json_escaped(text: &[u8]) -> Vec<u8> {
    text.iter()
        .flat_map(|&b| if b == b'\\' { vec![b, b] } else { vec![b] })
        .collect()
}

/// Counts of `text` by [`decode_json_text`] reading it JSON-escaped (see the fuzzing check).
pub(super) fn json_text_counts(text: &[u8]) -> Option<Vec<u32>> {
    crate::fuzzing::json_text_counts(&json_escaped(text))
}

/// A random mask of up to 11x11 pixels, about 40% foreground.
pub(super) fn arb_mask() -> impl Strategy<Value = (u32, u32, Vec<u8>)> {
    (1u32..12, 1u32..12).prop_flat_map(|(h, w)| {
        (
            Just(h),
            Just(w),
            proptest::collection::vec(
                prop_oneof![3 => Just(0u8), 2 => Just(1u8)],
                (h * w) as usize,
            ),
        )
    })
}
