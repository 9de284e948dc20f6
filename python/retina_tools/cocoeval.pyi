from typing import Any, Dict, List, Optional

import numpy as np

from .coco import COCO

class Params:
    imgIds: Any
    catIds: Any
    iouThrs: Any
    recThrs: Any
    maxDets: Any
    areaRng: Any
    areaRngLbl: List[str]
    useCats: int
    kpt_oks_sigmas: Any
    iouType: str
    useSegm: Optional[int]
    def __init__(self, iouType: str = ...) -> None: ...

class COCOeval:
    cocoGt: COCO
    cocoDt: COCO
    params: Params
    eval: Dict[str, Any]
    stats: np.ndarray
    evalImgs: List[Optional[Dict[str, Any]]]
    ious: Dict[Any, Any]
    def __init__(self, cocoGt: Optional[COCO] = ..., cocoDt: Optional[COCO] = ..., iouType: str = ...) -> None: ...
    def evaluate(self) -> None: ...
    def accumulate(self, p: Optional[Params] = ...) -> None: ...
    def summarize(self) -> None: ...
