//! retina-tools: the Focal Loss paper's ideas as everyday tools for dense-detector research.
//!
//! Modules, one place per concept:
//! - [`geom`]: box types and THE IoU (COCO boxes, crowd IoU).
//! - [`coco`]: COCO ground-truth and results files: model, validation with JSON paths.
//! - [`compare`]: is model B really better than A? Paired bootstrap intervals over images, each
//!   replicate exactly what pycocotools computes on the resample (via [`eval::resample`]).
//! - [`anchors`]: RetinaNet anchor grids per framework convention (Detectron, detectron2,
//!   torchvision, mmdet), bit-for-bit.
//! - [`assign`]: anchor → GT matching per convention, box targets, coverage statistics.
//! - [`fit`]: `anchors --fit`, the anchor configuration that fits a dataset, searched with the
//!   real matcher and measured by `assign`; config snippets for detectron2, mmdet, torchvision.
//! - [`diagnose`]: why the AP is what it is (TIDE as tidecv, confusion/calibration/F-scores as
//!   hotcoco, missed objects vs anchors, suspected annotation errors).
//! - [`mask`]: COCO RLE masks (codec, polygon rasterisation, IoU) as maskApi.c computes them,
//!   shared by `coco` (reading) and `eval` (comparing).
//! - [`eval`]: COCOeval, bit-for-bit with pycocotools (evaluate → accumulate → summarize).
//! - [`focal`]: focal-loss statistics on dumped logits (CPU and WGSL backends, Fig. 4 curves).
//! - [`io`]: the parallel positioned JSON reader, atomic writes, `.npy`/`.npz`.
//! - [`rng`]: SplitMix64, the one seeded generator.
//! - [`report`]: JSON documents, tables and plots shared by the subcommands.
//! - [`args`]: list-valued flags (comma lists, area ranges) parsed once for every front end.
//! - [`error`], [`progress`]: the error type (with exit codes and hints) and progress reporting.
//! - [`fuzzing`]: the properties the `fuzz/` targets check (replayed by `cargo test`).
//!
//! The command-line edge lives in the binary (`src/cli/`); this library never sees a clap type.

pub mod anchors;
pub mod args;
pub mod assign;
pub mod coco;
pub mod compare;
pub mod diagnose;
pub mod error;
pub mod eval;
pub mod fit;
pub mod focal;
#[doc(hidden)]
pub mod fuzzing;
pub mod geom;
pub mod io;
pub mod mask;
pub mod progress;
pub mod report;
pub mod rng;

pub use error::{Error, ErrorKind, Result};
