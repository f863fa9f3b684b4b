"""The documents' networks train in NumPy step for step like their PyTorch twins
(FORMULAS C1-C15 together, D3), on data that ships with the project.

The full run (200 steps, float64 and float32, both networks) is `cnnref train NET --parity
--parity-only --steps 200`; here a few steps on a small batch, in a few seconds.
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from cnnref.reference import model_layers
from cnnref.reference.datasets import COLOURS, colour_shapes, digits_to_lenet, to_gray
from cnnref.reference.model import build, dense_spec
from cnnref.reference.netspec import LECUN_C3
from cnnref.verification.core.compare import assert_close
from cnnref.verification.training.parity import run_nudge, run_parity, widest_reduction
from cnnref.verification.core.tolerances import training_parity_allowed

STEPS, BATCH = 4, 8


def _allowed(net):
    amp = run_nudge(net, STEPS, BATCH)
    return lambda k: training_parity_allowed(k, widest_reduction(net, BATCH), amp)


@pytest.mark.formulas("C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "C10", "C11", "C12", "C14", "C15")
@pytest.mark.parametrize("net", ["lenet5", "table18_1"])
def test_c1_c15_float64_training_parity_with_torch(net):
    """Same weights, same batches, plain SGD: after every step the loss, every parameter
    and every running statistic agree within the derived bound (training_parity_allowed:
    k steps x measured amplification x 2 gamma_n)."""
    run = run_parity(net, steps=STEPS, batch_size=BATCH)
    allowed = _allowed(net)
    call = f"run_parity({net!r}, steps={STEPS}, batch_size={BATCH})"
    for k, (d, worst, dl) in enumerate(zip(run.diffs["numpy~torch"], run.worst["numpy~torch"],
                                           run.loss_diff("numpy", "torch")), 1):
        assert d <= allowed(k), f"{worst} relative difference after step {k}={d:.3g}, " \
                                f"but should be <= {allowed(k):.3g} [{call}]"
        assert dl <= allowed(k), f"loss relative difference at step {k}={dl:.3g}, but " \
                                 f"should be <= {allowed(k):.3g} [{call}]"
    tensors = set(run.final["numpy~torch"])
    if net == "table18_1":
        assert {"bn3.running_mean", "bn3.running_var"} <= tensors, \
            f"compared tensors={sorted(tensors)}, but should include bn3's running stats [{call}]"


@pytest.mark.formulas("C15")
def test_c15_parity_catches_a_biased_running_variance(monkeypatch):
    """The harness can fail: running_var updated with the biased variance (M instead of
    M - 1) must show up after one step, far outside the bound."""
    def biased(x, running_mean, running_var, momentum=0.1):
        mu, var = x.mean(axis=0), x.var(axis=0)
        return ((1 - momentum) * running_mean + momentum * mu,
                (1 - momentum) * running_var + momentum * var)
    monkeypatch.setattr(model_layers, "batch_norm_running_stats", biased)
    run = run_parity("table18_1", steps=1, batch_size=BATCH)
    d, worst = run.diffs["numpy~torch"][0], run.worst["numpy~torch"][0]
    allowed = _allowed("table18_1")(1)
    assert worst == "bn3.running_var" and d > allowed, \
        f"worst tensor={worst} with difference {d:.3g}, but should be bn3.running_var " \
        f"> {allowed:.3g} [run_parity('table18_1', steps=1) with a biased running variance]"


@pytest.mark.formulas("A7")
def test_a7_lenet_c3_table_stays_partial_under_training():
    """Seed 003: C3 has (5*5*3+1)*6 + (5*5*4+1)*9 + (5*5*6+1)*1 = 1516 parameters, i.e.
    1500 live weights; the unconnected ones must stay exactly 0 after SGD steps."""
    model = build("lenet5", seed=3)
    x, y = colour_shapes(BATCH, 32, 1, "shape", seed=4)
    for _ in range(3):
        model.loss(x, y)
        model.sgd_step(0.1)
    w = model.parameters()["C3.weight"]
    live = sum(len(row) for row in LECUN_C3) * 25
    assert live + 16 == (5 * 5 * 3 + 1) * 6 + (5 * 5 * 4 + 1) * 9 + (5 * 5 * 6 + 1) * 1
    assert np.count_nonzero(w) == live, \
        f"nonzero C3 weights={np.count_nonzero(w)}, but should be {live} [build('lenet5')]"


@pytest.mark.formulas("C3")
def test_c3_softmax_is_folded_into_the_loss():
    """table18_1 ends in SOFTMAX (Table 18-1 row 11): trained as softmax cross-entropy on
    the logits, so forward returns 6 unnormalised scores per sample."""
    model = build("table18_1", seed=0)
    x, _ = colour_shapes(4, 28, 3, seed=1)
    logits = model.forward(x, training=False)
    sums = np.exp(logits).sum(axis=1)
    assert logits.shape == (4, 6) and not np.allclose(sums, 1), \
        f"logits.shape={logits.shape}, exp-sums={sums}, but should be (4, 6) logits [build]"


def test_colour_shapes_labels_are_the_painted_colour():
    """Every image is a dark background (< noise = 0.1) and one shape painted with
    brightness b * COLOURS[label], b in [0.6, 1]: the brightest pixel's channel pattern
    is the label's colour."""
    x, y = colour_shapes(60, 28, 3, "colour", seed=5)
    rgb = np.array(list(COLOURS.values()))
    for i in range(len(x)):
        pix = x[i].reshape(3, -1)[:, x[i].sum(axis=0).argmax()]
        got = (pix > 0.3).astype(int)
        assert (got == rgb[y[i]]).all(), \
            f"brightest pixel pattern={got}, but should be {rgb[y[i]]} [colour_shapes seed 5, i={i}]"


@pytest.mark.formulas("B10")
def test_to_gray_and_digits_layout_worked_examples():
    """Seed 004: gray = 0.299 R + 0.587 G + 0.114 B, so yellow (1, 1, 0) -> 0.886; a digit
    pixel (0, 0) of value 16 becomes the 3x3 block at rows/cols 4..6 of 32x32 with 1.0."""
    yellow = np.zeros((1, 3, 2, 2))
    yellow[0, :2] = 1
    assert np.allclose(to_gray(yellow), 0.299 + 0.587)
    img = np.zeros((1, 8, 8))
    img[0, 0, 0] = 16
    out = digits_to_lenet(img)
    assert out.shape == (1, 1, 32, 32) and out.sum() == 9 and (out[0, 0, 4:7, 4:7] == 1).all()


@pytest.mark.formulas("D3")
def test_d3_dense_comparison_net_is_the_documents_dnn():
    """seed 004 dnn_model: 784 -> 128 -> 64 -> 6 with ReLU (on 1x28x28 gray images)."""
    spec = dense_spec("table18_1").replace("INPUT 3x", "INPUT 1x")
    assert spec == "INPUT 1x28x28 -> FC 128 -> RELU -> FC 64 -> RELU -> FC 6", spec


def test_train_command_writes_the_report(tmp_path):
    from cnnref import cli
    code = cli.main(["train", "table18_1", "--epochs", "1", "--n-train", "64", "--n-test",
                     "32", "--parity", "--steps", "2", "--parity-batch", "4",
                     "--out", str(tmp_path)])
    text = (tmp_path / "training.md").read_text()
    assert code == 0 and "| dense on gray |" in text and "float64: NumPy vs PyTorch" in text, text
    for fig in ("loss", "test_acc", "parity"):
        assert (tmp_path / f"training_table18_1_{fig}.svg").read_text().startswith("<svg")


def test_train_never_replaces_results_trained_on_other_data(tmp_path, capsys):
    """A saved result on other data (the committed lenet5 digits run, say) stays unless
    --replace; the refusal comes before any training."""
    from cnnref import cli
    saved = tmp_path / "training" / "table18_1.json"
    saved.parent.mkdir()
    saved.write_text(json.dumps({"net": "table18_1", "data": "the documents' own images"}))
    args = ["train", "table18_1", "--epochs", "1", "--n-train", "32", "--n-test", "16",
            "--no-dense", "--out", str(tmp_path)]
    assert cli.main(args) == 2
    assert "not overwriting" in capsys.readouterr().err
    assert json.loads(saved.read_text())["data"] == "the documents' own images"
    assert cli.main(args + ["--replace"]) == 0
    assert "colour_shapes" in json.loads(saved.read_text())["data"]


def test_train_progress_is_plain_lines_off_a_terminal(tmp_path):
    out = subprocess.run([sys.executable, "-m", "cnnref", "train", "table18_1", "--epochs",
                          "2", "--n-train", "32", "--n-test", "16", "--no-dense", "--out",
                          str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "\r" not in out.stderr
    assert "epoch 1/2: loss" in out.stderr and "epoch 2/2: loss" in out.stderr


@pytest.mark.formulas("C15")
def test_c15_recalibrated_batch_norm_statistics_are_the_batch_averages():
    """recalibrate_batch_norm: running statistics = the average, over the batches of x,
    of each batch's mean and unbiased variance of the batch norm's input (momentum 1/k).
    table18_1's bn3 input is f3's output; two batches of 6 here."""
    model = build("table18_1", seed=2)
    x, _ = colour_shapes(12, 28, 3, seed=6)
    model.recalibrate_batch_norm(x, batch_size=6)
    names = [layer.name for layer in model.layers]
    bn = model.layers[names.index("bn3")]
    from cnnref.verification.operators.registry import bounds_for
    means, variances, allowed = [], [], {"running_mean": 0.0, "running_var": 0.0}
    running = (np.zeros(32), np.ones(32))
    for k, half in enumerate((x[:6], x[6:]), 1):
        h = half
        for layer in model.layers[:names.index("bn3")]:
            h = layer.forward(h, training=True)
        means.append(h.mean(axis=0))
        variances.append(h.var(axis=0, ddof=1))
        # each update errs by the table's bound for it; an earlier error is halved after
        bounds = bounds_for("batch_norm_running_stats", h, *running, momentum=1 / k)
        allowed = {n: allowed[n] + bounds[n].allowed(np.float64) for n in allowed}
        running = (np.mean(means, axis=0), np.mean(variances, axis=0))
    for name, want in zip(("running_mean", "running_var"), running):
        assert_close(bn.buffers[name], want, allowed[name], f"bn3.{name}",
                     "recalibrate_batch_norm(x, batch_size=6)")
    assert bn.momentum == 0.1
