"""The documents' worked examples beside ours, for the correctness report (FORMULAS B8, B9,
B10, A6, A9, D1-D3). "documents" is what a seed prints; "ours" is computed here by the
reference at report time (deterministic: integer data, fixed shapes), or read from the
run (D1/D2: bench.json claims; D3: the training report). The tests named in each row
assert the same values; the report only shows them.
"""
from __future__ import annotations

import numpy as np

from cnnref import reference as ref
from cnnref.reference.datasets import to_gray
from cnnref.reference.networks import get_network, summarize

IMAGE_003 = [[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]]
KERNEL_003 = [[0, 1, 2], [2, 2, 0], [0, 1, 2]]
RESULT_003 = [[12, 12, 17], [10, 17, 19], [9, 6, 14]]
# seed 003 3.3 (LeNet-5): (params, connections) as printed; F6 prints the formula (120+1)*84.
LENET_003 = {"C1": (156, 122304), "S2": (12, 5880), "C3": (1516, 151600), "S4": (12, 2000),
             "C5": (48120, 48120), "F6": ((120 + 1) * 84, (120 + 1) * 84)}
# seed 004 表18-1: (input, output) per row, as printed.
TABLE18_1 = [("3x28x28", "2x28x28"), ("2x28x28", "2x28x28"), ("2x14x14", "2x14x14"),
             ("2x14x14", "3x12x12"), ("3x12x12", "3x12x12"), ("3x12x12", "3x6x6"),
             ("108", "32"), ("32", "32"), ("32", "32"), ("32", "6"), ("6", "6")]
K = {"identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
     "sharpen (003)": [[-1, -1, -1], [-1, 9, -1], [-1, -1, -1]],
     "sharpness (004)": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
     "vertical edge": [[0, 0, 0], [-1, 2, -1], [0, 0, 0]],
     "surround": [[1, 1, 1], [1, -9, 1], [1, 1, 1]],
     "sobel y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
     "horizontal edge": [[0, -1, 0], [0, 2, 0], [0, -1, 0]],
     "blur": [[0.11] * 3] * 3,
     "sobel x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
     "embossing": [[2, 0, 0], [0, -1, 0], [0, 0, -1]]}
EFFECTS = {"identity": "output equals the image (003 不进行处理, 004 nothing/Identity)",
           "sharpen (003)": "sharpens (图像锐化)",
           "sharpness (004)": "a pixel brighter than its surroundings gets brighter",
           "vertical edge": "detects vertical edges", "horizontal edge":
           "detects horizontal edges", "sobel x": "detects vertical edges",
           "sobel y": "detects horizontal edges",
           "surround": "strengthens the surroundings, weakens flat regions",
           "blur": "blurs by averaging the neighbourhood", "embossing": "relief (浮雕)"}


def _ex(fid, what, documents, ours, agree, note="", erratum=""):
    return {"id": fid, "what": what, "documents": documents, "ours": ours, "agree": agree,
            "note": note, "erratum": erratum}


def _mat(a) -> str:
    return "[" + ", ".join("[" + ", ".join(f"{v:g}" for v in row) + "]" for row in a) + "]"


def b8() -> list[dict]:
    out = ref.correlate2d(np.array(IMAGE_003, float), np.array(KERNEL_003, float))
    size = ref.conv_output_size
    lit = ref.conv2d(np.ones((1, 3, 7, 7)), np.ones((2, 3, 3, 3)), stride=2, padding=1).shape
    return [
        _ex("B8", "seed 003: 5x5 image, 3x3 kernel", _mat(RESULT_003), _mat(out),
            out.tolist() == RESULT_003),
        _ex("B8", "seed 000: 5x5 image, 3x3 filter, stride 1 / stride 2", "3x3 / 2x2",
            f"{size(5, 3)}x{size(5, 3)} / {size(5, 3, 2)}x{size(5, 3, 2)}",
            (size(5, 3), size(5, 3, 2)) == (3, 2)),
        _ex("B8", "seed 000: 7x7x3 input, two 3x3x3 filters, stride 2, zero padding 1",
            "3x3x2", f"{lit[2]}x{lit[3]}x{lit[1]}", False,
            "3x3x2 when the 7x7 already includes the padding (a 5x5 input)",
            "E-B8-seed000-7x7x3-pad-1"),
        _ex("B8", "seed 000: parameters of two 3x3x3 filters with biases", "56",
            str(2 * 3 * 3 * 3 + 2), 2 * 27 + 2 == 56),
        _ex("B8", "seed 002: 6x6 image, 3x3 kernel / with 1 px padding", "4x4 / 6x6",
            f"{size(6, 3)}x{size(6, 3)} / {size(6, 3, 1, 1)}x{size(6, 3, 1, 1)}",
            (size(6, 3), size(6, 3, 1, 1)) == (4, 6))]


def _b9_property(name, k) -> str:
    step_v = np.tile((np.arange(9) >= 4).astype(float), (9, 1))
    flat = np.full((5, 5), 100.0)
    x = ref.correlate2d
    s = f"sum {k.sum():.4g}"
    if name == "identity":
        img = np.arange(30.0).reshape(5, 6)
        same = ref.conv2d(img[None, None], k[None, None], padding=1)[0, 0]
        return f"{s}; max |out - image| = {np.abs(same - img).max():g}"
    if name in ("vertical edge", "horizontal edge", "sobel x", "sobel y"):
        v, h = np.abs(x(step_v, k)).max(), np.abs(x(step_v.T.copy(), k)).max()
        return f"{s}; max |response|: vertical step {v:g}, horizontal step {h:g}"
    if name == "embossing":
        i, j = np.indices((6, 6)).astype(float)
        return (f"{s}; along the diagonal (x = i - j): {np.abs(x(i - j, k)).max():g}, "
                f"across it (x = i + j): {x(i + j, k)[0, 0]:g}")
    spot = np.full((5, 5), 50.0)
    spot[2, 2] = 80.0
    return f"{s}; flat 100 -> {x(flat, k)[0, 0]:.4g}; 80 on flat 50 -> {x(spot, k)[1, 1]:.4g}"


def b9() -> list[dict]:
    out = []
    for name, rows in K.items():
        k = np.array(rows, dtype=float)
        blur = name == "blur"
        out.append(_ex("B9", f"{name} {_mat(k)}", EFFECTS[name], _b9_property(name, k),
                       not blur, "the weights sum to 0.99, not 1: 0.11 is 1/9 rounded"
                       if blur else "", "E-B9-seed004-blur-0.11" if blur else ""))
    return out


def b10() -> list[dict]:
    y = float(to_gray(np.array([255.0, 255.0, 0.0]).reshape(1, 3, 1, 1))[0, 0, 0, 0])
    return [_ex("B10", "seed 004: (255, 255, 0) to grey, Y = 0.299 R + 0.587 G + 0.114 B",
                "225.675 (computed with 0.586 for G)", f"{y:.6g}", False,
                "0.299*255 + 0.587*255 = 225.93", "E-B10-seed004-coefficient-0.586")]


def a6() -> list[dict]:
    rows = {r["name"]: r for r in summarize(get_network("lenet5"))["layers"]}
    out = []
    for name, (params, conns) in LENET_003.items():
        r = rows[name]
        err = "E-A6-S4-params" if name == "S4" else ""
        out.append(_ex("A6", f"LeNet-5 {name}: parameters, connections",
                       f"{params:,}, {conns:,}", f"{r['params']:,}, {r['connections']:,}",
                       (params, conns) == (r["params"], r["connections"]), erratum=err))
    return out


def a9() -> list[dict]:
    layers = summarize(get_network("table18_1"))["layers"]
    out = []
    for i, ((din, dout), r) in enumerate(zip(TABLE18_1, layers, strict=True), start=1):
        fc = r["name"].startswith("f")
        shape_in = str(int(np.prod(r["in_shape"]))) if fc else "x".join(map(str, r["in_shape"]))
        ours = f"{shape_in} -> {'x'.join(map(str, r['out_shape']))}"
        err = "E-A9-table18_1-row3-input" if i == 3 else ""
        out.append(_ex("A9", f"Table 18-1 row {i} ({r['name']}): input -> output",
                       f"{din} -> {dout}", ours, ours == f"{din} -> {dout}", erratum=err))
    return out


def d_notes(claims, training) -> dict[str, str]:
    """Our counterparts of D1-D3, without timings (those are in the Speed-up report)."""
    by = {c["what"]: c for c in claims}
    nb = by.get("numba speed-up over pure-Python loops (x)")
    d1 = ("numba rows not measured in this run" if nb is None or nb["ours"] is None else
          f"numba faster than the pure-Python loops here: {'yes' if nb['ours'] > 1 else 'no'};"
          " the times and ratios: Speed-up report, claims table")
    d2 = "; ".join(f"{c['what'].split(', ')[1].split(' ')[0]}: {c['ours']:.2f}"
                   for c in claims if c["id"] == "D2")
    if training is None:
        d3 = "not verifiable here: needs the training run (`cnnref train table18_1`)"
    else:
        acc = {n: m["epochs"][-1]["test_acc"] for n, m in training["models"].items()}
        d3 = ", ".join(f"{n} {a:.1%}" for n, a in acc.items()) + \
            f" test accuracy ({training['epochs']} epochs, {training['data']})"
    return {"D1": d1, "D2": "im2col columns / input bytes: " + d2, "D3": d3}


def d_examples(claims, training) -> list[dict]:
    n = d_notes(claims, training)
    p1 = [c["ours"] for c in claims if c["id"] == "D2" and "documents_p1" in c["what"]]
    return [_ex("D1", "seed 004: loops, numba, im2col", "38.06 s for 10 runs; numba 0.07 s, "
                "more than 500x faster; im2col faster still", n["D1"], None),
            _ex("D2", "seed 003: im2col memory", "the unrolled matrix is k*k = 9 times the "
                "input", n["D2"], bool(p1) and abs(p1[0] - 9.0) < 1e-12,
                "exactly k*k for 'same' padding at stride 1; (Ho*Wo)/(H*W) * k*k in general"),
            _ex("D3", "seed 004: colour classification, test accuracy", "CNN of Table 18-1 "
                "96.3 %; dense net on grey images 81.6 %", n["D3"], None)]


def examples(claims, training) -> list[dict]:
    return b8() + b9() + b10() + a6() + a9() + d_examples(claims, training)


def annotate(row: dict, claims, training) -> None:
    """Attach our D1-D3 counterparts to their formula rows; D2 fails when the measured
    column/input ratio with 'same' padding is not k*k."""
    if row["id"] not in ("D1", "D2", "D3"):
        return
    row["note"] = d_notes(claims, training)[row["id"]]
    if row["id"] == "D2" and row["status"] == "verified":
        ok = [e for e in d_examples(claims, training) if e["id"] == "D2"][0]["agree"]
        if not ok:
            row["status"], row["why"] = "failed", "im2col columns are not k*k times the input"
