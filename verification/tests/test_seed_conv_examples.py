"""The documents' worked convolution examples and size rules (FORMULAS A1-A3, B8), with
their numbers. Every expected value is either printed in a seed (quoted) or derived here by
arithmetic shown in the test."""
from __future__ import annotations

import numpy as np
import pytest

from cnnref import reference as ref
from cnnref.verification.core.compare import assert_close

# seed 003, "卷积基本操作示例": the 5x5 image, the 3x3 kernel and the printed 3x3 result.
SEED003_IMAGE = np.array([[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3],
                          [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]], dtype=np.float64)
SEED003_KERNEL = np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2]], dtype=np.float64)
SEED003_RESULT = np.array([[12, 12, 17], [10, 17, 19], [9, 6, 14]], dtype=np.float64)


@pytest.mark.formulas("B8")
@pytest.mark.parametrize("algorithm", ref.ALGORITHMS)
def test_b8_seed003_5x5_image_3x3_kernel(algorithm):
    """Top-left entry by hand: 3*0 + 3*1 + 2*2 + 0*2 + 0*2 + 1*0 + 3*0 + 1*1 + 2*2 = 12.
    FFT and Winograd F(4x4) (whose 1/6 and 1/24 are not binary fractions) round to it."""
    assert (3*0 + 3*1 + 2*2) + (0*2 + 0*2 + 1*0) + (3*0 + 1*1 + 2*2) == 12
    out = ref.conv2d(SEED003_IMAGE[None, None], SEED003_KERNEL[None, None],
                     algorithm=algorithm)[0, 0]
    inexact = algorithm == "fft" or ref.WINOGRAD_TILES.get(algorithm) == 4
    assert_close(np.rint(out) if inexact else out, SEED003_RESULT, 0,
                 f"conv2d out ({algorithm})", "seed 003 example")
    assert_close(ref.correlate2d(SEED003_IMAGE, SEED003_KERNEL), SEED003_RESULT, 0,
                 "correlate2d", "seed 003 example")


@pytest.mark.formulas("B8")
def test_b8_seed003_example_is_not_a_mathematical_convolution():
    """C16 / B3: the printed result is a cross-correlation; flipping the kernel (the
    mathematical convolution) gives a different top-left value:
    3*2 + 3*1 + 2*0 + 0*0 + 0*2 + 1*2 + 3*2 + 1*1 + 2*0 = 18."""
    conv = ref.convolve2d(SEED003_IMAGE, SEED003_KERNEL, "valid")
    assert conv[0, 0] == 3*2 + 3*1 + 2*0 + 0*0 + 0*2 + 1*2 + 3*2 + 1*1 + 2*0 == 18
    assert_close(ref.convolve2d(SEED003_IMAGE, ref.rot180(SEED003_KERNEL), "valid"),
                 SEED003_RESULT, 0, "convolve2d with rot180 kernel", "C16 identity")


@pytest.mark.formulas("B8")
@pytest.mark.parametrize("stride, expected", [(1, 3), (2, 2)])
def test_b8_seed000_5x5_with_3x3_stride_1_and_2(stride, expected):
    """seed 000: '当步幅为2时 ... Feature Map就变成2*2了'; 5x5 with 3x3 at stride 1 -> 3x3.
    Formula: floor((5 - 3 + 0)/S) + 1 = 3 (S=1), 2 (S=2)."""
    assert (5 - 3) // stride + 1 == expected
    assert ref.conv_output_size(5, 3, stride=stride) == expected
    out = ref.conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), stride=stride)
    assert out.shape == (1, 1, expected, expected)


@pytest.mark.formulas("B8")
def test_b8_seed000_two_3x3x3_filters_stride_2_pad_1():
    """seed 000: '7*7*3输入，经过两个3*3*3filter的卷积(步幅为2)，得到了3*3*2的输出 ...
    Zero padding是1'. The 7x7 of the figure already includes the ring of zeros: a 5x5x3
    input with P=1 gives floor((5 + 2 - 3)/2) + 1 = 3. Taken literally (7x7 input AND P=1)
    the rule gives floor((7 + 2 - 3)/2) + 1 = 4: erratum, the output would be 4x4x2.
    Parameters: (3*3*3 + 1) * 2 = 56, as printed."""
    assert ref.conv_output_size(5, 3, stride=2, padding=1) == (5 + 2 - 3) // 2 + 1 == 3
    assert ref.conv_output_size(7, 3, stride=2, padding=0) == (7 - 3) // 2 + 1 == 3
    assert ref.conv_output_size(7, 3, stride=2, padding=1) == (7 + 2 - 3) // 2 + 1 == 4
    w = np.ones((2, 3, 3, 3))
    assert ref.conv2d(np.ones((1, 3, 5, 5)), w, np.zeros(2), stride=2, padding=1).shape \
        == (1, 2, 3, 3)
    assert w.size + 2 == (3 * 3 * 3 + 1) * 2 == 56


@pytest.mark.formulas("B8")
@pytest.mark.parametrize("padding, expected", [(0, 4), (1, 6)])
def test_b8_seed002_6x6_with_3x3(padding, expected):
    """seed 002: '用 3x3 内核对 6x6 图像执行卷积时，我们得到了 4x4 特征图'; '使用 1px 填充
    ... 8x8 ... 输出将是 6x6'. (6 + 2P - 3)/1 + 1."""
    assert 6 + 2 * padding - 3 + 1 == expected
    assert ref.conv2d(np.ones((1, 1, 6, 6)), np.ones((1, 1, 3, 3)),
                      padding=padding).shape[-2:] == (expected, expected)


@pytest.mark.formulas("A1")
def test_a1_floor_is_needed():
    """seed 000 eq. 2 without a floor: (6 - 3 + 0)/2 + 1 = 2.5 is not a size. The floor
    gives 2 windows (columns 0-2 and 2-4; column 5 is never covered)."""
    assert (6 - 3 + 0) / 2 + 1 == 2.5
    assert ref.conv_output_size(6, 3, stride=2) == 2


@pytest.mark.formulas("A2")
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_a2_valid_same_full(k):
    """valid: o = i - k + 1; same (s=1): o = i (even k: extra pad after); full: o = i + k - 1."""
    i = 9
    assert ref.conv_output_size(i, k, padding="valid") == i - k + 1
    assert ref.conv_output_size(i, k, padding="same") == i
    assert ref.conv_output_size(i, k, padding="full") == i + k - 1
    before, after = ref.normalize_padding("same", (k, k), (1, 1), (1, 1), "t")[0]
    assert (before, after) == ((k - 1) // 2, k // 2)


@pytest.mark.formulas("A3")
def test_a3_volume_rule_feature_maps_equal_filters():
    """[n, n, nc] * [f, f, nc] x nf filters -> [floor((n + 2p - f)/s + 1), ..., nf]:
    n=10, p=1, f=3, s=2, nc=4, nf=7 -> floor(9/2 + 1) = 5 -> (5, 5, 7)."""
    out = ref.conv2d(np.ones((1, 4, 10, 10)), np.ones((7, 4, 3, 3)), stride=2, padding=1)
    assert out.shape == (1, 7, int((10 + 2 - 3) / 2 + 1), 5) == (1, 7, 5, 5)
