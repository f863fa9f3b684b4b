"""layer_norm, group_norm, instance_norm, nll_loss and the full cross_entropy (weights,
ignore_index, reductions, label smoothing, probability targets) against PyTorch with a
random upstream gradient in float64 and float32, against central differences, against
each other (group norm with one group per channel is instance norm, cross_entropy is
nll_loss of log_softmax), the formulas by hand, and bad input."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

from cnnref import reference as ref
from cnnref.verification.core.cases import call_repr, make_arrays
from cnnref.verification.core.compare import assert_close
from cnnref.verification.core.tolerances import central_difference_allowed
from cnnref.verification.harness import check_against_torch
from cnnref.verification.operators.norms_losses import loss_arrays, loss_cases, norm_cases

DTYPES = [np.float64, np.float32]
IDS = ["float64", "float32"]


def _norm_arrays(case, kind):
    """The positional arguments in order (normalized_shape / num_groups after x), and the
    remaining keyword arguments."""
    a = make_arrays(case)
    if a.get("running_var") is not None:
        a["running_var"] = np.abs(a["running_var"]) + 0.5
    if case.seed % 3 == 0:       # a constant row next to normal ones: var 0, eps decides
        a["x"][0] = 1.5
    kw = dict(case.kwargs)
    second = {k: kw.pop(k) for k in ("normalized_shape", "num_groups") if k in kw}
    return {"x": a.pop("x"), **second, **a}, kw


@pytest.mark.parametrize("kind", ["layer", "group", "instance"])
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@given(data=st.data())
def test_norms_match_torch(kind, dtype, data):
    case = data.draw(norm_cases(kind))
    args, kw = _norm_arrays(case, kind)
    check_against_torch(f"{kind}_norm", args, kw, dtype=dtype, seed=case.seed)


@pytest.mark.parametrize("kind", ["layer", "group", "instance"])
@given(data=st.data())
def test_norm_gradients_match_central_differences(kind, data):
    """L = <norm(x), g> at 3 coordinates of x (smooth: Richardson-extrapolated central
    differences, verification/core/tolerances.central_difference_allowed)."""
    case = data.draw(norm_cases(kind))
    a, kw = _norm_arrays(case, kind)
    a["x"] = a["x"] + np.random.default_rng(case.seed).standard_normal(a["x"].shape)
    f, fb = getattr(ref, f"{kind}_norm"), getattr(ref, f"{kind}_norm_backward")
    out = f(*a.values(), **kw)
    g = np.random.default_rng(case.seed + 1).standard_normal(out.shape)
    gx = fb(g, *a.values(), **kw)[0]
    rng = np.random.default_rng(case.seed + 2)
    for flat in rng.integers(0, a["x"].size, 3):
        idx = np.unravel_index(flat, a["x"].shape)

        def d(t):
            up, down = dict(a), dict(a)
            up["x"], down["x"] = a["x"].copy(), a["x"].copy()
            up["x"][idx] += t
            down["x"][idx] -= t
            return (np.vdot(f(*up.values(), **kw), g)
                    - np.vdot(f(*down.values(), **kw), g)) / (2 * t)
        h = 1e-3
        rich = (4 * d(h / 2) - d(h)) / 3
        rounding = 64 * np.finfo(float).eps * float(np.abs(out).sum() * np.abs(g).max() + 1)
        assert_close(rich, gx[idx], central_difference_allowed(d(h), d(h / 2), rounding, h),
                     f"central difference d/dx{idx}", call_repr(f"{kind}_norm", a, kw))


def test_group_norm_with_one_group_per_channel_is_instance_norm():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    w, b = np.arange(1.0, 4.0), np.arange(3.0)
    assert_close(ref.group_norm(x, 3, w, b), ref.instance_norm(x, weight=w, bias=b), 1e-15,
                 "group_norm(C groups)", "group_norm vs instance_norm")
    assert_close(ref.group_norm(x, 1), ref.layer_norm(x, x.shape[1:]), 1e-15,
                 "group_norm(1 group)", "group_norm vs layer_norm over (C, H, W)")


def test_layer_norm_by_hand():
    """[1, 3]: mean 2, biased variance 1 -> [-1, 1] / sqrt(1 + eps)."""
    y = ref.layer_norm(np.array([[1.0, 3.0]]), 2, eps=0.0)
    assert y.tolist() == [[-1.0, 1.0]]


@pytest.mark.formulas("C2", "C3")
@pytest.mark.parametrize("probabilities", [False, True], ids=["classes", "probabilities"])
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@given(data=st.data())
def test_cross_entropy_full_signature_matches_torch(probabilities, dtype, data):
    case = data.draw(loss_cases(probabilities))
    ignore_all = not probabilities and data.draw(st.integers(0, 9)) == 0
    check_against_torch("cross_entropy", loss_arrays(case, probabilities, ignore_all),
                        case.kwargs, dtype=dtype, seed=case.seed)


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@given(data=st.data())
def test_nll_loss_matches_torch(dtype, data):
    case = data.draw(loss_cases())
    a = loss_arrays(case, ignore_all=data.draw(st.integers(0, 9)) == 0)
    kw = {k: v for k, v in case.kwargs.items() if k != "label_smoothing"}
    check_against_torch("nll_loss", {"input": ref.log_softmax(a["logits"], 1),
                                     "target": a["target"], "weight": a["weight"]},
                        kw, dtype=dtype, seed=case.seed)


@given(case=loss_cases())
def test_cross_entropy_without_smoothing_is_nll_of_log_softmax(case):
    a = loss_arrays(case)
    kw = {k: v for k, v in case.kwargs.items() if k != "label_smoothing"}
    want = ref.nll_loss(ref.log_softmax(a["logits"], 1), a["target"], a["weight"], **kw)
    got = ref.cross_entropy(a["logits"], a["target"], a["weight"], **kw)
    assert_close(got, want, 0, "cross_entropy", call_repr("cross_entropy", a, kw))


def test_label_smoothing_by_hand_and_never_on_ignored_targets():
    """C = 2, e = 0.2, logits [0, 0]: log_softmax = -ln 2 for both classes, so the loss is
    ln 2 whatever the target; with target 1 and weights [1, 3]: q = 0.8*3 at class 1
    plus 0.1*[1, 3] -> (0.1 + 2.7) ln 2, divided by w[t] = 3. An ignored target adds
    nothing, smoothing included: ignoring one of two identical rows leaves the mean."""
    z = np.zeros((1, 2))
    assert_close(ref.cross_entropy(z, np.array([1]), label_smoothing=0.2), np.log(2), 1e-15,
                 "loss", "cross_entropy([[0, 0]], [1], label_smoothing=0.2)")
    got = ref.cross_entropy(z, np.array([1]), np.array([1.0, 3.0]), label_smoothing=0.2)
    assert_close(got, 2.8 * np.log(2) / 3, 1e-15, "loss", "weighted, smoothed")
    z2 = np.array([[1.0, -1.0], [1.0, -1.0]])
    one = ref.cross_entropy(z2[:1], np.array([0]), label_smoothing=0.3)
    two = ref.cross_entropy(z2, np.array([0, -100]), label_smoothing=0.3)
    assert_close(two, one, 1e-15, "mean with an ignored row", "cross_entropy")
    g = ref.cross_entropy_backward(1.0, z2, np.array([0, -100]), label_smoothing=0.3)
    assert g[1].tolist() == [0.0, 0.0]


BAD = [
    (lambda: ref.layer_norm(np.zeros((2, 3)), (2,)), ValueError, r"must end with normalized_shape"),
    (lambda: ref.layer_norm(np.zeros((2, 3)), 3, np.zeros(2)), ValueError,
     r"weight must have shape \(3,\)"),
    (lambda: ref.group_norm(np.zeros((2, 4, 3)), 3), ValueError, r"num_groups=3 must divide"),
    (lambda: ref.instance_norm(np.zeros((2, 4, 1))), ValueError, r"more than 1 spatial"),
    (lambda: ref.instance_norm(np.zeros((2, 4, 3)), use_input_stats=False), ValueError,
     r"needs running_mean and running_var"),
    (lambda: ref.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), reduction="avg"),
     ValueError, r"reduction must be one of"),
    (lambda: ref.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), label_smoothing=1.5),
     ValueError, r"label_smoothing must lie in \[0, 1\]"),
    (lambda: ref.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), np.ones(2)), ValueError,
     r"weight must have shape \(3,\)"),
    (lambda: ref.nll_loss(np.zeros((2, 3)), np.array([0, 5])), ValueError,
     r"\[0, 3\) or equal ignore_index=-100"),
    (lambda: ref.cross_entropy_backward(np.ones(2), np.zeros((2, 3)), np.array([0, 1])),
     ValueError, r"grad_out must be a scalar \(the loss is one\)"),
]


@pytest.mark.parametrize("call, exc, pattern", BAD, ids=[b[2][:30] for b in BAD])
def test_rejects_bad_input(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()
