//! File input/output shared by every subcommand: atomic writes, the positioned JSON reader used
//! for COCO files, and `.npy`/`.npz` output.

pub mod json;
pub mod npy;
pub mod npz;

use crate::error::{Error, Result};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Read a whole file, mapping failures to an error that names the file.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, "read", &e))
}

/// Write `path` atomically: the content goes to a temporary file in the same directory, which is
/// then renamed over `path`, so a reader never sees a half-written file and a failure leaves the
/// previous file untouched.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(Error::input(format!("{}: cannot write: directory {} does not exist", path.display(), dir.display()))
            .with_hint("create the directory first or choose another output path"));
    }
    let file_name = path.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{}.tmp{}", file_name, std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let file = File::create(&tmp)?;
        let mut w = BufWriter::new(file);
        write(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, "write", &e));
    }
    Ok(())
}
