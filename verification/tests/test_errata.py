"""The documents' errata (cnnref/report/errata.py): one test per erratum that asserts the
corrected value, derived here from the formula or by the reference, and shows that the
printed value or statement does not hold. Quotes are checked against the seed files by
verification/tests/test_networks.py::test_quotes_are_verbatim (parametrised over ERRATA).
"""
from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest

from cnnref import reference as ref
from cnnref.report.errata import ERRATA
from cnnref.report.formulas import CATALOGUE

HERE = pathlib.Path(__file__).resolve().parent


def _ints(shape, seed):
    return np.random.default_rng(seed).integers(-4, 5, shape).astype(np.float64)


def _fail(what, got, expected, call):
    return f"{what}={got}, but should be {expected} [{call}]"


def test_errata_registry_names_existing_tests_and_catalogue_ids():
    """Every erratum names a FORMULAS ID, a seed 000-004 and a test that exists."""
    ids = {row.id for row in CATALOGUE}
    for e in ERRATA:
        assert e.formula_id in ids, _fail(f"{e.id} formula_id", e.formula_id, "a FORMULAS ID",
                                          "ERRATA")
        assert re.fullmatch(r"00[0-4]", e.seed.split()[0]), _fail(f"{e.id} seed", e.seed,
                                                                   "000..004 first", "ERRATA")
        path, _, name = e.test.partition("::")
        file = HERE.parents[1] / path
        assert file.exists() and f"def {name}(" in file.read_text(encoding="utf-8"), \
            _fail(f"{e.id} test", e.test, "an existing test function", "ERRATA")


@pytest.mark.formulas("A1")
def test_a1_seed000_h1_is_the_input_height():
    """Erratum E-A1-seed000-H1-width: 000 defines H1 as '卷积前图像的宽度' (the width). H2,
    the output height, comes from the input *height*: a 7 (high) x 5 (wide) image, 3x3
    filter, stride 2 gives H2 = (7 - 3)/2 + 1 = 3 and W2 = (5 - 3)/2 + 1 = 2; using the
    width for H1 would give H2 = 2."""
    out = ref.conv2d(np.ones((1, 1, 7, 5)), np.ones((1, 1, 3, 3)), stride=2)
    assert out.shape[-2:] == ((7 - 3) // 2 + 1, (5 - 3) // 2 + 1) == (3, 2), \
        _fail("conv2d(...).shape[-2:]", out.shape[-2:], (3, 2), "conv2d(x=(1,1,7,5), stride=2)")
    assert (5 - 3) // 2 + 1 != out.shape[-2]


@pytest.mark.formulas("C9")
def test_c9_seed000_partial_maps_d_per_filter_summed_over_n():
    """Erratum E-C9-seed000-D-N-swapped: with input depth D and N filters, each filter's
    error map, back-propagated through that filter, gives D partial maps (one per input
    channel); the N filters give N such groups, and summing the N groups gives the D maps
    of layer j-1. The seed says 'a group of N partial maps', 'D groups', 'N final maps'.
    Here D = 2, N = 3."""
    d, n = 2, 3
    x, w, delta = _ints((1, d, 5, 5), 0), _ints((n, d, 3, 3), 1), _ints((1, n, 3, 3), 2)
    gx = ref.conv2d_backward(delta, x, w)[0]
    groups = [ref.conv2d_backward(delta[:, k:k + 1], x, w[k:k + 1])[0] for k in range(n)]
    assert len(groups) == n and all(g.shape[1] == d for g in groups)
    assert gx.shape[1] == d, _fail("grad_x channels", gx.shape[1], d, "conv2d_backward")
    assert np.array_equal(sum(groups), gx), _fail("sum of the N groups", "different", "grad_x",
                                                  "conv2d_backward(D=2, N=3)")


@pytest.mark.formulas("C3")
def test_c3_seed003_cross_entropy_derivative_sign():
    """Erratum E-C3-seed003-bce-derivative-sign: d/dA [-Y ln A - (1 - Y) ln(1 - A)]
    = -Y/A + (1 - Y)/(1 - A) = (A - Y)/(A(1 - A)); 003 prints -Y/A - (1 - Y)/(1 - A) in
    the middle step (its end result (A - Y)/(A(1 - A)) is right). At A = 1/4, Y = 0 (exact
    binary fractions): corrected 1/(3/4) = 4/3, printed -4/3; the cost -ln(1 - A) grows
    with A, so the derivative must be positive."""
    a, y = 0.25, 0.0
    corrected, printed = -y / a + (1 - y) / (1 - a), -y / a - (1 - y) / (1 - a)
    assert corrected == (a - y) / (a * (1 - a)) == 4 / 3 and printed == -4 / 3
    got = float(ref.binary_cross_entropy_backward(1.0, np.array([a]), np.array([y]))[0])
    assert got == corrected, _fail("binary_cross_entropy_backward", got, corrected,
                                   "binary_cross_entropy_backward(1, a=[0.25], y=[0])")
    assert ref.binary_cross_entropy(np.array([0.5]), np.array([y])) > \
        ref.binary_cross_entropy(np.array([a]), np.array([y]))
    # times sigmoid' = A(1 - A): the corrected form gives A - Y (eq. 4), the printed one not
    assert corrected * a * (1 - a) == a - y and printed * a * (1 - a) != a - y


@pytest.mark.formulas("B7")
def test_b7_seed003_pseudocode_loop_bounds():
    """Erratum E-B7-seed003-loop-bounds: 003's loops run w over 1..W and h over 1..H and
    read input(w+x, h+y, c) with x, y in 1..K: indices reach W + K, past the input. The
    output has W - K + 1 columns, and with 1-based indices the read is input(w+x-1,
    h+y-1, c). Counted here for W = H = 5, K = 3: as printed, reads outside the input
    happen; corrected, none, and the result is conv2d's."""
    W = H = 5
    K, C, M = 3, 2, 2
    inp, filt = _ints((W, H, C), 3), _ints((M, K, K, C), 4)
    outside = sum(1 for w in range(1, W + 1) for h in range(1, H + 1)
                  for x in range(1, K + 1) for y in range(1, K + 1)
                  if w + x > W or h + y > H)
    assert outside > 0
    out = np.zeros((W - K + 1, H - K + 1, M))
    for w in range(1, W - K + 2):
        for h in range(1, H - K + 2):
            for x in range(1, K + 1):
                for y in range(1, K + 1):
                    for m in range(M):
                        for c in range(C):
                            out[w - 1, h - 1, m] += inp[w + x - 2, h + y - 2, c] * \
                                filt[m, x - 1, y - 1, c]
    want = ref.conv2d(inp.transpose(2, 0, 1)[None], filt.transpose(0, 3, 1, 2))[0]
    assert np.array_equal(out.transpose(2, 0, 1), want)


@pytest.mark.formulas("C7")
def test_c7_seed004_gradient_labels_a122_a222():
    """Errata E-C7-seed004-a122-label, E-C7-seed004-a222-label: 004 announces dJ/da_122 but
    writes dJ/da_111 on the left of delta_z11 w_122 + delta_z12 w_121 + delta_z21 w_112 +
    delta_z22 w_111 (likewise a_211 for a_222). Two 3x3 input channels, one filter of two
    2x2 kernels (eq. 10-13): that sum is the gradient of a_122 (1-based: channel 1, row 2,
    column 2); the gradient of a_111 is delta_z11 w_111 alone."""
    a, w, dz = _ints((1, 2, 3, 3), 5), _ints((1, 2, 2, 2), 6), _ints((1, 1, 2, 2), 7)
    ga = ref.conv2d_backward(dz, a, w)[0][0]
    d, k = dz[0, 0], w[0]
    for ch in range(2):
        printed_rhs = d[0, 0] * k[ch, 1, 1] + d[0, 1] * k[ch, 1, 0] + \
            d[1, 0] * k[ch, 0, 1] + d[1, 1] * k[ch, 0, 0]
        assert ga[ch, 1, 1] == printed_rhs, _fail(f"grad a_{ch + 1}22", ga[ch, 1, 1],
                                                  printed_rhs, "conv2d_backward")
        assert ga[ch, 0, 0] == d[0, 0] * k[ch, 0, 0]


@pytest.mark.formulas("C11")
def test_c11_seed004_bias_gradient_is_the_sum():
    """Erratum E-C11-seed004-bias-gradient-is-a-sum: 004 eq. 12 sums the four errors and
    then writes delta_b = delta_in (eq. 13), a 2x2 map; the bias gradient is the scalar
    sum of delta_in (one per filter)."""
    a, w, dz = _ints((1, 1, 3, 3), 8), _ints((1, 1, 2, 2), 9), _ints((1, 1, 2, 2), 10)
    gb = ref.conv2d_backward(dz, a, w, np.zeros(1))[2]
    assert gb.shape == (1,) and gb[0] == dz.sum(), _fail("grad_bias", gb.tolist(),
                                                         [dz.sum()], "conv2d_backward")


@pytest.mark.formulas("C13")
def test_c13_seed004_mean_pool_partials_are_a_quarter():
    """Erratum E-C13-seed004-mean-pool-partials: w = (a + b + e + f)/4, so each partial is
    1/4 (as printed just above); the sentence '所以偏导数都为1' says 1."""
    x = _ints((1, 1, 2, 2), 11)
    g = ref.avg_pool2d_backward(np.ones((1, 1, 1, 1)), x, 2)
    assert np.array_equal(g, np.full((1, 1, 2, 2), 0.25)), _fail("avg_pool2d_backward",
                                                                 g.ravel().tolist(), [0.25] * 4,
                                                                 "avg_pool2d_backward(k=2)")


@pytest.mark.formulas("A4")
def test_a4_seed004_alexnet_neurons_and_parameters():
    """Erratum E-A4-seed004-alexnet-neurons: '60 million个参数和65000个神经元'. AlexNet
    (Krizhevsky et al. 2012; 227x227x3 input, two-GPU grouping in conv2, conv4, conv5):
    units = 55*55*96 + 27*27*256 + 13*13*384 * 2 + 13*13*256 + 4096 + 4096 + 1000
    = 659,272 (the paper: 650,000), ten times 65,000; parameters 60,965,224 (60 million
    holds)."""
    s = [ref.conv_output_size(227, 11, stride=4)]                      # 55
    s.append(ref.conv_output_size(s[0], 3, stride=2))                  # pool -> 27
    s.append(ref.conv_output_size(s[1], 3, stride=2))                  # pool -> 13
    assert s == [55, 27, 13]
    p6 = ref.conv_output_size(13, 3, stride=2)                         # pool -> 6
    units = 55 * 55 * 96 + 27 * 27 * 256 + 13 * 13 * 384 * 2 + 13 * 13 * 256 + 4096 * 2 + 1000
    assert units == 659272 and round(units, -4) == 660000 and units > 10 * 65000 - 1
    # (kernel, input channels per group, filters) of conv1..conv5
    convs = [(11, 3, 96), (5, 48, 256), (3, 256, 384), (3, 192, 384), (3, 192, 256)]
    params = (sum((k * k * c + 1) * f for k, c, f in convs)
              + (256 * p6 * p6 + 1) * 4096 + (4096 + 1) * 4096 + (4096 + 1) * 1000)
    assert params == 60965224
    # E-A4-seed004-zfnet-layers-3-5: the published count above pins conv3-5 at 384, 384,
    # 256 filters: AlexNet's own sizes, the ones ZF Net is said to have changed them into.
    assert [f for *_, f in convs[2:]] == [384, 384, 256]


@pytest.mark.formulas("B3")
def test_b3_seed004_six_rotated_180_is_nine():
    """Erratum E-B3-seed004-6-rotated-90: a 6 turned by 180 degrees (not 90) reads as a 9.
    Seven-segment glyphs (5 x 3): rot180(six) == nine; rot90(six) is 3 x 5, no digit."""
    six = np.array([[1, 1, 1], [1, 0, 0], [1, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=float)
    nine = np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1], [0, 0, 1], [1, 1, 1]], dtype=float)
    assert np.array_equal(ref.rot180(six), nine)
    assert np.rot90(six).shape == (3, 5) != six.shape


@pytest.mark.formulas("B5")
def test_b5_seed004_rgb_to_one_map_kernel_is_1x3x3x3():
    """Erratum E-B5-seed004-kernel-3x1x3x3: one output map from an RGB image needs a
    weight of shape (out, in, kH, kW) = (1, 3, 3, 3), the order of 004's own WBShape
    (FilterCount, KernalCount, KernalHeight, KernalWidth) and of PyTorch; the 3x1x3x3 of
    the text is rejected (or, with groups=3, makes three maps, one per colour)."""
    x = _ints((1, 3, 8, 8), 12)
    assert ref.conv2d(x, _ints((1, 3, 3, 3), 13)).shape == (1, 1, 6, 6)
    with pytest.raises(ValueError):
        ref.conv2d(x, _ints((3, 1, 3, 3), 14))
    assert ref.conv2d(x, _ints((3, 1, 3, 3), 14), groups=3).shape == (1, 3, 6, 6)


def _quote(erratum_id: str) -> str:
    """The registry's quote of an erratum (test_quotes_are_verbatim checks it against the
    seed file wherever the seeds are present), so these tests run without the seeds."""
    return next(e.quote for e in ERRATA if e.id == erratum_id)


@pytest.mark.formulas("C7")
def test_c7_seed000_error_term_labels():
    """Errata E-C7-seed000-delta-row-label, -net-layer-label, -delta-layer-row-swapped,
    -eq8-superscript. Seed 000's example: a 3x3 input (layer j-1), a 2x2 filter, stride 1,
    a 2x2 error map delta^j (layer j). With the identity activation, delta^(j-1) =
    dE/dnet^(j-1) is grad_x: a 3x3 map (the shape of net^(j-1), eq. 8's left-hand side;
    no layer i), one entry per row i and column j. Entry (1, 0) is the formula's sum
    w00 d(1,0) + w10 d(0,0), not entry (0, 0) = w00 d(0,0) ('row j, column j')."""
    x, w, d = _ints((1, 1, 3, 3), 20), _ints((1, 1, 2, 2), 21), _ints((1, 1, 2, 2), 22)
    d[0, 0, 1, 0] = 3                                   # make (1, 0) and (0, 0) differ
    gx = ref.conv2d_backward(d, x, w)[0][0, 0]
    assert gx.shape == x.shape[2:] == (3, 3) and d.shape[2:] == (2, 2)
    w0, d0 = w[0, 0], d[0, 0]
    assert gx[1, 0] == w0[0, 0] * d0[1, 0] + w0[1, 0] * d0[0, 0], \
        _fail("delta^(j-1)[1, 0]", gx[1, 0], "w00 d10 + w10 d00", "conv2d_backward")
    assert gx[0, 0] == w0[0, 0] * d0[0, 0]
    assert gx[1, 0] != gx[0, 0] or w0[0, 0] * 3 == 0
    assert "第j行第j列" in _quote("E-C7-seed000-delta-row-label")
    assert "第i层" in _quote("E-C7-seed000-delta-layer-row-swapped")
    assert "d^i-1" in _quote("E-C7-seed000-eq8-superscript")


@pytest.mark.formulas("B5")
def test_b5_seed000_eq4_reads_the_image_x():
    """Erratum E-B5-seed000-eq4-image-symbol: seed 000 names the image x and the feature
    map a (test_errata_context_in_the_seeds), so eq. 4 reads a_(i,j) = f(sum_d sum_m
    sum_n w_(d,m,n) x_(d,i+m,j+n) + w_b): that sum, written out over a 3-channel image x,
    is conv2d."""
    x, w = _ints((1, 3, 5, 5), 23), _ints((1, 3, 3, 3), 24)
    wb = 2.0
    a = np.array([[sum(w[0, d_, m, n] * x[0, d_, i + m, j + n] for d_ in range(3)
                       for m in range(3) for n in range(3)) + wb for j in range(3)]
                  for i in range(3)])
    assert np.array_equal(a, ref.conv2d(x, w, np.array([wb]))[0, 0])
    assert "ad,ai,aj表示图像" in _quote("E-B5-seed000-eq4-image-symbol")


@pytest.mark.formulas("C11")
def test_c11_seed004_bias_gradient_equation_numbers():
    """Erratum E-C11-seed004-forward-equation-numbers: the bias gradient dJ/db = sum of
    the error map follows from the forward equations z_11..z_22 with + b, 004's tags
    10-13 (test_errata_context_in_the_seeds); the text cites 1, 2, 3, 4, the definitions
    of convolution."""
    d = _ints((1, 1, 2, 2), 25)
    gb = ref.conv2d_backward(d, _ints((1, 1, 3, 3), 26), _ints((1, 1, 2, 2), 27),
                             np.zeros(1))[2]
    assert gb[0] == d.sum()
    cited = re.findall(r"\d+", _quote("E-C11-seed004-forward-equation-numbers"))
    assert cited == ["1", "2", "3", "4"] and not set(cited) & {"10", "11", "12", "13"}


@pytest.mark.formulas("B5")
def test_b5_seed004_a_filter_holds_the_kernels():
    """Erratum E-B5-seed004-filter-kernel-inverted: a filter holds one kernel per input
    channel and one bias (seed 004's WBShape (FilterCount, KernalCount, kH, kW)): 2 filters
    of 3 sub-kernels 2x2 are a weight (2, 3, 2, 2) and a bias (2,), (3*2*2 + 1) * 2 = 26
    parameters, whatever the number of sub-kernels."""
    counts = ref.conv2d_counts((3, 5, 5), 2, 2)
    assert counts.params == (3 * 2 * 2 + 1) * 2 == 26
    out = ref.conv2d(_ints((1, 3, 5, 5), 28), _ints((2, 3, 2, 2), 29), np.ones(2))
    assert out.shape[1] == 2
    assert "卷积核W可能会有多个filter" in _quote("E-B5-seed004-filter-kernel-inverted")


@pytest.mark.formulas("D3")
def test_d3_seed004_geometry_comparison_names_two_nets():
    """Erratum E-D3-seed004-geometry-networks-named-twice: the heading compares
    '用卷积神经网络解决问题' with itself; the same seed's later comparison heading reads
    '用前馈神经网络来解决问题 vs 用卷积神经网络来解决问题' (dense net against CNN)."""
    heading = re.fullmatch(r"#### (用.*?解决问题) vs (用.*?解决问题)",
                           _quote("E-D3-seed004-geometry-networks-named-twice"))
    assert heading and heading.group(1) == heading.group(2) == "用卷积神经网络解决问题"


def test_errata_context_in_the_seeds():
    """What the errata above rely on besides their quotes, read in the seeds themselves
    (skipped where the seed files are absent): 000 names the image x and the feature map
    a; in 004 the tags 1, 2, 4 label the convolution definitions (no bias), the forward
    equations with + b are 10-13 and the bias results reuse 12 and 13; 004 defines a
    Filter as holding the kernels; its later comparison heading names the dense net."""
    from cnnref.report.formulas import seed_text
    s000, s004 = seed_text("000"), seed_text("004")
    if s000 is None or s004 is None:
        pytest.skip("the seed files are absent (set CNNREF_SEEDS)")
    assert "用xi,xj表示图像的第i行第j列元素" in s000 and "用ai,aj表示Feature Map" in s000

    def tagged(tag):
        return [m.group(1) for m in re.finditer(r"\$\$(.*?)\$\$", s004, re.S)
                if re.search(r"\\tag\{%d\}" % tag, m.group(1))]
    for tag in (1, 2, 4):
        assert tagged(tag) and not any("+ b" in t or "+b" in t for t in tagged(tag))
    assert all(any("b" in t for t in tagged(n)) for n in (10, 11, 12, 13))
    assert len(tagged(12)) == 2 and len(tagged(13)) == 2, "tags 12 and 13 are used twice"
    assert "每个Filter内都有一个或多个卷积核Kernal" in s004
    assert "#### 用前馈神经网络来解决问题 vs 用卷积神经网络来解决问题" in s004
