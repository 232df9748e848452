"""The data model of a derivation document (rendered by one shared template).

A derivation module (``derivations/theorem_3_3.py``, ...) exposes
``build(p=None, n=None, **options) -> Derivation``: the statement in the paper's
notation, the steps the engine actually performed, the results, and the checks that
were run with their outcome. Math is LaTeX produced by ``sympy.latex`` (never typed by
hand for derived quantities); prose is plain text (LaTeX-escaped by the renderer).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
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

    def __repr__(self) -> str:
        passed = sum(bool(c.passed) for c in self.checks)
        return f"Derivation({self.name!r}, {self.title!r}, {passed}/{len(self.checks)} checks passed)"

    def _repr_markdown_(self) -> str:
        """The document as Jupyter shows it: title, statement, results (display math) and the checks as a table.

        Examples:
            >>> doc = Derivation("x", "X", Block("Statement", "Some text.", ["a^2 + b^2"]), checks=[Check("c", True, "ok")])
            >>> print(doc._repr_markdown_())
            ### X
            <BLANKLINE>
            **Statement.** Some text.
            <BLANKLINE>
            $$a^2 + b^2$$
            <BLANKLINE>
            | check | passed | detail |
            |---|---|---|
            | c | ✓ | ok |
        """
        from markov_icl.display import markdown_table, shorten

        def block(b: Block) -> list[str]:
            out = [f"**{b.title}.** {b.text}".rstrip()] + [f"$${m}$$" for m in b.math]
            if b.table:
                out.append(markdown_table([f"${h}$" for h in b.table[0]], [[f"${c}$" for c in row] for row in b.table[1:]]))
            return out

        parts = [f"### {self.title}", *block(self.statement)]
        for b in self.results:
            parts += block(b)
        if self.notes:
            parts.append(f"*{self.notes}*")
        if self.checks:
            parts.append(markdown_table(("check", "passed", "detail"),
                                        [(c.name, "✓" if c.passed else "✗", shorten(c.detail, 120)) for c in self.checks]))
        return "\n\n".join(parts)

    def to_json(self) -> dict:
        """The document as JSON data (strings, booleans, lists): what the disk cache stores.

        Examples:
            >>> doc = Derivation("x", "X", Block("S", "text", ["a^2"]), checks=[Check("c", True)])
            >>> Derivation.from_json(doc.to_json()) == doc
            True
        """
        out = asdict(self)
        out["figures"] = [str(f) for f in self.figures]
        return out

    @classmethod
    def from_json(cls, data) -> "Derivation":
        """The document of :meth:`to_json`'s data, every field's type checked.

        Raises:
            TypeError: the data is not a derivation document (the cache treats it as a miss).
        """
        def strings(v, what, optional=False):
            if optional and v is None:
                return None
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise TypeError(f"{what}: expected a list of strings")
            return list(v)

        def text(v, what):
            if not isinstance(v, str):
                raise TypeError(f"{what}: expected a string")
            return v

        def block(v, what):
            if not isinstance(v, dict) or set(v) != {"title", "text", "math", "table", "code"}:
                raise TypeError(f"{what}: expected a block")
            table = v["table"]
            if table is not None:
                if not isinstance(table, list):
                    raise TypeError(f"{what}.table: expected rows")
                table = [strings(row, f"{what}.table") for row in table]
            return Block(text(v["title"], what), text(v["text"], what), strings(v["math"], what), table,
                         strings(v["code"], what))

        def blocks(v, what):
            if not isinstance(v, list):
                raise TypeError(f"{what}: expected a list of blocks")
            return [block(b, what) for b in v]

        def check(v):
            if not isinstance(v, dict) or set(v) != {"name", "passed", "detail"} or not isinstance(v["passed"], bool):
                raise TypeError("checks: expected a check")
            return Check(text(v["name"], "check"), v["passed"], text(v["detail"], "check"))

        keys = {"name", "title", "statement", "steps", "results", "checks", "figures", "notes"}
        if not isinstance(data, dict) or set(data) != keys or not isinstance(data["checks"], list):
            raise TypeError("not a derivation document")
        return cls(text(data["name"], "name"), text(data["title"], "title"), block(data["statement"], "statement"),
                   blocks(data["steps"], "steps"), blocks(data["results"], "results"),
                   [check(c) for c in data["checks"]], [Path(f) for f in strings(data["figures"], "figures")],
                   text(data["notes"], "notes"))
