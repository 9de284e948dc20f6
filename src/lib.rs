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
//! - [`diagnose`]: why the AP is what it is (TIDE as tidecv, confusion/calibration/F-scores as
//!   hotcoco, missed objects vs anchors, suspected annotation errors).
//! - [`eval`]: COCOeval, bit-for-bit with pycocotools (evaluate → accumulate → summarize).
//! - [`focal`]: focal-loss statistics on dumped logits (CPU and WGSL backends, Fig. 4 curves).
//! - [`io`]: the parallel positioned JSON reader, atomic writes, `.npy`/`.npz`.
//! - [`report`]: JSON documents, tables and plots shared by the subcommands.
//! - [`error`], [`progress`]: the error type (with exit codes and hints) and progress reporting.
//!
//! The command-line edge lives in the binary (`src/cli/`); this library never sees a clap type.

pub mod anchors;
pub mod assign;
pub mod coco;
pub mod compare;
pub mod diagnose;
pub mod error;
pub mod eval;
pub mod focal;
pub mod geom;
pub mod io;
pub mod progress;
pub mod report;

pub use error::{Error, ErrorKind, Result};
