"""The one error type of markov-icl, and the shared checks of plain numbers.

Every user mistake (a malformed rational, a probability outside (0, 1), an unknown
kernel spec, ...) raises :class:`MarkovICLError` with a message that says what was
wrong and what is allowed. The command line prints it on one line and exits with
status 2.

Examples:
    >>> check_int("d", 3)
    3
    >>> import numpy as np
    >>> check_int("n", np.int64(10))
    10
    >>> check_int("d", 0)
    Traceback (most recent call last):
    ...
    markov_icl.errors.MarkovICLError: d must be an integer >= 1, got 0
"""

from __future__ import annotations

import math
import numbers


class MarkovICLError(ValueError):
    """Bad input to the engine: the message says what was wrong and what is allowed."""


def _shown(value, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters (error lines stay short)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_int(name: str, value, lo: int = 1) -> int:
    """``int(value)`` if ``value`` is an integer (Python or NumPy, not a bool) ``>= lo``.

    Raises:
        MarkovICLError: for anything else, naming ``name`` and the allowed range.
    """
    if isinstance(value, (bool,)) or type(value).__name__ == "bool_" or not isinstance(value, numbers.Integral) \
            or value < lo:
        raise MarkovICLError(f"{name} must be an integer >= {lo}, got {_shown(value)}")
    return int(value)


def check_positive_float(name: str, value) -> float:
    """``float(value)`` if ``value`` is a finite real number ``> 0``; else :class:`MarkovICLError`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (math.isfinite(value) and value > 0):
        raise MarkovICLError(f"{name} must be a finite number > 0, got {_shown(value)}")
    return float(value)


__all__ = ["MarkovICLError", "check_int", "check_positive_float"]
