"""Exact learning dynamics of one-layer parameterizations: gradient, invariants, fixed points, linear flows.

The population loss of a one-layer parameterization ``theta -> X = phi(theta)``
(:mod:`markov_icl.symbolic.param`; theory §3, §6) is the exact polynomial

    f(theta) = E[y^2] - 2 beta^T phi(theta) + phi(theta)^T H phi(theta),

with ``H``, ``beta``, ``E[y^2]`` the engine's exact rationals at a numeric ``(p, n)``. Its
gradient flow ``theta' = -grad f(theta)`` is what small-step gradient descent follows
(time ``t = steps * lr``). This module holds, written once:

* :class:`PopulationLoss`: ``f`` and ``grad f`` as polynomials with exact rational
  coefficients (python-flint-free SymPy sparse polynomials ``QQ[theta]``), exact values and
  Hessians at rational points, SymPy expressions, and lambdified NumPy / PyTorch functions.
* Invariants (theory §12): the rescaling symmetry ``phi(t b, A / t) = phi(b, A)`` of the
  bilinear forms gives ``Q = ||b||^2 - ||A||_F^2`` with ``dQ/dt = -grad Q . grad f = 0``
  identically (:meth:`PopulationLoss.invariant_derivative`); :func:`linear_symmetries` finds
  every linear vector field ``K theta`` that leaves ``phi`` unchanged, and the symmetric ones
  are the quadratic invariants ``theta^T K theta`` of every gradient flow.
* Fixed points: the Hessian at the origin (a saddle: ``-2 [[0, C], [C^T, 0]]``, eigenvalues
  ``+-2 sigma_i(C)`` with ``C`` the bilinear form ``beta^T phi(b, A) = b^T C vec(A)``;
  :func:`origin_saddle`), the top escape direction and the logistic escape of the rank-one
  reduced flow (:func:`escape_prediction`).
* Linear parameterizations (``phi = M theta + X0``): the flow is linear, ``theta(t) = theta* +
  exp(-2 G t) (theta_0 - theta*)`` with ``G = M^T H M``, the learning curve ``f(t) = f_param* +
  (theta(t) - theta*)^T G (theta(t) - theta*)``, gradient descent's exact iterates ``theta_k =
  theta* + (I - 2 lr G)^k (theta_0 - theta*)``, and the timescales ``1 / (2 lambda_i(G))``
  (:class:`LinearFlow`).

Examples:
    >>> from markov_icl.symbolic.param import preset
    >>> from markov_icl.symbolic.solve import solve
    >>> L = PopulationLoss(preset("sparse", 1), solve(1, "1/2", 10))
    >>> L.invariant_derivative()           # d/dt (||b||^2 - ||A||_F^2) along the flow, exactly
    0
    >>> L.value([0, 0, 0, 0]) == solve(1, "1/2", 10).E_y2
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import sympy as sp
from sympy.polys.domains import QQ
from sympy.polys.rings import ring

from markov_icl.errors import MarkovICLError
from markov_icl.symbolic.model import phi


def _qq(x) -> object:
    """An exact rational as an element of QQ (SymPy numbers, ints, Fractions, flint fmpq via str)."""
    try:
        return QQ.convert(x)
    except Exception:  # noqa: BLE001 - flint / other exact types: through their exact string
        return QQ.from_sympy(sp.Rational(str(x)))


def _exact_inputs(solution):
    if not getattr(solution, "is_numeric", False):
        raise MarkovICLError("the learning dynamics need the objective at numeric (p, n); give p and n")
    H = [[_qq(x) for x in row] for row in solution.H_domain.to_list()]
    beta = [_qq(sp.sympify(b)) for b in solution.beta]
    return H, beta, _qq(sp.sympify(solution.E_y2))


class PopulationLoss:
    """``f(theta)`` of a parameterization at a numeric objective, as an exact polynomial (module docstring).

    Args:
        param: a :class:`~markov_icl.symbolic.param.Parameterization` (a preset or the user's).
        solution: the objective at numeric ``(p, n)`` (:func:`~markov_icl.symbolic.solve.solve`).

    Attributes:
        symbols: the parameters ``theta`` (SymPy symbols, the parameterization's order).
        ring, gens: the polynomial ring ``QQ[theta]`` and its generators.
        phi: ``phi(theta)`` as ring elements (length ``d m``).
        loss: ``f`` as a ring element; ``gradient``: its partial derivatives.

    Examples:
        >>> from markov_icl.symbolic.param import preset
        >>> from markov_icl.symbolic.solve import solve
        >>> L = PopulationLoss(preset("gd", 1), solve(1, "1/2", 10))
        >>> L.as_expr(), L.gradient_exprs()
        (eta**2/20 - eta/6 + 1/2, [eta/10 - 1/6])
    """

    def __init__(self, param, solution) -> None:
        from markov_icl.symbolic.param import Parameterization
        from markov_icl.symbolic.solve import Solution

        if not isinstance(param, Parameterization):
            raise MarkovICLError(f"PopulationLoss needs a Parameterization (e.g. preset('sparse', d)), got "
                                 f"{type(param).__name__}")
        quadratic = all(hasattr(solution, a) for a in ("d", "is_numeric", "H_domain", "beta", "E_y2"))
        if not (isinstance(solution, Solution) or quadratic) or not solution.is_numeric:
            raise MarkovICLError("PopulationLoss needs the objective at a numeric point (solve(d, p, n) with p and n "
                                 "given, or an exact quadratic objective with d, is_numeric, H_domain, beta, E_y2), got "
                                 f"{type(solution).__name__}")
        if solution.d != param.d:
            raise MarkovICLError(f"the parameterization has d = {param.d} but the objective d = {solution.d}")
        self.param, self.solution = param, solution
        self.symbols = tuple(param.params)
        if not self.symbols:
            raise MarkovICLError(f"parameterization {param.name!r} has no free parameters: nothing to learn")
        self.ring, *gens = ring(self.symbols, QQ)
        self.gens = tuple(gens)

        def to_ring(e):
            return self.ring.from_expr(sp.sympify(e)) if sp.sympify(e).free_symbols else self.ring(_qq(sp.sympify(e)))

        b = [to_ring(x) for x in param.b]
        A = [[to_ring(x) for x in row] for row in param.A]
        b_arr, A_arr = np.array(b, dtype=object), np.array(A, dtype=object)
        self.phi = tuple(phi(b_arr, A_arr))
        H, beta, ey2 = _exact_inputs(solution)
        self._H, self._beta, self._ey2 = H, beta, ey2
        resid = [sum((h * x for h, x in zip(row, self.phi)), self.ring(0)) for row in H]  # H phi
        self.loss = self.ring(ey2) - 2 * sum((bt * x for bt, x in zip(beta, self.phi)), self.ring(0)) \
            + sum((x * r for x, r in zip(self.phi, resid)), self.ring(0))
        self.gradient = tuple(self.loss.diff(g) for g in self.gens)

    # ---- exact ----------------------------------------------------------------------------

    def __repr__(self) -> str:
        """Short: the parameterization, the point and the size (the polynomial itself: :meth:`as_expr`)."""
        sol = self.solution
        return (f"PopulationLoss(param={self.param.name!r}, d={sol.d}, p={getattr(sol, 'p', None)}, "
                f"n={getattr(sol, 'n', None)}, "
                f"{len(self.symbols)} parameters, {len(self.loss.terms())} terms)")
    def _point(self, theta) -> list:
        vals = list(np.asarray(theta, dtype=object).reshape(-1))
        if len(vals) != len(self.gens):
            raise MarkovICLError(f"theta: expected {len(self.gens)} values ({', '.join(map(str, self.symbols))}), "
                                 f"got {len(vals)}")
        return [_qq(sp.Rational(*float(v).as_integer_ratio()) if isinstance(v, (float, np.floating)) else v)
                for v in vals]

    def value(self, theta) -> sp.Rational:
        """``f(theta)`` exactly at a rational point (a float is read as the exact rational it stores)."""
        return QQ.to_sympy(self.loss(*self._point(theta)))

    def gradient_at(self, theta) -> list:
        """``grad f(theta)`` exactly at a rational point."""
        pt = self._point(theta)
        return [QQ.to_sympy(g(*pt)) for g in self.gradient]

    def hessian_at(self, theta) -> sp.Matrix:
        """The Hessian of ``f`` exactly at a rational point."""
        pt = self._point(theta)
        return sp.Matrix([[QQ.to_sympy(g.diff(h)(*pt)) for h in self.gens] for g in self.gradient])

    def as_expr(self) -> sp.Expr:
        """``f`` as a SymPy expression in :attr:`symbols`."""
        return self.loss.as_expr()

    def gradient_exprs(self) -> list:
        """``grad f`` as SymPy expressions."""
        return [g.as_expr() for g in self.gradient]

    # ---- invariants -------------------------------------------------------------------------
    def rescaling_invariant(self):
        """``Q = ||b||^2 - ||A||_F^2`` over the free entries of ``b`` and ``A`` (ring element).

        Raises:
            MarkovICLError: when ``b`` or ``A`` has no free entry (a linear parameterization: no rescaling).
        """
        b_syms = {s for x in self.param.b for s in sp.sympify(x).free_symbols}
        A_syms = {s for row in self.param.A for x in row for s in sp.sympify(x).free_symbols}
        if not b_syms or not A_syms:
            raise MarkovICLError(f"parameterization {self.param.name!r} fixes b or A: phi(t b, A / t) = phi(b, A) "
                                 "is no symmetry of it")
        idx = {s: i for i, s in enumerate(self.symbols)}
        return sum((self.gens[idx[s]] ** 2 for s in b_syms), self.ring(0)) - \
            sum((self.gens[idx[s]] ** 2 for s in A_syms), self.ring(0))

    def bilinear_parts(self, theta) -> tuple[np.ndarray, np.ndarray]:
        """``(b, A)`` of float parameters ``theta`` (``(k,)`` or ``(batch, k)``): ``(..., d+1)`` and ``(..., d+1, d)``,
        for a parameterization whose every entry of ``b`` and ``A`` is free (sparse, dense)."""
        b_idx, A_idx = _bilinear_index(self, "bilinear_parts")
        th = np.asarray(theta, dtype=np.float64)
        return th[..., b_idx], th[..., np.array(A_idx)]

    def invariant_derivative(self, invariant=None) -> sp.Expr:
        """``dQ/dt = -grad Q . grad f`` along the gradient flow, as an exact polynomial (0 for an invariant)."""
        Q = self.rescaling_invariant() if invariant is None else invariant
        d = -sum((Q.diff(g) * gf for g, gf in zip(self.gens, self.gradient)), self.ring(0))
        return d.as_expr()

    # ---- floats -------------------------------------------------------------------------------
    @cached_property
    def _exprs(self):
        return self.as_expr(), self.gradient_exprs()

    def lambdify(self, backend: str = "numpy"):
        """``(loss_fn, grad_fn)``: ``loss_fn(theta)`` and ``grad_fn(theta)`` for ``theta`` of shape ``(k,)`` or
        ``(batch, k)`` (NumPy or PyTorch; the gradient stacked on the last axis)."""
        from markov_icl.symbolic.export import check_backend

        backend = check_backend(backend)
        f, g = self._exprs
        loss_fn = sp.lambdify(self.symbols, f, modules=backend)
        grad_fn = sp.lambdify(self.symbols, g, modules=backend)
        if backend == "torch":
            import torch

            def stack(vals, like):
                return torch.stack([v if torch.is_tensor(v) else torch.full_like(like, float(v)) for v in vals], -1)
        else:
            def stack(vals, like):
                return np.stack([np.broadcast_to(np.asarray(v, dtype=np.float64), np.shape(like)) for v in vals], -1)

        def loss(theta):
            cols = [theta[..., i] for i in range(theta.shape[-1])]
            out = loss_fn(*cols)
            return out if hasattr(out, "shape") and np.shape(out) == np.shape(cols[0]) else out + 0 * cols[0]

        def grad(theta):
            cols = [theta[..., i] for i in range(theta.shape[-1])]
            return stack(grad_fn(*cols), cols[0])

        return loss, grad


def linear_symmetries(param) -> list[sp.Matrix]:
    """A basis of the linear vector fields ``theta' = K theta`` that leave ``phi`` unchanged to first order:
    ``J_phi(theta) K theta = 0`` for every ``theta`` (an exact linear system in the entries of ``K``).

    The symmetric members ``K = K^T`` give quadratic invariants ``theta^T K theta`` of the gradient flow of any
    loss that depends on ``theta`` through ``phi`` only: ``d/dt theta^T K theta = -2 (K theta)^T grad f = 0``.
    """
    syms = tuple(param.params)
    k = len(syms)
    Ks = sp.symbols(f"k0:{k * k}")
    K = sp.Matrix(k, k, Ks)
    X = sp.Matrix([sp.expand(x) for x in param.phi()])
    J = X.jacobian(syms)
    expr = J * K * sp.Matrix(syms)
    eqs = []
    for e in expr:
        e = sp.expand(e)
        if e != 0:
            eqs.extend(sp.Poly(e, *syms).coeffs())
    if not eqs:
        return [sp.Matrix(k, k, [int(i == t) for i in range(k * k)]) for t in range(k * k)]
    A = sp.Matrix([[sp.diff(eq, s) for s in Ks] for eq in eqs])
    return [sp.Matrix(k, k, list(v)) for v in A.nullspace()]


@dataclass
class Saddle:
    """The origin of a bilinear parameterization (:func:`origin_saddle`).

    Attributes:
        hessian: the exact Hessian of ``f`` at 0.
        charpoly: its characteristic polynomial, factored over the rationals.
        eigenvalues: the eigenvalues, floats, descending.
        index: the number of negative eigenvalues (directions of descent).
        sigma: the top singular value of ``C`` (float); ``-2 sigma`` is the most negative eigenvalue.
        direction: the unit eigenvector of the most negative eigenvalue (float, length k).
    """

    hessian: sp.Matrix
    charpoly: sp.Expr
    eigenvalues: np.ndarray
    index: int
    sigma: float
    direction: np.ndarray


def origin_saddle(loss: PopulationLoss) -> Saddle:
    """The Hessian at ``theta = 0`` exactly, its spectrum and the top escape direction."""
    Hs = loss.hessian_at([0] * len(loss.gens))
    lam = sp.Symbol("lambda")
    cp = sp.factor(Hs.charpoly(lam).as_expr())
    Hf = np.array(Hs.tolist(), dtype=np.float64)
    w, V = np.linalg.eigh(Hf)
    order = np.argsort(w)[::-1]
    w, V = w[order], V[:, order]
    top = V[:, -1]
    top = top * np.sign(top[np.argmax(np.abs(top))])
    scale = max(1.0, float(np.abs(w).max()))
    return Saddle(Hs, cp, w, int((w < -1e-12 * scale).sum()), float(-w[-1] / 2), top)


@dataclass
class EscapePrediction:
    """The logistic escape of the rank-one reduced flow from a small initialisation (:func:`escape_prediction`).

    Along the top singular pair ``(u, v)`` of ``C`` the loss is ``f(w) = E[y^2] - 2 sigma w + kappa w^2``
    in ``w = (u^T b)(v^T a)``, ``kappa = phi(u, v)^T H phi(u, v)``; with balanced factors
    ``w' = 4 w (sigma - kappa w)``, a logistic curve from ``w_0`` to ``w* = sigma / kappa`` at rate ``4 sigma``.

    Attributes:
        sigma, kappa: as above.
        w0: the initial ``w`` (from the growing combination ``((u^T b_0 + v^T a_0) / 2)^2``).
        plateau: ``E[y^2]`` (the loss at the origin, the first plateau).
        after: ``E[y^2] - sigma^2 / kappa``, the loss at the end of the escape (the rank-one minimum).
        t_mid: the time at which the loss is halfway from ``plateau`` to ``after``.
        theta_end: the parameters where the reduced flow ends, ``sqrt(w*) (u, v)`` (float, length k).
    """

    sigma: float
    kappa: float
    w0: float
    plateau: float
    after: float
    t_mid: float
    theta_end: np.ndarray

    def loss_at(self, t) -> np.ndarray:
        """The logistic learning curve of the reduced flow."""
        w_star = self.sigma / self.kappa
        w = w_star / (1 + (w_star / self.w0 - 1) * np.exp(-4 * self.sigma * np.asarray(t, float)))
        return self.plateau - 2 * self.sigma * w + self.kappa * w ** 2


def escape_prediction(loss: PopulationLoss, theta0) -> EscapePrediction:
    """Predict the first plateau, its end and the escape time from ``theta0`` (sparse / dense parameterizations)."""
    sol, param = loss.solution, loss.param
    d, D = param.d, param.d + 1
    b_idx, A_idx = _bilinear_index(loss, "escape_prediction")
    # beta^T phi(b, A) = b^T C vec(A), vec stacking the columns a_j
    from markov_icl.symbolic.model import bilinear_tensor

    T = bilinear_tensor(d)  # phi^(j)_r = sum_{k,l} b_k T[k, r, l] A_{l j}
    m = T.shape[1]
    beta = sol.beta_float.reshape(d, m)
    C = np.einsum("krl,jr->klj", T, beta).reshape(D, D * d, order="F")  # columns (l, j) with l fastest
    U, S, Vt = np.linalg.svd(C)
    u, v, sigma = U[:, 0], Vt[0], float(S[0])
    A_top = v.reshape(D, d, order="F")
    x = phi(u, A_top)
    kappa = float(x @ sol.H_float @ x)
    th = np.asarray(theta0, float)
    b0 = th[b_idx]
    a0 = np.array([[th[i] for i in row] for row in A_idx]).reshape(-1, order="F")
    g = (u @ b0 + v @ a0) / 2
    w0, ey2 = float(g * g), sol.E_y2_float
    w_star = sigma / kappa
    after = ey2 - sigma ** 2 / kappa
    w_mid = w_star * (1 - 1 / np.sqrt(2))  # f(w_mid) = (plateau + after) / 2
    if not 0 < w0 < w_mid:
        raise MarkovICLError("escape_prediction needs a small initialisation (its projection on the top direction "
                             f"must be below {w_mid:.3g}); got w0 = {w0:.3g}")
    t_mid = float(np.log((w_star / w0 - 1) / (w_star / w_mid - 1)) / (4 * sigma))
    sgn = 1.0 if g >= 0 else -1.0
    end = _theta_of(loss, b_idx, A_idx, sgn * np.sqrt(w_star) * u, sgn * np.sqrt(w_star) * A_top)
    return EscapePrediction(sigma, kappa, w0, ey2, after, t_mid, end)


def _bilinear_index(loss: PopulationLoss, what: str):
    """Positions in ``theta`` of the entries of ``b`` and ``A`` (every one must be a free parameter)."""
    param = loss.param
    idx = {s: i for i, s in enumerate(loss.symbols)}
    b_idx = [idx.get(sp.sympify(x)) for x in param.b]
    A_idx = [[idx.get(sp.sympify(x)) for x in row] for row in param.A]
    if any(i is None for i in b_idx) or any(i is None for row in A_idx for i in row):
        raise MarkovICLError(f"{what} needs every entry of b and A free (the sparse or dense LSA)")
    return b_idx, A_idx


def _theta_of(loss: PopulationLoss, b_idx, A_idx, b: np.ndarray, A: np.ndarray) -> np.ndarray:
    """``theta`` with the given ``b`` and ``A`` (the dense LSA's other entries 0)."""
    th = np.zeros(len(loss.symbols))
    th[b_idx] = b
    for uu, row in enumerate(A_idx):
        for j, i in enumerate(row):
            th[i] = A[uu, j]
    return th


def reduced_critical_points(loss: PopulationLoss, starts: int = 32, seed: int = 0) -> list[CriticalPoint]:
    """Critical points of a bilinear parameterization found through the variable projection (theory §6).

    The reduced loss ``f(b) = min_A f(b, A)`` lives on the sphere of directions ``b``; each of its
    critical points ``b`` (minima, maxima and saddles alike: a root search of its tangential gradient from
    ``starts`` quasi-uniform directions, :func:`markov_icl.symbolic.varpro.OneLayerLoss.project`) gives the
    critical point ``(b, A*(b))`` of ``f``, balanced (``||b|| = ||A||_F``) and polished by
    :func:`critical_point`, whose exact Hessian index says what it is. Distinct points, by loss.
    """
    from scipy.optimize import root

    from markov_icl.symbolic.varpro import OneLayerLoss, _hemisphere_points

    b_idx, A_idx = _bilinear_index(loss, "reduced_critical_points")
    ol = OneLayerLoss.of(loss.solution)
    N = loss.param.d + 1
    found: list[np.ndarray] = []
    for b0 in _hemisphere_points(N, starts, seed):
        V = np.linalg.qr(np.column_stack([b0, np.eye(N)]))[0][:, 1:N]

        def tangential(y, b0=b0, V=V):
            b = b0 + V @ y
            return V.T @ ol.project(b / np.linalg.norm(b))[2]

        res = root(tangential, np.zeros(N - 1), method="hybr", tol=1e-13)
        b = b0 + V @ res.x
        b /= np.linalg.norm(b)
        if np.linalg.norm(ol.project(b)[2]) > 1e-8 or any(abs(b @ c) > 1 - 1e-8 for c in found):
            continue
        found.append(b)
    points: list = []
    for b in found:
        _, A, _ = ol.project(b)
        s = np.sqrt(max(float(np.linalg.norm(A)), 1e-300))
        c = critical_point(loss, _theta_of(loss, b_idx, A_idx, s * b, A / s))
        if c.gradient_norm < 1e-9 and not any(abs(c.loss - q.loss) < 1e-12 and c.index == q.index for q in points):
            points.append(c)
    return sorted(points, key=lambda c: c.loss)


@dataclass
class CriticalPoint:
    """A critical point of ``f`` found by a float root search of ``grad f = 0`` (:func:`critical_point`).

    Attributes:
        theta: the point (float); ``loss``: ``f`` there, exactly at the float point (as a float);
        gradient_norm: ``||grad f||`` there (float); ``eigenvalues``: of the exact Hessian at the float point,
        ascending; ``index``: the number of negative ones (0: a local minimum, up to the symmetry's zero).
    """

    theta: np.ndarray
    loss: float
    gradient_norm: float
    eigenvalues: np.ndarray
    index: int


def critical_point(loss: PopulationLoss, start, tol: float = 1e-13) -> CriticalPoint:
    """The critical point of ``f`` nearest ``start`` in the sense of SciPy's hybrid root search on the exact
    gradient (a labelled float search; the loss and the Hessian are then evaluated exactly at the float point)."""
    from scipy.optimize import root

    _, grad = loss.lambdify("numpy")
    res = root(grad, np.asarray(start, float), method="hybr", tol=tol)
    th = res.x
    Hs = np.array(loss.hessian_at([float(v) for v in th]).tolist(), dtype=np.float64)
    w = np.linalg.eigvalsh(Hs)
    scale = max(1.0, float(np.abs(w).max()))
    return CriticalPoint(th, float(loss.value([float(v) for v in th])), float(np.linalg.norm(grad(th))), w,
                         int((w < -1e-9 * scale).sum()))


@dataclass
class LinearFlow:
    """The exact gradient flow of a linear parameterization ``phi = M theta + X0`` (module docstring).

    Attributes:
        G: ``M^T H M`` (exact); ``r``: ``M^T (beta - H X0)`` (exact), so ``grad f = 2 (G theta - r)``.
        theta_star: the minimiser (exact; least squares, ``G theta* = r``).
        f_star: ``f_param*`` (exact).
        eigenvalues: of ``G`` (floats, ascending); ``timescales``: ``1 / (2 lambda_i)`` of the parameters.

    Examples:
        >>> from markov_icl.symbolic.param import preset
        >>> from markov_icl.symbolic.solve import solve
        >>> flow = LinearFlow.of(preset("gd", 1), solve(1, "1/2", 10))
        >>> flow.G, flow.theta_star, flow.f_star          # f = 1/2 - eta/6 + eta^2/20
        (Matrix([[1/20]]), Matrix([[5/3]]), 13/36)
        >>> [round(float(v), 6) for v in flow.loss([0.0, 10.0], [0.0])]   # f* + (f(0) - f*) exp(-4 G t)
        [0.5, 0.379908]
    """

    G: sp.Matrix
    r: sp.Matrix
    theta_star: sp.Matrix
    f_star: sp.Rational
    eigenvalues: np.ndarray
    timescales: np.ndarray

    @classmethod
    def of(cls, param, solution) -> "LinearFlow":
        from markov_icl.symbolic.param import least_squares

        M, X0 = param.design()
        H, beta, ey2 = _exact_inputs(solution)
        Hm = sp.Matrix([[QQ.to_sympy(x) for x in row] for row in H])
        bm = sp.Matrix([QQ.to_sympy(x) for x in beta])
        G = (M.T * Hm * M).applyfunc(sp.nsimplify)
        r = M.T * (bm - Hm * X0)
        theta, _, f = least_squares(M, X0, Hm, bm, QQ.to_sympy(ey2))
        w = np.linalg.eigvalsh(np.array(G.tolist(), dtype=np.float64))
        if w.min() <= 0:
            raise MarkovICLError("M^T H M is singular: the parameterization has directions the loss does not see")
        return cls(G, r, sp.Matrix(theta), sp.Rational(f), w, 1 / (2 * w))

    def _floats(self):
        return (np.array(self.G.tolist(), dtype=np.float64), np.array(self.theta_star, dtype=np.float64).reshape(-1),
                float(self.f_star))

    def theta(self, t, theta0) -> np.ndarray:
        """``theta(t) = theta* + exp(-2 G t) (theta_0 - theta*)`` for each time in ``t`` (rows)."""
        G, ts, _ = self._floats()
        w, V = np.linalg.eigh(G)
        c = V.T @ (np.asarray(theta0, float) - ts)
        t = np.atleast_1d(np.asarray(t, float))
        return ts + (np.exp(-2 * np.outer(t, w)) * c) @ V.T

    def loss(self, t, theta0) -> np.ndarray:
        """The exact learning curve ``f(t) = f* + sum_i lambda_i c_i^2 exp(-4 lambda_i t)``."""
        G, ts, f = self._floats()
        w, V = np.linalg.eigh(G)
        c = V.T @ (np.asarray(theta0, float) - ts)
        t = np.atleast_1d(np.asarray(t, float))
        return f + (np.exp(-4 * np.outer(t, w)) * (w * c * c)).sum(-1)

    def gd_iterates(self, steps: int, lr: float, theta0) -> np.ndarray:
        """Gradient descent's exact iterates ``theta_k = theta* + (I - 2 lr G)^k (theta_0 - theta*)``, k = 0..steps."""
        G, ts, _ = self._floats()
        w, V = np.linalg.eigh(G)
        c = V.T @ (np.asarray(theta0, float) - ts)
        k = np.arange(steps + 1)[:, None]
        return ts + ((1 - 2 * lr * w) ** k * c) @ V.T


__all__ = ["PopulationLoss", "linear_symmetries", "Saddle", "origin_saddle", "EscapePrediction", "escape_prediction",
           "CriticalPoint", "critical_point", "reduced_critical_points", "LinearFlow"]
