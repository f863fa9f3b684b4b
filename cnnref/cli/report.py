"""`cnnref report`: run the verification suite and the benchmarks, then write reports/.

    cnnref report                  quick profile (a few minutes on 2 cores)
    cnnref report --full           the whole benchmark sweep
    cnnref report --from RUN_DIR   re-render a saved run without measuring
    cnnref report --compare OLD    flag regressions against a saved run (a run directory
                                   or its bench.json), measured against the repeat noise

Steps: (1) pytest verification/tests in a subprocess (quick hypothesis profile), which writes
RUN_DIR/junit.xml and RUN_DIR/record.json (worst error / tolerance ratios, see
verification/tests/conftest.py); (2) one `python -m cnnref.benchmarks.runner` subprocess
per framework group (NumPy, numba, torch: their thread pools must not share a process),
merged into RUN_DIR/bench.json; (3) every dashboard provider renders reports/<name>.md, and
reports/index.html gathers them. RUN_DIR is reports/runs/<timestamp> (git-ignored).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from cnnref.report import dashboard, speedup
from cnnref.report.speedup import SCHEMA

ROOT = Path(__file__).resolve().parents[2]   # the repository: cnnref/cli/report.py
GROUPS = ("numpy", "numba", "torch")


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="run verification + benchmarks, write reports/",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--full", action="store_true", help="the whole benchmark sweep")
    p.add_argument("--profile", choices=("ci", "quick", "full"), default=None,
                   help="benchmark profile (default quick; ci: tiny shapes, seconds)")
    p.add_argument("--no-verify", action="store_true", help="skip the verification suite")
    p.add_argument("--from", dest="from_run", metavar="RUN_DIR",
                   help="render a saved run instead of measuring")
    p.add_argument("--compare", metavar="OLD", help="saved run (directory or bench.json)")
    p.add_argument("--out", default="reports", help="output directory (default reports/)")
    p.set_defaults(run=run)


def _env(extra: dict) -> dict:
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _step(i, n, what) -> float:
    print(f"[{i}/{n}] {what}", file=sys.stderr, flush=True)
    return time.time()


def run_verification(run_dir: Path) -> int:
    cmd = [sys.executable, "-m", "pytest", str(ROOT / "verification" / "tests"), "-q",
           "-p", "no:cacheprovider", f"--junitxml={run_dir / 'junit.xml'}"]
    env = _env({"HYPOTHESIS_PROFILE": "quick", "CNNREF_RECORD": str(run_dir / "record.json")})
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


def run_benchmarks(run_dir: Path, profile: str) -> dict:
    """One runner process per group (progress lines stream to stderr), then merge."""
    merged = {"schema": SCHEMA, "profile": profile, "created": time.strftime("%Y-%m-%d %H:%M:%S"),
              "groups": {}, "results": []}
    for group in GROUPS:
        out = run_dir / f"bench_{group}.json"
        cmd = [sys.executable, "-m", "cnnref.benchmarks.runner", "--group", group, "--profile",
               profile, "--json", str(out)]
        if subprocess.run(cmd, cwd=ROOT, env=_env({})).returncode != 0:
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
        raise ValueError(f"report: --compare {path}: no such file")
    tmp = json.loads(p.read_text())
    if tmp.get("schema") != SCHEMA:
        raise ValueError(f"report: --compare {path} is not a schema-{SCHEMA} benchmark run")
    return tmp


def write_reports(run_dir: Path, out: Path, compare_with: str | None) -> list[Path]:
    extra = {}
    if compare_with:
        old = _old_run(compare_with)
        new = speedup.load(run_dir)
        extra["speedup"] = lambda data: {**data, "comparison": speedup.compare_runs(old, new)}
    # A run made with --no-verify has no test results: leave out the sections built on them.
    skip = () if (run_dir / "junit.xml").exists() else ("verification", "correctness")
    providers = [p for p in dashboard.PROVIDERS if p.name not in skip]
    sections = dashboard.build_sections(run_dir, providers, extra=extra)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for s in sections:
        path = out / f"{s.name}.md"
        path.write_text(s.markdown)
        written.append(path)
    index = out / "index.html"
    index.write_text(dashboard.render_page(sections, f"run {run_dir.name}"))
    return written + [index]


def run(args) -> int:
    out = Path(args.out)
    profile = "full" if args.full else (args.profile or "quick")
    t0 = time.time()
    status = 0
    if args.from_run:
        run_dir = Path(args.from_run)
    else:
        run_dir = out / "runs" / time.strftime("%Y%m%d-%H%M%S")
        run_dir.mkdir(parents=True, exist_ok=True)
        n = 2 if args.no_verify else 3
        if not args.no_verify:
            _step(1, n, "verification suite: pytest verification/tests (quick hypothesis profile)")
            status = run_verification(run_dir)
        _step(n - 1, n, f"benchmarks, profile {profile}: one process per framework")
        run_benchmarks(run_dir, profile)
        _step(n, n, "rendering reports")
    for path in write_reports(run_dir, out, args.compare):
        print(f"wrote {path}", file=sys.stderr)
    print(f"report: run {run_dir} in {time.time() - t0:.0f} s"
          + ("; the verification suite FAILED" if status else ""), file=sys.stderr)
    return 1 if status else 0
