"""How results show in a Jupyter notebook: the helpers behind their ``_repr_latex_`` / ``_repr_markdown_``.

Jupyter displays an object by the richest of its ``_repr_*_`` methods (the protocol SymPy's
matrices follow): :class:`~markov_icl.symbolic.solve.Solution` renders as LaTeX (``f~*`` and
``X*`` as exact fractions), the other results (the realisability verdict, ``f*``, a
parameterization's optimum, the positive-definiteness certificate, a derivation, a training
run) as Markdown with LaTeX inside. Exact values are printed by ``sympy.latex``; a value whose
LaTeX would be longer than :data:`MAX_LATEX` characters (a symbolic ``X*`` at ``d = 3`` has
degree 48) is summarised instead, and long vectors show their first and last entries.

Examples:
    >>> tex_of("35/96"), tex_of(None)
    ('\\\\frac{35}{96}', '\\\\text{--}')
    >>> latex_vector(["1/6", "1/2", "1/2"])
    '\\\\left(\\\\frac{1}{6},\\\\ \\\\frac{1}{2},\\\\ \\\\frac{1}{2}\\\\right)^{\\\\top}'
    >>> print(markdown_table(("a", "b"), [(1, "x|y")]))
    | a | b |
    |---|---|
    | 1 | x\\|y |
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

#: exact values whose LaTeX is longer than this are summarised (degrees, not the whole rational function)
MAX_LATEX = 600

#: vectors longer than this show their first and last entries
MAX_ENTRIES = 12


def tex_of(value: Any) -> str:
    """``value`` as LaTeX: SymPy's printer for numbers, expressions and exact strings (``"35/96"``), a dash for None,
    a ``\\text{...}`` summary when longer than :data:`MAX_LATEX` characters."""
    import sympy as sp

    if value is None:
        return r"\text{--}"
    if isinstance(value, str):
        try:
            value = sp.Rational(value)
        except (TypeError, ValueError):
            try:
                value = sp.sympify(value, rational=True)
            except (sp.SympifyError, TypeError, ValueError, SyntaxError):
                return r"\text{" + latex_escape(value) + "}"
    if isinstance(value, float):
        return f"{value:.10g}"
    try:
        text = sp.latex(value)
    except Exception:  # noqa: BLE001 - display must never fail: fall back to the plain text
        return r"\text{" + latex_escape(str(value)) + "}"
    if len(text) > MAX_LATEX:
        free = sorted(str(s) for s in getattr(value, "free_symbols", ()))
        if not free:
            return rf"{float(value):.10g}\ldots\ \text{{(exact: {len(str(value))} characters)}}"
        return r"\text{a rational function of " + ", ".join(free) + f" ({len(str(value))} characters)" + "}"
    return text


def latex_vector(values: Sequence[Any], limit: int = MAX_ENTRIES) -> str:
    """``(v_1, ..., v_k)^T`` in LaTeX; beyond ``limit`` entries the first and last few with ``\\ldots`` between."""
    vals = list(values)
    if len(vals) > limit:
        head, tail = vals[: limit - 3], vals[-2:]
        parts = [tex_of(v) for v in head] + [r"\ldots"] + [tex_of(v) for v in tail]
    else:
        parts = [tex_of(v) for v in vals]
    return r"\left(" + r",\ ".join(parts) + r"\right)^{\top}"


def latex_escape(text: str) -> str:
    """Plain text made safe inside ``\\text{...}``."""
    out = str(text)
    for a, b in (("\\", r"\backslash "), ("{", r"\{"), ("}", r"\}"), ("_", r"\_"), ("^", r"\^{}"), ("#", r"\#"),
                 ("%", r"\%"), ("&", r"\&"), ("$", r"\$"), ("~", r"\sim ")):
        out = out.replace(a, b)
    return out


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table (``|`` in cells escaped)."""
    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def shorten(text: str, limit: int = 160) -> str:
    """``text`` cut to ``limit`` characters (an ellipsis marks the cut)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def float_vector(values: Iterable[Any], digits: int = 6, limit: int = MAX_ENTRIES) -> str:
    """Floats as ``(x_1, ..., x_k)`` with ``digits`` significant digits (long vectors shortened)."""
    vals = [f"{float(v):.{digits}g}" for v in values]
    if len(vals) > limit:
        vals = vals[: limit - 3] + ["..."] + vals[-2:]
    return "(" + ", ".join(vals) + ")"


__all__ = ["tex_of", "latex_vector", "latex_escape", "markdown_table", "shorten", "float_vector", "MAX_LATEX",
           "MAX_ENTRIES"]
