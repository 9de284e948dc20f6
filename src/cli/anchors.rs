//! `retina-tools anchors --image-size HxW`: arguments → [`AnchorConfig`] → grid → table/.npy;
//! `anchors --fit GT.json`: arguments → [`FitConfig`] → fit → table/JSON/plot.
//! [`AnchorArgs`] is shared with `assign`.

use super::assign::MatcherArgs;
use super::progress_bar::Bar;
use super::{emit_json, parse_list, print_stdout, GlobalArgs};
use clap::{Args, ValueEnum};
use retina_tools::anchors::{self, AnchorConfig, Convention, Layout};
use retina_tools::assign::AssignConfig;
use retina_tools::coco::Dataset;
use retina_tools::fit::{self, search::Strategy, FitConfig, Objective, SizeMode};
use retina_tools::progress::Progress;
use retina_tools::{report, Error, Result};
use std::path::PathBuf;
use std::time::Instant;

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
        push(
            "scales-per-octave",
            self.scales_per_octave.map(|v| v.to_string()),
        );
        push("aspect-ratios", self.aspect_ratios.clone());
        push("offset", self.offset.map(|v| v.to_string()));
        push(
            "size-divisibility",
            self.size_divisibility.map(|v| v.to_string()),
        );
        f
    }
}

/// Print (and optionally write) the anchor grid of one image size, or (`--fit GT.json`) search
/// the anchor configuration that fits a dataset.
#[derive(Args, Debug)]
pub struct AnchorsCmdArgs {
    /// Network input size HxW (after resize, before padding), e.g. 800x1333.
    #[arg(
        long,
        value_name = "HxW",
        allow_hyphen_values = true,
        required_unless_present = "fit",
        conflicts_with = "fit"
    )]
    pub image_size: Option<String>,
    #[command(flatten)]
    pub anchor: AnchorArgs,
    /// Write all anchors as float32 [A, 4] (x1, y1, x2, y2) to this .npy file.
    #[arg(long, value_name = "PATH.npy", conflicts_with = "fit")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub fit: FitArgs,
    /// With --fit: the resize and matcher flags of `assign`.
    #[command(flatten)]
    pub matcher: MatcherArgs,
    /// Write the per-level table (with --fit: the fit) as JSON to PATH ('-' = stdout instead of the text).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ObjectiveArg {
    /// Share of GT boxes with >= 1 foreground anchor without low-quality matches (assign --no-low-quality).
    Coverage,
    /// Share of GT boxes whose best anchor IoU is >= --pos-iou.
    Recall,
    /// Mean best anchor IoU of the GT boxes.
    MeanBestIou,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum SizeModeArg {
    /// One base size per level.
    Level,
    /// One common multiple of the stride for every level (mmdet octave_base_scale).
    StrideMultiple,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum StrategyArg {
    /// Seeds from the default and the box statistics, then differential evolution.
    Evolution,
    /// Uniform random candidates (a baseline for comparison).
    Random,
}

/// `anchors --fit` flags.
#[derive(Args, Debug, Clone)]
pub struct FitArgs {
    /// Search the anchors that fit this COCO ground truth (sizes, scales per octave, aspect ratios).
    #[arg(long, value_name = "GT.json")]
    pub fit: Option<PathBuf>,
    /// With --fit: at most this many anchors per location (scales per octave x aspect ratios).
    #[arg(long, value_name = "N", default_value_t = 9)]
    pub budget: u32,
    /// With --fit: what to maximise.
    #[arg(long, value_enum, default_value = "coverage")]
    pub objective: ObjectiveArg,
    /// With --fit: base size per level, or one multiple of the stride for all levels.
    #[arg(long, value_enum, default_value = "level")]
    pub size_mode: SizeModeArg,
    /// With --fit: keep these as the convention (or --sizes/--scales-per-octave/--aspect-ratios)
    /// sets them: comma list of sizes, scales, ratios. Giving those flags fixes them too.
    #[arg(long, value_name = "LIST")]
    pub fix: Option<String>,
    /// With --fit: bounds of a base size as a multiple of its level's stride.
    #[arg(long, value_name = "LO,HI", default_value = "1,16")]
    pub size_range: String,
    /// With --fit: bounds of the aspect ratios (h/w).
    #[arg(long, value_name = "LO,HI", default_value = "0.1,10")]
    pub ratio_range: String,
    /// With --fit: candidate evaluations of the search.
    #[arg(long, value_name = "N", default_value_t = fit::DEFAULT_EVALUATIONS)]
    pub evaluations: usize,
    /// With --fit: GT boxes scored per candidate during the search (0 = all); the best candidates
    /// are then verified on all images.
    #[arg(long, value_name = "N", default_value_t = fit::DEFAULT_SAMPLE_BOXES)]
    pub sample_boxes: u64,
    /// With --fit: seed of the search (the result does not depend on --threads).
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// With --fit: search strategy.
    #[arg(long, value_enum, default_value = "evolution")]
    pub strategy: StrategyArg,
    /// With --fit: draw coverage by object size, default and best side by side (.svg or .png).
    #[arg(long, value_name = "PATH")]
    pub plot: Option<PathBuf>,
}

fn range(flag: &str, s: &str) -> Result<(f64, f64)> {
    let v = parse_list::<f64>(flag, s)?;
    if v.len() != 2 {
        return Err(
            Error::input(format!("{}: expected LO,HI, got '{}'", flag, s))
                .with_hint(format!("e.g. {} 1,16", flag)),
        );
    }
    Ok((v[0], v[1]))
}

fn fit_config(a: &AnchorsCmdArgs) -> Result<FitConfig> {
    let mut assign = AssignConfig::new(a.anchor.convention.into());
    assign.anchors = a.anchor.config()?;
    a.matcher.apply(&mut assign)?;
    let f = &a.fit;
    let mut c = FitConfig::new(assign);
    c.objective = match f.objective {
        ObjectiveArg::Coverage => Objective::Coverage,
        ObjectiveArg::Recall => Objective::Recall,
        ObjectiveArg::MeanBestIou => Objective::MeanBestIou,
    };
    c.budget = f.budget;
    c.size_mode = match f.size_mode {
        SizeModeArg::Level => SizeMode::PerLevel,
        SizeModeArg::StrideMultiple => SizeMode::StrideMultiple,
    };
    c.vary_sizes = a.anchor.grid.sizes.is_none();
    c.vary_scales = a.anchor.grid.scales_per_octave.is_none();
    c.vary_ratios = a.anchor.grid.aspect_ratios.is_none();
    if let Some(fix) = &f.fix {
        for item in fix.split(',').map(|s| s.trim()).filter(|s| !s.is_empty()) {
            match item {
                "sizes" => c.vary_sizes = false,
                "scales" => c.vary_scales = false,
                "ratios" => c.vary_ratios = false,
                other => {
                    return Err(Error::input(format!("--fix: unknown item '{}'", other))
                        .with_hint("--fix takes a comma list of sizes, scales, ratios"))
                }
            }
        }
    }
    c.multiple_range = range("--size-range", &f.size_range)?;
    c.ratio_range = range("--ratio-range", &f.ratio_range)?;
    c.evaluations = f.evaluations;
    c.sample_boxes = f.sample_boxes;
    c.seed = f.seed;
    c.strategy = match f.strategy {
        StrategyArg::Evolution => Strategy::Evolution,
        StrategyArg::Random => Strategy::Random,
    };
    c.both_low_quality = f.plot.is_some();
    if let Some(p) = &f.plot {
        report::plot::PlotFormat::from_path(p)?;
    }
    c.validate()?;
    Ok(c)
}

fn run_fit(a: &AnchorsCmdArgs, gt_path: &std::path::Path) -> Result<()> {
    let cfg = fit_config(a)?;
    let bar = Bar::new(a.global.quiet);
    let t0 = Instant::now();
    bar.start("loading", 0);
    let gt = Dataset::load_lenient(gt_path)?;
    bar.finish();
    let t_load = t0.elapsed();
    // Data errors found while preparing the GT (an image without a size, ...) name the file.
    let r = fit::run(&gt, &cfg, &bar).map_err(|e| {
        let name = gt_path.display().to_string();
        if e.kind == retina_tools::ErrorKind::Input && !e.message.contains(&name) {
            Error {
                message: format!("{}: {}", name, e.message),
                ..e
            }
        } else {
            e
        }
    })?;
    let t_fit = t0.elapsed() - t_load;
    if let Some(p) = &a.fit.plot {
        report::fit::fit_plot(p, &r)?;
    }
    let to_stdout_json = emit_json(a.json.as_deref(), || report::fit::fit_json(&r, cfg.seed))?;
    if !to_stdout_json {
        print_stdout(&report::fit::fit_table(&r, &gt_path.display().to_string()))?;
    }
    if !a.global.quiet {
        eprintln!(
            "note: {} GT boxes; load {:.3}s, fit {:.3}s ({} evaluations)",
            r.gt,
            t_load.as_secs_f64(),
            t_fit.as_secs_f64(),
            r.evaluated
        );
    }
    Ok(())
}

pub fn run(a: AnchorsCmdArgs) -> Result<()> {
    if let Some(gt) = a.fit.fit.clone() {
        return run_fit(&a, &gt);
    }
    if a.fit.plot.is_some() {
        return Err(
            Error::input("--plot draws the fit's coverage").with_hint("use it with --fit GT.json")
        );
    }
    let cfg = a.anchor.config()?;
    let (h, w) = anchors::parse_hw(a.image_size.as_deref().unwrap_or_default())?;
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
