"""The shared building blocks of the hypothesis strategies (seeds, argument forms) and
the strategy of whole networks (layer stacks).

Each operator's own strategy lives beside its cases (verification/operators/<family>.py):
every one generates only valid configurations, biased towards the corners where
implementations go wrong, and draws a `Case` (verification/core/cases.py): shapes +
keyword arguments + a seed, so a failing case prints as a short, reproducible line.
"""
from __future__ import annotations

from hypothesis import strategies as st

from cnnref.reference.netspec import parse_network
from cnnref.reference.networks import output_shapes


seeds = st.integers(0, 2**32 - 1)


def simplify(p):
    """A square pair becomes an int, so both argument forms are exercised."""
    return p[0] if p[0] == p[1] else p


# --- layer stacks ---

_ELEMENTWISE = ["RELU", "TANH", "SIGMOID", "BN"]


@st.composite
def _new_layer(draw, c: int) -> str:
    """One DECONV / GN / LN / IN / LPPOOL / ADAPTIVEAVG / ADAPTIVEMAX layer on c channels."""
    kind = draw(st.sampled_from(["DECONV", "DECONV", "NORM", "LPPOOL", "ADAPTIVE"]))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    if kind == "NORM":
        groups = draw(st.sampled_from([g for g in (1, 2, 3) if c % g == 0]))
        return draw(st.sampled_from([f"GN {groups}", "LN", "IN"]))
    if kind == "LPPOOL":
        return f"LPPOOL p={draw(st.sampled_from(['1', '2', '3', '1.5']))} " \
               f"{k[0]}x{k[1]}/{s[0]}x{s[1]}"
    if kind == "ADAPTIVE":
        size = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
        return f"{draw(st.sampled_from(['ADAPTIVEAVG', 'ADAPTIVEMAX']))} {size[0]}x{size[1]}"
    groups = draw(st.sampled_from([g for g in (1, 2, 3) if c % g == 0]))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    p = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    op = tuple(draw(st.integers(0, max(a, b) - 1)) for a, b in zip(s, d))
    bias = "" if draw(st.booleans()) else " nobias"
    return f"DECONV {groups * draw(st.integers(1, 3))}@{k[0]}x{k[1]}/{s[0]}x{s[1]}" \
           f"+{p[0]}x{p[1]} outpad={op[0]}x{op[1]} dil={d[0]}x{d[1]} groups={groups}{bias}"


@st.composite
def _spatial_layer(draw, c: int, new: bool = False) -> str:
    """One CONV / POOL / AVGPOOL / SUBSAMPLE / elementwise layer in one-line form, on c
    input channels (pooling padding <= kernel // 2, as torch requires); with `new`, half
    the time one of _new_layer's."""
    if new and draw(st.booleans()):
        return draw(_new_layer(c))
    kind = draw(st.sampled_from(["CONV", "CONV", "POOL", "AVGPOOL", "SUBSAMPLE", "ELEM"]))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    geo = f"{k[0]}x{k[1]}/{s[0]}x{s[1]}"
    if kind == "ELEM":
        return draw(st.sampled_from(_ELEMENTWISE))
    if kind == "SUBSAMPLE":
        return f"SUBSAMPLE {geo}"
    if kind in ("POOL", "AVGPOOL"):
        p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
        return f"{kind} {geo}+{p[0]}x{p[1]}"
    groups = draw(st.sampled_from([g for g in (1, 2, 3) if c % g == 0]))
    out = groups * draw(st.integers(1, 3))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    bias = "" if draw(st.booleans()) else " nobias"
    return f"CONV {out}@{geo}+{p[0]}x{p[1]} dil={d[0]}x{d[1]} groups={groups}{bias}"


@st.composite
def layer_stacks(draw, max_spatial: int = 5, max_fc: int = 2, new: bool = False):
    """A valid network (reference.netspec.Network): INPUT, up to `max_spatial` conv/pool/
    subsample/elementwise layers (with `new`, also DECONV, GN, LN, IN, LPPOOL, ADAPTIVE*),
    then optionally FLATTEN and up to `max_fc` FC layers with activations. Valid by
    construction: a layer whose window does not fit the current map is not appended (the
    shape is tracked with the reference's own rule)."""
    c, h, w = draw(st.integers(1, 3)), draw(st.integers(3, 10)), draw(st.integers(3, 10))
    parts = [f"INPUT {c}x{h}x{w}"]
    for _ in range(draw(st.integers(1, max_spatial))):
        candidate = draw(_spatial_layer(c, new))
        try:
            shape = output_shapes(parse_network(" -> ".join(parts + [candidate])))[-1]
        except ValueError:
            continue
        if new and shape[1] * shape[2] > 256:     # a DECONV stack grows fast: keep it small
            continue
        parts.append(candidate)
        c = shape[0]
    n_fc = draw(st.integers(0, max_fc))
    if len(parts) == 1 and n_fc == 0:
        parts.append("RELU")
    if n_fc and draw(st.booleans()):
        parts.append("FLATTEN")
    for i in range(n_fc):
        # >= 2 features: a softmax of a single value is the constant 1 (no receptive field)
        parts.append(f"FC {draw(st.integers(2, 6))}" + ("" if draw(st.booleans()) else " nobias"))
        if i < n_fc - 1 or draw(st.booleans()):
            parts.append(draw(st.sampled_from(_ELEMENTWISE + ["SOFTMAX"])))
    return parse_network(" -> ".join(parts))
