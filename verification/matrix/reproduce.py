"""Copy-paste reproductions of a cell's smallest case.

For a built-in adapter the snippet runs the framework directly: it carries the adapter
function's own source, the module-level functions it calls (transitively) and the
module's top level (imports, configuration, constants), so a reader can see and run the
exact framework calls without cnnref's adapter; a sibling helper module it imports
(frameworks/_onnx.py) is carried whole. For any other implementation the checker's own
reproduction (load_impl and the call) is used. Both end by printing the largest
difference from cnnref.reference.
"""
from __future__ import annotations

import ast
import importlib.util

from cnnref.verification.check.diagnose import _literal, repro_snippet

_PACKAGE = "cnnref.verification.frameworks"


def _top_level(tree: ast.Module, source: str) -> tuple[list, dict]:
    """The module's statements other than function definitions (the docstring left out),
    and its functions by name."""
    keep, functions = [], {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            functions[node.name] = ast.get_source_segment(source, node)
        elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            keep.append(node)
    return keep, functions


def _closure(name: str, functions: dict) -> list:
    """`name` and every module function it refers to, callees first."""
    order, todo = [], [name]
    while todo:
        current = todo.pop()
        if current in order:
            continue
        order.append(current)
        used = {n.id for n in ast.walk(ast.parse(functions[current])) if isinstance(n, ast.Name)}
        todo += sorted(u for u in used if u in functions and u not in order)
    return order[::-1]


def _sibling(node, source: str) -> str:
    """An import of a sibling helper module, replaced by the module itself."""
    for alias in node.names:
        if isinstance(node, ast.ImportFrom) and node.module in (_PACKAGE, None):
            name = alias.asname or alias.name
            text = _source(f"{_PACKAGE}.{alias.name}")
            return (f"import types\n{name} = types.ModuleType({name!r})\n"
                    f"exec({text!r}, {name}.__dict__)")
    return ast.get_source_segment(source, node)


def _source(module: str) -> str:
    """A module's source, read without importing it (nor its framework)."""
    with open(importlib.util.find_spec(module).origin) as f:
        return f.read()


def _is_sibling(node) -> bool:
    return isinstance(node, ast.ImportFrom) and (node.module == _PACKAGE or bool(node.level))


def _head(node, source: str) -> str:
    """One top-level statement of the adapter; a sibling import, bare or as the first
    branch of `try: from . import _onnx / except ImportError: import _onnx` (the adapter
    loadable from its file path too), becomes the sibling module itself."""
    if _is_sibling(node):
        return _sibling(node, source)
    if isinstance(node, ast.Try) and node.body and _is_sibling(node.body[0]):
        return _sibling(node.body[0], source)
    return ast.get_source_segment(source, node)


def adapter_source(module: str, name: str) -> str:
    """The standalone source of one adapter function (see the module docstring)."""
    source = _source(module)
    tree = ast.parse(source)
    keep, functions = _top_level(tree, source)
    head = [_head(n, source) for n in keep
            if not (isinstance(n, ast.ImportFrom) and n.module == "__future__")]
    return "\n".join(head) + "\n\n\n" + "\n\n\n".join(functions[f] for f in
                                                      _closure(name, functions))


def reproduction(impl: str, spec, case, builtin: bool) -> str:
    """The snippet for `case` of function `spec` (an Op) run by `impl`."""
    if not builtin:
        return repro_snippet(impl, spec, case, set(spec.defaults) | set(spec.optional))
    lines = [f"# {spec.name} through {impl.rsplit('.', 1)[-1]}, without cnnref's adapter: "
             "its code, then the case", adapter_source(impl, spec.name),
             "", "", "import numpy as np", "from numpy import inf, nan  # the arrays' literals",
             "from cnnref import reference as ref"]
    names = []
    for k, v in case.args.items():
        lines.append(f"{k} = {_literal(v)}")
        names.append(k)
    call = ", ".join(names + [f"{k}={v!r}" for k, v in case.kwargs.items()])
    lines += [f"got = {spec.name}({call})", f"want = ref.{spec.name}({call})",
              "if not isinstance(want, tuple):   # batch_norm may also return its statistics",
              "    got, want = (got[0] if isinstance(got, tuple) else got,), (want,)",
              "for g, w in zip(got, want):",
              "    if w is not None:",
              "        print(np.asarray(g), '\\n', w)",
              "        print('max |got - want|:', np.max(np.abs(np.asarray(g, dtype=np.float64) - w)))"]
    return "\n".join(lines)
