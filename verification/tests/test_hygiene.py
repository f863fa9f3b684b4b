"""Project rules that a reviewer would otherwise check by hand: reference/ imports NumPy
only, and no reference function writes into its inputs."""
from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from cnnref import reference as ref

REFERENCE_DIR = pathlib.Path(ref.__file__).parent
STDLIB_OK = {"__future__", "dataclasses", "math", "numbers", "typing", "functools",
             "itertools", "collections", "re", "enum", "operator", "warnings", "json",
             "textwrap", "string"}


def _imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(REFERENCE_DIR.glob("*.py")), ids=lambda p: p.name)
def test_reference_imports_numpy_and_stdlib_only(path):
    foreign = _imports(path) - STDLIB_OK - {"numpy"}
    assert not foreign, f"{path.name} imports {sorted(foreign)}, but reference/ may import numpy only"


def test_importing_reference_does_not_import_torch():
    code = "import sys, cnnref.reference; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False", "importing reference pulled in torch"


def _frozen(*arrays):
    out = []
    for a in arrays:
        a = np.array(a)
        a.setflags(write=False)   # any in-place write now raises ValueError
        out.append(a)
    return out


@pytest.mark.parametrize("algorithm", ref.ALGORITHMS)
@pytest.mark.parametrize("method", ("auto",) + ref.BACKWARD_METHODS)
def test_conv_functions_do_not_mutate_inputs(algorithm, method):
    rng = np.random.default_rng(0)
    wino = algorithm in ref.WINOGRAD_TILES           # 3x3 kernels at stride 1 only
    x, w, b = _frozen(rng.standard_normal((2, 4, 6, 5)),
                      rng.standard_normal((4, 2, 3, 3) if wino else (4, 2, 3, 2)),
                      rng.standard_normal(4))
    copies = [x.copy(), w.copy(), b.copy()]
    kw = dict(stride=(2, 1), padding=((1, 0), (2, 1)), dilation=(1, 2), groups=2)
    if wino:
        kw.update(stride=1, dilation=1)
    out = ref.conv2d(x, w, b, **kw, algorithm=algorithm)
    (g,) = _frozen(rng.standard_normal(out.shape))
    ref.conv2d_backward(g, x, w, b, **kw, method=method)
    for before, after, name in zip(copies, (x, w, b), ("x", "weight", "bias")):
        assert np.array_equal(before, after), f"{name} changed"
