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

#: modules that register a subcommand, in the order of ``markov-icl --help``
COMMAND_MODULES = [
    "derivations.objective",
    "derivations.derive_cmd",
    "derivations.verify_cmd",
    "derivations.realize_cmd",
    "derivations.experiment_cmd",
]


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2
        sys.stderr.write(f"markov-icl: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="markov-icl", description="Symbolic derivation engine for ICL under Markov prompts.")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMAND_MODULES:
        if importlib.util.find_spec(name) is not None:  # modules of later issues may be absent
            importlib.import_module(name).register(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except MarkovICLError as exc:
        sys.stderr.write(f"markov-icl: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("markov-icl: interrupted\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
