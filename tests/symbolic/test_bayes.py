"""The exact Bayes floor (markov_icl.symbolic.bayes) against brute-force enumeration and Monte Carlo.

The oracle (tests/oracles/bayes.py) enumerates every prompt, integrates its likelihood against the
prior and takes the posterior predictive as a ratio of prompt probabilities: it never uses transition
counts or the posterior-mean formula that the engine sums over.
"""

from __future__ import annotations

import pytest
import sympy as sp
import torch

from markov_icl import ChainLaw, MarkovICLError, sample_prompts, solve
from markov_icl.numeric.bayes import BayesPredictor
from markov_icl.numeric.multistate import sample_multistate
from markov_icl.oracles.bayes import enumerate_bayes
from markov_icl.symbolic.bayes import bayes, count_vector_bound

R = sp.Rational


@pytest.mark.parametrize("d, n, p", [(1, 1, R(1, 2)), (1, 2, R(1, 2)), (1, 3, R(1, 3)), (2, 2, R(1, 2)),
                                     (2, 3, R(2, 5)), (3, 2, R(1, 2))])
def test_bayes_equals_enumeration_uniform(d, n, p):
    oracle = enumerate_bayes(d, n, p)
    r = bayes(d, p, n)
    assert r.bayes_risk == oracle["risk"]
    assert r.bayes_accuracy == oracle["accuracy"]
    assert r.E_y2 == oracle["E_y2"]


@pytest.mark.parametrize("kernel, prior", [("beta:2,3,1,2", ("beta", 2, 3, 1, 2)),
                                           ("fixed:1/3,1/4", ("fixed", R(1, 3), R(1, 4)))])
def test_bayes_equals_enumeration_other_priors(kernel, prior):
    oracle = enumerate_bayes(2, 2, R(1, 3), prior=prior)
    r = bayes(2, "1/3", 2, kernel=kernel)
    assert (r.bayes_risk, r.bayes_accuracy) == (oracle["risk"], oracle["accuracy"])


def test_bayes_fractional_dirichlet_termwise_path():
    """Beta(1/2, 1/2) rows have no polynomial density: the term-by-term sum (binary) against the oracle's
    stick-breaking moments."""
    oracle = enumerate_bayes(1, 3, prior=R(1, 2), S=2)
    r = bayes(1, "1/2", 3, kernel="dirichlet:1/2")
    assert (r.bayes_risk, r.bayes_accuracy) == (oracle["risk"], oracle["accuracy"])
    assert "integrated" not in r.method


@pytest.mark.parametrize("S, d, n, alpha", [(3, 1, 2, 1), (3, 1, 2, R(1, 2)), (3, 2, 1, 1)])
def test_bayes_multistate_equals_enumeration(S, d, n, alpha):
    oracle = enumerate_bayes(d, n, prior=alpha, S=S)
    r = bayes(d, None, n, kernel=f"dirichlet:{alpha}", states=S)
    assert (r.bayes_risk, r.bayes_accuracy, r.E_y2) == (oracle["risk"], oracle["accuracy"], oracle["E_y2"])


def test_bayes_query_conditional_init_equals_enumeration():
    oracle = enumerate_bayes(2, 2, R(1, 3), init=("qc", R(1, 9), R(4, 9)))
    r = bayes(2, "1/3", 2, init="example_c5")  # pi0 = p^2, pi1 = (1 - p)^2
    assert (r.bayes_risk, r.bayes_accuracy) == (oracle["risk"], oracle["accuracy"])


def test_known_values_and_the_limit():
    assert bayes(1, "1/2", 1).bayes_risk == R(17, 72)
    assert bayes(1, "1/2", 2).bayes_risk == R(65, 288)
    risks = [bayes(1, "1/2", n).bayes_risk for n in (1, 2, 5, 10, 40)]
    assert all(x > y for x, y in zip(risks, risks[1:]))  # more context, lower floor
    assert risks[-1] > R(1, 6) and risks[-1] - R(1, 6) < R(1, 100)  # towards E[a(1 - a)] = 1/6


def test_symbolic_p_is_the_interpolating_polynomial():
    r = bayes(2, None, 3)
    p = r.p
    assert sp.degree(r.bayes_risk, p) <= 4
    for pv in (R(1, 7), R(5, 11)):
        num = bayes(2, pv, 3)
        assert sp.expand(r.bayes_risk.subs(p, pv)) == num.bayes_risk
        assert sp.expand(r.bayes_accuracy.subs(p, pv)) == num.bayes_accuracy


def test_E_y2_agrees_with_the_lsa_objective():
    """E[y^2] from the Bayes sums and from the moment tables of the LSA objective: two independent routes."""
    for d, n, p in ((2, 4, "1/3"), (3, 3, "3/5")):
        assert bayes(d, p, n).E_y2 == solve(d, p, n).E_y2


def test_predictor_monte_carlo_d2_n20():
    """The NumPy/torch predictor scored on sampled prompts: within 3 standard errors of the exact risk."""
    exact = bayes(2, "1/2", 20)
    pb = sample_prompts(ChainLaw.default("1/2"), d=2, n=20, batch=100_000, seed=11)
    bp = BayesPredictor("uniform")
    err = (bp(pb.Z0) - pb.y) ** 2
    se = float(err.std()) / len(err) ** 0.5
    assert abs(float(err.mean()) - exact.bayes_risk_float) < 3 * se
    hit = (bp.predict_state(pb.Z0) == pb.y).double()
    se_acc = float(hit.std()) / len(hit) ** 0.5
    assert abs(float(hit.mean()) - exact.bayes_accuracy_float) < 3 * se_acc


def test_predictor_multistate_monte_carlo():
    exact = bayes(1, None, 4, kernel="dirichlet:1", states=3)
    pb = sample_multistate(3, d=1, n=4, batch=60_000, seed=3)
    err = (BayesPredictor("dirichlet:1", 3)(pb.Z0) - pb.y) ** 2
    assert abs(float(err.mean()) - exact.bayes_risk_float) < 3 * float(err.std()) / len(err) ** 0.5


def test_predictor_is_the_posterior_mean_on_a_hand_prompt():
    # d = 1, n = 3 context chains (0,1), (0,0), (1,1) and query x_q = 0: N_00 = 1, N_01 = 1 -> (1 + 1) / (2 + 2)
    Z0 = torch.tensor([[[0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 1.0, 0.0]]])
    assert float(BayesPredictor()(Z0)) == pytest.approx(0.5)
    Z0q1 = Z0.clone()
    Z0q1[0, 0, 3] = 1.0  # query in state 1: N_11 = 1, N_10 = 0 -> (1 + 1) / (2 + 1)
    assert float(BayesPredictor()(Z0q1)) == pytest.approx(2 / 3)
    assert float(BayesPredictor("fixed:1/4,1/5")(Z0q1)) == pytest.approx(0.8)


def test_bad_input_is_one_clear_error():
    with pytest.raises(MarkovICLError, match="three of its moments"):
        bayes(1, "1/2", 3, init="correlated:1/5,1/5,1/10")
    with pytest.raises(MarkovICLError, match="leave p out"):
        bayes(1, "1/2", 3, kernel="dirichlet:1", states=3)
    with pytest.raises(MarkovICLError, match="count vectors"):
        bayes(3, "1/2", 500)
    with pytest.raises(MarkovICLError, match="floats"):
        bayes(1, 0.5, 3)
    with pytest.raises(MarkovICLError, match="numeric Dirichlet alpha"):
        bayes(1, None, 3, kernel="dirichlet:alpha", states=3)
    assert count_vector_bound(2, 100) < 6 * 10**6  # the d = 2, n = 100 target is inside the limit
