"""Type aliases of the public API: what an exact number, a point parameter and an enlarged-space vector may be.

``p`` and ``n`` of :func:`~markov_icl.symbolic.solve.solve` (and of every call that takes the point ``d, p, n``)
are :data:`Exact` values or None (symbolic); ``X`` of :func:`~markov_icl.symbolic.realizability.realize` is a
sequence of exact values (an exact decision) or floats (a decision with a tolerance).

Examples:
    >>> from fractions import Fraction
    >>> import markov_icl as mi
    >>> p: Exact = Fraction(1, 2)
    >>> mi.solve(1, p, 5).f_tilde_star
    35/96
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, TypeAlias, Union

if TYPE_CHECKING:
    import numpy as np
    import sympy as sp

#: an exact rational as the API accepts it: an int, a string (``"1/2"``, ``"0.25"``), a ``Fraction``, a SymPy
#: rational or a NumPy integer (never a float: ``0.1`` is not ``1/10``)
Exact: TypeAlias = Union[int, str, Fraction, "sp.Rational", "np.integer"]

#: a point parameter (p, n, a moment): exact, a SymPy expression (symbolic), or None for "keep it symbolic"
Parameter: TypeAlias = Union[Exact, "sp.Expr", None]

#: an enlarged-space vector ``X`` (length ``d m``): exact entries, or floats
Vector: TypeAlias = Sequence[Union[Exact, float, "sp.Expr"]]

__all__ = ["Exact", "Parameter", "Vector"]
