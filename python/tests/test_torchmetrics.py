"""torchmetrics' MeanAveragePrecision(backend="pycocotools") gives identical results with and
without retina_tools.install_as_pycocotools() (every key of compute(), extended_summary
included: precision, recall, scores, ious). Needs torch and torchmetrics; skipped without them
(CI does not install torch: a CPU-only build is not on PyPI and the CUDA one is gigabytes)."""
import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")
pytest.importorskip("torchmetrics")

HERE = os.path.dirname(os.path.abspath(__file__))


def run(*args):
    r = subprocess.run([sys.executable, os.path.join(HERE, "tm_run.py"), *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("iou_type", ["bbox"])
def test_torchmetrics_identical_with_dropin(iou_type):
    ref = run(iou_type)
    ours = run(iou_type, "--dropin")
    assert ours == ref
