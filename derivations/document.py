"""The data model of a derivation document (rendered by one shared template).

A derivation module (``derivations/theorem_3_3.py``, ...) exposes
``build(p=None, n=None, **options) -> Derivation``: the statement in the paper's
notation, the steps the engine actually performed, the results, and the checks that
were run with their outcome. Math is LaTeX produced by ``sympy.latex`` (never typed by
hand for derived quantities); prose is plain text (LaTeX-escaped by the renderer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Block:
    """A titled piece of a derivation: prose, then display equations, then an optional table.

    Attributes:
        title: short heading.
        text: prose (plain text; escaped by the renderer). May be empty.
        math: display equations as LaTeX strings (no surrounding $ or \\[ \\]).
        table: optional rows (first row is the header) of LaTeX cell strings.
        code: optional LaTeX (e.g. from latexify) shown verbatim as math.
    """

    title: str
    text: str = ""
    math: list[str] = field(default_factory=list)
    table: list[list[str]] | None = None
    code: list[str] = field(default_factory=list)


@dataclass
class Check:
    """A check run while deriving: what was compared with what, and the outcome."""

    name: str
    passed: bool
    detail: str = ""


@dataclass
class Derivation:
    """One result of the paper, derived by the engine."""

    name: str  # module / file name, e.g. "theorem_3_3"
    title: str  # e.g. "Theorem 3.3: the enlarged-space optimum for d = 1"
    statement: Block
    steps: list[Block] = field(default_factory=list)
    results: list[Block] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)  # image files to include
    notes: str = ""  # anything the reader must know (e.g. where the paper is wrong)

    @property
    def all_passed(self) -> bool:
        return all(c.passed for c in self.checks)
