//! `.npy` / `.npz` output (numpy's formats) through ndarray-npy, written atomically.

use crate::error::{Error, Result};
use ndarray::{ArrayBase, Data, Dimension};
use ndarray_npy::{NpzWriter, WritableElement, WriteNpyExt};
use std::path::Path;

/// A named array to go into an `.npz`.
pub enum NpzEntry<'a> {
    F64(&'a str, ndarray::ArrayViewD<'a, f64>),
    F32(&'a str, ndarray::ArrayViewD<'a, f32>),
    I32(&'a str, ndarray::ArrayViewD<'a, i32>),
    I64(&'a str, ndarray::ArrayViewD<'a, i64>),
}

/// Write an uncompressed `.npz` (numpy's `np.savez`) atomically.
pub fn write_npz(path: &Path, entries: &[NpzEntry<'_>]) -> Result<()> {
    crate::io::write_atomic(path, |w| {
        let mut npz = NpzWriter::new(w);
        for e in entries {
            let r = match e {
                NpzEntry::F64(n, a) => npz.add_array(*n, a),
                NpzEntry::F32(n, a) => npz.add_array(*n, a),
                NpzEntry::I32(n, a) => npz.add_array(*n, a),
                NpzEntry::I64(n, a) => npz.add_array(*n, a),
            };
            r.map_err(|e| std::io::Error::other(e.to_string()))?;
        }
        npz.finish()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(())
    })
}

/// Write one array as `.npy` atomically.
pub fn write_npy<A, S, D>(path: &Path, array: &ArrayBase<S, D>) -> Result<()>
where
    A: WritableElement,
    S: Data<Elem = A>,
    D: Dimension,
{
    crate::io::write_atomic(path, |w| {
        array
            .write_npy(w)
            .map_err(|e| std::io::Error::other(e.to_string()))
    })
    .map_err(|e| Error {
        message: e.message,
        ..e
    })
}
