"""Counts, grammar and model layers of the layers beyond the documents: DECONV (transposed
conv), GN / LN / IN (group, layer, instance norm), LPPOOL, ADAPTIVEAVG / ADAPTIVEMAX.

Against PyTorch: parameters with the torch.nn twin's numel(), output shapes with its
forward pass, and torch_flops with torch.utils.flop_counter.FlopCounterMode, forward and
backward. FlopCounterMode counts convolutions (conv_transpose included) and matmuls only:
for the norms, Lp and adaptive pooling it reports 0, which the same equality checks; their
own FLOPs, MACs and connections are checked against the arithmetic written out in the
worked examples below. Receptive fields of DECONV and of ADAPTIVEAVG (bins of one size)
against the support of an autograd gradient; the reference model's layers against the
torch twins' forward.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from cnnref import reference as ref
from cnnref.reference import counting as cnt
from cnnref.reference.model import from_network, trainable_network
from cnnref.reference.netspec import Deconv, Subsample, parse_network
from cnnref.reference.networks import layer_counts, network_counts, output_shapes
from cnnref.verification.core.strategies import layer_stacks, seeds
from cnnref.verification.training.torch_layers import (flops, torch_layer, torch_layer_counts,
                                                      torch_network)

torch = pytest.importorskip("torch")

NEW = "INPUT 3x12x12 -> CONV 8@3x3+1 -> GN 4 -> RELU -> LPPOOL p=2 2 -> IN" \
      " -> DECONV 6@4x4/2+1 outpad=1 groups=2 -> LN -> ADAPTIVEMAX 5 -> ADAPTIVEAVG 3x2" \
      " -> FC 10"


@pytest.mark.formulas("A4", "A5")
@settings(max_examples=40, deadline=None)
# a batch of 2 or more: torch's batch norm refuses one value per channel in training
@given(net=layer_stacks(new=True), batch=st.integers(2, 3), input_grad=st.booleans(),
       seed=seeds)
def test_new_layer_counts_match_torch(net, batch, input_grad, seed):
    """Every layer: params == numel, out_shape == forward, torch_flops (forward, backward)
    == FlopCounterMode (0 for norms and pooling), 2 * MACs == FlopCounterMode for DECONV."""
    shapes = [tuple(net.input.shape)] + output_shapes(net)
    for layer, in_shape in zip(net.layers, shapes):
        mine = layer_counts(layer, in_shape, batch, input_grad)
        call = f"layer_counts({ref.format_layer(layer)!r}, {in_shape}, batch={batch}, " \
               f"input_grad={input_grad})"
        out, params, fwd, bwd = torch_layer_counts(layer, in_shape, batch, input_grad,
                                                   seed=seed % 2**31)
        got = (mine.out_shape, mine.params, mine.torch_flops, mine.torch_flops_backward)
        want = (tuple(out.shape)[1:], params, fwd, 0 if bwd is None else bwd)
        assert got == want, f"(out_shape, params, torch fwd, torch bwd)={got}, but should " \
                            f"be {want} [{call}]"
        if isinstance(layer, Deconv):
            assert 2 * mine.macs == fwd, f"macs={mine.macs}, but should be {fwd // 2} [{call}]"


@pytest.mark.formulas("A5")
def test_deconv_counts_worked_example():
    """DECONV 8@4x4/2+1 on 16x8x8: Ho = (8 - 1)*2 - 2*1 + (4 - 1) + 1 = 16.
    params 16 * 8 * 4*4 + 8 = 2056; MACs 16 * 8 * 16 (weights) * 64 (input pixels) =
    131072; flops 2 * 131072 + 8 * 256 (bias) = 264192; backward with input_grad 2 * 131072
    (grad_x) + 2 * 131072 (grad_weight) + 2048 = 526336. Connections: along an axis, input
    i and tap t reach output 2i - 1 + t; (i, t) = (0, 0) lands at -1 and (7, 3) at 16,
    outside 0..15, so 8*4 - 2 = 30 pairs per axis: 16 * 8 * 30 * 30 + 2048 = 117248."""
    c = cnt.conv_transpose2d_counts((16, 8, 8), 8, 4, stride=2, padding=1)
    got = (c.out_shape, c.params, c.macs, c.flops, c.flops_backward, c.torch_flops,
           c.torch_flops_backward, c.connections)
    want = ((8, 16, 16), 2056, 131072, 264192, 526336, 262144, 524288, 117248)
    assert got == want, f"counts={got}, but should be {want} [conv_transpose2d_counts]"
    module = torch.nn.ConvTranspose2d(16, 8, 4, 2, 1)
    _, fwd = flops(lambda: module(torch.randn(1, 16, 8, 8)))
    assert fwd == c.torch_flops, f"FlopCounterMode={fwd}, torch_flops={c.torch_flops}"


@pytest.mark.formulas("A5")
@given(seed=seeds, data=st.data())
@settings(max_examples=15, deadline=None)
def test_deconv_connections_are_the_jacobian_support(seed, data):
    """connections - bias edges == the nonzero entries of d out / d x for a weight without
    zeros (each (input, output) pair is reached by at most one tap)."""
    c, k, g = data.draw(st.sampled_from([(2, 2, 1), (2, 4, 2), (3, 3, 1)]))
    kernel, stride = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    dil, pad = data.draw(st.integers(1, 2)), data.draw(st.integers(0, 1))
    outpad = data.draw(st.integers(0, max(stride, dil) - 1))
    h = data.draw(st.integers(1, 4))
    try:
        counts = cnt.conv_transpose2d_counts((c, h, h), k, kernel, stride, pad, outpad, dil,
                                             g, bias=False)
    except ValueError:
        return                                   # an empty output: refused, as torch does
    torch.manual_seed(seed % 2**31)
    module = torch.nn.ConvTranspose2d(c, k, kernel, stride, pad, outpad, g, False, dil).double()
    with torch.no_grad():
        module.weight.copy_(1 + torch.rand(module.weight.shape, dtype=torch.float64))
    jac = torch.autograd.functional.jacobian(module, torch.randn(1, c, h, h).double())
    want = int((jac != 0).sum())
    assert counts.connections == want, f"connections={counts.connections}, but should be " \
                                       f"{want} [conv_transpose2d_counts(({c}, {h}, {h}), " \
                                       f"{k}, {kernel}, {stride}, {pad}, {outpad}, {dil}, {g})]"


@pytest.mark.formulas("A5")
def test_norm_counts_worked_examples():
    """GN 2 on 4x2x2, batch 3: 48 elements in 6 sets of 8. Forward 7 per element + 5 per
    set = 7*48 + 5*6 = 366; backward with input_grad (3 + 8)*48 + 2*6 = 540, without 3*48 =
    144; params 2*4; MACs 48. LN on 4x2x2: params 2 * 16 = 32, 1 set per sample. IN on
    4x2x2, batch 1: 4 sets of 4, forward 7*16 + 5*4 = 132."""
    gn = cnt.norm_counts((4, 2, 2), "group", 2, batch=3)
    gn_frozen = cnt.norm_counts((4, 2, 2), "group", 2, batch=3, input_grad=False)
    ln, inn = cnt.norm_counts((4, 2, 2), "layer"), cnt.norm_counts((4, 2, 2), "instance")
    got = (gn.flops, gn.flops_backward, gn_frozen.flops_backward, gn.params, gn.macs,
           ln.params, ln.flops, inn.params, inn.flops, gn.torch_flops, inn.connections)
    want = (366, 540, 144, 8, 48, 32, 7 * 16 + 5, 8, 132, 0, 32)
    assert got == want, f"counts={got}, but should be {want} [norm_counts]"


@pytest.mark.formulas("A5")
def test_adaptive_and_lp_pool_counts_worked_examples():
    """ADAPTIVEAVG 1 on 512x7x7: one bin of 49 per channel: forward 48 adds + 1 division =
    49 per channel = 25088; backward 1 division + 49 adds = 50 * 512 = 25600.
    ADAPTIVEMAX 3 on 1x5x5: bins [0, 2), [1, 4), [3, 5) of sizes 2, 3, 2 (sum 7) per axis,
    so 7 * 7 = 49 taps for 9 outputs: 49 - 9 = 40 comparisons, connections 49.
    LPPOOL p=2 2x2/2 on 6x28x28: 1176 outputs, 2 * 4 = 8 flops each = 9408; backward
    3 * 4 + 2 = 14 each = 16464; connections 4 * 1176 = 4704."""
    a = cnt.adaptive_pool2d_counts((512, 7, 7), 1)
    m = cnt.adaptive_pool2d_counts((1, 5, 5), 3, "max")
    lp = cnt.lp_pool2d_counts((6, 28, 28), 2, 2)
    got = (a.flops, a.flops_backward, a.connections, m.out_shape, m.flops, m.connections,
           lp.out_shape, lp.flops, lp.flops_backward, lp.connections)
    want = (25088, 25600, 25088, (1, 3, 3), 40, 49, (6, 14, 14), 9408, 16464, 4704)
    assert got == want, f"counts={got}, but should be {want} [adaptive/lp pool counts]"
    start, end = ref.adaptive_bins(5, 3)
    assert (end - start).tolist() == [2, 3, 2]


@pytest.mark.formulas("A9")
@given(net=layer_stacks(new=True))
@settings(max_examples=40, deadline=None)
def test_new_layers_one_line_form_round_trips(net):
    text = ref.format_network(net)
    assert ref.parse_network(text) == net, f"parse_network(format_network(net)) != net [{text!r}]"


@pytest.mark.formulas("A9")
def test_new_layers_parse_and_summarize():
    net = parse_network(NEW)
    kinds = [ref.format_layer(layer).split()[0] for layer in net.layers]
    assert kinds == ["CONV", "GN", "RELU", "LPPOOL", "IN", "DECONV", "LN", "ADAPTIVEMAX",
                     "ADAPTIVEAVG", "FC"]
    shapes = output_shapes(net)
    # LPPOOL 2: 12 -> 6; DECONV: (6 - 1)*2 - 2 + 3 + 1 + 1 = 13; adaptive to 5x5, then 3x2
    assert shapes[3] == (8, 6, 6) and shapes[5] == (6, 13, 13) and shapes[8] == (6, 3, 2), \
        f"output_shapes={shapes} [{NEW!r}]"
    rows = ref.summarize(net)["layers"]
    assert [r["name"] for r in rows][:6] == ["conv1", "gn1", "relu1", "lppool1", "in1",
                                             "deconv1"]


@pytest.mark.formulas("A9")
@pytest.mark.parametrize("text, match", [
    ("INPUT 2x8x8 -> DECONV 2@3/2 outpad=2", "output_padding"),
    ("INPUT 2x8x8 -> DECONV 2@3 table=lecun_c3", "DECONV option"),
    ("INPUT 2x8x8 -> CONV 2@3 outpad=1", "CONV option"),
    ("INPUT 2x8x8 -> DECONV 2@3 groups=3", "groups=3"),
    ("INPUT 4x8x8 -> GN 3", "num_groups=3"),
    ("INPUT 4x8x8 -> GN 0", "GN G"),
    ("INPUT 4x8x8 -> GN", "GN G"),
    ("INPUT 4x8x8 -> LN 2", "takes no arguments"),
    ("INPUT 4x1x1 -> IN", "single values"),
    ("INPUT 4x8x8 -> LPPOOL p=0 2", "P > 0"),
    ("INPUT 4x8x8 -> LPPOOL 2", "LPPOOL p=P"),
    ("INPUT 4x8x8 -> LPPOOL p=2 2+1", "no padding"),
    ("INPUT 4x8x8 -> LPPOOL p=2 9", "kernel"),
    ("INPUT 4x8x8 -> ADAPTIVEAVG 0", "output size"),
    ("INPUT 4x8x8 -> ADAPTIVEMAX", "output size"),
    ("INPUT 4x8x8 -> FC 3 -> GN 1", "FC or FLATTEN"),
    ("INPUT 4x8x8 -> FC 3 -> DECONV 2@2", "FC or FLATTEN"),
])
def test_new_layers_bad_specs_raise(text, match):
    with pytest.raises(ValueError, match=match):
        parse_network(text)


@pytest.mark.formulas("A4", "A5")
@pytest.mark.parametrize("call, match", [
    (lambda: cnt.conv_transpose2d_counts((2, 4, 4), 3, 2, groups=2), "groups=2"),
    (lambda: cnt.conv_transpose2d_counts((2, 4, 4), 2, 2, stride=2, output_padding=2),
     "output_padding"),
    (lambda: cnt.conv_transpose2d_counts((2, 1, 1), 2, 1, padding=1), "empty"),
    (lambda: cnt.norm_counts((2, 4, 4), "batch"), "kind"),
    (lambda: cnt.adaptive_pool2d_counts((2, 4, 4), 2, "median"), "mode"),
    (lambda: cnt.lp_pool2d_counts((2, 4, 4), float("inf"), 2), "norm_type"),
])
def test_new_count_functions_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.formulas("A6")
@given(net=layer_stacks(new=True, max_fc=1), seed=seeds)
@settings(max_examples=20, deadline=None)
def test_model_runs_new_layers_with_the_counted_shapes(net, seed):
    """The reference model built from the spec: every layer's forward output has the shape
    the counting module gives, every gradient the shape of its parameter, grad_x x's.
    (The model's LeNet subsampling takes only square kernels equal to the stride.)"""
    assume(not any(isinstance(layer, Subsample) for layer in net.layers))
    net = trainable_network(net)
    model = from_network(net, seed=seed % 2**31)
    rng = np.random.default_rng(seed)
    h = x = rng.standard_normal((2, *net.input.shape))
    for layer, want in zip(model.layers, output_shapes(net)):
        h = layer.forward(h)
        assert h.shape == (2, *want), f"{layer.name}: {h.shape}, but should be {(2, *want)} " \
                                      f"[{ref.format_network(net)!r}]"
    gx = model.backward(rng.standard_normal(h.shape))
    assert gx.shape == x.shape
    for name, p in model.parameters().items():
        assert model.gradients()[name].shape == p.shape, f"grad of {name}"


@pytest.mark.formulas("A6")
def test_model_new_layers_match_torch_twin_forward():
    """The reference model and the torch twins with the same parameters give the same
    logits (float64) on the network of every new layer."""
    net = parse_network(NEW)
    model = from_network(net, seed=3)
    x = np.random.default_rng(3).standard_normal((2, 3, 12, 12))
    h = torch.from_numpy(x)
    for layer, spec, shape in zip(model.layers, net.layers,
                                  [net.input.shape] + output_shapes(net)):
        twin = torch_layer(spec, shape).double()
        with torch.no_grad():
            _load(twin, layer.params)
            h = twin(h)
    want = h.detach().numpy()
    got = model.forward(x, training=True)
    # float64, a dozen layers of O(1) values: agreement to 1e-9 relative is far above the
    # ~1e-15 rounding of each step and far below any formula error
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    assert network_counts(net)[-1].out_shape == (10,)


def _load(twin, params):
    """Copy the reference layer's parameters into the torch twin (nn.Sequential(Flatten,
    Linear) for FC: the Linear is its last module)."""
    module = twin[-1] if isinstance(twin, torch.nn.Sequential) else twin
    for name, value in params.items():
        getattr(module, name).copy_(torch.from_numpy(value))


@st.composite
def _stack_ending_in_deconv_or_adaptive(draw):
    """layer_stacks' maps (no FC), then one DECONV or an ADAPTIVEAVG whose output size
    divides the map (each bin then a k = s = H / oh window), then maybe a 3x3 CONV."""
    net = draw(layer_stacks(max_fc=0))
    c, h, w = (output_shapes(net) or [net.input.shape])[-1]
    if draw(st.booleans()):
        k, s, d = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
        p = draw(st.integers(0, (d * (k - 1)) // 2))
        last = f"DECONV 2@{k}/{s}+{p} dil={d}"
    else:
        oh = draw(st.sampled_from([m for m in range(1, h + 1) if h % m == 0]))
        ow = draw(st.sampled_from([m for m in range(1, w + 1) if w % m == 0]))
        last = f"ADAPTIVEAVG {oh}x{ow}"
    text = ref.format_network(net) + " -> " + last
    if draw(st.booleans()):
        text += " -> CONV 1@3x3+1"
    return parse_network(text)


@pytest.mark.formulas("A8")
@settings(max_examples=40, deadline=None)
@given(net=_stack_ending_in_deconv_or_adaptive(), seed=seeds, data=st.data())
def test_deconv_and_adaptive_fields_hold_the_input_gradient_support(net, seed, data):
    """A DECONV unit's field is the hull of the inputs its taps reach (the zero-inserted
    view: jump j/s, size r + (k - 1)*d*j/s); an ADAPTIVEAVG whose bins are k = s = H / oh
    windows is that pool. The support of d out[unit] / d input (positive weights and
    input, max pools as average pools, BN in eval mode, as test_counting's A8 check)
    lies inside [centre - (r - 1)/2, centre + (r - 1)/2], centre = start + unit * jump."""
    torch.manual_seed(seed % 2**31)
    model = torch_network(net).double().eval()
    for i, layer in enumerate(net.layers):
        if isinstance(layer, ref.Pool) and layer.mode == "max":
            model[i] = torch.nn.AvgPool2d(layer.kernel_size, layer.stride, layer.padding)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.1 + 0.9 * torch.rand_like(p))
    x = (torch.rand(1, *net.input.shape, dtype=torch.float64) + 0.5).requires_grad_()
    out = model(x)[0]
    unit = tuple(data.draw(st.integers(0, n - 1)) for n in out.shape)
    out[unit].backward()
    support = (x.grad[0] != 0).any(dim=0).numpy()
    rf = ref.receptive_fields(net)[-1]
    for axis, (r, j, start, u) in enumerate(zip(rf.size, rf.jump, rf.start, unit[1:])):
        used = np.flatnonzero(support.any(axis=1 - axis))
        lo, hi = start + u * j - (r - 1) / 2, start + u * j + (r - 1) / 2
        assert used.size == 0 or (lo - 1e-9 <= used.min() and used.max() <= hi + 1e-9), \
            f"support along axis {axis}: {used.tolist()}, outside [{lo}, {hi}] " \
            f"[receptive_fields({ref.format_network(net)!r})[-1] = {rf}, unit {unit}]"
