"""``markov-icl derive NAME|all``: write derivation documents (:func:`markov_icl.derivations.report.derive`)."""

from __future__ import annotations

import sys
import warnings

from markov_icl import io
from markov_icl.derivations import DERIVATIONS
from markov_icl.derivations.report import DEFAULT_OUT, derive


def register(sub, argv=()) -> None:
    """Add the ``derive`` subcommand."""
    names = ", ".join(DERIVATIONS)
    ap = sub.add_parser("derive", help="write a derivation document (.tex/.pdf); 'all' also writes the report",
                        description=f"Write NAME.tex (and NAME.pdf when pdflatex is installed). Available: {names}; "
                                    "'all' renders every one and report.tex/report.pdf with a table of contents and "
                                    "figures.")
    ap.add_argument("name", help=f"one of: {names}, or all")
    ap.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    ap.add_argument("--p", default=None, help="evaluation point p, exact (e.g. 1/3); each document has a default")
    ap.add_argument("--n", default=None, help="evaluation point n (integer >= 1)")
    ap.add_argument("--no-cache", action="store_true", help="recompute everything (ignore and do not write the cache)")
    ap.set_defaults(func=run)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    sys.stderr.write(f"markov-icl: warning: {message}\n")


def run(args) -> int:
    """Write the documents; exit 1 when a check failed."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", io.CacheWarning)
        warnings.showwarning = _one_line_warning
        res = derive(args.name, args.out, args.p, args.n, use_cache=not args.no_cache, progress=True)
    if res.report is not None:
        tex, pdf = res.report
        print(f"report: {(pdf or tex).resolve()}")
    if res.failed_checks:
        sys.stderr.write(f"markov-icl: {len(res.failed_checks)} check(s) failed: {'; '.join(res.failed_checks)}\n")
        return 1
    return 0


__all__ = ["register", "run"]
