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
/// `timing: <phase> <seconds> s <minor page faults> page faults`. Costs nothing when disabled.
pub struct PhaseTimer {
    /// Start of the running phase and the process' minor page faults then.
    last: Option<std::cell::Cell<(std::time::Instant, u64)>>,
}

/// The process' minor page faults so far (`/proc/self/stat` field 10; 0 where unavailable).
fn minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (field 2) may hold spaces; the fields after its ')' are plain.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(7))
        .and_then(|f| f.parse().ok())
        .unwrap_or(0)
}

impl PhaseTimer {
    pub fn from_env() -> PhaseTimer {
        let on = std::env::var_os("RETINA_TIMING").is_some_and(|v| v != "0");
        PhaseTimer {
            last: on.then(|| std::cell::Cell::new((std::time::Instant::now(), minor_faults()))),
        }
    }
    /// Print the time (and minor page faults) since the last lap.
    pub fn lap(&self, phase: &str) {
        if let Some(c) = &self.last {
            let (now, faults) = (std::time::Instant::now(), minor_faults());
            let (then, before) = c.get();
            eprintln!(
                "timing: {:<40} {:.4} s {:>7} page faults",
                phase,
                (now - then).as_secs_f64(),
                faults.saturating_sub(before)
            );
            c.set((std::time::Instant::now(), minor_faults()));
        }
    }
}
