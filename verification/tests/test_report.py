"""The report pipelines on synthetic runs (numbers chosen so every expected value is
plain arithmetic), the SVG output, regression comparison, the dashboard's providers, the
benchmark check that rejects wrong results, and the rendered page in headless Chromium."""
from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import xml.etree.ElementTree as ET
from html import escape

import numpy as np
import pytest

from cnnref.report import dashboard, speedup, svg
from cnnref.report.speedup_render import render_html, render_markdown

CHROMIUM = "/usr/bin/chromium"
GFLOP = 1e9


def _targets(data):
    return {t["name"]: t for t in data["targets"]}


@pytest.mark.formulas("D1")
def test_d1_targets_from_synthetic_run(synthetic_run):
    t = _targets(speedup.compute(synthetic_run()))
    # 4.0 s / 0.002 s = 2000x >= 1000; 0.010 / 0.002 = 5x >= 4; the reference's own naive
    # loops (its ground truth) carry no target
    assert t["im2col vs loops"]["measured"] == pytest.approx(2000) and t["im2col vs loops"]["met"]
    assert "im2col vs naive" not in t
    assert t["im2col vs numba"]["measured"] == pytest.approx(5) and t["im2col vs numba"]["met"]


def test_torch_peak_backward_and_cap_targets(synthetic_run):
    t = _targets(speedup.compute(synthetic_run()))
    assert t["f64 vs torch"]["measured"] == pytest.approx(0.10 / 0.04)          # 2.5 >= 2.5
    assert t["f64 vs torch"]["met"] and "winograd4" in t["f64 vs torch"]["detail"]
    assert t["f32 vs torch"]["measured"] == pytest.approx(0.012 / 0.01)         # 1.2 > 1.0
    assert t["f32 vs torch"]["met"] is False
    # 1 GFLOP / 0.02 s = 50 GFLOP/s of a 200 GFLOP/s peak: 25 % < 50 %
    assert t["f32 of GEMM peak"]["measured"] == pytest.approx(0.25)
    assert t["f32 of GEMM peak"]["met"] is False
    assert t["backward float64 vs torch"]["measured"] == pytest.approx(0.12 / 0.09)
    assert t["backward float32 vs torch"]["met"] is False                       # 1.5 > 1
    assert t["cap cost float64"]["measured"] == pytest.approx(0.05)             # 1.05 / 1 - 1
    assert t["cap cost float32"]["met"]


def test_geometric_mean_and_worst_shape_against_torch(synthetic_run):
    """float64: torch / auto = 0.10 / 0.04 = 2.5 (resnet3x3) and 0.008 / 0.002 = 4
    (documents_p0): geometric mean sqrt(10) >= 2, worst 1 / 2.5 = 0.4x torch's time.
    float32: 0.01 / 0.012 and 0.0005 / 0.001 = 0.5: geometric mean sqrt(5/12) < 1, worst
    shape documents_p0 at exactly 2x torch's time (met: not slower than 2x)."""
    t = _targets(speedup.compute(synthetic_run()))
    assert t["geomean float64"]["measured"] == pytest.approx(10 ** 0.5)
    assert t["geomean float64"]["met"]
    assert t["geomean float32"]["measured"] == pytest.approx((5 / 12) ** 0.5)
    assert t["geomean float32"]["met"] is False
    assert t["worst float64"]["measured"] == pytest.approx(0.4) and t["worst float64"]["met"]
    assert t["worst float32"]["measured"] == pytest.approx(2.0) and t["worst float32"]["met"]
    assert "documents_p0" in t["worst float32"]["detail"]


def test_winograd_rows_render_effective_rate_choice_and_workspace(synthetic_run):
    """Winograd's effective rate (direct FLOPs / time) may exceed the GEMM peak: 1 GFLOP
    in 4 ms is 250 GFLOP/s, 125 % of the 200 GFLOP/s float32 peak. auto's rows name what
    it ran; the per-shape table and the workspace column render."""
    data = speedup.compute(synthetic_run())
    rows = {(r["op"], r["case"], r["dtype"], r["algorithm"]): r for r in data["table"]}
    w = rows[("conv_forward", "resnet3x3", "float32", "winograd4")]
    assert w["gflops"] == pytest.approx(250) and w["of_peak"] == pytest.approx(1.25)
    md = render_markdown(data)
    assert "| resnet3x3 | float32 | winograd4 |" in md and "125.0%" in md and "8 MiB" in md
    assert "auto (winograd4)" in md and "may exceed the GEMM peak" in md
    shapes = {(p["case"], p["dtype"]): p for p in data["per_shape"] if p["op"] == "conv_forward"}
    assert shapes[("resnet3x3", "float64")]["ran"] == "winograd4"
    assert shapes[("resnet3x3", "float64")]["speedup"] == pytest.approx(2.5)
    assert "The reference (auto) against PyTorch CPU, per shape" in md
    assert "auto (winograd4)" in render_html(data)


@pytest.mark.formulas("D1", "D2")
def test_claims_side_by_side(synthetic_run):
    claims = {c["what"]: c for c in speedup.compute(synthetic_run())["claims"]}
    assert claims["pure-Python loops, 10 runs (s)"]["ours"] == pytest.approx(40.0)
    assert claims["numba speed-up over pure-Python loops (x)"]["ours"] == pytest.approx(400)
    fb = claims["numba (fwd + bwd) time / im2col (fwd + bwd) time"]
    assert fb["ours"] == pytest.approx((0.010 + 0.030) / (0.002 + 0.006))
    assert fb["documents"] == speedup.CLAIMS["numba_over_im2col_fwd_bwd"]
    assert claims["im2col columns / input size, documents_p0 (k*k = 9)"]["ours"] == 9.0


def test_table_rows_carry_peak_fraction_and_speedups(synthetic_run):
    rows = {(r["op"], r["case"], r["dtype"], r["algorithm"]): r
            for r in speedup.compute(synthetic_run())["table"]}
    r = rows[("conv_forward", "resnet3x3", "float64", "im2col")]
    assert r["gflops"] == pytest.approx(20.0) and r["of_peak"] == pytest.approx(0.2)
    assert r["vs_torch"] == pytest.approx(2.0) and r["vs_naive"] is None
    assert rows[("conv_forward", "documents_p0", "float64", "loops")]["vs_loops"] is None


def test_missing_gemm_is_an_error(synthetic_run):
    raw = synthetic_run()
    raw["results"] = [r for r in raw["results"] if r["op"] != "gemm"]
    with pytest.raises(ValueError, match="GEMM"):
        speedup.compute(raw)


def test_missing_torch_row_is_an_error(synthetic_run):
    raw = synthetic_run()
    raw["results"] = [r for r in raw["results"] if r["algorithm"] != "torch"]
    with pytest.raises(ValueError, match="torch"):
        speedup.compute(raw)


def test_numba_absent_is_reported_not_invented(synthetic_run):
    raw = synthetic_run()
    raw["results"] = [r for r in raw["results"] if r["algorithm"] != "numba"]
    raw["groups"]["numba"]["skipped"] = "numba is not installed"
    data = speedup.compute(raw)
    t = _targets(data)["im2col vs numba"]
    assert t["met"] is None and t["measured"] is None and "not installed" in t["detail"]
    assert "not measured" in render_markdown(data)


def test_stats_noise_is_the_scaled_mad():
    assert speedup.stats([1.0, 1.0, 1.0])["noise"] == 0.0
    # median 2, |deviations| 1, 0, 1 -> MAD 1 -> 1.4826 * 1 / 2
    assert speedup.stats([1.0, 2.0, 3.0])["noise"] == pytest.approx(1.4826 / 2)
    assert speedup.stats([1.0, 2.0])["noise"] is None


def test_compare_flags_against_noise(synthetic_run):
    old = synthetic_run()
    slow = synthetic_run(scale=1.5)            # documents_p0 im2col 50 % slower, no spread
    verdicts = {r["key"]: r["verdict"] for r in speedup.compare_runs(old, slow)}
    assert verdicts["conv_forward documents_p0 float64 im2col"] == "regression"
    assert verdicts["conv_forward resnet3x3 float64 im2col"] == "within noise"
    assert verdicts["conv_forward documents_p0 float64 loops"] == "no noise estimate"


def test_compare_tolerates_changes_inside_a_large_spread(synthetic_run):
    def noisy(scale):
        raw = synthetic_run(scale)
        for r in raw["results"]:                 # repeats spread by +-20 % and +-40 %
            r["times"] = [t * f for t, f in zip(r["times"], (0.6, 0.8, 1.0, 1.2, 1.4))]
        return raw
    verdicts = {r["key"]: r["verdict"] for r in speedup.compare_runs(noisy(1.0), noisy(1.1))}
    # sigma = 1.4826 * 0.2 per run, sqrt(2) combined ~ 0.42; ln(1.1) ~ 0.095 < 3 sigma
    assert verdicts["conv_forward documents_p0 float64 im2col"] == "within noise"


def test_markdown_and_html_render_every_target(synthetic_run):
    data = speedup.compute(synthetic_run())
    data["comparison"] = speedup.compare_runs(synthetic_run(), synthetic_run(1.5))
    md, html = render_markdown(data), render_html(data)
    for t in data["targets"]:
        assert t["claim"] in md and escape(t["claim"]) in html
    assert "NOT MET" in md and "regression" in md
    assert html.count("<svg") >= 5


def _svg_root(text):
    return ET.fromstring(text)


def test_bar_chart_is_valid_svg_with_one_bar_per_value():
    out = svg.bar_chart("t <&>", ["a", "b"], {"x": [1.0, 10.0], "y": [None, 100.0]},
                        unit="ms", log=True)
    root = _svg_root(out)
    ns = "{http://www.w3.org/2000/svg}"
    bars = [r for r in root.iter(ns + "rect") if r.find(ns + "title") is not None]
    assert len(bars) == 3                                   # None draws nothing
    widths = sorted(float(r.get("width")) for r in bars)
    # log scale over decades 1..100: 1 -> minimum width, 10 -> half, 100 -> full
    assert widths[2] == pytest.approx(2 * widths[1], rel=1e-3)


def test_line_chart_is_valid_svg():
    root = _svg_root(svg.line_chart("ws", {"f64": [(1, 2.0), (8, 3.0)]}, "MiB", "ms"))
    assert len(list(root.iter("{http://www.w3.org/2000/svg}circle"))) == 2


def test_chart_without_data_is_an_error():
    with pytest.raises(ValueError, match="nothing to plot"):
        svg.bar_chart("t", ["a"], {"x": [None]})


def test_dashboard_renders_its_sections_self_contained(tmp_path, synthetic_run):
    (tmp_path / "bench.json").write_text(json.dumps(synthetic_run()))
    sections = dashboard.build_sections(tmp_path, dashboard.providers("speedup"))
    assert [s.name for s in sections] == ["speedup"]
    page = dashboard.render_page(sections)
    assert 'id="speedup"' in page and "<svg" in page
    assert not re.search(r'(src|href)="(https?:)?//', page)   # nothing fetched


def test_benchmark_check_rejects_a_wrong_result():
    from cnnref.benchmarks.cases import CASES_BY_NAME, ConvCheck
    from cnnref import reference as ref
    case = CASES_BY_NAME["documents_p0"].small()
    check = ConvCheck(case, "float32")
    good = ref.conv2d(check.x64.astype(np.float32), check.w64.astype(np.float32), **case.kwargs)
    assert check.check("conv_forward", {"out": good}, "im2col") <= 1
    bad = good.copy()
    bad[0, 0, 0, 0] += 1e-3 * (1 + abs(bad[0, 0, 0, 0]))
    with pytest.raises(AssertionError, match="im2col out"):
        check.check("conv_forward", {"out": bad}, "im2col")


def _flags(tmp_path) -> list[str]:
    return [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--hide-scrollbars",
            "--disable-component-update", "--disable-sync", "--enable-logging=stderr",
            "--v=0", f"--user-data-dir={tmp_path / 'profile'}"]


def _chromium(page, tmp_path):
    """Render `page` headless: (DOM after load, stderr); a screenshot is written too."""
    flags = _flags(tmp_path)
    dom = subprocess.run(flags + ["--dump-dom", page.as_uri()], capture_output=True,
                         text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    shot = tmp_path / "shot.png"
    subprocess.run(flags + [f"--screenshot={shot}", "--window-size=1400,3000",
                            page.as_uri()], capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 20_000, "blank page (a blank page is a few KB)"
    return dom.stdout, dom.stderr


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium not installed (CI)")
def test_dashboard_renders_in_headless_chromium(tmp_path, synthetic_run):
    (tmp_path / "bench.json").write_text(json.dumps(synthetic_run()))
    page = tmp_path / "index.html"
    page.write_text(dashboard.render_page(dashboard.build_sections(
        tmp_path, dashboard.providers("speedup"))))
    dom, log = _chromium(page, tmp_path)
    assert dom.count("<svg") >= 5 and dom.count("<table") >= 3
    assert "CONSOLE" not in log, log[-2000:]


# Measures the laid-out page in the browser and appends the figures as JSON: injected
# into a copy of the page by the test only (the dashboard itself carries no such script).
LAYOUT_PROBE = """<script>
(function () {
  var W = innerWidth, H = innerHeight, q = function (s) {
    return Array.prototype.slice.call(document.querySelectorAll(s)); };
  var top = function (id) { return document.getElementById(id).getBoundingClientRect().top; };
  var shown = function (e) { return e.getBoundingClientRect().width > 0; };
  var r = {
    W: W, H: H, overflow: document.documentElement.scrollWidth - W,
    band_bottom: document.getElementById('headline').getBoundingClientRect().bottom,
    plot_top: document.querySelector('#plots svg').getBoundingClientRect().top,
    order: ['headline', 'plots', 'verification', 'correctness', 'speedup'].map(top),
    tables_not_in_a_scroll_box: q('table').filter(function (t) {
      return !t.parentElement.classList.contains('scroll'); }).length,
    wider_than_the_window: q('svg, .scroll, .fig').filter(shown).filter(function (e) {
      return e.getBoundingClientRect().right > W + 1; }).length,
    // rendered text only: source code in <pre> / <code> (a reproduction) keeps its own
    backticks: (function () { var b = document.body.cloneNode(true);
      b.querySelectorAll('pre, code, script, style').forEach(function (e) { e.remove(); });
      return b.textContent.indexOf(String.fromCharCode(96)) >= 0; })(),
    long_lists_open: q('main ul, section ul').filter(function (u) {
      return u.children.length > 3 && !u.closest('details'); }).length,
    summaries_without_count: q('summary').filter(function (s) {
      return !/[0-9]/.test(s.textContent); }).length,
    footer: document.querySelector('footer').textContent
  };
  parent.document.getElementById('layout').textContent = JSON.stringify(r);
})();
</script>"""


def _layout(page: pathlib.Path, tmp_path, width: int, height: int) -> dict:
    """The probe's figures for `page` in a width x height viewport: an iframe of that
    size (headless Chromium's own window is at least 500 px wide)."""
    probe = tmp_path / f"probe_{width}.html"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>",
                                                              LAYOUT_PROBE + "</body>"))
    frame = tmp_path / f"frame_{width}.html"
    frame.write_text(f'<!DOCTYPE html><html><body style="margin:0"><iframe src="{probe.name}" '
                     f'style="width:{width}px;height:{height}px;border:0"></iframe>'
                     f'<pre id="layout"></pre></body></html>')
    dom = subprocess.run(_flags(tmp_path) + ["--allow-file-access-from-files",
                                             "--window-size=1500,1000", "--dump-dom",
                                             frame.as_uri()],
                         capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="layout">(.*?)</pre>', dom.stdout, re.S)
    assert found, dom.stderr[-2000:]
    import html as html_lib
    return json.loads(html_lib.unescape(found.group(1)))


def _check_layout(page: pathlib.Path, tmp_path) -> None:
    """The dashboard's layout rules at desktop, laptop-half and phone widths."""
    for width, height in ((1400, 900), (800, 900), (400, 860)):
        r = _layout(page, tmp_path, width, height)
        where = f"at {width} px: {r}"
        assert r["W"] == width, where
        assert r["overflow"] <= 1, f"the page scrolls sideways {where}"
        assert r["band_bottom"] <= height, f"headline band below the first screen {where}"
        assert r["plot_top"] < height - 100, f"speed-up plot not on the first screen {where}"
        assert r["order"] == sorted(r["order"]), f"not headline, plots, details {where}"
        assert r["tables_not_in_a_scroll_box"] == 0, where
        assert r["wider_than_the_window"] == 0, f"something is cut {where}"
        assert not r["backticks"], f"raw Markdown backticks on the page {where}"
        assert r["long_lists_open"] == 0, f"a long list not collapsed {where}"
        assert r["summaries_without_count"] == 0, f"a collapsed block without its count {where}"
        for fact in ("kernel", "threads", "CPU", "numpy"):
            assert fact in r["footer"], f"{fact} missing from the footer {where}"


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium not installed (CI)")
def test_dashboard_layout_rules_in_headless_chromium(tmp_path, dashboard_run):
    """Every provider's section on a complete synthetic run: the headline band, then the
    plots, then the details; at 1400, 800 and 400 px nothing is cut or scrolls sideways,
    the band and the speed-up plot are on the first screen, long lists are collapsed
    behind their count, Markdown is rendered, the machine is in the footer; the page
    prints (PDF)."""
    from cnnref.cli.report import write_reports
    out = dashboard_run.parents[1]
    write_reports(dashboard_run, out)
    page = out / "index.html"
    html = page.read_text(encoding="utf-8")
    for name in ("verification", "correctness", "speedup", "training", "matrix", "history"):
        assert f'<section id="{name}">' in html, name
    assert "@media print" in html and "<script src" not in html
    _check_layout(page, tmp_path)
    pdf = tmp_path / "page.pdf"
    subprocess.run(_flags(tmp_path) + [f"--print-to-pdf={pdf}", "--no-pdf-header-footer",
                                       page.as_uri()], capture_output=True, timeout=120)
    assert pdf.exists() and pdf.stat().st_size > 20_000


COMMITTED = pathlib.Path(__file__).resolve().parents[2] / "reports" / "index.html"


@pytest.mark.skipif(not os.path.exists(CHROMIUM) or not COMMITTED.exists(),
                    reason="chromium not installed (CI) or no reports/index.html")
def test_committed_dashboard_renders_every_section(tmp_path):
    """The dashboard `cnnref report` wrote for the committed reference run: every section,
    its tables and plots render, nothing is fetched, no console errors, and the layout
    rules hold."""
    html = COMMITTED.read_text(encoding="utf-8")
    if 'id="headline"' not in html:
        pytest.skip("reports/index.html predates the headline layout: refresh the reference "
                    "run (cnnref report --out reports)")
    assert not re.search(r'(src|href)="(https?:)?//', html)
    dom, log = _chromium(COMMITTED, tmp_path)
    for section in ("verification", "correctness", "speedup"):
        assert f'id="{section}"' in dom, f"section {section} missing from the page"
    assert dom.count("<svg") >= 5 and dom.count("<table") >= 6
    assert "CONSOLE" not in log, log[-2000:]
    _check_layout(COMMITTED, tmp_path)


def test_report_command_end_to_end_on_tiny_shapes(tmp_path):
    from cnnref.cli import main
    assert main(["report", "--profile", "ci", "--no-verify", "--out", str(tmp_path)]) == 0
    md = (tmp_path / "speedup.md").read_text()
    assert "## Targets" in md and "GEMM throughput" in md
    assert "<svg" in (tmp_path / "index.html").read_text()
    runs = list((tmp_path / "runs").iterdir())
    assert main(["report", "--from", str(runs[0]), "--compare", str(runs[0]),
                 "--out", str(tmp_path)]) == 0
    assert "Comparison with the saved run" in (tmp_path / "speedup.md").read_text()


def test_compare_gates_on_regressions_and_refuses_other_profiles(tmp_path, synthetic_run,
                                                                  capsys):
    """--compare exits 1 on a regression (documents_p0 im2col 50 % slower, no repeat
    noise), 0 when --min-change is above the change (ln 1.6 > ln 1.5), and 2 (nothing
    rendered) for runs of different profiles."""
    from cnnref.cli import main
    runs = tmp_path / "runs"
    for name, raw in (("old", synthetic_run()), ("new", synthetic_run(scale=1.5)),
                      ("ci", {**synthetic_run(), "profile": "ci"})):
        (runs / name).mkdir(parents=True)
        (runs / name / "bench.json").write_text(json.dumps(raw))
    new, old = str(runs / "new"), str(runs / "old")
    assert main(["report", "--from", new, "--compare", old, "--out", str(tmp_path)]) == 1
    assert "1 regression(s)" in capsys.readouterr().err
    assert main(["report", "--from", new, "--compare", old, "--min-change", "0.6",
                 "--out", str(tmp_path)]) == 0
    assert main(["report", "--from", new, "--compare", str(runs / "ci"),
                 "--out", str(tmp_path)]) == 2
    assert "cannot compare a 'ci'-profile run with a 'quick'-profile run" in \
        capsys.readouterr().err


def test_report_never_replaces_another_profiles_reports(tmp_path, synthetic_run, capsys):
    """The committed reference run (quick) is not overwritten by a ci-profile render
    unless --replace."""
    from cnnref.cli import main
    for name, profile in (("q", "quick"), ("c", "ci")):
        (tmp_path / "runs" / name).mkdir(parents=True)
        (tmp_path / "runs" / name / "bench.json").write_text(
            json.dumps({**synthetic_run(), "profile": profile}))
    out = ["--out", str(tmp_path)]
    assert main(["report", "--from", str(tmp_path / "runs" / "q")] + out) == 0
    before = (tmp_path / "speedup.md").read_text()
    assert main(["report", "--from", str(tmp_path / "runs" / "c")] + out) == 2
    assert "holds a 'quick'-profile report" in capsys.readouterr().err
    assert (tmp_path / "speedup.md").read_text() == before
    assert main(["report", "--from", str(tmp_path / "runs" / "c"), "--replace"] + out) == 0
    assert "Profile `ci`" in (tmp_path / "speedup.md").read_text()


def test_history_plots_the_headline_ratios_of_runs_of_one_profile(tmp_path, synthetic_run):
    """Two quick runs and a ci run: the trend has two points per ratio (the ci run is not
    comparable); one run alone has no history."""
    from cnnref.report import history
    runs = tmp_path / "runs"
    for name, raw in (("20260101-0000", synthetic_run()), ("20260102-0000", synthetic_run(2.0)),
                      ("20260103-0000", {**synthetic_run(), "profile": "ci"})):
        (runs / name).mkdir(parents=True)
        (runs / name / "bench.json").write_text(json.dumps(raw))
    data = history.build(runs / "20260102-0000")
    assert [r["run"] for r in data["runs"]] == ["20260101-0000", "20260102-0000"]
    loops = [r["ratios"]["im2col_vs_loops"] for r in data["runs"]]
    assert loops == pytest.approx([4.0 / 0.002, 4.0 / 0.004])     # loops 4 s, im2col x scale
    (plot,) = history.plots(data)
    assert plot.count("<circle") == 2 * len(speedup.HEADLINE)
    assert history.build(runs / "20260103-0000") is None


def test_training_section_renders_tables_and_inline_figures(tmp_path):
    """The training provider finds reports/training/*.json beside reports/runs/<run> and
    renders its tables as HTML with the figures inline; without results it is left out."""
    from cnnref.report import training as train_report
    run_dir = tmp_path / "runs" / "r1"
    run_dir.mkdir(parents=True)
    assert train_report.build(run_dir) is None
    epochs = [{"epoch": e, "loss": 1.0 / e, "train_acc": 0.5 + e / 10, "test_acc": 0.4 + e / 10}
              for e in (1, 2, 3)]
    result = {"net": "tiny", "data": "synthetic", "n_train": 8, "n_test": 4, "epochs": 3,
              "batch": 2, "models": {"tiny": {"spec": "INPUT 1x4x4 -> FC 2", "lr": 0.1,
                                              "epochs": epochs, "params": 34}}}
    (tmp_path / "training").mkdir()
    (tmp_path / "training" / "tiny.json").write_text(json.dumps(result))
    data = train_report.build(run_dir)
    html = train_report.render_html(data)
    assert "<table>" in html and "<td>70.0%</td>" in html     # test_acc of epoch 3
    assert html.count("<svg") == 2 and "![" not in html
    assert "| tiny |" in train_report.render_markdown(data)
