//! `retina-tools anchors --image-size HxW`: arguments → [`AnchorConfig`] → grid → table/.npy.
//! [`AnchorArgs`] is shared with `assign`.

use super::{emit_json, parse_list, print_stdout, GlobalArgs};
use clap::{Args, ValueEnum};
use retina_tools::anchors::{self, AnchorConfig, Convention, Layout};
use retina_tools::{report, Result};
use std::path::PathBuf;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ConventionArg {
    Detectron2,
    Torchvision,
    Mmdet,
    Detectron,
}

impl From<ConventionArg> for Convention {
    fn from(c: ConventionArg) -> Convention {
        match c {
            ConventionArg::Detectron2 => Convention::Detectron2,
            ConventionArg::Torchvision => Convention::Torchvision,
            ConventionArg::Mmdet => Convention::Mmdet,
            ConventionArg::Detectron => Convention::Detectron,
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum LayoutArg {
    /// The framework's own order (Detectron: level, anchor type, y, x; others: level, y, x, a).
    Native,
    /// level, y, x, a for every convention.
    Hwa,
}

/// Anchor grid flags, shared by `anchors` and `assign`.
#[derive(Args, Debug, Clone)]
pub struct AnchorArgs {
    /// Whose anchors (and matcher) to reproduce, bit for bit.
    #[arg(long, value_enum, default_value = "detectron2")]
    pub convention: ConventionArg,
    #[command(flatten)]
    pub grid: GridArgs,
}

/// The overrides of a convention's anchor grid (shared by `anchors`, `assign` and `diagnose`).
#[derive(Args, Debug, Clone)]
pub struct GridArgs {
    /// Pyramid levels, e.g. 3-7 (stride 2^level).
    #[arg(long, value_name = "LO-HI")]
    pub levels: Option<String>,
    /// Base anchor size per level, comma list (default 4 x stride: 32,64,128,256,512).
    #[arg(long, value_name = "LIST")]
    pub sizes: Option<String>,
    /// Anchor scales per octave (default 3: sizes x 2^(0/3), 2^(1/3), 2^(2/3)).
    #[arg(long, value_name = "N")]
    pub scales_per_octave: Option<u32>,
    /// Aspect ratios h/w in generation order (default 0.5,1,2; Detectron 1,2,0.5).
    #[arg(long, value_name = "LIST")]
    pub aspect_ratios: Option<String>,
    /// Anchor centre offset in strides (detectron2 OFFSET, mmdet center_offset; default 0).
    #[arg(long, value_name = "F")]
    pub offset: Option<f64>,
    /// Pad the image to a multiple of this before computing feature sizes (default 32; Detectron 128).
    #[arg(long, value_name = "N")]
    pub size_divisibility: Option<u32>,
    /// Order of the anchors in the output array.
    #[arg(long, value_enum, default_value = "native")]
    pub layout: LayoutArg,
}

impl AnchorArgs {
    pub fn config(&self) -> Result<AnchorConfig> {
        self.grid.config(self.convention)
    }
}

impl GridArgs {
    pub fn config(&self, convention: ConventionArg) -> Result<AnchorConfig> {
        let mut c = AnchorConfig::new(convention.into());
        if let Some(s) = &self.levels {
            c.set_levels(anchors::parse_levels(s)?);
        }
        if let Some(s) = &self.sizes {
            c.sizes = parse_list::<f64>("--sizes", s)?;
        }
        if let Some(n) = self.scales_per_octave {
            c.scales_per_octave = n;
        }
        if let Some(s) = &self.aspect_ratios {
            c.aspect_ratios = parse_list::<f64>("--aspect-ratios", s)?;
        }
        if let Some(o) = self.offset {
            c.offset = o;
        }
        if let Some(d) = self.size_divisibility {
            c.size_divisibility = d;
        }
        c.layout = match self.layout {
            LayoutArg::Native => Layout::Native,
            LayoutArg::Hwa => Layout::Hwa,
        };
        c.validate()?;
        Ok(c)
    }

    /// The flags as given, to print a command line that reproduces them.
    pub fn flags(&self) -> Vec<String> {
        let mut f = Vec::new();
        let mut push = |name: &str, v: Option<String>| {
            if let Some(v) = v {
                f.push(format!("--{} {}", name, v));
            }
        };
        push("levels", self.levels.clone());
        push("sizes", self.sizes.clone());
        push("scales-per-octave", self.scales_per_octave.map(|v| v.to_string()));
        push("aspect-ratios", self.aspect_ratios.clone());
        push("offset", self.offset.map(|v| v.to_string()));
        push("size-divisibility", self.size_divisibility.map(|v| v.to_string()));
        f
    }
}

/// Print (and optionally write) the anchor grid of one image size.
#[derive(Args, Debug)]
pub struct AnchorsCmdArgs {
    /// Network input size HxW (after resize, before padding), e.g. 800x1333.
    #[arg(long, value_name = "HxW", allow_hyphen_values = true)]
    pub image_size: String,
    #[command(flatten)]
    pub anchor: AnchorArgs,
    /// Write all anchors as float32 [A, 4] (x1, y1, x2, y2) to this .npy file.
    #[arg(long, value_name = "PATH.npy")]
    pub out: Option<PathBuf>,
    /// Write the per-level table as JSON to PATH ('-' = stdout instead of the text).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub global: GlobalArgs,
}

pub fn run(a: AnchorsCmdArgs) -> Result<()> {
    let cfg = a.anchor.config()?;
    let (h, w) = anchors::parse_hw(&a.image_size)?;
    let grid = cfg.grid(h, w)?;
    if let Some(path) = &a.out {
        retina_tools::io::npz::write_npy(path, &grid.to_array())?;
    }
    let to_stdout_json = emit_json(a.json.as_deref(), || report::assign::anchors_json(&grid))?;
    if !to_stdout_json {
        print_stdout(&report::assign::anchors_table(&grid))?;
    }
    Ok(())
}
