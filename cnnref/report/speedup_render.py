"""Rendering of the speed-up report (cnnref/report/speedup.py computes): Markdown and the
dashboard's HTML section with inline SVG plots. Pure functions of the computed data."""
from __future__ import annotations

from html import escape

from cnnref.report import markup, svg
from cnnref.report.markup import Figure
from cnnref.report.speedup import TARGETS

OPS = ("conv_forward", "conv_backward", "max_pool_forward", "max_pool_backward",
       "avg_pool_forward", "avg_pool_backward")
BASES = (("naive", "naive"), ("loops", "method 1"), ("numba", "numba"), ("torch", "torch"))


def _ms(s):
    return f"{s * 1e3:.3g} ms" if s < 1 else f"{s:.3g} s"


def _x(v):
    return "" if v is None else f"{v:.3g}x"


def _measured(t) -> str:
    if t["measured"] is None:
        return t["detail"]
    v = t["measured"]
    text = f"{v:.1%}" if t["name"].startswith(("cap cost", "f32 of")) else f"{v:.3g}x"
    return text + (f" ({t['detail']})" if t["detail"] else "")


def _verdict(t) -> str:
    return {True: "met", False: "NOT MET", None: "not measured"}[t["met"]]


def _noise(r):
    return "" if r["noise"] is None else f"±{r['noise']:.0%}"


def _bytes(b):
    return "" if b is None else f"{b / 2**20:.3g} MiB"


def _algo(r):
    return r["algorithm"] + (f" ({r['auto_algorithm']})" if r.get("auto_algorithm") else "")


HEADER = ["shape", "dtype", "algorithm (auto: what it ran)", "time (median)", "min / max",
          "effective GFLOP/s", "of GEMM peak", "peak workspace"]
NOTE = ("Effective GFLOP/s = the direct convolution's FLOPs / time; Winograd does fewer "
        "multiplications, so its effective rate may exceed the GEMM peak. Peak workspace: "
        "what NumPy allocated at the peak of one call, less the outputs (tracemalloc; a "
        "BLAS's internal buffers are not counted).")


def table_row(r) -> list[str]:
    return ([r["case"], r["dtype"], _algo(r), _ms(r["median"]) + " " + _noise(r),
             f"{_ms(r['min'])} / {_ms(r['max'])}", f"{r['gflops']:.3g}", f"{r['of_peak']:.1%}",
             _bytes(r.get("peak_workspace"))] + [_x(r[f"vs_{b}"]) for b, _ in BASES])


def _spread(t) -> str:
    return f"{_ms(t['median'])} ({_ms(t['min'])} - {_ms(t['max'])})"


def per_shape_table(data):
    """(header, rows): per shape, what auto ran, both times with their spread, the ratio."""
    return (["operation", "shape", "dtype", "auto ran", "reference median (min - max)",
             "torch median (min - max)", "torch / reference"],
            [[p["op"], p["case"], p["dtype"], p["ran"] or "", _spread(p["auto"]),
              _spread(p["torch"]), f"{p['speedup']:.3g}x"] for p in data["per_shape"]])


def result_rows(data, op):
    return [r for r in data["table"] if r["op"] == op]


def _md_table(header, rows) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out + [""]


def machine_lines(data) -> list[str]:
    out = [f"GEMM throughput measured in this run (square matrices, NumPy): " + ", ".join(
        f"{d} {g:.1f} GFLOP/s" for d, g in sorted(data["peaks"].items())) + "."]
    for group, env in sorted(data["environment"].items()):
        pools = "; ".join(f"{p['internal_api']} {p['version'] or ''}"
                          + (f" kernel {p['architecture']}" if p["architecture"] else "")
                          + f", {p['num_threads']} threads"
                          for p in env["threadpools"]) or "no native thread pool"
        extra = ", ".join(f"{k} {env[k]}" for k in ("numpy", "torch", "torch_threads",
                                                    "torch_blas", "mkldnn", "numba", "cuda") if k in env)
        settings = ", ".join(f"{k}={v}" for k, v in env["env"].items()) or "no BLAS settings"
        skipped = f" SKIPPED: {env['skipped']}." if env["skipped"] else ""
        out.append(f"- process `{group}`: {pools}; {extra}; {settings}.{skipped}")
    cpu = next(iter(data["environment"].values()))
    out.append(f"- CPU: {cpu['cpu']}, {cpu['affinity']} usable cores.")
    return out


def render_markdown(data) -> str:
    out = ["# Speed-up report", "",
           f"Profile `{data['profile']}`. Every framework was timed in its own process; "
           f"times are medians, ± the robust relative spread of the repeats. Each result "
           f"was checked against the float64 reference under the tolerance table.", ""]
    out += ["## Targets", ""] + _md_table(
        ["target", "measured", "threshold", "verdict"],
        [[t["claim"], _measured(t), t["threshold"], _verdict(t)] for t in data["targets"]])
    out += ["## The documents' claims (FORMULAS D1, D2) and ours", ""] + _md_table(
        ["ID", "what", "documents", "ours"],
        [[c["id"], c["what"], f"{c['documents']:.4g}",
          "not measured" if c["ours"] is None else f"{c['ours']:.4g}"] for c in data["claims"]])
    out += ["## The reference (auto) against PyTorch CPU, per shape", ""] + _md_table(
        *per_shape_table(data))
    out += ["## Machine", ""] + machine_lines(data) + [""]
    for op in OPS:
        rows = result_rows(data, op)
        if not rows:
            continue
        out += [f"## {op}", "", NOTE, ""] + _md_table(
            HEADER + [f"x vs {label}" for _, label in BASES], [table_row(r) for r in rows])
    out += ["## im2col workspace cap (ResNet 3x3 forward)", ""] + _md_table(
        ["dtype", "cap", "columns held", "time"],
        [[w["dtype"], f"{w['cap'] / 2**20:.1f} MiB" + (" (default)" if w["default"] else ""),
          f"{w['workspace_bytes'] / 2**20:.1f} MiB", _ms(w["median"]) + " " + _noise(w)]
         for w in data["workspace"]])
    if data.get("comparison"):
        out += comparison_markdown(data["comparison"])
    return "\n".join(out)


def comparison_markdown(rows) -> list[str]:
    flagged = [r for r in rows if r["verdict"] in ("regression", "improvement")]
    out = ["## Comparison with the saved run", "",
           f"{sum(r['verdict'] == 'regression' for r in rows)} regressions, "
           f"{sum(r['verdict'] == 'improvement' for r in rows)} improvements beyond the threshold "
           f"(sigmas of the measured noise and a minimum change), out of {len(rows)} "
           f"measurements.", ""]
    return out + _md_table(["measurement", "old", "new", "new/old", "noise sigma", "verdict"],
                           [[r["key"], _ms(r["old"]), _ms(r["new"]), f"{r['ratio']:.3f}",
                             "" if r["sigma"] is None else f"{r['sigma']:.1%}", r["verdict"]]
                            for r in flagged or rows[:0]])


# --- HTML ---------------------------------------------------------------------------

def _target(data, name):
    return next(t for t in data["targets"] if t["name"] == name)


def _ratio_figure(data, key, label, target, detail) -> Figure:
    v = data["headline"][key]
    met = _target(data, target)["met"] if target else None
    status = "" if met is None else "ok" if met else "bad"
    return Figure(label, "not measured" if v is None else _times(v), status, detail)


def _times(v: float) -> str:
    """2234.5 -> '2,234x', 1.234 -> '1.23x'."""
    return f"{v:,.0f}x" if v >= 100 else f"{v:.3g}x"


def headline(data) -> list[Figure]:
    """The headline band's figures: the im2col speed-up over the documents' loops and the
    ratio to PyTorch per dtype (PyTorch's time / ours: > 1 is faster), targets met."""
    t = data["targets"]
    met = sum(x["met"] is True for x in t)
    return [
        _ratio_figure(data, "im2col_vs_loops", "im2col speed-up over the documents' loops",
                      "im2col vs loops", "64x3x28x28, 4 filters 3x3, float64; target "
                      f">= {TARGETS['im2col_vs_loops']:.0f}x"),
        _ratio_figure(data, "f64_vs_torch", "vs PyTorch CPU, float64", "f64 vs torch",
                      "PyTorch time / im2col time, ResNet 3x3 forward (> 1: faster)"),
        _ratio_figure(data, "f32_vs_torch", "vs PyTorch CPU, float32", "f32 vs torch",
                      "PyTorch time / im2col time, ResNet 3x3 forward (> 1: faster)"),
        Figure("speed targets met", f"{met} / {len(t)}", "ok" if met == len(t) else "bad",
               "; ".join(f"{x['name']}: {_verdict(x)}" for x in t if x["met"] is not True)
               or f"profile {data['profile']}")]


def plots(data) -> list[str]:
    """The plots band: the im2col forward against every baseline, on the documents' shape
    and the ResNet layer, in one chart that stays legible at phone width."""
    cats, series = [], {label: [] for _, label in BASES}
    for r in data["table"]:
        if r["op"] != "conv_forward" or r["algorithm"] != "im2col" or \
                r["case"] not in ("documents_p0", "resnet3x3"):
            continue
        cats.append(f"{r['case']} {r['dtype']}")
        for base, label in BASES:
            series[label].append(r[f"vs_{base}"])
    series = {k: v for k, v in series.items() if any(v)}
    return [svg.bar_chart("im2col forward: speed-up over each baseline (dashed: 1)", cats,
                          series, unit="x faster", log=True, width=500, label_w=140,
                          bar_h=11, reference_line=1.0, legend_below=True)]


def footer(data) -> list[str]:
    return [line.lstrip("- ") for line in machine_lines(data)]


def _charts(data, op) -> list[str]:
    out = []
    for dtype in ("float64", "float32"):
        rows = [r for r in result_rows(data, op) if r["dtype"] == dtype]
        if not rows:
            continue
        cases = list(dict.fromkeys(r["case"] for r in rows))
        algos = list(dict.fromkeys(r["algorithm"] for r in rows))
        cell = {(r["case"], r["algorithm"]): r for r in rows}
        get = lambda f: {a: [f(cell[(c, a)]) if (c, a) in cell else None  # noqa: E731
                             for c in cases] for a in algos}
        out.append(svg.bar_chart(f"{op} {dtype}: time per call", cases,
                                 get(lambda r: r["median"] * 1e3), unit="ms", log=True))
        out.append(svg.bar_chart(f"{op} {dtype}: GFLOP/s (dashed: GEMM peak "
                                 f"{data['peaks'][dtype]:.0f})", cases,
                                 get(lambda r: r["gflops"]), unit="GFLOP/s", log=True,
                                 reference_line=data["peaks"][dtype]))
        tor = {a: v for a, v in get(lambda r: r["vs_torch"]).items() if a != "torch"}
        if any(v for vals in tor.values() for v in vals):
            out.append(svg.bar_chart(f"{op} {dtype}: speed relative to PyTorch CPU "
                                     f"(>1: faster than torch; dashed: 1)", cases, tor,
                                     unit="torch time / time", log=True, reference_line=1.0))
    return out


def render_html(data) -> str:
    t = data["targets"]
    parts = ["<p>Profile <code>" + escape(data["profile"]) + "</code>. Each framework timed "
             "in its own process; medians, ± robust spread; every result checked against "
             "the float64 reference under the tolerance table. The machine, its BLAS "
             "kernel and the library versions are in the footer.</p>",
             "<h3>Targets</h3>",
             markup.table(["target", "measured", "threshold", "verdict"],
                          [[x["claim"], _measured(x), x["threshold"], _verdict(x)] for x in t],
                          ["ok" if x["met"] else "bad" if x["met"] is False else "na"
                           for x in t]),
             "<h3>The documents' claims (D1, D2) and ours</h3>",
             markup.table(["ID", "what", "documents", "ours"],
                          [[c["id"], c["what"], f"{c['documents']:.4g}",
                            "not measured" if c["ours"] is None else f"{c['ours']:.4g}"]
                           for c in data["claims"]]),
             "<h3>The reference (auto) against PyTorch CPU, per shape</h3>",
             markup.table(*per_shape_table(data))]
    if data.get("comparison"):
        parts += _html_comparison(data["comparison"])
    parts += _html_operations(data)
    parts += _html_workspace(data)
    return "\n".join(parts)


def _html_operations(data) -> list[str]:
    """One collapsed block per operation: its charts and its table of results."""
    parts = ["<h3>Every measurement, by operation</h3>"]
    for op in OPS:
        rows = result_rows(data, op)
        if not rows:
            continue
        charts = _charts(data, op)
        table = f"<p>{escape(NOTE)}</p>" + markup.table(
            HEADER + [f"x vs {label}" for _, label in BASES], [table_row(r) for r in rows])
        parts.append(markup.details(f"<b>{escape(op)}</b>: {len(rows)} measurements, "
                                    f"{len(charts)} plots",
                                    "".join(map(markup.plot, charts)) + table))
    return parts


def _html_workspace(data) -> list[str]:
    series = {}
    for w in data["workspace"]:
        series.setdefault(w["dtype"], []).append((w["workspace_bytes"] / 2**20, w["median"] * 1e3))
    return ["<h3>im2col workspace against speed (ResNet 3x3 forward)</h3>",
            markup.plot(svg.line_chart(
                "im2col workspace vs time", series, "column buffer held (MiB, log scale)",
                "time (ms)"))]


def _html_comparison(comparison) -> list[str]:
    flagged = sum(r["verdict"] == "regression" for r in comparison)
    table = markup.table(["measurement", "old", "new", "new/old", "noise sigma", "verdict"],
                         [[r["key"], _ms(r["old"]), _ms(r["new"]), f"{r['ratio']:.3f}",
                           "" if r["sigma"] is None else f"{r['sigma']:.1%}",
                           r["verdict"]] for r in comparison],
                         ["bad" if r["verdict"] == "regression" else
                          "ok" if r["verdict"] == "improvement" else ""
                          for r in comparison])
    return ["<h3>Comparison with the saved run</h3>" + "".join(
                f'<p class="{"bad" if flagged else "ok"}">{escape(line)}</p>'
                for line in comparison_markdown(comparison)[2:3]),
            markup.details(markup.count(len(comparison), "measurement") + " compared", table)]
