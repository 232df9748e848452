"""Validation of the experiments' options: one line (``markov-icl: error: ...``) and exit 2.

Every figure checks its options with :func:`check_options` before any work starts, so the
rules (integers >= 1 or >= 0, finite positive floats, p an exact rational in (0, 1)) and
their messages are the same for every figure.
"""

from __future__ import annotations

from symbolic.errors import check_int, check_positive_float
from symbolic.laws import parse_probability


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def check_options(args, ints=(), nonneg_ints=(), positive=(), int_lists=(), p: bool = False) -> None:
    """Check ``args``' attributes: ``ints`` >= 1 (None skipped), ``nonneg_ints`` >= 0, ``positive``
    finite > 0, ``int_lists`` = {name: lower bound} for lists of integers, ``p`` an exact rational in (0, 1)."""
    for name in ints:
        if getattr(args, name) is not None:
            check_int(_flag(name), getattr(args, name), 1)
    for name in nonneg_ints:
        check_int(_flag(name), getattr(args, name), 0)
    for name in positive:
        check_positive_float(_flag(name), getattr(args, name))
    for name, lo in dict(int_lists).items():
        for v in getattr(args, name):
            check_int(_flag(name), v, lo)
    if p:
        parse_probability(args.p, "--p")
