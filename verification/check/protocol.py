"""`cnnref check`: verify anyone's implementation against the reference.

The protocol. An implementation is a Python module (a file path or a dotted name) that
defines any subset of the reference's public functions (`conv2d`, `conv2d_backward`,
`conv_output_size`, ...) with the same names and signatures. Inputs are NumPy arrays;
outputs are anything `numpy.asarray` accepts (CPU torch tensors included). A function the
module does not define is skipped; a keyword argument its signature does not accept
(`inspect.signature`; `**kwargs` accepts all) is never passed, so a module without
`dilation` is tested without dilation, and the report lists what was not covered. A
keyword at torch's default is not passed either, unless the signature requires it: the
implementation's own defaults are checked too.

This module holds the protocol: loading, signatures, calling, the outcome of one case.
The battery (battery.py), the process isolation (runner.py), the diagnosis
(diagnose.py) and the rendering (report.py) build on it; the cases come from the operator
registry (verification/operators/) and the comparison from verification/core/compare.py.
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from dataclasses import dataclass, field

import numpy as np

from cnnref.verification import frameworks
from cnnref.verification.core.cases import Case
from cnnref.verification.core.compare import Failure


class ImplError(Exception):
    """The implementation could not be loaded (a usage error: exit status 2)."""


def _builtin(spec: str) -> str:
    """A built-in adapter by its short name ('jax') or its file: its dotted name, so that
    frameworks/jax.py is never imported as a top-level `jax` shadowing the framework."""
    path = os.path.abspath(spec)
    folder = os.path.dirname(frameworks.__file__)
    if os.path.isfile(path) and os.path.dirname(path) == folder:
        return f"{frameworks.__name__}.{os.path.splitext(os.path.basename(path))[0]}"
    return frameworks.resolve(spec)


def load_impl(spec: str):
    """Import `spec`: a built-in framework's short name (`jax`, `onnxruntime`, ...: see
    cnnref.verification.frameworks), a .py file, a package directory, or a dotted module
    name."""
    fw = frameworks.FRAMEWORKS.get(spec)
    if fw is not None and not fw.installed:
        raise ImplError(f"{spec} is not installed (pip install 'cnnref[{fw.extra}]')")
    spec = _builtin(spec)
    path = os.path.abspath(spec)
    if not (os.path.isfile(path) or os.path.isdir(path)) and _looks_like_a_path(spec):
        raise ImplError(f"{spec}: no such file or directory (cwd {os.getcwd()})")
    try:
        if os.path.isfile(path) or os.path.isdir(path):
            return _load_path(path)
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        return importlib.import_module(spec)
    except ImplError:
        raise
    except BaseException as exc:   # the user's module may raise anything, SystemExit too
        raise ImplError(f"cannot import {spec!r}: {type(exc).__name__}: {exc}") from exc


def _looks_like_a_path(spec: str) -> bool:
    """'examples/my_conv.py', './impl', 'impl.py' are paths; 'my_pkg.conv' is a module."""
    return spec.endswith(".py") or os.sep in spec or "/" in spec or spec.startswith(".")


def _load_path(path: str):
    if os.path.isdir(path):
        init = os.path.join(path, "__init__.py")
        if not os.path.isfile(init):
            raise ImplError(f"{path} is a directory without __init__.py")
        name, location, search = os.path.basename(path), init, [path]
    else:
        name = os.path.splitext(os.path.basename(path))[0]
        location, search = path, None
    parent = os.path.dirname(path)
    if parent not in sys.path:     # so that the module's own sibling imports work
        sys.path.insert(0, parent)
    spec = importlib.util.spec_from_file_location(name, location,
                                                  submodule_search_locations=search)
    if spec is None or spec.loader is None:
        raise ImplError(f"{path} is not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Accepts:
    """What a user function's signature accepts."""
    names: frozenset
    positional: tuple          # names of positional parameters, in order
    var_positional: bool
    var_keyword: bool
    required: frozenset = frozenset()   # named parameters without a default

    def kwarg(self, name: str) -> bool:
        return self.var_keyword or name in self.names

    def position(self, index: int, name: str, config: frozenset) -> bool:
        """Can the reference's positional argument `name` (at `index`) be passed? Yes when
        the user's parameter there exists and is not one of the config keywords (a
        `conv2d(x, w, stride=1)` has no bias slot)."""
        if name in self.names:
            return True
        if index < len(self.positional):
            return self.positional[index] not in config
        return self.var_positional


def accepts_of(fn) -> Accepts:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):     # a builtin without a signature: assume it all
        return Accepts(frozenset(), (), True, True)
    kinds = inspect.Parameter
    positional = tuple(p.name for p in params
                       if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD))
    names = frozenset(p.name for p in params
                      if p.kind in (kinds.POSITIONAL_OR_KEYWORD, kinds.KEYWORD_ONLY))
    required = frozenset(p.name for p in params if p.name in names
                         and p.default is inspect.Parameter.empty)
    return Accepts(names, positional, any(p.kind == kinds.VAR_POSITIONAL for p in params),
                   any(p.kind == kinds.VAR_KEYWORD for p in params), required)


def call_case(fn, case: Case):
    """Call the user's function on fresh copies of the inputs (an implementation that
    writes into its inputs must not corrupt the ground truth)."""
    args = [v.copy() if isinstance(v, np.ndarray) else v for v in case.args.values()]
    kwargs = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in case.kwargs.items()}
    return fn(*args, **kwargs)


@dataclass
class Outcome:
    """The result of one case: failure None means it agreed. `outputs` (the user's
    arrays) and `truth` are kept for the diagnosis and dropped before reporting."""
    case: Case
    failure: Failure | None = None
    unsupported: str | None = None
    blame: frozenset = frozenset()                 # the features a refusal is put down to
    outputs: dict = field(default_factory=dict)
    truth: dict = field(default_factory=dict)
    allowed: dict = field(default_factory=dict)
    wrong: list = field(default_factory=list)      # names of the outputs that disagree
    features: frozenset = frozenset()              # covered by what the user returned
