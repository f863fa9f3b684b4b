"""Per-layer counts: parameters, MACs, FLOPs (three conventions), connections, output shape,
activation memory (FORMULAS A4, A5, A6, A7).

MACs vs FLOPs is THE confusion. One multiply-accumulate (MAC) is a multiply and an add.
fvcore, thop and ptflops report MACs and call them "FLOPs"; torch.utils.flop_counter
reports 2 x MACs. The fields of `Counts` name each convention explicitly:

  macs                   forward multiply-accumulates (products; seed 001's "计算量"
                         c_in * c_out * l_w_out * l_h_out * k_w * k_h for a conv)
  flops                  this module's forward count: 2 * MACs, plus the operations that are
                         not multiply-adds: bias adds, pooling comparisons/adds, elementwise
                         functions (each transcendental counts as 1)
  flops_backward         the same convention for the backward pass (grad_input only when
                         input_grad, grad_weight, grad_bias)
  torch_flops            what torch.utils.flop_counter.FlopCounterMode reports, forward:
                         2 * MACs for conv and linear, bias ignored; 0 for every other layer
  torch_flops_backward   FlopCounterMode on the backward pass: grad_input (if the input
                         needs a gradient) + grad_weight, each counted as a forward conv or
                         matmul. Its grad_weight formula ignores groups, so a grouped conv's
                         grad_weight counts `groups` times its real cost (torch quirk).

Products with padding zeros are counted, as every dense implementation computes them.
`connections` are in the sense of LeCun et al. (1998) and seed 003, per sample: every
(input or bias) -> output edge, i.e. (k*k*c + 1) * K * H_out * W_out for a conv. Example
(LeNet C1): conv2d_counts((1, 32, 32), 6, 5).connections == (5*5 + 1) * 6 * 28 * 28 == 122304.
MACs and FLOPs are for the whole batch (`batch` samples); parameters and connections are
per network and per sample.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._validate import _is_int, boolean, check_window_fits, pair, positive_int
from .shapes import conv_output_shape, pool_output_size


@dataclass(frozen=True)
class Counts:
    out_shape: tuple[int, ...]           # one sample: (C, H, W) or (F,)
    params: int
    macs: int
    flops: int
    flops_backward: int
    torch_flops: int
    torch_flops_backward: int
    connections: int


def _shape(shape, func: str, name: str = "input_shape", ranks=(1, 3)) -> tuple[int, ...]:
    """A per-sample shape: a tuple (or list) of ints >= 1 of one of the ranks."""
    if not isinstance(shape, (tuple, list)) or not all(map(_is_int, shape)):
        raise TypeError(f"{func}: {name} must be a tuple of ints, got {shape!r}")
    if len(shape) not in ranks or min(shape) < 1:
        want = " or ".join({1: "(F,)", 3: "(C, H, W)"}[r] for r in ranks)
        raise ValueError(f"{func}: {name} must be {want} with sizes >= 1, got {shape!r}")
    return tuple(int(v) for v in shape)


def _chw(input_shape, func: str, name: str = "input_shape") -> tuple[int, int, int]:
    return _shape(input_shape, func, name, ranks=(3,))


def _flags(func: str, **flags) -> None:
    for name, value in flags.items():
        boolean(value, name, func)


def _taps(c: int, k: int, groups: int, table, func: str) -> list[int]:
    """Input channels read by each output channel: C/groups, or the table's entries."""
    if table is None:
        if c % groups or k % groups:
            raise ValueError(f"{func}: groups={groups} must divide in_channels={c} and "
                             f"out_channels={k}")
        return [c // groups] * k
    if not isinstance(table, (tuple, list)) or not all(
            isinstance(row, (tuple, list)) and all(map(_is_int, row)) for row in table):
        raise TypeError(f"{func}: connection_table must be a sequence of rows of input "
                        f"channel indices, got {table!r}")
    if groups != 1 or len(table) != k or any(not row or max(row) >= c or min(row) < 0
                                             for row in table):
        raise ValueError(f"{func}: connection_table needs groups=1, {k} rows and channel "
                         f"indices in [0, {c}), got groups={groups}, table={table!r}")
    return [len(set(row)) for row in table]


def conv2d_counts(input_shape, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                  groups=1, bias=True, connection_table=None, batch=1,
                  input_grad=True) -> Counts:
    """Counts of nn.Conv2d(C, out_channels, kernel_size, ...) on an input (C, H, W).

    params = K * (C/groups) * kH * kW (+ K bias)               (A4; seed 000: (F*F*D+1)*K)
    macs = N * K * Ho * Wo * (C/groups) * kH * kW               (A5; seed 001)
    connections = (kH*kW*C/groups + 1) * K * Ho * Wo            (A5; seed 003)
    `connection_table[k]` lists the input channels output map k reads (LeNet C3), replacing
    C/groups by len(table[k]). Example: LeNet C3, (6, 14, 14) -> (16, 10, 10), 1516
    parameters, 151600 connections.
    """
    func = "conv2d_counts"
    c, h, w = _chw(input_shape, func)
    _flags(func, bias=bias, input_grad=input_grad)
    k = positive_int(out_channels, "out_channels", func)
    kh, kw = pair(kernel_size, "kernel_size", func, 1)
    st, dil = pair(stride, "stride", func, 1), pair(dilation, "dilation", func, 1)
    ph, pw = pair(padding, "padding", func, 0)
    ho, wo = conv_output_shape((h, w), (kh, kw), st, ((ph, ph), (pw, pw)), dil, func)
    groups = positive_int(groups, "groups", func)
    weights = sum(_taps(c, k, groups, connection_table, func)) * kh * kw
    n = positive_int(batch, "batch", func)
    macs = n * weights * ho * wo
    bias_adds = n * k * ho * wo if bias else 0
    grad_x = 2 * macs if input_grad else 0
    return Counts((k, ho, wo), weights + (k if bias else 0), macs, 2 * macs + bias_adds,
                  grad_x + 2 * macs + bias_adds, 2 * macs, grad_x + 2 * macs * groups,
                  (weights + (k if bias else 0)) * ho * wo)


def _deconv_edges(size: int, kernel: int, stride: int, pad: int, dilation: int,
                  out: int) -> int:
    """(input index, tap) pairs of one axis of a transposed conv whose output index
    i*s - p + t*d falls inside [0, out): the products that reach the output."""
    o = np.arange(size)[:, None] * stride - pad + np.arange(kernel)[None, :] * dilation
    return int(((o >= 0) & (o < out)).sum())


def _deconv_out(hw, kernel, st, pads, extra, dil, func) -> tuple[int, int]:
    if any(e >= max(s, d) for e, s, d in zip(extra, st, dil)):
        raise ValueError(f"{func}: output_padding={extra} must be smaller than either the "
                         f"stride {st} or the dilation {dil} on every axis (as torch)")
    out = tuple((i - 1) * s - 2 * p + d * (k - 1) + e + 1
                for i, s, p, d, k, e in zip(hw, st, pads, dil, kernel, extra))
    if min(out) < 1:
        raise ValueError(f"{func}: the output would be empty: {out} from input {hw}, "
                         f"kernel {kernel}, stride {st}, padding {pads}, dilation {dil}")
    return out


def conv_transpose2d_counts(input_shape, out_channels, kernel_size, stride=1, padding=0,
                            output_padding=0, dilation=1, groups=1, bias=True, batch=1,
                            input_grad=True) -> Counts:
    """Counts of nn.ConvTranspose2d(C, out_channels, kernel_size, stride, padding,
    output_padding, groups, bias, dilation) on an input (C, H, W) -> (K, Ho, Wo),
    Ho = (H - 1)*s - 2p + d*(kH - 1) + output_padding + 1.

    params = C * (K/groups) * kH * kW (+ K bias)         (weight (C, K/groups, kH, kW))
    macs = N * C * (K/groups) * kH * kW * H * W           every input pixel times every tap
    (the products that land in the cropped padding are counted, as a conv's products with
    padding zeros are: col2im computes them). Backward: grad_x is a conv (macs again),
    grad_weight macs, grad_bias 1 add per output. connections = the input -> output edges
    that land inside the output (exact, axis by axis) + K*Ho*Wo bias edges.
    FlopCounterMode: 2*macs forward; backward 2*macs (grad_x) + 2*macs*groups (its
    grad_weight formula ignores groups, as for conv).
    Example: (16, 8, 8), 8@4x4, stride 2, padding 1 -> (8, 16, 16); 16*8*16 + 8 = 2056
    parameters, 16*8*16 * 8*8 = 131072 MACs.
    """
    func = "conv_transpose2d_counts"
    c, h, w = _chw(input_shape, func)
    _flags(func, bias=bias, input_grad=input_grad)
    k = positive_int(out_channels, "out_channels", func)
    kernel = pair(kernel_size, "kernel_size", func, 1)
    st, dil = pair(stride, "stride", func, 1), pair(dilation, "dilation", func, 1)
    pads, extra = pair(padding, "padding", func, 0), pair(output_padding, "output_padding",
                                                          func, 0)
    groups = positive_int(groups, "groups", func)
    taps = sum(_taps(c, k, groups, None, func)) * kernel[0] * kernel[1]   # C * K/groups * k*k
    ho, wo = _deconv_out((h, w), kernel, st, pads, extra, dil, func)
    n = positive_int(batch, "batch", func)
    macs, outputs = n * taps * h * w, k * ho * wo
    bias_adds = n * outputs if bias else 0
    grad_x = 2 * macs if input_grad else 0
    edges = taps // (kernel[0] * kernel[1]) * math.prod(_deconv_edges(*a) for a in zip((h, w), kernel, st, pads, dil,
                                                              (ho, wo)))
    return Counts((k, ho, wo), taps + (k if bias else 0), macs, 2 * macs + bias_adds,
                  grad_x + 2 * macs + bias_adds, 2 * macs, grad_x + 2 * macs * groups,
                  edges + (outputs if bias else 0))


def _window_out(input_shape, kernel_size, stride, padding, func):
    c, h, w = _chw(input_shape, func)
    kernel = pair(kernel_size, "kernel_size", func, 1)
    st = kernel if stride is None else pair(stride, "stride", func, 1)
    ph, pw = pair(padding, "padding", func, 0)
    pads = ((ph, ph), (pw, pw))
    # Pooling and subsampling here take no dilation: the window spans k pixels.
    check_window_fits(func, (h, w), kernel, pads, (1, 1))
    ho, wo = (pool_output_size(i, kk, s, p, p) for i, kk, s, p in zip((h, w), kernel, st, (ph, pw)))
    return c, ho, wo, kernel[0] * kernel[1]


def pool2d_counts(input_shape, kernel_size, stride=None, padding=0, mode="max", batch=1,
                  input_grad=True) -> Counts:
    """Counts of nn.MaxPool2d / nn.AvgPool2d (floor mode) on an input (C, H, W).

    No parameters, no MACs. Forward per output: max k*k - 1 comparisons; avg k*k - 1 adds
    and 1 division. Backward per output: max 1 add (the gradient routed to the argmax);
    avg 1 division and k*k adds. connections = k*k * C * Ho * Wo (no bias). FlopCounterMode
    counts 0 both ways. Example: 2x2 max pool on (6, 28, 28) -> (6, 14, 14), 3528 flops.
    """
    func = "pool2d_counts"
    _flags(func, input_grad=input_grad)
    if mode not in ("max", "avg"):
        raise ValueError(f"{func}: mode must be 'max' or 'avg', got {mode!r}")
    c, ho, wo, window = _window_out(input_shape, kernel_size, stride, padding, func)
    outputs = positive_int(batch, "batch", func) * c * ho * wo
    if mode == "max":
        fwd, bwd = outputs * (window - 1), outputs
    else:
        fwd, bwd = outputs * window, outputs * (window + 1)
    return Counts((c, ho, wo), 0, 0, fwd, bwd if input_grad else 0, 0, 0,
                  window * c * ho * wo)


def _bin_taps(n: int, m: int) -> int:
    """Sum of the sizes of the m adaptive bins [floor(i*n/m), ceil((i+1)*n/m)) of an axis
    of length n (pooling_adaptive.adaptive_bins); bins may overlap, so this can exceed n."""
    i = np.arange(m)
    return int((-((-(i + 1) * n) // m) - (i * n) // m).sum())


def adaptive_pool2d_counts(input_shape, output_size, mode="avg", batch=1,
                           input_grad=True) -> Counts:
    """Counts of nn.AdaptiveAvgPool2d / nn.AdaptiveMaxPool2d(output_size) on (C, H, W)
    -> (C, oh, ow). The bins vary in size, so the counts sum them: taps = (sum of the row
    bins' sizes) * (sum of the column bins' sizes) per channel. As pool2d_counts, per bin
    of t taps: max t - 1 comparisons forward, 1 add backward; avg t - 1 adds and 1
    division forward, 1 division and t adds backward. connections = C * taps. No
    parameters, no MACs; FlopCounterMode counts 0.
    Example: (512, 7, 7) avg to 1x1: 512 * 49 = 25088 flops forward, 25600 backward.
    """
    func = "adaptive_pool2d_counts"
    c, h, w = _chw(input_shape, func)
    _flags(func, input_grad=input_grad)
    oh, ow = pair(output_size, "output_size", func, 1)
    if mode not in ("max", "avg"):
        raise ValueError(f"{func}: mode must be 'max' or 'avg', got {mode!r}")
    n = positive_int(batch, "batch", func)
    taps, outputs = c * _bin_taps(h, oh) * _bin_taps(w, ow), c * oh * ow
    fwd, bwd = (taps - outputs, outputs) if mode == "max" else (taps, taps + outputs)
    return Counts((c, oh, ow), 0, 0, n * fwd, n * bwd if input_grad else 0, 0, 0, taps)


def lp_pool2d_counts(input_shape, norm_type, kernel_size, stride=None, batch=1,
                     input_grad=True) -> Counts:
    """Counts of nn.LPPool2d(norm_type, kernel_size, stride) (floor mode, no padding) on
    (C, H, W): y = (sum over the window of x^p)^(1/p). Per output of a k*k window:
    forward k*k powers, k*k - 1 adds and 1 root = 2*k*k flops (torch's k * mean(x^p)
    form's divide and multiply cancel and are not counted; powers are counted per window,
    as a conv's products are); backward (input_grad only) y^(1-p) and its product with
    the upstream gradient, then per tap x^(p-1), 1 multiply and 1 add = 3*k*k + 2.
    connections = k*k * C * Ho * Wo. No parameters, no MACs; FlopCounterMode counts 0.
    Example: p=2, 2x2/2 on (6, 28, 28) -> (6, 14, 14), 8 * 1176 = 9408 flops.
    """
    func = "lp_pool2d_counts"
    _flags(func, input_grad=input_grad)
    if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float)) or \
            not 0 < norm_type < math.inf:
        raise ValueError(f"{func}: norm_type must be a positive finite number, got "
                         f"{norm_type!r}")
    c, ho, wo, window = _window_out(input_shape, kernel_size, stride, 0, func)
    outputs = positive_int(batch, "batch", func) * c * ho * wo
    bwd = outputs * (3 * window + 2) if input_grad else 0
    return Counts((c, ho, wo), 0, 0, outputs * 2 * window, bwd, 0, 0,
                  window * c * ho * wo)


def subsample2d_counts(input_shape, kernel_size, stride=None, batch=1,
                       input_grad=True) -> Counts:
    """LeNet's trainable subsampling (C14): y[c] = coef[c] * sum(window) + bias[c].

    params = 2 * C; connections = (k*k + 1) * C * Ho * Wo (seed 003: S2 (2*2+1)*14*14*6 =
    5880). Per output: k*k - 1 adds, 1 multiply-add (the MAC) -> k*k + 1 flops. Backward
    per output: grad_coef 2, grad_bias 1, and when input_grad 1 multiply + k*k adds.
    FlopCounterMode counts 0 (only matmuls and convolutions are counted).
    """
    func = "subsample2d_counts"
    _flags(func, input_grad=input_grad)
    c, ho, wo, window = _window_out(input_shape, kernel_size, stride, 0, func)
    outputs = positive_int(batch, "batch", func) * c * ho * wo
    bwd = outputs * (3 + (1 + window if input_grad else 0))
    return Counts((c, ho, wo), 2 * c, outputs, outputs * (window + 1), bwd, 0, 0,
                  (window + 1) * c * ho * wo)


def linear_counts(in_features, out_features, bias=True, batch=1, input_grad=True) -> Counts:
    """nn.Linear(in_features, out_features): params = (in + 1) * out with bias (seed 003:
    C5 5*5*16*120 + 120 = 48120); macs = N * in * out; connections = params."""
    func = "linear_counts"
    _flags(func, bias=bias, input_grad=input_grad)
    fin, fout = positive_int(in_features, "in_features", func), \
        positive_int(out_features, "out_features", func)
    macs = positive_int(batch, "batch", func) * fin * fout
    bias_adds = batch * fout if bias else 0
    grad_x = 2 * macs if input_grad else 0
    params = (fin + (1 if bias else 0)) * fout
    return Counts((fout,), params, macs, 2 * macs + bias_adds, grad_x + 2 * macs + bias_adds,
                  2 * macs, grad_x + 2 * macs, params)


def batchnorm_counts(input_shape, batch=1, input_grad=True) -> Counts:
    """nn.BatchNorm2d(C) / BatchNorm1d(C) on (C, H, W) / (C,): params = 2C (gamma, beta;
    the running mean and variance are buffers). Counted in its folded inference form
    y = a[c] * x + b[c]: 1 MAC, 2 flops per element; backward per element grad_a 2,
    grad_b 1, grad_x 1. The training-mode statistics (mean, variance) are not counted.
    connections = 2 per element (input and bias, as a 1x1 subsampling). Torch: 0."""
    shape = _shape(input_shape, "batchnorm_counts")
    _flags("batchnorm_counts", input_grad=input_grad)
    elements = positive_int(batch, "batch", "batchnorm_counts") * math.prod(shape)
    bwd = elements * (3 + (1 if input_grad else 0))
    return Counts(shape, 2 * shape[0], elements, 2 * elements, bwd, 0, 0,
                  2 * math.prod(shape))


# Operations of group / layer / instance norm (a sum, product, division, square root or
# reciprocal counts as 1), per element and per normalised set of M elements:
#   forward   per element: mean 1 add; variance 3 (subtract, square, add); normalise 1
#             (times 1/s); affine 2 (one MAC)                                        -> 7
#             per set: mean and variance divisions by M, + eps, sqrt, reciprocal     -> 5
#   backward  per element: grad_gamma 2 (multiply, add), grad_beta 1; with input_grad
#             8 more: gh = g * gamma, sum(gh), gh * xh, its sum, xh * mean, 2 subtractions,
#             times 1/s; per set (input_grad): the 2 means' divisions by M
NORM_FLOPS = {"forward": (7, 5), "params_backward": (3, 0), "input_backward": (8, 2)}
NORM_KINDS = ("group", "layer", "instance")


def _norm_sets(kind: str, shape, num_groups: int, func: str) -> tuple[int, int]:
    """(sets per sample, elements per set) of one norm on (C, H, W), refusing what torch
    refuses in training (one value per set)."""
    c, h, w = shape
    if kind == "group" and c % num_groups:
        raise ValueError(f"{func}: num_groups={num_groups} must divide the channels C={c}")
    sets = {"group": num_groups, "layer": 1, "instance": c}[kind]
    if c * h * w // sets <= 1:
        raise ValueError(f"{func}: {kind} norm on {shape} normalises single values "
                         f"(torch refuses: expected more than 1 value per set)")
    return sets, c * h * w // sets


def norm_counts(input_shape, kind, num_groups=1, batch=1, input_grad=True) -> Counts:
    """Counts of nn.GroupNorm(num_groups, C), nn.LayerNorm([C, H, W]) or
    nn.InstanceNorm2d(C, affine=True) (batch statistics) on (C, H, W).

    params: 2C (gamma, beta per channel), layer norm 2*C*H*W (elementwise affine).
    Unlike batch norm (folded to a*x + b), the statistics are per sample, so they are
    counted: NORM_FLOPS per element and per normalised set (group: N*G sets of C/G*H*W,
    layer: N sets of C*H*W, instance: N*C sets of H*W). macs = the affine map, 1 per
    element. connections = 2 per element (as batchnorm_counts). FlopCounterMode counts 0.
    Example: GN 2 on (4, 2, 2), batch 1: 16 elements, 2 sets: forward 7*16 + 5*2 = 122.
    """
    func = "norm_counts"
    shape = _chw(input_shape, func)
    _flags(func, input_grad=input_grad)
    if kind not in NORM_KINDS:
        raise ValueError(f"{func}: kind must be one of {NORM_KINDS}, got {kind!r}")
    sets, size = _norm_sets(kind, shape, positive_int(num_groups, "num_groups", func), func)
    n = positive_int(batch, "batch", func)
    elements, sets = n * sets * size, n * sets
    (fe, fs), (pe, _), (ie, is_) = (NORM_FLOPS[k] for k in NORM_FLOPS)
    bwd = pe * elements + ((ie * elements + is_ * sets) if input_grad else 0)
    params = 2 * (math.prod(shape) if kind == "layer" else shape[0])
    return Counts(shape, params, elements, fe * elements + fs * sets, bwd, 0, 0,
                  2 * math.prod(shape))


# forward, backward operations per element (a transcendental counts as 1)
ACTIVATION_FLOPS = {"relu": (1, 1),          # x > 0 ? x : 0;  g * (y > 0)
                    "tanh": (1, 3),          # g * (1 - y*y)
                    "sigmoid": (1, 3),       # g * y * (1 - y)
                    "softmax": (3, 4)}       # exp, sum, divide;  y * (g - sum(g*y))


def activation_counts(input_shape, kind, batch=1, input_grad=True) -> Counts:
    """Elementwise activations: no parameters, no MACs, no connections (LeNet counts the
    squashing function as part of the unit); flops from ACTIVATION_FLOPS. Torch: 0."""
    if not isinstance(kind, str) or kind not in ACTIVATION_FLOPS:
        raise ValueError(f"activation_counts: kind must be one of "
                         f"{tuple(ACTIVATION_FLOPS)}, got {kind!r}")
    shape = _shape(input_shape, "activation_counts")
    _flags("activation_counts", input_grad=input_grad)
    elements = positive_int(batch, "batch", "activation_counts") * math.prod(shape)
    fwd, bwd = ACTIVATION_FLOPS[kind]
    return Counts(shape, 0, 0, fwd * elements, bwd * elements if input_grad else 0, 0, 0, 0)


def activation_bytes(shape, dtype="float32", batch=1) -> int:
    """Memory of one layer's output for `batch` samples: N * prod(shape) * itemsize.
    Example: LeNet C1 (6, 28, 28) in float32: 6*28*28*4 = 18816 bytes per sample."""
    func = "activation_bytes"
    shape = _shape(shape, func, "shape")
    return positive_int(batch, "batch", func) * math.prod(shape) * _itemsize(dtype, func)


def _itemsize(dtype, func: str) -> int:
    """Bytes per element of a floating dtype ('float32', np.float64, ...)."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.kind != "f":
        raise TypeError(f"{func}: dtype must be a floating dtype (float16/32/64), got "
                        f"{dtype!r}")
    return dt.itemsize


@dataclass(frozen=True)
class WeightSharing:
    """Weights (no biases) of one layer under three connection schemes (A7)."""
    fully_connected: int      # every input unit to every output unit
    locally_connected: int    # each output unit sees only its window, own weights
    shared: int               # the window's weights shared by all positions: a conv


def weight_sharing(input_shape, out_shape, kernel_size, groups=1,
                   connection_table=None) -> WeightSharing:
    """A7 (seed 003): a 1000x1000 image, 10^6 hidden units, 10x10 fields gives
    fully connected 1000*1000*10^6 = 10^12, locally connected 10*10*10^6 = 10^8, shared 100:
    weight_sharing((1, 1000, 1000), (1, 1000, 1000), 10). Shapes are (C, H, W); groups and
    a connection table (as in conv2d_counts) narrow the window, not the fully connected case.
    """
    func = "weight_sharing"
    c, h, w = _chw(input_shape, func)
    k, ho, wo = _chw(out_shape, func, "out_shape")
    kh, kw = pair(kernel_size, "kernel_size", func, 1)
    groups = positive_int(groups, "groups", func)
    shared = sum(_taps(c, k, groups, connection_table, func)) * kh * kw
    return WeightSharing(c * h * w * k * ho * wo, shared * ho * wo, shared)
