"""Process isolation for `cnnref check`: the user's code runs in a worker process.

A hung pure-Python call cannot be interrupted from a thread, so the worker imports the
implementation and runs the battery of each function in turn, telling the parent before
every call ("beat"). When no message arrives within the per-call timeout, or the worker
dies, the parent kills it, reports that function as failed (hung / crashed) and starts a
fresh worker for the functions left.
"""
from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import time
import traceback

from cnnref.verification.check.battery import Options, missing_features, run_battery
from cnnref.verification.check.diagnose import diagnose, repro_snippet
from cnnref.verification.check.isolation import (after_import, death, default_max_memory,
                                                 limit_memory, snapshot)
from cnnref.verification.check.protocol import ImplError, accepts_of, load_impl
from cnnref.verification.core.compare import Failure
from cnnref.verification.operators.registry import REGISTRY

IMPORT_TIMEOUT = 120.0     # importing torch on a busy machine takes a while


@dataclasses.dataclass
class RunOptions:
    max_examples: int = 30
    seed: int = 0
    timeout: float = 10.0          # per call
    budget: float = 30.0           # soft seconds for all hypothesis families together
    max_memory: int | None = dataclasses.field(default_factory=default_max_memory)  # bytes
    import_timeout: float | None = None   # seconds for the import (None: IMPORT_TIMEOUT)
    assume: dict = dataclasses.field(default_factory=dict)   # --assume padding=0 ...


def _silence():
    """The user's prints must not interleave with the report."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)


def _summary(impl, spec, state, elapsed) -> dict:
    out = {"op": spec.name, "status": "fail" if state.failure else "pass",
           "elapsed": round(elapsed, 3), "checked": state.checked,
           "covered": dict(sorted(state.covered.items())),
           "not_covered": missing_features(state, spec.all_features),
           "notes": state.notes, "signature": sorted(state.supported)}
    if state.failure:
        o = state.failure
        out["failure"] = {"family": state.failure_family, "case": o.case.describe(),
                          "label": o.case.label, "wrong": o.wrong,
                          **dataclasses.asdict(o.failure),
                          "diagnosis": diagnose(spec, o),
                          "repro": repro_snippet(impl, spec, o.case, state.supported)}
        out["per_feature"] = state.per_feature
    return out


# No case starts later than this after the worker began: the whole check stays under a
# minute even for an implementation that takes a second per call.
HARD_SECONDS = 45.0


def _check_one(impl, module, name, opts, total_left, cost_left, beat, hard) -> dict:
    spec = REGISTRY[name]
    fn = getattr(module, name, None)
    if fn is None:
        return {"op": name, "status": "skipped", "reason": "not defined"}
    if not callable(fn):
        return {"op": name, "status": "fail", "failure": dataclasses.asdict(
            Failure("type", "-", f"{name} is a {type(fn).__name__}, not a function"))}
    budget = max(0.5, total_left * spec.cost / cost_left)
    start = time.monotonic()
    float32_only = name in getattr(module, "FLOAT32_ONLY", ())
    state = run_battery(spec, fn, accepts_of(fn), Options(
        opts.max_examples, opts.seed, budget, hard, assumptions(module, name, opts.assume)),
        beat, float32_only)
    if float32_only:
        state.notes.append("listed in the module's FLOAT32_ONLY: every case ran in float32, "
                           "judged by float32 bounds")
    return _summary(impl, spec, state, time.monotonic() - start)


def assumptions(module, name: str, given: dict) -> dict:
    """What the module declares (ASSUME = {"padding": 0}, for every function, or
    {"max_pool2d": {"padding": 0}} for one) and the command line adds (--assume)."""
    declared = dict(getattr(module, "ASSUME", None) or {})
    mine = declared.pop(name, {}) if isinstance(declared.get(name), dict) else {}
    common = {k: v for k, v in declared.items() if not isinstance(v, dict)}
    return {**common, **mine, **given}


def import_in_worker(impl: str, conn, max_memory: int | None):
    """A worker's start: its memory limit, the ground truth's state recorded, the user's
    module imported (None, the import error sent, when it cannot be)."""
    limit_memory(max_memory)
    snapshot()                 # the ground truth's state, before the user's module runs
    conn.send(("beat", None, "import"))
    try:
        module = load_impl(impl)
    except ImplError as exc:
        conn.send(("import_error", str(exc)))
        return None
    after_import()
    return module


def worker(impl: str, names: list, opts: RunOptions, conn, quiet: bool = True):
    if quiet:
        _silence()
    module = import_in_worker(impl, conn, opts.max_memory)
    if module is None:
        return
    start = time.monotonic()
    deadline = start + opts.budget
    defined = [n for n in names if getattr(module, n, None) is not None]
    for i, name in enumerate(names):
        conn.send(("begin", name))
        beat = lambda label, name=name: conn.send(("beat", name, label))  # noqa: E731
        try:
            # the budget is shared by the functions the module defines, by their costs
            cost_left = sum(REGISTRY[n].cost for n in names[i:] if n in defined) or 1.0
            result = _check_one(impl, module, name, opts, deadline - time.monotonic(),
                                cost_left, beat, start + HARD_SECONDS)
        except Exception as exc:    # a checker bug must not pass for the user's
            result = {"op": name, "status": "fail", "failure": dataclasses.asdict(Failure(
                "checker-error", "-", f"the checker failed: {type(exc).__name__}: {exc}\n"
                + traceback.format_exc()))}
        conn.send(("result", name, result))
    conn.send(("end",))


def _context():
    """A fresh interpreter per worker ('spawn'), never a fork: a process that has already
    run torch (the pytest plugin inside a suite that uses torch, say) holds an OpenMP
    thread pool that a forked child inherits in a broken state, and the child's first
    torch call then hangs until the per-call timeout."""
    return mp.get_context("spawn")


def _lost(name, kind, message) -> dict:
    return {"op": name, "status": "fail", "failure": dataclasses.asdict(
        Failure(kind, "-", message))}


# After a first hang, the functions left get this much per call (at most the --timeout):
# a helper shared by several functions that hangs must not cost the full timeout for each
# of them, and the checker's cases take milliseconds even in pure Python.
TIMEOUT_AFTER_A_HANG = 2.0


def run_check(impl: str, names: list, opts: RunOptions, target=None,
              after_hang: float | None = TIMEOUT_AFTER_A_HANG, on_result=None) -> dict:
    """{'results': [per-unit dicts, in `names` order]} or {'import_error': message}.
    target(impl, pending, opts, conn) is the worker (default: the battery of each
    function); after_hang, the per-call timeout once a call hung (None: unchanged);
    on_result(name, result) is told of each result as it arrives (progress)."""
    results, pending = {}, list(names)
    while pending:
        if after_hang is not None and any(
                r.get("failure", {}).get("kind") == "timeout" for r in results.values()):
            opts = dataclasses.replace(opts, timeout=min(opts.timeout, after_hang))
        ctx = _context()
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=target or worker, args=(impl, pending, opts, child),
                           daemon=True)
        proc.start()
        child.close()
        outcome = _supervise(proc, parent, pending, results, opts, on_result)
        proc.join(timeout=1)
        if proc.is_alive():
            proc.kill()
            proc.join()
        if outcome is not None:
            return {"import_error": outcome}
    return {"results": [results[n] for n in names]}


def _receive(conn):
    """The next message, or None when the worker is gone."""
    try:
        return conn.recv()
    except (EOFError, OSError):
        return None


def _import_lost(import_timeout: float, proc, hung: bool) -> str:
    """The import error of a worker that hung or died while importing the user's module:
    one failure for the whole check (exit 2), not one per function."""
    if hung:
        return f"importing the module did not finish within {import_timeout:g} s (it hangs)"
    return f"the process died while importing the module: {_reap(proc)}"


def _reap(proc) -> str:
    """The worker's end, read after it is reaped (before, its exit status is None)."""
    proc.join(timeout=5)
    return death(proc.exitcode)


def _lost_worker(current, last, proc, limit, hung: bool) -> dict:
    if hung:
        return _lost(current, "timeout", f"no answer within {limit:g} s (per-call "
                     f"timeout) during: {last}")
    return _lost(current, "crashed", f"the process died, {_reap(proc)}, during: {last}")


def _supervise(proc, conn, pending, results, opts, on_result=None):
    """Relay one worker's messages; returns an import error message or None. A worker's
    'import' and 'warm-up' beats get the import timeout (a JIT compiles on its first
    call), every other call the per-call timeout. A hang or death before the first
    function began is an import error."""
    import_timeout = getattr(opts, "import_timeout", None) or IMPORT_TIMEOUT
    current, last, limit, importing = pending[0], "start", import_timeout, True
    while True:
        hung = not conn.poll(limit)
        msg = None if hung else _receive(conn)
        if msg is None:
            if hung:
                proc.kill()
            if importing:
                return _import_lost(import_timeout, proc, hung)
            results[current] = _lost_worker(current, last, proc, limit, hung)
            pending.remove(current)
            if on_result is not None:
                on_result(current, results[current])
            return None
        if msg[0] == "import_error":
            return msg[1]
        if msg[0] == "begin":
            current, last, importing = msg[1], "start", False
        elif msg[0] == "beat":
            slow = msg[2] == "import" or msg[2].startswith("warm-up")
            last, limit = msg[2], (max(import_timeout, opts.timeout) if slow else opts.timeout)
        elif msg[0] == "result":
            importing = False
            results[msg[1]] = msg[2]
            pending.remove(msg[1])
            if on_result is not None:
                on_result(msg[1], msg[2])
        elif msg[0] == "end":
            return None
