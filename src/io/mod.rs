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

/// The first two bytes of every gzip member (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Read a whole file, mapping failures to an error that names the file. gzip data (recognised
/// by its magic bytes, whatever the file is called) is decompressed, all members in sequence as
/// `gzip -d` reads them, straight into the one buffer the parsers read.
pub fn read_file(path: &Path) -> Result<FileBytes> {
    use std::io::{Read, Seek, SeekFrom};
    const MAP_ABOVE: u64 = 1 << 20;
    let mut file = File::open(path).map_err(|e| Error::io(path, "read", &e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, "read", &e))?;
    if meta.is_dir() {
        return Err(Error::input(format!(
            "{}: cannot read: is a directory",
            path.display()
        )));
    }
    let mut magic = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        match file.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, "read", &e)),
        }
    }
    if got == 2 && magic == GZIP_MAGIC {
        return gunzip(path, file, meta.len()).map(FileBytes::Owned);
    }
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(path, "read", &e))?;
    if meta.is_file() && meta.len() > MAP_ABOVE {
        // SAFETY: the map is read-only and lives while we parse. If another process truncates
        // the file meanwhile we may fault (as any mmap reader would); inputs are not expected to
        // change during a run.
        if let Ok(m) = unsafe { memmap2::Mmap::map(&file) } {
            return Ok(FileBytes::Mapped(m));
        }
    }
    let mut v = Vec::with_capacity(meta.len() as usize);
    Read::read_to_end(&mut &file, &mut v).map_err(|e| Error::io(path, "read", &e))?;
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
            let r = std::fs::File::options()
                .write(true)
                .open(path)
                .and_then(|mut out| std::io::copy(&mut File::open(tmp)?, &mut out).map(|_| ()));
            let _ = std::fs::remove_file(tmp);
            r
        }
        _ => std::fs::rename(tmp, path),
    }
}

/// Decompress a gzip file (every member) into memory. The buffer is sized from the last
/// member's ISIZE trailer when it is plausible (deflate expands at most ~1032x).
fn gunzip(path: &Path, mut file: File, compressed: u64) -> Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut hint = 0u64;
    if compressed >= 18 && file.seek(SeekFrom::End(-4)).is_ok() {
        let mut t = [0u8; 4];
        if file.read_exact(&mut t).is_ok() {
            hint = u32::from_le_bytes(t) as u64;
        }
    }
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(path, "read", &e))?;
    let hint = hint.min(compressed.saturating_mul(1032)).min(1 << 34);
    // Memory is reserved fallibly: data that decompresses to more than the machine can hold (a
    // gzip bomb, say) is refused with an error instead of aborting the process.
    let too_big = |n: usize| {
        Error::in_file(
            path,
            "",
            format!(
                "cannot decompress: the data expands beyond the memory available ({} MB so far)",
                n >> 20
            ),
        )
        .with_hint("decompress it where there is room (`gunzip -k`) and check what it holds")
    };
    let mut out: Vec<u8> = Vec::new();
    if out.try_reserve_exact(hint as usize).is_err() {
        out = Vec::new();
    }
    let mut dec =
        flate2::read::MultiGzDecoder::new(std::io::BufReader::with_capacity(1 << 16, file));
    loop {
        if out.len() == out.capacity() {
            out.try_reserve(out.capacity().max(1 << 20))
                .map_err(|_| too_big(out.len()))?;
        }
        let len = out.len();
        // Read into an initialised window of the spare capacity (zeroed, read, trimmed to what
        // was read): the decoder fills it, so each byte is zeroed about once.
        let window = (out.capacity() - len).min(1 << 20);
        out.resize(len + window, 0);
        match dec.read(&mut out[len..]) {
            Ok(0) => {
                out.truncate(len);
                break;
            }
            Ok(n) => out.truncate(len + n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => out.truncate(len),
            Err(e) => {
                return Err(Error::in_file(
                    path,
                    "",
                    format!("cannot decompress: truncated or corrupt gzip data ({})", e),
                )
                .with_hint(
                    "check the file with `gzip -t`; re-create it or pass the uncompressed JSON",
                ))
            }
        }
    }
    Ok(out)
}

/// Write `path` atomically: the content goes to a temporary file in the same directory, which is
/// then renamed over `path`, so a reader never sees a half-written file and a failure leaves the
/// previous file untouched.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(Error::input(format!(
            "{}: cannot write: directory {} does not exist",
            path.display(),
            dir.display()
        ))
        .with_hint("create the directory first or choose another output path"));
    }
    let file_name = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gzip_members_are_one_stream_and_truncation_is_bad_input() {
        let dir = std::env::temp_dir().join(format!("rt-gz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let one = dir.join("a.json");
        std::fs::write(&one, gz(b"[1, 2]")).unwrap();
        assert_eq!(&*read_file(&one).unwrap(), b"[1, 2]");
        let two = dir.join("b.gz");
        let mut both = gz(b"[1, ");
        both.extend(gz(b"2]"));
        std::fs::write(&two, &both).unwrap();
        assert_eq!(&*read_file(&two).unwrap(), b"[1, 2]");
        let cut = dir.join("c.json.gz");
        std::fs::write(&cut, &both[..both.len() - 6]).unwrap();
        let e = read_file(&cut)
            .err()
            .expect("a truncated gzip file is an error");
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.message.contains("c.json.gz") && e.message.contains("gzip"),
            "{}",
            e.message
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
