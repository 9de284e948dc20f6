//! An anchor configuration in each framework's own configuration terms, ready to paste. Each
//! snippet gives that framework's anchor generator the anchors `retina-tools anchors
//! --convention <framework>` prints for the same flags (checked by
//! `scripts/conformance/fit_snippets.py` with torchvision and mmdet installed, detectron2 by its
//! `generate_cell_anchors` formula as the shared oracle re-derives it).

use crate::anchors::{AnchorConfig, Convention};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Snippets {
    pub detectron2: String,
    pub mmdet: String,
    pub torchvision: String,
}

/// A Python / YAML float literal that reads back as the same f64 (`32.0`, `40.31747359663594`).
fn py(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{:.1}", v)
    } else {
        format!("{}", v)
    }
}

fn py_list(v: &[f64]) -> String {
    v.iter().map(|x| py(*x)).collect::<Vec<_>>().join(", ")
}

fn as_convention(a: &AnchorConfig, c: Convention) -> AnchorConfig {
    AnchorConfig {
        convention: c,
        ..a.clone()
    }
}

impl Snippets {
    pub fn of(a: &AnchorConfig) -> Snippets {
        Snippets {
            detectron2: detectron2(a),
            mmdet: mmdet(a),
            torchvision: torchvision(a),
        }
    }
}

/// detectron2 `MODEL.ANCHOR_GENERATOR` (YAML): SIZES lists every anchor size of a level
/// (base · 2^(o/n), as `Base-RetinaNet.yaml` writes `x * 2 ** (1.0 / 3)`).
pub fn detectron2(a: &AnchorConfig) -> String {
    let d2 = as_convention(a, Convention::Detectron2);
    let sizes: Vec<String> = (0..a.levels.len())
        .map(|li| format!("[{}]", py_list(&d2.octave_sizes(li))))
        .collect();
    let feats: Vec<String> = a.levels.iter().map(|l| format!("\"p{}\"", l)).collect();
    format!(
        "MODEL:\n  ANCHOR_GENERATOR:\n    SIZES: [{}]\n    ASPECT_RATIOS: [[{}]]\n    OFFSET: {}\n  RETINANET:\n    IN_FEATURES: [{}]\n",
        sizes.join(", "),
        py_list(&a.aspect_ratios),
        py(a.offset),
        feats.join(", ")
    )
}

/// mmdetection `anchor_generator=dict(...)` of the RetinaNet head: `octave_base_scale` when
/// every base size is the same multiple of its stride, else `base_sizes` with `scales`.
pub fn mmdet(a: &AnchorConfig) -> String {
    let strides: Vec<String> = a.levels.iter().map(|l| (1u64 << l).to_string()).collect();
    let mut s = String::from("anchor_generator=dict(\n    type='AnchorGenerator',\n");
    if a.uniform_stride_multiple() {
        s += &format!(
            "    octave_base_scale={},\n    scales_per_octave={},\n",
            py(a.sizes[0] / (1u64 << a.levels[0]) as f64),
            a.scales_per_octave
        );
    } else {
        let scales: Vec<String> = (0..a.scales_per_octave)
            .map(|o| format!("2 ** ({} / {})", o, a.scales_per_octave))
            .collect();
        s += &format!(
            "    base_sizes=[{}],\n    scales=[{}],\n",
            py_list(&a.sizes),
            scales.join(", ")
        );
    }
    s += &format!(
        "    ratios=[{}],\n    strides=[{}]",
        py_list(&a.aspect_ratios),
        strides.join(", ")
    );
    if a.offset != 0.0 {
        s += &format!(",\n    center_offset={}", py(a.offset));
    }
    s += "),\n";
    s
}

/// torchvision `AnchorGenerator(sizes, aspect_ratios)`; the RetinaNet head must be built for the
/// same number of anchors per location.
pub fn torchvision(a: &AnchorConfig) -> String {
    let tv = as_convention(a, Convention::Torchvision);
    let sizes: Vec<String> = (0..a.levels.len())
        .map(|li| format!("({},)", py_list(&tv.octave_sizes(li))))
        .collect();
    let per_loc = a.scales_per_octave as usize * a.aspect_ratios.len();
    let mut s =
        String::from("from torchvision.models.detection.anchor_utils import AnchorGenerator\n");
    s += &format!("anchor_generator = AnchorGenerator(\n    sizes=({},),\n    aspect_ratios=(({},),) * {},\n)\n", sizes.join(", "), py_list(&a.aspect_ratios), a.levels.len());
    s += &format!(
        "# RetinaNet(backbone, num_classes, anchor_generator=anchor_generator,\n#           head=RetinaNetHead(backbone.out_channels, {}, num_classes))\n",
        per_loc
    );
    if a.offset != 0.0 {
        s += "# note: torchvision has no anchor centre offset; these anchors are centred at k * stride\n";
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_snippets_are_the_frameworks_defaults() {
        let a = AnchorConfig::new(Convention::Detectron2);
        let s = Snippets::of(&a);
        assert!(
            s.detectron2
                .contains("SIZES: [[32.0, 40.31747359663594, 50.79683366298238], [64.0,"),
            "{}",
            s.detectron2
        );
        assert!(s.detectron2.contains("ASPECT_RATIOS: [[0.5, 1.0, 2.0]]"));
        assert!(
            s.mmdet
                .contains("octave_base_scale=4.0,\n    scales_per_octave=3,"),
            "{}",
            s.mmdet
        );
        assert!(s.mmdet.contains("strides=[8, 16, 32, 64, 128]"));
        assert!(
            s.torchvision
                .contains("sizes=((32.0, 40.0, 50.0,), (64.0, 80.0, 101.0,),"),
            "{}",
            s.torchvision
        );
        let mut b = a.clone();
        b.sizes = vec![24.0, 64.0, 128.0, 256.0, 512.0];
        assert!(mmdet(&b).contains("base_sizes=[24.0, 64.0, 128.0, 256.0, 512.0],\n    scales=[2 ** (0 / 3), 2 ** (1 / 3), 2 ** (2 / 3)],"));
    }
}
