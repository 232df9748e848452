"""The objective as n -> infinity: ``H(n) = H_inf + H_1 / n``, the limits of f~* and f* and their rates.

Oracles: the engine-independent enumeration of every prompt at n = 1 and n = 2 (``tests/oracles``: the term of
two distinct context chains, ``2 H(2) - H(1)``, is ``H_inf``, and ``H(1) - H_inf`` is ``H_1``), solved with SymPy's
LU; the published d = 1 closed forms (theory §5) and their limit; the engine's rational function ``f~*(n)`` of the
symbolic-n solve and its limit; the exact solve at large n; for f*, the oracle's own variable projection
(``min_over_A``) on a grid of directions refined by Nelder-Mead.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from scipy.optimize import minimize

from markov_icl.errors import MarkovICLError
from markov_icl.oracles import closed_form_d1, min_over_A, objective_at_n
from markov_icl.symbolic.large_n import exact_projected_loss, large_n_limit, solve_limit
from markov_icl.symbolic.solve import solve

LIMITS = {"1/4": sp.Rational(29791, 123186), "1/2": sp.Rational(1514, 6579), "3/4": sp.Rational(6529, 30930)}


def _oracle_limit(p):
    """``H_inf``, ``H_1``, beta, E[y^2] from the enumeration at n = 1, 2."""
    H1, beta, ey2 = objective_at_n(2, 1, p)
    H2, _, _ = objective_at_n(2, 2, p)
    H_inf = 2 * sp.Matrix(H2) - sp.Matrix(H1)
    return H_inf, sp.Matrix(H1) - H_inf, sp.Matrix(beta), ey2


def test_limit_of_f_tilde_star_d2_by_enumeration():
    H_inf, H_1, beta, ey2 = _oracle_limit("1/2")
    X = H_inf.LUsolve(beta)
    assert ey2 - (beta.T * X)[0] == LIMITS["1/2"]
    lim = solve_limit(2, "1/2")
    assert lim.n == sp.oo and lim.f_tilde_star == LIMITS["1/2"]
    assert sp.Matrix(lim.H) == H_inf and tuple(lim.X_star) == tuple(X)
    assert H_1.is_positive_semidefinite and H_inf.is_positive_definite  # hence f~*(n), f*(n) decrease in n


@pytest.mark.parametrize("p", list(LIMITS))
def test_limit_is_that_of_the_rational_function_of_n(p):
    """The engine's f~*(n) as a rational function of n (the symbolic-n solve, another route) has the same limit."""
    s = solve(2, p)
    assert sp.limit(s.f_tilde_star, s.n, sp.oo) == solve_limit(2, p).f_tilde_star == LIMITS[p]


def test_f_tilde_star_converges_at_the_exact_rate():
    """p = 1/2, from the oracle's H_inf, H_1: f~*(n) = f~*_inf + c1 / n + c2 / n^2 + O(1/n^3), c1 = X^T H_1 X,
    c2 = -X^T H_1 H_inf^{-1} H_1 X (the Neumann series of (H_inf + H_1 / n)^{-1}), checked on the exact solve at
    n = 10^3 and 10^6."""
    H_inf, H_1, beta, _ = _oracle_limit("1/2")
    X = H_inf.LUsolve(beta)
    c1 = (X.T * H_1 * X)[0]
    c2 = -(X.T * H_1 * H_inf.LUsolve(H_1 * X))[0]
    L = LIMITS["1/2"]
    for n, tol in ((10**3, 0.15), (10**6, 2e-4)):  # the relative error is O(1/n): 0.095, 1.1e-4
        f = solve(2, "1/2", n).f_tilde_star
        assert f > L
        assert abs(float(n * n * (f - L - c1 / n) / c2) - 1) < tol
    lim = large_n_limit(2, "1/2", starts=16)
    assert lim.f_tilde_rate == c1 and lim.H_1_psd and lim.H_inf_pd


def test_d1_limit_is_the_published_closed_form_and_realisable():
    H, beta, ey2, X, f = closed_form_d1(sp.Rational(1, 2), sp.Symbol("n", positive=True))
    lim = large_n_limit(1, "1/2")
    assert lim.f_tilde_star == sp.limit(f, sp.Symbol("n", positive=True), sp.oo) == sp.Rational(1, 3)
    assert lim.realization.realizable and lim.gap == 0


def test_f_star_limit_d2_by_an_independent_search():
    """f*_inf at p = 1/2: the oracle's variable projection on H_inf from the enumeration, minimised over the
    sphere of directions (a grid, then Nelder-Mead); the engine's exact upper bound; f*(n) approaches it from
    above at the rate c* / n."""
    H_inf, _, beta, ey2 = _oracle_limit("1/2")
    Hf, bf = np.array(H_inf.tolist(), float), np.array(beta.tolist(), float).reshape(-1)

    def direction(ang):
        return np.array([np.sin(ang[0]) * np.cos(ang[1]), np.sin(ang[0]) * np.sin(ang[1]), np.cos(ang[0])])

    grid = np.array([(a, b) for a in np.linspace(0.01, np.pi - 0.01, 40) for b in np.linspace(0, 2 * np.pi, 80)])
    vals = min_over_A(Hf, bf, float(ey2), np.array([direction(g) for g in grid]))
    best = min(minimize(lambda g: float(min_over_A(Hf, bf, float(ey2), direction(g))[0]), grid[i],
                        method="Nelder-Mead", options={"xatol": 1e-12, "fatol": 1e-16, "maxiter": 4000}).fun
               for i in np.argsort(vals)[:6])
    lim = large_n_limit(2, "1/2", starts=16)
    assert lim.f_star == pytest.approx(best, abs=1e-11)
    assert lim.f_star_upper >= sp.Rational(lim.f_star) - sp.Rational(1, 10**14)
    assert float(lim.f_star_upper) - best < 1e-11
    assert not lim.realization.realizable and lim.gap == pytest.approx(1.13395e-3, abs=1e-8)
    from markov_icl.symbolic.varpro import best_one_layer

    n = 10**5
    fs = best_one_layer(solve(2, "1/2", n), starts=16).f_star
    assert fs > lim.f_star
    assert n * (fs - lim.f_star) == pytest.approx(lim.f_star_rate, rel=1e-2)


def test_exact_projected_loss_is_the_least_squares_value():
    """b = e_1 at d = 1, p = 1/2, n = 10: X = (A_1, A_2, 0), so f(b) = 1/2 - r^T G^{-1} r with G the leading 2 x 2
    block of the published H and r = (beta_1, beta_2)."""
    H, beta, ey2, _, _ = closed_form_d1(sp.Rational(1, 2), 10)
    G, r = H[:2, :2], beta[:2, :]
    assert exact_projected_loss(solve(1, "1/2", 10), [1, 0]) == ey2 - (r.T * G.inv() * r)[0] == sp.Rational(71, 198)
    with pytest.raises(MarkovICLError, match="nonzero vector of length 2"):
        exact_projected_loss(solve(1, "1/2", 10), [0, 0])


def test_singular_limit_is_refused_with_its_rank():
    with pytest.raises(MarkovICLError, match=r"singular \(rank 27 of 30\)"):
        solve_limit(3, "1/2")
