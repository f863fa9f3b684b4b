"""The `cnnref` command's own surface: --help lists the subcommands, --version prints the
package version, an unknown subcommand is a usage error (exit 2)."""
from __future__ import annotations

import subprocess
import sys

import pytest

import cnnref
from cnnref import cli


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"cnnref {cnnref.__version__}"


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in ("summary", "train", "report", "check"):
        assert name in out, f"subcommand {name!r} missing from --help:\n{out}"


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 0
    assert "usage: cnnref" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error():
    with pytest.raises(SystemExit) as exc:
        cli.main(["frobnicate"])
    assert exc.value.code == 2


def test_help_does_not_import_torch():
    code = "import sys; from cnnref import cli; cli.build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", "cnnref --help imports torch (slow start)"


def test_a_closed_pipe_ends_quietly():
    """`cnnref summary table18_1 --json | head`: the reader leaves early; no traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "cnnref", "summary", "table18_1", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()         # before the command writes: every write meets EPIPE
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert proc.returncode == 1


def test_summary_explains_the_notation_of_the_spec_it_prints(capsys):
    assert cli.main(["summary", "INPUT 1x8x8 -> CONV 2@3x3/2+1 -> POOL 2 -> FC 3"]) == 0
    out = capsys.readouterr().out
    spec_line, notation = out.splitlines()[:2]
    assert "CONV 2@3x3/2+1" in spec_line
    assert "notation:" in notation and "stride s, padding p" in out and "[ ... ]*N" in out
