"""Importable formulas: lambdified NumPy / Torch values equal the exact rationals; Torch is differentiable
and follows the dtype and device of its inputs.

Oracles: exact rationals from the exact route (python-flint solve of the numeric system,
:func:`markov_icl.solve`) and, independent of the engine, enumeration of every prompt
(:mod:`markov_icl.oracles`), the published closed forms (theory §5), finite differences
(``torch.autograd.gradcheck``) and SymPy's derivative of the closed-form f~*.
"""

import numpy as np
import pytest
import sympy as sp
import torch

from markov_icl import functions, solve
from markov_icl.derivations import theorem_3_3
from markov_icl.errors import MarkovICLError
from markov_icl.oracles import closed_form_d1, enumerate_objective, objective_at_n

P_GRID = ["1/10", "1/3", "1/2", "7/10", "19/20"]
N_GRID = [1, 2, 5, 10, 137]


def _exact(d, pv, nv):
    sol = solve(d, pv, nv)
    return (np.array([float(x) for x in sol.X_star]), float(sol.f_tilde_star), sol.H_float,
            np.array([float(b) for b in sol.beta]), float(sol.E_y2))


def _grid():
    pg, ng = np.meshgrid([float(sp.Rational(x)) for x in P_GRID], N_GRID, indexing="ij")
    exact = [[_exact(1, pv, nv) for nv in N_GRID] for pv in P_GRID]
    return pg, ng, exact


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_theorem_3_3_callables_equal_exact_rationals(backend):
    pg, ng, exact = _grid()
    if backend == "torch":
        pg, ng = torch.tensor(pg), torch.tensor(ng)
    got = {name: getattr(theorem_3_3, name)(backend=backend)(pg, ng)
           for name in ("x_star", "f_tilde_star", "H", "beta", "E_y2")}
    got = {k: (v.detach().numpy() if backend == "torch" else v) for k, v in got.items()}
    assert got["x_star"].shape == (5, 5, 3) and got["H"].shape == (5, 5, 3, 3) and got["f_tilde_star"].shape == (5, 5)
    for i in range(len(P_GRID)):
        for j in range(len(N_GRID)):
            X, f, H, b, ey2 = exact[i][j]
            np.testing.assert_allclose(got["x_star"][i, j], X, rtol=0, atol=1e-12)
            assert abs(got["f_tilde_star"][i, j] - f) < 1e-12
            np.testing.assert_allclose(got["H"][i, j], H, rtol=0, atol=1e-12)
            np.testing.assert_allclose(got["beta"][i, j], b, rtol=0, atol=1e-12)
            assert abs(got["E_y2"][i, j] - ey2) < 1e-12
            # oracle: theory §5's closed forms of X* and f~* = 1/2 - beta^T X*
            _, _, cy2, cX, cf = closed_form_d1(sp.Rational(P_GRID[i]), N_GRID[j])
            np.testing.assert_allclose(got["x_star"][i, j], [float(x) for x in cX], rtol=0, atol=1e-12)
            assert abs(got["f_tilde_star"][i, j] - float(cf)) < 1e-12 and abs(got["E_y2"][i, j] - float(cy2)) < 1e-12


def test_published_points():
    x = theorem_3_3.x_star()(0.5, np.array([5.0, 10.0]))
    np.testing.assert_allclose(x[0], [1 / 6, 1 / 2, 1 / 2], atol=1e-14)
    np.testing.assert_allclose(x[1], [4 / 57, 52 / 57, 8 / 19], atol=1e-14)
    assert abs(theorem_3_3.f_tilde_star()(0.5, 5) - 35 / 96) < 1e-14


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_objective_any_d_equals_exact(d, backend):
    fns = functions(d, backend=backend)
    for pv, nv in [("1/3", 2), ("1/2", 10), ("4/5", 37)]:
        X, f, H, b, ey2 = _exact(d, pv, nv)
        pf = float(sp.Rational(pv))
        args = (torch.tensor(pf, dtype=torch.float64), torch.tensor(float(nv), dtype=torch.float64)) \
            if backend == "torch" else (pf, float(nv))
        gx = np.asarray(fns.X_star(*args))
        assert np.abs(gx - X).max() < 1e-10 * max(1.0, np.abs(X).max())
        assert abs(float(fns.f_tilde_star(*args)) - f) < 1e-12
        assert np.abs(np.asarray(fns.H(*args)) - H).max() < 1e-12
        if d == 2:  # oracle: H, beta, E[y^2] from enumerating every prompt, X* by SymPy's LU solve
            He, be, ye = objective_at_n(d, nv, pv)
            Xe = He.LUsolve(be)
            assert np.abs(np.asarray(fns.H(*args)) - np.array(He.tolist(), dtype=float)).max() < 1e-12
            assert np.abs(np.asarray(fns.beta(*args)) - np.array(be.tolist(), dtype=float)[:, 0]).max() < 1e-12
            assert np.abs(gx - np.array(Xe.tolist(), dtype=float)[:, 0]).max() < 1e-10 * max(1.0, np.abs(X).max())
            assert abs(float(fns.f_tilde_star(*args)) - float(ye - (be.T * Xe)[0])) < 1e-12
    if d == 3:  # oracle at n = 1, where enumerating every prompt is fast enough at d = 3
        He, be, ye = enumerate_objective(3, 1, sp.Rational(1, 3))
        Xe = He.LUsolve(be)
        args = (torch.tensor(1 / 3, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)) \
            if backend == "torch" else (1 / 3, 1.0)
        assert np.abs(np.asarray(fns.H(*args)) - np.array(He.tolist(), dtype=float)).max() < 1e-12
        assert np.abs(np.asarray(fns.beta(*args)) - np.array(be.tolist(), dtype=float)[:, 0]).max() < 1e-12
        assert abs(float(fns.E_y2(*args)) - float(ye)) < 1e-12
        Xf = np.array(Xe.tolist(), dtype=float)[:, 0]
        assert np.abs(np.asarray(fns.X_star(*args)) - Xf).max() < 1e-9 * max(1.0, np.abs(Xf).max())
        assert abs(float(fns.f_tilde_star(*args)) - float(ye - (be.T * Xe)[0])) < 1e-12


def test_torch_gradcheck_float64():
    xs = theorem_3_3.x_star(backend="torch")
    fs = theorem_3_3.f_tilde_star(backend="torch")
    p = torch.tensor([0.2, 0.5, 0.85], dtype=torch.float64, requires_grad=True)
    n = torch.tensor([3.0, 10.0, 40.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: xs(a, b), (p, n))
    assert torch.autograd.gradcheck(lambda a, b: fs(a, b), (p, n))
    assert torch.autograd.gradcheck(lambda a, b: theorem_3_3.H(backend="torch")(a, b), (p, n))
    f2 = functions(2, backend="torch")
    p2 = torch.tensor([0.3, 0.6], dtype=torch.float64, requires_grad=True)
    n2 = torch.tensor([4.0, 12.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: f2.X_star(a, b), (p2, n2))


def test_gradient_matches_exact_derivative():
    # d f~*/dp at (1/2, 5) from the exact rational function, differentiated by SymPy
    from markov_icl.derivations.formulas import exact_d1
    from markov_icl.symbolic.laws import N_SYMBOL, P_SYMBOL

    f = exact_d1()["f_tilde_star"]
    want = float(sp.diff(f, P_SYMBOL).subs({P_SYMBOL: sp.Rational(1, 2), N_SYMBOL: 5}))
    p = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    theorem_3_3.f_tilde_star(backend="torch")(p, torch.tensor(5.0, dtype=torch.float64)).backward()
    assert abs(p.grad.item() - want) < 1e-12
    # oracle: the derivative of theory §5's closed form f~* = 1/2 - beta^T X*, by SymPy
    ps = sp.Symbol("p")
    closed = closed_form_d1(ps, 5)[4]
    assert abs(p.grad.item() - float(sp.diff(closed, ps).subs(ps, sp.Rational(1, 2)))) < 1e-12


def test_bad_backend():
    with pytest.raises(MarkovICLError, match="backend"):
        theorem_3_3.x_star(backend="jax")
    with pytest.raises(MarkovICLError, match="backend"):
        functions(2, backend="jax")


def test_theorem_3_3_H_beta_equal_the_published_closed_forms():
    """The closed forms of H and beta (d = 1, theory §5), evaluated on a grid, against the exported callables."""
    p = np.linspace(0.05, 0.95, 7)[:, None]
    n = np.array([1.0, 2.0, 5.0, 10.0, 37.0])[None, :]
    h11 = p**2 * (1 + (n - 1) * p) / n
    h23 = p**2 * (3 * (n + 1) + (n - 1) * p) / (12 * n)
    spec_H = [[h11, h11 / 2, p**2 / 2 + 0 * n],
              [h11 / 2, p**2 * (3 + 2 * (n - 1) * p) / (6 * n), h23],
              [p**2 / 2 + 0 * n, h23, p * (2 * n + 1 - (n - 1) * p * (1 - p)) / (6 * n)]]
    spec_beta = [p**2 / 2 + 0 * n, p**2 / 3 + 0 * n, p**2 / 12 + p / 4 + 0 * n]
    H = theorem_3_3.H()(p, n)
    beta = theorem_3_3.beta()(p, n)
    for u in range(3):
        np.testing.assert_allclose(beta[..., u], spec_beta[u], rtol=1e-13, atol=0)
        for v in range(3):
            np.testing.assert_allclose(H[..., u, v], spec_H[u][v], rtol=1e-13, atol=0)


@pytest.mark.parametrize("d", [1, 2])
def test_exports_follow_the_dtype_of_their_inputs(d):
    """float32 in, float32 out (NumPy and torch), and the values still match the exact ones to float32 precision."""
    X, f, *_ = _exact(d, "1/2", 10)
    # oracle for the reference values: theory §5 at d = 1, enumeration of every prompt at d = 2
    He, be, ye = closed_form_d1(sp.Rational(1, 2), 10)[:3] if d == 1 else objective_at_n(2, 10, "1/2")
    Xe = He.LUsolve(be)
    assert np.abs(X - np.array(Xe.tolist(), dtype=float)[:, 0]).max() < 1e-12 and abs(f - float(ye - (be.T * Xe)[0])) < 1e-12
    fn = functions(d)
    x32 = fn.X_star(np.float32(0.5), np.float32(10.0))
    assert x32.dtype == np.float32 and np.abs(x32 - X).max() < 1e-4 * max(1, np.abs(X).max())
    assert fn.X_star(0.5, 10).dtype == np.float64
    ft = functions(d, backend="torch")
    p32 = torch.tensor([0.5], dtype=torch.float32)
    for name in ("H", "beta", "E_y2", "X_star", "f_tilde_star"):
        out = getattr(ft, name)(p32, 10.0)
        assert out.dtype == torch.float32, name
    assert abs(float(ft.f_tilde_star(p32, 10.0)[0]) - f) < 1e-5
    assert ft.X_star(torch.tensor(0.5, dtype=torch.float64), 10).dtype == torch.float64
    assert ft.X_star(0.5, 10).dtype == torch.float64  # plain numbers: float64


def test_torch_exports_run_on_the_meta_device():
    """Constants are created on the input's device: a meta tensor gives meta results of the right shape."""
    ft = functions(2, backend="torch")
    p = torch.empty(4, 3, device="meta", dtype=torch.float32)
    for name, shape in (("H", (4, 3, 12, 12)), ("beta", (4, 3, 12)), ("X_star", (4, 3, 12)), ("f_tilde_star", (4, 3))):
        out = getattr(ft, name)(p, torch.tensor(10.0, device="meta"))
        assert out.device.type == "meta" and out.dtype == torch.float32 and tuple(out.shape) == shape, name
    closed = theorem_3_3.x_star(backend="torch")(p, torch.tensor(5.0, device="meta"))
    assert closed.device.type == "meta" and tuple(closed.shape) == (4, 3, 3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_torch_exports_on_cuda():
    ft = functions(2, backend="torch")
    p = torch.tensor([0.5], device="cuda", dtype=torch.float64)
    X, *_ = _exact(2, "1/2", 10)
    got = ft.X_star(p, 10.0)
    assert got.device.type == "cuda"
    assert np.abs(got.cpu().numpy()[0] - X).max() < 1e-10 * max(1, np.abs(X).max())
    He, be, _ = objective_at_n(2, 10, "1/2")  # oracle: enumeration of every prompt, SymPy's LU solve
    Xe = np.array(He.LUsolve(be).tolist(), dtype=float)[:, 0]
    assert np.abs(got.cpu().numpy()[0] - Xe).max() < 1e-10 * max(1, np.abs(Xe).max())
