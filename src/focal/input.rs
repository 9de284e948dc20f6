//! Logits and targets, validated once: shapes agree, targets in range, logits finite. Holds the
//! logits as they arrive (a mapped file, a read buffer or a caller's borrowed array), in their
//! memory order, never copied whole; rows are handed out in blocks (borrowed when the data is
//! C-order float32, converted into a small buffer otherwise).

use super::AnchorCounts;
use crate::error::{Error, Result};
use crate::io::npy::{f16_to_f32, FloatArray, FloatData, IntArray};
use rayon::prelude::*;
use std::path::Path;

/// Target value of an ignored anchor (as `assign` writes it).
pub const IGNORED: i32 = -2;
/// Target value of a background anchor.
pub const BACKGROUND: i32 = -1;

pub struct FocalInput<'a> {
    /// Logical shape of the logits, [..., C].
    pub shape: Vec<usize>,
    pub num_classes: usize,
    /// Number of anchors (product of the leading dimensions).
    pub rows: usize,
    /// Number of images: the first dimension for ≥ 3-D logits, else 1.
    pub images: usize,
    fortran: bool,
    data: FloatData<'a>,
    /// Target of each row, in storage row order (see [`FocalInput::row_block`]).
    labels: Vec<i32>,
}

/// Row-major multi-index → linear offset for C (`fortran = false`) or Fortran order.
fn linear(idx: &[usize], shape: &[usize], fortran: bool) -> usize {
    let mut off = 0;
    if fortran {
        for d in (0..shape.len()).rev() {
            off = off * shape[d] + idx[d];
        }
    } else {
        for d in 0..shape.len() {
            off = off * shape[d] + idx[d];
        }
    }
    off
}

fn unlinear(mut off: usize, shape: &[usize], fortran: bool) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    if fortran {
        for d in 0..shape.len() {
            idx[d] = off % shape[d].max(1);
            off /= shape[d].max(1);
        }
    } else {
        for d in (0..shape.len()).rev() {
            idx[d] = off % shape[d].max(1);
            off /= shape[d].max(1);
        }
    }
    idx
}

fn fmt_index(idx: &[usize]) -> String {
    format!(
        "[{}]",
        idx.iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

impl<'a> FocalInput<'a> {
    /// Validate and combine. `lp`/`tp` name the files in error messages.
    pub fn new(
        logits: FloatArray<'a>,
        targets: IntArray,
        lp: &Path,
        tp: &Path,
    ) -> Result<FocalInput<'a>> {
        let shape = logits.shape.clone();
        if shape.is_empty() {
            return Err(Error::in_file(lp, "", "logits are a 0-d array")
                .with_hint("logits must have shape [..., C], e.g. [anchors, classes]"));
        }
        if shape.len() < 2 {
            return Err(Error::in_file(
                lp,
                "",
                format!(
                    "logits have shape {:?}; need at least 2 dimensions [..., C]",
                    shape
                ),
            )
            .with_hint("reshape to [anchors, classes] (or [images, anchors, classes])"));
        }
        if targets.shape.is_empty() {
            return Err(
                Error::in_file(tp, "", "targets are a 0-d array").with_hint(format!(
                    "targets must have the leading shape of the logits, {:?}",
                    &shape[..shape.len() - 1]
                )),
            );
        }
        let lead = &shape[..shape.len() - 1];
        if targets.shape != lead {
            return Err(Error::input(format!(
                "{}: shape {:?} does not match the logits' leading shape {:?} (logits {} have shape {:?})",
                tp.display(),
                targets.shape,
                lead,
                lp.display(),
                shape
            ))
            .with_hint("targets hold one integer per anchor: logits [..., C] need targets [...]"));
        }
        let num_classes = shape[shape.len() - 1];
        if num_classes == 0 {
            return Err(Error::in_file(
                lp,
                "",
                "logits have 0 classes (last dimension is 0)",
            ));
        }
        let rows: usize = lead.iter().product();
        let images = if shape.len() >= 3 { shape[0] } else { 1 };
        // Targets in range, reported at their logical index.
        let c = num_classes as i64;
        if let Some(pos) = targets
            .data
            .par_iter()
            .position_first(|&v| v < IGNORED as i64 || v >= c)
        {
            let idx = unlinear(pos, &targets.shape, targets.fortran_order);
            return Err(Error::in_file(
                tp,
                &fmt_index(&idx),
                format!(
                    "target {} is out of range for {} classes",
                    targets.data[pos], num_classes
                ),
            )
            .with_hint(format!(
                "targets are 0..{} for foreground classes, -1 background, -2 ignored",
                num_classes - 1
            )));
        }
        // Labels in the logits' storage row order: rows are C-order over the leading dims for a
        // C-order file, Fortran-order for a Fortran file.
        let fortran = logits.fortran_order;
        let labels: Vec<i32> = if targets.fortran_order == fortran || lead.len() <= 1 {
            targets.data.iter().map(|&v| v as i32).collect()
        } else {
            (0..rows)
                .into_par_iter()
                .map(|r| {
                    let idx = unlinear(r, lead, fortran);
                    targets.data[linear(&idx, lead, targets.fortran_order)] as i32
                })
                .collect()
        };
        let input = FocalInput {
            shape,
            num_classes,
            rows,
            images,
            fortran,
            data: logits.data,
            labels,
        };
        input.check_finite(lp)?;
        Ok(input)
    }

    /// Build directly from C-order float32 logits (tests, benchmarks).
    pub fn from_f32(
        shape: Vec<usize>,
        data: Vec<f32>,
        targets: Vec<i64>,
    ) -> Result<FocalInput<'a>> {
        let lead = shape[..shape.len().saturating_sub(1)].to_vec();
        let p = Path::new("<memory>");
        FocalInput::new(
            FloatArray {
                shape,
                fortran_order: false,
                data: FloatData::F32(data.into()),
            },
            IntArray {
                shape: lead,
                fortran_order: false,
                data: targets,
            },
            p,
            p,
        )
    }

    fn check_finite(&self, lp: &Path) -> Result<()> {
        const CHUNK: usize = 1 << 16;
        let bad = match &self.data {
            // A branch-free OR over each chunk (vectorises); the rare bad chunk is searched after.
            FloatData::F32(v) => v
                .par_chunks(CHUNK)
                .position_first(|c| {
                    c.iter().fold(0u32, |a, x| {
                        a | (x.to_bits() & 0x7f80_0000 == 0x7f80_0000) as u32
                    }) != 0
                })
                .map(|i| {
                    let j = c_first(&v[i * CHUNK..], |x: &f32| !x.is_finite());
                    (i * CHUNK + j, v[i * CHUNK + j])
                }),
            FloatData::F16(v) => v
                .par_chunks(CHUNK)
                .position_first(|c| c.iter().any(|&h| h & 0x7c00 == 0x7c00))
                .map(|i| {
                    let j = c_first(&v[i * CHUNK..], |&h: &u16| h & 0x7c00 == 0x7c00);
                    (i * CHUNK + j, f16_to_f32(v[i * CHUNK + j]))
                }),
        };
        if let Some((off, val)) = bad {
            let idx = unlinear(off, &self.shape, self.fortran);
            return Err(Error::in_file(
                lp,
                &fmt_index(&idx),
                format!("logit is {} (NaN and inf are not logits)", val),
            )
            .with_hint("check the model output for overflow; every logit must be finite"));
        }
        Ok(())
    }

    /// Target of storage row `r`.
    #[inline]
    pub fn label(&self, r: usize) -> i32 {
        self.labels[r]
    }

    pub fn labels(&self) -> &[i32] {
        &self.labels
    }

    /// Image (first dimension) of storage row `r`.
    #[inline]
    pub fn image(&self, r: usize) -> usize {
        if self.images <= 1 {
            0
        } else if self.fortran {
            r % self.images
        } else {
            r / (self.rows / self.images)
        }
    }

    /// Logits of storage rows `r0..r1` as a row-major [r1 - r0, C] slice: borrowed for C-order
    /// float32, else converted into `buf`.
    pub fn row_block<'b>(&'b self, r0: usize, r1: usize, buf: &'b mut Vec<f32>) -> &'b [f32] {
        let c = self.num_classes;
        match (&self.data, self.fortran) {
            (FloatData::F32(v), false) => &v[r0 * c..r1 * c],
            (FloatData::F16(v), false) => {
                buf.clear();
                buf.extend(v[r0 * c..r1 * c].iter().map(|&h| f16_to_f32(h)));
                buf
            }
            (data, true) => {
                let n = r1 - r0;
                buf.clear();
                buf.resize(n * c, 0.0);
                for k in 0..c {
                    let base = k * self.rows;
                    match data {
                        FloatData::F32(v) => {
                            for (i, &x) in v[base + r0..base + r1].iter().enumerate() {
                                buf[i * c + k] = x;
                            }
                        }
                        FloatData::F16(v) => {
                            for (i, &h) in v[base + r0..base + r1].iter().enumerate() {
                                buf[i * c + k] = f16_to_f32(h);
                            }
                        }
                    }
                }
                buf
            }
        }
    }

    pub fn counts(&self) -> AnchorCounts {
        let mut a = AnchorCounts {
            total: self.rows as u64,
            ..Default::default()
        };
        for &t in &self.labels {
            match t {
                IGNORED => a.ignored += 1,
                BACKGROUND => a.background += 1,
                _ => a.foreground += 1,
            }
        }
        a
    }

    /// Foreground anchors per image.
    pub fn image_foreground(&self) -> Vec<u64> {
        let mut v = vec![0u64; self.images.max(1)];
        for (r, &t) in self.labels.iter().enumerate() {
            if t >= 0 {
                v[self.image(r)] += 1;
            }
        }
        v
    }

    /// Number of positive and negative elements (ignored anchors excluded).
    pub fn element_counts(&self) -> [u64; 2] {
        let c = self.counts();
        let valid = c.foreground + c.background;
        [c.foreground, valid * self.num_classes as u64 - c.foreground]
    }

    /// Blocks of whole rows with about `target` elements each; fixed by the shape alone, so every
    /// reduction over blocks has the same order whatever the thread count.
    pub fn blocks(&self, target: usize) -> Vec<(usize, usize)> {
        let per = (target / self.num_classes).max(1);
        (0..self.rows.div_ceil(per))
            .map(|b| (b * per, ((b + 1) * per).min(self.rows)))
            .collect()
    }
}

fn c_first<T>(v: &[T], f: impl Fn(&T) -> bool) -> usize {
    v.iter().position(f).unwrap_or(0)
}
