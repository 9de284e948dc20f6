"""Bad input raises ValueError/TypeError with the CLI's error text; never crashes."""
import contextlib
import io
import json
import subprocess

import pytest

import retina_tools
from conftest import cli


def quiet(f, *a, **k):
    with contextlib.redirect_stdout(io.StringIO()):
        return f(*a, **k)


def cli_error(*args):
    r = subprocess.run([cli(), *args, "-q"], capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    return r.stderr


def test_results_on_unknown_image_same_message_as_cli(val2014, tmp_path):
    gt, _, _ = val2014
    bad = [{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}]
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(bad))
    g = quiet(retina_tools.COCO, gt)
    with pytest.raises(ValueError) as e:
        quiet(g.loadRes, str(p))
    assert "image id 1 is not in the ground truth" in str(e.value)
    err = cli_error("eval", str(p), "--gt", gt)
    assert str(e.value).splitlines()[0] in err


@pytest.mark.parametrize("det, where", [
    ({"image_id": 139, "category_id": 1, "bbox": [1, 2, 3], "score": 0.5}, "[0].bbox"),
    ({"image_id": 139, "category_id": 1, "bbox": [1, 2, 3, 4], "score": float("nan")}, "[0].score"),
    ({"image_id": 139, "category_id": 1, "bbox": [1, 2, 3, 4]}, "missing field \"score\""),
    ({"image_id": 139, "category_id": 1, "bbox": [1, 2, -3, 4], "score": 1}, "negative box size"),
])
def test_bad_detections(val2014, tmp_path, det, where):
    gt, _, _ = val2014
    g = quiet(retina_tools.COCO, gt)
    p = tmp_path / "bad.json"
    p.write_text(json.dumps([det]))
    with pytest.raises(ValueError) as e:
        quiet(g.loadRes, str(p))
    assert where in str(e.value)
    assert str(e.value).splitlines()[0] in cli_error("eval", str(p), "--gt", gt)


def test_bad_gt_file(tmp_path):
    p = tmp_path / "gt.json"
    p.write_text('{"images": [{"id": 1}], "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1], "area": 1, "iscrowd": 0}], "categories": [{"id": 1}]}')
    g = quiet(retina_tools.COCO, str(p))  # pycocotools loads it too; evaluation refuses it
    d = quiet(g.loadRes, [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1.0}])
    with pytest.raises(ValueError) as e:
        E = retina_tools.COCOeval(g, d, "bbox")
        quiet(E.evaluate)
    assert "annotations[0].bbox" in str(e.value)


def test_type_errors():
    with pytest.raises((TypeError, ValueError)):
        retina_tools.anchors((800, 1333), sizes="abc")
    with pytest.raises(TypeError):
        retina_tools.focal_stats([[0.1, 0.2]], [0.5])
    with pytest.raises(ValueError) as e:
        retina_tools.anchors((800, 1333), convention="yolo")
    assert "yolo" in str(e.value)
    with pytest.raises(ValueError) as e:
        retina_tools.focal_stats(__import__("numpy").full((4, 3), float("nan"), dtype="float32"), [0, 1, -1, -2])
    assert "NaN" in str(e.value) or "nan" in str(e.value)
