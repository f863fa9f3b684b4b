"""Dashboard provider: the verification run's outcome, read from the junit XML that
`cnnref report` asks pytest to write (run_dir/junit.xml). Pure load -> compute -> render."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from html import escape
from pathlib import Path

from cnnref.report import markup
from cnnref.report.markup import Figure


def build(run_dir) -> dict:
    path = Path(run_dir) / "junit.xml"
    if not path.exists():
        raise ValueError(f"junit_summary: no verification results at {path}")
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = {k: sum(int(s.get(k, 0)) for s in suites)
             for k in ("tests", "failures", "errors", "skipped")}
    total["seconds"] = sum(float(s.get("time", 0)) for s in suites)
    failed = [f"{c.get('classname')}::{c.get('name')}" for c in root.iter("testcase")
              if c.find("failure") is not None or c.find("error") is not None]
    return {**total, "passed": total["tests"] - total["failures"] - total["errors"]
            - total["skipped"], "failed": failed}


def _lines(data) -> list[str]:
    return [f"{data['passed']} passed, {data['failures']} failed, {data['errors']} errors, "
            f"{data['skipped']} skipped in {data['seconds']:.0f} s "
            f"(pytest verification/, quick hypothesis profile)."] + \
        [f"FAILED {name}" for name in data["failed"]]


def render_markdown(data) -> str:
    return "\n".join(["# Verification run", ""] + _lines(data)) + "\n"


def headline(data) -> list[Figure]:
    bad = data["failures"] + data["errors"]
    return [Figure("verification suite", "FAILED" if bad else "passed",
                   "bad" if bad else "ok",
                   f"{data['passed']} passed, {bad} failed, {data['skipped']} skipped in "
                   f"{data['seconds']:.0f} s")]


def render_html(data) -> str:
    cls = "bad" if data["failed"] else "ok"
    first, *failed = _lines(data)
    return f'<p class="{cls}">{escape(first)}</p>' + (
        markup.item_list(failed, "failed test") if failed else "")
