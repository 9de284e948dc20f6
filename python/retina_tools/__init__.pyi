from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

from . import mask as mask
from .coco import COCO as COCO
from .cocoeval import COCOeval as COCOeval, Params as Params

__version__: str

def install_as_pycocotools() -> None: ...
def anchors(
    image_size: Tuple[int, int],
    convention: str = ...,
    layout: str = ...,
    *,
    levels: Optional[Tuple[int, int]] = ...,
    sizes: Optional[Sequence[float]] = ...,
    scales_per_octave: Optional[int] = ...,
    aspect_ratios: Optional[Sequence[float]] = ...,
    offset: Optional[float] = ...,
    size_divisibility: Optional[int] = ...,
) -> npt.NDArray[np.float32]: ...
def assign(
    gt_boxes: npt.ArrayLike,
    gt_classes: npt.ArrayLike,
    image_size: Tuple[float, float],
    convention: str = ...,
    resize: Optional[Tuple[int, int]] = ...,
    low_quality: Optional[bool] = ...,
    pos_iou: float = ...,
    neg_iou: float = ...,
    layout: str = ...,
    **overrides: Any,
) -> Tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.float32]]: ...
def focal_stats(
    logits: npt.NDArray[Any],
    targets: npt.ArrayLike,
    gamma: float = ...,
    alpha: float = ...,
    gammas: Sequence[float] = ...,
    backend: str = ...,
    fl_star_gamma: float = ...,
    fl_star_beta: float = ...,
    cdf_points: int = ...,
) -> Dict[str, Any]: ...
def evaluate(
    results: Any,
    gt: Any,
    iou_type: str = ...,
    max_dets: Optional[Sequence[int]] = ...,
    area_rng: Optional[Sequence[Tuple[str, Tuple[float, float]]]] = ...,
    use_cats: bool = ...,
    img_ids: Optional[Sequence[int]] = ...,
    cat_ids: Optional[Sequence[int]] = ...,
) -> Dict[str, Any]: ...
def diagnose(results: Any, gt: Any, iou_type: str = ..., **sections: Any) -> Dict[str, Any]: ...
def compare(results: Any, gt: Any, iou_type: str = ..., bootstrap: int = ..., seed: int = ..., confidence: float = ..., keep_replicates: bool = ..., names: Any = ...) -> Dict[str, Any]: ...
