"""Exact one-layer softmax attention (markov_icl.symbolic.softmax) against enumeration, finite differences,
Monte Carlo and Adam training."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch

from markov_icl import ChainLaw, MarkovICLError, sample_prompts, train
from markov_icl.numeric.attention import SoftmaxAttention
from markov_icl.numeric.montecarlo import estimate_loss
from markov_icl.oracles.bayes import enumerate_softmax_loss
from markov_icl.symbolic.bayes import bayes
from markov_icl.symbolic.softmax import SoftmaxLoss, best_softmax, softmax_flow, type_vector_count

R = sp.Rational
Q1 = np.array([[0.7, -0.3], [0.2, 0.5]])
Q2 = np.array([[0.7, -0.3, 0.1], [0.2, 0.5, -0.4], [0.3, 0.3, 0.3]])


@pytest.mark.parametrize("d, n, p, Q", [(1, 2, "1/3", Q1), (1, 3, "1/2", 3 * Q1), (2, 2, "1/2", Q2)])
def test_loss_equals_enumeration(d, n, p, Q):
    L = SoftmaxLoss(d, p, n)
    assert L.total_weight == 1
    assert L.loss(Q) == pytest.approx(enumerate_softmax_loss(d, n, Q, p=R(p)), abs=1e-12)


def test_loss_equals_enumeration_multistate_and_beta():
    L = SoftmaxLoss(1, None, 2, kernel="dirichlet:1", states=3)
    assert L.loss(Q1) == pytest.approx(enumerate_softmax_loss(1, 2, Q1, prior=1, S=3), abs=1e-12)
    L = SoftmaxLoss(1, "1/2", 3, kernel="beta:2,3,1,2")
    assert L.loss(Q1) == pytest.approx(enumerate_softmax_loss(1, 3, Q1, p=R(1, 2), prior=("beta", 2, 3, 1, 2)),
                                       abs=1e-12)


def test_loss_at_zero_is_exact_and_the_mean_label():
    L = SoftmaxLoss(1, "1/2", 10)
    assert L.at_zero() == R(11, 48)
    # the same number by enumeration at a tiny size, exactly: uniform attention predicts mean(y_i)
    small = SoftmaxLoss(1, "1/2", 2)
    assert float(small.at_zero()) == pytest.approx(enumerate_softmax_loss(1, 2, np.zeros((2, 2)), p=R(1, 2)), abs=1e-14)


def test_gradient_and_hessian_against_finite_differences():
    L = SoftmaxLoss(2, "1/3", 3)
    Q = Q2
    g = L.gradient(Q)
    H = L.hessian(Q)
    eps = 1e-6
    for u in range(3):
        for w in range(3):
            E = np.zeros((3, 3))
            E[u, w] = eps
            fd = (L.loss(Q + E) - L.loss(Q - E)) / (2 * eps)
            assert g[u, w] == pytest.approx(fd, abs=1e-8)
            gd = (L.gradient(Q + E) - L.gradient(Q - E)) / (2 * eps)
            assert np.abs(H[:, 3 * u + w] - gd.reshape(-1)).max() < 1e-7
    assert np.abs(g[2]).max() < 1e-15  # the last row of Q does not matter


def test_monte_carlo_d2_n10():
    L = SoftmaxLoss(2, "1/2", 10)
    model = SoftmaxAttention(2)
    with torch.no_grad():
        model.Q.copy_(torch.as_tensor(Q2))
    est = estimate_loss(model, ChainLaw.default("1/2"), 2, 10, 100_000, seed=7)
    assert abs(float(est.mean) - L.loss(Q2)) < 3 * float(est.stderr)


def test_certified_enclosure_contains_the_float_value():
    L = SoftmaxLoss(1, "1/2", 6)
    lo, hi = L.certified(Q1)
    assert lo - 1e-14 <= L.loss(Q1) <= hi + 1e-14 and hi - lo < 1e-30


def test_optimum_is_finite_between_bayes_and_uniform_and_adam_reaches_it():
    """d = 1, p = 1/2, n = 10: the best softmax lies strictly between the Bayes floor and uniform attention, at a
    finite Q (positive-definite Hessian); Adam on sampled prompts ends within Monte Carlo error of it."""
    L = SoftmaxLoss(1, "1/2", 10)
    opt = best_softmax(L, starts=4)
    assert bayes(1, "1/2", 10).bayes_risk_float < opt.f_softmax_star < float(opt.loss_at_zero)
    assert opt.hessian_eigenvalues.min() > 0 and np.abs(opt.Q_star).max() < 20
    assert opt.certified[0] - 1e-13 <= opt.f_softmax_star <= opt.certified[1] + 1e-13  # float64 error of the sum
    assert 0.5 < opt.attention["exact"] < 0.99  # more than uniform, less than one
    torch.manual_seed(0)
    model = SoftmaxAttention(1)
    train(model, ChainLaw.default("1/2"), 1, 10, steps=1500, batch=512, lr=0.05, schedule="cosine", seed=0,
          progress=False)
    est = estimate_loss(model, ChainLaw.default("1/2"), 1, 10, 60_000, seed=1)
    assert abs(float(est.mean) - opt.f_softmax_star) < 3 * float(est.stderr)
    assert L.loss(model.Q.detach().numpy()) - opt.f_softmax_star < 1e-4  # and exactly, from its own Q


def test_flow_from_zero_rises_to_the_optimum():
    L = SoftmaxLoss(1, "1/2", 6)
    opt = best_softmax(L, starts=2)
    flow = softmax_flow(L, T=3000.0, points=80)
    assert flow.loss[0] == pytest.approx(float(L.at_zero()), abs=1e-14)
    assert np.all(np.diff(flow.loss) <= 1e-14)  # a gradient flow never increases the loss
    assert flow.loss[-1] - opt.f_softmax_star < 1e-6
    assert flow.attention_exact[0] == pytest.approx(0.5, abs=1e-12)
    assert 0 < flow.stages["attention_50pct"] < flow.stages["attention_90pct"] < flow.stages["attention_99pct"]


def test_sizes_and_errors():
    assert type_vector_count(2, 10) == 77792
    with pytest.raises(MarkovICLError, match="at most"):
        SoftmaxLoss(3, "1/2", 40)
    L = SoftmaxLoss(1, "1/2", 2)
    with pytest.raises(MarkovICLError, match="shape"):
        L.loss(np.zeros((3, 3)))
    with pytest.raises(MarkovICLError, match="finite"):
        L.loss(np.full((2, 2), np.nan))
    pb = sample_prompts(ChainLaw.default("1/2"), d=1, n=3, batch=2, seed=0)
    with pytest.raises(MarkovICLError, match="shape"):
        SoftmaxAttention(2)(pb.Z0)
