"""The objective as the number of context chains grows: ``H(n) = H_inf + H_1 / n`` and the limits of f~* and f*.

Given the kernel, the context chains are i.i.d. and independent of the query (i.i.d. initial states, theory §4),
so ``E[G_r G_s | K, x_q] = mu_r mu_s + (1/n) (E[z_r z_s | K] - mu_r mu_s)`` with ``mu = E[z | K]``: every entry
of H is affine in ``1/n``, ``beta`` and ``E[y^2]`` do not depend on n, and

    H(n) = H_inf + H_1 / n,    H_inf = E_K[E[x_q x_q^T | K] (kron) mu mu^T],
                               H_1 = E_K[E[x_q x_q^T | K] (kron) Cov(z | K)],

both positive semidefinite (a Kronecker product of two such matrices, averaged over K). Hence the loss of every
fixed X, ``f~_n(X) = E[y^2] - 2 beta^T X + X^T H(n) X``, decreases in n towards ``f~_inf(X)``, and so do its
minimum over all X and over the realisable X (the one-layer LSA): with infima exchanged along a decreasing
sequence,

    f~*(n) decreases to f~*_inf = min_X f~_inf(X),        f*(n) decreases to f*_inf = inf_{b, A} f~_inf(phi(b, A)).

Where ``H_inf`` is positive definite (d = 1, 2; from d = 3 on it is singular: rank 27 of 30 at d = 3, 48 of 60 at
d = 4), ``f~_inf`` is strictly convex with minimiser ``X*_inf = H_inf^{-1} beta``; the realisable set is closed (with
``||b|| = 1``, ``phi = M(b) vec(A)`` and ``M(b)`` injective), so ``f*_inf > f~*_inf`` exactly when ``X*_inf`` is not
realisable, which :func:`~markov_icl.symbolic.realizability.realize` decides exactly. The first-order terms:
``f~*(n) = f~*_inf + c~ / n + O(1/n^2)`` with the exact ``c~ = X*_inf^T H_1 X*_inf``, and (envelope theorem, a
unique minimiser ``phi*`` of ``f~_inf`` on the realisable set) ``f*(n) = f*_inf + c* / n + o(1/n)``,
``c* = phi*^T H_1 phi*``.

:func:`solve_limit` is the exact objective at ``n = oo`` (a :class:`~markov_icl.symbolic.solve.Solution` with
``n = oo``: the engine's own assembly of H with the weights ``1/n -> 0``); :func:`large_n_limit` adds ``H_1``, the
exact checks and the variable projection at ``n = oo`` (:func:`~markov_icl.symbolic.varpro.best_one_layer`: a
labelled float search over the sphere of directions b, then the loss evaluated exactly at a rational b near the
minimiser, an exact upper bound on ``f*_inf``).

Examples:
    >>> s = solve_limit(2, "1/2")
    >>> s.n, s.f_tilde_star                          # lim f~*(p = 1/2, n) as n -> oo, d = 2
    (oo, 1514/6579)
    >>> solve_limit(1, "1/2").f_tilde_star           # d = 1: X*_inf is realisable, so f*_inf = f~*_inf
    1/3
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np
import sympy as sp

from markov_icl.errors import MarkovICLError


def _terms(d: int, p):
    from markov_icl.symbolic.laws import ChainLaw
    from markov_icl.symbolic.objective import ObjectiveTerms, check_d

    return ObjectiveTerms(check_d(d), ChainLaw.from_options(p, "uniform", "iid"))


def limit_matrices(d: int, p):
    """``(H_inf, H_1, beta, E[y^2])``, exact (DomainMatrix over QQ; beta a column): ``H(n) = H_inf + H_1 / n``
    for the uniform kernel prior and i.i.d. Bernoulli(p) initial states (module docstring).

    ``H_inf`` is the engine's H assembled with the weights' ``1/n`` set to 0; ``H_1 = H(1) - H_inf``.

    Examples:
        >>> H0, H1, beta, ey2 = limit_matrices(1, "1/2")
        >>> H0.to_Matrix()[0, :], H1.to_Matrix()[0, :]
        (Matrix([[1/8, 1/16, 1/8]]), Matrix([[1/8, 1/16, 0]]))
    """
    terms = _terms(d, p)
    H_inf, beta, ey2 = terms.numeric(values={"n": sp.oo})
    H_at_1 = terms.numeric(n=1)[0]
    return H_inf, H_at_1 - H_inf, beta, ey2


def solve_limit(d: int, p):
    """The exact objective at ``n = oo``: a :class:`~markov_icl.symbolic.solve.Solution` with ``n = oo``, ``H`` =
    ``H_inf``, ``X* = H_inf^{-1} beta`` and ``f~* = lim f~*(n)`` (uniform kernel prior, i.i.d. initial states).

    Raises:
        MarkovICLError: for a bad d or p, and where ``H_inf`` is singular (d >= 3), with its rank.
    """
    from markov_icl.symbolic.solve import solve_numeric

    terms = _terms(d, p)
    try:
        sol = solve_numeric(terms, values={"n": sp.oo})
    except MarkovICLError:
        H_inf = terms.numeric(values={"n": sp.oo})[0]
        raise MarkovICLError(f"at d = {d} the n -> oo limit H_inf is singular (rank {H_inf.rank()} of "
                             f"{H_inf.shape[0]}): X*_inf is not unique; the limits are computed for d <= 2") from None
    return replace(sol, n=sp.oo, method="exact rational solve at n = oo (H_inf: the 1/n terms of H set to 0)")


def exact_projected_loss(solution, b) -> sp.Rational:
    """``f(b) = min_A f~(phi(b, A))`` exactly at a rational direction ``b`` (floats are first rounded to rationals
    with denominators at most 10^12): an exact upper bound on the best one-layer loss of ``solution``.

    Examples:
        >>> from markov_icl.symbolic.solve import solve
        >>> exact_projected_loss(solve(1, "1/2", 10), [1, 0])    # b = e_1: X = (A_1, A_2, 0), least squares
        71/198
    """
    from markov_icl.symbolic.model import phi
    from markov_icl.symbolic.param import least_squares

    d = solution.d
    bq = [sp.Rational(Fraction(v).limit_denominator(10**12)) if isinstance(v, (float, np.floating)) else sp.Rational(v)
          for v in np.asarray(b, dtype=object).reshape(-1)]
    if len(bq) != d + 1 or not any(bq):
        raise MarkovICLError(f"b must be a nonzero vector of length {d + 1}")
    A = sp.Matrix(d + 1, d, lambda u, j: sp.Symbol(f"a_{u}_{j}"))
    X = sp.Matrix([sp.expand(x) for x in phi(bq, A.tolist())])
    M = X.jacobian(list(A))
    _, _, f = least_squares(M, sp.zeros(X.shape[0], 1), solution.H_domain, sp.Matrix(solution.beta), solution.E_y2)
    return sp.Rational(f)


@dataclass
class LargeNLimit:
    """The n -> infinity limits of the objective and of the best one-layer LSA (:func:`large_n_limit`).

    Attributes:
        solution: the exact objective at ``n = oo`` (:func:`solve_limit`): ``H_inf``, ``X*_inf``, ``f~*_inf``.
        H_1: the exact ``1/n`` coefficient of H (DomainMatrix over QQ).
        H_1_psd: ``H_1`` is positive semidefinite (exact), so f~*(n) and f*(n) decrease in n to their limits.
        H_inf_pd: ``H_inf`` is positive definite (exact certificate), so ``X*_inf`` is the unique minimiser.
        f_tilde_rate: ``c~ = X*_inf^T H_1 X*_inf`` (exact): ``f~*(n) = f~*_inf + c~ / n + O(1/n^2)``.
        realization: the exact decision whether ``X*_inf`` is realisable (then ``f*_inf = f~*_inf``).
        f_star: ``f*_inf`` from the variable projection at ``n = oo`` (a float search over the sphere of b).
        f_star_upper: ``f(b)`` evaluated exactly (a rational) at a rational b near the minimiser: ``f*_inf <= it``.
        f_star_rate: ``c* = phi*^T H_1 phi*`` at the minimiser found (float): ``f*(n) ~ f*_inf + c* / n``.
        b, A: the best one-layer parameters at ``n = oo`` (float, b of unit norm).
        certificate: what is exact and what is a float search.
    """

    solution: object
    H_1: object
    H_1_psd: bool
    H_inf_pd: bool
    f_tilde_rate: sp.Rational
    realization: object
    f_star: float
    f_star_upper: sp.Rational
    f_star_rate: float
    b: np.ndarray
    A: np.ndarray
    certificate: str

    @property
    def f_tilde_star(self) -> sp.Rational:
        """``f~*_inf = lim f~*(n)``, exact."""
        return self.solution.f_tilde_star

    @property
    def gap(self) -> float:
        """``f*_inf - f~*_inf = lim (f*(n) - f~*(n))`` (0 exactly where ``X*_inf`` is realisable)."""
        return self.f_star - float(self.f_tilde_star)

    def to_dict(self) -> dict:
        """JSON-ready: exact values as strings with ``_float`` twins."""
        s = self.solution
        return {"d": s.d, "p": str(s.p), "n": "oo", "f_tilde_star": str(self.f_tilde_star),
                "f_tilde_star_float": float(self.f_tilde_star), "f_tilde_rate": str(self.f_tilde_rate),
                "f_tilde_rate_float": float(self.f_tilde_rate), "X_star": [str(x) for x in s.X_star],
                "realizable": bool(self.realization.realizable), "H_1_psd": self.H_1_psd, "H_inf_pd": self.H_inf_pd,
                "f_star": self.f_star, "f_star_upper": float(self.f_star_upper), "f_star_rate": self.f_star_rate,
                "gap": self.gap, "b": [float(v) for v in self.b], "certificate": self.certificate}


def large_n_limit(d: int, p, starts: int | None = None, seed: int = 0, progress=None) -> LargeNLimit:
    """The limits of f~*(n) and f*(n) as n -> infinity, what is exact about them, and their 1/n rates
    (module docstring; uniform kernel prior, i.i.d. Bernoulli(p) initial states, d <= 2).

    Args:
        d, p: the chain input length and the initial-state probability (exact).
        starts, seed, progress: the multistart search of f*_inf (:func:`~markov_icl.symbolic.varpro.best_one_layer`).

    Examples:
        >>> lim = large_n_limit(2, "1/2", starts=16)
        >>> lim.f_tilde_star, lim.realization.realizable, f"{lim.gap:.4e}"
        (1514/6579, False, '1.1339e-03')
    """
    from markov_icl.symbolic.certify import certify_numeric
    from markov_icl.symbolic.model import phi
    from markov_icl.symbolic.realizability import realize
    from markov_icl.symbolic.varpro import best_one_layer

    sol = solve_limit(d, p)
    H_inf, H_1, _, _ = limit_matrices(d, p)
    H1m = sp.Matrix(H_1.to_Matrix())
    psd = bool(H1m.is_positive_semidefinite)
    pd = certify_numeric(H_inf).positive_definite is True
    X = sp.Matrix(sol.X_star)
    rate = sp.Rational((X.T * H1m * X)[0, 0])
    rz = realize(list(sol.X_star), d)
    fs = best_one_layer(sol, starts=starts, seed=seed, progress=progress)
    upper = exact_projected_loss(sol, fs.b)
    x = phi(np.asarray(fs.b, float), np.asarray(fs.A, float))
    H1f = np.array(H1m.tolist(), dtype=np.float64)
    f_star = float(sol.f_tilde_star) if rz.realizable else fs.f_star
    cert = [f"exact: H(n) = H_inf + H_1 / n with H_inf positive definite ({pd}) and H_1 positive semidefinite ({psd}), "
            "so f~*(n) and f*(n) are non-increasing in n and converge to the minima at n = oo",
            f"f~*_inf = {sol.f_tilde_star} (exact), c~ = {rate} (exact)",
            ("X*_inf is realisable (" if rz.realizable else "X*_inf is not realisable (") + rz.reason
            + ("): f*_inf = f~*_inf exactly" if rz.realizable else "): f*_inf > f~*_inf strictly"),
            f"f*_inf: {fs.certificate}; at the rational b nearest the minimiser the exact f(b) = {float(upper):.15g} "
            f"bounds f*_inf from above"]
    return LargeNLimit(sol, H_1, psd, pd, rate, rz, f_star, upper, float(x @ H1f @ x), np.asarray(fs.b),
                       np.asarray(fs.A), "; ".join(cert))


__all__ = ["limit_matrices", "solve_limit", "exact_projected_loss", "LargeNLimit", "large_n_limit"]
