"""The `markov-icl` entry point: --version, usage when called bare, one line and exit 2 for bad input.

Oracles: the installed package's version metadata, and the process's exit status and streams.
"""

import subprocess
import sys
from importlib.metadata import version

import pytest

from markov_icl.cli import COMMANDS, main


def run(*args):
    return subprocess.run([sys.executable, "-m", "markov_icl", *args], capture_output=True, text=True)


def test_version():
    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"markov-icl {version('markov-icl')}"


def test_bare_command_prints_usage_with_every_command(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: markov-icl")
    for name in COMMANDS:
        assert name in out


def test_experiment_without_a_figure_prints_its_usage(capsys):
    assert main(["experiment"]) == 2  # main returns the status of usage errors, too (no SystemExit)
    out = capsys.readouterr().out
    assert "fig2" in out and "fig5" in out


@pytest.mark.parametrize("args", [["nonsense"], ["objective"], ["objective", "--d", "x"], ["objective", "--d", "0"],
                                  ["experiment", "fig9"], ["verify", "--d", "1", "--p", "2", "--n", "3"]])
def test_bad_input_is_one_line_and_exit_2(args):
    proc = run(*args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_help_does_not_import_torch():
    code = "import sys; from markov_icl.cli import main; main(['objective', '--d', '1', '--p', '1/2', '--n', '5']); " \
           "print('torch' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip().splitlines()[-1] == "False"
