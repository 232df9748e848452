"""Theorem 4.1: a structured multilayer LSA is preconditioned gradient descent on two objectives.

Structured layers (theory §7): ``P_l`` is zero but its last row ``b_l^T = (bx_l^T, by_l)``
and ``Q_l = -[[Abar_l, 0], [a_l^T, 0]]``. Plugged into the LSA update of theory §2,
``Z_{l+1} = Z_l + (1/n) P_l Z_l M Z_l^T Q_l Z_l``, only the last row moves and every
column gains the same linear function of its inputs:

    y_i^(l+1) = y_i^(l) + <u_l, x_i>,
    u_l = -(1/n) sum_{k<=n} (Abar_l^T x_k + a_l r_k)(bx_l^T x_k + by_l r_k),   r_k = y_k^(l),

so ``[Z_l]_{d+1,n+1} = <theta_l, x_q>`` with ``theta_0 = 0``, ``theta_{l+1} = theta_l + u_l``
and ``r_k = y_k + <theta_l, x_k> = y_k - w^T x_k`` for ``w = -theta_l``. The update of ``w``
splits into an ``Abar_l``-part and an ``a_l``-part (derived here, checked below):

    w_{l+1} = w_l - Abar_l^T grad R1_l(w_l) - a_l e_d^T grad R2_l(w_l),

    R1_l(w) = (by_l / 2n) L_sq(w) - (1/n) sum_i bx_{l,i} T_i(w),
    R2_l(w) = (by_l / n) C(w)     + (1/n) sum_i bx_{l,i} V_i(w),

with the parameter-free objectives (``r_k(w) = y_k - w^T x_k``,
``rbar_k(w) = y_k - <w_{:d-1}, x_{k,:d-1}>``, i.e. ``r_k`` without its ``w_d`` term):

    L_sq(w) = sum_k (w^T x_k - y_k)^2                                   (squared loss)
    T_i(w)  = sum_k x_{k,i} (w^T x_k - y_k)                             (linear terms)
    C(w)    = sum_k [ (1/3) x_{k,d} r_k^3 - (1 - x_{k,d}) rbar_k^2 w_d ]   (cubic)
    V_i(w)  = sum_k x_{k,i} [ (1/2) x_{k,d} r_k^2 - (1 - x_{k,d}) rbar_k w_d ].

``C`` and ``V_i`` are antiderivatives in ``w_d`` of ``-sum_k r_k^2`` and
``-sum_k x_{k,i} r_k``; they are exact when every ``x_{k,d}`` is binary (for
``x_{k,d} = 1`` the term is ``(1/3) r^3``, for ``x_{k,d} = 0`` it is ``-rbar^2 w_d``), so
the gradient identity holds in the quotient ring ``Q[...] / (x_{k,d}^2 - x_{k,d})`` and
fails for real ``x_{k,d}`` (both are checked). All other inputs stay arbitrary reals.

The checks use fully symbolic prompts: every ``x_{k,i}``, ``y_k`` and every layer
parameter is a SymPy symbol; polynomial identities are decided exactly in SymPy's sparse
polynomial ring over QQ (:func:`sympy.polys.rings.ring`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import sympy as sp
from sympy.polys.domains import QQ
from sympy.polys.rings import ring

from markov_icl.errors import MarkovICLError, check_int
from markov_icl.symbolic.model import lsa_layer

#: names of the parameter-free objectives, in display order
R1_TERMS = "L_sq", "T"
R2_TERMS = "C", "V"


@dataclass(frozen=True)
class LayerParams:
    """The structured parameters of one layer (theory §7), as SymPy symbols or numbers.

    Attributes:
        bx: ``(d,)`` the first d entries of the last row of ``P_l``.
        by: the last entry of that row.
        Abar: ``d x d`` block of ``-Q_l``.
        a: ``(d,)`` last row of ``-Q_l`` (first d entries).
    """

    bx: tuple
    by: sp.Expr
    Abar: tuple  # rows
    a: tuple

    @property
    def d(self) -> int:
        return len(self.bx)

    @staticmethod
    def symbols(d: int, l: int) -> "LayerParams":
        """Fresh symbols ``bx_{l,i}, by_l, Abar_{l,ij}, a_{l,i}`` for layer ``l``."""
        bx = tuple(sp.Symbol(f"bx_{l}_{i}") for i in range(1, d + 1))
        Abar = tuple(tuple(sp.Symbol(f"Abar_{l}_{i}{j}") for j in range(1, d + 1)) for i in range(1, d + 1))
        a = tuple(sp.Symbol(f"a_{l}_{i}") for i in range(1, d + 1))
        return LayerParams(bx, sp.Symbol(f"by_{l}"), Abar, a)

    @property
    def free_symbols(self) -> list[sp.Symbol]:
        vals = [*self.bx, self.by, *(x for row in self.Abar for x in row), *self.a]
        return [v for v in vals if isinstance(v, sp.Symbol)]

    def matrices(self) -> tuple[sp.Matrix, sp.Matrix]:
        """``(P_l, Q_l)`` of theory §7 (:func:`structured_matrices`) as SymPy matrices."""
        P, Q = structured_matrices(np.array(self.bx, dtype=object), self.by, np.array(self.Abar, dtype=object),
                                   np.array(self.a, dtype=object), lambda shape: np.zeros(shape, dtype=object))
        return sp.Matrix(P.tolist()), sp.Matrix(Q.tolist())


def structured_matrices(bx, by, Abar, a, zeros):
    """Theorem 4.1's layer (theory §7): ``P_l`` zero but its last row ``(bx^T, by)`` and
    ``Q_l = -[[Abar, 0], [a^T, 0]]``, both ``(d+1) x (d+1)``.

    ``zeros(shape)`` makes the container (``np.zeros(.., dtype=object)`` for exact entries,
    ``torch.zeros`` for tensors; assignment keeps the tensors differentiable).
    """
    d = len(bx)
    P, Q = zeros((d + 1, d + 1)), zeros((d + 1, d + 1))
    P[d, :d] = bx
    P[d, d] = by
    Q[:d, :d] = -Abar
    Q[d, :d] = -a
    return P, Q


@dataclass(frozen=True)
class SymbolicPrompt:
    """A fully symbolic prompt: ``x_{k,i}`` (k = 1..n, and q for the query), ``y_k``."""

    d: int
    n: int

    @cached_property
    def X(self) -> list[list[sp.Symbol]]:
        """Columns ``x_1..x_n, x_q`` as lists of d symbols."""
        cols = [[sp.Symbol(f"x_{k}_{i}") for i in range(1, self.d + 1)] for k in range(1, self.n + 1)]
        cols.append([sp.Symbol(f"x_q_{i}") for i in range(1, self.d + 1)])
        return cols

    @cached_property
    def y(self) -> list[sp.Symbol]:
        return [sp.Symbol(f"y_{k}") for k in range(1, self.n + 1)]

    def Z0(self) -> sp.Matrix:
        """The embedding of theory §1: columns ``(x_k, y_k)`` and ``(x_q, 0)``."""
        cols = [list(x) + [y] for x, y in zip(self.X, self.y)] + [list(self.X[-1]) + [sp.Integer(0)]]
        return sp.Matrix(cols).T

    @property
    def symbols(self) -> list[sp.Symbol]:
        return [s for col in self.X for s in col] + list(self.y)


# -- the recursion and the objectives (plain SymPy expressions, any inputs) ---------------

def update_step(Abar, a, bx, by, X, r, n):
    """``u_l = -(1/n) sum_{k<=n} (Abar^T x_k + a r_k)(bx^T x_k + by r_k)`` (theory §7, Theorem 4.1).

    The one home of the layer update: the symbolic checks call it on NumPy object arrays of
    SymPy expressions or polynomial-ring elements, the numeric model on (batched) tensors.

    Args:
        Abar: ``(d, d)``; a, bx: ``(d,)``; by: a scalar (the layer's parameters).
        X: ``(..., d, n)`` the context inputs as columns; r: ``(..., n)`` the residuals ``y_k^(l)``.
        n: the number of context chains.

    Returns:
        ``(..., d)``.
    """
    left = Abar.swapaxes(-1, -2) @ X + a[:, None] * r[..., None, :]  # Abar^T x_k + a r_k, as columns
    right = bx @ X + r * by  # bx^T x_k + by r_k
    return -(left @ right[..., None])[..., 0] / n


def _layer_arrays(layer: LayerParams):
    return (np.array(layer.Abar, dtype=object), np.array(layer.a, dtype=object), np.array(layer.bx, dtype=object),
            layer.by)


def update_vector(layer: LayerParams, X: list, r: list, n) -> list:
    """:func:`update_step` for one layer's parameters and a prompt given as lists.

    Args:
        X: the context inputs ``x_1..x_n`` (lists of d entries; extra columns ignored).
        r: the residuals ``r_k = y_k^(l)``.

    Returns:
        ``u_l`` as a list of d entries (the entries' own type: SymPy or ring elements).
    """
    Xa = np.array([list(x) for x in X[: len(r)]], dtype=object).T
    return list(update_step(*_layer_arrays(layer), Xa, np.array(list(r), dtype=object), n))


def theta_recursion(layers: list[LayerParams], X: list, y: list, n) -> list[list]:
    """``theta_0 = 0``, ``theta_{l+1} = theta_l + u_l`` with ``r_k = y_k + <theta_l, x_k>``."""
    d = layers[0].d
    theta = [sp.Integer(0)] * d
    out = [theta]
    for layer in layers:
        r = [y[k] + sum(theta[i] * X[k][i] for i in range(d)) for k in range(len(y))]
        u = update_vector(layer, X, r, n)
        theta = [t + v for t, v in zip(theta, u)]
        out.append(theta)
    return out


def objectives(w: list, X: list, y: list, anchor: int | None = None) -> dict[str, sp.Expr]:
    """The parameter-free objectives of Theorem 4.1 at ``w`` (see the module docstring).

    Args:
        w: d entries (symbols or numbers).
        X, y: context inputs ``x_1..x_n`` and labels (extra columns of X ignored).
        anchor: the coordinate (1-based) along which the ``a_l``-part steps; d by default.

    Returns:
        ``{"L_sq", "T_1".."T_d", "C", "V_1".."V_d"}`` -> SymPy expressions.
    """
    d = len(w)
    if anchor is not None and check_int("anchor", anchor, 1) > d:
        raise MarkovICLError(f"anchor must be a coordinate 1..{d}, got {anchor}")
    j = (anchor or d) - 1
    n = len(y)
    out: dict[str, sp.Expr] = {}
    r = [y[k] - sum(w[i] * X[k][i] for i in range(d)) for k in range(n)]
    rbar = [r[k] + w[j] * X[k][j] for k in range(n)]
    out["L_sq"] = sum((-rk) ** 2 for rk in r)
    for i in range(d):
        out[f"T_{i + 1}"] = sum(X[k][i] * (-r[k]) for k in range(n))
    out["C"] = sum(sp.Rational(1, 3) * X[k][j] * r[k] ** 3 - (1 - X[k][j]) * rbar[k] ** 2 * w[j] for k in range(n))
    for i in range(d):
        out[f"V_{i + 1}"] = sum(X[k][i] * (sp.Rational(1, 2) * X[k][j] * r[k] ** 2 - (1 - X[k][j]) * rbar[k] * w[j])
                                for k in range(n))
    return out


def weighted_objectives(bx, by, parts: dict, n):
    """``(R1_l, R2_l)`` of Theorem 4.1 from the parameter-free objectives (module docstring):
    ``R1 = (by / 2n) L_sq - (1/n) sum_i bx_i T_i``, ``R2 = (by / n) C + (1/n) sum_i bx_i V_i``.

    ``parts`` maps ``"L_sq", "T_i", "C", "V_i"`` to values (SymPy expressions, or tensors of
    any batch shape); ``bx`` is indexable by coordinate and ``by`` a scalar of the same kind.
    """
    d = len(bx)
    R1 = by / (2 * n) * parts["L_sq"] - sum(bx[i] * parts[f"T_{i + 1}"] for i in range(d)) / n
    R2 = by / n * parts["C"] + sum(bx[i] * parts[f"V_{i + 1}"] for i in range(d)) / n
    return R1, R2


def combined_objectives(layer: LayerParams, w: list, X: list, y: list, n, anchor: int | None = None):
    """``(R1_l(w), R2_l(w))`` of Theorem 4.1 for one layer (module docstring)."""
    return weighted_objectives(layer.bx, layer.by, objectives(w, X, y, anchor), n)


def preconditioned_step(layer: LayerParams, w: list, X: list, y: list, n, anchor: int | None = None) -> list:
    """``Abar^T grad R1(w) + a e_anchor^T grad R2(w)``: Theorem 4.1's claim is that this is
    ``u_l`` (so that ``w_{l+1} = w_l - (...)`` with ``w = -theta``)."""
    d = layer.d
    j = (anchor or d) - 1
    R1, R2 = combined_objectives(layer, w, X, y, n, anchor)
    g1 = [sp.diff(R1, wi) for wi in w]
    g2j = sp.diff(R2, w[j])
    return [sum(layer.Abar[i][c] * g1[i] for i in range(d)) + layer.a[c] * g2j for c in range(d)]


def objective_summands(d: int, anchor: int | None = None) -> tuple[list, list, sp.Symbol, dict[str, sp.Expr]]:
    """The per-chain summands of the objectives: ``(w, x, y, {name: expr})`` with symbols
    ``w_1..w_d``, ``x_1..x_d``, ``y`` (every objective is a sum of these over k <= n)."""
    check_int("d", d, 1)
    w = [sp.Symbol(f"w_{i}") for i in range(1, d + 1)]
    x = [sp.Symbol(f"x_{i}") for i in range(1, d + 1)]
    y = sp.Symbol("y")
    return w, x, y, objectives(w, [x], [y], anchor)


def lambdify_objectives(d: int, backend: str = "torch", anchor: int | None = None):
    """Float callables of the objectives of Theorem 4.1 (``sympy.lambdify``).

    Returns:
        ``{name: f}`` with ``f(w, X, y)`` for ``w (..., d)``, ``X (..., d, n)``,
        ``y (..., n)`` returning ``(...)``: the objective summed over the n chains.
    """
    from markov_icl.symbolic.export import check_backend

    check_backend(backend)
    w, x, y, summ = objective_summands(d, anchor)
    out = {}
    for name, expr in summ.items():
        f = sp.lambdify([*w, *x, y], expr, modules=backend)

        def total(W, X, Y, f=f):
            args = [W[..., i, None] for i in range(d)] + [X[..., i, :] for i in range(d)] + [Y]
            val = f(*args)
            return (val + 0 * Y).sum(-1)

        out[name] = total
    return out


# -- the identities -------------------------------------------------------------------------

@dataclass
class IdentityResult:
    """Outcome of one exact polynomial identity check."""

    name: str
    d: int
    n: int
    layers: int
    holds: bool
    seconds: float
    terms: int = 0  # size of the largest polynomial compared (number of monomials)
    detail: str = ""


@dataclass
class _Ring:
    symbols: list
    R: object = field(init=False)
    gens: tuple = field(init=False)

    def __post_init__(self):
        self.R, *gens = ring([str(s) for s in self.symbols], QQ)
        self.gens = tuple(gens)
        self.map = dict(zip(self.symbols, self.gens))


def _to_ring(R: _Ring, M: sp.Matrix) -> np.ndarray:
    """A SymPy matrix as a NumPy object array of ring elements."""
    out = np.empty(M.shape, dtype=object)
    for i in range(M.rows):
        for j in range(M.cols):
            out[i, j] = R.R.from_expr(M[i, j]) if M[i, j] != 0 else R.R.zero
    return out


def lsa_forward_ring(Z0: np.ndarray, mats: list[tuple], n: int) -> list[np.ndarray]:
    """``[Z_0, ..., Z_L]`` of the LSA forward pass (theory §2, :func:`~markov_icl.symbolic.model.lsa_layer`)
    over a polynomial ring (NumPy object arrays of ring elements)."""
    Zs = [Z0]
    for P, Q in mats:
        Zs.append(lsa_layer(Zs[-1], P, Q))
    return Zs


def check_forward_identity(d: int, n: int, L: int, q_sign: int = -1) -> IdentityResult:
    """The L-layer forward pass of theory §2 with the structured ``P_l, Q_l`` equals the
    recursion: ``Z_l = [[x_1..x_n, x_q], [y_k + <theta_l, x_k>, <theta_l, x_q>]]`` for every
    ``l <= L`` (Theorem 4.1), compared after full expansion over QQ[x, y, params].

    Args:
        q_sign: ``Q_l = q_sign [[Abar, 0], [a^T, 0]]``; theory §7 is -1. +1 is a mutation
            (the identity must then fail) used by the tests.
    """
    check_int("d", d, 1)
    check_int("n", n, 1)
    check_int("L", L, 1)
    if q_sign not in (-1, 1) or isinstance(q_sign, bool):
        raise MarkovICLError(f"q_sign must be -1 (theory §7) or +1 (a mutation), got {q_sign!r}")
    t0 = time.perf_counter()
    pr = SymbolicPrompt(d, n)
    layers = [LayerParams.symbols(d, l) for l in range(1, L + 1)]
    R = _Ring(pr.symbols + [s for lay in layers for s in lay.free_symbols])
    zero = R.R.zero
    Z0 = _to_ring(R, pr.Z0())
    mats = []
    for lay in layers:
        P, Q = lay.matrices()
        mats.append((_to_ring(R, P), _to_ring(R, -q_sign * Q)))
    Zs = lsa_forward_ring(Z0, mats, n)
    # the recursion, in the same ring
    X = [[R.map[s] for s in col] for col in pr.X]
    y = [R.map[s] for s in pr.y]
    theta = [zero] * d
    holds, terms = True, 0
    for l, lay in enumerate(layers + [None]):
        Z = Zs[l]
        expect_last = _ring_last_row(theta, X, y, zero)
        for i in range(d):
            holds &= all(Z[i][c] == Z0[i][c] for c in range(n + 1))
        holds &= all(Z[d][c] == expect_last[c] for c in range(n + 1))
        terms = max(terms, max(len(v) for v in Z[d]))
        if lay is None:
            break
        theta = _ring_theta_step(LayerParams(*_ring_params(R, lay)), theta, X, expect_last[:n])
    name = "forward pass = recursion" + ("" if q_sign == -1 else " (mutated: Q sign +1)")
    return IdentityResult(name, d, n, L, bool(holds), time.perf_counter() - t0, terms)


def _ring_last_row(theta, X, y, zero) -> list:
    """The last row of ``Z(theta)``: ``y_k + <theta, x_k>`` for the n context columns, ``<theta, x_q>`` last."""
    d, n = len(theta), len(y)
    row = [y[k] + sum((theta[i] * X[k][i] for i in range(d)), zero) for k in range(n)]
    row.append(sum((theta[i] * X[n][i] for i in range(d)), zero))
    return row


def _ring_theta_step(Pl: LayerParams, theta, X, r) -> list:
    """``theta + u_l`` (:func:`update_step`) over the ring."""
    return [t + v for t, v in zip(theta, update_vector(Pl, X, r, len(r)))]


def _ring_params(R: _Ring, lay: LayerParams):
    m = R.map
    return (tuple(m[s] for s in lay.bx), m[lay.by], tuple(tuple(m[s] for s in row) for row in lay.Abar),
            tuple(m[s] for s in lay.a))


def check_step_identity(d: int, n: int) -> IdentityResult:
    """One structured layer maps ``Z(theta)`` to ``Z(theta + u(theta))`` for a *symbolic*
    ``theta`` (the induction step: with it the forward identity holds for every L)."""
    check_int("d", d, 1)
    check_int("n", n, 1)
    t0 = time.perf_counter()
    pr = SymbolicPrompt(d, n)
    lay = LayerParams.symbols(d, 1)
    th = [sp.Symbol(f"theta_{i}") for i in range(1, d + 1)]
    R = _Ring(pr.symbols + lay.free_symbols + th)
    zero = R.R.zero
    X = [[R.map[s] for s in col] for col in pr.X]
    y = [R.map[s] for s in pr.y]
    T = [R.map[s] for s in th]
    last = _ring_last_row(T, X, y, zero)
    Z = np.array([[X[c][i] for c in range(n + 1)] for i in range(d)] + [last], dtype=object)
    mats = [tuple(_to_ring(R, M) for M in lay.matrices())]
    Z1 = lsa_forward_ring(Z, mats, n)[-1]
    T1 = _ring_theta_step(LayerParams(*_ring_params(R, lay)), T, X, last[:n])
    exp = _ring_last_row(T1, X, y, zero)
    holds = all(Z1[i][c] == Z[i][c] for i in range(d) for c in range(n + 1))
    holds = holds and all(Z1[d][c] == exp[c] for c in range(n + 1))
    terms = max(len(v) for v in Z1[d])
    return IdentityResult("one layer: Z(theta) -> Z(theta + u(theta))", d, n, 1, holds,
                          time.perf_counter() - t0, terms)


def check_gradient_identity(d: int, n: int, binary: bool = True, anchor: int | None = None) -> IdentityResult:
    """``Abar^T grad R1(w) + a e_d^T grad R2(w) = u_l`` at ``w = -theta`` (Theorem 4.1).

    Args:
        binary: reduce modulo ``x_{k,d}^2 - x_{k,d}`` (k <= n), i.e. binary last inputs; with
            ``False`` the identity is tested over all reals and fails (the antiderivatives
            ``C``, ``V_i`` need binary ``x_{k,d}``).
        anchor: the coordinate of the ``a``-step (default d).
    """
    check_int("d", d, 1)
    check_int("n", n, 1)
    j = (anchor or d) - 1
    t0 = time.perf_counter()
    pr = SymbolicPrompt(d, n)
    lay = LayerParams.symbols(d, 1)
    w = [sp.Symbol(f"w_{i}") for i in range(1, d + 1)]
    X, y = pr.X[:n], pr.y
    step = preconditioned_step(lay, w, X, y, n, anchor)
    r = [y[k] - sum(w[i] * X[k][i] for i in range(d)) for k in range(n)]
    u = update_vector(lay, X, r, n)
    R = _Ring(pr.symbols + lay.free_symbols + w)
    ideal = [R.map[X[k][j]] ** 2 - R.map[X[k][j]] for k in range(n)]
    holds, terms = True, 0
    for c in range(d):
        diff = R.R.from_expr(sp.expand(step[c] - u[c]))
        if binary and diff:
            diff = diff.rem(ideal)
        terms = max(terms, len(diff))
        holds = holds and not diff
    name = "preconditioned gradients sum to u_l" + (" (x_{k,d} binary)" if binary else " (x_{k,d} real)")
    return IdentityResult(name, d, n, 1, holds, time.perf_counter() - t0, terms,
                          "" if holds else f"nonzero remainder with {terms} terms")


# -- display -----------------------------------------------------------------------------------

def latex_statement(d: int | None = None) -> dict[str, str]:
    """LaTeX for the recursion, R1, R2 and the named objectives (generic d)."""
    return {
        "update": r"u_l = -\frac{1}{n}\sum_{k=1}^{n}\bigl(\bar A_l^\top x_k + a_l r_k\bigr)"
                  r"\bigl(b_{x,l}^\top x_k + b_{y,l} r_k\bigr),"
                  r"\quad r_k = y_k^{(l)} = y_k + \theta_l^\top x_k",
        "theta": r"[Z_l]_{d+1,i} = y_i + \theta_l^\top x_i,\quad [Z_l]_{d+1,n+1} = \theta_l^\top x_q,\quad "
                 r"\theta_0 = 0,\ \theta_{l+1} = \theta_l + u_l",
        "step": r"w_{l+1} = w_l - \bar A_l^\top \nabla R_1^{(l)}(w_l) - a_l e_d^\top \nabla R_2^{(l)}(w_l),\quad w_l = -\theta_l",
        "R1": r"R_1^{(l)}(w) = \frac{b_{y,l}}{2n} L_{sq}(w) - \frac{1}{n}\sum_{i=1}^d b_{x,l,i} T_i(w)",
        "R2": r"R_2^{(l)}(w) = \frac{b_{y,l}}{n} C(w) + \frac{1}{n}\sum_{i=1}^d b_{x,l,i} V_i(w)",
        "L_sq": r"L_{sq}(w) = \sum_{k=1}^n (w^\top x_k - y_k)^2",
        "T": r"T_i(w) = \sum_{k=1}^n x_{k,i}(w^\top x_k - y_k)",
        "C": r"C(w) = \sum_{k=1}^n \Bigl[\tfrac13 x_{k,d}(y_k - w^\top x_k)^3 - (1 - x_{k,d})"
             r"\bigl(y_k - w_{:d-1}^\top x_{k,:d-1}\bigr)^2 w_d\Bigr]",
        "V": r"V_i(w) = \sum_{k=1}^n x_{k,i}\Bigl[\tfrac12 x_{k,d}(y_k - w^\top x_k)^2 - (1 - x_{k,d})"
             r"\bigl(y_k - w_{:d-1}^\top x_{k,:d-1}\bigr) w_d\Bigr]",
    }


__all__ = [
    "LayerParams", "SymbolicPrompt", "update_vector", "theta_recursion", "objectives", "combined_objectives",
    "preconditioned_step", "IdentityResult", "lsa_forward_ring", "check_forward_identity", "check_step_identity",
    "check_gradient_identity", "latex_statement", "R1_TERMS", "R2_TERMS", "objective_summands",
    "lambdify_objectives",
]
