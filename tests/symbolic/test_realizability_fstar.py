"""f* by variable projection (theory §6) against independent oracles.

* d = 1: a brute-force scan of 20 000 directions b on the half circle, the optimal A for
  each found by least squares on features built from the hand-written phi of
  :mod:`markov_icl.oracles` (not the engine's phi or variable projection).
* d = 1, 2: Adam-trained one-layer LSAs (numeric.train); their exact population loss
  (H, beta from the engine, phi and the loss written out here) is never below f* - 1e-9
  and comes within the stated margin of it.
* The sandwich f~* <= f* <= f(psi(X*)) of Remark C.15; random directions b (least squares in A on the
  hand-written phi) never beat the multistart's f* or psi's distance.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from markov_icl import solve
from markov_icl.numeric.lsa import SparseLSA, one_layer_params
from markov_icl.numeric.train import train
from markov_icl.oracles import min_over_A, objective_at_n, phi_by_definition
from markov_icl.symbolic.laws import ChainLaw
from markov_icl.symbolic.varpro import OneLayerLoss, best_one_layer, psi

#: trained exact loss minus f*: at most this (Adam lr 0.05 -> 1e-4 cosine, 500 steps of 256 online prompts;
#: measured 5.2e-6, 1.2e-5 at d = 1 (seeds 0, 1) and 5.6e-5 at d = 2, with f* - f~* = 2.8e-5 and 1.8e-2).
#: Both margins lie below f* - f~*, so the test also fails if f* were confused with f~*.
TRAIN_MARGIN = {1: 2e-5, 2: 3e-4}


def exact_problem(d, p, n):
    sol = solve(d, p, n)
    H = np.array(sol.H.tolist(), dtype=float)
    beta = np.array([float(x) for x in sol.beta])
    return sol, H, beta, float(sol.E_y2)


def exact_loss(H, beta, ey2, b, A):
    """f(b, A) = E[y^2] - 2 beta.phi + phi.H.phi, phi and the loss written out here (not the engine's)."""
    x = np.array(phi_by_definition(np.asarray(b, float), np.asarray(A, float)), dtype=float)
    return float(ey2 - 2 * beta @ x + x @ H @ x)


@pytest.mark.parametrize("n", [5, 10])
def test_d1_exact_fstar_matches_brute_force_scan(n):
    sol, H, beta, ey2 = exact_problem(1, "1/2", n)
    res = best_one_layer(sol)
    # phi is bilinear: phi(b, a) = sum_k sum_l b_k a_l phi(e_k, e_l); F(b) = [phi(b, e_1), phi(b, e_2)]
    E = np.eye(2)
    Fk = [np.stack([np.array(phi_by_definition(E[k], E[:, [l]]), dtype=float) for l in range(2)], 1)
          for k in range(2)]
    th = np.linspace(0, np.pi, 20000, endpoint=False)
    F = np.cos(th)[:, None, None] * Fk[0] + np.sin(th)[:, None, None] * Fk[1]  # (T, 3, 2)
    G = np.einsum("tra,rs,tsb->tab", F, H, F)
    r = np.einsum("tra,r->ta", F, beta)
    a = np.linalg.solve(G, r[..., None])[..., 0]
    best = float(np.min(ey2 - np.einsum("ta,ta->t", r, a)))
    assert res.f_star <= best + 1e-12
    assert best - res.f_star < 1e-7  # the scan's resolution
    assert res.f_star >= float(sol.f_tilde_star) - 1e-12
    assert sol.f_tilde_star == {5: sp.Rational(35, 96), 10: sp.Rational(121, 342)}[n]  # theory §5
    if n == 5:
        assert res.f_star - float(sol.f_tilde_star) > 2e-5  # not realisable: a positive gap
    else:
        assert abs(res.f_star - float(sol.f_tilde_star)) < 1e-12


@pytest.mark.parametrize("d,p,n", [(2, "1/2", 5), (3, "1/3", 10)])
def test_multistart_agrees_across_seeds_and_sandwich(d, p, n):
    sol, H, beta, ey2 = exact_problem(d, p, n)
    r0 = best_one_layer(sol, starts=32, seed=0)
    r1 = best_one_layer(sol, starts=32, seed=1)
    assert abs(r0.f_star - r1.f_star) < 1e-10
    assert abs(exact_loss(H, beta, ey2, r0.b, r0.A) - r0.f_star) < 1e-12
    ft = float(sol.f_tilde_star)
    ps = psi(sol.X_star, d, starts=32)
    f_psi = OneLayerLoss.of(sol).tilde(ps.X)
    assert ft < r0.f_star <= f_psi
    # f(psi) = f~* + (psi - X*)^T H (psi - X*), checked by hand
    dx = ps.X - np.array([float(x) for x in sol.X_star])
    assert abs(f_psi - (ft + dx @ H @ dx)) < 1e-10
    # oracles: 4000 random directions b, A by least squares on the hand-written phi, never beat the multistart's
    # f* (with H) nor psi's distance (with H = I); psi's point is phi(b, A) of its own parameters
    B = np.random.default_rng(d).normal(size=(4000, d + 1))
    B /= np.linalg.norm(B, axis=1, keepdims=True)
    assert min_over_A(H, beta, ey2, B).min() >= r0.f_star - 1e-12
    xs = np.array([float(x) for x in sol.X_star])
    assert np.sqrt(max(min_over_A(np.eye(len(xs)), xs, xs @ xs, B).min(), 0.0)) >= np.linalg.norm(dx) - 1e-9
    assert np.allclose(np.array(phi_by_definition(ps.b, ps.A), dtype=float), ps.X, atol=1e-12)
    if d == 2:  # f~* against enumeration of every prompt (n = 1, 2; H affine in 1/n)
        He, be, ye = objective_at_n(d, n, p)
        assert sol.f_tilde_star == ye - (be.T * He.LUsolve(be))[0]


@pytest.mark.slow
@pytest.mark.parametrize("d,n,seeds", [(1, 5, (0, 1)), (2, 5, (0,))])
def test_trained_one_layer_lsa_never_beats_fstar_and_comes_close(d, n, seeds):
    sol, H, beta, ey2 = exact_problem(d, "1/2", n)
    fstar = best_one_layer(sol, starts=32).f_star
    law = ChainLaw.default("1/2")
    gaps = []
    for seed in seeds:
        model = SparseLSA(d, seed=seed, init_scale=0.5)
        train(model, law, d, n, steps=500, batch=256, lr=0.05, optimizer="adam", seed=seed,
              schedule="cosine", lr_final=1e-4, progress=False)
        b, A = one_layer_params(model)
        f_trained = exact_loss(H, beta, ey2, b.numpy(), A.numpy())
        assert f_trained >= fstar - 1e-9
        gaps.append(f_trained - fstar)
    assert max(gaps) < TRAIN_MARGIN[d], gaps
