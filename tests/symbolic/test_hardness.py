"""Theorem 3.5's reduction (theory §6): separability and bilinear feasibility agree.

Oracles: in 1-D, two thresholds separate iff no point of Q lies in [min P, max P] (a
closed-form rule, independent of the LP code); the separable witnesses are checked by
substituting them into the instance's equations exactly.
"""

from __future__ import annotations

import random

import pytest
import sympy as sp

from markov_icl.errors import MarkovICLError
from markov_icl.symbolic.hardness import (
    EXAMPLE_C13_NONSEPARABLE,
    EXAMPLE_C13_SEPARABLE,
    SeparabilityInstance,
    build_instance,
    decide_separability,
    solve_feasibility,
    witness,
)
from markov_icl.symbolic.objective import Index

CASES = {
    "xor (strip)": ([[0, 0], [1, 1]], [[1, 0], [0, 1]], True),
    "Q in conv(P)": ([[0, 0], [2, 2]], [[1, 1], [5, 0]], False),
    "1-D interval": ([[0], [1]], [[-1], [2]], True),
    "1-D inside": ([[0], [2]], [[1], [5]], False),
    "square, 3 outside": ([[1, 1], [1, -1], [-1, 1], [-1, -1]], [[3, 0], [0, 3], [-3, 0]], True),
}


@pytest.mark.parametrize("name", list(CASES))
def test_both_deciders_agree(name):
    P, Q, expect = CASES[name]
    inst = SeparabilityInstance.of(P, Q)
    dec = decide_separability(inst)
    assert dec.separable == expect
    B = build_instance(inst)
    sol = solve_feasibility(B, starts=12 if expect else 10, seed=0, stop_after=1)
    assert sol.feasible == expect
    if expect:
        assert sol.separation_verified
        # the exact planes separate P from Q1 and from Q2 strictly (checked here, not by the engine)
        for (w, g), group in zip(dec.planes, dec.split):
            assert all(_dot(w, pt) - g > 0 for pt in P)
            assert all(_dot(w, Q[j]) - g < 0 for j in group)
        assert sorted(dec.split[0] + dec.split[1]) == list(range(len(Q)))
        b, A = witness(B, dec)
        assert all(sp.simplify(r) == 0 for r in B.residuals(b, A))
    else:
        assert sol.best_residual > 0.1
        # the exact certificate, for every split: convex weights giving one rational point in conv(P)
        # and in the hull of one of the two groups of Q (so that group cannot be separated from P)
        assert len(dec.certificates) == 2 ** len(Q)
        for Q1, Q2, (lam, mu) in dec.certificates:
            assert sum(lam) == 1 and sum(mu) == 1 and all(x >= 0 for x in lam + mu)
            point = [sum(l * pt[i] for l, pt in zip(lam, P)) for i in range(len(P[0]))]
            assert any(len(mu) == len(g) and point == [sum(m * Q[j][i] for m, j in zip(mu, g)) for i in range(len(P[0]))]
                       for g in (Q1, Q2))


def _dot(w, x):
    return sum(sp.Rational(a) * b for a, b in zip(w, x))


def test_exact_decider_matches_the_1d_rule():
    rng = random.Random(5)
    for _ in range(40):
        P = [[rng.randint(-5, 5)] for _ in range(rng.randint(1, 3))]
        Q = [[rng.randint(-7, 7)] for _ in range(rng.randint(1, 3))]
        if any(q in P for q in Q):
            continue
        lo, hi = min(p[0] for p in P), max(p[0] for p in P)
        rule = all(not (lo <= q[0] <= hi) for q in Q)
        assert decide_separability(SeparabilityInstance.of(P, Q)).separable == rule


def test_example_c13_sizes_and_the_lsa_special_case():
    B = build_instance(EXAMPLE_C13_SEPARABLE)
    m1, k1, n1 = EXAMPLE_C13_SEPARABLE.sizes
    assert (m1, k1, n1) == (2, 2, 2)  # theory §6: m' = k' = n' = 2
    # count of system 13's unknowns in an equality-only encoding: two planes (w_i, g_i), zeta_1, zeta_2 in R^k',
    # one squared slack per inequality (2 m' for P, 2 k' for Q); d is that count, dm = d (d+1)(d+2)/2
    d = 2 * (n1 + 1) + 2 * k1 + 2 * (m1 + k1)
    assert B.d == d == 18 and B.dm == d * (d + 1) * (d + 2) // 2 == Index(d).dm
    # documented gap: the paper (Example C.13) states d = 8, dm = 360 for its own (unstated) layout; d = 18 above
    # already rules that out (dm = 3420, theory §10, finding 6)
    assert len(B.X()) == B.dm and B.D(1)[0, 0] == 1 and B.D(B.dm) == sp.zeros(19, 19)
    assert not decide_separability(EXAMPLE_C13_NONSEPARABLE).separable
    # the LSA map's own D(r) (E_uu, E_uv + E_vu) are not of this form: column 1 of A is tied to b
    assert B.D(2) == sp.Matrix(19, 19, lambda u, v: 1 if (u, v) == (0, 1) else -1 if (u, v) == (1, 0) else 0)


def test_bad_points_raise():
    with pytest.raises(MarkovICLError):
        SeparabilityInstance.of([[0, 0]], [[1]])
    with pytest.raises(MarkovICLError):
        SeparabilityInstance.of([], [[1]])
