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

import argparse
import math
import numbers


class MarkovICLError(ValueError):
    """Bad input to the engine: the message says what was wrong and what is allowed."""


class Diverged(MarkovICLError):
    """Training (or a float computation) produced a non-finite number: reported as diverged, never printed as a
    result. The command line prints one line and exits with status 1."""


def check_finite(value, what: str):
    """``value`` unchanged if every float in it (nested dicts, lists, tuples) is finite; else :class:`Diverged`.

    Examples:
        >>> check_finite({"loss": [0.5, 0.25], "note": None}, "fig4")
        {'loss': [0.5, 0.25], 'note': None}
        >>> check_finite({"loss": [0.5, float("nan")]}, "fig4")
        Traceback (most recent call last):
        ...
        markov_icl.errors.Diverged: fig4: loss is nan (training diverged; lower the learning rate or the initial scale)
    """
    def walk(v, where):
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, k if not where else where)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x, where)
        elif isinstance(v, numbers.Real) and not isinstance(v, numbers.Integral) and not math.isfinite(float(v)):
            raise Diverged(f"{what}: {where or 'a result'} is {float(v)} (training diverged; lower the learning rate "
                           "or the initial scale)")

    walk(value, "")
    return value


def shown(value, limit: int = 80, plain: bool = False) -> str:
    """``repr(value)`` (``str(value)`` when ``plain``), cut to ``limit`` characters (error lines stay short)."""
    text = str(value) if plain else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_int(name: str, value, lo: int = 1) -> int:
    """``int(value)`` if ``value`` is an integer (Python or NumPy, not a bool) ``>= lo``.

    Raises:
        MarkovICLError: for anything else, naming ``name`` and the allowed range.
    """
    if isinstance(value, (bool,)) or type(value).__name__ == "bool_" or not isinstance(value, numbers.Integral) \
            or value < lo:
        raise MarkovICLError(f"{name} must be an integer >= {lo}, got {shown(value)}")
    return int(value)


def check_positive_float(name: str, value) -> float:
    """``float(value)`` if ``value`` is a finite real number ``> 0``; else :class:`MarkovICLError`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (math.isfinite(value) and float(value) > 0):
        raise MarkovICLError(f"{name} must be a finite number > 0, got {shown(value)}")
    return float(value)


def check_real_vector(name: str, values, length: int | None = None) -> list:
    """``values`` (a list, tuple, NumPy array or tensor) as a list of real numbers: exact ones (ints, fractions,
    SymPy rationals) kept exact, the rest as finite floats.

    Raises:
        MarkovICLError: an entry that is not a real number (a string, a symbol, a complex number), NaN or
            infinite, or a length other than ``length``.

    Examples:
        >>> check_real_vector("X", [1, 0.5])
        [1, 0.5]
        >>> check_real_vector("X", [float("nan"), 1])
        Traceback (most recent call last):
        ...
        markov_icl.errors.MarkovICLError: X[1] is nan; every entry must be a finite real number
    """
    import fractions

    if hasattr(values, "detach"):
        values = values.detach().cpu().tolist()
    elif hasattr(values, "tolist") and not isinstance(values, (str, bytes)):
        values = values.tolist()
    if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__"):
        raise MarkovICLError(f"{name} must be a sequence of real numbers, got {shown(values)}")
    out = list(values)
    if length is not None and len(out) != length:
        raise MarkovICLError(f"{name} must have {length} entries, got {len(out)}")
    for k, v in enumerate(out, 1):
        if type(v).__module__.startswith("sympy"):
            import sympy as sp

            if not isinstance(v, sp.Basic) or not v.is_number or not v.is_real:
                raise MarkovICLError(f"{name}[{k}] = {shown(v, 40, plain=True)} is not a real number")
            if v.is_Rational:
                continue
            v = out[k - 1] = float(v)
        if isinstance(v, bool) or not isinstance(v, (numbers.Real, fractions.Fraction)):
            raise MarkovICLError(f"{name}[{k}] = {shown(v, 40)} is not a real number")
        if isinstance(v, float) and not math.isfinite(v):
            raise MarkovICLError(f"{name}[{k}] is {v}; every entry must be a finite real number")
    return out


#: longest integer an option takes, in characters (larger sizes are refused by the limits anyway)
MAX_INT_CHARS = 30


def check_device(value) -> str:
    """A torch device name: ``cpu``, ``cuda``, ``cuda:N`` or ``mps``, and available on this machine.

    Examples:
        >>> check_device("cpu")
        'cpu'
        >>> check_device("gpu")
        Traceback (most recent call last):
        ...
        markov_icl.errors.MarkovICLError: --device must be cpu, cuda, cuda:N or mps, got 'gpu'
    """
    import re

    text = value.strip().lower() if isinstance(value, str) else value
    if not isinstance(text, str) or not re.fullmatch(r"cpu|mps|cuda(:\d{1,3})?", text):
        raise MarkovICLError(f"--device must be cpu, cuda, cuda:N or mps, got {shown(value)}")
    if text == "cpu":
        return text
    import torch

    if text.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(text.partition(":")[2] or 0)
        if index >= count:
            raise MarkovICLError(f"--device {text}: this machine has {count} CUDA device(s) visible to torch"
                                 + (" (a CPU-only torch build, or no GPU)" if count == 0 else ""))
    elif not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise MarkovICLError("--device mps: Apple's Metal backend is not available on this machine")
    return text


def int_option(text: str) -> int:
    """The ``type`` of integer options: a short decimal integer (error lines quote at most 80 characters)."""
    s = text.strip()
    body = s[1:] if s[:1] in "+-" else s
    if not body.isdigit() or not body.isascii():
        raise argparse.ArgumentTypeError(f"expected an integer, got {shown(text)}")
    if len(body) > MAX_INT_CHARS:
        raise argparse.ArgumentTypeError(f"expected an integer of at most {MAX_INT_CHARS} digits, got {shown(text)} "
                                         f"({len(body)} digits)")
    return int(s)


def float_option(text: str) -> float:
    """The ``type`` of float options: a finite decimal number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {shown(text)}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {shown(text)}")
    return value



__all__ = ["MarkovICLError", "Diverged", "check_int", "check_positive_float", "check_finite", "shown", "int_option",
           "float_option", "check_real_vector"]
