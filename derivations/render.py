"""The shared renderer: :class:`~markov_icl.derivations.document.Derivation` -> LaTeX -> PDF.

One Jinja2 template (``templates/document.tex.j2``) with LaTeX-safe delimiters
(``((* *))`` blocks, ``((( )))`` variables, ``((= =))`` comments) renders a single
derivation or the whole report (table of contents, figures). Math strings are inserted
as given (they come from ``sympy.latex`` and latexify-py); prose is escaped by
:func:`tex_escape`, which keeps ``$...$`` segments as inline math.

:func:`compile_pdf` runs ``pdflatex`` (twice for the report's table of contents) in a
temporary folder and moves the PDF into place atomically; a LaTeX error raises
:class:`MarkovICLError` with the first error line and the path of the log.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jinja2

from markov_icl import io
from markov_icl.derivations.document import Derivation
from markov_icl.errors import MarkovICLError

TEMPLATE = "document.tex.j2"

_ESCAPES = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "#": r"\#", "%": r"\%",
    "_": r"\_", "$": r"\$", "^": r"\^{}", "~": r"\ensuremath{\sim}", "<": r"\textless{}", ">": r"\textgreater{}",
    "|": r"\textbar{}",
}
_UNICODE = {
    "≤": r"\ensuremath{\le}", "≥": r"\ensuremath{\ge}", "≠": r"\ensuremath{\ne}", "→": r"\ensuremath{\to}",
    "←": r"\ensuremath{\leftarrow}", "×": r"\ensuremath{\times}", "·": r"\ensuremath{\cdot}", "−": "-",
    "∈": r"\ensuremath{\in}", "∞": r"\ensuremath{\infty}", "≈": r"\ensuremath{\approx}", "±": r"\ensuremath{\pm}",
    "∑": r"\ensuremath{\sum}", "√": r"\ensuremath{\surd}", "α": r"\ensuremath{\alpha}", "β": r"\ensuremath{\beta}",
    "μ": r"\ensuremath{\mu}", "π": r"\ensuremath{\pi}", "θ": r"\ensuremath{\theta}", "λ": r"\ensuremath{\lambda}",
    "σ": r"\ensuremath{\sigma}", "δ": r"\ensuremath{\delta}", "ε": r"\ensuremath{\varepsilon}", "—": "---", "–": "--",
    "‘": "`", "’": "'", "“": "``", "”": "''", "…": r"\dots{}", "⊗": r"\ensuremath{\otimes}", "∼": r"\ensuremath{\sim}",
    "∀": r"\ensuremath{\forall}",
}


#: prose spellings of the enlarged-space loss, set as math (never as a literal tilde)
_WORDS = (("f~*", r"\ensuremath{\tilde f^*}"), ("f~", r"\ensuremath{\tilde f}"))


def _escape_plain(text: str) -> str:
    out = []
    i = 0
    while i < len(text):
        word = next(((w, tex) for w, tex in _WORDS if text.startswith(w, i) and (i == 0 or not text[i - 1].isalnum())),
                    None)
        if word is not None:
            out.append(word[1])
            i += len(word[0])
            continue
        ch = text[i]
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch in _UNICODE:
            out.append(_UNICODE[ch])
        elif ord(ch) > 0xFF:
            out.append(rf"\texttt{{U+{ord(ch):04X}}}")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def tex_escape(text: str | None) -> str:
    r"""Escape prose for LaTeX; balanced ``$...$`` segments are kept as inline math.

    Blank lines separate paragraphs. ``f~*`` and ``f~`` (the enlarged-space loss) are set as
    ``\tilde f^*`` and ``\tilde f``; another ``~`` is ``\sim``. Characters outside Latin-1 that
    LaTeX cannot set are mapped to math symbols or spelled ``U+XXXX``.

    Examples:
        >>> print(tex_escape("f~* = 35/96 at 50% of $n$"))
        \ensuremath{\tilde f^*} = 35/96 at 50\% of $n$
    """
    if not text:
        return ""
    parts = re.split(r"(?<!\\)\$", str(text))
    if len(parts) % 2 == 0:  # unbalanced: everything is prose
        return _escape_plain(str(text).replace("\\$", "$"))
    out = []
    for k, part in enumerate(parts):
        out.append(f"${part}$" if k % 2 else _escape_plain(part.replace("\\$", "$")))
    return "".join(out)


@dataclass
class Figure:
    """A report figure: the image path (relative to the output folder) and its caption."""

    path: str
    caption: str


def environment() -> jinja2.Environment:
    """The Jinja2 environment with LaTeX-safe delimiters and the ``tex`` filter."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("markov_icl.derivations", "templates"),
        block_start_string="((*", block_end_string="*))",
        variable_start_string="(((", variable_end_string=")))",
        comment_start_string="((=", comment_end_string="=))",
        trim_blocks=True, lstrip_blocks=True, autoescape=False, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["tex"] = tex_escape
    return env


def render_tex(derivations: list[Derivation], title: str, report: bool = False,
               figures: list[Figure] | None = None, intro: str = "") -> str:
    """LaTeX source of one derivation (``report=False``) or of the report of several."""
    if not derivations:
        raise MarkovICLError("nothing to render: no derivation given")
    tpl = environment().get_template(TEMPLATE)
    return tpl.render(derivations=derivations, title=title, report=report, figures=figures or [],
                      intro=intro, version=io.package_version())


def latex_compiler() -> str | None:
    """Path of ``pdflatex`` (``$MARKOV_ICL_PDFLATEX`` overrides), or None when absent."""
    env = os.environ.get("MARKOV_ICL_PDFLATEX")
    if env is not None:
        return shutil.which(env) if env else None
    return shutil.which("pdflatex")


def _first_error(log: str) -> str:
    for line in log.splitlines():
        if line.startswith("!"):
            return line[1:].strip()
        m = re.match(r"^\S*\.tex:(\d+): (.*)$", line)
        if m:
            return f"line {m.group(1)}: {m.group(2).strip()}"
    return "pdflatex exited with an error"


def _inputs_digest(tex: str, workdir: Path) -> str:
    h = hashlib.sha256(tex.encode())
    for name in sorted(set(re.findall(r"\\includegraphics(?:\[[^\]]*\])?\{([^}]*)\}", tex))):
        f = workdir / name
        h.update(name.encode())
        h.update(f.read_bytes() if f.is_file() else b"missing")
    return h.hexdigest()


def compile_pdf(tex_path: Path, runs: int = 1, use_cache: bool = True) -> Path | None:
    """Compile ``tex_path`` with pdflatex into ``<same folder>/<stem>.pdf`` (atomic rename).

    The PDF is cached on disk keyed by the SHA-256 of the source and of the included
    images, so an unchanged document is not compiled twice.

    Returns:
        The PDF path, or None when no LaTeX compiler is installed.

    Raises:
        MarkovICLError: on a LaTeX error, with the first error line and the log's path.
    """
    tex_path = Path(tex_path).resolve()
    exe = latex_compiler()
    if exe is None:
        return None
    workdir = tex_path.parent
    pdf_path = workdir / f"{tex_path.stem}.pdf"
    tex = tex_path.read_text(encoding="utf-8")
    key = io.make_key("pdf", digest=_inputs_digest(tex, workdir), runs=runs)
    if use_cache:
        hit, data = io.load(key, "bytes")
        if hit:
            io.atomic_write_bytes(pdf_path, data)
            return pdf_path
    with tempfile.TemporaryDirectory(prefix="markov-icl-latex-") as tmp:  # system temp: a killed run leaves no folder in OUT
        for _ in range(runs):
            proc = subprocess.run(
                [exe, "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
                 f"-output-directory={tmp}", tex_path.name],
                cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                errors="replace", timeout=300,
            )
            log_tmp = Path(tmp) / f"{tex_path.stem}.log"
            log = log_tmp.read_text(errors="replace") if log_tmp.exists() else proc.stdout
            log_path = workdir / f"{tex_path.stem}.log"
            io.atomic_write_text(log_path, log)
            if proc.returncode != 0 or not (Path(tmp) / f"{tex_path.stem}.pdf").exists():
                raise MarkovICLError(f"LaTeX failed on {tex_path}: {_first_error(log)} (log: {log_path})")
        data = (Path(tmp) / f"{tex_path.stem}.pdf").read_bytes()
    io.atomic_write_bytes(pdf_path, data)
    if use_cache:
        io.store(key, data, "bytes")
    return pdf_path


def write_document(derivations: list[Derivation], out: Path, stem: str, title: str, report: bool = False,
                   figures: list[Figure] | None = None, intro: str = "", pdf: bool = True) -> tuple[Path, Path | None]:
    """Render to ``out/stem.tex`` (atomic) and compile it; returns ``(tex_path, pdf_path or None)``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tex_path = out / f"{stem}.tex"
    io.atomic_write_text(tex_path, render_tex(derivations, title, report, figures, intro))
    pdf_path = compile_pdf(tex_path, runs=2 if report else 1, use_cache=io.is_enabled()) if pdf else None
    return tex_path, (None if pdf_path is None else tex_path.with_suffix(".pdf"))


__all__ = ["tex_escape", "Figure", "environment", "render_tex", "latex_compiler", "compile_pdf", "write_document"]
