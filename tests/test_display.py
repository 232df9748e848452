"""Notebook display of results (markov_icl.display and the ``_repr_*_`` methods).

Oracles: theory §5's closed form of X* and f~* at d = 1 (markov_icl.oracles, independent of the
engine) printed by SymPy's own LaTeX printer, pdflatex (the Solution's LaTeX must compile), the
published one-gradient-step optimum eta* = 5/3, f_gd* = 13/36 at p = 1/2, n = 10 (docs/python.md),
and plain bounds on the length of the short reprs.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import sympy as sp

import markov_icl as mi
from markov_icl.oracles import closed_form_d1

HAS_LATEX = shutil.which("pdflatex") is not None
if os.environ.get("MARKOV_ICL_REQUIRE_LATEX") and not HAS_LATEX:  # set by .ci/run, which installs LaTeX
    raise RuntimeError("MARKOV_ICL_REQUIRE_LATEX is set but pdflatex is not on PATH")


@pytest.mark.parametrize("p,n", [("1/2", 10), ("1/3", 5)])
def test_a_solution_renders_its_exact_optimum_as_latex(p, n):
    s = mi.solve(1, p, n)
    tex = s._repr_latex_()
    assert tex.startswith("$\\displaystyle") and tex.endswith("$")
    _, _, _, X, f = closed_form_d1(sp.Rational(p), n)  # the oracle's exact values, printed by SymPy
    assert sp.latex(sp.Rational(f)) in tex
    assert r",\ ".join(sp.latex(sp.Rational(x)) for x in X) in tex
    assert f"n = {n}" in tex and sp.latex(sp.Rational(p)) in tex


@pytest.mark.skipif(not HAS_LATEX, reason="no pdflatex installed (CI installs one)")
def test_the_latex_of_solutions_compiles(tmp_path):
    """What Jupyter hands to MathJax is valid LaTeX: pdflatex compiles every case (numeric, symbolic in (p, n),
    large d summarised, not derived)."""
    cases = [mi.solve(1, "1/2", 5), mi.solve(1), mi.solve(2, "1/2"), mi.solve(8, "1/2", 10), mi.solve(5)]
    body = "\n\n".join(s._repr_latex_() for s in cases)
    doc = "\\documentclass{article}\\usepackage{amsmath,amssymb}\\begin{document}\n" + body + "\n\\end{document}\n"
    (tmp_path / "repr.tex").write_text(doc)
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "repr.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert (tmp_path / "repr.pdf").stat().st_size > 1000


def test_long_exact_values_are_summarised():
    tex = mi.solve(8, "1/2", 10)._repr_latex_()
    assert len(tex) < 3000 and r"\ldots" in tex and "characters" in tex
    assert "not derived" in mi.solve(5)._repr_latex_()


def test_the_other_results_render_as_markdown():
    s10, s5 = mi.solve(1, "1/2", 10), mi.solve(1, "1/2", 5)
    assert mi.realize(s10.X_star, d=1)._repr_markdown_().startswith("**realisable**")
    assert mi.realize(s5.X_star, d=1)._repr_markdown_().startswith("**not realisable**")
    gd = mi.optimum(1, "1/2", 10, param="gd")._repr_markdown_()
    assert r"\frac{5}{3}" in gd and r"\frac{13}{36}" in gd and "(holds)" in gd  # the published eta*, f_gd*
    fs = mi.best_one_layer(s5)._repr_markdown_()
    assert f"{mi.best_one_layer(s5).f_star:.12g}" in fs and "exact" in fs
    ro = mi.realize_optimum(1, "1/2", 5)._repr_markdown_()
    assert "**not realisable**" in ro and "2.788e-05" in ro  # the gap f* - f~* of docs/commands.md
    assert s5.certificate._repr_markdown_().startswith(r"$H \succ 0$")
    doc = mi.build_derivation("lemma_3_1")
    md = doc._repr_markdown_()
    assert md.startswith(f"### {doc.title}") and md.count("✓") == len(doc.checks)


def test_short_reprs_of_training_and_the_population_loss():
    run = mi.train(mi.SparseLSA(1, seed=0), mi.ChainLaw.default("1/2"), 1, 10, steps=300, batch=32, lr=0.05,
                   progress=False)
    text = repr(run)
    assert len(text) < 200 and "steps=300" in text and "SparseLSA" in text and f"{run.losses[-1]:.6g}" in text
    assert run.to_dict()["losses"] == run.losses and "| 300 |" in run._repr_markdown_()
    L = mi.PopulationLoss(mi.preset("sparse", 1), mi.solve(1, "1/2", 10))
    assert repr(L) == "PopulationLoss(param='sparse', d=1, p=1/2, n=10, 4 parameters, 14 terms)"
    assert len(L.as_expr().as_ordered_terms()) == 14  # the count the repr states
