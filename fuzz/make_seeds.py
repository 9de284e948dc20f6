#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/seeds/<target>/ from the bundled
fixtures (kept small: libFuzzer mutates short inputs faster) plus a few hand-made edge cases.
Standard library only. Run from anywhere; rerun after fixtures change."""
import json, os, struct, zipfile, io, shutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "seeds")
FIX = os.path.join(ROOT, "fixtures")


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def small_json(path, keep=4):
    """The file with every list cut to its first `keep` elements (valid, small, same shapes)."""
    def cut(v):
        if isinstance(v, list):
            return [cut(x) for x in v[:keep]]
        if isinstance(v, dict):
            return {k: cut(x) for k, x in v.items()}
        return v
    with open(path) as f:
        return json.dumps(cut(json.load(f)))


shutil.rmtree(OUT, ignore_errors=True)
gts = ["small/gt.json", "segm/mixed_gt.json", "segm/no_cats_gt.json", "keypoints/gen_gt.json", "coco-val2014-100/instances_val2014_100.json", "lvis-val-100/lvis_val_100.json"]
dts = ["small/dt.json", "segm/mixed_dt.json", "segm/with_boxes_dt.json", "keypoints/gen_dt.json", "coco-val2014-100/fakesegm100_results.json", "lvis-val-100/results_segm.json"]
for i, p in enumerate(gts):
    put("coco_gt", "gt%d.json" % i, small_json(os.path.join(FIX, p), keep=3))
for i, p in enumerate(dts[:2]):
    put("coco_results", "dt%d.json" % i, small_json(os.path.join(FIX, p), keep=3))
# Results against the GT built into retina_tools::fuzzing (images 1, 2, 7; categories 1, 3;
# 3 keypoints): every shape of detection it accepts.
kp = [3.5, 4, 0.9, 8, 9.25, 1, 0, 0, 0]
mine = [
    [{"image_id": 1, "category_id": 1, "bbox": [2, 3, 10, 12], "score": 0.9}, {"image_id": 2, "category_id": 3, "bbox": [0, 0, 5.5, 5], "score": 0.9},
     {"image_id": 7, "category_id": 1, "bbox": [1e-3, 0, 1e3, 2], "score": 1e-9}],
    [{"image_id": 1, "category_id": 1, "segmentation": [[2, 3, 12, 3, 12, 15, 2, 15], [0, 0, 1, 0, 1, 1]], "score": 0.5},
     {"image_id": 2, "category_id": 1, "segmentation": {"size": [20, 20], "counts": [0, 5, 15, 5, 375]}, "score": 0.5},
     {"image_id": 1, "category_id": 3, "segmentation": {"size": [40, 30], "counts": "`=2f0000000000000000;"}, "score": 0.7}],
    [{"image_id": 1, "category_id": 1, "keypoints": kp, "score": 0.8}, {"image_id": 2, "category_id": 1, "keypoints": kp[::-1], "score": 0.8}],
    [{"image_id": 1, "category_id": 1, "bbox": [2, 3, 10, 12], "segmentation": [[2, 3, 12, 3, 12, 15]], "keypoints": kp, "score": 0.3, "extra": [1, {"a": None}]}],
]
for i, m in enumerate(mine):
    put("coco_results", "mine%d.json" % i, json.dumps(m))
# The JSON reader: the same documents, and the corners of the grammar.
for i, p in enumerate(gts[:3] + dts[:3]):
    put("json_reader", "doc%d.json" % i, small_json(os.path.join(FIX, p), keep=2))
corners = ['[]', '{}', '[1, -0, 0.5e-3, 1E+2, 123456789012345678901234567890, 9007199254740993, 1e-400]',
           '"a\\u00e9\\ud83d\\ude00\\n\\"\\\\\\/"', '{"a": {"a": [true, false, null]}, "a": 1}',
           '[' * 40 + ']' * 40, ' \t\r\n[ "x" , {"y" : [ ] } ] ', '[0.1, 2.2250738585072011e-308, 1.7976931348623157e308]']
for i, c in enumerate(corners):
    put("json_reader", "corner%d.json" % i, c)
# RLE text: h, w, crowd flag, then two count strings separated by a space.
with open(os.path.join(FIX, "coco-val2014-100/fakesegm100_results.json")) as f:
    segs = [d["segmentation"] for d in json.load(f)[:40]]
small = [s for s in segs if s["size"][0] * s["size"][1] > 0][:6]
put("rle_text", "empty", bytes([3, 4, 0]) + b"<2 2;")
put("rle_text", "boxes", bytes([20, 30, 1]) + b"Z11c01O1O1O1O1O1O0^< Z11c01O1O1O1O1O1O0^<")
for i in range(0, len(small) - 1, 2):
    a, b = small[i], small[i + 1]
    put("rle_text", "real%d" % i, bytes([a["size"][0] % 256, a["size"][1] % 256, i % 2]) + a["counts"].encode() + b" " + b["counts"].encode())
# Polygons: h, w, then i16 coordinates in tenths of a pixel.
def poly(h, w, pts):
    return bytes([h, w]) + b"".join(struct.pack("<h", int(round(v * 10))) for v in pts)
put("polygon", "triangle", poly(20, 30, [1, 2, 10, 2, 10, 10]))
put("polygon", "box", poly(10, 10, [2, 1, 2, 4, 6, 4, 6, 1]))
put("polygon", "steep", poly(60, 8, [1.5, -3, 2.7, 70, 3.1, 40.2, 0.2, 12.9]))
put("polygon", "far", poly(9, 9, [-3000, 5, 3000, 7, 4, -2000]))
# .npy / .npz: headers of the dtypes the focal and assign readers take.
def npy(descr, shape, payload, fortran=False):
    hdr = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, repr(tuple(shape)))
    hdr += " " * ((64 - (10 + len(hdr) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + payload
put("npy", "f32", npy("<f4", (2, 3), struct.pack("<6f", 0, 1, -2, 3.5, 1e30, -0.0)))
put("npy", "f16", npy("<f2", (4,), struct.pack("<4H", 0x3c00, 0x7c00, 0x0001, 0x8000)))
put("npy", "i64", npy("<i8", (3,), struct.pack("<3q", -1, 0, 79)))
put("npy", "u8_fortran", npy("|u1", (2, 2), bytes([0, 1, 2, 3]), fortran=True))
put("npy", "i32_empty", npy("<i4", (0, 80), b""))
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
    z.writestr("labels.npy", npy("<i4", (5,), struct.pack("<5i", -2, -1, 0, 3, 79)))
put("npy", "labels_npz", buf.getvalue())
# Flag lists.
for i, s in enumerate(["1,10,100", "0.5, 0.75,,0.95", "-3,1e308,inf,nan", "all:0,1e10 small:0,1024\nmedium:1024,9216", "x:1,2:3", ""]):
    put("flag_lists", "list%d" % i, s)
