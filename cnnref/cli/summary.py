"""`cnnref summary NET [--json]`: per-layer output shapes, parameters, MACs, FLOPs forward and
backward, connections and receptive fields of a network, with totals (A4-A10).

NET is a built-in name (lenet5, table18_1, seed000) or a one-line spec such as
"INPUT 1x32x32 -> CONV 6@5x5 -> POOL 2 -> FC 10". Pipeline: get_network -> summarize (pure
data, the --json output) -> render (text). No torch here.
"""
from __future__ import annotations

import json
import sys

from cnnref.reference.networks import get_network, summarize

CONVENTIONS = (
    "MACs: multiply-accumulates (what fvcore/thop/ptflops call \"FLOPs\").\n"
    "FLOPs: 2*MACs + bias adds, pooling comparisons/adds and elementwise ops, the "
    "statistics of GN/LN/IN (reference.counting); bwd: input gradient (from the first layer with parameters on), "
    "weight and bias gradients.\n"
    "torch: torch.utils.flop_counter (2*MACs of conv/linear only, bias ignored).\n"
    "connections: LeCun 1998 sense, per sample. RF: receptive field size / jump / centre "
    "of unit 0, in input pixels.")

# The one-line grammar (reference/netspec.py), as the spec line above the table writes it.
NOTATION = """\
  notation: CONV K@kxk/s+p  K filters of k x k, stride s, padding p zeros on each side
              (/s and +p are left out at 1 and 0: CONV 8@3x3+1 keeps the size)
            POOL k/s+p  max over k x k windows, stride s (default k); AVGPOOL: the mean
            DECONV K@kxk/s+p outpad=a  transposed conv (output_padding a)
            LPPOOL p=P k/s  (sum of x^P)^(1/P);  ADAPTIVEAVG / ADAPTIVEMAX h x w  to that size
            GN G  group norm, G groups;  LN  layer norm over C, H, W;  IN  instance norm
            SUBSAMPLE k  LeNet's trainable subsampling;  FC n  dense layer, n outputs
            NAME:layer  a label;  [ ... ]*N  repeated N times;  table=NAME  partial
              connection table (LeNet-5's C3)"""

COLUMNS = (("layer", "name", "<"), ("type", "layer", "<"), ("output", "out_shape", ">"),
           ("params", "params", ">"), ("MACs", "macs", ">"), ("FLOPs fwd", "flops", ">"),
           ("FLOPs bwd", "flops_backward", ">"), ("connections", "connections", ">"),
           ("RF size/jump/start", "receptive_field", ">"))


def _axes(values) -> str:
    text = [f"{v:g}" if isinstance(v, float) else str(v) for v in values]
    return text[0] if len(set(text)) == 1 else "x".join(text)


def _cell(key: str, value) -> str:
    if key == "out_shape":
        return "x".join(map(str, value))
    if key == "receptive_field":
        return " / ".join(_axes(value[k]) for k in ("size", "jump", "start"))
    return f"{value:,}" if isinstance(value, int) else str(value)


def _table(rows: list[list[str]], aligns: list[str]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(aligns))]
    return ["  ".join(f"{c:{a}{w}}" for c, a, w in zip(r, aligns, widths)).rstrip()
            for r in rows]


def render(data: dict) -> str:
    """The text form of summarize()'s data: aligned columns, thousands separators."""
    head = [title for title, _, _ in COLUMNS]
    body = [[_cell(key, row[key]) for _, key, _ in COLUMNS] for row in data["layers"]]
    first = ["INPUT", "", "x".join(map(str, data["input"]))] + [""] * (len(COLUMNS) - 3)
    t = data["totals"]
    total = ["total", "", ""] + [_cell(k, t[k]) for k in ("params", "macs", "flops",
                                                          "flops_backward", "connections")] + [""]
    lines = [f"{data['network']}: {data['spec']}", NOTATION,
             f"batch {data['batch']}, {data['dtype']}", ""]
    lines += _table([head, first] + body + [total], [a for _, _, a in COLUMNS])
    lines += ["",
              f"torch.utils.flop_counter: forward {t['torch_flops']:,}, "
              f"backward {t['torch_flops_backward']:,}",
              f"memory: activations {t['activation_bytes']:,} bytes, parameters "
              f"{t['param_bytes']:,} bytes"]
    convs = [r for r in data["layers"] if "weight_sharing" in r]
    if convs:
        lines += ["", "weights of each conv layer if it were (A7):"]
        rows = [["layer", "fully connected", "locally connected", "shared (conv)"]]
        rows += [[r["name"]] + [f"{r['weight_sharing'][k]:,}" for k in
                                ("fully_connected", "locally_connected", "shared")]
                 for r in convs]
        lines += ["  " + line for line in _table(rows, ["<", ">", ">", ">"])]
    return "\n".join(lines + ["", CONVENTIONS])


def run(args) -> int:
    try:
        data = summarize(get_network(args.net), args.batch, args.dtype)
    except ValueError as e:
        print(f"cnnref summary: {e}", file=sys.stderr)
        return 2
    print(json.dumps(data, indent=2) if args.json else render(data))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "summary", help="per-layer shapes, parameters, MACs/FLOPs, receptive fields",
        description=__doc__.split("\n\n")[0] + "\n\nBuilt-in networks: lenet5, table18_1, "
                    "seed000.")
    p.add_argument("net", metavar="NET",
                   help="a built-in name (lenet5, table18_1, seed000) or a one-line spec, "
                        "e.g. 'INPUT 1x32x32 -> CONV 6@5x5 -> POOL 2 -> FC 10'")
    p.add_argument("--json", action="store_true", help="print the same data as JSON")
    p.add_argument("--batch", type=int, default=1, help="samples per batch (default 1)")
    p.add_argument("--dtype", default="float32", choices=("float16", "float32", "float64"),
                   help="for the memory figures (default float32)")
    p.set_defaults(run=run)
