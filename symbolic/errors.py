"""The one error type of markov-icl.

Every user mistake (a malformed rational, a probability outside (0, 1), an unknown
kernel spec, ...) raises :class:`MarkovICLError` with a message that says what was
wrong and what is allowed. The CLI prints it on one line and exits with status 2.
"""


class MarkovICLError(ValueError):
    """Bad input to the engine: the message says what was wrong and what is allowed."""


def check_int(name: str, value, lo: int = 1) -> int:
    """``value`` if it is an integer (not a bool) ``>= lo``; else :class:`MarkovICLError`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise MarkovICLError(f"{name} must be an integer >= {lo}, got {value!r}")
    return value


def check_positive_float(name: str, value) -> float:
    """``value`` if it is a finite real number ``> 0``; else :class:`MarkovICLError`."""
    import math

    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise MarkovICLError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)
