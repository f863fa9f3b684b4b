"""Training parity: the NumPy model (reference.layers) and its torch twin
(verification.torch_layers) start from the same weights, see the same mini-batches, take
the same plain SGD steps, and are compared after every step: loss and every parameter.

Per-op checks can all pass while a network still trains wrongly (a transposed flatten, a
gradient averaged twice, a BN running statistic updated with the wrong variance); this is
the end-to-end check of the whole reference (FORMULAS C1-C15, D3).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import reference as ref
from reference.datasets import shapes_dataset
from reference.layers import ConvLayer, Sequential, SubsampleLayer, build


@dataclass(frozen=True)
class StepRecord:
    step: int
    loss_numpy: float
    loss_torch: float
    max_rel_param_diff: float      # max over parameters of max|np - torch| / max|torch|


def dataset_for(net: str, n: int, seed: int = 0):
    """The generated data set shaped for the network's input (C, H, W) and classes."""
    spec = ref.get_network(net)
    c, h, _ = spec.input.shape
    classes = ref.output_shapes(spec)[-1][0]
    return shapes_dataset(n, channels=c, size=h, classes=classes, seed=seed)


def _pairs(model: Sequential, torch_model):
    """(numpy layer, torch module) for every layer with parameters, in order."""
    import torch.nn as nn
    modules = list(torch_model)
    for layer, module in zip(model.layers, modules):
        if isinstance(module, nn.Sequential):            # Flatten + Linear
            module = module[-1]
        if layer.params:
            yield layer, module


def _torch_views(layer, module):
    """name -> (our array view, torch tensor) covering every trainable number."""
    if isinstance(layer, ConvLayer) and hasattr(module, "table"):
        out = {f"weight[{k}]": (layer.params["weight"][k, list(row)], module.weights[k])
               for k, row in enumerate(module.table)}
        out["bias"] = (layer.params["bias"], module.bias)
        return out
    if isinstance(layer, SubsampleLayer):
        return {"coefficient": (layer.params["coefficient"], module.coef),
                "bias": (layer.params["bias"], module.bias)}
    return {k: (v, getattr(module, k)) for k, v in layer.params.items() if v is not None}


def torch_twin(net: str, model: Sequential, dtype):
    """The torch.nn model of the same spec, in `dtype`, holding our initial weights."""
    import torch
    from verification.torch_layers import torch_network
    spec = ref.get_network(net)
    layers = spec.layers[:len(model.layers)]                # without a trailing softmax
    twin = torch_network(type(spec)(spec.input, layers, spec.name)).to(
        torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        for layer, module in _pairs(model, twin):
            for ours, theirs in _torch_views(layer, module).values():
                theirs.copy_(torch.from_numpy(np.ascontiguousarray(ours)))
    return twin


def _max_rel_diff(model, twin) -> float:
    worst = 0.0
    for layer, module in _pairs(model, twin):
        for ours, theirs in _torch_views(layer, module).values():
            t = theirs.detach().numpy().astype(np.float64)
            scale = max(float(np.abs(t).max()), np.finfo(np.float64).tiny)
            worst = max(worst, float(np.abs(ours.astype(np.float64) - t).max()) / scale)
    return worst


def run_parity(net: str = "lenet5", steps: int = 200, batch: int = 16, lr: float = 0.05,
               dtype=np.float64, seed: int = 0) -> list[StepRecord]:
    """Train both models side by side; one record per step."""
    import torch
    import torch.nn.functional as F
    model = build(net, seed=seed, dtype=dtype)
    twin = torch_twin(net, model, dtype)
    opt = torch.optim.SGD(twin.parameters(), lr=lr)
    x, y = dataset_for(net, steps * batch, seed=seed + 1)
    x = x.astype(dtype)
    records = []
    for step in range(steps):
        xb, yb = x[step * batch:(step + 1) * batch], y[step * batch:(step + 1) * batch]
        loss = model.loss_and_grads(xb, yb)
        model.step(lr)
        opt.zero_grad()
        tloss = F.cross_entropy(twin(torch.from_numpy(xb)), torch.from_numpy(yb))
        tloss.backward()
        opt.step()
        records.append(StepRecord(step + 1, loss, tloss.item(), _max_rel_diff(model, twin)))
    return records


def train(net: str, epochs: int = 3, batch: int = 32, lr: float = 0.05, n_train: int = 1200,
          n_test: int = 400, seed: int = 0, progress=None):
    """Train the NumPy model on the generated data set; returns the model and per-epoch
    (epoch, mean loss, train accuracy, test accuracy) rows."""
    model = build(net, seed=seed)
    x, y = dataset_for(net, n_train + n_test, seed=seed + 1)
    xtr, ytr, xte, yte = x[:n_train], y[:n_train], x[n_train:], y[n_train:]
    rows = []
    for epoch in range(1, epochs + 1):
        order = np.random.default_rng(seed + epoch).permutation(n_train)
        losses = []
        for i, start in enumerate(range(0, n_train, batch)):
            idx = order[start:start + batch]
            losses.append(model.train(True).loss_and_grads(xtr[idx], ytr[idx]))
            model.step(lr)
            if progress:
                progress(epoch, i + 1, -(-n_train // batch), losses[-1])
        rows.append((epoch, float(np.mean(losses)), accuracy(model, xtr, ytr),
                     accuracy(model, xte, yte)))
    return model, rows


def accuracy(model: Sequential, x, y, batch: int = 200) -> float:
    model.train(False)
    hits = sum(int((model.forward(x[i:i + batch]).argmax(axis=1) == y[i:i + batch]).sum())
               for i in range(0, len(y), batch))
    model.train(True)
    return hits / len(y)


