"""What `cnnref check` knows about one public function (OpSpec), and the generic part of
restricting a drawn case to what a user's signature accepts. The per-op tables live in
check_ops (convolution, output size, the registry), check_ops_pool (pooling),
check_ops_bn (batch norm) and check_ops_misc (activations, losses, dense).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from cnnref.verification.core.strategies import Case

# Argument forms beyond the core (int padding, int stride): an implementation that raises
# on one of them does not support it (a note, not a failure), as torch refuses asymmetric
# and 'full' padding. Every other exception is a failure.
EXTENSIONS = frozenset({"padding=pair", "padding=same", "padding=valid", "padding=full",
                        "padding=asymmetric", "stride=pair", "dilation=pair", "float32",
                        "kernel_size=pair", "dilation>1 (avg)", "(N, C) input",
                        "4-D input"})


@dataclass(frozen=True)
class OpSpec:
    """How to check one public function.

    positional: the reference's positional arguments, in order (required scalars such as
    kernel_size and dim included: they are passed by position); optional: those that may
    be None; defaults: the keyword arguments and their defaults; outputs: the names of the
    results (one name: the function returns the array itself). strategy(exact) draws a
    strategies.Case; build(case, dtype, family) turns it into a CheckCase; features(args,
    kwargs) names the parts of the argument space a case exercises.

    Optional hooks: fit(case, supported, unsupported) adapts a drawn case after the
    unsupported keywords went back to their defaults (plain argument forms, inputs the
    window still fits); truth(case) replaces the plain reference call; outputs_of(result,
    passed) reads the user's outputs, `passed` being the copies of the arrays handed over
    (batch norm's running statistics updated in place); optional_outputs are compared
    only when the user provides them; applicable(case) drops cases outside the semantics
    the checker holds users to; all_features lists what the report calls (not) covered;
    extra_bounds(args, kwargs) gives the tolerance rules of the optional outputs."""
    name: str
    positional: tuple
    optional: frozenset
    defaults: dict
    outputs: tuple
    examples: Callable
    corners: Callable
    strategy: Callable
    build: Callable
    features: Callable
    random: bool = True          # has float (non-integer) families
    cost: float = 1.0            # share of the time budget
    fit: Callable | None = None
    truth: Callable | None = None
    outputs_of: Callable | None = None
    optional_outputs: frozenset = frozenset()
    applicable: Callable | None = None
    all_features: tuple = ()
    extra_bounds: Callable | None = None

    def kwarg_of(self, feature: str) -> str | None:
        """The keyword (or optional array) a feature needs: its leading name, or an alias.
        Examples: 'dilation>1' -> 'dilation', 'depthwise' -> 'groups', 'non-square' ->
        None (a property of the arrays, not of an argument)."""
        base = feature.replace(">", " ").replace("=", " ").split()[0]
        base = {"depthwise": "groups", "affine": "weight"}.get(base, base)
        return base if base in self.defaults or base in self.optional else None

    def refused_kwargs(self, unsupported) -> set:
        """Keywords to leave at their defaults because the implementation refused a value
        of them (ceil_mode=True, dilation > 1, ...). Argument *forms* (EXTENSIONS: pairs,
        padding strings) are not reset here: the op's fit turns them into plain forms."""
        return {k for f in unsupported if f not in EXTENSIONS
                for k in [self.kwarg_of(f)] if k in self.defaults}

    def restrict(self, case: Case, supported: set, unsupported=()) -> Case:
        """Drop what the user's signature lacks or refused: those keywords go back to their
        defaults (so a draw is not wasted on a case that cannot run), an optional array
        without a slot is left out; then the op's own fit."""
        reset = self.refused_kwargs(unsupported)
        kwargs = {k: (v if (k in supported and k not in reset) or k not in self.defaults
                      else self.defaults[k])
                  for k, v in case.kwargs.items()}
        shapes = {k: (None if k in self.optional and k not in supported else v)
                  for k, v in case.shapes.items()}
        case = replace(case, shapes=shapes, kwargs=kwargs)
        return self.fit(case, supported, unsupported) if self.fit else case


def as64(v):
    """Floating arrays to float64 (the ground truth's precision); integer arrays (class
    targets) and scalars unchanged."""
    if isinstance(v, np.ndarray) and v.dtype.kind == "f":
        return v.astype(np.float64)
    return v


def pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def grad_like(shape, seed: int, exact: bool, dtype) -> np.ndarray:
    """A random upstream gradient (never ones: a sum hides transposed and misrouted
    gradients): integers in [-4, 4] for exact cases, else standard normal."""
    rng = np.random.default_rng(seed + 1)
    g = rng.integers(-4, 5, shape) if exact else rng.standard_normal(shape)
    return np.asarray(g).astype(dtype)
