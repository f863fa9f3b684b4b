"""The correctness report pipeline (cnnref/report/correctness.py) on synthetic runs: a
junit.xml, a record.json and a bench.json written here, so every expected value is known.
"""
from __future__ import annotations

import base64
import json
import pathlib
import re
import shutil
from xml.sax.saxutils import quoteattr

import pytest

from cnnref.report import correctness, dashboard
from cnnref.report.errata import ERRATA
from cnnref.report.formulas import CATALOGUE, IDS, formulas_md, order_key, parse

HERE = pathlib.Path(__file__).resolve().parent
STATS = ("{node}:\n\n  - during generate phase (0.10 seconds):\n    - {n} passing, 0 failing, "
         "and 0 invalid test cases\n\n  - Stopped because settings.max_examples=25")


def _junit(cases) -> str:
    """cases: (file stem, name, outcome, hypothesis examples or 0, formula IDs), written
    the way pytest writes them (the IDs as the testcase property `formulas`)."""
    props, body = [], []
    for stem, name, outcome, n, ids in cases:
        node = f"verification/tests/{stem}.py::{name}"
        if n:
            value = base64.b64encode(STATS.format(node=node, n=n).encode()).decode()
            props.append(f"<property name={quoteattr('hypothesis-statistics-' + node)} "
                         f"value=\"{value}\" />")
        inner = {"passed": "", "failed": "<failure message=\"x\">x</failure>",
                 "skipped": "<skipped message=\"x\" />"}[outcome]
        marks = (f"<properties><property name=\"formulas\" value={quoteattr(ids)} />"
                 "</properties>" if ids else "")
        body.append(f"<testcase classname=\"verification.tests.{stem}\" "
                    f"name={quoteattr(name)} time=\"0.5\">{marks}{inner}</testcase>")
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?><testsuites><testsuite name=\"pytest\" "
            f"tests=\"{len(cases)}\" timestamp=\"2026-01-01T00:00:00\"><properties>"
            + "".join(props) + "</properties>" + "".join(body) + "</testsuite></testsuites>")


RECORD = [{"op": "conv2d", "tensor": "grad_x", "candidate": "reference", "dtype": "float64",
           "worst_ratio": 0.25},
          {"op": "conv2d", "tensor": "grad_x", "candidate": "torch", "dtype": "float64",
           "worst_ratio": 3.0},
          {"op": "conv2d", "tensor": "out", "candidate": "reference", "dtype": "float32",
           "worst_ratio": 0.5}]
C7_C11 = "C7 C8 C9 C10 C11"
CASES = [("test_seed_conv_examples", "test_b8_seed003_5x5_image_3x3_kernel[naive]", "passed", 0,
          "B8"),
         ("test_seed_conv_examples", "test_b8_seed003_5x5_image_3x3_kernel[fft]", "passed", 0,
          "B8"),
         ("test_conv", "test_c7_c11_backward_methods_match_torch[col2im-float64-case0]",
          "passed", 25, C7_C11),
         ("test_conv", "test_c7_c11_gradients_match_central_differences[case0]", "passed", 10,
          C7_C11),
         ("test_pooling", "test_c12_max_pool2d_matches_torch[float64]", "failed", 0, "C12"),
         ("test_batchnorm", "test_c15_batch_norm_matches_torch[float64]", "skipped", 0, "C15"),
         ("test_networks", "test_a6_lenet5_s4", "passed", 0, "A6"),
         # an ID comes from the marker, never from the name: this one backs nothing
         ("test_networks", "test_b6_named_like_an_id_but_unmarked", "passed", 0, "")]


def _run_dir(tmp_path, bench, cases=CASES, record=RECORD, name="20260101-000000") -> pathlib.Path:
    run = tmp_path / "reports" / "runs" / name
    run.mkdir(parents=True)
    (run / "junit.xml").write_text(_junit(cases))
    (run / "record.json").write_text(json.dumps(record))
    for g in bench["groups"].values():
        g["environment"].update(torch="2.13.0+cpu", python="3.11.7", numpy="2.4.6")
    (run / "bench.json").write_text(json.dumps(bench))
    return run


def _rows(data) -> dict:
    return {r["id"]: r for r in data["formulas"]}


def test_catalogue_copy_matches_formulas_md():
    path = formulas_md()
    if path is None:
        pytest.skip("FORMULAS.md not found (no ../shared beside the repository)")
    assert parse(path.read_text(encoding="utf-8")) == CATALOGUE, \
        "cnnref/report/formulas.py CATALOGUE differs from FORMULAS.md: copy the table again"
    assert len(IDS) == 39 and IDS[0] == "A1" and IDS[-1] == "D3"


def test_every_formulas_id_has_a_row_in_catalogue_order(tmp_path, synthetic_run):
    data = correctness.build(_run_dir(tmp_path, synthetic_run()))
    assert [r["id"] for r in data["formulas"]] == list(IDS)
    md = correctness.render_markdown(data)
    for fid in IDS:
        assert re.search(rf"^\| {fid} \|", md, re.M), f"row {fid} missing from the markdown"
    assert sum(data["counts"].values()) == len(IDS)


def test_ids_come_from_the_marker_and_unknown_ids_are_errors(tmp_path, synthetic_run):
    """Renaming a test changes nothing; a marker naming an ID the catalogue lacks fails
    the report loudly instead of backing nothing."""
    renamed = [(stem, name.replace("test_b8_", "test_renamed_"), outcome, n, ids)
               for stem, name, outcome, n, ids in CASES]
    a = correctness.build(_run_dir(tmp_path / "a", synthetic_run()))
    b = correctness.build(_run_dir(tmp_path / "b", synthetic_run(), renamed))
    assert _rows(a)["B8"]["cases"] == _rows(b)["B8"]["cases"] == 2
    assert _rows(a)["B6"]["tests"] == []      # named test_b6_..., but not marked
    typo = CASES + [("test_conv", "test_x", "passed", 0, "B77")]
    with pytest.raises(ValueError, match="B77"):
        correctness.build(_run_dir(tmp_path / "c", synthetic_run(), typo))


def test_ids_without_tests_are_flagged_and_failures_fail(tmp_path, synthetic_run):
    """Only B8, C7-C11, A6 pass here: C12 fails, C15 is skipped, the rest have no test."""
    data = correctness.build(_run_dir(tmp_path, synthetic_run()))
    rows = _rows(data)
    assert rows["B8"]["status"] == "verified with erratum" and rows["B8"]["cases"] == 2
    assert rows["C8"]["status"] == "verified" and rows["C8"]["why"] == ""
    assert rows["A6"]["status"] == "verified with erratum" and rows["A6"]["errata"] == \
        ["E-A6-S4-params"]
    assert rows["C12"]["status"] == "failed"
    assert rows["C15"]["status"] == "not verified" and "skipped" in rows["C15"]["why"]
    assert rows["B6"]["status"] == "not verified" and rows["B6"]["tests"] == []
    for fid in ("B6", "C12", "C15"):
        assert any(p.startswith(f"{fid}: ") for p in data["problems"]), fid
    md = correctness.render_markdown(data)
    assert "**B6: not verified: no test backs this ID**" in md
    assert md.index("## Problems") < md.index("## Formulas")


def test_cases_hypothesis_examples_methods_and_worst_ratios(tmp_path, synthetic_run):
    data = correctness.build(_run_dir(tmp_path, synthetic_run()))
    c7 = _rows(data)["C7"]
    assert (c7["cases"], c7["examples"]) == (2, 25 + 10)
    assert c7["methods"] == ["against PyTorch", "against finite differences"]
    assert c7["worst"] == {"float64": 0.25}          # torch's 3.0 is not the reference's
    assert _rows(data)["B7"]["worst"] == {"float32": 0.5}
    assert data["hypothesis"] == {"properties": 2, "examples": 35, "max_examples": [25]}
    assert "verification/tests/test_conv.py::test_c7_c11_backward_methods_match_torch" in c7["tests"]


def test_errata_section_and_tests_not_run(tmp_path, synthetic_run):
    data = correctness.build(_run_dir(tmp_path, synthetic_run()))
    expected = sorted(ERRATA, key=lambda e: (order_key(e.formula_id), e.id))
    assert [e["id"] for e in data["errata"]] == [e.id for e in expected]
    s4 = next(e for e in data["errata"] if e["id"] == "E-A6-S4-params")
    assert s4["outcome"] == "passed" and s4["corrected"] == "S4 has 32 parameters"
    assert any(p.startswith("E-A9-table18_1-row3-input: ") for p in data["problems"])
    assert "\\|3\\|池化\\|" in correctness.render_markdown(data)     # pipes escaped


def test_d_rows_not_verifiable_with_reasons(tmp_path, synthetic_run):
    run = _run_dir(tmp_path, synthetic_run(), CASES + [
        ("test_training", "test_d3_dense", "passed", 0, "D3"),
        ("test_report", "test_d1_targets", "passed", 0, "D1"),
        ("test_report", "test_claims_side_by_side", "passed", 0, "D1 D2")])
    rows = _rows(correctness.build(run))
    assert rows["D1"]["status"] == rows["D3"]["status"] == "not verifiable"
    assert "needs the training run" in rows["D3"]["note"]
    assert rows["D2"]["status"] == "verified"        # synthetic: 900 / 100 bytes = 9 = k*k
    assert "documents_p1: 9.00" in rows["D2"]["note"]
    (run.parents[1] / "training").mkdir()
    (run.parents[1] / "training" / "table18_1.json").write_text(json.dumps(
        {"epochs": 20, "data": "generated", "models": {"table18_1": {"epochs": [
            {"test_acc": 0.854}]}}}))
    assert "table18_1 85.4%" in _rows(correctness.build(run))["D3"]["note"]


def test_same_run_renders_byte_for_byte_and_has_no_dates(tmp_path, synthetic_run):
    a = _run_dir(tmp_path / "a", synthetic_run())
    b = _run_dir(tmp_path / "b", synthetic_run(), name="20270202-111111")
    da, db = correctness.build(a), correctness.build(b)
    assert correctness.render_markdown(da) == correctness.render_markdown(db)
    assert correctness.render_html(da) == correctness.render_html(db)
    md = correctness.render_markdown(da)
    assert not re.search(r"20\d\d-\d\d-\d\d|\d\d:\d\d:\d\d", md), "a date leaked"
    # the only times are the documents' own (D1); the run's are not reported
    assert set(re.findall(r"\d+(?:\.\d+)? s\b", md)) <= {"38.06 s", "0.07 s"}
    assert "numpy 2.4.6 and torch 2.13.0+cpu" in md


@pytest.mark.parametrize("missing", ["junit.xml", "record.json", "bench.json"])
def test_missing_input_is_an_error(tmp_path, missing, synthetic_run):
    run = _run_dir(tmp_path, synthetic_run())
    (run / missing).unlink()
    with pytest.raises(ValueError, match=missing.split(".")[0]):
        correctness.build(run)


def test_dashboard_section(tmp_path, synthetic_run):
    run = _run_dir(tmp_path, synthetic_run())
    (section,) = dashboard.build_sections(run, dashboard.providers("correctness"))
    page = dashboard.render_page([section])
    assert '<section id="correctness">' in page and "<td>B8</td>" in page
    assert '<tr class="bad"><td>B6</td>' in page


def test_every_formulas_id_is_backed_by_a_test_of_the_suite():
    """Static check over verification/tests/test_*.py: the `formulas` markers give every ID
    at least one test function (the report shows whether it passed)."""
    marks = [m for p in HERE.glob("test_*.py")
             for m in re.findall(r"^@pytest\.mark\.formulas\(([^)]*)\)", p.read_text(
                 encoding="utf-8"), re.M)]
    backed = {fid for m in marks for fid in re.findall(r'"(\w+)"', m)}
    assert backed <= set(IDS), f"markers name IDs the catalogue lacks: {backed - set(IDS)}"
    missing = [fid for fid in IDS if fid not in backed]
    assert not missing, f"IDs without a test: {missing}"


def test_copying_a_run_dir_keeps_the_report(tmp_path, synthetic_run):
    run = _run_dir(tmp_path, synthetic_run())
    copy = tmp_path / "elsewhere" / "runs" / "x"
    shutil.copytree(run, copy)
    assert correctness.render_markdown(correctness.build(copy)) == \
        correctness.render_markdown(correctness.build(run))


def test_algorithm_bounds_section_lists_measured_over_bound(tmp_path, synthetic_run):
    """Record rows of candidate 'reference <algorithm> (<inputs>)' become the section of
    algorithm error bounds; they stay out of the per-formula worst ratios."""
    extra = [{"op": "conv2d", "tensor": "out", "candidate": "reference winograd4 (cancellation)",
              "dtype": "float32", "worst_ratio": 0.002}]
    data = correctness.build(_run_dir(tmp_path, synthetic_run(), record=RECORD + extra))
    assert data["algorithm_bounds"] == [{"op": "conv2d", "what": "winograd4 (cancellation)",
                                         "dtype": "float32", "ratio": 0.002}]
    assert _rows(data)["B7"]["worst"].get("float32") != 0.002
    md = correctness.render_markdown(data)
    assert "## Algorithm error bounds on adversarial inputs" in md
    assert "| conv2d | winograd4 (cancellation) | float32 | 0.002 |" in md
    assert "winograd4 (cancellation)" in correctness.render_html(data)


def test_operators_beyond_the_documents_section(tmp_path, synthetic_run):
    """One row per operator beyond the documents with the reference's worst ratio per
    dtype over all its tensors (torch's rows ignored); n/a where the run has none."""
    record = RECORD + [
        {"op": "conv_transpose2d", "tensor": "out", "candidate": "reference",
         "dtype": "float32", "worst_ratio": 0.25},
        {"op": "conv_transpose2d", "tensor": "grad_weight", "candidate": "reference",
         "dtype": "float32", "worst_ratio": 0.75},
        {"op": "conv_transpose2d", "tensor": "out", "candidate": "torch",
         "dtype": "float32", "worst_ratio": 2.0}]
    data = correctness.build(_run_dir(tmp_path, synthetic_run(), record=record))
    rows = {r["op"]: r for r in data["beyond"]}
    assert rows["conv_transpose2d"]["worst"] == {"float32": 0.75}
    assert rows["layer_norm"]["worst"] == {}
    md = correctness.render_markdown(data)
    assert "## Operators beyond the documents" in md
    assert "| layer_norm |" in md and "| n/a | n/a |" in md
    assert "<h3>Operators beyond the documents</h3>" in correctness.render_html(data)
