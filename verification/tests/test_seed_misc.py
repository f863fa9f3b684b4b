"""B4-B6 (the documents' forward formulas written out) and B10 (RGB to grey and its
worked number), checked against reference.conv2d and by arithmetic shown in each test.

Integer-valued inputs make every sum exact, so the comparisons are bit equality.
"""
from __future__ import annotations

import numpy as np
import pytest

from cnnref import reference as ref
from cnnref.reference.datasets import COLOURS, GRAY, to_gray


def _ints(shape, seed):
    return np.random.default_rng(seed).integers(-4, 5, shape).astype(np.float64)


def _fail(what, got, expected, call):
    return f"{what}={got}, but should be {expected} [{call}]"


# --- B4, B5, B6 --------------------------------------------------------------------------

@pytest.mark.formulas("B4")
@pytest.mark.parametrize("stride", [1, 2])
def test_b4_seed000_eq1_single_channel_bias_relu(stride):
    """seed 000 eq. 1 with its ReLU: a_ij = f(sum_m sum_n w_mn x_(i*s+m)(j*s+n) + w_b),
    written as the loops the seed describes; 5x5 image, 3x3 filter: 3x3 at stride 1 and
    2x2 at stride 2 (floor((5 - 3)/s) + 1)."""
    x, w, wb = _ints((5, 5), 0), _ints((3, 3), 1), 1.0
    n = (5 - 3) // stride + 1
    a = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            net = sum(w[m, k] * x[i * stride + m, j * stride + k]
                      for m in range(3) for k in range(3)) + wb
            a[i, j] = max(net, 0.0)
    got = ref.relu(ref.conv2d(x[None, None], w[None, None], np.array([wb]),
                              stride=stride))[0, 0]
    assert np.array_equal(got, a), _fail("relu(conv2d)", got.tolist(), a.tolist(),
                                         f"conv2d(x=(1,1,5,5), w=(1,1,3,3), stride={stride})")


@pytest.mark.formulas("B5")
def test_b5_seed004_eq10_13_two_input_channels():
    """seed 004 eq. 10-13: one filter over two 3x3 input channels with 2x2 kernels,
    z_ij = sum_d sum_m sum_n w_dmn a_d(i+m)(j+n), written out term by term as printed
    (1-based indices in the seed, 0-based here)."""
    a, w = _ints((2, 3, 3), 2), _ints((2, 2, 2), 3)

    def z(i, j):
        return sum(w[d, 0, 0] * a[d, i, j] + w[d, 0, 1] * a[d, i, j + 1]
                   + w[d, 1, 0] * a[d, i + 1, j] + w[d, 1, 1] * a[d, i + 1, j + 1]
                   for d in range(2))
    printed = np.array([[z(0, 0), z(0, 1)], [z(1, 0), z(1, 1)]])
    got = ref.conv2d(a[None], w[None])[0, 0]
    assert np.array_equal(got, printed), _fail("conv2d", got.tolist(), printed.tolist(),
                                               "conv2d(a=(1,2,3,3), w=(1,2,2,2))")


@pytest.mark.formulas("B5")
def test_b5_seed004_two_filters_z111_to_z222():
    """seed 004 '升维卷积': one 3x3 input channel, two 2x2 filters; z_fij for f = 1, 2 as
    printed, e.g. z_112 = w_111 a_12 + w_112 a_13 + w_121 a_22 + w_122 a_23."""
    a, w = _ints((3, 3), 4), _ints((2, 2, 2), 5)
    printed = np.array([[[w[f, 0, 0] * a[i, j] + w[f, 0, 1] * a[i, j + 1]
                          + w[f, 1, 0] * a[i + 1, j] + w[f, 1, 1] * a[i + 1, j + 1]
                          for j in range(2)] for i in range(2)] for f in range(2)])
    got = ref.conv2d(a[None, None], w[:, None])[0]
    assert got.shape == (2, 2, 2) and np.array_equal(got, printed), \
        _fail("conv2d", got.tolist(), printed.tolist(), "conv2d(a=(1,1,3,3), w=(2,1,2,2))")


@pytest.mark.formulas("B5")
def test_b5_seed000_eq4_depth_and_filters():
    """seed 000 eq. 4 and '卷积后Feature Map的深度(个数)和卷积层的filter个数是相同的': depth
    D = 3, K = 2 filters with biases, stride 2, zero padding 1 (the 5x5x3 of the seed's
    figure): a_kij = f(sum_d sum_m sum_n w_kdmn x_d(2i+m)(2j+n) + w_bk), K maps out."""
    x, w, b = _ints((3, 5, 5), 6), _ints((2, 3, 3, 3), 7), np.array([1.0, -2.0])
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    a = np.array([[[max((w[k] * xp[:, 2 * i:2 * i + 3, 2 * j:2 * j + 3]).sum() + b[k], 0)
                    for j in range(3)] for i in range(3)] for k in range(2)])
    got = ref.relu(ref.conv2d(x[None], w, b, stride=2, padding=1))[0]
    assert np.array_equal(got, a), _fail("relu(conv2d)", got.tolist(), a.tolist(),
                                         "conv2d(x=(1,3,5,5), w=(2,3,3,3), stride=2, "
                                         "padding=1)")


@pytest.mark.formulas("B6")
def test_b6_seed000_eq6_matrix_form_stride_1():
    """seed 000 eq. 6: A = f(sum_d X_d * W_d + w_b), '*' the cross-correlation of eq. 5's
    note (the mathematical convolution with the kernel rotated by 180 degrees). The seed:
    '这种简洁写法只适合步长为1的情况'; at stride 2 the layer keeps every second row and
    column of the stride-1 result."""
    x, w, wb = _ints((3, 6, 7), 8), _ints((3, 3, 3), 9), 2.0
    matrix_form = ref.relu(sum(ref.convolve2d(x[d], ref.rot180(w[d]), "valid")
                               for d in range(3)) + wb)
    got = ref.relu(ref.conv2d(x[None], w[None], np.array([wb])))[0, 0]
    assert np.array_equal(got, matrix_form), _fail("conv2d", got.tolist(),
                                                   matrix_form.tolist(), "eq. 6, stride 1")
    s2 = ref.relu(ref.conv2d(x[None], w[None], np.array([wb]), stride=2))[0, 0]
    assert np.array_equal(s2, matrix_form[::2, ::2])


# --- B10 ---------------------------------------------------------------------------------

@pytest.mark.formulas("B10")
def test_b10_rgb_to_grey_weights():
    """Y = 0.299 R + 0.587 G + 0.114 B; the weights sum to 1, so white (255, 255, 255)
    stays 255 ('三个因子相加等于1，这样如果原来是[255,255,255]的话，最后的灰度图的值还是255')."""
    assert GRAY.tolist() == [0.299, 0.587, 0.114]
    assert abs(0.299 + 0.587 + 0.114 - 1.0) < 1e-15
    white = np.full((1, 3, 2, 2), 255.0)
    assert np.allclose(to_gray(white), 255.0, rtol=4 * np.finfo(float).eps, atol=0)


@pytest.mark.formulas("B10")
def test_b10_seed004_worked_number():
    """Erratum E-B10-seed004-coefficient-0.586: 004 eq. 1 prints 0.586 for G and, with it,
    0.299 * 255 + 0.586 * 255 + 0.114 * 0 = 76.245 + 149.43 = 225.675 (the printed value:
    their arithmetic is right, the coefficient is not). The code just above it and the
    standard (ITU-R BT.601) use 0.587: 76.245 + 149.685 = 225.93. With 0.586 the weights
    sum to 0.999 and white would become 254.745, not 255 as the text says."""
    printed = 0.299 * 255 + 0.586 * 255 + 0.114 * 0
    assert abs(printed - 225.675) < 1e-9
    yellow = np.array([255.0, 255.0, 0.0]).reshape(1, 3, 1, 1)
    got = float(to_gray(yellow)[0, 0, 0, 0])
    assert abs(got - 225.93) < 1e-9, _fail("to_gray((255, 255, 0))", got, 225.93,
                                           "to_gray(x=(1,3,1,1))")
    assert abs((0.299 + 0.586 + 0.114) * 255 - 254.745) < 1e-9


@pytest.mark.formulas("B10")
def test_b10_seed004_255_255_0_is_yellow():
    """Erratum E-B10-seed004-pink-is-yellow: 004 calls (255, 255, 0) '粉色' (pink). Full red
    plus full green and no blue is yellow in additive RGB, the name the colour task's
    palette gives it (reference.datasets.COLOURS); pink has blue in it (e.g. 255, 192, 203)."""
    assert COLOURS["yellow"] == (1, 1, 0)
    name = [k for k, v in COLOURS.items() if tuple(255 * np.array(v)) == (255, 255, 0)]
    assert name == ["yellow"], _fail("name of (255, 255, 0)", name, ["yellow"], "COLOURS")


SEED004_CONVERT_TO_GRAY = '''
def ConvertToGray(self, data):
    (N,C,H,W) = data.shape
    new_data = np.empty((N,H*W))
    if C == 3: # color
        for i in range(N):
            new_data[i] = np.dot(
                [0.299,0.587,0.114],
                data[i].reshape(3,-1)).reshape(1,784)
    elif C == 1: # gray
        new_data[i] = data[i,0].reshape(1,784)
    #end if
    return new_data
'''


@pytest.mark.formulas("B10")
def test_b10_seed004_convert_to_gray_gray_branch():
    """Erratum E-B10-seed004-gray-branch-no-loop: seed 004's ConvertToGray (copied above,
    indentation normalised) loops over the samples only in its colour branch; the grey
    branch uses `i` without a loop, so a grey batch raises NameError. The colour branch
    agrees with reference.datasets.to_gray; the grey branch should copy every sample:
    new_data = data[:, 0].reshape(N, H * W)."""
    scope = {"np": np}
    exec(SEED004_CONVERT_TO_GRAY, scope)                       # noqa: S102 - fixed text
    convert = scope["ConvertToGray"]
    rgb = np.random.default_rng(0).random((2, 3, 28, 28))
    assert np.allclose(convert(None, rgb), to_gray(rgb).reshape(2, 784), rtol=1e-15,
                       atol=1e-15)
    with pytest.raises(NameError):
        convert(None, np.zeros((2, 1, 28, 28)))
