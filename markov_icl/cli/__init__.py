"""The ``markov-icl`` command: parse, call the library, print.

Each subcommand lives in its own module with a ``register(subparsers)`` function; this
file only wires them together and turns :class:`~markov_icl.errors.MarkovICLError` into
one line on stderr and exit status 2 (argparse usage errors also exit 2). Only the module
of the chosen subcommand is imported, so ``markov-icl objective`` does not pay for PyTorch.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import re
import sys

from markov_icl._version import __version__
from markov_icl.errors import Diverged, MarkovICLError, shown

#: subcommand -> module that registers it, in the order of ``markov-icl --help``
COMMANDS = {
    "objective": "markov_icl.cli.objective",
    "derive": "markov_icl.cli.derive",
    "verify": "markov_icl.cli.verify",
    "realize": "markov_icl.cli.realize",
    "optimum": "markov_icl.cli.optimum",
    "evaluate": "markov_icl.cli.evaluate",
    "experiment": "markov_icl.cli.experiment",
    "dynamics": "markov_icl.cli.dynamics",
    "sweep": "markov_icl.cli.sweep",
    "bayes": "markov_icl.cli.bayes",
    "softmax": "markov_icl.cli.softmax",
    "docs": "markov_icl.cli.docs",
    "ngd": "markov_icl.cli.ngd",
}

#: one line per subcommand for the top-level help (no module is imported to print it)
SUMMARIES = {
    "objective": "exact H, beta, X*, f~* of the enlarged-space objective",
    "derive": "write a derivation document (.tex/.pdf); 'all' also writes the report",
    "verify": "train a one-layer LSA and compare it with the exact optimum",
    "realize": "is X* realisable by a one-layer LSA; the best one-layer loss f*",
    "optimum": "the exact best loss of a one-layer parameterization (ahn, zfb, gd, dense, sparse)",
    "evaluate": "the exact population loss of a saved one-layer model",
    "experiment": "reproduce a figure of the paper, or a finding: gap, basins (CSV + plot)",
    "dynamics": "exact learning dynamics of a one-layer parameterization against training",
    "sweep": "run a grid of commands on Ray or local processes, resumable",
    "bayes": "the exact Bayes floor: risk and accuracy of the Bayes-optimal in-context predictor",
    "softmax": "exact one-layer softmax attention: loss at Q = 0, best loss, gradient flow",
    "docs": "print where the installed documentation is (the theory reference, commands, Python API)",
    "ngd": "a softmax transformer whose layer l is the l-th normalized-GD step on the context",
}

DESCRIPTION = ("Symbolic derivation engine for in-context learning of linear self-attention on Markov-chain prompts. "
               "The theory reference is docs/theory.md, installed with the package ('markov-icl docs' prints where; "
               "help texts cite its sections as docs/theory.md section N); 'markov-icl COMMAND --help' describes "
               "each command.")


class _Formatter(argparse.HelpFormatter):
    """Help with the subcommand names and their one-line help on the same line."""

    def __init__(self, prog):
        super().__init__(prog, max_help_position=18)
        self._action_max_length = 16


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2; argparse quotes a bad value whole: cut it to 80 characters
        message = re.sub(r"'([^']{78,})'", lambda m: shown(m.group(1)), " ".join(message.split()))
        message = re.sub(r"\S{81,}", lambda m: m.group(0)[:77] + "...", message)
        sys.stderr.write(f"markov-icl: error: {message}\n")
        raise SystemExit(2)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; when ``argv`` names a subcommand only its module is imported."""
    ap = _Parser(prog="markov-icl", description=DESCRIPTION, formatter_class=_Formatter)
    ap.add_argument("--version", action="version", version=f"markov-icl {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    chosen = argv[0] if argv and argv[0] in COMMANDS else None
    for name, module in COMMANDS.items():
        if name == chosen:
            importlib.import_module(module).register(sub, argv or ())
        else:  # a placeholder with the same one-line help (its module is not imported)
            sub.add_parser(name, help=SUMMARIES[name])
    return ap


def main(argv: list[str] | None = None) -> int:
    """Run ``markov-icl`` with ``argv`` (default: the process's arguments); returns the exit status."""
    if argv is None:
        argv = sys.argv[1:]
    sys.set_int_max_str_digits(0)  # exact results print in full (their inputs are bounded in digits)
    try:
        if not argv:
            build_parser([]).print_help()
            return 0
        odd = next((a for a in argv if a == "--" or a.endswith("=--")), None)
        if odd is not None:  # argparse drops a '--' value silently (then no type check runs)
            sys.stderr.write(f"markov-icl: error: {odd!r}: '--' is not an option value (e.g. --d 1)\n")
            return 2
        try:
            args = build_parser(argv).parse_args(argv)
        except SystemExit as exc:  # --help, --version (0) or a usage error (2, its line already printed)
            return exc.code if isinstance(exc.code, int) else 2
        if getattr(args, "func", None) is None:  # e.g. "markov-icl experiment" without a figure: its help
            with contextlib.suppress(SystemExit):
                build_parser(argv).parse_args([*argv[:1], "--help"])
            return 2
        status = int(args.func(args) or 0)
        sys.stdout.flush()
        return status
    except BrokenPipeError:  # the reader went away (markov-icl ... | head): stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Diverged as exc:
        sys.stderr.write(f"markov-icl: error: {exc}\n")
        return 1
    except MarkovICLError as exc:
        sys.stderr.write(f"markov-icl: error: {exc}\n")
        return 2
    except OSError as exc:  # e.g. the disk filled up while writing: one line, not a traceback
        sys.stderr.write(f"markov-icl: error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("markov-icl: interrupted\n")
        return 130


__all__ = ["main", "build_parser", "COMMANDS"]
