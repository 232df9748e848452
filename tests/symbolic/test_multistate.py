"""Lemma C.8 (theory §8): exact H, h, E[y^2] for S-state chains with Dirichlet(alpha 1) rows.

Oracles, none sharing code with symbolic/multistate.py:

* :func:`multistate_oracles.enumerate_multistate`: every state sequence of a tiny prompt,
  Dirichlet moments by stick-breaking Beta integrals (entry by entry, exact);
* Monte Carlo with :mod:`numeric.multistate` (numpy Dirichlet / categorical sampling),
  tolerance 5 standard errors per entry;
* the binary engine (:class:`symbolic.objective.ObjectiveTerms`) for S = 2, where
  Dirichlet(alpha, alpha) rows are ``a, c ~ Beta(alpha, alpha)`` and the uniform initial
  state is Bernoulli(1/2); both engines are also compared with the 2-state enumeration.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from markov_icl.errors import MarkovICLError
from markov_icl.numeric.multistate import monte_carlo_moments
from markov_icl.oracles import enumerate_multistate, feature_index, multistate_at_n
from markov_icl.symbolic.laws import ALPHA_SYMBOL, ChainLaw, InitLaw, KernelLaw, parse_dirichlet
from markov_icl.symbolic.multistate import MultiStateTerms
from markov_icl.symbolic.objective import ObjectiveTerms

R = sp.Rational
n_sym = sp.Symbol("n", positive=True)


def _zero(M) -> bool:
    return all(sp.cancel(v) == 0 for v in M)


# -- enumeration, entry by entry ----------------------------------------------------------

ENUM_CASES = [  # (S, d, n, alpha): S^((n+1)(d+1)) sequences each
    (3, 1, 1, 1),
    (3, 1, 2, 1),
    (3, 1, 1, R(1, 2)),
    (3, 2, 1, 2),
    (4, 1, 1, 1),
    (4, 1, 2, R(3, 2)),
]


@pytest.mark.parametrize("S,d,n,alpha", ENUM_CASES)
def test_H_h_match_enumeration(S, d, n, alpha):
    H, h, ey2 = enumerate_multistate(S, d, n, alpha)
    terms = MultiStateTerms(S, d, alpha)
    He = terms.H(n).to_Matrix()
    he = terms.beta_vector().to_Matrix()
    assert [list(r) for r in terms.idx.index] == [list(t) for t in feature_index(d)]
    for i in range(H.rows):
        assert he[i] == h[i], (i, he[i], h[i])
        for j in range(H.cols):
            assert He[i, j] == H[i, j], (i, j, He[i, j], H[i, j])
    assert terms.domain.to_sympy(terms.E_y2) == ey2
    assert any(v != 0 for v in H)  # not a vacuous comparison


@pytest.mark.parametrize("S,n", [(3, 2), (4, 1)])
def test_symbolic_alpha_matches_enumeration(S, n):
    """alpha a symbol: every entry is the same rational function of alpha.

    (d = 1: x_q is the initial state, so with n = 1 context chain H involves only first
    moments of K and is alpha-free; h, and H for n >= 2, depend on alpha.)"""
    H, h, ey2 = enumerate_multistate(S, 1, n, ALPHA_SYMBOL)
    He, he, eye = MultiStateTerms(S, 1, ALPHA_SYMBOL).symbolic(n)
    assert _zero(He - H) and _zero(he - h) and sp.cancel(eye - ey2) == 0
    assert he.free_symbols == {ALPHA_SYMBOL}
    assert He.free_symbols == ({ALPHA_SYMBOL} if n > 1 else set())
    # and the symbolic result specialises to the rational one
    ms = MultiStateTerms(S, 1, R(5, 2))
    assert _zero(He.subs(ALPHA_SYMBOL, R(5, 2)) - ms.H(n).to_Matrix())
    assert _zero(he.subs(ALPHA_SYMBOL, R(5, 2)) - ms.beta_vector().to_Matrix())


def test_symbolic_n_is_affine_in_one_over_n():
    """H(n) = H1/n + H2 (1 - 1/n): checked against enumeration at n = 1 and n = 2 (two points fix the two
    matrices; a third point, n = 3, is the Monte Carlo case (S, d, n) = (3, 1, 3) below: exact enumeration
    there takes minutes)."""
    S, d, alpha = 3, 1, 1
    Hs, _, _ = MultiStateTerms(S, d, alpha).symbolic(n_sym)
    for n in (1, 2):
        H, _, _ = enumerate_multistate(S, d, n, alpha)
        assert _zero(Hs.subs(n_sym, n) - H)


def test_enumeration_detects_a_wrong_alpha():
    """Negative control: the enumeration at alpha = 1 does not match the engine at alpha = 2."""
    H, h, _ = enumerate_multistate(3, 1, 2, 1)
    other = MultiStateTerms(3, 1, 2)
    assert other.H(2).to_Matrix() != H and other.beta_vector().to_Matrix() != h


# -- Monte Carlo ---------------------------------------------------------------------------

MC_CASES = [(3, 1, 3, R(1)), (4, 2, 2, R(1, 2))]


def _float(terms, v) -> float:
    return float(terms.domain.to_sympy(v))


@pytest.mark.parametrize("S,d,n,alpha", MC_CASES)
def test_monte_carlo_within_five_standard_errors(S, d, n, alpha):
    mc = monte_carlo_moments(S, d, n, 200_000, alpha=float(alpha), seed=11)
    terms = MultiStateTerms(S, d, alpha)
    H = np.array(terms.H(n).to_Matrix(), dtype=float)
    h = np.array([_float(terms, v) for v in terms.h])
    if S ** ((d + 1) * 3) <= 10_000:  # oracle: exact, by enumeration at n = 1, 2 (H is affine in 1/n)
        Ho, ho, _ = multistate_at_n(S, d, n, alpha)
        assert _zero(terms.H(n).to_Matrix() - Ho) and _zero(terms.beta_vector().to_Matrix() - ho)
    tol = 5
    assert np.all(np.abs(mc["H"] - H) <= tol * mc["H_se"] + 1e-12)
    assert np.all(np.abs(mc["h"] - h) <= tol * mc["h_se"] + 1e-12)
    assert abs(mc["E_y2"] - _float(terms, terms.E_y2)) <= tol * mc["E_y2_se"]
    # negative control: the same tolerance rejects H at the wrong n or the wrong alpha
    Hn = np.array(terms.H(n + 3).to_Matrix(), dtype=float)
    assert np.any(np.abs(mc["H"] - Hn) > tol * mc["H_se"])
    other = MultiStateTerms(S, d, alpha / 4)
    Ha = np.array(other.H(n).to_Matrix(), dtype=float)
    assert np.any(np.abs(mc["H"] - Ha) > tol * mc["H_se"])


# -- S = 2 is the binary engine --------------------------------------------------------------

@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("n", [1, 4])
def test_two_states_alpha_one_is_binary_uniform_at_p_half(d, n):
    """States {0, 1}, Dirichlet(1, 1) rows = uniform kernel prior, uniform start = Bernoulli(1/2)."""
    H, b, ey2 = ObjectiveTerms(d, ChainLaw.default("1/2")).numeric(n=n)
    ms = MultiStateTerms(2, d, 1)
    assert H.to_Matrix() == ms.H(n).to_Matrix()
    assert b.to_Matrix() == ms.beta_vector().to_Matrix()
    assert ey2 == ms.E_y2
    # oracle: every 2-state prompt enumerated (n = 1, 2; H affine in 1/n), Dirichlet moments by stick-breaking
    Ho, ho, yo = multistate_at_n(2, d, n, 1)
    assert _zero(H.to_Matrix() - Ho) and _zero(b.to_Matrix() - ho) and sp.cancel(H.domain.to_sympy(ey2) - yo) == 0


def test_two_states_general_alpha_is_binary_beta_prior():
    a = R(3, 2)
    law = ChainLaw(InitLaw.parse("iid", R(1, 2)), KernelLaw.beta(a, a, a, a))
    H, b, _ = ObjectiveTerms(2, law).numeric(n=3)
    ms = MultiStateTerms(2, 2, a)
    assert H.to_Matrix() == ms.H(3).to_Matrix()
    assert b.to_Matrix() == ms.beta_vector().to_Matrix()
    Ho, ho, _ = multistate_at_n(2, 2, 3, a)  # oracle: enumeration with Dirichlet(3/2, 3/2) rows by stick-breaking
    assert _zero(H.to_Matrix() - Ho) and _zero(b.to_Matrix() - ho)


@pytest.mark.parametrize("bad", ["dirichlet:-1", "dirichlet:0", "beta:1", "dirichlet", "dirichlet:x+"])
def test_parse_dirichlet_rejects(bad):
    with pytest.raises(MarkovICLError):
        parse_dirichlet(bad)


@pytest.mark.parametrize("S", [1, 0, 2.5, True, 7])
def test_bad_number_of_states(S):
    with pytest.raises(MarkovICLError):
        MultiStateTerms(S, 1, 1)
