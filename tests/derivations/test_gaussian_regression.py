"""The gaussian_regression document: its checks pass, it shows the published closed form, `derive` writes it,
and the oracles its checks use can fail.

Oracles: the published restricted optimum Gamma* = ((n+1)/n Sigma + (tr Sigma + noise2/tau2)/n I)^{-1}
(Zhang, Frei and Bartlett, JMLR 2024; Ahn et al., NeurIPS 2023) and the loss of Gamma = eta I, both worked
out by hand below for Sigma = 1 and Sigma = diag(1, 2); pdflatex; Monte Carlo sampling of prompts.
"""

import shutil

import pytest
import sympy as sp

from markov_icl.cli import main
from markov_icl.derivations import DERIVATIONS, gaussian_regression
from markov_icl.derivations.document import Derivation
from markov_icl.derivations.render import render_tex
from markov_icl.symbolic.gaussian import GaussianLaw

HAS_LATEX = shutil.which("pdflatex") is not None
n = sp.Symbol("n", positive=True, integer=True)
s = sp.Symbol("sigma", positive=True)


def test_registered_after_lemma_c8():
    names = list(DERIVATIONS)
    assert names[names.index("lemma_c8") + 1] == "gaussian_regression"
    assert DERIVATIONS["gaussian_regression"] == "markov_icl.derivations.gaussian_regression"


def test_build_returns_a_derivation_whose_checks_all_pass(document):
    doc = document("gaussian_regression")
    assert isinstance(doc, Derivation) and doc.name == "gaussian_regression"
    assert doc.statement.text and len(doc.steps) == 4 and doc.results
    failed = [c.name for c in doc.checks if not c.passed]
    assert not failed, failed
    names = " ".join(c.name for c in doc.checks)
    for part in ("Monte Carlo", "d = 1, Sigma = 1", "d = 2, Sigma = diag(1, 2)", "published closed form",
                 "f_gd* > f_zfb*", "isotropic", "f~* = E[y^2] - beta^T H^(-1) beta"):
        assert part in names, part
    assert sum(c.name.startswith("Monte Carlo") for c in doc.checks) == 2


def test_rendered_latex_shows_the_closed_form(document):
    tex = render_tex([document("gaussian_regression")], "t")
    assert r"\Gamma^* = \Big(\frac{n+1}{n}\Sigma + \frac{\mathrm{tr}\,\Sigma + \sigma^2/\tau^2}{n}I\Big)^{-1}" in tex
    # d = 1, Sigma = tau2 = 1, noise sigma^2: Gamma* = (1 + 1/n + (1 + sigma^2)/n)^{-1}, loss 1 + sigma^2 - Gamma*
    g1 = n / (n + 2 + s**2)
    assert sp.latex(g1) in tex
    assert sp.latex(sp.factor(sp.cancel(1 + s**2 - g1))) in tex
    # d = 2, Sigma = diag(1, 2), noise 1/4: Gamma* = diag(n/(n + 1 + 13/4), n/(2(n + 1) + 13/4))
    g = [4 * n / (4 * n + 17), 4 * n / (8 * n + 21)]
    assert sp.latex(sp.diag(*g)) in tex
    f_tilde = sp.Rational(13, 4) - g[0] - 4 * g[1]  # tr Sigma + 1/4 - tr(Sigma Gamma* Sigma)
    # gd: loss(eta) = eta^2 tr(Sigma E[hh^T]) - 2 eta tr(Sigma^2) + 13/4 with tr(Sigma E[hh^T]) = (36 n + 101)/(4 n)
    f_gd = sp.Rational(13, 4) - 25 / ((36 * n + 101) / (4 * n))
    assert sp.latex(sp.factor(f_gd - f_tilde)) in tex  # 256 n (n+1)^2 / ((4n+17)(8n+21)(36n+101))
    assert sp.factor(f_gd - f_tilde) == 256 * n * (n + 1) ** 2 / ((4 * n + 17) * (8 * n + 21) * (36 * n + 101))


def test_derive_writes_the_document(tmp_path, capsys):
    assert main(["derive", "gaussian_regression", "--out", str(tmp_path)]) == 0
    tex = (tmp_path / "gaussian_regression.tex").read_text()
    assert r"\section{Gaussian linear regression" in tex
    if HAS_LATEX:
        assert (tmp_path / "gaussian_regression.pdf").read_bytes()[:5] == b"%PDF-"
    assert "gaussian_regression" in capsys.readouterr().out


def test_the_monte_carlo_oracle_rejects_a_wrong_objective():
    """The same samples (n = 3) against the exact H at n = 4: the 1/n Isserlis term is detected."""
    law = gaussian_regression.MC_LAWS[1]
    right = gaussian_regression.monte_carlo_z(law, 3, *law.objective(2, 3), samples=50_000)
    assert max(right.values()) < 5
    wrong = gaussian_regression.monte_carlo_z(law, 3, *law.objective(2, 4), samples=50_000)
    assert wrong["H"] > 5


def test_the_restricted_and_positivity_oracles_can_fail():
    law = GaussianLaw((1, 2), noise2=sp.Rational(1, 4))
    H, beta, ey2 = law.objective(2, 5)
    _, f_tilde = gaussian_regression.full_optimum(H, beta, ey2)
    assert gaussian_regression.restricted("gd", law, 5)["f"] != f_tilde  # gd misses f~* here
    assert gaussian_regression.restricted("zfb", law, 5)["f"] == f_tilde
    assert not gaussian_regression._positive_certificate((n - 3) / (n + 1), (n,))
    assert gaussian_regression._positive_certificate(n * (n + 1) / (2 * n + s**2), (n, s))


@pytest.mark.parametrize("bad", ["x", "1/2"])
def test_a_bad_n_is_one_error_line(bad, tmp_path, capsys):
    assert main(["derive", "gaussian_regression", "--n", bad, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("markov-icl: error: ") and err.count("\n") == 1
