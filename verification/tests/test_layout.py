"""The layout is the architecture: one installed import name, no test files installed, a
user's own `reference`, `verification` and `benchmarks` packages do not shadow ours (nor
ours theirs), and one mechanism per job (one registry, one compare, one upstream-gradient
generator, one list of case families), found by reading the product code."""
from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
IMPLS = pathlib.Path(__file__).parent / "fixtures" / "impls"
PRODUCT = [p for d in ("cnnref", "reference", "verification", "benchmarks")
           for p in sorted((ROOT / d).rglob("*.py"))
           if "tests" not in p.parts and "suites" not in p.parts]


def _product_lines(pattern: str, under: str = "") -> list[str]:
    rx = re.compile(pattern)
    return [f"{p.relative_to(ROOT)}:{i}" for p in PRODUCT
            if str(p.relative_to(ROOT)).startswith(under)
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if rx.search(line)]


@pytest.mark.parametrize("what, pattern, under", [
    ("operator registry", r"^REGISTRY\b.*=", ""),
    ("registry entry type", r"^class (Op|OpSpec)\b", ""),
    ("compare function", r"^def compare\(", ""),
    ("upstream-gradient generator", r"default_rng\((case\.)?seed \+ 1\)", ""),
    # benchmarks/cases.py has its own ConvCase / PoolCase: timed layer shapes, not calls
    ("case type of the comparison core", r"^class \w*Case\b", "verification"),
    ("list of case families", r"^FAMILIES\b.*=", ""),
])
def test_one_mechanism_per_job(what, pattern, under):
    found = _product_lines(pattern, under)
    assert len(found) == 1, f"{what}: expected one definition in the product code, found " \
        f"{len(found)}: {found}"


def test_no_comment_cites_an_issue_number():
    files = PRODUCT + sorted((ROOT / "verification" / "tests").rglob("*.py"))
    found = [f"{p.relative_to(ROOT)}:{i}" for p in files
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if re.search(r"\bissues? #?\d", line, re.I)]
    assert not found, f"comments a reader cannot follow (issue numbers): {found}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """A wheel built from this checkout, as `pip install .` builds it."""
    out = tmp_path_factory.mktemp("wheel")
    # a copy of the sources: setuptools would leave build/ in the checkout, and reuse it
    src = out / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "runs", "__pycache__", ".hypothesis"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out),
                    str(src)], check=True, capture_output=True, timeout=300)
    (path,) = out.glob("cnnref-*.whl")
    return zipfile.ZipFile(path)


def test_a_plain_install_adds_only_cnnref(wheel):
    tops = {n.split("/")[0] for n in wheel.namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"cnnref"}, sorted(tops)
    names = wheel.namelist()
    for sub in ("cnnref/reference/conv.py", "cnnref/verification/operators/registry.py",
                "cnnref/verification/check/plugin.py", "cnnref/benchmarks/runner.py",
                "cnnref/report/dashboard.py", "cnnref/cli/__init__.py"):
        assert sub in names, f"{sub} missing from the wheel"


def test_no_test_files_are_installed(wheel):
    tests = [n for n in wheel.namelist() if re.search(r"(^|/)(test_\w+|conftest|bench_\w+)\.py$", n)
             or "/fixtures/" in n]
    assert not tests, f"test files in the wheel: {tests}"


def _user_project(tmp_path) -> pathlib.Path:
    """A user's project with packages of our subpackages' names, each of which breaks
    loudly if cnnref ever imported it in place of its own."""
    for name in ("reference", "verification", "benchmarks"):
        pkg = tmp_path / name
        pkg.mkdir()
        (pkg / "__init__.py").write_text(f"MINE = {name!r}\n")
        (pkg / "plugin.py").write_text("raise ImportError('the user\\'s module, not cnnref\\'s')\n")
        (pkg / "harness.py").write_text("raise ImportError('the user\\'s module')\n")
    (tmp_path / "my_conv.py").write_text((IMPLS / "numpy_ok.py").read_text())
    (tmp_path / "_numpy_base.py").write_text((IMPLS / "_numpy_base.py").read_text())
    (tmp_path / "test_mine.py").write_text(
        "import benchmarks, reference, verification\n\n\ndef test_my_packages_are_mine():\n"
        "    assert (reference.MINE, verification.MINE, benchmarks.MINE) == "
        "('reference', 'verification', 'benchmarks')\n")
    return tmp_path


def test_a_user_project_with_its_own_packages_runs_the_checker(tmp_path):
    project = _user_project(tmp_path)
    env_path = {"PYTHONPATH": str(project)}
    check = subprocess.run([sys.executable, "-m", "cnnref", "check", "my_conv.py", "--ops",
                            "conv2d", "--max-examples", "5"], cwd=project, capture_output=True,
                           text=True, env={**_env(), **env_path}, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "conv2d" in check.stdout and "PASS" in check.stdout
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            "--cnnref-impl=my_conv.py", "--cnnref-max-examples=5"],
                           cwd=project, capture_output=True, text=True, env=_env(),
                           timeout=300)
    # exit 0: the user's own test passed beside the battery's items (which ran)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert re.search(r"\b([2-9]|\d\d+) passed", tests.stdout), tests.stdout


def test_installed_as_users_install_it_every_command_works_in_their_project(
        wheel, tmp_path):
    """The wheel installed (no editable checkout behind it) and run from a user's project
    with its own reference/, verification/ and benchmarks/ packages: check (--ops before
    IMPL), pytest --cnnref-impl (the battery alone; with a path, the user's test too),
    summary, report (benchmarks only: the suite ships with the source) and train. Nothing
    is written into the installation; every output lands in ./cnnref-reports/. The
    dependencies are this environment's, so the test needs no network and no venv build."""
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(site), wheel.filename], check=True, capture_output=True, timeout=300)
    (tmp_path / "project").mkdir()
    project = _user_project(tmp_path / "project")
    env = {**_env(), "PYTHONPATH": str(site)}

    def run(*args, ok=0):
        out = subprocess.run([sys.executable, *args], cwd=project, env=env,
                             capture_output=True, text=True, timeout=600)
        assert out.returncode == ok, f"{args}: {out.stdout[-3000:]}{out.stderr[-3000:]}"
        return out

    files = lambda: {p for p in site.rglob("*") if "__pycache__" not in p.parts}  # noqa: E731
    installed = files()
    where = run("-c", "import cnnref; print(cnnref.__file__)").stdout
    assert where.startswith(str(site)), f"not the installed copy: {where}"
    assert "PASS" in run("-m", "cnnref", "check", "--ops", "conv2d", "my_conv.py",
                         "--max-examples", "3").stdout
    battery = run("-m", "pytest", "-q", "-p", "no:cacheprovider", "--cnnref-impl=my_conv.py",
                  "--cnnref-max-examples=3").stdout
    passed = int(re.search(r"\b(\d+) passed", battery).group(1))
    assert passed >= 10 and "failed" not in battery, battery    # conv2d and its backward
    both = run("-m", "pytest", "-q", "-p", "no:cacheprovider", "--cnnref-impl=my_conv.py",
               "--cnnref-max-examples=3", "test_mine.py").stdout
    assert f"{passed + 1} passed" in both, both                 # + the user's own test
    assert "C3:CONV 16@5x5" in run("-m", "cnnref", "summary", "lenet5").stdout
    report = run("-m", "cnnref", "report", "--profile", "ci")
    assert "ships with the source" in report.stderr
    assert "## Targets" in (project / "cnnref-reports" / "speedup.md").read_text()
    run("-m", "cnnref", "train", "table18_1", "--epochs", "1", "--n-train", "32",
        "--n-test", "16", "--no-dense")
    assert "## table18_1" in (project / "cnnref-reports" / "training.md").read_text()
    strays = files() - installed
    assert not strays, f"written into the installation: {sorted(map(str, strays))}"


def _env() -> dict:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env
