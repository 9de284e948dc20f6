//! `retina_tools._core`: the PyO3 edge of the retina-tools library. It converts Python arguments
//! and numpy arrays, releases the GIL while the library works, and converts results back; it
//! holds no evaluation, anchor or loss logic (that is the `retina_tools` crate's).

mod mask;

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use retina_tools::anchors::{AnchorConfig, Convention, Layout};
use retina_tools::assign::{gt::Resize, AssignConfig};
use retina_tools::coco::shapes::{self, DtShapes, GtShapes};
use retina_tools::coco::{Dataset, Id, Results};
use retina_tools::eval::{self, images, AreaRange, Detail, Evaluation, IouType, Params};
use retina_tools::io::FileBytes;
use retina_tools::progress::NoProgress;
use retina_tools::{focal, report, Error, ErrorKind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The library's error as a Python exception: bad input → `ValueError`, anything else →
/// `RuntimeError`; the message is the CLI's `error:` text, then its `hint:` line.
pub(crate) fn to_py(e: Error) -> PyErr {
    let mut msg = e.message;
    if let Some(h) = e.hint {
        msg.push_str("\nhint: ");
        msg.push_str(&h);
    }
    match e.kind {
        ErrorKind::Input => PyValueError::new_err(msg),
        ErrorKind::Internal => PyRuntimeError::new_err(msg),
    }
}

fn iou_type(s: &str) -> PyResult<IouType> {
    match s {
        "bbox" => Ok(IouType::Bbox),
        "segm" => Ok(IouType::Segm),
        "keypoints" => Ok(IouType::Keypoints),
        _ => Err(PyValueError::new_err(format!("iouType '{}' is not supported\nhint: use 'bbox', 'segm' or 'keypoints'", s))),
    }
}

/// A parsed ground-truth dataset (from its JSON text), with the segmentations/keypoints of each
/// IoU type parsed on first use.
#[pyclass(frozen, module = "retina_tools._core")]
struct Gt {
    ds: Arc<Dataset>,
    text: Arc<Vec<u8>>,
    label: PathBuf,
    shapes: Mutex<Vec<((IouType, usize), Arc<GtShapes>)>>,
}

#[pymethods]
impl Gt {
    #[new]
    fn new(py: Python<'_>, text: &Bound<'_, PyBytes>, label: String) -> PyResult<Gt> {
        let buf = text.as_bytes().to_vec();
        let label = PathBuf::from(label);
        let ds = py.allow_threads(|| Dataset::parse(&label, &buf)).map_err(to_py)?;
        Ok(Gt { ds: Arc::new(ds), text: Arc::new(buf), label, shapes: Mutex::new(Vec::new()) })
    }

    /// Read and parse a ground-truth file (memory-mapped, gzip accepted, as the CLI reads it).
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Gt> {
        let (ds, buf) = py
            .allow_threads(|| -> retina_tools::Result<(Dataset, Vec<u8>)> {
                let bytes = retina_tools::io::read_file(&path)?;
                let ds = Dataset::parse(&path, &bytes)?;
                Ok((ds, Vec::new()))
            })
            .map_err(to_py)?;
        Ok(Gt { ds: Arc::new(ds), text: Arc::new(buf), label: path, shapes: Mutex::new(Vec::new()) })
    }

    /// `list(imgs.keys())`: image ids in first-occurrence order, each once.
    fn image_ids(&self) -> Vec<Id> {
        let mut seen = std::collections::HashSet::new();
        self.ds.images.iter().map(|im| im.id).filter(|id| seen.insert(*id)).collect()
    }

    /// `[cat['id'] for cat in dataset['categories']]`.
    fn category_ids(&self) -> Vec<Id> {
        self.ds.categories.iter().map(|c| c.id).collect()
    }

    /// Number of images, annotations and categories (for tests).
    fn sizes(&self) -> (usize, usize, usize) {
        (self.ds.images.len(), self.ds.annotations.len(), self.ds.categories.len())
    }
}

impl Gt {
    fn shapes(&self, py: Python<'_>, t: IouType, k: usize) -> PyResult<Arc<GtShapes>> {
        let mut cache = self.shapes.lock().map_err(|_| PyRuntimeError::new_err("GT shape cache poisoned"))?;
        if let Some((_, s)) = cache.iter().find(|(key, _)| *key == (t, k)) {
            return Ok(s.clone());
        }
        // A GT loaded from its file keeps no copy of the text: segm/keypoints read it again.
        let s = Arc::new(
            py.allow_threads(|| -> retina_tools::Result<GtShapes> {
                if self.text.is_empty() {
                    let bytes = retina_tools::io::read_file(&self.label)?;
                    GtShapes::parse(&self.label, &bytes, &self.ds, t, k)
                } else {
                    GtShapes::parse(&self.label, &self.text, &self.ds, t, k)
                }
            })
            .map_err(to_py)?,
        );
        cache.push(((t, k), s.clone()));
        Ok(s)
    }
}

/// A parsed results list, checked against one [`Gt`] (as pycocotools' `loadRes` does).
#[pyclass(frozen, module = "retina_tools._core")]
struct Dt {
    res: Arc<Results>,
    shapes: Option<Arc<DtShapes>>,
    iou_type: IouType,
    kpts: usize,
}

#[pymethods]
impl Dt {
    /// Parse a JSON results list for evaluation of `iou_type` (keypoints with `kpts` points).
    #[new]
    fn new(py: Python<'_>, gt: &Gt, text: &Bound<'_, PyBytes>, label: String, iou_type: &str, kpts: usize) -> PyResult<Dt> {
        let t = self::iou_type(iou_type)?;
        let buf = text.as_bytes().to_vec();
        let label = PathBuf::from(label);
        let ds = gt.ds.clone();
        py.allow_threads(move || -> retina_tools::Result<Dt> {
            if t == IouType::Bbox {
                let res = Results::parse(&label, &buf, &ds)?;
                Ok(Dt { res: Arc::new(res), shapes: None, iou_type: t, kpts })
            } else {
                let (res, sh) = shapes::parse_results(&label, FileBytes::Owned(buf), &ds, t, kpts)?;
                Ok(Dt { res: Arc::new(res), shapes: Some(Arc::new(sh)), iou_type: t, kpts })
            }
        })
        .map_err(to_py)
    }

    /// Read and parse a results file as the CLI does (memory-mapped, gzip accepted).
    #[staticmethod]
    fn load(py: Python<'_>, gt: &Gt, path: PathBuf, iou_type: &str, kpts: usize) -> PyResult<Dt> {
        let t = self::iou_type(iou_type)?;
        let ds = gt.ds.clone();
        py.allow_threads(move || -> retina_tools::Result<Dt> {
            if t == IouType::Bbox {
                let res = Results::load(&path, &ds)?;
                Ok(Dt { res: Arc::new(res), shapes: None, iou_type: t, kpts })
            } else {
                let (res, sh) = shapes::load_results(&path, &ds, t, kpts)?;
                Ok(Dt { res: Arc::new(res), shapes: Some(Arc::new(sh)), iou_type: t, kpts })
            }
        })
        .map_err(to_py)
    }

    fn __len__(&self) -> usize {
        self.res.detections.len()
    }

    /// Detections of categories absent from the GT (pycocotools drops them).
    fn unknown_category(&self) -> usize {
        self.res.unknown_category
    }

    /// `(iou_type, keypoints per detection)` this was parsed for.
    fn parsed_for(&self) -> (String, usize) {
        (self.iou_type.name().to_string(), self.kpts)
    }
}

/// One finished evaluation: stats, arrays, and (when run with `record`) the per-image results.
#[pyclass(frozen, module = "retina_tools._core")]
struct Evaluated {
    gt: Py<Gt>,
    dt: Py<Dt>,
    gt_shapes: Option<Arc<GtShapes>>,
    params: Params,
    ev: Evaluation,
    detail: Detail,
    recorded: bool,
}

/// pycocotools' `Params` fields as the Python layer hands them over.
#[pyfunction]
#[pyo3(signature = (gt, dt, iou_type, img_ids, cat_ids, use_cats, max_dets, area_rng, area_lbl, iou_thrs, rec_thrs, kpt_sigmas, record=false))]
#[allow(clippy::too_many_arguments)]
fn evaluate(
    py: Python<'_>,
    gt: Py<Gt>,
    dt: Py<Dt>,
    iou_type: &str,
    img_ids: Vec<i128>,
    cat_ids: Vec<i128>,
    use_cats: bool,
    max_dets: Vec<usize>,
    area_rng: Vec<(f64, f64)>,
    area_lbl: Vec<String>,
    iou_thrs: Vec<f64>,
    rec_thrs: Vec<f64>,
    kpt_sigmas: Vec<f64>,
    record: bool,
) -> PyResult<Evaluated> {
    let t = self::iou_type(iou_type)?;
    let mut p = Params::new(t);
    p.img_ids = Some(img_ids);
    p.cat_ids = Some(cat_ids);
    p.use_cats = use_cats;
    p.max_dets = max_dets;
    p.area_rng = area_rng.iter().enumerate().map(|(i, &(lo, hi))| AreaRange { label: area_lbl.get(i).cloned().unwrap_or_default(), lo, hi }).collect();
    p.iou_thrs = iou_thrs;
    p.rec_thrs = rec_thrs;
    if t == IouType::Keypoints {
        p.kpt_sigmas = kpt_sigmas;
    }
    let (g, d) = (gt.get(), dt.get());
    let gt_shapes = if t == IouType::Bbox { None } else { Some(g.shapes(py, t, p.kpt_sigmas.len())?) };
    if d.iou_type != t || (t == IouType::Keypoints && d.kpts != p.kpt_sigmas.len()) {
        return Err(PyRuntimeError::new_err(format!("results parsed for {} evaluated as {}", d.iou_type.name(), t.name())));
    }
    let (ds, res, dsh) = (g.ds.clone(), d.res.clone(), d.shapes.clone());
    let gs = gt_shapes.clone();
    let pp = p.clone();
    let (ev, detail) = py
        .allow_threads(move || {
            let sh = match (&gs, &dsh) {
                (Some(gs), Some(dsh)) => Some(eval::Shapes::new(&ds, gs, dsh, &pp)),
                _ => None,
            };
            eval::run_detailed(&ds, &res, sh.as_ref(), &pp, record, &NoProgress)
        })
        .map_err(to_py)?;
    Ok(Evaluated { gt, dt, gt_shapes, params: p, ev, detail, recorded: record })
}

impl Evaluated {
    fn with_shapes<R>(&self, f: impl FnOnce(&Dataset, &Results, Option<&eval::Shapes<'_>>) -> R) -> R {
        let (g, d) = (self.gt.get(), self.dt.get());
        let sh = match (&self.gt_shapes, &d.shapes) {
            (Some(gs), Some(dsh)) => Some(eval::Shapes::new(&g.ds, gs, dsh, &self.params)),
            _ => None,
        };
        f(&g.ds, &d.res, sh.as_ref())
    }
}

fn f64_array<'py>(py: Python<'py>, v: Vec<f64>, shape: &[usize]) -> PyResult<Bound<'py, PyAny>> {
    Ok(PyArray1::from_vec(py, v).reshape(shape)?.into_any())
}

#[pymethods]
impl Evaluated {
    /// The summary stats (12, or 10 for keypoints), as pycocotools' `stats`.
    fn stats(&self) -> Vec<f64> {
        self.ev.stats.clone()
    }

    /// The summary lines `summarize()` prints.
    fn lines(&self) -> Vec<String> {
        self.ev.lines.clone()
    }

    /// Quirks that fired and data that was dropped (the CLI's stderr notes).
    fn notes(&self) -> Vec<String> {
        self.ev.notes.clone()
    }

    /// `(precision [T,R,K,A,M], recall [T,K,A,M], scores [T,R,K,A,M])`, float64, C order.
    fn arrays<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let a = &self.ev.arrays;
        let (p, r, s) = py.allow_threads(|| a.c_order());
        Ok((f64_array(py, p, &[a.t, a.r, a.k, a.a, a.m])?, f64_array(py, r, &[a.t, a.k, a.a, a.m])?, f64_array(py, s, &[a.t, a.r, a.k, a.a, a.m])?))
    }

    /// pycocotools' `evalImgs`: `img_objs`/`cat_objs`/`area_objs` are the objects to put in
    /// `image_id`/`category_id`/`aRng` (the params' own); `dt_ids` the detections' ids when they
    /// are not loadRes' `1..N`.
    #[pyo3(signature = (img_objs, cat_objs, area_objs, dt_ids=None))]
    fn eval_imgs<'py>(&self, py: Python<'py>, img_objs: &Bound<'py, PyList>, cat_objs: &Bound<'py, PyList>, area_objs: &Bound<'py, PyList>, dt_ids: Option<Vec<i128>>) -> PyResult<Bound<'py, PyList>> {
        if !self.recorded {
            return Err(PyRuntimeError::new_err("evaluation was run without recording matches"));
        }
        let n_img = self.detail.setup.img_ids.len();
        let k_n = self.detail.setup.k();
        let a_n = self.params.area_rng.len();
        let t_n = self.params.iou_thrs.len();
        if img_objs.len() != n_img || cat_objs.len() != k_n || area_objs.len() != a_n {
            return Err(PyRuntimeError::new_err("evalImgs: parameter lists do not match the evaluation"));
        }
        let items: Vec<Option<images::EvalImg>> = py.allow_threads(|| {
            use rayon::prelude::*;
            (0..k_n * a_n * n_img)
                .into_par_iter()
                .map(|j| {
                    let (k, a, i) = (j / (a_n * n_img), (j / n_img) % a_n, j % n_img);
                    self.with_shapes(|ds, _, sh| images::eval_img(ds, &self.params, sh, &self.detail, k * n_img + i, a))
                })
                .collect()
        });
        let (g, d) = (self.gt.get(), self.dt.get());
        let out = PyList::empty(py);
        let max_det = self.detail.setup.max_dets.last().copied().unwrap_or(0);
        let det_id = |idx: u32| -> i128 { dt_ids.as_ref().map(|v| v[idx as usize]).unwrap_or(idx as i128 + 1) };
        for (j, it) in items.into_iter().enumerate() {
            let Some(e) = it else {
                out.append(py.None())?;
                continue;
            };
            let (nd, ng) = (e.dt.len(), e.gt.len());
            let dict = PyDict::new(py);
            dict.set_item("image_id", img_objs.get_item(j % n_img)?)?;
            dict.set_item("category_id", cat_objs.get_item(j / (a_n * n_img))?)?;
            dict.set_item("aRng", area_objs.get_item(e.area)?)?;
            dict.set_item("maxDet", max_det)?;
            dict.set_item("dtIds", e.dt.iter().map(|&x| det_id(x)).collect::<Vec<_>>())?;
            dict.set_item("gtIds", e.gt.iter().map(|&x| g.ds.annotations[x as usize].id).collect::<Vec<Id>>())?;
            dict.set_item("dtMatches", f64_array(py, e.dt_matches, &[t_n, nd])?)?;
            let gtm = match &dt_ids {
                None => e.gt_matches,
                Some(ids) => e.gt_matches.iter().map(|&v| if v == 0.0 { 0.0 } else { ids[v as usize - 1] as f64 }).collect(),
            };
            dict.set_item("gtMatches", f64_array(py, gtm, &[t_n, ng])?)?;
            dict.set_item("dtScores", e.dt.iter().map(|&x| d.res.detections[x as usize].score).collect::<Vec<f64>>())?;
            // `np.array([g['_ignore'] ...])`: int64, or float64 when there is no GT.
            if ng == 0 {
                dict.set_item("gtIgnore", PyArray1::<f64>::zeros(py, [0], false))?;
            } else {
                dict.set_item("gtIgnore", PyArray1::from_vec(py, e.gt_ignore.iter().map(|&b| b as i64).collect::<Vec<i64>>()))?;
            }
            dict.set_item("dtIgnore", PyArray1::from_vec(py, e.dt_ignore).reshape([t_n, nd])?)?;
            out.append(dict)?;
        }
        Ok(out)
    }

    /// pycocotools' `ious`: `{(imgId, catId): [D x G] float64 array or []}`, image-major.
    fn ious<'py>(&self, py: Python<'py>, img_objs: &Bound<'py, PyList>, cat_objs: &Bound<'py, PyList>) -> PyResult<Bound<'py, PyDict>> {
        let n_img = self.detail.setup.img_ids.len();
        let k_n = self.detail.setup.k();
        if img_objs.len() != n_img || cat_objs.len() != k_n {
            return Err(PyRuntimeError::new_err("ious: parameter lists do not match the evaluation"));
        }
        let mats: Vec<Option<(usize, usize, Vec<f64>)>> = py.allow_threads(|| {
            use rayon::prelude::*;
            (0..n_img * k_n)
                .into_par_iter()
                .map(|j| {
                    let (i, k) = (j / k_n, j % k_n);
                    self.with_shapes(|ds, res, sh| images::unit_iou_matrix(ds, res, &self.params, sh, &self.detail, k * n_img + i))
                })
                .collect()
        });
        let out = PyDict::new(py);
        for (j, m) in mats.into_iter().enumerate() {
            let key = PyTuple::new(py, [img_objs.get_item(j / k_n)?, cat_objs.get_item(j % k_n)?])?;
            match m {
                Some((nd, ng, v)) => out.set_item(key, f64_array(py, v, &[nd, ng])?)?,
                None => out.set_item(key, PyList::empty(py))?,
            }
        }
        Ok(out)
    }

    /// The `eval --json` document (stats, per-class table, params, counts) as JSON text.
    fn eval_json(&self) -> String {
        let g = self.gt.get();
        report::eval_json(&self.ev, &self.ev.per_class(&g.ds))
    }
}

// ---------------------------------------------------------------------------------------------
// Training-side tools on numpy arrays.

fn convention(s: &str) -> PyResult<Convention> {
    Convention::parse(s).map_err(to_py)
}

#[allow(clippy::too_many_arguments)]
fn anchor_config(convention: &str, layout: &str, levels: Option<(u32, u32)>, sizes: Option<Vec<f64>>, scales_per_octave: Option<u32>, aspect_ratios: Option<Vec<f64>>, offset: Option<f64>, size_divisibility: Option<u32>) -> PyResult<AnchorConfig> {
    let mut c = AnchorConfig::new(self::convention(convention)?);
    if let Some((lo, hi)) = levels {
        if lo > hi {
            return Err(to_py(Error::input(format!("levels: cannot read '{}-{}'", lo, hi)).with_hint("give a range of pyramid levels, e.g. levels=(3, 7)")));
        }
        c.set_levels((lo..=hi).collect());
    }
    if let Some(s) = sizes {
        c.sizes = s;
    }
    if let Some(n) = scales_per_octave {
        c.scales_per_octave = n;
    }
    if let Some(r) = aspect_ratios {
        c.aspect_ratios = r;
    }
    if let Some(o) = offset {
        c.offset = o;
    }
    if let Some(d) = size_divisibility {
        c.size_divisibility = d;
    }
    c.layout = match layout {
        "native" => Layout::Native,
        "hwa" => Layout::Hwa,
        _ => return Err(PyValueError::new_err(format!("layout '{}' is not supported\nhint: use 'native' or 'hwa'", layout))),
    };
    c.validate().map_err(to_py)?;
    Ok(c)
}

/// The anchors of one image size, float32 [A, 4] (x1, y1, x2, y2): `anchors --out`'s array.
#[pyfunction]
#[pyo3(signature = (image_size, convention="detectron2", layout="native", levels=None, sizes=None, scales_per_octave=None, aspect_ratios=None, offset=None, size_divisibility=None))]
#[allow(clippy::too_many_arguments)]
fn anchors<'py>(py: Python<'py>, image_size: (u32, u32), convention: &str, layout: &str, levels: Option<(u32, u32)>, sizes: Option<Vec<f64>>, scales_per_octave: Option<u32>, aspect_ratios: Option<Vec<f64>>, offset: Option<f64>, size_divisibility: Option<u32>) -> PyResult<Bound<'py, PyAny>> {
    let c = anchor_config(convention, layout, levels, sizes, scales_per_octave, aspect_ratios, offset, size_divisibility)?;
    let (h, w) = image_size;
    let a = py.allow_threads(|| c.grid(h, w).map(|g| g.to_array())).map_err(to_py)?;
    let n = a.nrows();
    let v = a.into_raw_vec_and_offset().0;
    Ok(PyArray1::from_vec(py, v).reshape([n, 4])?.into_any())
}

/// One image's anchor assignment: `(labels int32 [A], matched int64 [A], targets float32 [A,4])`.
#[pyfunction]
#[pyo3(signature = (gt_boxes, gt_classes, image_size, convention="detectron2", resize=None, low_quality=None, pos_iou=0.5, neg_iou=0.4, layout="native", levels=None, sizes=None, scales_per_octave=None, aspect_ratios=None, offset=None, size_divisibility=None))]
#[allow(clippy::too_many_arguments)]
fn assign<'py>(
    py: Python<'py>,
    gt_boxes: PyReadonlyArrayDyn<'py, f64>,
    gt_classes: PyReadonlyArrayDyn<'py, i64>,
    image_size: (f64, f64),
    convention: &str,
    resize: Option<(u32, u32)>,
    low_quality: Option<bool>,
    pos_iou: f32,
    neg_iou: f32,
    layout: &str,
    levels: Option<(u32, u32)>,
    sizes: Option<Vec<f64>>,
    scales_per_octave: Option<u32>,
    aspect_ratios: Option<Vec<f64>>,
    offset: Option<f64>,
    size_divisibility: Option<u32>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let anchors = anchor_config(convention, layout, levels, sizes, scales_per_octave, aspect_ratios, offset, size_divisibility)?;
    let mut cfg = AssignConfig::new(anchors.convention);
    cfg.anchors = anchors;
    cfg.resize = resize.map(|(short, max)| Resize { short, max });
    cfg.low_quality = low_quality;
    cfg.pos_iou = pos_iou;
    cfg.neg_iou = neg_iou;
    let shape = gt_boxes.shape().to_vec();
    if !(shape.len() == 2 && shape[1] == 4) && !(shape.len() == 1 && shape[0] == 0) {
        return Err(PyValueError::new_err(format!("gt_boxes has shape {:?}; expected [G, 4] COCO [x, y, w, h]", shape)));
    }
    let flat: Vec<f64> = gt_boxes.as_array().iter().copied().collect();
    let boxes: Vec<[f64; 4]> = flat.chunks_exact(4).map(|c| [c[0], c[1], c[2], c[3]]).collect();
    let classes: Vec<i32> = gt_classes
        .as_array()
        .iter()
        .map(|&c| i32::try_from(c).map_err(|_| PyValueError::new_err(format!("gt_classes: {} is not a class index", c))))
        .collect::<PyResult<_>>()?;
    let (h, w) = image_size;
    let t = py.allow_threads(|| retina_tools::assign::assign_boxes(&cfg, h, w, &boxes, &classes)).map_err(to_py)?;
    let n = t.labels.len();
    let targets = t.targets.into_raw_vec_and_offset().0;
    Ok((
        PyArray1::from_vec(py, t.labels.into_raw_vec_and_offset().0).into_any(),
        PyArray1::from_vec(py, t.matched.into_raw_vec_and_offset().0).into_any(),
        PyArray1::from_vec(py, targets).reshape([n, 4])?.into_any(),
    ))
}

/// Focal-loss statistics of logits [..., C] (float32 or float16) and integer targets [...]:
/// the `focal --json` document as JSON text (the Python layer parses it).
#[pyfunction]
#[pyo3(signature = (logits, fortran, half, targets, gamma=2.0, alpha=0.25, gammas=vec![0.0, 0.5, 1.0, 2.0], fl_star_gamma=2.0, fl_star_beta=1.0, cdf_points=101, backend="cpu"))]
#[allow(clippy::too_many_arguments)]
fn focal_stats(
    py: Python<'_>,
    logits: &Bound<'_, PyAny>,
    fortran: bool,
    half: bool,
    targets: PyReadonlyArrayDyn<'_, i64>,
    gamma: f64,
    alpha: f64,
    gammas: Vec<f64>,
    fl_star_gamma: f64,
    fl_star_beta: f64,
    cdf_points: usize,
    backend: &str,
) -> PyResult<String> {
    use retina_tools::io::npy::{F32Buf, FloatArray, FloatData, IntArray};
    let cfg = focal::Config::new(focal::LossParams { gamma, alpha, fl_star_gamma, fl_star_beta }, gammas, cdf_points).map_err(to_py)?;
    let choice = match backend {
        "cpu" => focal::BackendChoice::Cpu,
        "gpu" => focal::BackendChoice::Gpu,
        "auto" => focal::BackendChoice::Auto,
        _ => return Err(PyValueError::new_err(format!("backend '{}' is not supported\nhint: use 'cpu', 'gpu' or 'auto'", backend))),
    };
    // Logits arrive in their memory order (C or Fortran), as the .npy reader hands them over,
    // and are borrowed, not copied: the readonly borrows below live until the call returns. As
    // with numpy's own functions that release the GIL, another thread must not write to the
    // array meanwhile.
    let (f32_arr, f16_arr);
    let (shape, data) = if half {
        f16_arr = logits.extract::<PyReadonlyArrayDyn<'_, u16>>()?;
        (f16_arr.shape().to_vec(), FloatData::F16(std::borrow::Cow::Borrowed(f16_arr.as_slice()?)))
    } else {
        f32_arr = logits.extract::<PyReadonlyArrayDyn<'_, f32>>()?;
        (f32_arr.shape().to_vec(), FloatData::F32(F32Buf::Borrowed(f32_arr.as_slice()?)))
    };
    let tshape = targets.shape().to_vec();
    let t_fortran = targets.as_array().is_standard_layout() == false && tshape.len() > 1;
    let tdata: Vec<i64> = if t_fortran { targets.as_array().t().iter().copied().collect() } else { targets.as_array().iter().copied().collect() };
    let la = FloatArray { shape, fortran_order: fortran, data };
    let ta = IntArray { shape: tshape, fortran_order: t_fortran, data: tdata };
    let (lp, tp) = (Path::new("logits"), Path::new("targets"));
    let doc = py
        .allow_threads(|| -> retina_tools::Result<String> {
            let input = focal::FocalInput::new(la, ta, lp, tp)?;
            let (backend, fallback, _note) = focal::gpu::select(choice)?;
            let r = focal::run(&input, &cfg, backend.as_ref(), fallback, &NoProgress)?;
            serde_json::to_string(&report::focal::focal_json(&r)).map_err(|e| Error::internal(format!("cannot write JSON: {}", e)))
        })
        .map_err(to_py)?;
    Ok(doc)
}

/// `diagnose --json`'s document (default sections; no anchor section) as JSON text.
#[pyfunction]
#[pyo3(signature = (gt, dt, iou_type, tide_pos_thr=0.5, tide_bg_thr=0.1, confusion_iou=0.5, confusion_max_det=None, confusion_min_score=None, calibration_bins=10, calibration_iou=0.5, fscore_beta=1.0, suspect_score=0.9, suspects_top=20))]
#[allow(clippy::too_many_arguments)]
fn diagnose(
    py: Python<'_>,
    gt: &Gt,
    dt: &Dt,
    iou_type: &str,
    tide_pos_thr: f64,
    tide_bg_thr: f64,
    confusion_iou: f64,
    confusion_max_det: Option<usize>,
    confusion_min_score: Option<f64>,
    calibration_bins: usize,
    calibration_iou: f64,
    fscore_beta: f64,
    suspect_score: f64,
    suspects_top: usize,
) -> PyResult<String> {
    use retina_tools::diagnose as dg;
    let t = self::iou_type(iou_type)?;
    if t == IouType::Keypoints {
        return Err(to_py(Error::input("diagnose compares boxes or masks: --iou-type keypoints is not supported").with_hint("use --iou-type bbox or segm")));
    }
    let mut c = dg::Config::new();
    c.tide = dg::tide::TideConfig { pos_thr: tide_pos_thr, bg_thr: tide_bg_thr };
    c.confusion = dg::confusion::ConfusionConfig { iou_thr: confusion_iou, max_det: confusion_max_det, min_score: confusion_min_score };
    c.calibration = dg::calibration::CalibrationConfig { n_bins: calibration_bins, iou_thr: calibration_iou };
    c.fscore_beta = fscore_beta;
    c.suspect_score = suspect_score;
    c.suspects_top = suspects_top;
    c.validate().map_err(to_py)?;
    let p = Params::new(t);
    if dt.iou_type != t {
        return Err(PyRuntimeError::new_err(format!("results parsed for {} diagnosed as {}", dt.iou_type.name(), t.name())));
    }
    let gs = if t == IouType::Bbox { None } else { Some(gt.shapes(py, t, p.kpt_sigmas.len())?) };
    py.allow_threads(|| -> retina_tools::Result<String> {
        let sh = match (&gs, &dt.shapes) {
            (Some(g), Some(d)) => Some(eval::Shapes::new(&gt.ds, g, d, &p)),
            _ => None,
        };
        let inp = dg::Input { gt: &gt.ds, res: &dt.res, shapes: sh.as_ref(), params: &p };
        let d = dg::run(&inp, &c, &NoProgress)?;
        Ok(report::diagnose::json(&d))
    })
    .map_err(to_py)
}

/// `compare --json` for two or more results handles on one GT (default COCO parameters).
#[pyfunction]
#[pyo3(signature = (gt, dts, names, iou_type, bootstrap=1000, seed=0, confidence=0.95, keep_replicates=false))]
#[allow(clippy::too_many_arguments)]
fn compare(
    py: Python<'_>,
    gt: &Gt,
    dts: Vec<PyRef<'_, Dt>>,
    names: Vec<String>,
    iou_type: &str,
    bootstrap: usize,
    seed: u64,
    confidence: f64,
    keep_replicates: bool,
) -> PyResult<String> {
    use retina_tools::compare as cmp;
    let t = self::iou_type(iou_type)?;
    if dts.len() < 2 {
        return Err(PyValueError::new_err("compare needs two or more results"));
    }
    let cfg = cmp::Config { n: bootstrap, seed, confidence, keep_replicates };
    cfg.validate().map_err(to_py)?;
    if eval::lvis::detect(&gt.ds) {
        return Err(to_py(Error::input("an LVIS ground truth; compare follows the COCO protocol").with_hint("evaluate LVIS results with retina_tools.evaluate")));
    }
    let p = Params::new(t);
    if dts.iter().any(|d| d.iou_type != t || (t == IouType::Keypoints && d.kpts != p.kpt_sigmas.len())) {
        return Err(PyRuntimeError::new_err(format!("results not parsed for {} compared as {}", t.name(), t.name())));
    }
    let gs = if t == IouType::Bbox { None } else { Some(gt.shapes(py, t, p.kpt_sigmas.len())?) };
    let loaded: Vec<(Arc<Results>, Option<Arc<DtShapes>>)> = dts.iter().map(|d| (d.res.clone(), d.shapes.clone())).collect();
    py.allow_threads(|| -> retina_tools::Result<String> {
        let shapes: Vec<Option<eval::Shapes<'_>>> = loaded.iter().map(|(_, ds)| gs.as_ref().zip(ds.as_ref()).map(|(g, d)| eval::Shapes::new(&gt.ds, g, d, &p))).collect();
        let models: Vec<cmp::Model<'_>> = loaded.iter().zip(&shapes).map(|((res, _), sh)| cmp::Model { res, shapes: sh.as_ref() }).collect();
        let c = cmp::run(&gt.ds, &models, &p, &cfg, &NoProgress)?;
        Ok(report::compare::json(&c, &names))
    })
    .map_err(to_py)
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Gt>()?;
    m.add_class::<Dt>()?;
    m.add_class::<Evaluated>()?;
    m.add_function(wrap_pyfunction!(evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(anchors, m)?)?;
    m.add_function(wrap_pyfunction!(assign, m)?)?;
    m.add_function(wrap_pyfunction!(focal_stats, m)?)?;
    m.add_function(wrap_pyfunction!(diagnose, m)?)?;
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    mask::register(m)?;
    Ok(())
}
