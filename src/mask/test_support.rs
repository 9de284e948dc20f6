//! Helpers shared by the mask tests: reference IoU on decoded pixels, decoders driven one
//! character at a time, random masks.

use super::*;
use proptest::prelude::*;

/// [`iou`] through [`MaskRef`]s built from `Rle`s, as evaluation calls it.
pub(super) fn iou_of(d: &Rle, g: &Rle, crowd: bool) -> f64 {
    let (di, gi) = (d.stats().info(), g.stats().info());
    let (mut dr, mut gr) = (Vec::new(), Vec::new());
    runs_of(&d.counts, &mut dr);
    runs_of(&g.counts, &mut gr);
    iou(MaskRef { info: &di, runs: &dr, counts: &d.counts }, MaskRef { info: &gi, runs: &gr, counts: &g.counts }, crowd)
}

/// Plain reference IoU on decoded masks.
pub(super) fn iou_ref(d: &Rle, g: &Rle, crowd: bool) -> f64 {
    let (md, mg) = (d.decode().unwrap(), g.decode().unwrap());
    let i = md.iter().zip(&mg).filter(|(a, b)| **a != 0 && **b != 0).count();
    let un = md.iter().zip(&mg).filter(|(a, b)| **a != 0 || **b != 0).count();
    let ad = md.iter().filter(|&&a| a != 0).count();
    if i == 0 {
        0.0
    } else if crowd {
        i as f64 / ad as f64
    } else {
        i as f64 / un as f64
    }
}

/// Counts of `text` by [`StringDecoder`] one character at a time (`None` if it rejects it).
pub(super) fn decoder_counts(text: &[u8]) -> Option<Vec<u32>> {
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

/// `text` as it sits inside a JSON string: each backslash doubled.
pub(super) fn json_escaped(text: &[u8]) -> Vec<u8> {
    text.iter().flat_map(|&b| if b == b'\\' { vec![b, b] } else { vec![b] }).collect()
}

/// Counts of `text` by [`decode_json_text`], told apart by parity as it reports them.
pub(super) fn json_text_counts(text: &[u8]) -> Option<Vec<u32>> {
    struct Tagged(Vec<(bool, u32)>);
    impl CountSink for Tagged {
        fn zeros(&mut self, c: u32) {
            self.0.push((false, c));
        }
        fn ones(&mut self, c: u32) {
            self.0.push((true, c));
        }
    }
    let mut t = Tagged(Vec::new());
    decode_json_text(&json_escaped(text), &mut t).ok()?;
    assert!(t.0.iter().enumerate().all(|(i, &(one, _))| one == (i % 2 == 1)), "parity of {:?}", t.0);
    Some(t.0.into_iter().map(|(_, c)| c).collect())
}

/// A random mask of up to 11x11 pixels, about 40% foreground.
pub(super) fn arb_mask() -> impl Strategy<Value = (u32, u32, Vec<u8>)> {
    (1u32..12, 1u32..12).prop_flat_map(|(h, w)| (Just(h), Just(w), proptest::collection::vec(prop_oneof![3 => Just(0u8), 2 => Just(1u8)], (h * w) as usize)))
}

