"""LSA models (theory §2, §3, §7) against hand-written loops that share no code with them."""

import numpy as np
import pytest
import torch

from markov_icl.errors import MarkovICLError
from markov_icl.numeric.lsa import DenseLSA, SparseLSA, StructuredLSA, one_layer_params, phi
from markov_icl.oracles import phi_by_definition


def random_prompts(B, d, n, seed, states=None):
    """Z0 with random real (or integer-state) columns and the query's label entry zeroed."""
    rng = np.random.default_rng(seed)
    Z = rng.integers(0, states, size=(B, d + 1, n + 1)).astype(float) if states else rng.normal(size=(B, d + 1, n + 1))
    Z[:, d, n] = 0.0
    return Z


def kron_features(Z):
    """x_q (kron) g by explicit loops, r = (j-1) m + pos(u, v) (theory §3)."""
    B, D, N1 = Z.shape
    d, n = D - 1, N1 - 1
    out = np.zeros((B, d * D * (D + 1) // 2))
    for b in range(B):
        G = sum(np.outer(Z[b, :, i], Z[b, :, i]) for i in range(n)) / n
        r = 0
        for j in range(d):
            for u in range(D):
                for v in range(u, D):
                    out[b, r] = Z[b, j, n] * G[u, v]
                    r += 1
    return out


def dense_loops(Z, Ps, Qs):
    """Z_{l+1} = Z_l + (1/n) P_l Z_l M Z_l^T Q_l Z_l with explicit matrices (theory §2)."""
    out = []
    for Zb in Z:
        n = Zb.shape[1] - 1
        M = np.diag([1.0] * n + [0.0])
        for P, Q in zip(Ps, Qs):
            Zb = Zb + P @ Zb @ M @ Zb.T @ Q @ Zb / n
        out.append(Zb[-1, -1])
    return np.array(out)


@pytest.mark.parametrize("d,n", [(1, 4), (3, 7)])
@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_one_layer_equals_phi_inner_product(kind, d, n):
    Z = random_prompts(20, d, n, seed=d)
    model = DenseLSA(d, layers=1, init_scale=0.7, seed=3) if kind == "dense" else SparseLSA(d, init_scale=0.7, seed=3)
    b, A = one_layer_params(model)
    X = phi(b, A).numpy()
    assert np.allclose(X, np.array(phi_by_definition(b.numpy(), A.numpy())), atol=1e-14, rtol=0)
    yhat = model(torch.as_tensor(Z)).detach().numpy()
    assert np.max(np.abs(yhat - kron_features(Z) @ X)) < 1e-10


def test_dense_multilayer_matches_matrix_loops():
    d, n, L = 2, 5, 3
    Z = random_prompts(6, d, n, seed=9)
    model = DenseLSA(d, layers=L, init_scale=0.4, seed=1)
    want = dense_loops(Z, [P.detach().numpy() for P in model.P], [Q.detach().numpy() for Q in model.Q])
    got = model(torch.as_tensor(Z)).detach().numpy()
    assert np.max(np.abs(got - want)) < 1e-10


def test_models_take_multistate_inputs():
    """States used as numbers (theory §8): nothing binary-specific in the models."""
    Z = random_prompts(10, 3, 6, seed=4, states=4)
    sparse = SparseLSA(3, seed=2)
    X = phi(*one_layer_params(sparse)).numpy()
    got = sparse(torch.as_tensor(Z)).detach().numpy()
    assert np.max(np.abs(got - kron_features(Z) @ X)) < 1e-10


def structured_recursion(Z, bx, by, Abar, a):
    """theory §7 by explicit loops over columns: y_i <- y_i + <u_l, x_i>, theta_{l+1} = theta_l + u_l."""
    out, thetas = [], []
    for Zb in Z:
        D, N1 = Zb.shape
        d, n = D - 1, N1 - 1
        x = [Zb[:d, k] for k in range(N1)]
        y = [Zb[d, k] for k in range(N1)]
        theta = np.zeros(d)
        th = [theta.copy()]
        for l in range(len(by)):
            u = np.zeros(d)
            for k in range(n):
                u -= (Abar[l].T @ x[k] + a[l] * y[k]) * (bx[l] @ x[k] + by[l] * y[k]) / n
            y = [y[i] + u @ x[i] for i in range(N1)]
            theta = theta + u
            th.append(theta.copy())
        out.append(y[n])
        thetas.append(th)
    return np.array(out), np.array(thetas)


@pytest.mark.parametrize("d,L", [(1, 2), (3, 4)])
def test_structured_model_equals_recursion(d, L):
    Z = random_prompts(8, d, 6, seed=L, states=2)
    model = StructuredLSA(d, layers=L, init_scale=0.6, seed=5)
    params = [t.detach().numpy() for t in (model.bx, model.by, model.Abar, model.a)]
    want, want_thetas = structured_recursion(Z, *params)
    Zt = torch.as_tensor(Z)
    got = model(Zt).detach().numpy()
    assert np.max(np.abs(got - want)) < 1e-10
    thetas = model.thetas(Zt).detach().numpy()
    assert thetas.shape == (8, L + 1, d)
    assert np.max(np.abs(thetas - want_thetas)) < 1e-10
    assert np.max(np.abs(np.einsum("bj,bj->b", thetas[:, -1], Z[:, :d, -1]) - want)) < 1e-10


def test_structured_matrices_have_the_spec_shape():
    model = StructuredLSA(2, layers=1, seed=0)
    (P,), (Q,) = model.matrices()
    assert torch.all(P[:2] == 0) and torch.equal(P[2], torch.cat([model.bx[0], model.by[:1]]))
    assert torch.all(Q[:, 2] == 0)
    assert torch.equal(Q[:2, :2], -model.Abar[0]) and torch.equal(Q[2, :2], -model.a[0])


def test_seeded_init_and_errors():
    assert torch.equal(DenseLSA(2, seed=4).P[0], DenseLSA(2, seed=4).P[0])
    assert not torch.equal(DenseLSA(2, seed=4).P[0], DenseLSA(2, seed=5).P[0])
    with pytest.raises(MarkovICLError):
        one_layer_params(DenseLSA(2, layers=2, seed=0))
    with pytest.raises(MarkovICLError):
        DenseLSA(2, seed=0)(torch.zeros(3, 4, 5, dtype=torch.float64))
    with pytest.raises(MarkovICLError):
        DenseLSA(0)
    with pytest.raises(MarkovICLError):
        phi(torch.zeros(3), torch.zeros(2, 2))
