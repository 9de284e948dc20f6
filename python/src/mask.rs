//! `retina_tools._core` mask functions behind `retina_tools.mask` (pycocotools' `_mask`): RLE
//! dicts in and out, column-major pixel buffers; the RLE arithmetic is the library's port of
//! `maskApi.c`.

use numpy::{PyArray1, PyArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use retina_tools::mask::{self as masks, MaskError, Rle};
use retina_tools::geom::coco_box_iou;

fn mask_err(e: MaskError) -> PyErr {
    PyValueError::new_err(e.0)
}

/// A compressed RLE dict `{'size': [h, w], 'counts': bytes | str}`.
fn rle_of(obj: &Bound<'_, PyAny>) -> PyResult<Rle> {
    let d = obj.downcast::<PyDict>().map_err(|_| PyTypeError::new_err("an RLE must be a dict {'size': [h, w], 'counts': ...}"))?;
    let size = d.get_item("size")?.ok_or_else(|| PyValueError::new_err("RLE dict without 'size'"))?;
    let hw: Vec<u32> = size.extract().map_err(|_| PyValueError::new_err("RLE 'size' must be [height, width]"))?;
    let [h, w] = hw[..] else {
        return Err(PyValueError::new_err("RLE 'size' must be [height, width]"));
    };
    let counts = d.get_item("counts")?.ok_or_else(|| PyValueError::new_err("RLE dict without 'counts'"))?;
    if let Ok(b) = counts.downcast::<PyBytes>() {
        return Rle::from_compressed(b.as_bytes(), h, w).map_err(mask_err);
    }
    if let Ok(s) = counts.downcast::<PyString>() {
        return Rle::from_compressed(s.to_cow()?.as_bytes(), h, w).map_err(mask_err);
    }
    // Uncompressed counts (a list) are accepted where pycocotools' frPyObjects takes them.
    let v: Vec<u32> = counts.extract().map_err(|_| PyTypeError::new_err("RLE 'counts' must be bytes, str or a list of integers"))?;
    Rle::from_counts(h, w, v).map_err(mask_err)
}

fn rles_of(objs: &Bound<'_, PyList>) -> PyResult<Vec<Rle>> {
    objs.iter().map(|o| rle_of(&o)).collect()
}

fn rle_dict<'py>(py: Python<'py>, r: &Rle) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("size", vec![r.h, r.w])?;
    d.set_item("counts", PyBytes::new(py, r.to_compressed().as_bytes()))?;
    Ok(d)
}

/// `encode`: `n` column-major masks of `h x w` bytes, one after the other.
#[pyfunction]
fn mask_encode<'py>(py: Python<'py>, data: &[u8], h: u32, w: u32, n: usize) -> PyResult<Bound<'py, PyList>> {
    let s = h as usize * w as usize;
    if data.len() != s * n {
        return Err(PyValueError::new_err("mask buffer has the wrong size"));
    }
    let rles: Vec<Rle> = py.allow_threads(|| (0..n).map(|i| Rle::encode(&data[i * s..(i + 1) * s], h, w)).collect());
    let out = PyList::empty(py);
    for r in &rles {
        out.append(rle_dict(py, r)?)?;
    }
    Ok(out)
}

/// `decode`: the masks' bytes, column-major, mask after mask, and `(h, w)` of the first.
#[pyfunction]
fn mask_decode<'py>(py: Python<'py>, rles: &Bound<'py, PyList>) -> PyResult<(Bound<'py, PyBytes>, u32, u32)> {
    let rs = rles_of(rles)?;
    let (h, w) = rs.first().map(|r| (r.h, r.w)).unwrap_or((0, 0));
    let mut out = Vec::with_capacity(h as usize * w as usize * rs.len());
    for r in &rs {
        if (r.h, r.w) != (h, w) {
            return Err(PyValueError::new_err("decode: all masks must have the same size"));
        }
        out.extend(r.decode().ok_or_else(|| PyValueError::new_err("Invalid RLE mask representation"))?);
    }
    Ok((PyBytes::new(py, &out), h, w))
}

#[pyfunction]
fn mask_area<'py>(py: Python<'py>, rles: &Bound<'py, PyList>) -> PyResult<Bound<'py, PyArray1<u32>>> {
    let rs = rles_of(rles)?;
    Ok(PyArray1::from_vec(py, rs.iter().map(|r| r.area() as u32).collect()))
}

#[pyfunction]
fn mask_to_bbox<'py>(py: Python<'py>, rles: &Bound<'py, PyList>) -> PyResult<Bound<'py, PyAny>> {
    let rs = rles_of(rles)?;
    let v: Vec<f64> = rs.iter().flat_map(|r| r.to_bbox()).collect();
    Ok(PyArray1::from_vec(py, v).reshape([rs.len(), 4])?.into_any())
}

#[pyfunction]
#[pyo3(signature = (rles, intersect=false))]
fn mask_merge<'py>(py: Python<'py>, rles: &Bound<'py, PyList>, intersect: bool) -> PyResult<Bound<'py, PyDict>> {
    let rs = rles_of(rles)?;
    rle_dict(py, &masks::merge(&rs, intersect))
}

/// `iou` of RLE lists: `[len(dt) x len(gt)]` float64 (row-major), maskApi.c's `rleIou`.
#[pyfunction]
fn mask_iou_rle<'py>(py: Python<'py>, dt: &Bound<'py, PyList>, gt: &Bound<'py, PyList>, iscrowd: Vec<bool>) -> PyResult<Bound<'py, PyAny>> {
    let (d, g) = (rles_of(dt)?, rles_of(gt)?);
    let v: Vec<f64> = py.allow_threads(|| {
        let (db, gb): (Vec<[f64; 4]>, Vec<[f64; 4]>) = (d.iter().map(|r| r.to_bbox()).collect(), g.iter().map(|r| r.to_bbox()).collect());
        let mut v = Vec::with_capacity(d.len() * g.len());
        for (i, r) in d.iter().enumerate() {
            for (j, q) in g.iter().enumerate() {
                v.push(masks::iou_reference(r, &db[i], q, &gb[j], iscrowd.get(j).copied().unwrap_or(false)));
            }
        }
        v
    });
    Ok(PyArray1::from_vec(py, v).reshape([d.len(), g.len()])?.into_any())
}

/// `iou` of box lists (`bbIou`).
#[pyfunction]
fn mask_iou_box<'py>(py: Python<'py>, dt: Vec<[f64; 4]>, gt: Vec<[f64; 4]>, iscrowd: Vec<bool>) -> PyResult<Bound<'py, PyAny>> {
    let mut v = Vec::with_capacity(dt.len() * gt.len());
    for d in &dt {
        for (j, g) in gt.iter().enumerate() {
            v.push(coco_box_iou(d, g, iscrowd.get(j).copied().unwrap_or(false)));
        }
    }
    Ok(PyArray1::from_vec(py, v).reshape([dt.len(), gt.len()])?.into_any())
}

/// `frPoly`: each polygon rasterised (maskApi.c's `rleFrPoly`).
#[pyfunction]
fn mask_fr_poly<'py>(py: Python<'py>, polys: Vec<Vec<f64>>, h: u32, w: u32) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for p in &polys {
        masks::check_polygon(p).map_err(mask_err)?;
        out.append(rle_dict(py, &masks::from_polygon(p, h, w))?)?;
    }
    Ok(out)
}

/// `frBbox`: each box as the polygon `[x, y, x, y+h, x+w, y+h, x+w, y]`, rasterised.
#[pyfunction]
fn mask_fr_bbox<'py>(py: Python<'py>, boxes: Vec<[f64; 4]>, h: u32, w: u32) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for b in &boxes {
        let (xs, xe, ys, ye) = (b[0], b[0] + b[2], b[1], b[1] + b[3]);
        let poly = [xs, ys, xs, ye, xe, ye, xe, ys];
        masks::check_polygon(&poly).map_err(mask_err)?;
        out.append(rle_dict(py, &masks::from_polygon(&poly, h, w))?)?;
    }
    Ok(out)
}

/// `frUncompressedRLE`: `{'size', 'counts': [..]}` dicts to compressed ones.
#[pyfunction]
fn mask_fr_uncompressed<'py>(py: Python<'py>, objs: &Bound<'py, PyList>) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for r in rles_of(objs)? {
        out.append(rle_dict(py, &r)?)?;
    }
    Ok(out)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(mask_encode, m)?)?;
    m.add_function(wrap_pyfunction!(mask_decode, m)?)?;
    m.add_function(wrap_pyfunction!(mask_area, m)?)?;
    m.add_function(wrap_pyfunction!(mask_to_bbox, m)?)?;
    m.add_function(wrap_pyfunction!(mask_merge, m)?)?;
    m.add_function(wrap_pyfunction!(mask_iou_rle, m)?)?;
    m.add_function(wrap_pyfunction!(mask_iou_box, m)?)?;
    m.add_function(wrap_pyfunction!(mask_fr_poly, m)?)?;
    m.add_function(wrap_pyfunction!(mask_fr_bbox, m)?)?;
    m.add_function(wrap_pyfunction!(mask_fr_uncompressed, m)?)?;
    Ok(())
}
