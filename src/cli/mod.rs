//! Command-line types (clap derive) and one file per subcommand. The only place that knows clap
//! and indicatif: arguments are turned into library configs here, once.

mod anchors;
mod assign;
mod compare;
mod diagnose;
mod eval;
mod focal;
mod progress_bar;

use clap::{Args, Parser, Subcommand};
pub use retina_tools::args::parse_list;
use retina_tools::{Error, Result};
use std::io::Write;

/// RetinaNet toolkit: bit-exact COCO evaluation, anchor grids and matching, focal-loss statistics.
#[derive(Parser, Debug)]
#[command(name = "retina-tools", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Evaluate COCO results exactly like pycocotools' COCOeval, in parallel.
    Eval(eval::EvalArgs),
    /// Print or write a RetinaNet anchor grid, bit for bit as a framework makes it.
    Anchors(anchors::AnchorsCmdArgs),
    /// Why the AP is what it is: TIDE, confusion, calibration, F-scores, suspects, anchor misses.
    Diagnose(diagnose::DiagnoseArgs),
    /// Is model B really better than A? Stats side by side with paired bootstrap intervals.
    Compare(compare::CompareArgs),
    /// Match anchors to COCO ground truth per framework convention; coverage statistics.
    Assign(assign::AssignArgs),
    /// Focal-loss statistics of dumped logits (FL, CE, α-CE, FL*; γ sweep; Fig. 4 curves).
    Focal(focal::FocalArgs),
}

/// Flags shared by every subcommand.
#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
    /// No progress bars or notes on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

impl GlobalArgs {
    fn apply(&self) -> Result<()> {
        if let Some(n) = self.threads {
            if n == 0 {
                return Err(Error::input("--threads must be at least 1")
                    .with_hint("omit --threads to use all cores"));
            }
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build_global()
                .map_err(|e| Error::internal(format!("cannot start {} threads: {}", n, e)))?;
        }
        Ok(())
    }
}

pub fn main() -> Result<()> {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind as K;
            match e.kind() {
                K::DisplayHelp
                | K::DisplayVersion
                | K::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = e.print();
                    std::process::exit(
                        if e.kind() == K::DisplayHelpOnMissingArgumentOrSubcommand {
                            2
                        } else {
                            0
                        },
                    );
                }
                _ => {
                    // clap's own message already starts with "error:"; keep its usage hint.
                    let _ = e.print();
                    std::process::exit(2);
                }
            }
        }
    };
    match cli.command {
        Command::Eval(a) => {
            a.global.apply()?;
            eval::run(a)
        }
        Command::Diagnose(a) => {
            a.global.apply()?;
            diagnose::run(a)
        }
        Command::Compare(a) => {
            a.global.apply()?;
            compare::run(a)
        }
        Command::Anchors(a) => {
            a.global.apply()?;
            anchors::run(a)
        }
        Command::Assign(a) => {
            a.global.apply()?;
            assign::run(a)
        }
        Command::Focal(a) => {
            a.global.apply()?;
            focal::run(a)
        }
    }
}

/// Write `text` to stdout; a closed pipe (`| head`) is not an error.
pub fn print_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::internal(format!("cannot write to stdout: {}", e))),
    }
}

/// `--json PATH`: write the document made by `doc` to PATH atomically, or to stdout when PATH
/// is '-'. Returns true when the JSON went to stdout (then the human text is not printed).
pub fn emit_json(path: Option<&std::path::Path>, doc: impl FnOnce() -> String) -> Result<bool> {
    let Some(path) = path else { return Ok(false) };
    let doc = doc();
    if path.as_os_str() == "-" {
        print_stdout(&(doc + "\n"))?;
        return Ok(true);
    }
    retina_tools::io::write_atomic(path, |w| {
        w.write_all(doc.as_bytes())?;
        w.write_all(b"\n")
    })?;
    Ok(false)
}
