"""End-to-end: the NumPy networks train step for step like their PyTorch twins (issue 8,
FORMULAS C1-C15 together), and the training command writes its report."""
from __future__ import annotations

import numpy as np
import pytest

from reference.datasets import shapes_dataset
from reference.layers import build
from verification.training import run_parity
from verification.tolerances import gamma


@pytest.mark.parametrize("net", ["lenet5", "table18_1"])
def test_d3_float64_parity_with_torch_for_a_few_steps(net):
    """Same initial weights, same batches, plain SGD: loss and every parameter agree after
    every step. Each step's numbers pass through a few thousand roundings per value at most
    (the widest reduction, conv grad_weight over batch x output pixels, is 16 x 28 x 28 =
    12544 terms), so the float64 bound per step is gamma_12544 ~ 1.4e-12 relative; over 5
    steps errors add at most linearly in this regime."""
    records = run_parity(net, steps=5, batch=16, dtype=np.float64)
    allowed = 5 * float(gamma(16 * 28 * 28, np.float64))
    for r in records:
        assert abs(r.loss_numpy - r.loss_torch) <= allowed * abs(r.loss_torch), r
        assert r.max_rel_param_diff <= allowed, r


def test_training_reduces_the_loss():
    """A few SGD steps on one batch must lower the loss (the gradient points downhill)."""
    model = build("table18_1", seed=1)
    x, y = shapes_dataset(16, seed=2)
    first = model.loss_and_grads(x, y)
    for _ in range(5):
        model.step(0.1)
        last = model.loss_and_grads(x, y)
    assert last < first, (first, last)


def test_train_command_writes_the_report(tmp_path):
    from verification import cli
    code = cli.main(["train", "table18_1", "--epochs", "1", "--out", str(tmp_path)])
    text = (tmp_path / "training.md").read_text()
    assert code == 0 and "| 1 |" in text and "dense" in text
    assert (tmp_path / "training_loss.svg").read_text().startswith("<svg")
