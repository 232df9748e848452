"""The float exports' fast path (``H = sum_k w_k M_k`` contracted by one matrix product, a chunked
batched Cholesky solve with an LU fallback): values, dtypes, gradients and chunking.

Oracles: the exact rational route (:func:`markov_icl.solve`, python-flint), exact rational
finite differences of it, central finite differences of the NumPy export, ``numpy.linalg.solve``
point by point, and the exact rank of H (:meth:`ObjectiveTerms.numeric`).
"""

import numpy as np
import pytest
import sympy as sp
import torch

import markov_icl.symbolic.export as export
from markov_icl import functions, solve
from markov_icl.errors import MarkovICLError
from markov_icl.symbolic.objective import ObjectiveTerms


def _rel(got, want) -> float:
    """max |got - want| / max |want| over the last axis, worst over the batch."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    return float((np.abs(got - want).max(-1) / np.abs(want).max(-1)).max())


def _exact(d, p, n):
    sol = solve(d, p, n)
    return np.array([float(x) for x in sol.X_star]), float(sol.f_tilde_star)


def _np(x):
    return x.detach().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


@pytest.fixture(scope="module")
def exact_d8():
    return _exact(8, "1/2", 10)  # ~2 s


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_d8_agrees_with_the_exact_solve(exact_d8, backend):
    """At d = 8 (dm = 360) X* and f~* at (1/2, 10) match the exact rationals to 1e-9, also when
    the point sits in the second chunk of a batch of 40 (32 points per chunk at d = 8)."""
    X, f = exact_d8
    fns = functions(8, backend=backend)
    rng = np.random.default_rng(1)
    p = rng.uniform(0.1, 0.9, 40)
    n = rng.uniform(2, 50, 40)
    p[37], n[37] = 0.5, 10.0
    if backend == "torch":
        p, n = torch.tensor(p), torch.tensor(n)
    Xb = _np(fns.X_star(p, n))
    assert Xb.shape == (40, 360)
    assert _rel(Xb[37], X) < 1e-9
    assert _rel(fns.X_star(0.5, 10), X) < 1e-9
    assert abs(float(fns.f_tilde_star(0.5, 10)) - f) < 1e-9 * abs(f)
    assert abs(float(_np(fns.f_tilde_star(p, n))[37]) - f) < 1e-9 * abs(f)


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_batched_inputs_of_mixed_shapes_broadcast(d, backend):
    """p of shape (3, 1) against n of shape (2,): every entry of the (3, 2) batch is the exact X*."""
    ps, ns = ["1/5", "1/2", "4/5"], [3, 25]
    p = np.array([float(sp.Rational(x)) for x in ps])[:, None]
    n = np.array(ns, dtype=float)
    fns = functions(d, backend=backend)
    if backend == "torch":
        p, n = torch.tensor(p), torch.tensor(n)
    X = _np(fns.X_star(p, n))
    F = _np(fns.f_tilde_star(p, n))
    dm = d * (d + 1) * (d + 2) // 2
    assert X.shape == (3, 2, dm) and F.shape == (3, 2)
    assert _np(fns.H(p, n)).shape == (3, 2, dm, dm) and _np(fns.beta(p, n)).shape == (3, 2, dm)
    for i, pv in enumerate(ps):
        for j, nv in enumerate(ns):
            Xe, fe = _exact(d, pv, nv)
            assert _rel(X[i, j], Xe) < 1e-9, (pv, nv)
            assert abs(F[i, j] - fe) < 1e-9 * abs(fe), (pv, nv)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_float32_in_float32_out(backend):
    Xe, fe = _exact(3, "1/2", 10)
    fns = functions(3, backend=backend)
    p = np.array([0.5, 0.5], dtype=np.float32)
    n = np.array([10.0], dtype=np.float32)
    if backend == "torch":
        p, n = torch.from_numpy(p), torch.from_numpy(n)
    want = np.float32 if backend == "numpy" else torch.float32
    for name in ("H", "beta", "E_y2", "X_star", "f_tilde_star"):
        assert getattr(fns, name)(p, n).dtype == want, name
    assert fns.X_star(p, 10).dtype == want  # a plain number does not promote
    assert _rel(_np(fns.X_star(p, n)), Xe) < 1e-3  # float32 precision, cond(H) ~ 1e3 at d = 3
    assert np.abs(_np(fns.f_tilde_star(p, n)) - fe).max() < 1e-4
    if backend == "numpy":  # half precision is solved in float32 and handed back as float16
        assert fns.X_star(np.float16(0.5), np.float16(10)).dtype == np.float16


def test_torch_gradient_matches_finite_differences():
    """d f~*/dp and d f~*/dn by autograd (float64) against central differences of the NumPy export
    and, independently of the exports, exact rational central differences of the exact solve."""
    d, n0 = 3, 10
    ft, fn = functions(d, backend="torch"), functions(d)
    pts = np.array([0.3, 0.5, 0.7])
    p = torch.tensor(pts, requires_grad=True)
    n = torch.tensor([n0] * 3, dtype=torch.float64, requires_grad=True)
    ft.f_tilde_star(p, n).sum().backward()
    h = 1e-5
    fd_p = (fn.f_tilde_star(pts + h, n0) - fn.f_tilde_star(pts - h, n0)) / (2 * h)
    fd_n = (fn.f_tilde_star(pts, n0 + 1e-3) - fn.f_tilde_star(pts, n0 - 1e-3)) / 2e-3
    np.testing.assert_allclose(p.grad.numpy(), fd_p, rtol=1e-6, atol=0)
    np.testing.assert_allclose(n.grad.numpy(), fd_n, rtol=1e-6, atol=0)
    H = sp.Rational(1, 10**4)
    pe = sp.Rational(1, 2)
    exact_fd = (solve(d, pe + H, n0).f_tilde_star - solve(d, pe - H, n0).f_tilde_star) / (2 * H)
    assert abs(p.grad[1].item() - float(exact_fd)) < 1e-6 * abs(float(exact_fd))


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_chunked_equals_unchunked(monkeypatch, backend):
    """One point per chunk, 3 per chunk (a remainder of 1) and one chunk give the same X*, f~* (and,
    in torch, the same gradient); the one-point chunks also match the exact X*."""
    d, dm = 2, 12
    fns = functions(d, backend=backend)
    rng = np.random.default_rng(2)
    p0, n0 = rng.uniform(0.1, 0.9, 7), rng.uniform(1, 40, 7)
    p0[4], n0[4] = 0.5, 10.0
    runs = []
    for entries, per_chunk in ((1, 1), (3 * dm * dm, 3), (1 << 40, 7)):
        monkeypatch.setattr(export, "CHUNK_ENTRIES", entries)
        assert export._chunk(dm, 7) == per_chunk
        p = torch.tensor(p0, requires_grad=True) if backend == "torch" else p0
        n = torch.tensor(n0) if backend == "torch" else n0
        X, F = fns.X_star(p, n), fns.f_tilde_star(p, n)
        grad = torch.autograd.grad(F.sum(), p)[0].numpy() if backend == "torch" else np.zeros(7)
        runs.append((_np(X), _np(F), grad))
    for X, F, grad in runs[:2]:  # equal up to rounding (the BLAS blocking differs with the chunk width)
        assert _rel(X, runs[2][0]) < 1e-11
        np.testing.assert_allclose(F, runs[2][1], rtol=1e-12, atol=0)
        np.testing.assert_allclose(grad, runs[2][2], rtol=1e-9, atol=1e-12)
    assert _rel(runs[0][0][4], _exact(d, "1/2", 10)[0]) < 1e-9


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_lu_fallback_where_cholesky_fails(backend):
    """A symmetric indefinite (nonsingular) H in a batch of positive definite ones: Cholesky fails
    there, LU solves it; every point matches numpy.linalg.solve."""
    rng = np.random.default_rng(3)
    A = rng.normal(size=(5, 5))
    spd = A @ A.T + 5 * np.eye(5)
    indefinite = np.diag([3.0, -1.0, 2.0, 1.0, -4.0]) + 0.1 * (A + A.T)
    C = np.stack([spd.reshape(-1), indefinite.reshape(-1)])
    W = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 0.0], [0.0, 1.5]])
    beta = rng.normal(size=(4, 5))
    want = np.stack([np.linalg.solve((W[i] @ C).reshape(5, 5), beta[i]) for i in range(4)])
    assert np.linalg.eigvalsh(indefinite).min() < 0 < abs(np.linalg.det(indefinite))
    p, n = np.arange(4.0), np.ones(4)
    if backend == "numpy":
        got = export._solve_numpy(W, C, beta, p, n)
    else:
        Wt = torch.tensor(W, requires_grad=True)
        got = export._solve_torch(Wt, torch.tensor(C), torch.tensor(beta), torch.tensor(p), torch.tensor(n))
        got.sum().backward()
        assert torch.isfinite(Wt.grad).all()
        got = got.detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_singular_H_is_a_clear_error(backend):
    """At p = 0, H(0, n) is singular (exact rank < dm): X* raises MarkovICLError naming the point."""
    H, _, _ = ObjectiveTerms(2).numeric(p=0, n=10)
    assert H.rank() < 12
    fns = functions(2, backend=backend)
    p = np.array([0.5, 0.0]) if backend == "numpy" else torch.tensor([0.5, 0.0])
    with pytest.raises(MarkovICLError, match=r"singular at p = 0\.0, n = 10\.0"):
        fns.X_star(p, 10.0)


def test_torch_meta_and_empty_batches(monkeypatch):
    """Chunked meta tensors give meta results of the right shape; an empty batch gives an empty result."""
    monkeypatch.setattr(export, "CHUNK_ENTRIES", 144 * 5)  # 5 points per chunk at d = 2
    ft = functions(2, backend="torch")
    p = torch.empty(4, 3, device="meta", dtype=torch.float32)
    X, F = ft.X_star(p, 10.0), ft.f_tilde_star(p, 10.0)
    assert X.device.type == "meta" and X.dtype == torch.float32 and tuple(X.shape) == (4, 3, 12)
    assert F.device.type == "meta" and tuple(F.shape) == (4, 3)
    assert tuple(ft.X_star(torch.zeros(0, dtype=torch.float64), 10.0).shape) == (0, 12)
    assert functions(2).X_star(np.zeros((2, 0)), 10.0).shape == (2, 0, 12)
