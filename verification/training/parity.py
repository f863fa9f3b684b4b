"""Step-for-step training parity: the NumPy model (reference.model) against its torch.nn
twin (cnnref.verification.training.torch_layers, built from the same spec), same initial weights, same
mini-batches, plain SGD (torch.optim.SGD, no momentum) on both; after every step the loss,
every parameter and every buffer (batch norm's running statistics) are compared.

Per-op checks can all pass while a network still trains wrongly (a transposed reshape
before the first dense layer, a gradient averaged twice, a running variance updated with
the biased variance); this is the end-to-end check of FORMULAS C1-C15 together.

Distance between two states: for each tensor, max|a - b| / max|b| (the relative error in
the max norm, which a near-zero element cannot blow up); a step's figure is the maximum
over tensors. The loss: |a - b| / |b|.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from cnnref.reference import netspec as ns
from cnnref.reference.datasets import batches, colour_shapes
from cnnref.reference.model import Sequential, build, trainable_network
from cnnref.reference.networks import get_network, output_shapes
from cnnref.verification.training.torch_layers import torch_network

LR = {"lenet5": 0.05, "table18_1": 0.1}     # table18_1: the documents' cnn_model rate


@dataclass
class Lockstep:
    """Several runs trained side by side on the same batches. Per step (index 0 = after
    step 1): each run's loss, and for each compared pair 'a~b' the largest relative
    difference over all tensors (relative_diffs, scaled by the `scale` run's state), the
    tensor where it occurred, and at the end every tensor's difference."""
    net: str
    losses: dict = field(default_factory=dict)
    diffs: dict = field(default_factory=dict)
    worst: dict = field(default_factory=dict)
    final: dict = field(default_factory=dict)

    def loss_diff(self, a: str, b: str) -> list:
        return [abs(x - y) / abs(y) for x, y in zip(self.losses[a], self.losses[b])]


def generated_data(net: str, n: int, seed: int = 0, dtype=np.float64):
    """colour_shapes sized for the network: 3 channels -> the colour task (Table 18-1),
    1 channel -> the shape task (LeNet-5); classes must be 6 (or more, unused)."""
    spec = get_network(net)
    c, h, w = spec.input.shape
    if h != w or c not in (1, 3):
        raise ValueError(f"generated_data: {net} needs a square 1- or 3-channel input, "
                         f"got {spec.input.shape}")
    classes = output_shapes(trainable_network(spec))[-1][0]
    if classes < 6:
        raise ValueError(f"generated_data: {net} has {classes} outputs, the data 6 classes")
    return colour_shapes(n, h, c, "colour" if c == 3 else "shape", seed, dtype=dtype)


def torch_twin(net: str, dtype):
    """nn.Sequential of the trainable spec (trailing SOFTMAX folded into the loss)."""
    twin = torch_network(trainable_network(get_network(net)))
    return twin.to(torch.float64 if np.dtype(dtype) == np.float64 else torch.float32)


def _tensors(layer, module) -> dict:
    """Our name -> the torch tensor(s) holding it: a tensor, or for a tabled conv (C3) the
    list of per-map weights with their input rows."""
    if isinstance(module, nn.Sequential):              # Flatten + Linear
        module = module[-1]
    names = {"coefficient": "coef"}
    out = {}
    for k in (*layer.params, *layer.buffers):
        if k == "weight" and hasattr(module, "table"):
            out[k] = list(zip(module.table, module.weights))
        else:
            out[k] = getattr(module, names.get(k, k))
    return out


def _to_numpy(t, like: np.ndarray) -> np.ndarray:
    if isinstance(t, list):                            # tabled conv: scatter the maps back
        full = np.zeros(like.shape)
        for k, (row, w) in enumerate(t):
            full[k, list(row)] = w.detach().numpy()[0]
        return full
    return t.detach().numpy().astype(np.float64)


def _ours(layer) -> dict:
    return {**layer.params, **layer.buffers}


def copy_into_torch(model: Sequential, twin) -> None:
    """Load our initial parameters and buffers into the twin (exact copies)."""
    with torch.no_grad():
        for layer, module in zip(model.layers, twin):
            for name, t in _tensors(layer, module).items():
                ours = _ours(layer)[name]
                if isinstance(t, list):
                    for k, (row, w) in enumerate(t):
                        w.copy_(torch.from_numpy(ours[k:k + 1, list(row)].copy()))
                else:
                    t.copy_(torch.from_numpy(np.ascontiguousarray(ours)))


def relative_diffs(ours: dict, theirs: dict, scale_of: dict | None = None) -> dict:
    """Tensor -> max|ours - theirs| / S, all dicts '<layer>.<name>' -> float64 array,
    S = the largest |value| of any tensor of the same layer in `scale_of` (default
    `theirs`). Per layer, not per
    tensor: a dense layer feeding batch norm has a bias whose exact gradient is 0 (BN
    subtracts the batch mean), so that bias holds nothing but rounding noise (~1e-17) and
    its own max would make two equally right runs differ by 100 %; next to the layer's
    weights, that noise is what it is, negligible."""
    scale: dict[str, float] = {}
    for k, v in (theirs if scale_of is None else scale_of).items():
        layer = k.rsplit(".", 1)[0]
        scale[layer] = max(scale.get(layer, np.finfo(np.float64).tiny), float(np.abs(v).max()))
    return {k: float(np.abs(ours[k] - v).max()) / scale[k.rsplit(".", 1)[0]]
            for k, v in theirs.items()}


def torch_state(model: Sequential, twin) -> dict[str, np.ndarray]:
    """The twin's parameters and buffers in our names and layouts, as float64."""
    out = {}
    for layer, module in zip(model.layers, twin):
        for name, t in _tensors(layer, module).items():
            out[f"{layer.name}.{name}"] = _to_numpy(t, _ours(layer)[name])
    return out


def numpy_state(model: Sequential) -> dict[str, np.ndarray]:
    """Our parameters and buffers, as float64."""
    return {k: v.astype(np.float64) for k, v in {**model.parameters(),
                                                 **model.buffers()}.items()}


class NumpyRun:
    """The reference model, trained by Sequential.loss + sgd_step. perturb > 0 multiplies
    every initial parameter by (1 + perturb * s), s = +-1 at random (seeded): the float64
    dynamics' response to one rounding-sized nudge, used to explain the float32 drift."""

    def __init__(self, net, seed, dtype, lr, perturb=0.0):
        self.model, self.dtype, self.lr = build(net, seed, dtype), np.dtype(dtype), lr
        rng = np.random.default_rng(seed + 99)
        for layer in self.model.layers if perturb else ():
            for k, v in layer.params.items():
                sign = rng.choice([-1.0, 1.0], v.shape).astype(v.dtype)
                layer.params[k] = v * (1 + v.dtype.type(perturb) * sign)

    def step(self, xb, yb) -> float:
        loss = self.model.loss(xb.astype(self.dtype), yb)
        self.model.sgd_step(self.lr)
        return loss

    def state(self) -> dict:
        return numpy_state(self.model)


class TorchRun:
    """The torch.nn twin holding the reference model's initial weights, trained by
    F.cross_entropy, backward and torch.optim.SGD (plain, no momentum)."""

    def __init__(self, net, seed, dtype, lr):
        self.model, self.dtype = build(net, seed, dtype), np.dtype(dtype)   # names, layout
        self.twin = torch_twin(net, dtype)
        copy_into_torch(self.model, self.twin)
        self.twin.train()
        self.opt = torch.optim.SGD(self.twin.parameters(), lr=lr)

    def step(self, xb, yb) -> float:
        self.opt.zero_grad()
        loss = F.cross_entropy(self.twin(torch.from_numpy(xb.astype(self.dtype))),
                               torch.from_numpy(yb))
        loss.backward()
        self.opt.step()
        return loss.item()

    def state(self) -> dict:
        return torch_state(self.model, self.twin)


def lockstep(net, runs: dict, pairs, scale: str, steps: int, batch_size: int = 16,
             seed: int = 0, data=None) -> Lockstep:
    """Step every run on the same batches (reference.datasets.batches) and compare the
    pairs (a, b) after every step, all relative to the state of run `scale`."""
    x, y = data if data is not None else generated_data(net, 1000, seed + 1)
    out = Lockstep(net, {name: [] for name in runs})
    for idx in batches(len(x), batch_size, steps, seed):
        for name, run in runs.items():
            out.losses[name].append(run.step(x[idx], y[idx]))
        states = {name: run.state() for name, run in runs.items()}
        for a, b in pairs:
            d = relative_diffs(states[a], states[b], states[scale])
            worst = max(d, key=d.get)
            out.diffs.setdefault(f"{a}~{b}", []).append(d[worst])
            out.worst.setdefault(f"{a}~{b}", []).append(worst)
            out.final[f"{a}~{b}"] = d
    return out


def run_parity(net: str = "lenet5", steps: int = 200, batch_size: int = 16,
               lr: float | None = None, dtype=np.float64, seed: int = 0,
               data=None) -> Lockstep:
    """NumPy against torch in one dtype: pair 'numpy~torch', losses 'numpy', 'torch'.
    data: (x, y) to draw batches from (default: generated_data for the net)."""
    lr = LR.get(net, 0.05) if lr is None else lr
    runs = {"numpy": NumpyRun(net, seed, dtype, lr), "torch": TorchRun(net, seed, dtype, lr)}
    return lockstep(net, runs, [("numpy", "torch")], "torch", steps, batch_size, seed, data)


def run_drift(net: str = "lenet5", steps: int = 200, batch_size: int = 16,
              lr: float | None = None, seed: int = 0, data=None) -> Lockstep:
    """float32 explained: numpy32~torch32 (the float32 parity), numpy32~numpy64 and
    torch32~torch64 (each side's own float32 error), numpy64~torch64 (float64 parity) and
    nudged64~numpy64 (float64 from weights nudged by u32 = 2^-24: how the dynamics amplify
    one rounding). All relative to torch64's state, so the triangle inequality
    numpy32~torch32 <= numpy32~numpy64 + numpy64~torch64 + torch32~torch64 holds exactly."""
    lr = LR.get(net, 0.05) if lr is None else lr
    f32, f64 = np.float32, np.float64
    runs = {"numpy32": NumpyRun(net, seed, f32, lr), "torch32": TorchRun(net, seed, f32, lr),
            "numpy64": NumpyRun(net, seed, f64, lr), "torch64": TorchRun(net, seed, f64, lr),
            "nudged64": NumpyRun(net, seed, f64, lr, perturb=2.0 ** -24)}
    pairs = [("numpy32", "torch32"), ("numpy32", "numpy64"), ("torch32", "torch64"),
             ("numpy64", "torch64"), ("nudged64", "numpy64")]
    return lockstep(net, runs, pairs, "torch64", steps, batch_size, seed, data)


def run_nudge(net: str = "lenet5", steps: int = 200, batch_size: int = 16,
              lr: float | None = None, seed: int = 0, data=None,
              nudge: float = 2.0 ** -24) -> float:
    """Amplification of the float64 training dynamics: the largest ratio, over the steps,
    of the difference between a run from weights nudged by `nudge` (relative, random
    signs) and the plain run, to the nudge. 1 means rounding errors are carried, not
    grown."""
    lr = LR.get(net, 0.05) if lr is None else lr
    runs = {"numpy64": NumpyRun(net, seed, np.float64, lr),
            "nudged64": NumpyRun(net, seed, np.float64, lr, perturb=nudge)}
    run = lockstep(net, runs, [("nudged64", "numpy64")], "numpy64", steps, batch_size, seed,
                   data)
    return max(run.diffs["nudged64~numpy64"]) / nudge


def widest_reduction(net: str, batch_size: int) -> int:
    """The longest sum one training step evaluates: a conv's weight gradient sums batch x
    output pixels, its forward C_in/groups x kH x kW (+ bias), a dense layer's weight
    gradient the batch and its forward the inputs, batch norm batch x pixels, the loss
    batch + classes (+ 6 roundings, tolerances.cross_entropy_rule)."""
    spec = trainable_network(get_network(net))
    shapes = [tuple(spec.input.shape)] + output_shapes(spec)
    widest = batch_size + shapes[-1][0] + 6
    for layer, before, after in zip(spec.layers, shapes, shapes[1:]):
        pixels = batch_size * math.prod(after[1:])
        if isinstance(layer, ns.Conv):
            kh, kw = layer.kernel_size
            widest = max(widest, pixels, before[0] // layer.groups * kh * kw + 1)
        elif isinstance(layer, ns.Dense):
            widest = max(widest, batch_size, math.prod(before) + 1)
        elif isinstance(layer, (ns.BatchNorm, ns.Subsample)):
            widest = max(widest, pixels + 10)
    return widest
