"""An empty batch (N = 0) as PyTorch: the empty result of the right shape and empty (or
zero) gradients, operator by operator against torch. And non-finite inputs: the FFT
algorithm never returns the convolution theorem's NaN smear, and a NaN or inf weight
stays in the grad_x entries it touches, as in torch."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnref import reference as ref


def _torch_grads(fn, *arrays):
    """(output, grads of every array) of fn(*tensors) with a zero upstream gradient."""
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    out.backward(torch.zeros_like(out))
    return out.detach().numpy(), [t.grad.numpy() if t.grad is not None else None for t in ts]


def _assert_same(got, want, what):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, torch {want.shape}"
    np.testing.assert_array_equal(got, want, err_msg=what)


X0 = np.zeros((0, 3, 6, 5))
W = np.random.default_rng(0).standard_normal((4, 3, 3, 3))
B = np.random.default_rng(1).standard_normal(4)

EMPTY_WINDOWED = [   # (name, reference forward, reference backward, torch twin)
    ("conv2d", lambda x: ref.conv2d(x, W, B, padding=1),
     lambda g, x: ref.conv2d_backward(g, x, W, B, padding=1)[0],
     lambda x: F.conv2d(x, torch.tensor(W), torch.tensor(B), padding=1)),
    ("max_pool2d", lambda x: ref.max_pool2d(x, 2, ceil_mode=True),
     lambda g, x: ref.max_pool2d_backward(g, x, 2, ceil_mode=True),
     lambda x: F.max_pool2d(x, 2, ceil_mode=True)),
    ("avg_pool2d", lambda x: ref.avg_pool2d(x, 3, 2, 1),
     lambda g, x: ref.avg_pool2d_backward(g, x, 3, 2, 1),
     lambda x: F.avg_pool2d(x, 3, 2, 1)),
    ("global_avg_pool2d", ref.global_avg_pool2d, ref.global_avg_pool2d_backward,
     lambda x: F.adaptive_avg_pool2d(x, 1)),
    ("global_max_pool2d", ref.global_max_pool2d, ref.global_max_pool2d_backward,
     lambda x: F.adaptive_max_pool2d(x, 1)),
    ("batch_norm train", lambda x: ref.batch_norm(x, None, None, training=True),
     lambda g, x: ref.batch_norm_backward(g, x, None, None, training=True)[0],
     lambda x: F.batch_norm(x, None, None, training=True)),
    ("batch_norm eval", lambda x: ref.batch_norm(x, np.zeros(3), np.ones(3)),
     lambda g, x: ref.batch_norm_backward(g, x, np.zeros(3), np.ones(3))[0],
     lambda x: F.batch_norm(x, torch.zeros(3, dtype=x.dtype), torch.ones(3, dtype=x.dtype))),
    ("relu", ref.relu, ref.relu_backward, F.relu),
    ("sigmoid", ref.sigmoid, ref.sigmoid_backward, torch.sigmoid),
    ("softmax", lambda x: ref.softmax(x, 1), lambda g, x: ref.softmax_backward(g, x, 1),
     lambda x: F.softmax(x, 1)),
    ("log_softmax", lambda x: ref.log_softmax(x, -1),
     lambda g, x: ref.log_softmax_backward(g, x, -1), lambda x: F.log_softmax(x, -1)),
]


@pytest.mark.parametrize("name, fwd, bwd, twin", EMPTY_WINDOWED,
                         ids=[c[0] for c in EMPTY_WINDOWED])
def test_an_empty_batch_gives_what_torch_gives(name, fwd, bwd, twin):
    want, (want_grad,) = _torch_grads(twin, X0)
    out = fwd(X0)
    _assert_same(out, want, f"{name} output")
    _assert_same(bwd(np.zeros_like(out), X0), want_grad, f"{name} grad_x")


def test_empty_batch_parameter_gradients_are_zero_as_torch():
    g = np.zeros((0, 4, 6, 5))
    gx, gw, gb = ref.conv2d_backward(g, X0, W, B, padding=1)
    _, (tx, tw, tb) = _torch_grads(lambda x, w, b: F.conv2d(x, w, b, padding=1), X0, W, B)
    for got, want, what in ((gx, tx, "grad_x"), (gw, tw, "grad_weight"), (gb, tb, "grad_bias")):
        _assert_same(got, want, f"conv2d_backward {what}")
    w3, b3 = np.ones(3), np.zeros(3)
    gx, gw, gb = ref.batch_norm_backward(np.zeros_like(X0), X0, None, None, w3, b3, True)
    _, (tx, tw, tb) = _torch_grads(lambda x, w, b: F.batch_norm(x, None, None, w, b, True),
                                   X0, w3, b3)
    for got, want, what in ((gx, tx, "grad_x"), (gw, tw, "grad_weight"), (gb, tb, "grad_bias")):
        _assert_same(got, want, f"batch_norm_backward {what}")
    stats = ref.batch_norm_running_stats(X0, np.full(3, 0.5), np.full(3, 2.0))
    _assert_same(stats[0], np.full(3, 0.5), "running_mean after an empty batch (torch: unchanged)")
    _assert_same(stats[1], np.full(3, 2.0), "running_var after an empty batch (torch: unchanged)")


def test_empty_batch_dense_and_losses_as_torch():
    x, w, b = np.zeros((0, 5)), np.ones((2, 5)), np.ones(2)
    want, (tx, tw, tb) = _torch_grads(F.linear, x, w, b)
    _assert_same(ref.dense(x, w, b), want, "dense")
    for got, w_, what in zip(ref.dense_backward(np.zeros((0, 2)), x, w, b), (tx, tw, tb),
                             ("grad_x", "grad_weight", "grad_bias")):
        _assert_same(got, w_, f"dense_backward {what}")
    a, y, t = np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0, np.int64)
    with torch.no_grad():
        mse = F.mse_loss(torch.tensor(a), torch.tensor(y), reduction="sum") / (2 * 0)
        ce = F.cross_entropy(torch.tensor(a), torch.tensor(t))
        bce = F.binary_cross_entropy(torch.tensor(a), torch.tensor(y))
    for got, want, what in ((ref.quadratic_loss(a, y), mse, "quadratic_loss"),
                            (ref.cross_entropy(a, t), ce, "cross_entropy"),
                            (ref.binary_cross_entropy(a, y), bce, "binary_cross_entropy")):
        _assert_same(got, want.numpy(), what)
    _assert_same(ref.cross_entropy_backward(1.0, a, t), np.zeros((0, 3)), "cross_entropy_backward")
    _assert_same(ref.one_hot(t, 3), np.zeros((0, 3)), "one_hot")


def test_channels_empty_conv_and_pooling_refused_batch_norm_empty():
    """C = 0: torch's conv2d returns an (N, 0, Ho, Wo) result that ignores the weight's 4
    output channels, and its pooling refuses; both are refused here, with the shapes."""
    x = np.zeros((2, 0, 5, 5))
    with pytest.raises(ValueError, match=r"conv2d: only the batch may be empty.*\(2, 0, 5, 5\)"):
        ref.conv2d(x, np.zeros((4, 0, 3, 3)))
    with pytest.raises(ValueError, match=r"max_pool2d: only the batch may be empty"):
        ref.max_pool2d(x, 2)
    with torch.no_grad():
        want = F.batch_norm(torch.tensor(x), None, None, training=True).numpy()
    _assert_same(ref.batch_norm(x, None, None, training=True), want, "batch_norm with C = 0")


# --- an empty batch for the operators beyond the documents ------------------------------
# torch (2.x) accepts N = 0 for every one of them but instance_norm with weight or bias
# (an IndexError in its per-sample repeat of the affine parameters): that is refused here
# too, with a ValueError; without weight and bias its empty result is returned.

def _torch_all_grads(fn, arrays, upstream_seed=5):
    """(output, the grads of every array) of fn(*tensors), a random upstream gradient
    (empty when the output is)."""
    ts = [torch.tensor(a, requires_grad=np.issubdtype(a.dtype, np.floating)) for a in arrays]
    out = fn(*ts)
    g = np.random.default_rng(upstream_seed).standard_normal(tuple(out.shape))
    out.backward(torch.tensor(g))
    return out.detach().numpy(), g, [None if t.grad is None else t.grad.numpy() for t in ts]


_RNG = np.random.default_rng(4)
_IDX = {nd: np.zeros((0, 2) + (2,) * nd, np.int64) for nd in (1, 2, 3)}


def _new_ops(nd: int):
    """(name, arrays, reference forward, reference backward -> tuple, torch twin) with
    an empty batch of nd spatial axes."""
    x, sp = np.zeros((0, 2) + (4,) * nd), "d" if nd == 1 else f"{nd}d"
    wt, bt = _RNG.standard_normal((2, 3) + (3,) * nd), _RNG.standard_normal(3)
    ct, ctb = getattr(ref, f"conv_transpose{nd}d"), getattr(ref, f"conv_transpose{nd}d_backward")
    ops = [(f"conv_transpose{nd}d", (x, wt, bt), lambda x, w, b: ct(x, w, b, stride=2),
            lambda g, x, w, b: ctb(g, x, w, b, stride=2),
            lambda x, w, b: getattr(F, f"conv_transpose{nd}d")(x, w, b, stride=2))]
    for kind in ("adaptive_avg_pool", "adaptive_max_pool"):
        f, fb = getattr(ref, f"{kind}{nd}d"), getattr(ref, f"{kind}{nd}d_backward")
        ops.append((f"{kind}{nd}d", (x,), lambda x, f=f: f(x, 3),
                    lambda g, x, fb=fb: (fb(g, x, 3),),
                    lambda x, kind=kind: getattr(F, f"{kind}{nd}d")(x, 3)))
    lp, lpb = getattr(ref, f"lp_pool{nd}d"), getattr(ref, f"lp_pool{nd}d_backward")
    ops.append((f"lp_pool{nd}d", (x,), lambda x: lp(x, 2, 2), lambda g, x: (lpb(g, x, 2, 2),),
                lambda x: getattr(F, f"lp_pool{nd}d")(x, 2, 2)))
    up, upb = getattr(ref, f"max_unpool{nd}d"), getattr(ref, f"max_unpool{nd}d_backward")
    xs = np.zeros((0, 2) + (2,) * nd)
    ops.append((f"max_unpool{nd}d", (xs,), lambda x: up(x, _IDX[nd], 2),
                lambda g, x: (upb(g, x, _IDX[nd], 2),),
                lambda x: getattr(F, f"max_unpool{nd}d")(x, torch.tensor(_IDX[nd]), 2)))
    return ops


def _other_ops():
    x, cols = np.zeros((0, 2, 4, 4)), np.zeros((0, 8, 9))
    w4, b4 = _RNG.standard_normal(4), _RNG.standard_normal(4)
    wl, bl = _RNG.standard_normal((3, 4)), _RNG.standard_normal((3, 4))
    xn, xl = np.zeros((0, 4, 3)), np.zeros((0, 2, 3, 4))
    rm, rv = _RNG.standard_normal(4), 1 + _RNG.random(4)
    return [
        ("unfold", (x,), lambda x: ref.unfold(x, 2), lambda g, x: (ref.unfold_backward(g, x, 2),),
         lambda x: F.unfold(x, 2)),
        ("fold", (cols,), lambda x: ref.fold(x, (4, 4), 2),
         lambda g, x: (ref.fold_backward(g, x, (4, 4), 2),), lambda x: F.fold(x, (4, 4), 2)),
        ("layer_norm", (xl, wl, bl), lambda x, w, b: ref.layer_norm(x, (3, 4), w, b),
         lambda g, x, w, b: ref.layer_norm_backward(g, x, (3, 4), w, b),
         lambda x, w, b: F.layer_norm(x, (3, 4), w, b)),
        ("group_norm", (xn, w4, b4), lambda x, w, b: ref.group_norm(x, 2, w, b),
         lambda g, x, w, b: ref.group_norm_backward(g, x, 2, w, b),
         lambda x, w, b: F.group_norm(x, 2, w, b)),
        ("group_norm one value per group", (np.zeros((0, 4, 1)),),
         lambda x: ref.group_norm(x, 4), lambda g, x: ref.group_norm_backward(g, x, 4)[:1],
         lambda x: F.group_norm(x, 4)),
        ("instance_norm", (xn,), ref.instance_norm,
         lambda g, x: ref.instance_norm_backward(g, x)[:1], F.instance_norm),
        ("instance_norm running stats", (xn,),
         lambda x: ref.instance_norm(x, rm, rv, use_input_stats=False),
         lambda g, x: ref.instance_norm_backward(g, x, rm, rv, use_input_stats=False)[:1],
         lambda x: F.instance_norm(x, torch.tensor(rm), torch.tensor(rv),
                                   use_input_stats=False)),
    ]


NEW_EMPTY = _new_ops(1) + _new_ops(2) + _new_ops(3) + _other_ops()


@pytest.mark.parametrize("name, arrays, fwd, bwd, twin", NEW_EMPTY,
                         ids=[c[0] for c in NEW_EMPTY])
def test_new_operators_take_an_empty_batch_as_torch(name, arrays, fwd, bwd, twin):
    """The output is torch's (empty, the right shape); every gradient is torch's: empty
    grad_x, zero grad_weight and grad_bias (nothing was summed)."""
    want, g, want_grads = _torch_all_grads(twin, arrays)
    _assert_same(fwd(*arrays), want, f"{name} output")
    got_grads = bwd(g, *arrays)
    assert len(got_grads) == len([w for w in want_grads if w is not None]), name
    for i, (got, w) in enumerate(zip(got_grads, want_grads)):
        _assert_same(got, w, f"{name} gradient {i}")
    for got in got_grads[1:]:              # weight and bias: zeros of their own shape
        assert got.size and not got.any(), f"{name}: parameter gradient {got}"


def test_instance_norm_with_affine_refuses_an_empty_batch_as_torch():
    """torch raises IndexError for instance_norm on N = 0 with weight or bias (and
    accepts it without them, tested above): a ValueError here, naming the function and x."""
    x, w = np.zeros((0, 4, 3)), np.ones(4)
    with pytest.raises(IndexError):
        F.instance_norm(torch.tensor(x), weight=torch.tensor(w))
    for kw in ({"weight": w}, {"bias": w}):
        with pytest.raises(ValueError, match=r"instance_norm: an empty batch \(x.shape=\(0, 4, 3\)"):
            ref.instance_norm(x, **kw)
        with pytest.raises(ValueError, match=r"instance_norm_backward: an empty batch"):
            ref.instance_norm_backward(x, x, **kw)
    assert ref.instance_norm(np.zeros((1, 4, 3)), weight=w).shape == (1, 4, 3)


@pytest.mark.parametrize("call, match", [
    (lambda: ref.conv_transpose2d(np.zeros((2, 0, 4, 4)), np.zeros((0, 3, 3, 3))),
     r"conv_transpose2d: empty arrays.*\(2, 0, 4, 4\)"),
    (lambda: ref.adaptive_avg_pool2d(np.zeros((2, 3, 0, 4)), 2), r"adaptive_avg_pool2d.*only N"),
    (lambda: ref.unfold(np.zeros((2, 0, 4, 4)), 2), r"unfold.*only N"),
    (lambda: ref.fold(np.zeros((0, 8, 0)), (4, 4), 2), r"fold.*L = x.shape\[2\]"),
    (lambda: ref.group_norm(np.zeros((2, 0, 3)), 1), r"group_norm.*\(2, 0, 3\)"),
    (lambda: ref.instance_norm(np.zeros((0, 4, 1))), r"instance_norm.*more than 1 spatial"),
])
def test_only_the_batch_may_be_empty(call, match):
    """Other empty axes stay refused (torch: unfold refuses C = 0; instance_norm on a single
    spatial element refuses even when N = 0)."""
    with pytest.raises(ValueError, match=match):
        call()


# --- non-finite inputs ------------------------------------------------------------------

def _torch_conv(x, w, **kw):
    with torch.no_grad():
        return F.conv2d(torch.tensor(x), torch.tensor(w), **kw).numpy()


# The direct algorithm's own overflow and inf - inf warnings are torch's results too.
@pytest.mark.filterwarnings("ignore:.*encountered in matmul:RuntimeWarning")
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1e308])
@pytest.mark.parametrize("where", ["x", "weight"])
def test_fft_never_smears_non_finite_values(bad, where):
    """Two NaNs in x made 440 of 512 FFT outputs NaN (torch: only the outputs whose windows
    hold them); an inf made every output NaN; 1e308 overflows the transform."""
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((2, 2, 8, 8)), rng.standard_normal((4, 2, 3, 3))
    if where == "x":
        x[0, 1, 2, 3] = bad
        x[1, 0, 6, 6] = bad
    else:
        w[1, 0, 0, 2] = bad
    want = _torch_conv(x, w, padding=1)
    for algorithm in ("fft", "auto"):
        got = ref.conv2d(x, w, padding=1, algorithm=algorithm)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=algorithm)
        np.testing.assert_array_equal(np.isinf(got), np.isinf(want), err_msg=algorithm)
        finite = np.isfinite(want)
        np.testing.assert_allclose(got[finite], want[finite], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("method", ("auto",) + ref.BACKWARD_METHODS)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("stride", [1, 2])
def test_a_non_finite_weight_stays_where_it_touches(method, bad, stride):
    """A 4x4 ramp with one NaN or inf weight tap, at stride 1 and 2: grad_x is non-finite
    exactly where torch's is (the zero padding of grad_out must not multiply the bad
    tap; before, every entry was NaN)."""
    x = np.arange(16.).reshape(1, 1, 4, 4)
    w = np.ones((1, 1, 3, 3))
    w[0, 0, 0, 0] = bad
    g = np.random.default_rng(3).standard_normal(_torch_conv(x, w, padding=1,
                                                             stride=stride).shape)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    F.conv2d(xt, wt, padding=1, stride=stride).backward(torch.tensor(g))
    gx, gw, _ = ref.conv2d_backward(g, x, w, padding=1, stride=stride, method=method)
    want = xt.grad.numpy()
    np.testing.assert_array_equal(np.isfinite(gx), np.isfinite(want))
    assert np.isfinite(gx).sum() > 0
    finite = np.isfinite(want)
    np.testing.assert_allclose(gx[finite], want[finite], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-12, atol=1e-12)
