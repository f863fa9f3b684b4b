"""Activations, their derivatives, losses and the output errors (FORMULAS C2, C3, C6)
against PyTorch, against finite differences and against the documents' identities."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

from cnnref import reference as ref
from cnnref.verification.core.compare import assert_close
from cnnref.verification.core.cases import call_repr
from cnnref.verification.harness import check_against_torch
from cnnref.verification.core.strategies import seeds
from cnnref.verification.core.tolerances import central_difference_allowed, gamma

DTYPES = [np.float64, np.float32]
IDS = ["float64", "float32"]
shapes = st.tuples(st.integers(1, 4), st.integers(1, 6))
scales = st.sampled_from([1.0, 30.0, 1000.0])        # 1000: large inputs must not overflow


def _x(shape, seed, scale):
    return np.random.default_rng(seed).standard_normal(shape) * scale


@pytest.mark.formulas("C6")
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("name", ["relu", "leaky_relu", "sigmoid", "tanh"])
@given(shape=shapes, seed=seeds, scale=scales)
def test_c6_activations_match_torch(name, dtype, shape, seed, scale):
    check_against_torch(name, {"x": _x(shape, seed, scale)}, {}, dtype=dtype, seed=seed)


@pytest.mark.formulas("C2")
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(shape=shapes, seed=seeds, scale=scales, dim=st.sampled_from([0, 1, -1]))
def test_c2_softmax_and_log_softmax_match_torch(name, dtype, shape, seed, scale, dim):
    check_against_torch(name, {"x": _x(shape, seed, scale)}, {"dim": dim}, dtype=dtype,
                        seed=seed)


@pytest.mark.formulas("C6")
def test_c6_values_at_landmarks():
    """sigmoid(0) = 1/2, f' = f(1 - f) = 1/4; tanh'(0) = 1 - 0 = 1; relu'(0) = 0 (torch);
    leaky_relu(-2, 0.1) = -0.2; no overflow at +-1000; softmax([0, ln 3]) = [1/4, 3/4]."""
    with np.errstate(over="raise", invalid="raise", divide="raise"):   # underflow is fine
        assert ref.sigmoid(np.array([0.0, 1000.0, -1000.0])).tolist() == [0.5, 1.0, 0.0]
        assert ref.softmax(np.array([1000.0, 1000.0]), 0).tolist() == [0.5, 0.5]
    assert ref.sigmoid_backward(np.ones(1), np.zeros(1)).tolist() == [0.25]
    assert ref.tanh_backward(np.ones(1), np.zeros(1)).tolist() == [1.0]
    assert ref.relu_backward(np.ones(3), np.array([-1.0, 0.0, 1.0])).tolist() == [0, 0, 1]
    assert ref.leaky_relu(np.array([-2.0, 3.0]), 0.1).tolist() == [-0.2, 3.0]
    assert_close(ref.softmax(np.array([0.0, np.log(3.0)]), 0), [0.25, 0.75], 4e-16,
                 "softmax", "softmax([0, ln 3])")


SPECIAL = np.array([-np.inf, -1000.0, -1.0, -0.0, 0.0, 1e-300, 1.0, 1000.0, np.inf, np.nan])


@pytest.mark.formulas("C6")
@pytest.mark.parametrize("name", ["relu", "leaky_relu", "sigmoid", "tanh"])
def test_c6_special_values_match_torch(name):
    """+-inf, signed zeros, a subnormal-sized input and NaN, forward and backward: NaN and
    inf must come out where torch's do (relu passes the gradient of a NaN input, as
    torch's `x <= 0 ? 0 : g` does; relu'(0) = 0)."""
    check_against_torch(name, {"x": SPECIAL}, {}, seed=1)


@pytest.mark.formulas("C2")
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("row", [[0.0, -np.inf, 1.0], [-np.inf] * 3, [np.inf, 0.0, 1.0],
                                 [1000.0, 1000.0, -1000.0], [np.nan, 0.0, 1.0]])
def test_c2_softmax_special_rows_match_torch(name, row):
    """A -inf logit has probability 0; a row of -inf, a +inf or a NaN makes the row NaN."""
    with np.errstate(invalid="ignore"):
        check_against_torch(name, {"x": np.array([row])}, {"dim": 1}, seed=2)


@pytest.mark.formulas("C2")
def test_c2_binary_cross_entropy_at_the_clamps_matches_torch():
    """a = 0 and 1 give finite losses (logs clamped at -100); the backward's guard on
    a(1 - a) is torch's float constant 1e-12, float32(1e-12) = 9.99999996e-13: at a = 1e-20,
    y = 1, n = 5 the gradient is -(1 - 1e-20) / 9.99999996e-13 / 5 = -2.000000008e11."""
    import torch
    import torch.nn.functional as F
    a, y = np.array([0.0, 1e-20, 0.3, 1 - 1e-16, 1.0]), np.array([0.0, 1.0, 0.5, 0.0, 1.0])
    at = torch.tensor(a, requires_grad=True)
    loss = F.binary_cross_entropy(at, torch.tensor(y))
    loss.backward()
    call = call_repr("binary_cross_entropy", {"a": a, "y": y}, {})
    assert_close(ref.binary_cross_entropy(a, y), loss.item(), gamma(16, np.float64) * 300,
                 "loss", call)
    grad = ref.binary_cross_entropy_backward(1.0, a, y)
    assert_close(grad, at.grad.numpy(), gamma(8, np.float64) * np.abs(at.grad.numpy()),
                 "grad", call)
    assert_close(grad[1], -(1 - 1e-20) / float(np.float32(1e-12)) / 5, 1e-4, "grad[1]", call)


@pytest.mark.formulas("C6")
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softmax", "log_softmax"])
@given(shape=shapes, seed=seeds)
def test_c6_derivatives_match_central_differences(name, shape, seed):
    """d/dt <f(x + t v), g> at t = 0 equals <f_backward(g, x), v> (Richardson-extrapolated
    central differences; bound in tolerances.central_difference_allowed)."""
    rng = np.random.default_rng(seed)
    x, g, v = rng.standard_normal(shape), rng.standard_normal(shape), rng.standard_normal(shape)
    kw = {"dim": 1} if "softmax" in name else {}
    f = lambda y: float(np.vdot(getattr(ref, name)(y, **kw), g))  # noqa: E731
    d = {t: (f(x + t * v) - f(x - t * v)) / (2 * t) for t in (1e-3, 5e-4)}
    rich = (4 * d[5e-4] - d[1e-3]) / 3
    grad = getattr(ref, name + "_backward")(g, x, **kw)
    mag = float(np.vdot(np.abs(getattr(ref, name)(x, **kw)) + np.abs(x) + 1, np.abs(g)))
    assert_close(rich, float(np.vdot(grad, v)),
                 central_difference_allowed(d[1e-3], d[5e-4], gamma(x.size + 12, np.float64) * mag, 5e-4),
                 "<grad, v>", f"{name}_backward(x={shape})")


@pytest.mark.formulas("C2")
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@given(n=st.integers(1, 5), k=st.integers(1, 6), seed=seeds, scale=scales)
def test_c2_cross_entropy_matches_torch(dtype, n, k, seed, scale):
    rng = np.random.default_rng(seed)
    logits, target = rng.standard_normal((n, k)) * scale, rng.integers(0, k, n)
    check_against_torch("cross_entropy", {"logits": logits, "target": target}, {},
                        dtype=dtype, seed=seed)


@pytest.mark.formulas("C2")
@given(n=st.integers(1, 5), k=st.integers(1, 4), seed=seeds)
def test_c2_quadratic_and_binary_cross_entropy_match_torch(n, k, seed):
    """quadratic = F.mse_loss(reduction='sum') / (2n); BCE = F.binary_cross_entropy (mean,
    logs clamped at -100). Gradients by autograd."""
    import torch
    import torch.nn.functional as F
    rng = np.random.default_rng(seed)
    a, y = rng.random((n, k)), rng.integers(0, 2, (n, k)).astype(float)
    at = torch.tensor(a, requires_grad=True)
    for name, loss in (("quadratic_loss", F.mse_loss(at, torch.tensor(y), reduction="sum") / (2 * n)),
                       ("binary_cross_entropy", F.binary_cross_entropy(at, torch.tensor(y)))):
        at.grad = None
        loss.backward()
        call = call_repr(name, {"a": a, "y": y}, {})
        mag = float(np.sum(np.abs(np.log(a)) + np.abs(np.log1p(-a)) + 1 + a * a + y * y))
        assert_close(getattr(ref, name)(a, y), loss.item(), gamma(a.size + 8, np.float64) * mag,
                     "loss", call)
        grad = getattr(ref, name + "_backward")(1.0, a, y)
        scale = 1 / (a * (1 - a)) / a.size + 1
        assert_close(grad, at.grad.numpy(), gamma(8, np.float64) * scale, "grad", call)


@pytest.mark.formulas("C3")
@given(n=st.integers(1, 5), k=st.integers(2, 6), seed=seeds)
def test_c3_output_error_is_a_minus_y_for_cross_entropy(n, k, seed):
    """C3: with softmax + CE, dC/dz = A - Y (per sample; the mean adds 1/n); with sigmoid +
    BCE, dC/dz = sigmoid'(z) * dC/da = A - Y (per element; the mean adds 1/size)."""
    rng = np.random.default_rng(seed)
    z, t = rng.standard_normal((n, k)), rng.integers(0, k, n)
    a, y = ref.softmax(z, 1), ref.one_hot(t, k)
    bound = gamma(k + 8, np.float64) * (a + y + 1)
    assert_close(n * ref.cross_entropy_backward(1.0, z, t), ref.output_error_cross_entropy(a, y),
                 bound, "n * dCE/dz", call_repr("cross_entropy_backward", {"z": z}, {}))
    yb = rng.integers(0, 2, (n, k)).astype(float)
    s = ref.sigmoid(z)
    chain = ref.sigmoid_backward(ref.binary_cross_entropy_backward(1.0, s, yb), z) * z.size
    assert_close(chain, ref.output_error_cross_entropy(s, yb), gamma(16, np.float64) * 4,
                 "size * dBCE/dz", call_repr("binary_cross_entropy_backward", {"z": z}, {}))


@pytest.mark.formulas("C3")
def test_c3_output_error_quadratic_is_a_minus_y_times_f_prime():
    """(A - Y) f'(Z) with sigmoid: z = 0 -> a = 1/2, f' = 1/4, y = 1: (1/2 - 1) / 4 = -1/8."""
    z, y = np.zeros(1), np.ones(1)
    a = ref.sigmoid(z)
    delta = ref.output_error_quadratic(a, y, z, lambda zz: ref.sigmoid_backward(np.ones_like(zz), zz))
    assert delta.tolist() == [-0.125]


@pytest.mark.parametrize("call, exc, pattern", [
    (lambda: ref.softmax(np.zeros((2, 3)), 2), ValueError, r"dim=2 is out of range"),
    (lambda: ref.sigmoid(np.arange(3)), TypeError, r"floating"),
    (lambda: ref.relu_backward(np.zeros(2), np.zeros(3)), ValueError, r"grad_out.shape"),
    (lambda: ref.cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0])), TypeError, r"integer class"),
    (lambda: ref.cross_entropy(np.zeros((2, 3)), np.array([0, 3])), ValueError, r"\[0, 3\)"),
    (lambda: ref.binary_cross_entropy(np.array([1.5]), np.array([1.0])), ValueError, r"\[0, 1\]"),
    (lambda: ref.quadratic_loss(np.zeros((2, 3)), np.zeros((3, 2))), ValueError, r"must equal"),
])
def test_activations_and_losses_reject_bad_input(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()
