"""Exact learning dynamics (theory §12): the gradient, the invariant, the saddle, staged learning, linear flows.

Oracles: the loss rebuilt independently as ``f~(phi(theta))`` with the solution's own ``f_tilde`` and SymPy's
``diff``; the rescaling identity ``f(s b, A / s) = f(b, A)`` for a symbolic ``s``; the bilinear form's matrix
``C`` assembled from ``phi`` at unit vectors and NumPy's SVD; SciPy's ODE solver and plain gradient descent;
the numeric layer's training on sampled prompts (Monte Carlo, with the spread over seeds).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from markov_icl.errors import MarkovICLError
from markov_icl.numeric.dynamics import descend, integrate_flow, train_on_prompts
from markov_icl.symbolic.dynamics import (
    LinearFlow,
    PopulationLoss,
    critical_point,
    escape_prediction,
    linear_symmetries,
    origin_saddle,
)
from markov_icl.symbolic.model import phi
from markov_icl.symbolic.param import preset
from markov_icl.symbolic.solve import solve


@pytest.fixture(scope="module")
def sparse1():
    sol = solve(1, "1/2", 10)
    return sol, PopulationLoss(preset("sparse", 1), sol)


@pytest.fixture(scope="module")
def sparse2():
    sol = solve(2, "1/3", 7)
    return sol, PopulationLoss(preset("sparse", 2), sol)


def _independent_loss(param, sol):
    X = [sp.sympify(x) for x in param.phi()]
    return sp.expand(sol.f_tilde(X))


@pytest.mark.parametrize("name, d, p, n", [("sparse", 1, "1/2", 10), ("sparse", 2, "1/3", 7), ("zfb", 2, "1/2", 5),
                                           ("dense", 1, "2/5", 6)])
def test_gradient_is_the_derivative_of_the_loss(name, d, p, n):
    param, sol = preset(name, d), solve(d, p, n)
    L = PopulationLoss(param, sol)
    f = _independent_loss(param, sol)
    assert sp.expand(L.as_expr() - f) == 0
    for s, g in zip(param.params, L.gradient_exprs()):
        assert sp.expand(g - sp.diff(f, s)) == 0, s


def test_lambdified_gradient_matches_the_exact_one(sparse2):
    import torch

    sol, L = sparse2
    rng = np.random.default_rng(0)
    th = rng.normal(size=(5, len(L.symbols)))
    _, g_np = L.lambdify("numpy")
    loss_t, g_t = L.lambdify("torch")
    got = g_np(th)
    for i in range(5):
        exact = np.array([float(v) for v in L.gradient_at([sp.Rational(x) for x in th[i]])])
        assert np.allclose(got[i], exact, rtol=1e-12, atol=1e-12)
    tt = torch.tensor(th, requires_grad=True)
    loss_t(tt).sum().backward()
    assert torch.allclose(tt.grad, g_t(tt.detach()), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name, d", [("sparse", 1), ("sparse", 2), ("dense", 1)])
def test_invariant_derivative_is_exactly_zero(name, d):
    param, sol = preset(name, d), solve(d, "1/2", 10)
    L = PopulationLoss(param, sol)
    assert L.invariant_derivative() == 0
    # independent: the rescaling symmetry itself, for a symbolic s
    s = sp.Symbol("s", positive=True)
    b_syms = [x for x in param.b if x != 0]
    A_syms = [x for row in param.A for x in row if x != 0]
    sub = {**{v: s * v for v in b_syms}, **{v: v / s for v in A_syms}}
    f = L.as_expr()
    assert sp.simplify(f.xreplace(sub) - f) == 0


def test_linear_parameterizations_have_no_rescaling_invariant():
    L = PopulationLoss(preset("zfb", 1), solve(1, "1/2", 10))
    with pytest.raises(MarkovICLError, match="fixes b or A"):
        L.rescaling_invariant()


def test_linear_symmetries_are_the_rescaling_only():
    for d in (1, 2):
        basis = linear_symmetries(preset("sparse", d))
        assert len(basis) == 1
        K = basis[0] / basis[0][0, 0]
        D = d + 1
        assert K == sp.diag(*([1] * D + [-1] * (D * d)))


def test_dense_entries_outside_b_and_A_have_zero_gradient():
    param = preset("dense", 1)
    L = PopulationLoss(param, solve(1, "1/2", 10))
    used = {x for x in param.b} | {x for row in param.A for x in row}
    for s, g in zip(param.params, L.gradient_exprs()):
        assert (g == 0) == (s not in used), s


def test_origin_saddle_eigenvalues_are_twice_the_singular_values_of_C(sparse2):
    sol, L = sparse2
    d, D = 2, 3
    beta = sol.beta_float
    # C[k, (l, j)] = beta^T phi(e_k, E_{l j}), from phi at unit vectors
    C = np.zeros((D, D * d))
    for k in range(D):
        for j in range(d):
            for l in range(D):
                A = np.zeros((D, d))
                A[l, j] = 1
                C[k, j * D + l] = beta @ phi(np.eye(D)[k], A)
    sv = np.linalg.svd(C, compute_uv=False)
    S = origin_saddle(L)
    expected = np.sort(np.concatenate([2 * sv, -2 * sv, np.zeros(len(L.symbols) - 2 * len(sv))]))[::-1]
    assert np.allclose(S.eigenvalues, expected, atol=1e-12)
    assert S.index == int((sv > 1e-12).sum()) and S.sigma == pytest.approx(sv[0])
    # exactly: charpoly_H(lambda) = lambda^(k - 2D) 4^D p_M(lambda^2 / 4), p_M the charpoly of M = C C^T, with C
    # assembled from phi at unit vectors and the exact beta
    Ce = sp.zeros(D, D * d)
    for k in range(D):
        for j in range(d):
            for l in range(D):
                A = [[int(u == l and jj == j) for jj in range(d)] for u in range(D)]
                Ce[k, j * D + l] = sum(sp.sympify(bt) * x for bt, x in zip(sol.beta, phi([int(i == k) for i in range(D)], A)))
    lam, mu = sp.symbols("lambda mu")
    pM = (Ce * Ce.T).charpoly(mu).as_expr()
    expected_cp = lam ** (len(L.symbols) - 2 * D) * 4 ** D * pM.subs(mu, lam ** 2 / 4)
    assert sp.expand(S.charpoly - expected_cp) == 0


def test_flow_conserves_the_invariant_and_gd_drifts_linearly_in_lr(sparse1):
    sol, L = sparse1
    _, grad = L.lambdify()
    Q = L.rescaling_invariant()

    def q(th):
        return np.array([float(QQ_val) for QQ_val in (Q(*[sp.Rational(x) for x in row]) for row in th)])

    th0 = np.random.default_rng(1).normal(0, 0.1, 4)
    t = np.linspace(0, 30, 31)
    _, th = integrate_flow(grad, th0, 30.0, t, rtol=1e-10)
    qs = q(th)
    assert np.abs(qs - qs[0]).max() < 1e-10
    drifts = []
    for lr in (0.04, 0.02):
        _, th_gd = descend(grad, th0, lr, int(round(30 / lr)), every=int(round(30 / lr)))
        qq = q(th_gd)
        drifts.append(abs(qq[-1] - qq[0]))
    assert 1.7 < drifts[0] / drifts[1] < 2.3, drifts
    assert drifts[1] > 1e-6  # the drift is real, not round-off


def test_escape_time_and_plateaus_from_small_init_d1(sparse1):
    """The acceptance setting: d = 1, p = 1/2, n = 10, init scale 1e-3."""
    sol, L = sparse1
    loss, grad = L.lambdify()
    th0 = np.random.default_rng(0).normal(0, 1e-3, 4)
    E = escape_prediction(L, th0)
    crit = critical_point(L, E.theta_end)
    assert crit.index == 1 and crit.gradient_norm < 1e-12  # a saddle
    assert np.allclose(crit.theta[:2], crit.theta[2:], atol=1e-9)  # on the invariant subspace b = a
    t = np.linspace(0, 6 * E.t_mid, 1201)
    level = (E.plateau + E.after) / 2

    def crossing(ts, ls):
        i = int(np.nonzero(ls <= level)[0][0])
        return ts[i - 1] + (level - ls[i - 1]) * (ts[i] - ts[i - 1]) / (ls[i] - ls[i - 1])

    _, th = integrate_flow(grad, th0, t[-1], t)
    lf = loss(th)
    assert abs(crossing(t, lf) / E.t_mid - 1) < 0.01
    assert lf[0] == pytest.approx(E.plateau, rel=1e-5)
    assert lf[-1] == pytest.approx(crit.loss, rel=1e-4)  # the second plateau
    # the trained model: full-batch GD on sampled prompts, same step
    tt, tht = train_on_prompts(preset("sparse", 1), sol.law, 10, th0, 0.05, int(round(t[-1] / 0.05)),
                               dataset_size=5000, seed=3, every=5)
    lt = loss(tht)
    assert abs(crossing(tt, lt) / E.t_mid - 1) < 0.1
    assert lt[-1] == pytest.approx(crit.loss, rel=2e-3)


def test_escape_prediction_d2(sparse2):
    sol, L = sparse2
    loss, grad = L.lambdify()
    th0 = np.random.default_rng(2).normal(0, 1e-3, len(L.symbols))
    E = escape_prediction(L, th0)
    t = np.linspace(0, 2 * E.t_mid, 801)
    _, th = integrate_flow(grad, th0, t[-1], t)
    lf = loss(th)
    i = int(np.nonzero(lf <= (E.plateau + E.after) / 2)[0][0])
    assert abs(t[i] / E.t_mid - 1) < 0.02
    with pytest.raises(MarkovICLError, match="small initialisation"):
        escape_prediction(L, np.ones(len(L.symbols)))


@pytest.mark.parametrize("name, d", [("gd", 1), ("zfb", 2)])
def test_linear_flow_exact_solution(name, d):
    param, sol = preset(name, d), solve(d, "1/2", 8)
    flow = LinearFlow.of(param, sol)
    L = PopulationLoss(param, sol)
    loss, grad = L.lambdify()
    k = len(L.symbols)
    th0 = np.random.default_rng(0).normal(0, 1, k)
    T = 2 * float(flow.timescales.max())
    t = np.linspace(0, T, 41)
    _, th = integrate_flow(grad, th0, T, t, rtol=1e-12, atol=1e-14)
    assert np.abs(loss(th) - flow.loss(t, th0)).max() < 1e-8
    assert np.abs(th - flow.theta(t, th0)).max() < 1e-8
    lr = 0.2 * float(flow.timescales.min())
    steps = int(T / lr)
    _, th_gd = descend(grad, th0, lr, steps)
    assert np.abs(th_gd - flow.gd_iterates(steps, lr, th0)).max() < 1e-10
    # the minimiser is the exact least squares and the curve ends there
    assert float(L.value(list(flow.theta_star))) == pytest.approx(float(flow.f_star), abs=1e-15)
    assert all(v == 0 for v in L.gradient_at(list(flow.theta_star)))


@pytest.mark.slow
def test_linear_flow_against_sgd_on_sampled_prompts():
    param, sol = preset("gd", 1), solve(1, "1/2", 8)
    flow = LinearFlow.of(param, sol)
    loss, _ = PopulationLoss(param, sol).lambdify()
    th0 = np.array([0.0])
    lr = 0.5 * float(flow.timescales.min())
    steps = int(2 * float(flow.timescales.max()) / lr)
    curves = []
    for seed in range(4):
        t, th = train_on_prompts(param, sol.law, 8, th0, lr, steps, dataset_size=2000, seed=seed)
        curves.append(loss(th))
    curves = np.array(curves)
    exact = loss(flow.gd_iterates(steps, lr, th0))  # the sampled training is discrete GD with this step
    se = curves.std(0, ddof=1) / 2
    assert np.all(np.abs(curves.mean(0) - exact) <= 5 * se + 1e-12)
    assert np.abs(curves.mean(0) - exact)[1:].max() > 0  # the sampled curves are not the exact one


def test_reduced_critical_points_match_a_scan_of_the_circle(sparse1):
    """d = 1: the critical points of f(b) = min_A f(b, A) on the circle of directions, found by root search, are
    the local extrema of a fine scan (minima -> index 0, maxima -> index 1 in the full space); the global one
    is f* = f~* (realisable) and the escape's saddle is among them."""
    from markov_icl.symbolic.dynamics import reduced_critical_points
    from markov_icl.symbolic.varpro import OneLayerLoss

    sol, L = sparse1
    cps = reduced_critical_points(L)
    ol = OneLayerLoss.of(sol)
    ang = np.linspace(0, np.pi, 20001)
    vals = np.array([ol.project(np.array([np.cos(a), np.sin(a)]))[0] for a in ang])
    inner = vals[1:-1]
    mins = inner[(inner < vals[:-2]) & (inner < vals[2:])]
    maxs = inner[(inner > vals[:-2]) & (inner > vals[2:])]
    if vals[0] < vals[1] and vals[-1] < vals[-2]:  # the period wraps at pi (b and -b)
        mins = np.append(mins, vals[0])
    got_min = sorted({round(c.loss, 7) for c in cps if c.index == 0})
    got_sad = sorted({round(c.loss, 7) for c in cps if c.index == 1})
    assert got_min == sorted({round(v, 7) for v in mins})
    assert got_sad == sorted({round(v, 7) for v in maxs})
    assert cps[0].loss == pytest.approx(float(sol.f_tilde_star), abs=1e-12) and cps[0].index == 0
    assert any(abs(c.loss - 0.3549066932) < 1e-9 and c.index == 1 for c in cps)
