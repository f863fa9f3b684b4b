"""B9: the documents' image kernels, with their printed numbers, applied to images; each
effect the documents state is checked as a property.

seed 003, 3.2 "卷积核能做什么图像处理": (1) 不进行处理 (identity), (2) 图像锐化 (sharpen,
-1 around 9), (3) edge detection and (4) emboss (no numbers printed: figures only).
seed 004, "卷积的效果" table: sharpness (5 in a cross of -1), vertical edge, surround,
Sobel-Y, nothing (identity), horizontal edge, blur (0.11 everywhere), Sobel-X, embossing.

Every expected value is derived here from the kernel's numbers (sums, symmetry). The
kernels are applied as a CNN applies them: cross-correlation (reference.correlate2d), and
through reference.conv2d on NCHW arrays where padding matters.
"""
from __future__ import annotations

import numpy as np
import pytest

from cnnref import reference as ref

K = lambda rows: np.array(rows, dtype=np.float64)  # noqa: E731
IDENTITY = K([[0, 0, 0], [0, 1, 0], [0, 0, 0]])                     # 003 (1), 004 nothing
SHARPEN_003 = K([[-1, -1, -1], [-1, 9, -1], [-1, -1, -1]])         # 003 (2)
SHARPEN_004 = K([[0, -1, 0], [-1, 5, -1], [0, -1, 0]])             # 004 sharpness
VERTICAL_EDGE = K([[0, 0, 0], [-1, 2, -1], [0, 0, 0]])             # 004 vertical edge
SURROUND = K([[1, 1, 1], [1, -9, 1], [1, 1, 1]])                   # 004 surround
SOBEL_Y = K([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])                  # 004 sobel y
HORIZONTAL_EDGE = K([[0, -1, 0], [0, 2, 0], [0, -1, 0]])           # 004 horizontal edge
BLUR_004 = np.full((3, 3), 0.11)                                   # 004 blur
SOBEL_X = K([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])                  # 004 sobel x
EMBOSS = K([[2, 0, 0], [0, -1, 0], [0, 0, -1]])                    # 004 embossing
ZERO_SUM = {"vertical edge": VERTICAL_EDGE, "horizontal edge": HORIZONTAL_EDGE,
            "sobel x": SOBEL_X, "sobel y": SOBEL_Y, "embossing": EMBOSS}


def _img(seed=0, shape=(12, 14)):
    return np.random.default_rng(seed).integers(0, 256, shape).astype(np.float64)


def _xcorr(image, kernel):
    return ref.correlate2d(image, kernel)


def _fail(what, got, expected, call):
    return f"{what}={got}, but should be {expected} [{call}]"


@pytest.mark.formulas("B9")
def test_b9_identity_returns_the_image():
    """003 '不进行处理', 004 'nothing'/'Identity: 卷积后与原图相同': with one ring of zero
    padding the output is the image itself, bit for bit (one product by 1, eight by 0)."""
    x = _img()
    out = ref.conv2d(x[None, None], IDENTITY[None, None], padding=1)[0, 0]
    assert np.array_equal(out, x), _fail("max |out - x|", np.abs(out - x).max(), 0,
                                         "conv2d(x=(1,1,12,14), identity, padding=1)")


@pytest.mark.formulas("B9")
@pytest.mark.parametrize("name, kernel, ring", [("003 sharpen", SHARPEN_003, 8),
                                                ("004 sharpness", SHARPEN_004, 4)])
def test_b9_sharpen_kernels_sum_to_one_and_brighten_a_bright_pixel(name, kernel, ring):
    """Both sharpen kernels sum to 1 (9 - 8 = 1, 5 - 4 = 1), so a flat region is unchanged;
    004: '如果一个像素点比周围像素点亮，则此算子会令其更亮'. A pixel p on a flat background c
    becomes p + ring * (p - c) (ring = number of -1 taps): brighter when p > c."""
    assert kernel.sum() == 1, _fail(f"sum({name})", kernel.sum(), 1, "kernel")
    c, p = 50.0, 80.0
    flat = np.full((5, 5), c)
    assert np.array_equal(_xcorr(flat, kernel), np.full((3, 3), c))
    spot = flat.copy()
    spot[2, 2] = p
    got = _xcorr(spot, kernel)[1, 1]
    assert got == p + ring * (p - c) > p, _fail(f"{name} centre", got, p + ring * (p - c),
                                                "correlate2d(spot, kernel)")


@pytest.mark.formulas("B9")
@pytest.mark.parametrize("name", sorted(ZERO_SUM))
def test_b9_edge_kernels_sum_to_zero_and_vanish_on_flat_images(name):
    """Edge, Sobel and emboss kernels sum to 0 (2 - 1 - 1, -4 + 4, 2 - 1 - 1), so a
    constant image gives 0 everywhere: they respond to changes only."""
    kernel = ZERO_SUM[name]
    assert kernel.sum() == 0, _fail(f"sum({name})", kernel.sum(), 0, "kernel")
    out = _xcorr(np.full((6, 7), 37.0), kernel)
    assert not out.any(), _fail(f"{name} on a constant image", out.max(), 0, "correlate2d")


def _step(axis, n=9):
    """A step edge: 0 left of (above) the middle, 1 from the middle on."""
    ramp = (np.arange(n) >= n // 2).astype(np.float64)
    return np.tile(ramp, (n, 1)) if axis == "vertical" else np.tile(ramp[:, None], (1, n))


@pytest.mark.formulas("B9")
@pytest.mark.parametrize("edge, responds, blind", [
    ("vertical", ("sobel x", "vertical edge"), ("sobel y", "horizontal edge")),
    ("horizontal", ("sobel y", "horizontal edge"), ("sobel x", "vertical edge"))])
def test_b9_edge_kernels_see_their_orientation_only(edge, responds, blind):
    """004: 'Sobel-X 横向亮度差分可以检测出竖边', '检测竖边' ...: a vertical edge (brightness
    changes along x) gives Sobel-X 1 + 2 + 1 = 4 next to the step, while Sobel-Y (weights
    differ along y only, each row of the kernel sums to 0 across the constant column)
    gives 0; and the other way round for a horizontal edge."""
    x = _step(edge)
    for name in responds:
        out = _xcorr(x, ZERO_SUM[name])
        assert np.abs(out).max() > 0, _fail(f"max|{name}| on a {edge} edge", 0, "> 0",
                                            "correlate2d")
    assert np.abs(_xcorr(x, SOBEL_X if edge == "vertical" else SOBEL_Y)).max() == 4
    for name in blind:
        out = _xcorr(x, ZERO_SUM[name])
        assert not out.any(), _fail(f"max|{name}| on a {edge} edge", np.abs(out).max(), 0,
                                    "correlate2d")


@pytest.mark.formulas("B9")
def test_b9_line_responses_symmetric_for_edge_kernels_antisymmetric_for_sobel():
    """004's remarks on the two lines each edge detector draws along a bar ('两条颜色不一样的
    横线' for the edge kernel, '两条横线具有相同的颜色' for Sobel-Y) depend on how the output
    was displayed. What holds for the output itself: the edge kernel (-1, 2, -1) is
    symmetric, so on a bar symmetric about its middle row the responses above and below
    are equal (mirror image); Sobel-Y is antisymmetric, so they are opposite in sign."""
    bar = np.zeros((11, 9))
    bar[4:7] = 1.0                                      # rows 4..6, symmetric about row 5
    edge, sobel = _xcorr(bar, HORIZONTAL_EDGE), _xcorr(bar, SOBEL_Y)
    assert np.array_equal(edge, edge[::-1]) and edge.any()
    assert np.array_equal(sobel, -sobel[::-1]) and sobel.any()


@pytest.mark.formulas("B9")
def test_b9_surround_is_minus_the_003_sharpen():
    """004 'surround' (1 around -9) is exactly -1 times 003's sharpen (-1 around 9): its
    sum is -1, so a flat region c becomes -c (same magnitude, inverted: it only looks
    'weaker' (004: '把同色的区域变弱') once negatives are clipped for display)."""
    assert np.array_equal(SURROUND, -SHARPEN_003) and SURROUND.sum() == -1
    x = _img(1)
    assert np.array_equal(_xcorr(x, SURROUND), -_xcorr(x, SHARPEN_003))
    assert np.array_equal(_xcorr(np.full((4, 4), 9.0), SURROUND), np.full((2, 2), -9.0))


@pytest.mark.formulas("B9")
def test_b9_box_blur_keeps_the_mean_and_reduces_noise():
    """A box blur with weights 1/9 keeps a flat image (sum of weights 1) and averages 9
    independent noise values, dividing their variance by 9 (Var(mean of 9) = sigma^2 / 9);
    on 190 x 190 outputs the sample variance ratio is within 20 % of 1/9 (the relative
    standard error of a variance estimate from ~190^2 / 9 effectively independent values
    is about sqrt(2 * 9 / 190^2) = 2 %, so 20 % is ten standard errors)."""
    box = np.full((3, 3), 1.0 / 9.0)
    flat = np.full((6, 6), 4.0)
    assert np.allclose(_xcorr(flat, box), 4.0, rtol=4 * np.finfo(float).eps, atol=0)
    noise = np.random.default_rng(3).standard_normal((192, 192))
    ratio = _xcorr(noise, box).var() / noise.var()
    assert abs(ratio - 1 / 9) < 0.2 / 9, _fail("variance ratio", ratio, 1 / 9,
                                               "correlate2d(noise (192, 192), box 1/9)")


@pytest.mark.formulas("B9")
def test_b9_seed004_blur_0_11_sums_to_0_99():
    """Erratum E-B9-seed004-blur-0.11: 004 prints the blur kernel with 0.11 in every tap;
    9 * 0.11 = 0.99, not 1, so the 'average' darkens every flat region by 1 %: a flat 100
    becomes 99. The averaging kernel is 1/9 = 0.111..."""
    assert np.isclose(BLUR_004.sum(), 9 * 0.11) and not np.isclose(BLUR_004.sum(), 1.0)
    out = _xcorr(np.full((5, 5), 100.0), BLUR_004)
    assert np.allclose(out, 99.0, rtol=1e-14, atol=0), _fail("blur(flat 100)", out[0, 0],
                                                              99.0, "correlate2d")
    assert np.allclose(_xcorr(np.full((5, 5), 100.0), np.full((3, 3), 1 / 9)), 100.0,
                       rtol=1e-14, atol=0)


@pytest.mark.formulas("B9")
def test_b9_emboss_is_a_diagonal_difference():
    """004 embossing (2 top-left, -1 centre, -1 bottom-right): all taps lie on the main
    diagonal, so an image constant along that diagonal (x[i, j] = f(i - j)) gives 0 and
    one that changes along it (x[i, j] = f(i + j)) does not: a relief lit from one corner.
    For f(i + j) = i + j: 2(i + j) - (i + j + 2) - (i + j + 4) = -6 everywhere."""
    i, j = np.indices((8, 8)).astype(np.float64)
    assert not _xcorr(i - j, EMBOSS).any()
    assert np.array_equal(_xcorr(i + j, EMBOSS), np.full((6, 6), -6.0))


@pytest.mark.formulas("B9")
@pytest.mark.parametrize("name, kernel", [("identity", IDENTITY), ("sobel x", SOBEL_X),
                                          ("emboss", EMBOSS), ("sharpness", SHARPEN_004)])
def test_b9_conv2d_applies_the_kernels_like_correlate2d(name, kernel):
    """The CNN layer (conv2d, NCHW) computes the same cross-correlation (B3/B4)."""
    x = _img(2)
    got = ref.conv2d(x[None, None], kernel[None, None])[0, 0]
    assert np.array_equal(got, _xcorr(x, kernel)), _fail(f"conv2d vs correlate2d ({name})",
                                                         "different", "equal", "conv2d")
