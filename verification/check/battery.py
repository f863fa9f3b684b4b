"""The battery of one function: worked examples, corner cases, exact integers, hypothesis
(float64, then float32), cheapest first, stopping at the first failure, which hypothesis
then shrinks to the smallest failing case within a time budget; after a failure, every
feature is run on its own (check/sweep.py), so the report can say what else is wrong,
what crashes and what is right.

Refusal means "not covered": a NotImplementedError refuses the argument values of its
case (any keyword, int padding and stride included), a declared assumption (the module's
ASSUME or `--assume padding=0`) refuses a keyword's other values up front, and the
battery goes on with the rest. A module that refuses every worked example fails.

Runs inside the worker process of check_runner; `beat(label)` tells the parent a call is
starting, so a hung call is killed after the per-call timeout.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, seed as hyp_seed, settings

from cnnref.verification.check.isolation import (describe_exception, mutated_arguments,
                                                 pristine, user_state)
from cnnref.verification.check.protocol import Accepts, Outcome
from cnnref.verification.core.cases import FAMILIES, Case, as_float32
from cnnref.verification.core.compare import Failure, WrongType, as_array, compare
from cnnref.verification.operators.op import EXTENSIONS, Op
from cnnref.verification.operators.registry import allowed_errors, reference_outputs

# Every hypothesis family runs at least this many cases, even past its soft time budget
# (a slow pure-Python implementation must still meet the random cases), unless the hard
# deadline of the whole check has passed.
MIN_CASES = 4


@dataclass
class Options:
    max_examples: int = 30
    seed: int = 0
    budget: float = 10.0            # soft seconds for this function's hypothesis families
    hard_deadline: float = float("inf")   # time.monotonic() after which no case starts
    assume: dict = field(default_factory=dict)   # keyword -> the only value to test


@dataclass
class State:
    """What one function's battery has learned so far."""
    spec: Op
    fn: object
    accepts: Accepts
    beat: object
    supported: set = field(default_factory=set)
    unsupported: dict = field(default_factory=dict)     # feature -> why
    covered: dict = field(default_factory=dict)         # feature -> cases checked
    checked: dict = field(default_factory=dict)         # family -> cases checked
    notes: list = field(default_factory=list)
    failure: Outcome | None = None
    failure_family: str | None = None
    float32_only: bool = False      # its module lists it in FLOAT32_ONLY
    per_feature: dict | None = None     # after a failure: check/sweep.py's summary


def _known_combination(state: State, key: str) -> bool:
    """Is `key` a refused combination containing one refused before? (Noted once.)"""
    if not key.startswith(COMBINATION):
        return False
    mine = set(key[len(COMBINATION):].split(" + "))
    return any(set(k[len(COMBINATION):].split(" + ")) <= mine
               for k in state.unsupported if k.startswith(COMBINATION))


def supported_args(spec: Op, accepts: Accepts) -> set:
    config = frozenset(spec.defaults)
    names = {k for k in spec.defaults if accepts.kwarg(k)}
    names |= {a for i, a in enumerate(spec.positional)
              if a in spec.optional and accepts.position(i, a, config)}
    return names


def is_default(value, default) -> bool:
    try:
        return type(value) is type(default) and bool(value == default)
    except (TypeError, ValueError):
        return False


def _user_call(state: State, case: Case):
    """Only what the signature accepts: restricted keywords were reset to defaults for the
    truth and are not passed; a missing optional slot is left out. A keyword at torch's
    default is left out too (unless the signature requires it), so the implementation's
    own defaults are what is tested (a max_pool2d whose stride defaults to 1, a
    batch_norm defaulting to training=True fail) and a `(*args, **kwargs)` wrapper is not
    handed keywords its inner function lacks. Returns the result and the copies of the
    arguments that were passed (to see in-place updates)."""
    args = {k: v for k, v in case.args.items()
            if k not in state.spec.optional or k in state.supported}
    kwargs = {k: v for k, v in case.kwargs.items() if k in state.supported and (
        k in state.accepts.required or not is_default(v, state.spec.defaults.get(k)))}
    passed = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in args.items()}
    with user_state():
        return state.fn(*passed.values(), **kwargs), passed


def _outputs(spec: Op, result, passed: dict, case: Case) -> dict:
    if spec.outputs_of is not None:
        return spec.outputs_of(result, passed, case)
    if len(spec.outputs) == 1:
        return {spec.outputs[0]: result}
    if not isinstance(result, (tuple, list)):
        raise WrongType(f"returned a {type(result).__name__}, expected a tuple "
                        f"{spec.outputs}")
    return dict(zip(spec.outputs, result))


def evaluate(state: State, case: Case) -> Outcome:
    """Run one case: the ground truth, the user's call, the comparison of every output."""
    spec = state.spec
    case = as_float32(case) if state.float32_only else case
    with pristine():
        truth = reference_outputs(spec, case)
    state.beat(case.label)
    try:
        result, passed = _user_call(state, case)
    except BaseException as exc:   # noqa: BLE001 - SystemExit, KeyboardInterrupt: the user's
        blame = refusable(state, case, isinstance(exc, NotImplementedError))
        why = describe_exception(exc)
        if blame:
            return Outcome(case, unsupported=why, blame=frozenset(blame))
        return Outcome(case, Failure("raised", "-", f"raised {why}"))
    changed = mutated_arguments(passed, case.args, spec.optional_outputs)
    if changed:
        return Outcome(case, mutation_failure(spec.name, changed), truth=truth, wrong=changed)
    with pristine():
        return _judge(state, case, result, passed, truth)


def mutation_failure(name: str, changed: list) -> Failure:
    args = ", ".join(repr(c) for c in changed)
    return Failure("mutated", changed[0], f"{name} modified its input argument(s) {args} in "
                   "place; a layer's backward pass reads the forward input again, so an "
                   "in-place update corrupts it (work on a copy, or return new arrays)")


def _judge(state: State, case: Case, result, passed: dict, truth: dict) -> Outcome:
    """Compare what the user's call returned with the ground truth, output by output."""
    spec = state.spec
    try:
        got = _outputs(spec, result, passed, case)
    except WrongType as exc:
        return Outcome(case, Failure("type", "-", str(exc)), truth=truth, wrong=["-"])
    except Exception as exc:       # noqa: BLE001 - the user's result object raised
        return Outcome(case, Failure("type", "-", "its result could not be read: "
                                     + describe_exception(exc)), truth=truth, wrong=["-"])
    allowed = allowed_errors(spec, case, truth)
    outputs, first = {}, None
    for name, want in truth.items():
        if want is None:           # grad_bias without a bias: anything goes
            continue
        if name in spec.optional_outputs and got.get(name) is None:
            continue               # e.g. running statistics neither returned nor updated
        failure = None
        if got.get(name) is None:
            failure = Failure("missing", name, f"{name} is missing (None), but should be "
                              "an array")
        else:
            try:
                outputs[name] = as_array(got[name])
                failure = compare(name, outputs[name], np.asarray(want), allowed[name])
            except WrongType as exc:
                failure = Failure("type", name, f"{name}: {exc}")
            except Exception as exc:   # noqa: BLE001 - an __array__ of the user's raised
                if name in outputs:
                    raise
                failure = Failure("type", name, f"{name} could not be read as an array: "
                                  + describe_exception(exc))
        if failure is not None:
            first = first or failure
            outputs.setdefault("__wrong__", []).append(name)
    wrong = outputs.pop("__wrong__", [])
    extra = frozenset(f"{n} compared" for n in spec.optional_outputs if got.get(n) is not None)
    return Outcome(case, first, outputs=outputs, truth=truth, allowed=allowed, wrong=wrong,
                   features=extra)


def usable(state: State, case: Case) -> bool:
    """A case runs when the signature takes its arguments and its features are supported."""
    for k, v in case.kwargs.items():
        if k not in state.supported and v != state.spec.defaults[k]:
            return False
    for k in state.spec.optional:
        if case.args.get(k) is not None and k not in state.supported:
            return False
    if state.spec.applicable is not None and not state.spec.applicable(case):
        return False
    if any(state.spec.requires[f] not in state.supported
           for f in case.features & set(state.spec.requires)):
        return False
    return not (case.features & set(state.unsupported))


def record(state: State, outcome: Outcome, family: str) -> bool:
    """Book-keeping after one case; True when the function has failed."""
    case = outcome.case
    if outcome.unsupported:
        for f in outcome.blame:
            if not _known_combination(state, f):
                state.unsupported.setdefault(f, outcome.unsupported)
        return False
    state.checked[family] = state.checked.get(family, 0) + 1
    for f in case.features | outcome.features | ({"exact integers"} if case.exact else set()):
        state.covered[f] = state.covered.get(f, 0) + 1
    if outcome.failure:
        state.failure, state.failure_family = outcome, family
        return True
    return False


# What every implementation must do unless it says it does not: int stride and padding,
# a bias (when its signature has one), the default stride. Refusing them by any exception
# but NotImplementedError is a failure, not a limitation.
CORE = frozenset({"stride>1", "padding>0", "bias", "stride=None (kernel)"})


def refusable(state: State, case: Case, not_implemented: bool) -> set:
    """The features a refusal of `case` (an exception) may be put down to; none means the
    refusal is a failure. Its probe, if it has one. Else, for NotImplementedError, its
    argument features (those tied to a keyword or an optional array: padding>0,
    stride>1, bias, ceil_mode, dilation>1, argument forms ...) that no accepted case has
    covered yet; for any other exception only the argument forms of EXTENSIONS (pairs,
    padding strings, float32), which torch itself refuses in part. Never properties of
    the arrays (batch>1, non-square, overlapping windows, large values): refusing those
    is not a limitation an implementation may have."""
    if case.probe:
        return {case.probe}
    alone = {f for f in case.features if not state.covered.get(f) and (
        f in EXTENSIONS or (not_implemented and state.spec.kwarg_of(f)))}
    if alone or not not_implemented:
        return alone
    # every argument feature of the case ran on its own: the combination is refused
    # (kernel_size=(1, 2) with stride=None, a pair stride the layer cannot take)
    arguments = sorted(f for f in case.features if f != "float32" and (
        f in EXTENSIONS or state.spec.kwarg_of(f)))
    return {COMBINATION + " + ".join(arguments)} if arguments else set()


COMBINATION = "combination: "


DECLARED = "declared: "


def declare(state: State, assume: dict):
    """Pre-refuse the features of each assumed keyword (its value must be the keyword's
    default: `padding=0`, `bias=None`, `ceil_mode=False`, ...); an assumption the function
    has no keyword for is ignored, one away from the default is a note."""
    spec = state.spec
    for key, value in assume.items():
        if key not in spec.defaults and key not in spec.optional:
            continue
        if key in spec.defaults and value != spec.defaults[key]:
            state.notes.append(f"assumption {key}={value!r} ignored: only a keyword's "
                               f"default ({spec.defaults[key]!r}) can be assumed")
            continue
        for f in spec.all_features:
            if spec.kwarg_of(f) == key:
                state.unsupported.setdefault(f, f"{DECLARED}{key}={value!r} assumed")
        if key in spec.optional:
            state.supported.discard(key)


def fit_signature(state: State, case: Case) -> Case:
    """A fixed case for a signature without one of its optional arrays (a conv2d without
    `bias`): the case without it, its features recomputed, rather than no case at all."""
    absent = [k for k in state.spec.optional
              if case.args.get(k) is not None and k not in state.supported]
    if not absent:
        return case
    args = {k: None if k in absent else v for k, v in case.args.items()}
    spec = state.spec
    features = (case.features - spec.features(case.args, case.kwargs)) | \
        spec.features(args, case.kwargs)
    return replace(case, args=args, features=frozenset(features))


def run_fixed(state: State, family: str, cases) -> bool:
    refused = None
    for case in cases:
        case = fit_signature(state, case)
        if not usable(state, case):
            continue
        outcome = evaluate(state, case)
        refused = refused or (outcome if outcome.unsupported else None)
        if record(state, outcome, family):
            return True
    if family == "examples" and refused is not None and not state.checked.get(family):
        # refusing the documents' worked examples is not a limitation: nothing is left
        state.failure, state.failure_family = replace(refused, failure=Failure(
            "raised", "-", f"refused every worked example of the documents: raised "
            f"{refused.unsupported}"), unsupported=None), family
        return True
    return False


class _Failed(Exception):
    pass


@dataclass
class _Clock:
    """The time budget of one hypothesis family: the soft deadline (after MIN_CASES
    cases), the shrink budget that starts with the first failure, the hard deadline."""
    deadline: float
    hard_deadline: float
    shrink_until: float | None = None
    run: int = 0
    cut: int = 0

    def admits(self) -> bool:
        """Whether a new case may start now (counted as run, or as cut)."""
        now = time.monotonic()
        limit = self.shrink_until or self.deadline
        if (now > limit and (self.run >= MIN_CASES or self.shrink_until)) \
                or now > self.hard_deadline:
            self.cut += 1
            return False
        self.run += 1
        return True


def _property(state: State, family: str, clock: _Clock, budget: float):
    """The hypothesis property of one family: build the drawn case for the user's
    signature, run it once (memoised by its label, so shrinking replays a case seen
    before), raise _Failed on a failure."""
    spec = state.spec
    dtype = "float32" if family == "float32" else "float64"
    memo: dict = {}

    def prop(raw):
        case = spec.build(spec.restrict(raw, state.supported - refused_arrays(state),
                                        state.unsupported), dtype, family)
        if case.label not in memo:
            if not usable(state, case) or not clock.admits():
                return
            memo[case.label] = evaluate(state, case)
            if memo[case.label].failure is None:
                record(state, memo[case.label], family)
        outcome = memo[case.label]
        if outcome.failure is not None:
            if clock.shrink_until is None:
                clock.shrink_until = time.monotonic() + max(3.0, budget / 2)
            state.failure, state.failure_family = outcome, family
            raise _Failed()
    return prop


def refused_arrays(state: State) -> set:
    """The optional arrays (bias) refused so far: drawn cases leave them out."""
    return {state.spec.kwarg_of(f) for f in state.unsupported} & set(state.spec.optional)


def _hypothesis_test(strategy, prop, max_examples: int):
    return settings(max_examples=max_examples, deadline=None, database=None,
                    derandomize=False, suppress_health_check=list(HealthCheck),
                    report_multiple_bugs=False, phases=[Phase.generate, Phase.shrink],
                    verbosity=Verbosity.quiet, print_blob=False)(given(strategy)(prop))


def run_hypothesis(state: State, family: str, opts: Options, deadline: float) -> bool:
    """One hypothesis family. Past the deadline no new case is run (it counts as passing),
    and shrinking stops when its own budget is spent: a case seen before replays its
    memoised outcome, so hypothesis always ends on the smallest failure it has seen."""
    clock = _Clock(deadline, opts.hard_deadline)
    n = max(1, opts.max_examples // 2) if family == "float32" else opts.max_examples
    test = _hypothesis_test(state.spec.strategy(family == "exact"),
                            _property(state, family, clock, opts.budget), n)
    try:
        hyp_seed(opts.seed * 7919 + FAMILIES.index(family))(test)()
    except _Failed:
        pass
    except Exception as exc:     # Flaky (a non-deterministic implementation) and the like
        if state.failure is None:
            raise
        state.notes.append(f"hypothesis: {type(exc).__name__} while shrinking")
    if clock.cut and clock.shrink_until is None:
        state.notes.append(f"{family}: {clock.run} cases ran before the time budget "
                           f"was spent ({clock.cut} drawn cases not run)")
    if state.failure is not None:
        record_failure_coverage(state, family)
        return True
    return False


def record_failure_coverage(state: State, family: str):
    state.checked[family] = state.checked.get(family, 0) + 1


def run_battery(spec: Op, fn, accepts: Accepts, opts: Options, beat,
                float32_only: bool = False) -> State:
    """The battery of one function; a float32_only one gets every case in float32 (its
    inputs rounded, float32 bounds)."""
    state = State(spec, fn, accepts, beat, float32_only=float32_only)
    state.supported = supported_args(spec, accepts)
    declare(state, opts.assume)
    if _battery(state, opts):
        from cnnref.verification.check.sweep import per_feature
        state.per_feature = per_feature(state, opts)
    return state


def _battery(state: State, opts: Options) -> bool:
    """The families in turn, cheapest first; True at the first failure."""
    start = time.monotonic()
    if run_fixed(state, "examples", state.spec.examples()) or \
            run_fixed(state, "corners", state.spec.corners()):
        return True
    families = ["exact"] + (["random", "float32"] if state.spec.random else [])
    for i, family in enumerate(families):
        # later families get what the earlier ones left of the budget
        left = opts.budget - (time.monotonic() - start)
        deadline = time.monotonic() + left / (len(families) - i)
        if run_hypothesis(state, family, opts, deadline):
            return True
    return False


def missing_features(state: State, all_features) -> dict:
    """feature -> why it was not covered."""
    out = {f: f"unsupported: {why}" for f, why in state.unsupported.items()
           if f.startswith(COMBINATION)}
    for f in all_features:
        need = state.spec.requires.get(f) or state.spec.kwarg_of(f)
        if state.covered.get(f):
            continue
        if f in state.unsupported:
            why = state.unsupported[f]
            out[f] = why if why.startswith(DECLARED) else f"unsupported: {why}"
        elif need and need not in state.supported:
            out[f] = f"'{need}' not in the signature"
        elif f.endswith(" compared") and not state.failure:
            out[f] = "neither returned nor updated in place"
        else:
            out[f] = ("not reached: stopped at the first failure" if state.failure
                      else "not reached")
    return out
