"""`cnnref report`: run the verification suite and the benchmarks, then write the reports.

    cnnref report                  quick profile, into ./cnnref-reports/ (git-ignored)
    cnnref report --full           the whole benchmark sweep
    cnnref report --from RUN_DIR   re-render a saved run without measuring
    cnnref report --compare OLD    flag regressions against a saved run (a run directory or
                                   its bench.json) of the same profile; exit 1 when one is found
    cnnref report --out reports --note "MACHINE"   refresh the committed reference run

Steps: (1) pytest on the checkout's verification/tests in a subprocess (quick hypothesis
profile), which writes RUN_DIR/junit.xml and RUN_DIR/record.json (worst error / tolerance
ratios, see verification/tests/conftest.py); the suite ships with the source, not with an
installed wheel: without a checkout (or --suite DIR) this step is skipped and said so;
(2) one `python -m cnnref.benchmarks.runner` subprocess per framework group (NumPy, numba,
torch: their thread pools must not share a process), merged into RUN_DIR/bench.json;
(3) every dashboard provider renders OUT/<name>.md, and OUT/index.html gathers them.
RUN_DIR is OUT/runs/<timestamp>; every path is absolute, so any folder works.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import cnnref
from cnnref.report import dashboard, speedup
from cnnref.report.formulas import seeds_dir
from cnnref.report.speedup import SCHEMA

GROUPS = ("numpy", "numba", "torch")
DEFAULT_OUT = "cnnref-reports"


def checkout_suite() -> Path | None:
    """verification/tests of the source checkout cnnref runs from (an editable install or
    the repository itself); None for an installed wheel, which carries no tests."""
    tests = Path(cnnref.__file__).resolve().parents[1] / "verification" / "tests"
    return tests if (tests / "conftest.py").exists() else None


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="run verification + benchmarks, write reports",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--full", action="store_true", help="the whole benchmark sweep")
    p.add_argument("--profile", choices=("ci", "quick", "full"), default=None,
                   help="benchmark profile (default quick; ci: tiny shapes, seconds)")
    p.add_argument("--no-verify", action="store_true", help="skip the verification suite")
    p.add_argument("--suite", metavar="DIR",
                   help="the verification suite to run (default: the checkout's "
                        "verification/tests)")
    p.add_argument("--from", dest="from_run", metavar="RUN_DIR",
                   help="render a saved run instead of measuring")
    p.add_argument("--compare", metavar="OLD", help="saved run (directory or bench.json)")
    p.add_argument("--threshold", type=float, default=speedup.REGRESSION_SIGMAS,
                   metavar="SIGMAS", help="--compare: a regression is a slow-down beyond "
                   "this many sigmas of the runs' repeat noise (default %(default)g)")
    p.add_argument("--min-change", type=float, default=speedup.MIN_CHANGE, metavar="FRACTION",
                   help="--compare: and beyond this relative change (default %(default)g)")
    p.add_argument("--note", default="", help="a line on the machine and its load, shown "
                   "in the dashboard's footer (reference runs name their machine)")
    p.add_argument("--replace", action="store_true",
                   help="replace reports of another profile in OUT (refused otherwise)")
    p.add_argument("--out", default=DEFAULT_OUT,
                   help=f"output directory (default ./{DEFAULT_OUT}/; `--out reports` in "
                        f"the repository refreshes the committed reference run)")
    p.set_defaults(run=run)


def _step(i, n, what, t0) -> None:
    print(f"[{i}/{n}] {what} (at {time.time() - t0:.0f} s)", file=sys.stderr, flush=True)


def run_verification(run_dir: Path, suite: Path) -> int:
    """pytest on `suite` with its checkout's settings (-c pyproject.toml), run from the
    run directory: from the checkout's root, its cnnref/ folder would shadow an installed
    cnnref (which holds the subpackages the source keeps beside it)."""
    root = suite.parents[1]
    cmd = [sys.executable, "-m", "pytest", str(suite), "-q", "-p", "no:cacheprovider",
           "-c", str(root / "pyproject.toml"), "--rootdir", str(root),
           f"--junitxml={run_dir / 'junit.xml'}"]
    env = dict(os.environ, HYPOTHESIS_PROFILE="quick", CNNREF_RECORD=str(run_dir / "record.json"))
    return subprocess.run(cmd, cwd=run_dir, env=env).returncode


def run_benchmarks(run_dir: Path, profile: str) -> dict:
    """One runner process per group (progress lines stream to stderr), then merge."""
    merged = {"schema": SCHEMA, "profile": profile, "created": time.strftime("%Y-%m-%d %H:%M:%S"),
              "groups": {}, "results": []}
    for group in GROUPS:
        out = run_dir / f"bench_{group}.json"
        cmd = [sys.executable, "-m", "cnnref.benchmarks.runner", "--group", group, "--profile",
               profile, "--json", str(out)]
        if subprocess.run(cmd, cwd=run_dir).returncode != 0:
            raise RuntimeError(f"report: benchmark group {group} failed: {' '.join(cmd)}")
        data = json.loads(out.read_text())
        merged["groups"][group] = {k: data.get(k) for k in ("environment", "seconds", "skipped")}
        merged["results"] += data["results"]
    (run_dir / "bench.json").write_text(json.dumps(merged, indent=1))
    return merged


def _old_run(path: str) -> dict:
    p = Path(path)
    if p.is_dir():
        return speedup.load(p)
    if not p.exists():
        raise ValueError(f"report: --compare {path}: no such file or directory")
    tmp = json.loads(p.read_text())
    if tmp.get("schema") != SCHEMA:
        raise ValueError(f"report: --compare {path} is not a schema-{SCHEMA} benchmark run")
    return tmp


def comparison(run_dir: Path, args) -> list[dict] | None:
    """compare_runs of --compare OLD against this run (ValueError on mismatched profiles)."""
    if not args.compare:
        return None
    return speedup.compare_runs(_old_run(args.compare), speedup.load(run_dir),
                                args.threshold, args.min_change)


def write_reports(run_dir: Path, out: Path, compared: list | None = None) -> list[Path]:
    extra = {}
    if compared is not None:
        extra["speedup"] = lambda data: {**data, "comparison": compared}
    # A run made with --no-verify has no test results: leave out the sections built on them.
    skip = () if (run_dir / "junit.xml").exists() else ("verification", "correctness")
    providers = [p for p in dashboard.PROVIDERS if p.name not in skip]
    sections = dashboard.build_sections(run_dir, providers, extra=extra)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for s in sections:
        if s.markdown is None:
            continue
        path = out / f"{s.name}.md"
        path.write_text(s.markdown)
        written.append(path)
    index = out / "index.html"
    index.write_text(dashboard.render_page(sections, run_dir))
    return written + [index]


def _suite(args) -> Path | None:
    if args.no_verify:
        return None
    if args.suite:
        suite = Path(args.suite).resolve()
        if not (suite / "conftest.py").exists():
            raise ValueError(f"report: --suite {args.suite}: no verification suite there "
                             f"(expected a clone's verification/tests)")
        return suite
    suite = checkout_suite()
    if suite is None:
        print("cnnref report: the verification suite ships with the source, not with the "
              "installed package: measuring the benchmarks only (pass --suite "
              "CLONE/verification/tests to run it too)", file=sys.stderr)
    elif seeds_dir() is None:
        print("cnnref report: the documents' text files were not found (set CNNREF_SEEDS): "
              "the tests that quote them will be skipped", file=sys.stderr)
    return suite


def _profile(args) -> str:
    return "full" if args.full else (args.profile or "quick")


def measure(out: Path, args) -> tuple[Path, int]:
    """A new run directory with the suite's results (when it ran) and the timings."""
    profile = _profile(args)
    suite = _suite(args)
    run_dir = out / "runs" / time.strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    t0, status, n = time.time(), 0, 3 if suite else 2
    steps = {}
    if suite:
        _step(1, n, f"verification suite: pytest {suite} (quick hypothesis profile)", t0)
        status = run_verification(run_dir, suite)
        steps["verification"] = time.time() - t0
    _step(n - 1, n, f"benchmarks, profile {profile}: one process per framework", t0)
    run_benchmarks(run_dir, profile)
    steps["benchmarks"] = time.time() - t0 - steps.get("verification", 0.0)
    _step(n, n, "rendering", t0)
    meta = {"profile": profile, "note": args.note, "steps": steps, "status": status,
            "created": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    (run_dir / "run.json").write_text(json.dumps(meta, indent=1))
    return run_dir, status


def saved_profile(out: Path) -> str | None:
    """The profile of the speed-up report already in OUT (None: there is none)."""
    path = out / "speedup.md"
    found = re.search(r"^Profile `(\w+)`", path.read_text(), re.M) if path.exists() else None
    return found.group(1) if found else None


def _guard(out: Path, profile: str, replace: bool) -> None:
    """Reports of one profile are never replaced by another's (the committed reference
    run by a `--profile ci` run, say) unless asked."""
    old = saved_profile(out)
    if old and old != profile and not replace:
        raise ValueError(f"report: {out} holds a {old!r}-profile report; this one is "
                         f"{profile!r}. Write elsewhere (--out DIR) or pass --replace")


def _set_note(run_dir: Path, note: str) -> None:
    path = run_dir / "run.json"
    meta = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**meta, "note": note}, indent=1))


def run(args) -> int:
    out = Path(args.out).resolve()
    t0 = time.time()
    try:
        if args.from_run:
            run_dir, status = Path(args.from_run).resolve(), 0
            if not run_dir.is_dir():
                raise ValueError(f"report: --from {args.from_run}: no such run directory")
            _guard(out, speedup.load(run_dir)["profile"], args.replace)
            if args.note:
                _set_note(run_dir, args.note)
        else:
            _guard(out, _profile(args), args.replace)
            run_dir, status = measure(out, args)
        compared = comparison(run_dir, args)
        paths = write_reports(run_dir, out, compared)
    except ValueError as e:
        print(f"cnnref {e}", file=sys.stderr)
        return 2
    for path in paths:
        print(f"wrote {path}", file=sys.stderr)
    regressions = sum(r["verdict"] == "regression" for r in compared or [])
    print(f"report: run {run_dir} in {time.time() - t0:.0f} s"
          + ("; the verification suite FAILED" if status else "")
          + (f"; {regressions} regression(s) against {args.compare}" if regressions else ""),
          file=sys.stderr)
    return 1 if status or regressions else 0
