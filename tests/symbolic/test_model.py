"""The formulas written once (phi, the LSA layer, the layer update u_l) give the same values on every
number type: exact rationals, SymPy expressions, NumPy floats, torch tensors (float32 and float64).

Oracles: phi written out from its definition (:mod:`markov_icl.oracles`), the LSA layer as
explicit NumPy matrices with M = diag(1, ..., 1, 0), and u_l as an explicit loop over chains.
"""

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
import torch

from markov_icl import MarkovICLError, lsa_layer, phi
from markov_icl.oracles import phi_by_definition
from markov_icl.symbolic.model import bilinear_tensor
from markov_icl.symbolic.multilayer import update_step


@pytest.mark.parametrize("d", [1, 2, 4])
def test_phi_on_every_number_type(d):
    rng = np.random.default_rng(d)
    b = [Fraction(int(v), 3) for v in rng.integers(-4, 5, d + 1)]
    A = [[Fraction(int(v), 2) for v in rng.integers(-4, 5, d)] for _ in range(d + 1)]
    want = [sp.Rational(x.numerator, x.denominator) for x in phi_by_definition(b, A)]
    assert phi(b, A) == want
    bf, Af = np.array(b, dtype=float), np.array(A, dtype=float)
    assert np.allclose(phi(bf, Af), np.array(want, dtype=float), rtol=0, atol=1e-14)
    for dtype in (torch.float32, torch.float64):
        out = phi(torch.tensor(bf, dtype=dtype), torch.tensor(Af, dtype=dtype))
        assert out.dtype == dtype and np.allclose(out.numpy(), np.array(want, dtype=float), atol=1e-5)
    s = sp.symbols(f"b0:{d + 1}")
    symbolic = phi(list(s), A)
    assert [sp.expand(x.subs(dict(zip(s, b)))) for x in symbolic] == want
    T = bilinear_tensor(d)
    m = (d + 1) * (d + 2) // 2
    assert np.allclose(np.einsum("k,krl,lj->jr", bf, T, Af).reshape(-1), np.array(want, dtype=float))
    assert T.shape == (d + 1, m, d + 1)


def test_phi_is_differentiable_and_checks_shapes():
    b = torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64, requires_grad=True)
    A = torch.tensor([[0.1, 0.4], [0.7, -0.3], [0.2, 0.9]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(phi, (b, A))
    with pytest.raises(MarkovICLError):
        phi(torch.zeros(3), torch.zeros(2, 2))
    with pytest.raises(MarkovICLError):
        phi([1, 2, 3], [[1], [2], [3]])


def test_lsa_layer_against_explicit_matrices():
    rng = np.random.default_rng(3)
    Z = rng.normal(size=(5, 3, 7))
    P, Q = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    M = np.diag([1.0] * 6 + [0.0])
    want = np.stack([Zb + P @ Zb @ M @ Zb.T @ Q @ Zb / 6 for Zb in Z])
    got = lsa_layer(torch.tensor(Z), torch.tensor(P), torch.tensor(Q)).numpy()
    assert np.abs(got - want).max() < 1e-12
    Zs = np.array([[sp.Rational(1, 2), 1, 2], [0, 1, 0]], dtype=object)  # exact entries: two context chains
    exact = lsa_layer(Zs, np.array([[0, 0], [0, 1]], dtype=object), np.array([[1, 0], [0, 0]], dtype=object))
    Mx = sp.diag(1, 1, 0)
    Zm = sp.Matrix(Zs.tolist())
    ref = Zm + sp.Matrix([[0, 0], [0, 1]]) * Zm * Mx * Zm.T * sp.Matrix([[1, 0], [0, 0]]) * Zm / 2
    assert sp.Matrix(exact.tolist()) == ref


def test_update_step_against_a_loop_over_chains():
    rng = np.random.default_rng(5)
    d, n, B = 3, 4, 6
    Abar, a, bx, by = rng.normal(size=(d, d)), rng.normal(size=d), rng.normal(size=d), float(rng.normal())
    X, r = rng.normal(size=(B, d, n)), rng.normal(size=(B, n))
    want = np.stack([-sum((Abar.T @ X[k][:, i] + a * r[k][i]) * (bx @ X[k][:, i] + by * r[k][i]) for i in range(n)) / n
                     for k in range(B)])
    t = [torch.tensor(v) for v in (Abar, a, bx)]
    got = update_step(*t, torch.tensor(by, dtype=torch.float64), torch.tensor(X), torch.tensor(r), n).numpy()
    assert np.abs(got - want).max() < 1e-12
    ex = update_step(np.array(Abar, dtype=object), np.array(a, dtype=object), np.array(bx, dtype=object), by,
                     np.array(X[0], dtype=object), np.array(r[0], dtype=object), n)
    assert np.abs(np.array(ex, dtype=float) - want[0]).max() < 1e-12
