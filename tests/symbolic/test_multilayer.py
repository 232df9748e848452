"""Theorem 4.1 (theory §7): structured multilayer LSA = recursion theta_{l+1} = theta_l + u_l
= preconditioned gradient steps on R1, R2. Exact polynomial identities, fully symbolic prompts.

Coverage of "forward pass = recursion" for d <= 3, n <= 3, L <= 3:

* ``check_step_identity(d, n)`` for every d, n <= 3: one structured layer maps
  ``Z(theta)`` to ``Z(theta + u(theta))`` with theta a vector of *free symbols*. Substituting
  ``theta := theta_l`` (a ring homomorphism) gives layer l + 1 from layer l, so by induction
  this proves the forward identity for every L, in particular L <= 3.
* ``check_forward_identity(d, n, L)`` expands the whole L-layer forward pass over
  QQ[x, y, params] and compares it with the expanded recursion. Its size grows like a
  tower in L (d = 2, n = 2, L = 3 does not finish in minutes), so CI runs it directly for
  every d, n <= 3 with L <= 2, and for L = 3 at (d, n) in {(1, 1), (1, 2), (1, 3), (2, 1)}.
* An independent oracle (plain ``sympy.Matrix`` products of theory §2, no code from
  symbolic/multilayer.py's ring machinery) for d = 1, 2 small and, with random rationals
  for every input and parameter, up to L = 4.
* Negative controls: the wrong sign of Q, a perturbed recursion and real (non-binary)
  ``x_{k,d}`` in the gradient identity must all fail.
"""

from __future__ import annotations

import random

import pytest
import sympy as sp

from markov_icl.errors import MarkovICLError
from markov_icl.symbolic.multilayer import (
    LayerParams,
    SymbolicPrompt,
    check_forward_identity,
    check_gradient_identity,
    check_step_identity,
    latex_statement,
    preconditioned_step,
    theta_recursion,
    update_vector,
)

GRID = [(d, n) for d in (1, 2, 3) for n in (1, 2, 3)]
FORWARD_L3 = [(1, 1), (1, 2), (1, 3), (2, 1)]


# -- the oracle: theory §2 written out with sympy.Matrix ------------------------------------

def spec_forward(Z0: sp.Matrix, PQ: list[tuple[sp.Matrix, sp.Matrix]], n: int) -> list[sp.Matrix]:
    """``Z_{l+1} = Z_l + (1/n) P_l Z_l M Z_l^T Q_l Z_l``, ``M = diag(1,..,1,0)`` (theory §2)."""
    M = sp.diag(*([1] * n + [0]))
    Zs = [Z0]
    for P, Q in PQ:
        Z = Zs[-1]
        Zs.append((Z + P * Z * M * Z.T * Q * Z / n).applyfunc(sp.expand))
    return Zs


def spec_PQ(lay: LayerParams) -> tuple[sp.Matrix, sp.Matrix]:
    """theory §7 written out again: P zero but last row (bx, by); Q = -[[Abar, 0], [a^T, 0]]."""
    d = lay.d
    P = sp.zeros(d + 1, d + 1)
    P[d, :] = sp.Matrix([[*lay.bx, lay.by]])
    Q = sp.zeros(d + 1, d + 1)
    Q[:d, :d] = -sp.Matrix(lay.Abar)
    Q[d, :d] = -sp.Matrix([list(lay.a)])
    return P, Q


# -- direct identities -------------------------------------------------------------------

@pytest.mark.parametrize("d,n", GRID)
def test_step_identity_every_d_n(d, n):
    """The induction step: proves forward = recursion for every L at this (d, n)."""
    res = check_step_identity(d, n)
    assert res.holds, res
    assert res.terms > 0


@pytest.mark.parametrize("d,n", GRID)
@pytest.mark.parametrize("L", [1, 2])
def test_forward_identity_expanded(d, n, L):
    res = check_forward_identity(d, n, L)
    assert res.holds, res


@pytest.mark.parametrize("d,n", FORWARD_L3)
def test_forward_identity_expanded_three_layers(d, n):
    res = check_forward_identity(d, n, 3)
    assert res.holds, res


@pytest.mark.parametrize("d,n", GRID)
def test_preconditioned_gradients_sum_to_u(d, n):
    """``Abar^T grad R1 + a e_d^T grad R2 = u_l`` at ``w = -theta`` (binary x_{k,d})."""
    res = check_gradient_identity(d, n, binary=True)
    assert res.holds, res


@pytest.mark.parametrize("d,n", [(2, 2), (3, 1)])
def test_gradient_identity_other_anchor(d, n):
    """The a_l-part is a scalar; any coordinate with binary inputs can carry it."""
    assert check_gradient_identity(d, n, binary=True, anchor=1).holds


# -- negative controls: each must fail -------------------------------------------------

@pytest.mark.parametrize("d,n,L", [(1, 1, 1), (1, 2, 2), (2, 2, 1), (3, 2, 1)])
def test_wrong_sign_of_Q_breaks_forward_identity(d, n, L):
    res = check_forward_identity(d, n, L, q_sign=+1)
    assert not res.holds


@pytest.mark.parametrize("d,n", [(1, 1), (2, 2), (3, 3)])
def test_gradient_identity_fails_for_real_last_inputs(d, n):
    """C and V_i are antiderivatives only for binary x_{k,d}: over the reals the identity fails."""
    res = check_gradient_identity(d, n, binary=False)
    assert not res.holds
    assert res.terms > 0 and "nonzero" in res.detail


def test_perturbed_recursion_differs_from_forward_pass():
    """A recursion with theta_{l+1} = theta_l + 2 u_l (or with u_l's sign flipped) does not
    match the theory §2 forward pass, computed by the independent Matrix oracle."""
    d, n, L = 1, 2, 2
    pr = SymbolicPrompt(d, n)
    layers = [LayerParams.symbols(d, l) for l in range(1, L + 1)]
    Zs = spec_forward(pr.Z0(), [spec_PQ(lay) for lay in layers], n)
    X, y = pr.X, pr.y
    theta = [sp.Integer(0)] * d
    bad2 = [sp.Integer(0)] * d
    badneg = [sp.Integer(0)] * d
    def step(lay, th, scale):
        r = [y[k] + sum(th[i] * X[k][i] for i in range(d)) for k in range(n)]
        return [t + scale * u for t, u in zip(th, update_vector(lay, X, r, n))]

    for lay in layers:
        theta, bad2, badneg = step(lay, theta, 1), step(lay, bad2, 2), step(lay, badneg, -1)
    xq = X[n]
    good = sp.expand(Zs[-1][d, n] - sum(theta[i] * xq[i] for i in range(d)))
    assert good == 0
    for bad in (bad2, badneg):
        assert sp.expand(Zs[-1][d, n] - sum(bad[i] * xq[i] for i in range(d))) != 0


# -- independent oracle ------------------------------------------------------------------

@pytest.mark.parametrize("d,n,L", [(1, 1, 2), (1, 2, 2), (2, 1, 2), (2, 2, 1)])
def test_theta_recursion_matches_matrix_oracle_symbolically(d, n, L):
    """Fully symbolic: every column of Z_l from theory §2 matrices equals (x, y + <theta_l, x>)."""
    pr = SymbolicPrompt(d, n)
    layers = [LayerParams.symbols(d, l) for l in range(1, L + 1)]
    Zs = spec_forward(pr.Z0(), [spec_PQ(lay) for lay in layers], n)
    thetas = theta_recursion(layers, pr.X, pr.y, n)
    for l, Z in enumerate(Zs):
        th = thetas[l]
        for c in range(n + 1):
            x = pr.X[c]
            lab = pr.y[c] if c < n else 0
            assert [sp.expand(Z[i, c] - x[i]) for i in range(d)] == [0] * d
            assert sp.expand(Z[d, c] - lab - sum(th[i] * x[i] for i in range(d))) == 0


@pytest.mark.parametrize("d,n,L", [(1, 3, 4), (2, 3, 4), (3, 3, 3), (3, 5, 4)])
def test_theta_recursion_matches_matrix_oracle_at_random_rationals(d, n, L):
    rnd = random.Random(1000 * d + 10 * n + L)

    def q():
        return sp.Rational(rnd.randint(-9, 9), rnd.randint(1, 5))

    X = [[q() for _ in range(d)] for _ in range(n + 1)]
    y = [q() for _ in range(n)]
    layers = [LayerParams(tuple(q() for _ in range(d)), q(), tuple(tuple(q() for _ in range(d)) for _ in range(d)),
                          tuple(q() for _ in range(d))) for _ in range(L)]
    Z0 = sp.Matrix([list(x) + [lab] for x, lab in zip(X, y + [0])]).T
    Zs = spec_forward(Z0, [spec_PQ(lay) for lay in layers], n)
    thetas = theta_recursion(layers, X, y, n)
    for l, Z in enumerate(Zs):
        pred = sum(thetas[l][i] * X[n][i] for i in range(d))
        assert Z[d, n] == pred
        assert all(Z[d, k] == y[k] + sum(thetas[l][i] * X[k][i] for i in range(d)) for k in range(n))
    # and the recursion is not trivially zero here
    assert any(t != 0 for t in thetas[-1])


def test_preconditioned_step_at_binary_numbers():
    """At numbers with binary x_{k,d}, the preconditioned step equals u_l exactly; with a
    non-binary x_{k,d} it does not."""
    rnd = random.Random(7)
    d, n = 3, 4

    def q():
        return sp.Rational(rnd.randint(-9, 9), rnd.randint(1, 4))

    lay = LayerParams(tuple(q() for _ in range(d)), q(), tuple(tuple(q() for _ in range(d)) for _ in range(d)),
                      tuple(q() for _ in range(d)))
    w = [sp.Symbol(f"w_{i}") for i in range(1, d + 1)]
    w0 = {wi: q() for wi in w}
    X = [[q(), q(), sp.Integer(rnd.randint(0, 1))] for _ in range(n)]
    y = [q() for _ in range(n)]
    step = [s.subs(w0) for s in preconditioned_step(lay, w, X, y, n)]
    r = [y[k] - sum(w0[w[i]] * X[k][i] for i in range(d)) for k in range(n)]
    assert step == update_vector(lay, X, r, n)
    X[0][2] = sp.Rational(1, 2)
    step = [s.subs(w0) for s in preconditioned_step(lay, w, X, y, n)]
    r = [y[k] - sum(w0[w[i]] * X[k][i] for i in range(d)) for k in range(n)]
    assert step != update_vector(lay, X, r, n)


# -- bad input and display ---------------------------------------------------------------

@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_sizes_raise(bad):
    for f in (lambda: check_forward_identity(bad, 1, 1), lambda: check_forward_identity(1, bad, 1),
              lambda: check_forward_identity(1, 1, bad), lambda: check_step_identity(bad, 1),
              lambda: check_gradient_identity(1, bad)):
        with pytest.raises(MarkovICLError):
            f()


def test_latex_statement_has_R1_R2():
    tex = latex_statement()
    for key in ("update", "theta", "step", "R1", "R2", "L_sq", "T", "C", "V"):
        assert tex[key].strip()
    assert r"\tfrac13" in tex["C"]
