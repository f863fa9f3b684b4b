"""pytest plugin (entry point `cnnref`): `pytest --cnnref-impl=IMPL` adds the `cnnref check`
battery to the session as ordinary test items, one per function and case family
(`cnnref[IMPL]::conv2d[corners]`), so an implementation's own CI runs it.

`pytest --cnnref-impl=IMPL` alone runs the battery only (nothing else is collected, in
this repository and in a user's project alike); with test paths, `pytest
--cnnref-impl=IMPL tests/`, it runs those tests beside the battery.

Cheap to import and inert without --cnnref-impl. The battery runs once, in a worker
process (see check/runner.py), when the first item runs; a function stops at its first
failure, so the families after the failing one are reported as skipped.
"""
from __future__ import annotations

import pytest

# This module is loaded into every pytest process of an environment where cnnref is
# installed: it imports the checker (NumPy, hypothesis, the registry) only when
# --cnnref-impl is given, inside the functions below.


def pytest_addoption(parser):
    group = parser.getgroup("cnnref", "cnnref check: verify an implementation")
    group.addoption("--cnnref-impl", default=None, metavar="IMPL",
                    help="module (file path or dotted name) to check against cnnref")
    group.addoption("--cnnref-max-examples", type=int, default=30,
                    help="hypothesis examples per family (default 30)")
    group.addoption("--cnnref-seed", type=int, default=0, help="hypothesis seed")
    group.addoption("--cnnref-timeout", type=float, default=10.0,
                    help="seconds per call before it counts as hung (default 10)")


def _battery_only(config) -> bool:
    """--cnnref-impl without test paths on the command line."""
    return bool(config.getoption("cnnref_impl")) and not config.option.file_or_dir


@pytest.hookimpl(tryfirst=True)
def pytest_ignore_collect(collection_path, config):
    if _battery_only(config):
        return True     # the battery's items are added below, collected from nothing
    return None


class CnnrefFailure(Exception):
    pass


class CnnrefCollector(pytest.Collector):
    def collect(self):
        return []


class CnnrefItem(pytest.Item):
    def __init__(self, *, op: str, family: str, **kwargs):
        super().__init__(**kwargs)
        self.op, self.family = op, family

    def _result(self) -> dict:
        """The battery of every function, run once per session in one worker process
        (as `cnnref check`), at the first item."""
        cache = self.config.stash.setdefault(_CACHE, {})
        if not cache:
            from cnnref.verification.check.runner import RunOptions, run_check
            from cnnref.verification.operators.registry import CHECKABLE
            get = self.config.getoption
            opts = RunOptions(get("cnnref_max_examples"), get("cnnref_seed"),
                              get("cnnref_timeout"), budget=30.0)
            report = run_check(get("cnnref_impl"), list(CHECKABLE), opts)
            cache.update({"import_error": report["import_error"]} if "import_error" in report
                         else dict(zip(CHECKABLE, report["results"])))
        return cache

    def runtest(self):
        report = self._result()
        if "import_error" in report:
            raise CnnrefFailure(report["import_error"])
        result = report[self.op]
        if result["status"] == "skipped":
            pytest.skip(f"{self.op}: {result.get('reason', 'not defined')}")
        failure = result.get("failure")
        if failure is None:
            if not result.get("checked", {}).get(self.family):
                pytest.skip(f"no {self.family} case applies to this implementation")
            return
        from cnnref.verification.check.report import failure_lines
        from cnnref.verification.core.cases import FAMILIES
        where = failure.get("family") or "examples"
        if FAMILIES.index(self.family) > FAMILIES.index(where):
            pytest.skip(f"not run: {self.op} already failed in the {where} cases")
        if self.family == where:
            raise CnnrefFailure("\n".join(failure_lines(failure)))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, CnnrefFailure):
            return f"cnnref check {self.op} [{self.family}]:\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"cnnref {self.op}[{self.family}]"


_CACHE = pytest.StashKey[dict]()


def pytest_collection_modifyitems(session, config, items):
    impl = config.getoption("cnnref_impl")
    if not impl:
        return
    from cnnref.verification.core.cases import FAMILIES
    from cnnref.verification.operators.registry import CHECKABLE, REGISTRY
    parent = CnnrefCollector.from_parent(session, name=f"cnnref[{impl}]")
    for op in CHECKABLE:
        for family in FAMILIES if REGISTRY[op].random else FAMILIES[:3]:
            items.append(CnnrefItem.from_parent(parent, name=f"{op}[{family}]", op=op,
                                                family=family))
