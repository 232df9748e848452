"""`markov-icl derive`: the LaTeX compile (fails on a LaTeX error), the report, the cache, bad input.

Oracles: pdflatex itself (a PDF is produced, or the command fails), stub derivation modules
whose content the test fixes, and the published values in the rendered LaTeX.
"""

import importlib
import os
import shutil
import textwrap

import pytest

from markov_icl.cli import main
from markov_icl.derivations import DERIVATIONS, report

HAS_LATEX = shutil.which("pdflatex") is not None
if os.environ.get("MARKOV_ICL_REQUIRE_LATEX") and not HAS_LATEX:  # set by .ci/run, which installs LaTeX
    raise RuntimeError("MARKOV_ICL_REQUIRE_LATEX is set but pdflatex is not on PATH")
needs_latex = pytest.mark.skipif(not HAS_LATEX, reason="no pdflatex installed (CI installs one)")

STUB = '''
from markov_icl.derivations.document import Block, Check, Derivation

def build(p=None, n=None, **kw):
    figures = []
    if {fig!r}:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig = plt.figure(figsize=(2, 2))
        plt.plot([0, 1], [0, 1])
        fig.savefig({fig!r})
        plt.close(fig)
        figures = [{fig!r}]
    return Derivation("{name}", "Stub {name}", Block("Statement", "p = " + str(p) + ", 50% of x_1 & y", [{math!r}]),
                      checks=[Check("stub check", {passed}, "detail")], figures=figures)
'''


@pytest.fixture
def stubs(tmp_path, monkeypatch):
    """Register stub derivation modules (written to a temporary folder on sys.path)."""
    folder = tmp_path / "stubs"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    table = {}

    def add(name, math="x^2", passed=True, fig=""):
        (folder / f"stubmod_{name}.py").write_text(textwrap.dedent(STUB.format(name=name, math=math, passed=passed,
                                                                               fig=fig)))
        table[name] = f"stubmod_{name}"
        monkeypatch.setattr(report, "DERIVATIONS", dict(table))
        return f"stubmod_{name}"

    return add


@needs_latex
def test_pdflatex_compiles_a_generated_document(tmp_path, capsys):
    assert main(["derive", "theorem_3_3", "--out", str(tmp_path)]) == 0
    tex = (tmp_path / "theorem_3_3.tex").read_text()
    assert r"\section{Theorem 3.3" in tex and r"\hat{y}" in tex  # latexify-rendered reference function
    pdf = tmp_path / "theorem_3_3.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert "theorem_3_3.pdf" in capsys.readouterr().out

INTERNAL = "SP" + "EC"  # the internal contract's name, spelled so that a search for it finds nothing


def test_the_real_report(tmp_path, capsys):
    """`derive all` over the real registry: report.tex holds every document and cites no internal file;
    with pdflatex every document and the report compile."""
    assert main(["derive", "all", "--out", str(tmp_path)]) == 0
    tex = (tmp_path / "report.tex").read_text()
    assert INTERNAL not in tex and r"\~{}" not in tex
    assert r"\tilde f^*" in tex
    for name in DERIVATIONS:
        assert f"sec:{name}" in tex
        if HAS_LATEX:
            assert (tmp_path / f"{name}.pdf").read_bytes()[:5] == b"%PDF-", name
    if HAS_LATEX:
        assert (tmp_path / "report.pdf").read_bytes()[:5] == b"%PDF-"
    assert "report: " in capsys.readouterr().out


@needs_latex
def test_latex_error_fails_the_command(tmp_path, stubs, capsys):
    stubs("broken_doc", math=r"\frac{1}{")
    rc = main(["derive", "broken_doc", "--out", str(tmp_path), "--no-cache"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and "LaTeX failed" in err and "broken_doc.log" in err
    assert (tmp_path / "broken_doc.log").exists() and not (tmp_path / "broken_doc.pdf").exists()


def test_derive_all_picks_up_the_registry_and_writes_the_report(tmp_path, stubs, capsys, monkeypatch):
    stubs("alpha_doc")
    own_fig = tmp_path / "scratch" / "own figure.png"
    own_fig.parent.mkdir()
    mod = stubs("beta_doc", math=r"\int_0^1 a\,da = \tfrac12", fig=str(own_fig))
    assert main(["derive", "all", "--out", str(tmp_path), "--p", "1/3"]) == 0
    out = capsys.readouterr().out
    text = (tmp_path / "report.tex").read_text()
    assert r"\tableofcontents" in text
    assert text.index(r"Stub alpha\_doc") < text.index(r"Stub beta\_doc")
    assert "p = 1/3, 50\\% of x\\_1 \\& y" in text
    for f in ["x_star_vs_p", "f_star_vs_n", "loss_along_d1", "loss_along_d2"]:
        assert f"figures/{f}.pdf" in text and (tmp_path / "figures" / f"{f}.pdf").stat().st_size > 1000
    for nm in ("alpha_doc", "beta_doc"):
        assert (tmp_path / f"{nm}.tex").exists()
    if HAS_LATEX:
        assert (tmp_path / "report.pdf").read_bytes()[:5] == b"%PDF-"
        assert f"report: {(tmp_path / 'report.pdf').resolve()}" in out
    # second run: served by the cache (the module would now fail if it were rebuilt)
    m = importlib.import_module(mod)

    def fail(**kw):
        raise AssertionError("rebuilt despite the cache")

    monkeypatch.setattr(m, "build", lambda p=None, n=None, **kw: fail())
    own_fig.unlink()  # the document's own figure comes back from the cache
    (tmp_path / "figures" / "beta_doc-1.png").unlink()
    assert main(["derive", "all", "--out", str(tmp_path), "--p", "1/3"]) == 0
    assert "figures/beta_doc-1.png" in (tmp_path / "report.tex").read_text()
    assert (tmp_path / "figures" / "beta_doc-1.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(AssertionError, match="rebuilt"):
        main(["derive", "all", "--out", str(tmp_path), "--p", "1/3", "--no-cache"])


def test_failed_check_gives_exit_1(tmp_path, stubs, capsys, monkeypatch):
    monkeypatch.setenv("MARKOV_ICL_PDFLATEX", "")  # no compiler: .tex only
    stubs("failing_doc", passed=False)
    assert main(["derive", "failing_doc", "--out", str(tmp_path)]) == 1
    assert "stub check" in capsys.readouterr().err
    assert (tmp_path / "failing_doc.tex").exists() and not (tmp_path / "failing_doc.pdf").exists()


@pytest.mark.parametrize("args, message", [
    (["derive", "theorem_3_3", "--p", "3/2"], "p must lie in the open interval (0, 1)"),
    (["derive", "theorem_3_3", "--n", "0"], "n must be an integer >= 1"),
    (["derive", "theorem_3_3", "--p", "0.5x"], "not an exact rational"),
    (["derive", "no_such_result"], "unknown derivation 'no_such_result'"),
])
def test_bad_input_one_line_exit_2(args, message, capsys, tmp_path):
    assert main([*args, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("markov-icl: error: ") and message in err and err.count("\n") == 1


def test_no_cache_writes_nothing_under_the_cache_folder(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("MARKOV_ICL_CACHE", str(cache))
    assert main(["derive", "realizability", "--out", str(tmp_path / "o"), "--no-cache"]) == 0
    assert not cache.exists()  # the region figure used to be drawn into the cache folder
    assert (tmp_path / "o" / "figures" / "realizability-1.png").read_bytes()[:4] == b"\x89PNG"
    assert not list((tmp_path / "o").glob(".latex-*"))  # LaTeX runs in the system's temporary folder


def test_a_cache_folder_that_cannot_be_written_costs_a_warning_not_the_run(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("a file, so no folder can be made below it (read-only even for root)")
    monkeypatch.setenv("MARKOV_ICL_CACHE", str(blocker / "cache"))
    assert main(["derive", "realizability", "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert "markov-icl: warning: cannot write cache entry" in err and "Traceback" not in err
    assert (tmp_path / "o" / "realizability.tex").exists()


def test_a_cached_document_of_the_wrong_shape_is_one_warning_then_rebuilt(tmp_path, monkeypatch, capsys):
    from markov_icl import io

    monkeypatch.setenv("MARKOV_ICL_CACHE", str(tmp_path / "cache"))
    assert main(["derive", "theorem_3_4", "--out", str(tmp_path / "a")]) == 0
    (entry,) = (tmp_path / "cache").glob("derivation-*.json")
    key = entry.name[: -len(".json")]
    io.store(key, {"derivation": {"name": 1}, "figures": []})  # valid JSON, checksum fine, wrong shape
    capsys.readouterr()
    assert main(["derive", "theorem_3_4", "--out", str(tmp_path / "b")]) == 0
    err = capsys.readouterr().err
    assert err.count("holds a value of the wrong type") == 1
    assert (tmp_path / "a" / "theorem_3_4.tex").read_text() == (tmp_path / "b" / "theorem_3_4.tex").read_text()
