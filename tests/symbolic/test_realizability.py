"""Realisability oracle (theory §6): constructed phi(b, A), generic X, the d = 1 region.

Oracles: an independent transcription of theory §3's phi (:mod:`markov_icl.oracles`), X* from the engine's
exact solver checked against theory §5's closed form, and the discriminant recomputed from X* in the test.
"""

from __future__ import annotations

import random

import pytest
import sympy as sp

from markov_icl.oracles import closed_form_d1, phi_by_definition, s1_matrix
from markov_icl.symbolic.laws import N_SYMBOL, P_SYMBOL, ChainLaw
from markov_icl.symbolic.objective import ObjectiveTerms
from markov_icl.symbolic.realizability import (
    coefficient_signs_m,
    discriminant_at,
    realize,
    region_d1,
    smallest_n,
    threshold_limits,
    threshold_n,
)
from markov_icl.symbolic.solve import solve_numeric


def closed_form_D(p, n):
    """D = X2^2 - 4 X1 X3 from theory §5's closed-form X*(p, n) (no engine code)."""
    X = closed_form_d1(sp.Rational(p), n)[3]
    return X[1] ** 2 - 4 * X[0] * X[2]


def rand_q(rng):
    return sp.Rational(rng.randint(-6, 6), rng.randint(1, 5))


@pytest.mark.parametrize("d", [1, 2, 3, 4])
def test_constructed_points_are_realisable_and_reconstructed_exactly(d):
    rng = random.Random(d)
    for _ in range(4):
        b = [rand_q(rng) for _ in range(d + 1)]
        if all(x == 0 for x in b):
            b[0] = sp.Integer(1)
        A = [[rand_q(rng) for _ in range(d)] for _ in range(d + 1)]
        X = phi_by_definition(b, A)
        r = realize(X, d)
        assert r.realizable and r.exact
        back = phi_by_definition(r.b, r.A)
        assert all(sp.simplify(x - y) == 0 for x, y in zip(back, X))
        rf = realize([float(x) for x in X], d)
        assert rf.realizable and rf.residual < 1e-9


def test_rank_one_and_zero_columns():
    b = [sp.Integer(1), sp.Integer(2), sp.Integer(-1)]
    A = [[sp.Integer(3), 0], [sp.Integer(6), 0], [sp.Integer(-3), 0]]  # a_1 parallel to b, a_2 = 0
    X = phi_by_definition(b, A)
    r = realize(X, 2)
    assert r.realizable and r.ranks == [1, 0]
    assert all(sp.simplify(x - y) == 0 for x, y in zip(phi_by_definition(r.b, r.A), X))


@pytest.mark.parametrize("d", [2, 3])
def test_generic_and_perturbed_points_are_not_realisable(d):
    rng = random.Random(10 + d)
    m = (d + 1) * (d + 2) // 2
    for _ in range(3):
        X = [rand_q(rng) for _ in range(d * m)]
        assert not realize(X, d).realizable
        assert not realize([float(x) for x in X], d).realizable
        b = [rand_q(rng) + 7 for _ in range(d + 1)]
        A = [[rand_q(rng) for _ in range(d)] for _ in range(d + 1)]
        Y = phi_by_definition(b, A)
        Y[-1] += sp.Rational(1, 1000)  # perturb one coordinate
        assert not realize(Y, d).realizable
        assert not realize([float(y) for y in Y], d).realizable


def test_d1_perturbation_crosses_the_discriminant():
    # X = (1, 2, 1): D = 0 (rank 1); (1, 2, 1 + 1/100): D < 0; (1, 2, 1/2): D = 2, factor in Q(sqrt 2)
    assert realize([1, 2, 1], 1).realizable
    assert not realize([1, 2, sp.Rational(101, 100)], 1).realizable
    X = [1, 2, sp.Rational(1, 2)]
    r = realize(X, 1)
    assert r.realizable and any(x.has(sp.sqrt(2)) for x in r.b)
    assert all(sp.simplify(x - y) == 0 for x, y in zip(phi_by_definition(r.b, r.A), X))


def test_published_values_p_half():
    terms = ObjectiveTerms(1, ChainLaw.default())
    X5 = solve_numeric(terms, p="1/2", n=5).X_star
    assert X5 == (sp.Rational(1, 6), sp.Rational(1, 2), sp.Rational(1, 2))
    assert X5[1] ** 2 - 4 * X5[0] * X5[2] == sp.Rational(-1, 12)
    assert discriminant_at("1/2", 5) == sp.Rational(-1, 12)
    assert not realize(X5, 1).realizable
    X10 = solve_numeric(terms, p="1/2", n=10).X_star
    r = realize(X10, 1)
    assert r.realizable
    assert all(sp.simplify(x - y) == 0 for x, y in zip(phi_by_definition(r.b, r.A), X10))


def published_quartic():
    """N(p, n) derived here from theory §5's closed-form H and beta (no engine code): D = X2^2 - 4 X1 X3 with
    X = H^{-1} beta is n^2 N / (squares), so N is the one non-square, non-monomial factor of D's numerator."""
    p, n = sp.symbols("p n", positive=True)
    h11 = p**2 * (1 + (n - 1) * p) / n
    h23 = p**2 * (3 * (n + 1) + (n - 1) * p) / (12 * n)
    H = sp.Matrix([[h11, h11 / 2, p**2 / 2], [h11 / 2, p**2 * (3 + 2 * (n - 1) * p) / (6 * n), h23],
                   [p**2 / 2, h23, p * (2 * n + 1 - (n - 1) * p * (1 - p)) / (6 * n)]])
    X = H.LUsolve(sp.Matrix([p**2 / 2, p**2 / 3, p**2 / 12 + p / 4]))
    num, den = sp.fraction(sp.factor(sp.together(X[1] ** 2 - 4 * X[0] * X[2])))
    _, den_factors = sp.factor_list(den)
    assert all(e % 2 == 0 for _, e in den_factors)
    quartic = [f for f, e in sp.factor_list(num)[1] if e % 2 == 1]
    assert len(quartic) == 1 and sp.degree(quartic[0], n) == 4
    return quartic[0], p, n


def _real_roots(poly, var, lo, hi):
    return [r for r in sp.Poly(poly, var).real_roots() if lo < r < hi]


def test_engine_quartic_is_the_one_derived_from_the_closed_forms():
    N, p, n = published_quartic()
    reg = region_d1()
    ratio = sp.cancel(reg.N.subs({P_SYMBOL: p, N_SYMBOL: n}) / N)
    assert ratio.is_number and ratio > 0
    # signs of N's coefficients in m = n - 1, sampled on (0, 1) (the engine proves them for all p)
    coeffs = sp.Poly(sp.expand(N.subs(n, sp.Symbol("m") + 1)), sp.Symbol("m")).all_coeffs()
    for pv in [sp.Rational(k, 20) for k in range(1, 20)]:
        assert ["+" if c.subs(p, pv) > 0 else "-" for c in coeffs] == coefficient_signs_m()
    # limits of n0(p) at the ends of p: the roots n > 1 of N(0, n) and N(1, n)
    lo, hi = threshold_limits()
    for e, lim in ((0, lo), (1, hi)):
        (root,) = _real_roots(N.subs(p, e), n, 1, sp.oo)
        assert sp.simplify(root - lim) == 0
    # n0(1/2) and the threshold p_10 in (0, 1)
    (r_half,) = _real_roots(N.subs(p, sp.Rational(1, 2)), n, 1, sp.oo)
    assert abs(float(threshold_n("1/2")) - float(r_half)) < 1e-12
    (p10,) = _real_roots(N.subs(n, 10), p, 0, 1)
    assert sp.simplify(region_d1().integer_p_thresholds[10] - p10) == 0


def test_region_agrees_with_the_sign_of_D_from_X_star():
    terms = ObjectiveTerms(1, ChainLaw.default())
    reg = region_d1()
    assert reg.always_from == 13 and reg.never_below == 4
    for p in ["1/10", "1/3", "1/2", "7/10", "19/20"]:
        nmin = smallest_n(p)
        n0 = threshold_n(p)
        assert nmin - 1 < float(n0) <= nmin
        for n in range(max(1, nmin - 2), nmin + 3):
            X = solve_numeric(terms, p=p, n=n).X_star
            D = X[1] ** 2 - 4 * X[0] * X[2]
            assert (D >= 0) == (n >= nmin) == realize(X, 1).realizable
            assert list(X) == list(closed_form_d1(sp.Rational(p), n)[3])  # oracle: theory §5's closed form
    assert smallest_n("1/2") == 6


def test_integer_n_thresholds_in_p():
    reg = region_d1()
    terms = ObjectiveTerms(1, ChainLaw.default())
    for n in (5, 8, 10):
        pn = reg.integer_p_thresholds[n]
        for p, expect in ((sp.Rational(int(float(pn) * 1000) - 5, 1000), True),
                          (sp.Rational(int(float(pn) * 1000) + 5, 1000), False)):
            X = solve_numeric(terms, p=p, n=n).X_star
            assert realize(X, 1).realizable == expect
            assert (closed_form_D(p, n) >= 0) == expect  # oracle: the sign of D from theory §5's closed form
    assert reg.integer_p_thresholds[4] is None and reg.integer_p_thresholds[13] == "all"


@pytest.mark.parametrize("p,n", [("1/2", 5), ("1/2", 20), ("1/3", 7), ("4/5", 50)])
def test_d2_optimum_not_realisable(p, n):
    X = solve_numeric(ObjectiveTerms(2, ChainLaw.default()), p=p, n=n).X_star
    assert s1_matrix(X).det() != 0  # oracle: a realisable S_1 = sym(b a_1^T) has rank <= 2
    assert not realize(X, 2).realizable


def test_threshold_limits_at_the_ends_of_p():
    lo, hi = threshold_limits()  # checked against theory §5 in test_engine_quartic_is_the_one_derived_from_the_closed_forms
    # continuity: n0(p) for p close to 0 and 1, found by the separate root isolation of threshold_n
    assert abs(float(threshold_n("1/100000")) - float(lo)) < 1e-3
    assert abs(float(threshold_n("99999/100000")) - float(hi)) < 1e-2
    # and the realisability oracle at integers around them: n = 4 never, n = 13 always (p near 0 and 1)
    # oracle: n0 near the ends as the root n > 1 of the quartic derived from theory §5's closed forms, and the
    # sign of D from the closed-form X* at the four integer points below
    N, p, n = published_quartic()
    for pv, tol in (("1/100000", 1e-3), ("99999/100000", 1e-2)):
        (root,) = _real_roots(N.subs(p, sp.Rational(pv)), n, 1, sp.oo)
        assert abs(float(threshold_n(pv)) - float(root)) < 1e-9 and abs(float(root) - float(lo if pv[0] == "1" else hi)) < tol
    assert [closed_form_D(pv, nv) >= 0 for pv, nv in (("1/1000", 4), ("1/1000", 5), ("999/1000", 12), ("999/1000", 13))] \
        == [False, True, False, True]
    terms = ObjectiveTerms(1, ChainLaw.default())
    assert not realize(solve_numeric(terms, p="1/1000", n=4).X_star, 1).realizable
    assert realize(solve_numeric(terms, p="1/1000", n=5).X_star, 1).realizable
    assert not realize(solve_numeric(terms, p="999/1000", n=12).X_star, 1).realizable
    assert realize(solve_numeric(terms, p="999/1000", n=13).X_star, 1).realizable
