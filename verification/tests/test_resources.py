"""Bounded memory: im2col tiles within a sample so its column buffer respects the cap for
any input size, and a request whose estimated peak exceeds the limit is refused at once,
before any large allocation, with a message naming the function, the shapes and the bytes.

Huge inputs are broadcast views (no memory of their own); peaks are measured with
tracemalloc, which NumPy reports its buffers to."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from cnnref import reference as ref
from cnnref.reference import memory
from cnnref.reference.conv_args import conv_geometry
from cnnref.reference.im2col import pixel_column_bytes, tile_shape, tiles

MiB = 2**20


def _peak(fn):
    """(result or exception, peak traced bytes) of fn()."""
    tracemalloc.start()
    try:
        result = fn()
    except Exception as exc:      # noqa: BLE001 - the caller inspects it
        result = exc
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return result, peak


def _ints(rng, shape):
    return rng.integers(-3, 4, shape).astype(np.float64)


GEOMETRIES = [   # (x shape, weight shape, kwargs): padding, stride, dilation, groups
    ((2, 3, 9, 11), (4, 3, 3, 2), {}),
    ((2, 4, 10, 9), (6, 2, 3, 3), {"padding": 2, "stride": (2, 3), "groups": 2}),
    ((1, 2, 12, 12), (3, 2, 3, 3), {"padding": ((2, 0), (1, 3)), "dilation": 2}),
    ((3, 2, 7, 8), (2, 2, 4, 4), {"padding": "same"}),
]


@pytest.mark.parametrize("cap", [1, 200, 2000], ids=["pixel tiles", "part rows", "rows"])
@pytest.mark.parametrize("xs, ws, kw", GEOMETRIES)
def test_tiles_within_a_sample_give_the_same_result(xs, ws, kw, cap):
    """Integer inputs make every algorithm exact: tiles of one pixel, part of a row or
    several rows must equal the naive loops bit for bit, forward and backward."""
    rng = np.random.default_rng(0)
    x, w, b = _ints(rng, xs), _ints(rng, ws), _ints(rng, ws[:1])
    want = ref.conv2d(x, w, b, algorithm="naive", **kw)
    np.testing.assert_array_equal(ref.conv2d(x, w, b, workspace_bytes=cap, **kw), want)
    g = _ints(rng, want.shape)
    expected = ref.conv2d_backward(g, x, w, b, method="documents", **kw)
    for method in ("col2im", "auto"):
        got = ref.conv2d_backward(g, x, w, b, method=method, workspace_bytes=cap, **kw)
        for name, a, e in zip(("grad_x", "grad_weight", "grad_bias"), got, expected):
            np.testing.assert_array_equal(a, e, err_msg=f"{method} {name} cap {cap}")


def test_tile_shape_falls_back_from_samples_to_rows_to_pixels():
    """Per pixel C*kH*kW*8 = 16*225*8 = 28800 bytes; the 2034-wide rows are 58.6 MB."""
    x = np.broadcast_to(0.0, (4, 16, 2048, 2048))
    geo = conv_geometry(x, np.zeros((1, 16, 15, 15)), None, 1, 0, 1, 1)[3]
    pixel = pixel_column_bytes(geo, 8)
    assert pixel == 16 * 15 * 15 * 8
    assert tile_shape(geo, 8, 8 * MiB) == (1, 1, 8 * MiB // pixel)        # part of a row
    assert tile_shape(geo, 8, 3 * 2034 * pixel) == (1, 3, 2034)           # 3 rows
    assert tile_shape(geo, 8, 2 * 2034**2 * pixel) == (2, 2034, 2034)     # 2 samples
    covered = sum((i1 - i0) * (j1 - j0) for _, (i0, i1), (j0, j1)
                  in tiles(geo, 8, 3 * 2034 * pixel))
    assert covered == 4 * 2034**2          # every output pixel of every sample, once


def test_a_large_single_sample_stays_under_the_cap():
    """One sample whose columns would take 16*49*122*122*8 = 93 MB: with a 1 MiB cap the
    forward and the backward stay within the result, the gradients and a few MiB."""
    x = np.broadcast_to(np.float64(0.5), (1, 16, 128, 128))
    w = np.random.default_rng(1).standard_normal((2, 16, 7, 7))
    columns = 16 * 49 * 122 * 122 * 8
    out, peak = _peak(lambda: ref.conv2d(x, w, workspace_bytes=MiB))
    assert out.shape == (1, 2, 122, 122)
    assert peak < out.nbytes + 3 * MiB < columns / 20, f"forward peak {peak} bytes"
    geo = conv_geometry(x, w, None, 1, 0, 1, 1)[3]
    estimate = memory.conv_peak_bytes(geo, 8, "im2col", MiB)
    assert peak <= estimate, f"forward peak {peak} above its estimate {estimate}"
    g = np.ones_like(out)
    grads, peak = _peak(lambda: ref.conv2d_backward(g, x, w, method="col2im",
                                                    workspace_bytes=MiB))
    grad_x_bytes = 16 * 128 * 128 * 8
    assert peak < 2 * grad_x_bytes + 3 * MiB < columns / 10, f"backward peak {peak} bytes"
    np.testing.assert_allclose(grads[0], ref.conv2d_backward(g, np.ascontiguousarray(x), w)[0],
                               rtol=1e-12, atol=1e-12)


HUGE = np.broadcast_to(np.float64(1.0), (1, 1, 100000, 100000))   # 74.5 GiB, 8 bytes held
HUGE_2D = np.broadcast_to(np.float64(1.0), (100000, 100000))
W3 = np.ones((1, 1, 3, 3))
G_HUGE = np.broadcast_to(np.float64(1.0), (1, 1, 99998, 99998))
ONE = np.ones(1)
HUGE_3D = np.broadcast_to(np.float64(1.0), (1, 1, 100000, 1000, 100))

REFUSED = [
    ("conv2d", lambda: ref.conv2d(HUGE, W3)),
    ("conv2d", lambda: ref.conv2d(HUGE, W3, algorithm="im2col")),
    ("conv2d", lambda: ref.conv2d(HUGE, W3, algorithm="naive")),
    ("conv2d", lambda: ref.conv2d(HUGE, W3, algorithm="fft")),
    ("conv2d_backward", lambda: ref.conv2d_backward(G_HUGE, HUGE, W3)),
    ("conv2d_backward", lambda: ref.conv2d_backward(G_HUGE, HUGE, W3, method="documents")),
    ("max_pool2d", lambda: ref.max_pool2d(HUGE, 2)),
    ("avg_pool2d", lambda: ref.avg_pool2d(HUGE, 2)),
    ("max_pool2d_backward", lambda: ref.max_pool2d_backward(HUGE[..., ::2, ::2], HUGE, 2)),
    ("avg_pool2d_backward", lambda: ref.avg_pool2d_backward(HUGE[..., ::2, ::2], HUGE, 2)),
    ("max_pool2d", lambda: ref.global_max_pool2d(HUGE)),
    ("avg_pool2d", lambda: ref.global_avg_pool2d(HUGE)),
    ("lenet_subsample", lambda: ref.lenet_subsample(HUGE, ONE, ONE)),
    ("avg_pool2d_backward_kronecker",
     lambda: ref.avg_pool2d_backward_kronecker(HUGE[..., ::2, ::2], HUGE, 2)),
    ("batch_norm", lambda: ref.batch_norm(HUGE, None, None, training=True)),
    ("relu", lambda: ref.relu(HUGE)),
    ("relu_backward", lambda: ref.relu_backward(HUGE, HUGE)),
    ("sigmoid", lambda: ref.sigmoid(HUGE)),
    ("tanh_backward", lambda: ref.tanh_backward(HUGE, HUGE)),
    ("softmax", lambda: ref.softmax(HUGE, 1)),
    ("log_softmax", lambda: ref.log_softmax(HUGE, 1)),
    ("quadratic_loss", lambda: ref.quadratic_loss(HUGE_2D, HUGE_2D)),
    ("cross_entropy", lambda: ref.cross_entropy(HUGE_2D, np.zeros(100000, np.int64))),
    ("dense", lambda: ref.dense(HUGE_2D, HUGE_2D)),
    ("one_hot", lambda: ref.one_hot(np.zeros(100000, np.int64), 100000)),
    ("coverage_map", lambda: ref.coverage_map((100000, 100000), 3)),
    # the operators beyond the documents
    ("conv3d", lambda: ref.conv3d(HUGE_3D, np.ones((1, 1, 1, 1, 1)))),
    ("conv_transpose2d", lambda: ref.conv_transpose2d(HUGE, W3)),
    ("conv_transpose2d", lambda: ref.conv_transpose2d(HUGE, W3, method="documents")),
    ("conv_transpose1d", lambda: ref.conv_transpose1d(
        np.broadcast_to(np.float64(1.0), (1, 1, 100000)), np.ones((1, 1, 2)), stride=100000)),
    ("conv_transpose2d_backward", lambda: ref.conv_transpose2d_backward(
        np.broadcast_to(np.float64(1.0), (1, 1, 100002, 100002)), HUGE, W3)),
    ("max_pool1d", lambda: ref.max_pool1d(HUGE[0], 2)),
    ("avg_pool3d", lambda: ref.avg_pool3d(HUGE_3D, 2)),
    ("unfold", lambda: ref.unfold(HUGE, 3)),
    ("fold", lambda: ref.fold(np.broadcast_to(np.float64(1.0), (1, 1, 10**10)),
                              (100000, 100000), 1)),
    ("adaptive_avg_pool2d", lambda: ref.adaptive_avg_pool2d(HUGE, 7)),
    ("adaptive_avg_pool1d", lambda: ref.adaptive_avg_pool1d(np.ones((1, 1, 3)), 100000 ** 2)),
    ("adaptive_max_pool3d", lambda: ref.adaptive_max_pool3d(HUGE_3D, 1)),
    ("lp_pool2d", lambda: ref.lp_pool2d(HUGE, 2, 2)),
    ("max_unpool2d", lambda: ref.max_unpool2d(np.ones((1, 1, 1, 1)),
                                              np.zeros((1, 1, 1, 1), np.int64), 100000)),
    ("layer_norm", lambda: ref.layer_norm(HUGE, (100000, 100000))),
    ("group_norm", lambda: ref.group_norm(HUGE, 1)),
    ("instance_norm_backward", lambda: ref.instance_norm_backward(HUGE, HUGE)),
    ("nll_loss", lambda: ref.nll_loss(HUGE_2D, np.zeros(100000, np.int64))),
]


@pytest.mark.parametrize("func, call", REFUSED, ids=[f"{i}-{r[0]}" for i, r in enumerate(REFUSED)])
def test_huge_requests_are_refused_at_once(func, call):
    """MemoryLimitError (a MemoryError and a ValueError) naming the function, the shape and
    the bytes, with under 1 MiB allocated on the way."""
    exc, peak = _peak(call)
    assert isinstance(exc, memory.MemoryLimitError), f"{func}: got {exc!r}"
    assert isinstance(exc, MemoryError) and isinstance(exc, ValueError)
    text = str(exc)
    assert text.startswith(f"{func}:"), text
    assert "100000" in text and "GiB" in text and "bytes" in text, text
    assert peak < MiB, f"{func} allocated {peak} bytes before refusing"


def test_the_limit_is_adjustable_and_the_estimate_is_conservative():
    """A 1 MiB limit refuses a conv2d whose result alone is 2 MiB; the traced peak of a call
    that is accepted stays under its estimate."""
    x, w = np.ones((8, 4, 66, 66)), np.ones((8, 4, 3, 3))
    old = memory.set_max_bytes(MiB)
    try:
        with pytest.raises(MemoryError, match=r"conv2d: needs about .* MiB .*x.shape=\(8, 4, 66, 66\)"):
            ref.conv2d(x, w)
    finally:
        memory.set_max_bytes(old)
    geo = conv_geometry(x, w, None, 1, 0, 1, 1)[3]
    for algorithm in ("im2col", "fft"):
        _, peak = _peak(lambda: ref.conv2d(x, w, algorithm=algorithm))
        estimate = memory.conv_peak_bytes(geo, 8, algorithm, ref.DEFAULT_WORKSPACE_BYTES)
        assert peak <= estimate * 1.1, f"{algorithm}: peak {peak} > estimate {estimate}"
    with pytest.raises(ValueError, match="set_max_bytes: limit must be a positive int"):
        memory.set_max_bytes(0)


@pytest.mark.parametrize("value, exc, pattern", [
    (0, ValueError, r"workspace_bytes must be >= 1, got 0"),
    (-1, ValueError, r"workspace_bytes must be >= 1, got -1"),
    ("big", TypeError, r"workspace_bytes must be a positive int .* got 'big'"),
    (True, TypeError, r"workspace_bytes must be a positive int"),
    (1.5, TypeError, r"workspace_bytes must be a positive int"),
])
def test_workspace_bytes_must_be_a_positive_int(value, exc, pattern):
    x, w = np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3))
    with pytest.raises(exc, match="conv2d: " + pattern):
        ref.conv2d(x, w, workspace_bytes=value)
    with pytest.raises(exc, match="conv2d_backward: " + pattern):
        ref.conv2d_backward(np.ones((1, 1, 2, 2)), x, w, workspace_bytes=value)
