"""``markov-icl derive NAME|all``: write a derivation document (.tex, and .pdf with pdflatex).

``all`` renders every present derivation of :data:`derivations.registry.DERIVATIONS` in
order, each to NAME.tex / NAME.pdf, and the report (report.tex / report.pdf) holding all
of them, a table of contents and the figures of :mod:`derivations.figures`. Derived
documents, figures and PDFs are cached on disk (:mod:`derivations.cache`); ``--no-cache``
recomputes everything.
"""

from __future__ import annotations

import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

from derivations import cache
from derivations.cache import check_out_dir
from derivations.document import Derivation
from derivations.registry import DERIVATIONS, load, present
from symbolic.errors import MarkovICLError

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
    from symbolic.laws import InitLaw
    from symbolic.objective import parse_n

    ps = None if p is None else str(InitLaw.iid(p).p)
    ns = None if n is None else parse_n(n)
    if ns is not None and ns.is_number and ns > MAX_N:
        raise MarkovICLError(f"--n must be <= {MAX_N} (the documents run Monte Carlo checks on prompts of n chains), "
                             f"got {ns}")
    return ps, None if ns is None else str(ns)


def _available(name: str, allow_all: bool) -> dict:
    """The present derivations; MarkovICLError when ``name`` is not one of them (nor ``all`` when allowed)."""
    avail = present(DERIVATIONS)
    if name not in avail and not (allow_all and name == "all"):
        raise MarkovICLError(f"unknown derivation {name!r}; available: {', '.join(avail)} or all")
    return avail


def build_derivation(name: str, p: str | None = None, n: str | None = None) -> Derivation:
    """The derivation NAME at (p, n), from the disk cache when possible.

    Raises:
        MarkovICLError: unknown name or bad p, n.
    """
    avail = _available(name, allow_all=False)
    doc, _ = _build_with_figures(name, avail[name], p, n)
    return doc


def _build_with_figures(name: str, module: str, p, n) -> tuple[Derivation, list[tuple[str, bytes]]]:
    """The derivation and the bytes of its own figures (cached together, so the images survive)."""
    key = cache.make_key("derivation", name=name, module=module, p=p, n=n)
    hit, entry = cache.load(key)
    if hit:
        return entry
    doc = load(DERIVATIONS, name).build(p=p, n=n)  # import the module only on a miss
    if not isinstance(doc, Derivation):
        raise MarkovICLError(f"{module}.build() returned {type(doc).__name__}, not a Derivation")
    blobs = []
    for f in doc.figures:
        path = Path(f)
        if not path.is_file():
            raise MarkovICLError(f"{module}: figure {path} not found")
        blobs.append((path.suffix, path.read_bytes()))
    cache.store(key, (doc, blobs))
    return doc, blobs


def _place_figures(doc: Derivation, blobs: list[tuple[str, bytes]], out: Path) -> Derivation:
    """A copy of ``doc`` whose figures are written to ``out/figures`` and referenced relatively."""
    if not blobs:
        return doc
    rel = []
    for k, (suffix, data) in enumerate(blobs, start=1):
        name = f"figures/{doc.name}-{k}{suffix}"
        cache.atomic_write_bytes(out / name, data)
        rel.append(Path(name))
    return replace(doc, figures=rel)


def derive(name: str, out: str | Path = DEFAULT_OUT, p=None, n=None, use_cache: bool = True,
           pdf: bool = True, log=print) -> dict:
    """Write NAME.tex (and .pdf), or for ``all`` every document and report.tex / report.pdf.

    Returns:
        ``{"documents": {name: (tex, pdf)}, "report": (tex, pdf) or None, "failed_checks": [...]}``.
    """
    from derivations.render import latex_compiler, write_document

    ps, ns = _validate(p, n)
    avail = _available(name, allow_all=True)
    names = list(avail) if name == "all" else [name]
    out = check_out_dir(out)
    want_pdf = pdf and latex_compiler() is not None
    result: dict = {"documents": {}, "report": None, "failed_checks": []}
    docs = []
    with cache.disabled(not use_cache):
        for nm in names:
            t0 = time.perf_counter()
            doc, blobs = _build_with_figures(nm, avail[nm], ps, ns)
            doc = _place_figures(doc, blobs, out)
            docs.append(doc)
            tex, pdf_path = write_document([doc], out, nm, doc.title, pdf=want_pdf)
            result["documents"][nm] = (tex, pdf_path)
            passed = sum(bool(c.passed) for c in doc.checks)
            result["failed_checks"] += [f"{nm}: {c.name}" for c in doc.checks if not bool(c.passed)]
            log(f"{nm:<14} {passed:>2}/{len(doc.checks):<2} checks passed  {tex}"
                + (f"  {pdf_path}" if pdf_path else "") + f"  ({time.perf_counter() - t0:.1f} s)")
        if name == "all":
            from sympy import Rational

            from derivations.figures import report_figures

            fp = float(Rational(ps)) if ps else 0.5
            fn = float(ns) if ns else 10.0
            figs = report_figures(out, fp, fn)
            result["report"] = write_document(docs, out, "report", REPORT_TITLE, report=True, figures=figs,
                                              intro=REPORT_INTRO, pdf=want_pdf)
    if not want_pdf and pdf:
        log("no LaTeX compiler (pdflatex) found: wrote .tex only")
    return result


def register(sub) -> None:
    """Add the ``derive`` subcommand to the CLI."""
    names = ", ".join(present(DERIVATIONS))
    ap = sub.add_parser("derive", help="write a derivation document (.tex/.pdf); 'all' also writes the report",
                        description=f"Write NAME.tex (and NAME.pdf when pdflatex is installed). Available: {names}; "
                                    "'all' renders every one and report.tex/report.pdf with a table of contents and figures.")
    ap.add_argument("name", help=f"one of: {names}, or all")
    ap.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    ap.add_argument("--p", default=None, help="evaluation point p, exact (e.g. 1/3); each document has a default")
    ap.add_argument("--n", default=None, help="evaluation point n (integer >= 1)")
    ap.add_argument("--no-cache", action="store_true", help="recompute everything (ignore and do not write the cache)")
    ap.set_defaults(func=_run)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    sys.stderr.write(f"markov-icl: warning: {message}\n")


def _run(args) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("always", cache.CacheWarning)
        warnings.showwarning = _one_line_warning
        res = derive(args.name, args.out, args.p, args.n, use_cache=not args.no_cache)
    if res["report"] is not None:
        tex, pdf = res["report"]
        print(f"report: {(pdf or tex).resolve()}")
    if res["failed_checks"]:
        sys.stderr.write(f"markov-icl: {len(res['failed_checks'])} check(s) failed: {'; '.join(res['failed_checks'])}\n")
        return 1
    return 0


__all__ = ["register", "derive", "build_derivation", "DEFAULT_OUT"]
