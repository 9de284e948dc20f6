//! Helpers shared by the integration tests: run the built binary, locate fixtures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_retina-tools")
}

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

pub fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("the binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Assert a bad-input failure: exit 2, an `error:` line naming `file` and containing every
/// fragment, a `hint:` line when `hint` is set, and no panic.
pub fn assert_bad_input(o: &Output, file: &str, fragments: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "exit code; stderr:\n{}", err);
    assert!(!err.contains("panicked"), "panic: {}", err);
    let line = err
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line in:\n{}", err));
    assert!(
        line.contains(file),
        "error line does not name {}: {}",
        file,
        line
    );
    for f in fragments {
        assert!(line.contains(f), "error line lacks {:?}: {}", f, line);
    }
}

/// Assert a bad-input failure by its arguments: exit 2, `needle` somewhere in stderr, no panic.
pub fn assert_exit2(args: &[&str], needle: &str) {
    let o = run(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{:?}: {}", args, err);
    assert!(
        err.contains(needle),
        "{:?}: stderr {:?} lacks {:?}",
        args,
        err,
        needle
    );
    assert!(!err.contains("panicked"), "{:?}: {}", args, err);
}
