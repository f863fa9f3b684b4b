"""One registry entry (`Op`): everything the project knows about one public function of
the reference, for the test harness, `cnnref check` and the benchmarks alike, and the
generic part of restricting a drawn case to what a user's signature accepts.

The entries live beside their cases, one file per operator family (conv.py, pooling.py,
batchnorm.py, misc.py, lenet.py); registry.py gathers them into REGISTRY.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

from cnnref import reference as ref
from cnnref.verification.core.cases import Case

# Argument forms beyond the core (int padding, int stride): an implementation that raises
# on one of them does not support it (a note, not a failure), as torch refuses asymmetric
# and 'full' padding. Every other exception is a failure.
EXTENSIONS = frozenset({"padding=pair", "padding=same", "padding=valid", "padding=full",
                        "padding=asymmetric", "stride=pair", "dilation=pair", "float32",
                        "kernel_size=pair", "dilation>1 (avg)", "(N, C) input",
                        "4-D input", "kernel_size=tuple", "stride=tuple", "padding=tuple",
                        "dilation=tuple", "output_padding=tuple", "output_size=tuple",
                        "probability targets",
                        "(N, C, d1, ...) input"})


@dataclass(frozen=True)
class Op:
    """One public function of the reference (a forward op, or its `_backward`).

    Its arguments: positional, the reference's positional arguments in order (required
    scalars such as kernel_size and dim included); optional, the arrays that may be None;
    defaults, the keyword arguments and their defaults; outputs, the names of the results
    (one name: the function returns the array itself).

    Its twins and bounds: torch(torch_module, *tensors, **kwargs), the PyTorch twin of a
    forward op (it is handed the torch module, so that the registry, which every checker
    worker imports, never imports torch); differentiable, the inputs with gradients;
    backward, the name of the backward entry; rule(*inputs, **kwargs) -> {output: Bound},
    the tolerance rule of verification/core/tolerances.py (None: exact, allowed error 0).

    Its cases (for `cnnref check`; None: not checkable): examples() and corners() give
    fixed cases; strategy(exact) draws a Case; build(case, dtype, family) turns it into a
    call; features(args, kwargs) names the parts of the argument space a call exercises;
    all_features lists what the report calls (not) covered; random: has float families;
    cost: share of the time budget.

    Optional hooks: fit(case, supported, unsupported) adapts a drawn case after the
    unsupported keywords went back to their defaults (plain argument forms, inputs the
    window still fits); truth(case) replaces the plain reference call; outputs_of(result,
    passed, case) reads the user's outputs, `passed` being the copies of the arrays handed
    over (batch norm's running statistics updated in place); optional_outputs are compared
    only when the user provides them; applicable(case) drops cases outside the semantics
    the checker holds users to; extra_bounds(args, kwargs) gives the tolerance rules of the
    optional outputs; mutants, the classic mistakes behind the diagnosis
    (verification/mutants/); truth_kwargs, see ground_truth; requires: feature -> the
    keyword without which a case with that feature means something else (a target equal
    to the default ignore_index is a class index to a signature without ignore_index):
    such cases run only where the signature has the keyword."""
    name: str
    positional: tuple
    optional: frozenset = frozenset()
    defaults: dict = field(default_factory=dict)
    outputs: tuple = ("out",)
    examples: Callable | None = None
    corners: Callable | None = None
    strategy: Callable | None = None
    build: Callable | None = None
    features: Callable | None = None
    random: bool = True
    cost: float = 1.0
    fit: Callable | None = None
    truth: Callable | None = None
    outputs_of: Callable | None = None
    optional_outputs: frozenset = frozenset()
    applicable: Callable | None = None
    all_features: tuple = ()
    extra_bounds: Callable | None = None
    torch: Callable | None = None
    differentiable: tuple = ()
    backward: str | None = None
    rule: Callable | None = None
    mutants: dict | None = None
    matrix_draws: Callable | None = None
    truth_kwargs: dict = field(default_factory=dict)
    requires: dict = field(default_factory=dict)

    @property
    def reference(self) -> Callable:
        """The reference function itself: cnnref.reference.<name>."""
        return getattr(ref, self.name)

    def ground_truth(self, *args, **kwargs):
        """The reference call that is the ground truth: with `truth_kwargs`, the keywords
        that pin a direct sum (conv2d: algorithm='im2col'), whatever 'auto' would pick
        for speed (Winograd is faster and less accurate)."""
        return self.reference(*args, **kwargs, **self.truth_kwargs)

    @property
    def checkable(self) -> bool:
        return self.strategy is not None

    def bounds(self, *args, **kwargs) -> dict:
        """The error model (tolerances.Bound) of every output on these inputs; {} for an
        exact op."""
        return {} if self.rule is None else self.rule(*args, **kwargs)

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
