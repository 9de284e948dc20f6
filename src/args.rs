//! Values of command-line flags that are lists — comma lists (`--max-dets 1,10,100`) and area
//! ranges (`--area-rng small:0,1024 ...`) — read without clap, so that every front end (the CLI,
//! the Python binding) and the fuzzers share one parser and its error messages.

use crate::error::{Error, Result};
use crate::eval::AreaRange;

/// Parse a comma list like `1,10,100`.
pub fn parse_list<T: std::str::FromStr>(flag: &str, s: &str) -> Result<Vec<T>> {
    s.split(',')
        .filter(|x| !x.trim().is_empty())
        .map(|x| {
            x.trim().parse::<T>().map_err(|_| {
                Error::input(format!("{}: cannot read '{}' in '{}'", flag, x.trim(), s)).with_hint(
                    format!("{} takes a comma-separated list, e.g. {} 1,2,3", flag, flag),
                )
            })
        })
        .collect()
}

/// `--area-rng` items `label:lo,hi` (several per argument, separated by whitespace).
pub fn parse_area_rng(items: &[String]) -> Result<Vec<AreaRange>> {
    let bad = |s: &str| {
        Error::input(format!("--area-rng: cannot read '{}'", s))
            .with_hint("use label:lo,hi items, e.g. --area-rng all:0,1e10 small:0,1024 medium:1024,9216 large:9216,1e10")
    };
    let mut out = Vec::new();
    for item in items.iter().flat_map(|s| s.split_whitespace()) {
        let (label, rng) = item.split_once(':').ok_or_else(|| bad(item))?;
        let (lo, hi) = rng.split_once(',').ok_or_else(|| bad(item))?;
        let lo: f64 = lo.trim().parse().map_err(|_| bad(item))?;
        let hi: f64 = hi.trim().parse().map_err(|_| bad(item))?;
        if label.is_empty() || lo.is_nan() || hi.is_nan() || lo > hi {
            return Err(bad(item));
        }
        out.push(AreaRange {
            label: label.to_string(),
            lo,
            hi,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_ranges() {
        assert_eq!(
            parse_list::<usize>("--max-dets", " 1, 10,,100 ").unwrap(),
            vec![1, 10, 100]
        );
        let e = parse_list::<usize>("--max-dets", "1,x").unwrap_err();
        assert_eq!(e.to_string(), "--max-dets: cannot read 'x' in '1,x'");
        let r = parse_area_rng(&["all:0,1e10 small:0,1024".to_string()]).unwrap();
        assert_eq!(
            (r[1].label.as_str(), r[1].lo, r[1].hi),
            ("small", 0.0, 1024.0)
        );
        for bad in ["all:1,0", ":0,1", "all:nan,1", "all:0", "all"] {
            assert!(parse_area_rng(&[bad.to_string()]).is_err(), "{}", bad);
        }
    }
}
