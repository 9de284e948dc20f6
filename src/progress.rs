//! A small progress interface the library reports to. The CLI draws it (indicatif, on a terminal
//! only); tests and library users pass [`NoProgress`]. Implementations must be cheap to call from
//! many threads.

/// Receives progress of long phases. `total == 0` means an unknown amount of work.
pub trait Progress: Sync {
    fn start(&self, _phase: &str, _total: u64) {}
    fn inc(&self, _n: u64) {}
    fn finish(&self) {}
    /// A note for the user (stderr), e.g. a pycocotools quirk that fired. Suppressed by `--quiet`.
    fn note(&self, _message: &str) {}
}

/// Progress sink that drops everything.
pub struct NoProgress;
impl Progress for NoProgress {}

/// Phase timings for benchmarks: enabled by `RETINA_TIMING=1`, printed to stderr as
/// `timing: <phase> <seconds>`. Costs nothing when disabled.
pub struct PhaseTimer {
    last: Option<std::cell::Cell<std::time::Instant>>,
}

impl PhaseTimer {
    pub fn from_env() -> PhaseTimer {
        let on = std::env::var_os("RETINA_TIMING").is_some_and(|v| v != "0");
        PhaseTimer {
            last: on.then(|| std::cell::Cell::new(std::time::Instant::now())),
        }
    }
    pub fn lap(&self, phase: &str) {
        if let Some(c) = &self.last {
            let now = std::time::Instant::now();
            eprintln!(
                "timing: {:<40} {:.4} s",
                phase,
                (now - c.get()).as_secs_f64()
            );
            c.set(now);
        }
    }
}
