"""`cnnref train NET`: train a network in NumPy on the generated data set, with progress,
and write reports/training.md with its loss curve (SVG), the dense-net comparison of D3
and, with --parity, the step-for-step agreement with PyTorch.

    cnnref train table18_1                     # CNN vs a dense net, 3 epochs
    cnnref train lenet5 --parity --steps 200   # + 200 SGD steps against torch, float64/32
"""
from __future__ import annotations

import pathlib
import sys

DENSE = {"table18_1": "INPUT 3x28x28 -> FC 32 -> RELU -> FC 6",
         "lenet5": "INPUT 1x32x32 -> FC 84 -> TANH -> FC 10"}


def register(sub) -> None:
    p = sub.add_parser("train", help="train a network in NumPy (and check parity with torch)",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("net", help="lenet5, table18_1, seed000 or a one-line spec")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--parity", action="store_true", help="also run the torch parity check")
    p.add_argument("--steps", type=int, default=200, help="parity steps (default 200)")
    p.add_argument("--out", default="reports", help="directory for training.md and SVGs")
    p.set_defaults(run=run)


def _progress(epoch, i, n, loss):
    print(f"\r  epoch {epoch}  batch {i:>4}/{n}  loss {loss:.4f}", end="", file=sys.stderr,
          flush=True)
    if i == n:
        print(file=sys.stderr)


def run(args) -> int:
    import numpy as np
    from verification import svg
    from verification.training import run_parity, train
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"# Training `{args.net}` in NumPy", "",
             "Data: reference.datasets.shapes_dataset (generated colour-and-shape images, "
             "seed 0; 1200 training and 400 test images). Plain SGD, "
             f"lr {args.lr}, batch {args.batch}.", ""]
    curves = {}
    for name, spec in ((args.net, args.net), ("dense", DENSE.get(args.net))):
        if spec is None:
            continue
        print(f"training {name}", file=sys.stderr)
        _, rows = train(spec, epochs=args.epochs, batch=args.batch, lr=args.lr,
                        progress=_progress)
        curves[name] = [(e, loss) for e, loss, _, _ in rows]
        lines += [f"## {name}: `{spec}`", "", "| epoch | mean loss | train acc | test acc |",
                  "|---:|---:|---:|---:|"]
        lines += [f"| {e} | {loss:.4f} | {tr:.1%} | {te:.1%} |" for e, loss, tr, te in rows]
        lines.append("")
    (out / "training_loss.svg").write_text(svg.line_chart(
        f"{args.net}: mean training loss per epoch", curves, "epoch", "loss", logx=False))
    lines += ["![loss](training_loss.svg)", ""]
    if args.parity:
        lines += _parity_section(args, run_parity, np)
    (out / "training.md").write_text("\n".join(lines))
    print(f"wrote {out / 'training.md'}", file=sys.stderr)
    return 0


def _parity_section(args, run_parity, np) -> list[str]:
    lines = [f"## Parity with PyTorch ({args.steps} SGD steps, batch 16)", "",
             "| dtype | max relative loss difference | max relative parameter difference |",
             "|---|---:|---:|"]
    for dtype in (np.float64, np.float32):
        print(f"parity {np.dtype(dtype).name}", file=sys.stderr)
        recs = run_parity(args.net, steps=args.steps, batch=16, lr=args.lr, dtype=dtype)
        loss = max(abs(r.loss_numpy - r.loss_torch) / abs(r.loss_torch) for r in recs)
        par = max(r.max_rel_param_diff for r in recs)
        lines.append(f"| {np.dtype(dtype).name} | {loss:.2e} | {par:.2e} |")
    return lines + [""]
