"""Impossible correlated initial laws are refused (theory §1), decided exactly; the oracles are a linear
program over the joint law of (s_q, number of context ones) solved by SciPy, and explicit laws whose moments
are enumerated by hand."""

from fractions import Fraction as F
from itertools import product

import numpy as np
import pytest
import sympy as sp

from markov_icl import MarkovICLError, solve
from markov_icl.symbolic.laws import InitLaw


def lp_feasible(p, pc, mcq, mcc, mccq, n) -> bool:
    """Is there a law of (s_q, s_1..s_n), the s_i exchangeable, with these moments? A linear program in the
    weights w[x, k] = P(s_q = x, k context ones); the moments are linear in w (written independently of the
    engine's hull test)."""
    from scipy.optimize import linprog

    ks = np.arange(n + 1)
    first = ks / n
    second = ks * (ks - 1) / (n * (n - 1)) if n > 1 else np.zeros(n + 1)
    rows, rhs = [], []
    one = np.ones(n + 1)
    zero = np.zeros(n + 1)
    rows += [np.r_[one, one], np.r_[zero, one], np.r_[first, first], np.r_[zero, first]]
    rhs += [1, p, pc, mcq]
    if n > 1:
        rows += [np.r_[second, second], np.r_[zero, second]]
        rhs += [mcc, mccq]
    A, b = np.array(rows), np.array(rhs, dtype=float)
    res = linprog(np.zeros(2 * (n + 1)), A_eq=A, b_eq=b, bounds=[(0, None)] * (2 * (n + 1)), method="highs")
    return res.status == 0


def engine_feasible(p, pc, mcq, mcc, mccq, n) -> bool:
    law = InitLaw.correlated(str(p), str(mcq), str(mcc), str(mccq), str(pc))
    try:
        law.check_feasible(sp.Integer(n))
    except MarkovICLError:
        return False
    return True


def test_the_issue_examples_are_refused_with_the_reason():
    with pytest.raises(MarkovICLError, match="impossible at n = 5.*E\\[s_i s_j\\]"):
        solve(1, "1/2", 5, init="correlated:1/4,0,0")
    with pytest.raises(MarkovICLError, match="impossible at n = 5"):
        solve(1, "1/2", 5, init="correlated:1/4,1/4,1/4")
    with pytest.raises(MarkovICLError, match="needs a numeric p"):
        solve(1, None, 5, init="correlated:1,1,1")
    # the LP oracle agrees that neither law exists
    assert not lp_feasible(0.5, 0.5, 0.25, 0, 0, 5)
    assert not lp_feasible(0.5, 0.5, 0.25, 0.25, 0.25, 5)


def test_example_c5_and_iid_moments_are_feasible_and_solve():
    # Example C.5: s_i | s_q ~ Bern((s_q - p)^2) i.i.d.; at p = 1/3: pi1 = 4/9, pi0 = 1/9. Moments by hand:
    p, pi0, pi1 = F(1, 3), F(1, 9), F(4, 9)
    pc = p * pi1 + (1 - p) * pi0
    mcq, mcc, mccq = p * pi1, p * pi1**2 + (1 - p) * pi0**2, p * pi1**2
    spec = f"correlated:{mcq},{mcc},{mccq},{pc}"
    s = solve(1, "1/3", 7, init=spec)
    assert s.f_tilde_star == solve(1, "1/3", 7, init="query_conditional:1/9,4/9").f_tilde_star
    assert s.certificate.positive_definite is True
    assert lp_feasible(float(p), float(pc), float(mcq), float(mcc), float(mccq), 7)


def _law_of_weights(w, n):
    """Moments of the law with P(s_q = x, k context ones) = w[x][k], the ones placed uniformly at random:
    E[s_1 | k] and E[s_1 s_2 | k] by enumerating the arrangements of the n context states."""
    from itertools import combinations

    tot = {"p": F(0), "pc": F(0), "mcq": F(0), "mcc": F(0), "mccq": F(0)}
    for x, k in product((0, 1), range(n + 1)):
        if w[x][k] == 0:
            continue
        arrangements = list(combinations(range(n), k))  # the positions of the ones
        e1 = F(sum(0 in a for a in arrangements), len(arrangements))
        e12 = F(sum(0 in a and 1 in a for a in arrangements), len(arrangements))
        tot["p"] += w[x][k] * x
        tot["pc"] += w[x][k] * e1
        tot["mcq"] += w[x][k] * e1 * x
        tot["mcc"] += w[x][k] * e12
        tot["mccq"] += w[x][k] * e12 * x
    return tot


@pytest.mark.parametrize("seed", range(40))
def test_random_moments_agree_with_the_linear_program(seed):
    """Random rational moments (half the moments of an explicit law, half arbitrary on a grid) are accepted iff
    the LP finds a law. The LP is a float oracle (HiGHS' feasibility tolerance 1e-7); an infeasible grid point
    misses the hull by far more (denominators <= 10^4, n <= 8)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 9))
    if seed % 2 == 0:  # an explicit law: random weights -> its moments are feasible by construction
        raw = rng.integers(0, 5, size=(2, n + 1))
        raw[1, 0] += 1
        raw[0, 0] += 1
        w = [[F(int(v), int(raw.sum())) for v in row] for row in raw]
        m = _law_of_weights(w, n)
        assert engine_feasible(m["p"], m["pc"], m["mcq"], m["mcc"], m["mccq"], n)
        return
    p = F(int(rng.integers(1, 10)), 10)
    pc = F(int(rng.integers(0, 11)), 10)
    mcq = F(int(rng.integers(0, 11)), 10) * min(p, pc)
    mcc = F(int(rng.integers(0, 11)), 10) * pc
    mccq = F(int(rng.integers(0, 11)), 10) * min(mcq, mcc)
    args = (float(p), float(pc), float(mcq), float(mcc), float(mccq), n)
    assert engine_feasible(p, pc, mcq, mcc, mccq, n) == lp_feasible(*args), (p, pc, mcq, mcc, mccq, n)


def test_symbolic_n_uses_the_limit_of_every_n():
    # E[s_i s_j | s_q] >= E[s_i | s_q]^2 for every n only when it holds in the limit (de Finetti):
    # m_cc = pc^2 exactly is feasible for all n (i.i.d. given s_q with the same marginal), below it is not
    ok = InitLaw.correlated("1/2", "1/8", "1/16", "1/32", "1/4")
    ok.check_feasible(sp.Symbol("n", positive=True, integer=True))
    bad = InitLaw.correlated("1/2", "1/8", "1/20", "1/32", "1/4")
    with pytest.raises(MarkovICLError, match="for every n"):
        bad.check_feasible(sp.Symbol("n", positive=True, integer=True))
