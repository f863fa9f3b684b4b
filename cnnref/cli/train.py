"""`cnnref train NET`: train a network in NumPy (reference.model), compare it with the
documents' dense net on the same data (D3), optionally check it step for step against
PyTorch (--parity), and write OUT/training.md with SVG figures (OUT: ./cnnref-reports/ by
default; results trained on other data than the saved ones are never silently replaced).

    cnnref train table18_1 --epochs 20          # seed 004's colour task: CNN vs dense net
    cnnref train lenet5 --parity --steps 200    # + 200 SGD steps against torch, f64 and f32

Pipeline: train / parity -> OUT/training/NET.json (raw results) -> training.md and
training_NET_*.svg rendered from every JSON present (cnnref/report/training.py).
Data: lenet5 trains on scikit-learn's 8x8 handwritten digits laid out as 32x32 (the
optional extra `pip install cnnref[train]`; without it, the generated shape task), nets
with a 3-channel input on reference.datasets.colour_shapes' colour task.
"""
from __future__ import annotations

import json
import pathlib
import sys
import time

import numpy as np

from cnnref.reference.datasets import batches, digits_to_lenet, split, to_gray
from cnnref.reference.model import build, dense_spec
from cnnref.reference.networks import format_network, get_network
from cnnref.cli.report import DEFAULT_OUT
from cnnref.report.training import write_report
from cnnref.verification.core.tolerances import training_parity_allowed

# the documents' rates (seed 004): cnn_model 0.1, dnn_model 0.01; LeNet-5 (tanh) 0.05
DENSE_LR = 0.01


def load_data(net: str, source: str, n_train: int, n_test: int, seed: int):
    """((x_train, y_train), (x_test, y_test), description) for the network's input; at
    most n_train / n_test samples (the digits have 1,797 in all)."""
    # here, not at the top: parity imports torch, too slow a start for `cnnref --help`
    from cnnref.verification.training.parity import generated_data
    if source in ("auto", "digits") and net == "lenet5":
        try:    # scikit-learn is optional (cnnref[train]): without it, the shape task
            from sklearn.datasets import load_digits
        except ImportError:
            if source == "digits":
                raise SystemExit("cnnref train: --data digits needs scikit-learn: "
                                 "pip install 'cnnref[train]'")
            print("cnnref train: scikit-learn is not installed (pip install 'cnnref[train]'); "
                  "training on the generated shape task instead", file=sys.stderr)
        else:
            d = load_digits()
            train, test = split(digits_to_lenet(d.images), d.target.astype(np.int64), 0.25, seed)
            return _cut(train, n_train), _cut(test, n_test), \
                "scikit-learn's handwritten digits (8x8, 0..16), each pixel a 3x3 block " \
                "centred in 32x32; fixed 75/25 split"
    x, y = generated_data(net, n_train + n_test, seed + 1)
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:]), \
        f"reference.datasets.colour_shapes (generated, seed {seed + 1}): the " \
        f"{'colour' if x.shape[1] == 3 else 'shape'} task, 6 classes"


def _cut(pair, n):
    return pair[0][:n], pair[1][:n]


def _progress(label: str, done: int, total: int, loss: float, t0: float) -> None:
    """A bar redrawn in place on a terminal; nothing in a log file or a pipe, which get
    the plain line train_model prints after each epoch."""
    if not sys.stderr.isatty():
        return
    width = 30
    fill = int(width * done / total)
    print(f"\r  {label:<28} [{'#' * fill}{'.' * (width - fill)}] {done:>5}/{total}  "
          f"loss {loss:.4f}  {time.time() - t0:5.1f} s", end="", file=sys.stderr, flush=True)


def train_model(model, train, test, epochs, batch_size, lr, seed, label, progress=True):
    """Plain SGD; per epoch: mean training loss, training and test accuracy."""
    (x, y), (xt, yt) = train, test
    per_epoch = len(x) // batch_size
    order = batches(len(x), batch_size, epochs * per_epoch, seed)
    rows, t0 = [], time.time()
    for epoch in range(epochs):
        losses = []
        for i, idx in enumerate(order[epoch * per_epoch:(epoch + 1) * per_epoch]):
            losses.append(model.loss(x[idx], y[idx]))
            model.sgd_step(lr)
            if progress and ((i + 1) % max(1, per_epoch // 40) == 0 or i + 1 == per_epoch):
                _progress(f"{label} epoch {epoch + 1}/{epochs}", i + 1, per_epoch,
                          losses[-1], t0)
        row = {"epoch": epoch + 1, "loss": float(np.mean(losses))}
        if any(layer.buffers for layer in model.layers):     # batch norm: both ways
            row["test_acc_running_stats"] = model.evaluate(xt, yt)[1]
            model.recalibrate_batch_norm(x)
        row.update(train_acc=model.evaluate(x, y)[1], test_acc=model.evaluate(xt, yt)[1])
        rows.append(row)
        if progress:
            print(f"{chr(10) if sys.stderr.isatty() else ''}  {label} epoch {epoch + 1}/"
                  f"{epochs}: loss {row['loss']:.4f}, train {row['train_acc']:.1%}, test "
                  f"{row['test_acc']:.1%} ({time.time() - t0:.0f} s)", file=sys.stderr,
                  flush=True)
    return rows


def _gray(data):
    return [(to_gray(x), y) for x, y in data]


def run_training(args, data) -> dict:
    """Train the CNN and the dense nets of D3 on `data` (load_data's triple); the
    JSON-ready result."""
    train, test, source = data
    result = {"net": args.net, "data": source, "n_train": len(train[0]),
              "n_test": len(test[0]), "epochs": args.epochs, "batch": args.batch,
              "models": {}}
    lr = args.lr or {"table18_1": 0.1}.get(args.net, 0.05)
    nets = [(args.net, format_network(get_network(args.net)), lr, [train, test])]
    if not args.no_dense:
        nets.append(("dense", dense_spec(args.net), DENSE_LR, [train, test]))
        if train[0].shape[1] == 3:      # the documents fed their dense net gray images
            gray = dense_spec(args.net).replace("INPUT 3x", "INPUT 1x")
            nets.append(("dense on gray", gray, DENSE_LR, _gray([train, test])))
    for label, spec, rate, (tr, te) in nets:
        model = build(spec, args.seed)
        rows = train_model(model, tr, te, args.epochs, args.batch, rate, args.seed, label)
        result["models"][label] = {"spec": spec, "lr": rate, "epochs": rows,
                                   "params": int(sum(v.size for v in
                                                     model.parameters().values()))}
    return result


def run_parity_section(args) -> dict:
    """run_drift (float64 and float32 parity, float32 explained) and the float64 bound."""
    # here, not at the top: parity imports torch, too slow a start for `cnnref --help`
    from cnnref.verification.training.parity import LR, run_drift, widest_reduction
    print(f"  parity: {args.steps} steps, numpy and torch, float64 and float32",
          file=sys.stderr)
    lr = args.lr or LR.get(args.net, 0.05)
    run = run_drift(args.net, args.steps, args.parity_batch, lr, args.seed)
    amplification = max(run.diffs["nudged64~numpy64"]) / 2.0 ** -24
    n = widest_reduction(args.net, args.parity_batch)
    return {"steps": args.steps, "batch": args.parity_batch, "lr": lr, "diffs": run.diffs,
            "worst": {k: v[-1] for k, v in run.worst.items()},
            "loss_diffs": {"float64": run.loss_diff("numpy64", "torch64"),
                           "float32": run.loss_diff("numpy32", "torch32")},
            "amplification": amplification, "reduction": n,
            "allowed64": training_parity_allowed(args.steps, n, amplification)}


def _refuses(old: dict, source: str, args) -> str | None:
    """Why this run must not replace the saved results (None: it may): results on other
    data are not comparable, and the saved file may be the committed reference."""
    if args.parity_only or args.replace or "data" not in old or old["data"] == source:
        return None
    return (f"it holds results on {old['data']!r}; this run would train on {source!r}. "
            f"Write elsewhere (--out DIR) or pass --replace")


def run(args) -> int:
    out = pathlib.Path(args.out).resolve()
    path = out / "training" / f"{args.net}.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    data = None if args.parity_only else load_data(args.net, args.data, args.n_train,
                                                  args.n_test, args.seed)
    why = None if data is None else _refuses(old, data[2], args)
    if why:
        print(f"cnnref train: not overwriting {path}: {why}", file=sys.stderr)
        return 2
    result = {} if data is None else run_training(args, data)
    if args.parity or args.parity_only:
        result["net"] = args.net
        result["parity"] = run_parity_section(args)
    if data is not None and old.get("data", result["data"]) != result["data"]:
        old = {}        # --replace: parity of the old file was on the old run's settings
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**old, **result}, indent=1))
    print(f"wrote {path} and {write_report(out)}", file=sys.stderr)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a network in NumPy, vs a dense net and "
                              "step for step vs PyTorch", description=__doc__.split("\n\n")[0])
    p.add_argument("net", choices=("lenet5", "table18_1"), help="a built-in network")
    p.add_argument("--data", choices=("auto", "digits", "shapes"), default="auto",
                   help="lenet5's data: digits (scikit-learn) or the generated shapes")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch", type=int, default=16, help="batch size (documents: 16)")
    p.add_argument("--lr", type=float, default=None,
                   help="CNN learning rate (default: table18_1 0.1 as the documents, "
                        "lenet5 0.05); the dense nets use the documents' 0.01")
    p.add_argument("--n-train", type=int, default=4000)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-dense", action="store_true", help="skip the dense comparison (D3)")
    p.add_argument("--parity", action="store_true",
                   help="also train NumPy and torch side by side, float64 and float32")
    p.add_argument("--parity-only", action="store_true", help="the parity run alone")
    p.add_argument("--steps", type=int, default=200, help="parity steps (default 200)")
    p.add_argument("--parity-batch", type=int, default=16)
    p.add_argument("--out", default=DEFAULT_OUT,
                   help=f"report directory (default ./{DEFAULT_OUT}/, as cnnref report; "
                        f"`--out reports` in the repository refreshes the committed results)")
    p.add_argument("--replace", action="store_true",
                   help="replace saved results that were trained on other data")
    p.set_defaults(run=run)
