"""Built-in adapters: one module per framework, each a faithful translation of that
framework's CNN operators to the `cnnref check` protocol (the reference's names and
signatures, NumPy arrays in NCHW), with gradients from the framework's own autodiff.

An adapter translates, it never fixes the maths: layouts (NCHW <-> NHWC), padding forms
(an int, a pair, ((top, bottom), (left, right)), 'same' / 'valid' to the framework's own
named form where it has one, 'full' to explicit pads), ceil_mode, count_include_pad,
dilation, groups, and `*_backward(grad_out, <same inputs>)` as the framework's
vector-Jacobian product with that upstream gradient. It raises NotImplementedError only
where the framework's documentation says a feature is unsupported (the message cites it);
otherwise the framework's own error is what the matrix records. A function the framework
lacks is not defined (forward-only frameworks define no `*_backward`).

Module attributes an adapter may set:
  FLOAT32_ONLY  names of the functions whose kernels exist only in float32 (documented);
                they are called with float32 inputs and judged by float32 bounds
  NOTES         {function: why it is not defined, or what the translation had to choose}

Each adapter module's top level holds only imports, framework configuration (JAX's
float64 switch) and small constants, and its functions only use those and each other:
the matrix's reproductions copy a function, what it calls and that top level into a
snippet that runs the framework directly, without cnnref's adapter.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True)
class Framework:
    """One framework: `name` on the command line, the adapter `module`, the import
    `package` whose presence means installed, its `distribution` (for the version) and
    the pyproject extra that installs it."""
    name: str
    module: str
    package: str
    distribution: str
    extra: str
    forward_only: bool = False

    @property
    def installed(self) -> bool:
        try:
            return importlib.util.find_spec(self.package) is not None
        except (ImportError, ValueError):
            return False

    @property
    def version(self) -> str | None:
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return None


_PKG = "cnnref.verification.frameworks"
FRAMEWORKS: dict[str, Framework] = {f.name: f for f in (
    Framework("torch", f"{_PKG}.torch_cpu", "torch", "torch", "(core)"),
    Framework("jax", f"{_PKG}.jax", "jax", "jax", "jax"),
    Framework("tensorflow", f"{_PKG}.tensorflow", "tensorflow", "tensorflow-cpu",
              "tensorflow"),
    Framework("onnxruntime", f"{_PKG}.onnxruntime", "onnxruntime", "onnxruntime", "onnx",
              forward_only=True),
    Framework("onnx-reference", f"{_PKG}.onnx_reference", "onnx", "onnx", "onnx",
              forward_only=True),
    Framework("tinygrad", f"{_PKG}.tinygrad", "tinygrad", "tinygrad", "tinygrad"),
    Framework("mlx", f"{_PKG}.mlx", "mlx", "mlx", "mlx"),
    Framework("paddle", f"{_PKG}.paddle", "paddle", "paddlepaddle", "paddle"),
)}


def resolve(spec: str) -> str:
    """A framework's short name ('jax') to its adapter module; anything else unchanged
    (a file path or a dotted module name of the user's own)."""
    framework = FRAMEWORKS.get(spec)
    return framework.module if framework else spec
