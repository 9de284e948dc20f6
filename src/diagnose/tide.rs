//! TIDE (Bolya et al., ECCV 2020) exactly as `tidecv` 1.0.1 computes it. (Being written.)

use super::Input;
use crate::progress::Progress;
use crate::Result;

/// `TIDE(pos_threshold, background_threshold)`.
#[derive(Debug, Clone, Copy)]
pub struct TideConfig {
    pub pos_thr: f64,
    pub bg_thr: f64,
}

/// Error types in tidecv's order.
pub const ERROR_NAMES: [&str; 6] = ["Cls", "Loc", "Both", "Dupe", "Bkg", "Miss"];
pub const SPECIAL_NAMES: [&str; 2] = ["FalsePos", "FalseNeg"];

#[derive(Debug, Clone)]
pub struct Tide {
    pub pos_thr: f64,
    pub bg_thr: f64,
    /// tidecv's AP at `pos_thr`, in percent as it prints it.
    pub ap: f64,
    /// dAP per error type ([`ERROR_NAMES`]), percentage points (`get_all_errors()['main']`).
    pub main: [f64; 6],
    /// [`SPECIAL_NAMES`] (`get_all_errors()['special']`).
    pub special: [f64; 2],
    /// Number of errors of each type.
    pub counts: [u64; 6],
}

pub fn tide(_inp: &Input<'_>, cfg: &TideConfig, _progress: &dyn Progress) -> Result<Tide> {
    Err(crate::Error::internal(format!("TIDE is not implemented yet ({:?})", cfg)))
}

impl Tide {
    /// The pinned `"tide"` JSON object (DESIGN.md §2).
    pub fn to_json(&self) -> serde_json::Value {
        let obj = |names: &[&str], v: &[f64]| -> serde_json::Value { names.iter().zip(v).map(|(n, x)| (n.to_string(), serde_json::json!(x))).collect::<serde_json::Map<_, _>>().into() };
        serde_json::json!({
            "pos_thr": self.pos_thr, "bg_thr": self.bg_thr, "ap": self.ap,
            "main": obj(&ERROR_NAMES, &self.main),
            "special": obj(&SPECIAL_NAMES, &self.special),
            "counts": ERROR_NAMES.iter().zip(&self.counts).map(|(n, c)| (n.to_string(), serde_json::json!(c))).collect::<serde_json::Map<_, _>>(),
        })
    }
}
