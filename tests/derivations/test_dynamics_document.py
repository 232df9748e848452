"""The dynamics document: its checks pass, it shows the exact results, `derive` writes it with its figure, and
the oracles its checks use are re-derived here by hand and can fail.

Oracles: the d = 1 objective at p = 1/2, n = 10 (H, beta, E[y^2] of theorem_3_3's closed forms: beta =
(1/8, 1/12, 7/48), H_22 = 1/20, E[y^2] = 1/2), phi(b, a) = (a_1 b_1, a_1 b_2 + a_2 b_1, a_2 b_2) written out by hand,
the bilinear form C = [[beta_1, beta_2], [beta_2, beta_3]] of beta^T phi(b, a), whose eigenvalues (13 +- sqrt 65)/96
are worked out by hand, the one-parameter quadratic of gd, and pdflatex.
"""

import shutil

import numpy as np
import pytest
import sympy as sp

from markov_icl.cli import main
from markov_icl.derivations import DERIVATIONS, dynamics
from markov_icl.derivations.document import Derivation
from markov_icl.derivations.render import render_tex
from markov_icl.derivations.report import build_derivation
from markov_icl.symbolic.dynamics import PopulationLoss, origin_saddle
from markov_icl.symbolic.param import preset
from markov_icl.symbolic.solve import solve

HAS_LATEX = shutil.which("pdflatex") is not None
R = sp.Rational
BETA = (R(1, 8), R(1, 12), R(7, 48))  # p = 1/2, n = 10


@pytest.fixture(scope="module")
def sol():
    return solve(1, "1/2", 10)


def test_registered_after_gaussian_regression():
    names = list(DERIVATIONS)
    assert names[names.index("gaussian_regression") + 1] == "dynamics"
    assert DERIVATIONS["dynamics"] == "markov_icl.derivations.dynamics"


def test_build_returns_a_derivation_whose_checks_all_pass(document):
    doc = document("dynamics")
    assert isinstance(doc, Derivation) and doc.name == "dynamics"
    assert doc.statement.text and len(doc.steps) == 5 and len(doc.results) == 8
    failed = [c.name for c in doc.checks if not c.passed]
    assert not failed, failed
    names = " ".join(c.name for c in doc.checks)
    for part in ("SymPy's diff", "chain rule", "f(s b, A/s) - f(b, A)", "diag(1, 1, -1, -1)", "dense LSA",
                 "phi(b, a) = phi(a, b)", "+-2 sigma_i(C)", "4 - rank J_phi = 1", "f = f~*", "lies on b = a",
                 "min_b f(b, b)", "index 1", "escape time", "second plateau", "Q = ||b||^2 - ||A||_F^2 stays",
                 "gd: the closed form", "gd: gradient descent", "integrate_flow"):
        assert part in names, part
    assert len(doc.checks) == 19


def test_the_document_reports_the_measured_stages(document):
    doc = document("dynamics")
    detail = {c.name.split(":")[0]: c.detail for c in doc.checks}
    esc = detail["escape time"]
    predicted, measured = (float(esc.split(k)[1].split(",")[0]) for k in ("predicted ", "measured "))
    assert abs(predicted - 17.48) < 0.01 and abs(measured - predicted) / predicted < 0.05
    table = next(b.table for b in doc.results if b.title == "The staged learning curve")
    cells = " ".join(" ".join(row) for row in table)
    assert "0.3549066932" in cells and "0.3538011696" in cells


def test_rendered_latex_shows_the_exact_results(document):
    tex = render_tex([document("dynamics")], "t")
    # the origin: eigenvalues +-(13 +- sqrt 65)/48, the factored characteristic polynomial
    lam = sp.Symbol("lambda")
    assert sp.latex((288 * lam**2 - 156 * lam + 13) * (288 * lam**2 + 156 * lam + 13) / 82944) in tex
    assert sp.latex(sp.together((13 + sp.sqrt(65)) / 48)) in tex
    assert sp.latex(sp.together((13 - sp.sqrt(65)) / 96)) in tex  # sigma_2(C)
    # the realisation of X* and f~*
    assert sp.latex(R(121, 342)) in tex and r"\sqrt{145}" in tex
    # gd: G = H_22 = 1/20, eta* = beta_2 / H_22 = 5/3, f_gd* = E[y^2] - beta_2^2 / H_22 = 13/36, tau = 10
    assert r"G = \frac{1}{20}" in tex and r"\eta^* = \frac{5}{3}" in tex and r"\frac{13}{36}" in tex
    assert r"\frac{1}{2G} = 10" in tex
    # the gradient, with rational coefficients: df/db_1 starts with 11/40 A_11^2 b_1
    assert r"\frac{\partial f}{\partial b_1} &= \frac{11}{40} A_{11}^{2} b_1" in tex


def _f_by_hand(sol, b, a):
    H = sp.Matrix(sol.H_domain.to_Matrix())
    beta = sp.Matrix(BETA)
    X = sp.Matrix([a[0] * b[0], a[0] * b[1] + a[1] * b[0], a[1] * b[1]])
    return sp.expand(R(1, 2) - 2 * (beta.T * X)[0] + (X.T * H * X)[0])


def test_the_rescaling_invariance_by_hand(sol):
    """f(s b, a / s) = f(b, a) for a symbol s, with phi written out by hand; the engine's f is the same polynomial."""
    b = sp.symbols("b_1 b_2", real=True)
    a = sp.symbols("A_1_1 A_2_1", real=True)
    s = sp.Symbol("s", positive=True)
    f = _f_by_hand(sol, b, a)
    assert sp.expand(_f_by_hand(sol, [s * x for x in b], [x / s for x in a]) - f) == 0
    assert sp.expand(_f_by_hand(sol, [s * x for x in b], a) - f) != 0  # rescaling b alone is no symmetry
    assert sp.expand(PopulationLoss(preset("sparse", 1), sol).as_expr() - f) == 0
    assert dynamics.rescaled_difference(preset("sparse", 1), sol) == 0
    assert dynamics.rescaled_difference(preset("gd", 1), sol) != 0  # b fixed: a / s changes the loss


def test_the_origin_eigenvalues_are_twice_the_singular_values_of_c(sol):
    C = sp.Matrix([[BETA[0], BETA[1]], [BETA[1], BETA[2]]])  # beta^T phi(b, a) = b^T C a, by hand
    assert dynamics.bilinear_form(sol) == C
    # C is symmetric with trace 13/48 and determinant 13/1152: eigenvalues (13 +- sqrt 65)/96, both > 0
    sig = [(13 + sp.sqrt(65)) / 96, (13 - sp.sqrt(65)) / 96]
    assert all(sp.simplify(C.charpoly().as_expr().subs(C.charpoly().gen, x)) == 0 for x in sig)
    eig = origin_saddle(PopulationLoss(preset("sparse", 1), sol)).hessian.eigenvals()
    want = {sp.nsimplify(2 * x) for x in sig} | {sp.nsimplify(-2 * x) for x in sig}
    assert {sp.nsimplify(sp.radsimp(x)) for x in eig} == want
    assert np.allclose(sorted(float(x) for x in eig),
                       sorted([2 * v for v in np.linalg.svd(np.array(C.tolist(), float), compute_uv=False)]
                              + [-2 * v for v in np.linalg.svd(np.array(C.tolist(), float), compute_uv=False)]),
                       atol=1e-14)
    wrong = C.copy()
    wrong[0, 1] = 2 * wrong[0, 1]  # a wrong C (beta_2 doubled on one side) misses the spectrum
    assert not np.allclose(2 * np.linalg.svd(np.array(wrong.tolist(), float), compute_uv=False),
                           2 * np.linalg.svd(np.array(C.tolist(), float), compute_uv=False))


def test_the_symmetric_minimum_oracles_agree(sol):
    exact = dynamics.symmetric_minimum(sol)
    assert abs(exact["value"] - dynamics.scipy_symmetric_minimum(sol)) < 1e-11
    assert abs(exact["value"] - 0.3549066932346) < 1e-12
    b = exact["b"]
    assert abs(float(_f_by_hand(sol, b, b)) - exact["value"]) < 1e-12
    # at n = 5 X* is not realisable and the best one-layer LSA is symmetric: min f(b, b) = f*
    from markov_icl.symbolic.varpro import best_one_layer

    s5 = solve(1, "1/2", 5)
    assert abs(dynamics.symmetric_minimum(s5)["value"] - best_one_layer(s5).f_star) < 1e-12


def test_the_gd_flow_by_hand(sol):
    """f(eta) = 1/2 - 2 eta / 12 + eta^2 / 20: G = 1/20, eta* = 5/3, f* = 13/36, the flow e^{-t/10}."""
    eta, t, e0 = sp.symbols("eta t eta_0")
    f = R(1, 2) - 2 * BETA[1] * eta + R(1, 20) * eta**2
    assert sp.expand(dynamics.loss_expr(preset("gd", 1), sol).subs(sp.Symbol("eta", real=True), eta) - f) == 0
    path = R(5, 3) + sp.exp(-t / 10) * (e0 - R(5, 3))
    assert sp.simplify(sp.diff(path, t) + sp.diff(f, eta).subs(eta, path)) == 0
    assert f.subs(eta, R(5, 3)) == R(13, 36)


def test_helpers():
    t = np.array([0.0, 1.0, 2.0, 3.0])
    y = np.array([1.0, 0.8, 0.4, 0.2])
    assert dynamics.crossing(t, y, 0.6) == pytest.approx(1.5)
    assert dynamics.crossing(t, y, 0.1) is None
    b, a = np.array([1.0, 0.0]), np.array([0.0, 2.0])
    end = dynamics.conserved_endpoint(b, a, 0.0, np.array([1.4, 0, 0, 1.4]))
    assert np.allclose(end, [np.sqrt(2), 0, 0, np.sqrt(2)])  # ||s b||^2 = ||a / s||^2 at s^2 = 2
    assert dynamics._sci(1e-10) == "10^{-10}" and dynamics._sci(5.92e-8, 2) == r"5.92 \cdot 10^{-8}"


def test_a_point_where_x_star_is_not_realisable():
    """p = 1/2, n = 5 (D = -1/12): the critical point on b = a is the global minimum; every check passes."""
    doc = build_derivation("dynamics", "1/2", "5")
    failed = [c.name for c in doc.checks if not c.passed]
    assert not failed, failed
    names = " ".join(c.name for c in doc.checks)
    assert "index 0" in names and "b parallel to a" in names and "second plateau" not in names


def test_derive_writes_the_document_and_its_figure(tmp_path, capsys):
    assert main(["derive", "dynamics", "--out", str(tmp_path)]) == 0
    tex = (tmp_path / "dynamics.tex").read_text()
    assert r"\section{Learning dynamics" in tex
    assert (tmp_path / "figures" / "dynamics-1.png").read_bytes()[:4] == b"\x89PNG"
    assert "figures/dynamics-1.png" in tex
    if HAS_LATEX:
        assert (tmp_path / "dynamics.pdf").read_bytes()[:5] == b"%PDF-"
    assert "dynamics" in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["x", "1/2"])
def test_a_bad_n_is_one_error_line(bad, tmp_path, capsys):
    assert main(["derive", "dynamics", "--n", bad, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("markov-icl: error: ") and err.count("\n") == 1
