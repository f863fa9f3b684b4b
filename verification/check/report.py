"""Render the results of `cnnref check` (pure functions: result dicts in, text out)."""
from __future__ import annotations

import textwrap


def exit_status(report: dict) -> int:
    """0 every checked function agrees, 1 any disagreement, 2 nothing could be checked."""
    if "import_error" in report:
        return 2
    results = report["results"]
    if any(r["status"] == "fail" for r in results):
        return 1
    return 0 if any(r["status"] == "pass" for r in results) else 2


def _coverage(r: dict) -> list[str]:
    lines = []
    if r.get("checked"):
        fams = ", ".join(f"{k} {v}" for k, v in r["checked"].items())
        lines.append(f"  cases: {fams}")
    if r.get("covered"):
        lines.append("  covered: " + ", ".join(f"{k} ({v})" for k, v in r["covered"].items()))
    groups: dict = {}
    for feature, why in r.get("not_covered", {}).items():
        if why.startswith("unsupported: "):
            lines.append(f"  not covered: {feature}: {_one_line(why, 90)}")
        else:
            groups.setdefault(why, []).append(feature)
    for why, features in groups.items():
        lines.append(f"  not covered ({why}): {', '.join(features)}")
    return lines


def _one_line(s: str, width: int = 110) -> str:
    s = " ".join(str(s).split())
    return s if len(s) <= width else s[:width - 3] + "..."


def failure_lines(f: dict) -> list[str]:
    lines = [f"  {'smallest failing case' if f.get('family') in ('exact', 'random', 'float32') else 'failing case'}"
             f" ({f.get('family', '-')}): {f.get('case', '-')}"]
    if f.get("label") and not f["label"].startswith("Case("):
        lines.append(f"    [{f['label']}]")
    lines.append("  " + f["message"].splitlines()[0] if f.get("message") else "")
    for line in f.get("message", "").splitlines()[1:]:
        lines.append("    " + line)
    if f.get("max_error") is not None:
        lines.append(f"  max error {f['max_error']:.3g} at {f.get('tensor')}{list(f['index'])}"
                     f" (allowed {f['allowed']:.3g})")
    if len(f.get("wrong") or []) > 1:
        lines.append(f"  wrong outputs: {', '.join(f['wrong'])}")
    for d in f.get("diagnosis") or []:
        tag = "diagnosis" if d["complete"] else "partial diagnosis"
        lines.append(f"  {tag}: {d['mistake']} (explains {', '.join(d['explains'])})")
    if f.get("repro"):
        lines.append("  reproduce:")
        lines.append(textwrap.indent(f["repro"], "    "))
    return lines


def render(impl: str, report: dict, opts) -> str:
    if "import_error" in report:
        return f"cnnref check: {report['import_error']}"
    lines = [f"cnnref check {impl} (seed {opts.seed}, max-examples {opts.max_examples}, "
             f"timeout {opts.timeout:g} s per call)", ""]
    counts = {"pass": 0, "fail": 0, "skipped": 0}
    undefined = [r["op"] for r in report["results"]
                 if r["status"] == "skipped" and r.get("reason") == "not defined"]
    for r in report["results"]:
        counts[r["status"]] += 1
        if r["op"] in undefined:   # listed together below, one name each
            continue
        took = f"  {r['elapsed']:.1f} s" if "elapsed" in r else ""
        lines.append(f"{r['op']:<22} {r['status'].upper():<8}{r.get('reason', '')}{took}")
        if r["status"] == "fail":
            lines += failure_lines(r["failure"])
        if r["status"] != "skipped":
            lines += _coverage(r)
        lines += [f"  note: {n}" for n in r.get("notes", [])]
    if undefined:
        lines += textwrap.wrap("not defined (skipped): " + ", ".join(undefined), 90,
                               subsequent_indent="  ")
    status = exit_status(report)
    lines += ["", f"{counts['pass']} passed, {counts['fail']} failed, {counts['skipped']} "
              f"skipped (not defined) -> exit {status}"]
    return "\n".join(lines)
