//! The terminal side of [`retina_tools::progress::Progress`]: indicatif bars on stderr, shown
//! only when both stdout and stderr are terminals and `--quiet` is off; notes go to stderr
//! unless `--quiet`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use retina_tools::progress::Progress;
use std::io::IsTerminal;
use std::sync::Mutex;

pub struct Bar {
    quiet: bool,
    draw: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Bar {
    pub fn new(quiet: bool) -> Bar {
        let draw = !quiet && std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        Bar {
            quiet,
            draw,
            bar: Mutex::new(None),
        }
    }
}

impl Progress for Bar {
    fn start(&self, phase: &str, total: u64) {
        if !self.draw {
            return;
        }
        let pb = if total > 0 {
            ProgressBar::new(total)
        } else {
            ProgressBar::new_spinner()
        };
        pb.set_draw_target(ProgressDrawTarget::stderr());
        let style = if total > 0 {
            ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({elapsed})")
                .map(|s| s.progress_chars("=> "))
        } else {
            ProgressStyle::with_template("{msg:>10} {spinner} ({elapsed})")
        };
        if let Ok(s) = style {
            pb.set_style(s);
        }
        pb.set_message(phase.to_string());
        if let Ok(mut g) = self.bar.lock() {
            *g = Some(pb);
        }
    }
    fn inc(&self, n: u64) {
        if let Ok(g) = self.bar.lock() {
            if let Some(pb) = g.as_ref() {
                pb.inc(n);
            }
        }
    }
    fn finish(&self) {
        if let Ok(mut g) = self.bar.lock() {
            if let Some(pb) = g.take() {
                pb.finish_and_clear();
            }
        }
    }
    fn note(&self, message: &str) {
        if !self.quiet {
            self.finish();
            eprintln!("note: {}", message);
        }
    }
}
