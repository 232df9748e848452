"""The ``markov-icl`` command.

Each job lives in its own module with a ``register(subparsers)`` function; this file
only wires them together and turns :class:`MarkovICLError` into one line on stderr and
exit status 2 (argparse usage errors also exit 2).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from symbolic.errors import MarkovICLError

#: subcommand -> module that registers it, in the order of ``markov-icl --help``
COMMANDS = {
    "objective": "derivations.objective",
    "derive": "derivations.derive_cmd",
    "verify": "derivations.verify_cmd",
    "realize": "derivations.realize_cmd",
    "experiment": "derivations.experiment_cmd",
}
COMMAND_MODULES = list(COMMANDS.values())


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2
        sys.stderr.write(f"markov-icl: error: {message}\n")
        raise SystemExit(2)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; when ``argv`` names a subcommand only its module is imported (fast start-up:
    e.g. ``derive`` does not pay for importing PyTorch)."""
    ap = _Parser(prog="markov-icl", description="Symbolic derivation engine for ICL under Markov prompts.")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)
    modules = [COMMANDS[argv[0]]] if argv and argv[0] in COMMANDS else COMMAND_MODULES
    for name in modules:
        if importlib.util.find_spec(name) is not None:  # modules of later issues may be absent
            importlib.import_module(name).register(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    args = build_parser(argv).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except MarkovICLError as exc:
        sys.stderr.write(f"markov-icl: error: {exc}\n")
        return 2
    except OSError as exc:  # e.g. the disk filled up while writing: one line, not a traceback
        sys.stderr.write(f"markov-icl: error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("markov-icl: interrupted\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
