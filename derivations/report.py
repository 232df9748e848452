"""Building the derivation documents and the report (what ``markov-icl derive`` does).

:func:`derive` writes NAME.tex / NAME.pdf for one derivation of
:data:`markov_icl.derivations.DERIVATIONS`, or for ``all`` every one of them in order and the
report (report.tex / report.pdf) holding all of them, a table of contents and the figures
of :mod:`markov_icl.derivations.figures`. Derived documents, figures and PDFs are cached on
disk (:mod:`markov_icl.io`); ``use_cache=False`` recomputes everything.
"""

from __future__ import annotations

import base64
import importlib
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from markov_icl import io
from markov_icl.derivations import DERIVATIONS
from markov_icl.derivations.document import Derivation
from markov_icl.errors import MarkovICLError
from markov_icl.io import check_out_dir

DEFAULT_OUT = "build/derivations"
REPORT_TITLE = "Optimality of one-layer linear self-attention on Markov prompts: derivations"
REPORT_INTRO = (
    "Every statement below is derived by markov-icl from the chain law: the moment identities used, the linear "
    "system, its solution and the checks that were run (with their outcome). Formulas are printed by sympy.latex; "
    "the Python reference functions by latexify-py."
)


#: largest n for the documents' evaluation point (their Monte Carlo checks hold n chains per prompt)
MAX_N = 1000


def _validate(p, n) -> tuple[str | None, str | None]:
    from markov_icl.symbolic.laws import parse_probability
    from markov_icl.symbolic.objective import parse_n

    ps = None if p is None else str(parse_probability(p))
    ns = None if n is None else parse_n(n)
    if ns is not None and ns.is_number and ns > MAX_N:
        raise MarkovICLError(f"--n must be <= {MAX_N} (the documents run Monte Carlo checks on prompts of n chains), "
                             f"got {ns}")
    return ps, None if ns is None else str(ns)


def _available(name: str, allow_all: bool) -> dict:
    """The registered derivations; MarkovICLError when ``name`` is not one of them (nor ``all`` when allowed)."""
    if name not in DERIVATIONS and not (allow_all and name == "all"):
        raise MarkovICLError(f"unknown derivation {name!r}; available: {', '.join(DERIVATIONS)} or all")
    return dict(DERIVATIONS)


def build_derivation(name: str, p: str | None = None, n: str | None = None, figure_dir=None) -> Derivation:
    """The derivation NAME at (p, n), from the disk cache when possible. Its figures are written into
    ``figure_dir/figures`` when given (``doc.figures`` then names them); without it ``doc.figures`` is empty.

    Raises:
        MarkovICLError: unknown name or bad p, n.

    Examples:
        >>> doc = build_derivation("lemma_3_1")
        >>> doc.title, doc.all_passed
        ('Lemma 3.1: H is positive definite', True)
    """
    avail = _available(name, allow_all=False)
    doc, blobs = _build_with_figures(name, avail[name], p, n)
    if figure_dir is None:
        return replace(doc, figures=[])
    placed = _place_figures(doc, blobs, Path(figure_dir))
    return replace(placed, figures=[Path(figure_dir) / f for f in placed.figures])


def _build_with_figures(name: str, module: str, p, n) -> tuple[Derivation, list[tuple[str, bytes]]]:
    """The derivation and the bytes of its own figures (cached together as JSON, so the images survive).

    The module draws its figures into a temporary folder that is removed afterwards; nothing is
    written under the cache folder unless the cache is on.
    """
    key = io.make_key("derivation", name=name, module=module, p=p, n=n)
    hit, entry = io.load(key, "json", decode=_decode_entry)
    if hit:
        return entry
    with tempfile.TemporaryDirectory(prefix="markov-icl-figures-") as tmp:
        doc = importlib.import_module(module).build(p=p, n=n, figure_dir=tmp)  # import the module only on a miss
        if not isinstance(doc, Derivation):
            raise MarkovICLError(f"{module}.build() returned {type(doc).__name__}, not a Derivation")
        blobs = []
        for f in doc.figures:
            path = Path(f)
            if not path.is_file():
                raise MarkovICLError(f"{module}: figure {path} not found")
            blobs.append((path.suffix, path.read_bytes()))
    io.store(key, {"derivation": doc.to_json(),
                   "figures": [[suffix, base64.b64encode(data).decode("ascii")] for suffix, data in blobs]})
    return doc, blobs


def _decode_entry(entry) -> tuple[Derivation, list[tuple[str, bytes]]]:
    """A cached derivation entry back to (document, figure bytes); TypeError or ValueError when it is not one."""
    if not isinstance(entry, dict) or set(entry) != {"derivation", "figures"} or not isinstance(entry["figures"], list):
        raise TypeError("not a derivation entry")
    blobs = []
    for fig in entry["figures"]:
        if not (isinstance(fig, list) and len(fig) == 2 and all(isinstance(x, str) for x in fig)) \
                or fig[0] not in (".png", ".pdf"):
            raise TypeError("a figure entry is not [suffix, base64 bytes]")
        blobs.append((fig[0], base64.b64decode(fig[1], validate=True)))
    doc = Derivation.from_json(entry["derivation"])
    if len(doc.figures) != len(blobs):
        raise ValueError("figure count mismatch")
    return doc, blobs


def _place_figures(doc: Derivation, blobs: list[tuple[str, bytes]], out: Path) -> Derivation:
    """A copy of ``doc`` whose figures are written to ``out/figures`` and referenced relatively."""
    if not blobs:
        return doc
    rel = []
    for k, (suffix, data) in enumerate(blobs, start=1):
        name = f"figures/{doc.name}-{k}{suffix}"
        io.atomic_write_bytes(out / name, data)
        rel.append(Path(name))
    return replace(doc, figures=rel)


#: measured seconds of building one document without the cache (``derive all --no-cache``: 38 s for ten documents,
#: 7 s for the report's figures and PDF; 2-core machine)
DOCUMENT_SECONDS, REPORT_SECONDS = 3.8, 7.0


@dataclass
class DeriveResult:
    """What :func:`derive` wrote.

    Attributes:
        documents: derivation name -> ``(tex, pdf)`` paths (pdf None without a LaTeX compiler).
        report: ``(tex, pdf)`` of the report (``derive("all")``), else None.
        failed_checks: ``"name: check"`` for every check that failed (empty when all passed).
    """

    documents: dict = field(default_factory=dict)
    report: tuple | None = None
    failed_checks: list = field(default_factory=list)

    @property
    def all_passed(self) -> bool:
        return not self.failed_checks

    def to_dict(self) -> dict:
        """JSON-ready: the paths as strings."""
        def paths(pair):
            return None if pair is None else [None if x is None else str(x) for x in pair]

        return {"documents": {k: paths(v) for k, v in self.documents.items()}, "report": paths(self.report),
                "failed_checks": list(self.failed_checks)}

    def _repr_markdown_(self) -> str:
        from markov_icl.display import markdown_table

        rows = [(name, tex.name, "" if pdf is None else pdf.name) for name, (tex, pdf) in self.documents.items()]
        verdict = "every check passed" if self.all_passed else f"**{len(self.failed_checks)} check(s) failed**"
        return f"**derive**: {len(rows)} documents, {verdict}\n\n" + markdown_table(("document", "tex", "pdf"), rows)


def derive(name: str, out: str | Path = DEFAULT_OUT, p=None, n=None, *, use_cache: bool = True,
           pdf: bool = True, log=print, progress: bool = False) -> DeriveResult:
    """Write NAME.tex (and .pdf), or for ``all`` every document and report.tex / report.pdf.

    Args:
        name: a derivation of :data:`~markov_icl.derivations.DERIVATIONS`, or ``all``.
        out: the output folder.
        p, n: the documents' evaluation point (each has a default).
        use_cache: read and write the disk cache (:mod:`markov_icl.io`).
        pdf: compile PDFs when a LaTeX compiler is installed.
        log: called with one line per document written.
        progress: report progress (:class:`~markov_icl.progress.Progress`: a start line with the estimate, a line
            at least every 30 s when stderr is not a terminal).

    Returns:
        A :class:`DeriveResult`.

    Examples:
        >>> import tempfile
        >>> res = derive("lemma_3_1", tempfile.mkdtemp(), pdf=False, log=lambda line: None)
        >>> res.documents["lemma_3_1"][0].name, res.failed_checks
        ('lemma_3_1.tex', [])
    """
    from markov_icl.derivations.render import latex_compiler, write_document

    ps, ns = _validate(p, n)
    avail = _available(name, allow_all=True)
    names = list(avail) if name == "all" else [name]
    out = check_out_dir(out)
    from markov_icl.progress import Progress

    want_pdf = pdf and latex_compiler() is not None
    result = DeriveResult()
    docs = []
    estimate = DOCUMENT_SECONDS * len(names) + (REPORT_SECONDS if name == "all" else 0.0)
    report = Progress("derive", len(names) + (name == "all"), unit="document", estimate=estimate, enabled=progress,
                      what=f"{len(names)} documents" + (" and the report" if name == "all" else "")
                           + " (less from the cache)")
    with io.disabled(not use_cache), report:
        for nm in names:
            t0 = time.perf_counter()
            doc, blobs = _build_with_figures(nm, avail[nm], ps, ns)
            doc = _place_figures(doc, blobs, out)
            docs.append(doc)
            tex, pdf_path = write_document([doc], out, nm, doc.title, pdf=want_pdf)
            result.documents[nm] = (tex, pdf_path)
            passed = sum(bool(c.passed) for c in doc.checks)
            result.failed_checks += [f"{nm}: {c.name}" for c in doc.checks if not bool(c.passed)]
            report.update()
            log(f"{nm:<14} {passed:>2}/{len(doc.checks):<2} checks passed  {tex}"
                + (f"  {pdf_path}" if pdf_path else "") + f"  ({time.perf_counter() - t0:.1f} s)")
        if name == "all":
            from sympy import Rational

            from markov_icl.derivations.figures import report_figures

            fp = float(Rational(ps)) if ps else 0.5
            fn = float(ns) if ns else 10.0
            figs = report_figures(out, fp, fn)
            result.report = write_document(docs, out, "report", REPORT_TITLE, report=True, figures=figs,
                                           intro=REPORT_INTRO, pdf=want_pdf)
            report.update()
    if not want_pdf and pdf:
        log("no LaTeX compiler (pdflatex) found: wrote .tex only")
    return result


__all__ = ["derive", "DeriveResult", "build_derivation", "DEFAULT_OUT", "MAX_N"]
