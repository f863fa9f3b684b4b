"""Render the results of `cnnref check` (pure functions: result dicts in, text out)."""
from __future__ import annotations

import textwrap

from cnnref.verification.check.sweep import sentence


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
        if why.startswith(("unsupported: ", "declared: ")):
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


def _why(r: dict) -> str:
    """What is wrong with a failing function, in a few words: its diagnosis, else how it
    failed (crashes, hangs, wrong shape, wrong values)."""
    f = r.get("failure") or {}
    found = [d["mistake"] for d in f.get("diagnosis") or [] if d["complete"]] or \
        [d["mistake"] for d in f.get("diagnosis") or []]
    if found:
        return found[0].split(" (")[0]
    also = (r.get("per_feature") or {}).get("named") or []
    if also:      # the first failure is unexplained (a crash), other cases are not
        return f"{_how(f)}; wrong values elsewhere: " + ", ".join(m.split(" (")[0] for m in also)
    return _how(f)


def _how(f: dict) -> str:
    kind = f.get("kind")
    if kind == "raised" and "refused every worked example" in f.get("message", ""):
        return "refuses even the documents' worked example"
    if kind == "raised":
        return "crashes: " + _one_line(f.get("message", "").removeprefix("raised "), 60)
    return {"timeout": "hangs", "crashed": "the process dies", "shape": "wrong shape",
            "missing": "returns None", "type": "wrong return type"}.get(
        kind, "wrong values (no known mistake explains them)")


def _limited(r: dict) -> bool:
    return any(w.startswith(("unsupported: ", "declared: "))
               for w in r.get("not_covered", {}).values())


def verdict(report: dict) -> str:
    """One line a learner reads first: "3 functions right (1 within what it supports),
    1 wrong (max_pool2d_backward: gradient sent to every tied maximum), 2 not defined"."""
    results = report["results"]
    right = [r for r in results if r["status"] == "pass"]
    wrong = [r for r in results if r["status"] == "fail"]
    undefined = [r for r in results if r["status"] == "skipped"]
    limited = sum(_limited(r) for r in right)
    parts = [f"{len(right)} function{'s' * (len(right) != 1)} right"
             + (f" ({limited} within what it supports: see 'not covered')" if limited else "")]
    if wrong:
        parts.append(f"{len(wrong)} wrong (" + "; ".join(
            f"{r['op']}: {_why(r)}" for r in wrong) + ")")
    if undefined:
        parts.append(f"{len(undefined)} not defined")
    return ", ".join(parts)


def render(impl: str, report: dict, opts) -> str:
    if "import_error" in report:
        return f"cnnref check: {report['import_error']}"
    lines = [f"cnnref check {impl} (seed {opts.seed}, max-examples {opts.max_examples}, "
             f"timeout {opts.timeout:g} s per call)", "", verdict(report), ""]
    counts = {"pass": 0, "fail": 0, "skipped": 0}
    undefined = [r["op"] for r in report["results"]
                 if r["status"] == "skipped" and r.get("reason") == "not defined"]
    for r in report["results"]:
        counts[r["status"]] += 1
        if r["op"] in undefined:   # listed together below, one name each
            continue
        took = f"  {r['elapsed']:.1f} s" if "elapsed" in r else ""
        lines.append(f"{r['op']:<22} {r['status'].upper():<8}{r.get('reason', '')}{took}")
        if r["status"] == "pass" and _limited(r):
            lines.append("  PASS within the covered space; NOT COVERED: " + ", ".join(
                f for f, w in r["not_covered"].items()
                if w.startswith(("unsupported: ", "declared: "))))
        if r["status"] == "fail":
            if r.get("per_feature"):
                lines += textwrap.wrap("feature by feature: " + sentence(r["per_feature"]),
                                       100, initial_indent="  ", subsequent_indent="    ")
            lines += failure_lines(r["failure"])
        if r["status"] != "skipped":
            lines += _coverage(r)
        lines += [f"  note: {n}" for n in r.get("notes", [])]
    if undefined:
        lines += _undefined_lines(undefined)
    status = exit_status(report)
    lines += ["", f"{counts['pass']} passed, {counts['fail']} failed, {counts['skipped']} "
              f"skipped (not defined) -> exit {status}"]
    return "\n".join(lines)


def _undefined_lines(undefined: list, width: int = 90, most: int = 4) -> list:
    """The functions the module does not define, a function and its backward as one
    name (`relu[_backward]`), in at most `most` lines: the rest counted (the JSON report
    lists every one)."""
    names = [f"{n}[_backward]" if n + "_backward" in undefined else n
             for n in undefined if not (n.endswith("_backward") and
                                        n.removesuffix("_backward") in undefined)]
    head = f"not defined (skipped), {len(undefined)}: "
    for shown in range(len(names), 0, -1):
        rest = len(names) - shown
        tail = f", and {rest} more (--json lists them)" if rest else ""
        lines = textwrap.wrap(head + ", ".join(names[:shown]) + tail, width,
                              subsequent_indent="  ")
        if len(lines) <= most:
            return lines
    return [head + f"{len(names)} functions (--json lists them)"]
