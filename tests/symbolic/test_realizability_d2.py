"""d = 2 acceptance checks for theory §6 against oracles that share no code with symbolic/.

* Not realisable on a grid of (p, n): the engine's X* gives a 3 x 3 matrix S_1 (built by
  :func:`markov_icl.oracles.s1_matrix` from its definition, not by the engine) with nonzero determinant; a quadratic form
  (b.x)(a.x) has rank <= 2, so X* cannot be realised, and ``realize`` must agree.
* f* = min over (b, A): a grid over the half sphere of directions b in R^3 (the optimal A
  for each b by least squares on features built from the hand-written phi of
  :mod:`markov_icl.oracles`), then Nelder-Mead polishing of the best grid points; the
  multistart value must match it.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from markov_icl import solve
from markov_icl.oracles import phi_by_definition, s1_matrix
from markov_icl.symbolic.realizability import realize
from markov_icl.symbolic.varpro import best_one_layer

P_GRID = ["1/10", "1/4", "1/2", "3/4", "9/10"]
N_GRID = [1, 2, 3, 5, 10, 30, 100]


def test_d2_x_star_not_realisable_on_a_grid_of_p_and_n():
    for p in P_GRID:
        for n in N_GRID:
            X = solve(2, p, n).X_star
            assert s1_matrix(X).det() != 0, (p, n)
            assert realize(X, 2).realizable is False, (p, n)
            assert realize([float(x) for x in X], 2).realizable is False, (p, n)


def _features(d):
    """F_k[r, (l, j)] = phi(e_k, E_lj)_r, so that phi(b, A) = sum_k b_k F_k vec(A) (phi is bilinear)."""
    N = d + 1
    out = []
    for k in range(N):
        cols = []
        for j in range(d):
            for ll in range(N):
                A = np.zeros((N, d))
                A[ll, j] = 1.0
                cols.append(np.array(phi_by_definition(np.eye(N)[k], A), dtype=float))
        out.append(np.stack(cols, 1))
    return np.stack(out)  # (N, dm, N d)


def _f_of_b(Fk, H, beta, ey2, B):
    """min over A of f(b, A) for every row b of B (least squares in A)."""
    F = np.einsum("tk,krc->trc", B, Fk)
    G = np.einsum("tra,rs,tsb->tab", F, H, F)
    r = np.einsum("tra,r->ta", F, beta)
    a = np.linalg.solve(G, r[..., None])[..., 0]
    return ey2 - np.einsum("ta,ta->t", r, a)


@pytest.mark.parametrize("p,n", [("1/2", 5), ("1/4", 20)])
def test_d2_fstar_matches_a_sphere_grid_oracle(p, n):
    sol = solve(2, p, n)
    H = np.array(sol.H.tolist(), dtype=float)
    beta = np.array([float(x) for x in sol.beta])
    ey2 = float(sol.E_y2)
    Fk = _features(2)
    th, ph = np.meshgrid(np.linspace(0, np.pi / 2, 181), np.linspace(0, 2 * np.pi, 360, endpoint=False))
    B = np.stack([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)], -1).reshape(-1, 3)
    vals = _f_of_b(Fk, H, beta, ey2, B)
    best = np.inf
    for i in np.argsort(vals)[:20]:  # polish the 20 best grid directions
        res = minimize(lambda b: float(_f_of_b(Fk, H, beta, ey2, (b / np.linalg.norm(b))[None])[0]), B[i],
                       method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-15, "maxiter": 4000})
        best = min(best, res.fun)
    fs = best_one_layer(sol, starts=32)
    assert fs.f_star <= best + 1e-12  # the multistart minimum is never worse than the oracle's
    assert best - fs.f_star < 1e-10  # and the oracle finds the same value
    assert fs.f_star - float(sol.f_tilde_star) > 1e-5  # d = 2: strictly above the enlarged optimum
    assert "deg of a start" in fs.certificate and "runs agree" in fs.certificate
