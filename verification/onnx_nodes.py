"""Which of ONNX's own backend node test cases for the CNN operators the reference answers.

    python -m cnnref.verification.onnx_nodes        (needs `pip install onnx`; not a dependency)

For every single-node case of the operators below (onnx.backend.test.case.node, the cases
the ONNX wheel's backend test loader runs), the node's attributes are translated to the
reference's torch-style arguments, the reference is run, and each output is compared with
ONNX's expected output under the case's own rtol / atol (compare.compare, one comparison).
A case is 'pass', 'fail' (an answer outside the tolerance: a disagreement to explain) or
'refused' (the reference or the translation raised ValueError / TypeError /
NotImplementedError: an input outside what the reference defines, e.g. LpPool with
padding, storage_order=1, 3-D Col2Im, extra statistics outputs). ONNX's LpPool is the
p-th root of sum |x|^p: the translation hands lp_pool the absolute values.
"""
from __future__ import annotations

import collections
import sys

import numpy as np

from cnnref import reference as ref
from cnnref.verification.core.compare import compare

OPS = ("Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool",
       "GlobalMaxPool", "LpPool", "MaxUnpool", "Col2Im", "LayerNormalization",
       "GroupNormalization", "InstanceNormalization", "BatchNormalization",
       "NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss")


def _attrs(node) -> dict:
    from onnx import helper
    out = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in out.items()}


def _same_pads(size, kernel, stride, dilation, mode):
    """auto_pad SAME_UPPER / SAME_LOWER: output ceil(i / s), the odd pixel at the end
    (UPPER) or the start (LOWER)."""
    pads = []
    for i, k, s, d in zip(size, kernel, stride, dilation):
        total = max((-(-i // s) - 1) * s + d * (k - 1) + 1 - i, 0)
        small, big = total // 2, total - total // 2
        pads.append((small, big) if mode == "SAME_UPPER" else (big, small))
    return tuple(pads)


def _window(a: dict, x, kernel):
    """(stride, pads, dilation) of a windowed node, auto_pad resolved."""
    nd = len(kernel)
    stride = tuple(a.get("strides", (1,) * nd))
    dilation = tuple(a.get("dilations", (1,) * nd))
    mode = a.get("auto_pad", "NOTSET")
    if mode in ("SAME_UPPER", "SAME_LOWER"):
        return stride, _same_pads(x.shape[2:], kernel, stride, dilation, mode), dilation
    p = a.get("pads", (0,) * 2 * nd) if mode == "NOTSET" else (0,) * 2 * nd
    return stride, tuple(zip(p[:nd], p[nd:])), dilation


def _conv(a, x, w, b=None):
    nd = x.ndim - 2
    stride, pads, dil = _window(a, x, w.shape[2:])
    return [getattr(ref, f"conv{nd}d")(x, w, b, stride, pads, dil, a.get("group", 1))]


def _conv_transpose(a, x, w, b=None):
    nd, k = x.ndim - 2, w.shape[2:]
    stride = tuple(a.get("strides", (1,) * nd))
    dil = tuple(a.get("dilations", (1,) * nd))
    extra = tuple(a.get("output_padding", (0,) * nd))
    p = a.get("pads", (0,) * 2 * nd)
    pads = tuple(zip(p[:nd], p[nd:]))
    if "output_shape" in a or a.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        want = a.get("output_shape") or [i * s for i, s in zip(x.shape[2:], stride)]
        total = [s * (i - 1) + e + d * (kk - 1) + 1 - o for i, s, e, d, kk, o
                 in zip(x.shape[2:], stride, extra, dil, k, want[-nd:])]
        lower = a.get("auto_pad") == "SAME_LOWER"
        pads = tuple((t - t // 2, t // 2) if lower else (t // 2, t - t // 2) for t in total)
    return [getattr(ref, f"conv_transpose{nd}d")(x, w, b, stride, pads, extra,
                                                 a.get("group", 1), dil)]


def _max_pool(a, x):
    nd, k = x.ndim - 2, tuple(a["kernel_shape"])
    if a.get("storage_order", 0):
        raise NotImplementedError("storage_order=1 (column-major indices)")
    stride, pads, dil = _window(a, x, k)
    out, idx = getattr(ref, f"max_pool{nd}d")(x, k, stride, pads, dil,
                                              bool(a.get("ceil_mode", 0)), True)
    plane = int(np.prod(x.shape[2:]))      # ONNX indices count over N and C as well
    base = np.arange(x.shape[0] * x.shape[1]).reshape(x.shape[:2] + (1,) * nd) * plane
    return [out, idx + base]


def _avg_pool(a, x):
    nd, k = x.ndim - 2, tuple(a["kernel_shape"])
    stride, pads, dil = _window(a, x, k)
    kw = {"dilation": dil} if any(d > 1 for d in dil) else {}
    return [getattr(ref, f"avg_pool{nd}d")(x, k, stride, pads, bool(a.get("ceil_mode", 0)),
                                           bool(a.get("count_include_pad", 0)), **kw)]


def _lp_pool(a, x):
    nd, k = x.ndim - 2, tuple(a["kernel_shape"])
    stride, pads, dil = _window(a, x, k)
    if any(map(any, pads)) or any(d > 1 for d in dil):
        raise NotImplementedError("lp_pool has no padding or dilation (torch's signature)")
    return [getattr(ref, f"lp_pool{nd}d")(np.abs(x), a.get("p", 2), k, stride,
                                          bool(a.get("ceil_mode", 0)))]


def _max_unpool(a, x, idx, shape=None):
    nd, k = x.ndim - 2, tuple(a["kernel_shape"])
    stride = tuple(a.get("strides", (1,) * nd))
    p = a.get("pads", (0,) * 2 * nd)
    if tuple(p[:nd]) != tuple(p[nd:]):
        raise NotImplementedError("asymmetric unpooling pads")
    size = None if shape is None else tuple(int(v) for v in shape[2:])
    plane = int(np.prod(size)) if size else int(np.prod(
        [(i - 1) * s - 2 * q + kk for i, s, q, kk in zip(x.shape[2:], stride, p[:nd], k)]))
    base = np.arange(x.shape[0] * x.shape[1]).reshape(x.shape[:2] + (1,) * nd) * plane
    return [getattr(ref, f"max_unpool{nd}d")(x, idx - base, k, stride, tuple(p[:nd]), size)]


def _col2im(a, x, image_shape, block_shape):
    if len(block_shape) != 2:
        raise NotImplementedError("fold is 2-D (torch's)")
    p = a.get("pads", (0, 0, 0, 0))
    if tuple(p[:2]) != tuple(p[2:]):
        raise NotImplementedError("asymmetric fold padding")
    return [ref.fold(x, tuple(int(v) for v in image_shape), tuple(int(v) for v in block_shape),
                     tuple(a.get("dilations", (1, 1))), tuple(p[:2]),
                     tuple(a.get("strides", (1, 1))))]


def _norm_outputs(n_outputs, y):
    if n_outputs > 1:
        raise NotImplementedError("the saved mean / inverse std outputs")
    return [y]


def _layer_norm(a, x, scale, bias=None, n_outputs=1):
    axis = a.get("axis", -1) % x.ndim
    shape = x.shape[axis:]
    scale = np.broadcast_to(scale, shape)
    bias = None if bias is None else np.broadcast_to(bias, shape)
    return _norm_outputs(n_outputs, ref.layer_norm(x, shape, scale, bias,
                                                   a.get("epsilon", 1e-5)))


def _group_norm(a, x, scale, bias, n_outputs=1):
    g = a["num_groups"]
    if scale.shape != (x.shape[1],):
        raise NotImplementedError("per-group scale (opset 18)")
    return _norm_outputs(n_outputs, ref.group_norm(x, g, scale, bias, a.get("epsilon", 1e-5)))


def _instance_norm(a, x, scale, bias, n_outputs=1):
    return _norm_outputs(n_outputs, ref.instance_norm(x, weight=scale, bias=bias,
                                                      eps=a.get("epsilon", 1e-5)))


def _batch_norm(a, x, scale, bias, mean, var, n_outputs=1):
    if a.get("training_mode", 0):
        raise NotImplementedError("training-mode outputs (running statistics)")
    return _norm_outputs(n_outputs, ref.batch_norm(x, mean, var, scale, bias, False,
                                                   eps=a.get("epsilon", 1e-5)))


def _loss_kwargs(a):
    kw = {"reduction": a.get("reduction", "mean")}
    if "ignore_index" in a:
        kw["ignore_index"] = a["ignore_index"]
    return kw


def _nll(a, x, target, weight=None):
    return [np.asarray(ref.nll_loss(x, target, weight, **_loss_kwargs(a)))]


def _softmax_ce(a, x, target, weight=None, n_outputs=1):
    loss = np.asarray(ref.cross_entropy(x, target, weight, **_loss_kwargs(a)))
    return [loss, ref.log_softmax(x, 1)][:n_outputs]


ADAPTERS = {"Conv": _conv, "ConvTranspose": _conv_transpose, "MaxPool": _max_pool,
            "AveragePool": _avg_pool, "LpPool": _lp_pool, "MaxUnpool": _max_unpool,
            "Col2Im": _col2im, "LayerNormalization": _layer_norm,
            "GroupNormalization": _group_norm, "InstanceNormalization": _instance_norm,
            "BatchNormalization": _batch_norm, "NegativeLogLikelihoodLoss": _nll,
            "SoftmaxCrossEntropyLoss": _softmax_ce,
            "GlobalAveragePool": lambda a, x: [getattr(ref, f"adaptive_avg_pool{x.ndim - 2}d")(x, 1)],
            "GlobalMaxPool": lambda a, x: [getattr(ref, f"adaptive_max_pool{x.ndim - 2}d")(x, 1)]}
# Cases where ONNX's definition and torch's (which the reference follows) differ.
KNOWN_DIFFERENCES = {
    "test_maxunpool_export_with_output_shape":
        "ONNX places the values by their indices in the default-size output, then pads it "
        "to output_shape; torch reads the indices as positions in the output_shape plane",
}
MULTI_OUTPUT = {"LayerNormalization", "GroupNormalization", "InstanceNormalization",
                "BatchNormalization", "SoftmaxCrossEntropyLoss"}


def run_case(case) -> tuple[str, str]:
    """('pass' | 'fail' | 'differs' | 'refused', why) for one ONNX node test case;
    'differs': a known difference of definition (KNOWN_DIFFERENCES)."""
    node = case.model.graph.node[0]
    inputs, expected = case.data_sets[0]
    args = [v for name, v in zip(node.input, inputs) if name]
    extra = {"n_outputs": len(node.output)} if node.op_type in MULTI_OUTPUT else {}
    try:
        got = ADAPTERS[node.op_type](_attrs(node), *args, **extra)
    except (ValueError, TypeError, NotImplementedError) as exc:
        return "refused", f"{type(exc).__name__}: {exc}"
    for i, (g, want) in enumerate(zip(got, expected)):
        want = np.asarray(want)
        allowed = case.atol + case.rtol * np.abs(want.astype(np.float64))
        failure = compare(f"output {i}", np.asarray(g), want, allowed)
        if failure is not None:
            if case.name in KNOWN_DIFFERENCES:
                return "differs", KNOWN_DIFFERENCES[case.name]
            return "fail", failure.message
    return "pass", ""


def cases():
    """The single-node backend cases of OPS (onnx.backend.test.case.node)."""
    import warnings
    from onnx.backend.test.case.node import collect_testcases
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        every = collect_testcases(None)
    return [c for c in every if c.model is not None and len(c.model.graph.node) == 1
            and c.model.graph.node[0].op_type in OPS]


def main(argv=None) -> int:
    verbose = "-v" in (argv or sys.argv[1:])
    tally = collections.defaultdict(collections.Counter)
    for case in cases():
        outcome, why = run_case(case)
        tally[case.model.graph.node[0].op_type][outcome] += 1
        if verbose and outcome != "pass":
            print(f"{outcome:8} {case.name}: {why[:150]}")
    total = collections.Counter()
    for op in OPS:
        total.update(tally[op])
        c = tally[op]
        print(f"{op:28} pass {c['pass']:3}  refused {c['refused']:3}  "
              f"differs {c['differs']:2}  fail {c['fail']:3}")
    print(f"{'all':28} pass {total['pass']:3}  refused {total['refused']:3}  "
          f"differs {total['differs']:2}  fail {total['fail']:3}  of {sum(total.values())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
