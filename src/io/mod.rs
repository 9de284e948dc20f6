//! File input/output shared by every subcommand: atomic writes, the positioned JSON reader used
//! for COCO files, and `.npy`/`.npz` output.

pub mod json;
pub mod npy;
pub mod npz;

use crate::error::{Error, Result};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// The bytes of an input file: memory-mapped when large (no copy; pages are faulted in by the
/// threads that parse them), read into memory otherwise.
pub enum FileBytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(m) => m,
            FileBytes::Owned(v) => v,
        }
    }
}

/// Read a whole file, mapping failures to an error that names the file.
pub fn read_file(path: &Path) -> Result<FileBytes> {
    const MAP_ABOVE: u64 = 1 << 20;
    let file = File::open(path).map_err(|e| Error::io(path, "read", &e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, "read", &e))?;
    if meta.is_dir() {
        return Err(Error::input(format!("{}: cannot read: is a directory", path.display())));
    }
    if meta.is_file() && meta.len() > MAP_ABOVE {
        // SAFETY: the map is read-only and lives while we parse. If another process truncates
        // the file meanwhile we may fault (as any mmap reader would); inputs are not expected to
        // change during a run.
        if let Ok(m) = unsafe { memmap2::Mmap::map(&file) } {
            return Ok(FileBytes::Mapped(m));
        }
    }
    let mut v = Vec::with_capacity(meta.len() as usize);
    std::io::Read::read_to_end(&mut &file, &mut v).map_err(|e| Error::io(path, "read", &e))?;
    Ok(FileBytes::Owned(v))
}

/// Put the finished temporary file `tmp` at `path`: renamed over it, unless `path` is not a
/// regular file (`/dev/null`, `/dev/stdout`, a FIFO), which must not be replaced: then the content
/// is copied into it and `tmp` removed.
pub fn replace_with(tmp: &Path, path: &Path) -> std::io::Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::remove_file(tmp);
            Err(std::io::Error::other("is a directory"))
        }
        Ok(m) if !m.is_file() => {
            let r = std::fs::File::options().write(true).open(path).and_then(|mut out| std::io::copy(&mut File::open(tmp)?, &mut out).map(|_| ()));
            let _ = std::fs::remove_file(tmp);
            r
        }
        _ => std::fs::rename(tmp, path),
    }
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
        replace_with(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, "write", &e));
    }
    Ok(())
}
