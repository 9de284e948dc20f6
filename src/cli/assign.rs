//! `retina-tools assign --gt instances.json`: arguments → [`AssignConfig`] → run → table/JSON/plot.

use super::anchors::AnchorArgs;
use super::progress_bar::Bar;
use super::{emit_json, parse_list, print_stdout, GlobalArgs};
use clap::Args;
use retina_tools::assign::{self, gt::Resize, AssignConfig};
use retina_tools::coco::{Dataset, Id};
use retina_tools::progress::Progress;
use retina_tools::{report, Error, Result};
use std::path::PathBuf;
use std::time::Instant;

/// Match anchors to COCO ground truth exactly as a framework does, and report coverage.
#[derive(Args, Debug)]
pub struct AssignArgs {
    /// Ground-truth file (COCO instances JSON).
    #[arg(long, value_name = "GT")]
    pub gt: PathBuf,
    #[command(flatten)]
    pub anchor: AnchorArgs,
    #[command(flatten)]
    pub matcher: MatcherArgs,
    /// Only these image ids (comma list).
    #[arg(long, value_name = "LIST")]
    pub image_ids: Option<String>,
    /// At most this many images (the first by sorted id).
    #[arg(long, value_name = "N")]
    pub max_images: Option<usize>,
    /// Write <image_id>.npz per image: labels int32 [A], matched int64 [A], targets float32 [A,4].
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Write the statistics as JSON to PATH ('-' = stdout instead of the text).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Draw GT coverage by object size to .svg or .png.
    #[arg(long, value_name = "PATH")]
    pub plot: Option<PathBuf>,
    /// How many worst-covered boxes to list.
    #[arg(long, value_name = "N", default_value_t = assign::DEFAULT_WORST)]
    pub worst: usize,
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// The matcher and resize flags (shared by `assign` and `diagnose --anchors`).
#[derive(Args, Debug, Clone)]
pub struct MatcherArgs {
    /// IoU at or above which an anchor is foreground.
    #[arg(long, value_name = "F", default_value_t = 0.5)]
    pub pos_iou: f32,
    /// IoU below which an anchor is background (between the two: ignored).
    #[arg(long, value_name = "F", default_value_t = 0.4)]
    pub neg_iou: f32,
    /// Add each GT's best anchors (ties included) as the convention does (the default for all four).
    #[arg(long, overrides_with = "no_low_quality")]
    pub low_quality: bool,
    /// Paper rule only: no low-quality matches.
    #[arg(long)]
    pub no_low_quality: bool,
    /// Resize each image as the convention does: shortest edge, max size.
    #[arg(long, value_name = "SHORT,MAX", default_value = "800,1333")]
    pub resize: String,
    /// Use anchors for the original image size (no resize).
    #[arg(long)]
    pub no_resize: bool,
}

impl MatcherArgs {
    /// Set the matcher and resize fields of `c`.
    pub fn apply(&self, c: &mut AssignConfig) -> Result<()> {
        c.pos_iou = self.pos_iou;
        c.neg_iou = self.neg_iou;
        if self.no_low_quality && self.low_quality {
            return Err(Error::input(
                "--low-quality and --no-low-quality contradict each other",
            ));
        }
        c.low_quality = if self.no_low_quality {
            Some(false)
        } else if self.low_quality {
            Some(true)
        } else {
            None
        };
        c.resize = if self.no_resize {
            None
        } else {
            let v = parse_list::<u32>("--resize", &self.resize)?;
            if v.len() != 2 {
                return Err(Error::input(format!(
                    "--resize: expected SHORT,MAX, got '{}'",
                    self.resize
                ))
                .with_hint("e.g. --resize 800,1333, or --no-resize"));
            }
            Some(Resize {
                short: v[0],
                max: v[1],
            })
        };
        Ok(())
    }

    /// The flags as an `assign` command line states them.
    pub fn flags(&self) -> Vec<String> {
        let mut f = vec![if self.no_resize {
            "--no-resize".to_string()
        } else {
            format!("--resize {}", self.resize)
        }];
        f.push(format!(
            "--pos-iou {} --neg-iou {}",
            self.pos_iou, self.neg_iou
        ));
        if self.no_low_quality {
            f.push("--no-low-quality".into());
        } else if self.low_quality {
            f.push("--low-quality".into());
        }
        f
    }
}

fn config_from(a: &AssignArgs) -> Result<AssignConfig> {
    let mut c = AssignConfig::new(a.anchor.convention.into());
    c.anchors = a.anchor.config()?;
    a.matcher.apply(&mut c)?;
    if let Some(s) = &a.image_ids {
        c.image_ids = Some(parse_list::<Id>("--image-ids", s)?);
    }
    c.max_images = a.max_images;
    c.out_dir = a.out_dir.clone();
    c.worst = a.worst;
    if let Some(p) = &a.plot {
        report::plot::PlotFormat::from_path(p)?;
    }
    c.validate()?;
    Ok(c)
}

pub fn run(a: AssignArgs) -> Result<()> {
    let cfg = config_from(&a)?;
    let bar = Bar::new(a.global.quiet);
    let t0 = Instant::now();
    bar.start("loading", 0);
    let gt = Dataset::load_lenient(&a.gt)?;
    bar.finish();
    let t_load = t0.elapsed();
    let stats = assign::run(&gt, &cfg, &bar)?;
    let t_run = t0.elapsed() - t_load;
    if let Some(p) = &a.plot {
        // The picture shows both matchers: run the other low-quality setting too.
        let other = assign::run(
            &gt,
            &AssignConfig {
                low_quality: Some(!stats.low_quality),
                out_dir: None,
                worst: 0,
                ..cfg.clone()
            },
            &retina_tools::progress::NoProgress,
        )?;
        let (rule, lq) = if stats.low_quality {
            (&other, &stats)
        } else {
            (&stats, &other)
        };
        report::assign::coverage_plot(p, rule, lq, &cfg.anchors)?;
    }
    let to_stdout_json = emit_json(a.json.as_deref(), || report::assign::stats_json(&stats))?;
    if !to_stdout_json {
        print_stdout(&report::assign::stats_table(&stats))?;
    }
    if !a.global.quiet {
        eprintln!(
            "note: {} images, {} GT boxes; load {:.3}s, assign {:.3}s",
            stats.images,
            stats.gt,
            t_load.as_secs_f64(),
            t_run.as_secs_f64()
        );
    }
    Ok(())
}
