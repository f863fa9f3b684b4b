"""The speed-up report: load -> compute -> render, pure functions over a saved run.

A run directory holds bench.json, the merged output of one `cnnref.benchmarks.runner` process per
framework group (see cnnref/cli/report.py). `build(run_dir)` loads and computes;
`render_markdown(data)` and `render_html(data)` render. Missing measurements raise
ValueError: no number in the report is a placeholder.

Statistics per measurement: the median time, and the noise sigma = 1.4826 * MAD / median
(a robust relative standard deviation; None with fewer than 3 repeats). GFLOP/s =
FLOPs / median; fraction of peak = GFLOP/s / the best square-GEMM GFLOP/s of the same
dtype measured in the same run. Example: 3.70 GFLOP in 0.050 s is 74 GFLOP/s, 0.76 of a
97 GFLOP/s GEMM. FLOPs are always the direct convolution's (2 N K Ho Wo Cg kH kW): an
*effective* rate. Winograd does fewer multiplications than that, so its effective rate
may exceed the GEMM peak.
"""
from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

SCHEMA = 1
# The documents' claims (FORMULAS D1, D2; seed 004). The 0.073 s / 520x / 1.28x / 3.3x
# figures are read off the documents' screenshots (the seed files hold only the text);
# seed 004's text says "0.07 s, more than 500x".
CLAIMS = {"loops_10": 38.06, "numba_10": 0.073, "loops_over_numba": 520.0,
          "im2col_over_numba_fwd": 1.28, "numba_over_im2col_fwd_bwd": 3.3}
# The reference against PyTorch CPU is its default ('auto': im2col, or Winograd F(4x4)
# where the measured rule picks it). The reference's own naive loops are its ground truth,
# written for clarity, not speed: no target is set against them (the documents' method-1
# loops keep theirs).
TARGETS = {"im2col_vs_loops": 1000.0, "im2col_vs_numba": 4.0, "f64_vs_torch": 2.5,
           "f32_vs_torch": 1.0, "geomean_f32": 1.0, "geomean_f64": 2.0, "worst_vs_torch": 2.0,
           "f32_of_peak": 0.5, "backward_vs_torch": 1.0, "cap_cost": 0.10}
REGRESSION_SIGMAS = 3.0
# A change smaller than this is never flagged, however small the repeat noise: a shared
# machine drifts by a few percent between runs.
MIN_CHANGE = 0.05


# --- load ------------------------------------------------------------------------------

def load(run_dir) -> dict:
    path = Path(run_dir) / "bench.json"
    if not path.exists():
        raise ValueError(f"speedup: no benchmark results at {path} (run `cnnref report`)")
    raw = json.loads(path.read_text())
    if raw.get("schema") != SCHEMA or "results" not in raw or "groups" not in raw:
        raise ValueError(f"speedup: {path} is not a schema-{SCHEMA} benchmark run")
    return raw


# --- compute ---------------------------------------------------------------------------

def stats(times) -> dict:
    if not times:
        raise ValueError("speedup: a measurement without timings")
    med = statistics.median(times)
    noise = None
    if len(times) >= 3 and med > 0:
        noise = 1.4826 * statistics.median(abs(t - med) for t in times) / med
    return {"median": med, "min": min(times), "runs": len(times), "noise": noise}


def key(row) -> tuple:
    return (row["op"], row["case"], row["dtype"], row["algorithm"])


def index(raw) -> dict:
    rows = {}
    for row in raw["results"]:
        rows[key(row) + ((row["workspace_cap"],) if "workspace_cap" in row else ())] = \
            {**row, **stats(row["times"])}
    return rows


def gemm_peaks(rows) -> dict:
    peaks = {}
    for r in rows.values():
        if r["op"] == "gemm":
            peaks[r["dtype"]] = max(peaks.get(r["dtype"], 0.0), r["flops"] / r["median"])
    if not peaks:
        raise ValueError("speedup: the run has no GEMM throughput measurement")
    return peaks


def need(rows, k) -> dict:
    if k not in rows:
        raise ValueError(f"speedup: measurement {k} is missing from the run")
    return rows[k]


def compute(raw) -> dict:
    rows = index(raw)
    peaks = gemm_peaks(rows)
    table = []
    for k, r in rows.items():                   # the runner's order: shapes as listed
        if r["op"] in ("gemm", "im2col_workspace"):
            continue
        op, case, dtype, algo = k
        entry = {"op": op, "case": case, "title": r["title"], "dtype": dtype, "algorithm": algo,
                 "median": r["median"], "noise": r["noise"], "runs": r["runs"],
                 "min": r["min"], "max": max(r["times"]),
                 "auto_algorithm": r.get("auto_algorithm"),
                 "peak_workspace": r.get("peak_workspace"),
                 "gflops": r["flops"] / r["median"] / 1e9,
                 "of_peak": r["flops"] / r["median"] / peaks[dtype],
                 "worst_error_ratio": r["worst_error_ratio"]}
        for base in ("naive", "loops", "numba", "torch"):
            other = rows.get((op, case, dtype, base))
            entry[f"vs_{base}"] = None if other is None or base == algo else \
                other["median"] / r["median"]
        table.append(entry)
    return {"profile": raw["profile"], "created": raw.get("created"),
            "environment": environments(raw), "peaks": {d: p / 1e9 for d, p in peaks.items()},
            "table": table, "targets": targets(rows, peaks, raw), "claims": claims(rows, raw),
            "workspace": workspace(rows), "per_shape": per_shape(rows), "gemm": [
                {"case": r["case"], "dtype": r["dtype"], "gflops": r["flops"] / r["median"] / 1e9}
                for r in rows.values() if r["op"] == "gemm"]}


def environments(raw) -> dict:
    """Per group: the BLAS libraries and kernels that ran, thread counts, settings."""
    out = {}
    for group, g in raw["groups"].items():
        env = g["environment"]
        pools = [{k: p.get(k) for k in ("internal_api", "version", "architecture",
                                        "num_threads", "threading_layer")}
                 for p in env["threadpools"]]
        out[group] = {"cpu": env["cpu"], "cpu_count": env["cpu_count"],
                      "affinity": env["affinity"], "env": env["env"], "threadpools": pools,
                      "seconds": g.get("seconds"), "skipped": g.get("skipped"),
                      **{k: env[k] for k in ("numpy", "torch", "torch_threads", "torch_blas", "mkldnn",
                                             "numba", "cuda") if k in env}}
    return out


def _target(name, claim, measured, threshold, met, detail=""):
    return {"name": name, "claim": claim, "measured": measured, "threshold": threshold,
            "met": met, "detail": detail}


def _not_measured(name, claim, threshold, why):
    return _target(name, claim, None, threshold, None, f"not measured: {why}")


def _skipped(raw, group) -> str | None:
    g = raw["groups"].get(group)
    return "group not run" if g is None else g.get("skipped")


def targets(rows, peaks, raw) -> list[dict]:
    t = TARGETS
    out = []
    im = need(rows, ("conv_forward", "documents_p0", "float64", "im2col"))["median"]
    r = need(rows, ("conv_forward", "documents_p0", "float64", "loops"))
    out.append(_target("im2col vs loops", f"documents' shape float64: im2col >= "
                       f"{t['im2col_vs_loops']:.0f}x faster than the documents' method-1 loops",
                       r["median"] / im, t["im2col_vs_loops"],
                       r["median"] / im >= t["im2col_vs_loops"]))
    claim = f"documents' shape float64: im2col >= {t['im2col_vs_numba']:.0f}x faster than numba"
    nb = rows.get(("conv_forward", "documents_p0", "float64", "numba"))
    out.append(_not_measured("im2col vs numba", claim, t["im2col_vs_numba"],
                             _skipped(raw, "numba") or "numba row missing") if nb is None else
               _target("im2col vs numba", claim, nb["median"] / im, t["im2col_vs_numba"],
                       nb["median"] / im >= t["im2col_vs_numba"]))
    out += _torch_targets(rows, peaks)
    for dtype in ("float64", "float32"):
        ws = [r for r in rows.values() if r["op"] == "im2col_workspace" and r["dtype"] == dtype]
        default = [r for r in ws if r["default_cap"]]
        full = [r for r in ws if r["unlimited"]]
        if not default or not full:
            raise ValueError(f"speedup: workspace sweep for {dtype} lacks the default or "
                             f"the unlimited cap")
        cost = default[0]["median"] / full[0]["median"] - 1
        out.append(_target(f"cap cost {dtype}", f"ResNet 3x3 {dtype}: the default "
                           f"workspace cap costs <= {t['cap_cost']:.0%}", cost, t["cap_cost"],
                           cost <= t["cap_cost"],
                           f"{default[0]['workspace_bytes'] / 2**20:.1f} MiB vs "
                           f"{full[0]['workspace_bytes'] / 2**20:.1f} MiB of columns"))
    return out


def _torch_targets(rows, peaks) -> list[dict]:
    t = TARGETS
    fwd = {d: (need(rows, ("conv_forward", "resnet3x3", d, "auto")),
               need(rows, ("conv_forward", "resnet3x3", d, "torch"))) for d in ("float64",
                                                                                  "float32")}
    mine, tc = fwd["float64"]
    out = [_target("f64 vs torch", f"ResNet 3x3 float64: the reference (auto) >= "
                   f"{t['f64_vs_torch']}x faster than PyTorch CPU", tc["median"] / mine["median"],
                   t["f64_vs_torch"], tc["median"] / mine["median"] >= t["f64_vs_torch"],
                   f"torch time / reference time; auto ran {mine.get('auto_algorithm')}")]
    mine, tc = fwd["float32"]
    slower = mine["median"] / tc["median"]
    out.append(_target("f32 vs torch", f"ResNet 3x3 float32: the reference (auto) time <= "
                       f"{t['f32_vs_torch']}x PyTorch CPU's", slower, t["f32_vs_torch"],
                       slower <= t["f32_vs_torch"], f"reference time / torch time; auto ran "
                       f"{mine.get('auto_algorithm')}"))
    im = need(rows, ("conv_forward", "resnet3x3", "float32", "im2col"))
    frac = im["flops"] / im["median"] / peaks["float32"]
    out.append(_target("f32 of GEMM peak", f"ResNet 3x3 float32: im2col at >= "
                       f"{t['f32_of_peak']:.0%} of the GEMM throughput", frac, t["f32_of_peak"],
                       frac >= t["f32_of_peak"],
                       f"{im['flops'] / im['median'] / 1e9:.1f} of "
                       f"{peaks['float32'] / 1e9:.1f} GFLOP/s"))
    out += _geomean_targets(rows)
    for d in ("float64", "float32"):
        mine = need(rows, ("conv_backward", "resnet3x3", d, "auto"))
        ref_t = need(rows, ("conv_backward", "resnet3x3", d, "torch"))
        r = mine["median"] / ref_t["median"]
        out.append(_target(f"backward {d} vs torch", f"ResNet 3x3 {d}: conv backward "
                           f"(grad_x + grad_weight) within {t['backward_vs_torch']}x of "
                           f"PyTorch autograd", r, t["backward_vs_torch"],
                           r <= t["backward_vs_torch"], "reference (auto) time / torch time"))
    return out


def per_shape(rows) -> list[dict]:
    """Every (op, shape, dtype) with both the reference's 'auto' and torch: what auto ran,
    both times (median, min, max) and torch time / reference time."""
    out = []
    for (op, case, d, algo, *_), r in rows.items():
        tc = rows.get((op, case, d, "torch"))
        if algo == "auto" and tc is not None:
            out.append({"op": op, "case": case, "dtype": d, "ran": r.get("auto_algorithm"),
                        "auto": {k: r[k] for k in ("median", "min")} | {"max": max(r["times"])},
                        "torch": {k: tc[k] for k in ("median", "min")} | {"max": max(tc["times"])},
                        "speedup": tc["median"] / r["median"]})
    return out


def forward_speedups(rows, dtype) -> dict:
    """case -> torch time / reference (auto) time, for every forward shape with both."""
    out = {}
    for (op, case, d, algo, *_), r in rows.items():
        other = rows.get((op, case, d, "torch"))
        if op == "conv_forward" and d == dtype and algo == "auto" and other is not None:
            out[case] = other["median"] / r["median"]
    return out


def _geomean_targets(rows) -> list[dict]:
    t, out = TARGETS, []
    for d, key_ in (("float32", "geomean_f32"), ("float64", "geomean_f64")):
        sp = forward_speedups(rows, d)
        if not sp:
            raise ValueError(f"speedup: no forward shape has both auto and torch in {d}")
        gm = math.exp(sum(math.log(v) for v in sp.values()) / len(sp))
        worst = min(sp, key=sp.get)
        out.append(_target(f"geomean {d}", f"every forward shape, {d}: geometric mean of "
                           f"torch time / reference (auto) time >= {t[key_]}", gm, t[key_],
                           gm >= t[key_], f"{len(sp)} shapes"))
        out.append(_target(f"worst {d}", f"every forward shape, {d}: none slower than "
                           f"{t['worst_vs_torch']}x PyTorch CPU", 1 / sp[worst],
                           t["worst_vs_torch"], 1 / sp[worst] <= t["worst_vs_torch"],
                           f"reference time / torch time on {worst}"))
    return out


def claims(rows, raw) -> list[dict]:
    """The documents' numbers (D1, D2) beside ours on the documents' shape, float64."""
    g = lambda op, algo: rows.get((op, "documents_p0", "float64", algo))  # noqa: E731
    loops, numba_f = g("conv_forward", "loops"), g("conv_forward", "numba")
    im, numba_b, col = g("conv_forward", "im2col"), g("conv_backward", "numba"), \
        g("conv_backward", "auto")
    need(rows, ("conv_forward", "documents_p0", "float64", "loops"))
    out = [{"id": "D1", "what": "pure-Python loops, 10 runs (s)", "documents": CLAIMS["loops_10"],
            "ours": 10 * loops["median"]}]
    why = _skipped(raw, "numba") or "no numba row"
    if numba_f is not None:
        out += [{"id": "D1", "what": "numba loops, 10 runs (s)", "documents": CLAIMS["numba_10"],
                 "ours": 10 * numba_f["median"]},
                {"id": "D1", "what": "numba speed-up over pure-Python loops (x)",
                 "documents": CLAIMS["loops_over_numba"],
                 "ours": loops["median"] / numba_f["median"]},
                {"id": "D1", "what": "im2col forward time / numba forward time",
                 "documents": CLAIMS["im2col_over_numba_fwd"],
                 "ours": need(rows, key({"op": "conv_forward", "case": "documents_p0",
                                         "dtype": "float64", "algorithm": "im2col"}))["median"]
                 / numba_f["median"]}]
        if numba_b is not None and col is not None:
            out.append({"id": "D1", "what": "numba (fwd + bwd) time / im2col (fwd + bwd) time",
                        "documents": CLAIMS["numba_over_im2col_fwd_bwd"],
                        "ours": (numba_f["median"] + numba_b["median"]) /
                        (im["median"] + col["median"])})
    else:
        out.append({"id": "D1", "what": f"numba rows: not measured ({why})", "documents":
                    CLAIMS["numba_10"], "ours": None})
    for case in ("documents_p0", "documents_p1"):
        r = need(rows, ("conv_forward", case, "float64", "im2col"))
        ratio = r["workspace_bytes"] / r["x_bytes"]
        out.append({"id": "D2", "what": f"im2col columns / input size, {case} (k*k = 9)",
                    "documents": 9.0, "ours": ratio})
    return out


def workspace(rows) -> list[dict]:
    return sorted(({"dtype": r["dtype"], "cap": r["workspace_cap"],
                    "workspace_bytes": r["workspace_bytes"], "median": r["median"],
                    "noise": r["noise"], "default": r["default_cap"],
                    "unlimited": r["unlimited"]}
                   for r in rows.values() if r["op"] == "im2col_workspace"),
                  key=lambda r: (r["dtype"], r["cap"]))


# The headline ratios: (key, label, op, case, dtype, baseline, algorithm); each is
# baseline time / algorithm time, so > 1 means the reference is faster.
HEADLINE = (
    ("im2col_vs_loops", "im2col over the documents' loops", "conv_forward", "documents_p0",
     "float64", "loops", "im2col"),
    ("f64_vs_torch", "im2col vs PyTorch, float64", "conv_forward", "resnet3x3", "float64",
     "torch", "im2col"),
    ("f32_vs_torch", "im2col vs PyTorch, float32", "conv_forward", "resnet3x3", "float32",
     "torch", "im2col"),
    ("bwd_f64_vs_torch", "backward vs PyTorch, float64", "conv_backward", "resnet3x3",
     "float64", "torch", "auto"),
    ("bwd_f32_vs_torch", "backward vs PyTorch, float32", "conv_backward", "resnet3x3",
     "float32", "torch", "auto"),
)


def headline_ratios(rows) -> dict[str, float | None]:
    """key -> baseline time / reference time of HEADLINE, None where the run lacks a row
    (a trend over runs skips it; the targets report it as an error)."""
    out = {}
    for k, _, op, case, dtype, base, algo in HEADLINE:
        a, b = rows.get((op, case, dtype, base)), rows.get((op, case, dtype, algo))
        out[k] = None if a is None or b is None else a["median"] / b["median"]
    return out


def build(run_dir) -> dict:
    """The dashboard provider entry point: load and compute."""
    raw = load(run_dir)
    return {**compute(raw), "headline": headline_ratios(index(raw))}


def compare_runs(old_raw, new_raw, sigmas: float = REGRESSION_SIGMAS,
                 min_change: float = MIN_CHANGE) -> list[dict]:
    """Per measurement in both runs: the change of the median and whether it exceeds
    `sigmas` times the combined noise of the two runs (sqrt(s_old^2 + s_new^2), relative)
    and `min_change`. With fewer than 3 repeats on either side there is no noise estimate
    and nothing is flagged. Runs of different profiles (shapes, repeats) are not
    comparable: ValueError. Example: medians 10 ms -> 13 ms with 2 % noise on each side
    is a change of log(1.3) = 0.26 > 3 x 0.028: a regression."""
    if old_raw.get("profile") != new_raw.get("profile"):
        raise ValueError(f"report: cannot compare a {old_raw.get('profile')!r}-profile run "
                         f"with a {new_raw.get('profile')!r}-profile run (different shapes "
                         f"and repeats); compare runs of one profile")
    old, new = index(old_raw), index(new_raw)
    out = []
    for k in sorted(set(old) & set(new)):
        a, b = old[k], new[k]
        change = math.log(b["median"] / a["median"])
        sigma = None if a["noise"] is None or b["noise"] is None else \
            math.hypot(a["noise"], b["noise"])
        if sigma is None:
            verdict = "no noise estimate"
        elif abs(change) > max(sigmas * sigma, math.log1p(min_change), 1e-12):
            verdict = "regression" if change > 0 else "improvement"
        else:
            verdict = "within noise"
        out.append({"key": " ".join(str(p) for p in k), "old": a["median"], "new": b["median"],
                    "ratio": b["median"] / a["median"], "sigma": sigma, "verdict": verdict})
    return out
