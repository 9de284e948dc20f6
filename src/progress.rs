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
