"""Per-layer counts (A4, A5, A7), receptive fields (A8) and coverage maps (A10) against
PyTorch: parameters with numel(), shapes with a forward pass, FLOPs with
torch.utils.flop_counter.FlopCounterMode, fields and coverage with autograd.

FlopCounterMode counts only matmuls and convolutions: for pooling, LeNet subsampling, batch
norm and activations it reports 0, and so does `torch_flops` (checked below, per layer).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from cnnref import reference as ref
from cnnref.reference.netspec import Conv, Dense, Pool, parse_network
from cnnref.reference.networks import layer_counts, network_counts, output_shapes, receptive_fields
from cnnref.verification.core.strategies import layer_stacks, seeds
from cnnref.verification.training.torch_layers import (flops, torch_layer, torch_layer_counts,
                                                      torch_network)

torch = pytest.importorskip("torch")


@pytest.mark.formulas("A4", "A5")
@given(net=layer_stacks(), batch=st.integers(2, 3), input_grad=st.booleans(),
       dtype=st.sampled_from(["float32", "float64"]), seed=seeds)
def test_a4_a5_every_layer_count_matches_torch(net, batch, input_grad, dtype, seed):
    """params == numel, out shape == forward, torch_flops (fwd, bwd) == FlopCounterMode,
    MACs == FlopCounterMode / 2 for conv and linear, activation bytes == tensor bytes."""
    shapes = [tuple(net.input.shape)] + output_shapes(net)
    for layer, in_shape in zip(net.layers, shapes):
        mine = layer_counts(layer, in_shape, batch, input_grad)
        call = f"layer_counts({ref.format_layer(layer)!r}, {in_shape}, batch={batch}, " \
               f"input_grad={input_grad}) in {ref.format_network(net)!r}"
        out, params, fwd, bwd = torch_layer_counts(layer, in_shape, batch, input_grad,
                                                    dtype, seed % 2**31)
        assert tuple(out.shape) == (batch, *mine.out_shape), \
            f"out_shape={mine.out_shape}, but should be {tuple(out.shape)[1:]} [{call}]"
        assert mine.params == params, f"params={mine.params}, but should be {params} [{call}]"
        assert mine.torch_flops == fwd, \
            f"torch_flops={mine.torch_flops}, but should be {fwd} [{call}]"
        if isinstance(layer, (Conv, Dense)):
            assert 2 * mine.macs == fwd, f"macs={mine.macs}, but should be {fwd // 2} [{call}]"
        expected_bwd = 0 if bwd is None else bwd
        assert mine.torch_flops_backward == expected_bwd, \
            f"torch_flops_backward={mine.torch_flops_backward}, but should be " \
            f"{expected_bwd} [{call}]"
        if bwd is None:   # nothing to differentiate: this layer has no backward at all
            assert mine.flops_backward == 0, f"flops_backward={mine.flops_backward}, " \
                                             f"but should be 0 [{call}]"
        nbytes = out.numel() * out.element_size()
        got = ref.activation_bytes(mine.out_shape, dtype, batch)
        assert got == nbytes, f"activation_bytes={got}, but should be {nbytes} [{call}]"


@pytest.mark.formulas("A5")
@given(net=layer_stacks(), batch=st.integers(2, 3), seed=seeds)
def test_a5_network_flops_and_shapes_match_torch(net, batch, seed):
    """Whole network: every layer's output shape from one forward pass; totals of
    torch_flops forward and backward (input without gradient) == FlopCounterMode."""
    torch.manual_seed(seed % 2**31)
    model = torch_network(net)
    x = torch.randn(batch, *net.input.shape)
    outs = []

    def forward():
        h = x
        for module in model:
            h = module(h)
            outs.append(tuple(h.shape[1:]))
        return h
    out, fwd = flops(forward)
    counts = network_counts(net, batch)
    call = f"network_counts({ref.format_network(net)!r}, batch={batch})"
    assert [c.out_shape for c in counts] == outs, \
        f"out shapes={[c.out_shape for c in counts]}, but should be {outs} [{call}]"
    assert sum(c.torch_flops for c in counts) == fwd, \
        f"total torch_flops={sum(c.torch_flops for c in counts)}, but should be {fwd} [{call}]"
    want_bwd = 0
    if out.requires_grad:
        _, want_bwd = flops(lambda: out.backward(torch.randn(out.shape)))
    got_bwd = sum(c.torch_flops_backward for c in counts)
    assert got_bwd == want_bwd, \
        f"total torch_flops_backward={got_bwd}, but should be {want_bwd} [{call}]"


@pytest.mark.formulas("A5")
def test_a5_conv_flop_conventions_worked_example():
    """Conv 3->4 (groups 1), 3x3, on 3x8x8, bias, batch 2: Ho = Wo = 8 - 3 + 1 = 6.
    MACs = 2 * 4 * 6 * 6 * 3 * 3 * 3 = 7776 (seed 001: c_in c_out l_w l_h k_w k_h, times N);
    flops = 2 * 7776 + 2 * 4 * 36 (bias adds) = 15840; backward = grad_x 2*7776 + grad_w
    2*7776 + grad_b 288 = 31392; torch: 2 * 7776 = 15552 and 4 * 7776 = 31104."""
    c = ref.conv2d_counts((3, 8, 8), 4, 3, batch=2)
    got = (c.out_shape, c.params, c.macs, c.flops, c.flops_backward, c.torch_flops,
           c.torch_flops_backward, c.connections)
    want = ((4, 6, 6), 4 * 3 * 9 + 4, 7776, 15840, 31392, 15552, 31104, (27 + 1) * 4 * 36)
    assert got == want, f"counts={got}, but should be {want} [conv2d_counts((3, 8, 8), 4, 3)]"


@pytest.mark.formulas("A5")
def test_a5_grouped_conv_torch_grad_weight_quirk():
    """FlopCounterMode's grad_weight formula ignores groups: it reports groups * 2 * MACs.
    Conv 4->6, groups 2, 3x3 on 4x5x5 (out 3x3), batch 1: MACs = 6*9*2*9 = 972."""
    c = ref.conv2d_counts((4, 5, 5), 6, 3, groups=2, input_grad=False)
    module = torch.nn.Conv2d(4, 6, 3, groups=2)
    out, fwd = flops(lambda: module(torch.randn(1, 4, 5, 5)))
    _, bwd = flops(lambda: out.backward(torch.randn(out.shape)))
    assert (c.macs, fwd, bwd) == (972, 2 * 972, 2 * 2 * 972), \
        f"(macs, torch fwd, torch bwd)={(c.macs, fwd, bwd)}, but should be " \
        f"{(972, 1944, 3888)} [conv2d_counts((4, 5, 5), 6, 3, groups=2)]"
    assert c.torch_flops_backward == bwd and c.flops_backward == 2 * 972 + 6 * 9


@pytest.mark.formulas("A8")
@given(net=layer_stacks(), seed=seeds, data=st.data())
def test_a8_receptive_field_is_the_input_gradient_support(net, seed, data):
    """The support of d out[unit] / d input lies inside the unit's field box, and spans it
    along every axis where the box lies inside the image. (A padding position of any layer
    has a box reaching past the image, so a box inside the image reads no padding anywhere
    below it; connectivity is a product of rows and columns.) Max pools become average
    pools of the same geometry (the gradient of a max picks one pixel; the field is the
    whole window), weights and input are positive and weights about 1/fan-in (no accidental
    zeros, no saturated tanh whose derivative rounds to 0), BN runs in eval
    mode (in training mode the batch statistics couple every pixel)."""
    torch.manual_seed(seed % 2**31)
    model = torch_network(net).double().eval()
    for i, layer in enumerate(net.layers):
        if isinstance(layer, Pool) and layer.mode == "max":
            model[i] = torch.nn.AvgPool2d(layer.kernel_size, layer.stride, layer.padding)
    with torch.no_grad():   # positive, about 1/fan-in: no tanh/sigmoid saturation to 0
        for p in model.parameters():
            fan = p[0].numel() if p.dim() > 1 else 10
            p.copy_((0.1 + 0.9 * torch.rand_like(p)) / fan)
    x = (torch.rand(1, *net.input.shape, dtype=torch.float64) + 0.5).requires_grad_()
    out = model(x)[0]
    shape = tuple(out.shape)
    unit = tuple(data.draw(st.integers(0, n - 1)) for n in shape)
    out[unit].backward()
    support = (x.grad[0] != 0).any(dim=0).numpy()
    box = receptive_fields(net)[-1].box(unit[1:] if len(shape) == 3 else (0, 0))
    call = f"receptive_fields({ref.format_network(net)!r})[-1].box({unit})={box}"
    inside = [lo >= 0 and hi <= n - 1 for (lo, hi), n in zip(box, support.shape)]
    if not support.any():   # the unit reads only padding: its box must leave the image
        assert not all(inside), f"support is empty, but should be the box [{call}]"
        return
    for axis, (lo, hi), whole in zip("HW", box, inside):
        used = np.flatnonzero(support.any(axis=1 if axis == "H" else 0))
        assert lo <= used.min() and used.max() <= hi, \
            f"support along {axis}={used.tolist()}, but should lie in [{lo}, {hi}] [{call}]"
        if whole:
            assert (used.min(), used.max()) == (lo, hi), \
                f"support along {axis} spans {(used.min(), used.max())}, but should span " \
                f"{(lo, hi)} [{call}]"


@pytest.mark.formulas("A8")
def test_a8_receptive_field_worked_examples():
    """Two 3x3 convs: r = 1 + 2 + 2 = 5; then a 2x2/2 pool: r = 5 + 1*1 = 6, j = 2; then a
    3x3 conv: r = 6 + 2*2 = 10, start = 1 + 1 + 0.5 + 1*2 = 4.5 (centre of unit 0)."""
    net = parse_network("INPUT 1x16x16 -> CONV 1@3x3 -> CONV 1@3x3 -> POOL 2 -> CONV 1@3x3")
    got = [(rf.size[0], rf.jump[0], rf.start[0]) for rf in receptive_fields(net)]
    want = [(3, 1, 1.0), (5, 1, 2.0), (6, 2, 2.5), (10, 2, 4.5)]
    assert got == want, f"fields={got}, but should be {want} [receptive_fields({net})]"
    assert receptive_fields(net)[-1].box((0, 1)) == ((0, 9), (2, 11))


@st.composite
def _window_geometry(draw):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(2))
    hw = tuple(max(1, d * (k - 1) + 1 - sum(p)) + draw(st.integers(0, 5))
               for k, d, p in zip(kernel, dilation, pads))
    return hw, kernel, stride, pads, dilation


@pytest.mark.formulas("A10")
@given(geo=_window_geometry())
def test_a10_coverage_map_matches_autograd(geo):
    """Coverage of pixel (y, x) = d sum(conv(x, ones)) / d x[y, x]: with all-ones weights
    and an all-ones upstream gradient the input gradient counts the windows using each
    pixel (here the sum *is* the quantity measured, not a stand-in for a random gradient)."""
    hw, kernel, stride, pads, dilation = geo
    x = torch.ones(1, 1, *hw, dtype=torch.float64, requires_grad=True)
    xp = torch.nn.functional.pad(x, (*pads[1], *pads[0]))
    w = torch.ones(1, 1, *kernel, dtype=torch.float64)
    torch.nn.functional.conv2d(xp, w, stride=stride, dilation=dilation).sum().backward()
    want = x.grad[0, 0].numpy().astype(np.int64)
    got = ref.coverage_map(hw, kernel, stride, pads, dilation)
    call = f"coverage_map({hw}, {kernel}, {stride}, {pads}, {dilation})"
    assert np.array_equal(got, want), f"coverage={got.tolist()}, but should be " \
                                      f"{want.tolist()} [{call}]"


@pytest.mark.formulas("A10")
def test_a10_seed002_fig5_pixel_position_impact():
    """Seed 002 Fig. 5: 6x6 image, 3x3 kernel. Windows start at 0..3 per axis, so pixel x is
    used by starts max(0, x-2) .. min(x, 3): [1, 2, 3, 3, 2, 1]; the map is the outer
    product, corner 1 vs centre 9 ("位于外围的像素的影响远小于图像中心的像素"). With the
    seed's 1-px padding (8x8 padded, 6x6 out) starts are 0..5 on padded positions x+1:
    [2, 3, 3, 3, 3, 2]. Fig. 9 (3x3 input, 2x2 kernel): unit 1 (the corner) feeds only A."""
    axis = [min(x, 3) - max(0, x - 2) + 1 for x in range(6)]
    assert axis == [1, 2, 3, 3, 2, 1]
    for padding, want_axis in ((0, axis), (1, [2, 3, 3, 3, 3, 2])):
        got = ref.coverage_map((6, 6), 3, padding=padding)
        want = np.outer(want_axis, want_axis)
        assert np.array_equal(got, want), \
            f"coverage={got.tolist()}, but should be {want.tolist()} " \
            f"[coverage_map((6, 6), 3, padding={padding})]"
    fig9 = ref.coverage_map((3, 3), 2)
    assert fig9[0, 0] == 1 and fig9[1, 1] == 4, \
        f"coverage={fig9.tolist()}, but corner 1 and centre 4 [coverage_map((3, 3), 2)]"


@pytest.mark.formulas("A7")
def test_a7_seed003_full_local_shared():
    """Seed 003 3.2.1: 1000x1000 image, 10^6 hidden units, 10x10 fields:
    "全连接个数 1000×1000×10^6 = 10^12", "局部感知链接 10×10×10^6 = 10^8",
    "这一个隐藏层就只有 100 个参数". 10^6 units from a 10x10 kernel need 'same' padding
    (valid gives 991 * 991 = 982081): modelled as 1 map of 1000x1000."""
    got = ref.weight_sharing((1, 1000, 1000), (1, 1000, 1000), 10)
    want = (1000 * 1000 * 10**6, 10 * 10 * 10**6, 10 * 10)
    assert want == (10**12, 10**8, 100)
    assert (got.fully_connected, got.locally_connected, got.shared) == want, \
        f"weight_sharing={got}, but should be {want} [weight_sharing((1, 1000, 1000), ...)]"


@pytest.mark.formulas("A7")
@given(c=st.integers(1, 3), k=st.integers(1, 3), h=st.integers(3, 6), w=st.integers(3, 6),
       kern=st.integers(1, 3))
def test_a7_weight_sharing_matches_torch_layers(c, k, h, w, kern):
    """fully connected == nn.Linear(C*H*W, K*Ho*Wo) weights; locally connected == one
    kernel per output position (Ho*Wo copies of the conv weight); shared == conv weight."""
    ho, wo = h - kern + 1, w - kern + 1
    ws = ref.weight_sharing((c, h, w), (k, ho, wo), kern)
    conv = torch.nn.Conv2d(c, k, kern, bias=False).weight.numel()
    dense = torch.nn.Linear(c * h * w, k * ho * wo, bias=False).weight.numel()
    got, want = (ws.fully_connected, ws.locally_connected, ws.shared), (dense, conv * ho * wo, conv)
    assert got == want, f"weight_sharing={got}, but should be {want} " \
                        f"[weight_sharing({(c, h, w)}, {(k, ho, wo)}, {kern})]"


@pytest.mark.formulas("A4")
@pytest.mark.parametrize("call, match", [
    (lambda: ref.conv2d_counts((1, 4, 4), 2, 5), "conv2d_counts"),
    (lambda: ref.conv2d_counts((3, 8, 8), 4, 3, groups=2), "groups=2"),
    (lambda: ref.conv2d_counts((3, 8, 8), 2, 3, connection_table=((0, 3), (1,))), "table"),
    (lambda: ref.pool2d_counts((1, 4, 4), 2, mode="median"), "mode"),
    (lambda: ref.pool2d_counts((1, 1, 4), 2), "pool2d_counts"),
    (lambda: ref.activation_counts((3,), "gelu"), "kind"),
    (lambda: ref.conv2d_counts((8, 8), 4, 3), "input_shape"),
    (lambda: ref.coverage_map((2, 2), 3), "coverage_map"),
])
def test_a4_bad_arguments_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.formulas("A5")
def test_a5_pool_subsample_bn_activation_counts_worked():
    """2x2/2 max pool on 6x28x28: 6*14*14 = 1176 outputs, 3 comparisons each = 3528;
    connections 4 * 1176 = 4704. LeNet S2 (subsample): params (1+1)*6 = 12, flops
    (4 + 1) * 1176 = 5880, connections (2*2+1)*14*14*6 = 5880. BN on 32 features: 64
    params. tanh on 84: 84 flops forward, 3*84 backward."""
    p = ref.pool2d_counts((6, 28, 28), 2)
    s = ref.subsample2d_counts((6, 28, 28), 2)
    b = ref.batchnorm_counts((32,))
    a = ref.activation_counts((84,), "tanh")
    got = (p.flops, p.connections, s.params, s.flops, s.connections, b.params,
           a.flops, a.flops_backward)
    want = (3528, 4704, 12, 5880, 5880, 64, 84, 252)
    assert got == want, f"counts={got}, but should be {want} [pool2d/subsample2d/bn/act]"
    assert math.prod(p.out_shape) == 1176


@pytest.mark.formulas("A4", "A5")
@given(c=st.integers(1, 4), k=st.integers(1, 4), kh=st.integers(1, 4), kw=st.integers(1, 4),
       extra=st.tuples(st.integers(0, 6), st.integers(0, 6)),
       s=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       p=st.tuples(st.integers(0, 2), st.integers(0, 2)))
def test_a4_a5_seed001_formulas(c, k, kh, kw, extra, s, p):
    """Seed 001 ("Computation"): parameters c_i * c_o * k_w * k_h without bias; cost
    c_i * c_o * l_w^o * l_h^o * k_w * k_h, l_e^o = floor((l_e^i + 2 p_e - k_e) / s_e) + 1."""
    h, w = max(1, kh - 2 * p[0]) + extra[0], max(1, kw - 2 * p[1]) + extra[1]
    lh, lw = (h + 2 * p[0] - kh) // s[0] + 1, (w + 2 * p[1] - kw) // s[1] + 1
    got = ref.conv2d_counts((c, h, w), k, (kh, kw), s, p, bias=False)
    want = ((k, lh, lw), c * k * kw * kh, c * k * lw * lh * kw * kh)
    assert (got.out_shape, got.params, got.macs) == want, \
        f"(out_shape, params, macs)={(got.out_shape, got.params, got.macs)}, but should be " \
        f"{want} [conv2d_counts({(c, h, w)}, {k}, {(kh, kw)}, {s}, {p}, bias=False)]"


@pytest.mark.formulas("A4")
def test_a4_seed000_two_3x3x3_filters_have_56_parameters():
    """Seed 000: "其参数数量仅有(3*3*3+1)*2=56个" for two 3x3x3 filters on the 7x7x3
    input (stride 2, padding 1); independent of the input size."""
    for hw in (7, 5, 30):
        got = ref.conv2d_counts((3, hw, hw), 2, 3, stride=2, padding=1).params
        assert got == (3 * 3 * 3 + 1) * 2 == 56, \
            f"params={got}, but should be 56 [conv2d_counts((3, {hw}, {hw}), 2, 3, 2, 1)]"
