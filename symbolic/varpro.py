"""The best one-layer LSA: ``f* = min_{b, A} f(b, A)`` by variable projection (theory §6, Remark C.15).

With ``phi = phi(b, A)`` (theory §3) the one-layer loss is
``f(b, A) = E[y^2] - 2 beta^T phi + phi^T H phi``. For fixed b, phi is linear in A:
``phi = M(b) vec(A)`` with ``M(b) = I_d (kron) M0(b)`` and ``M0(b)`` the
``m x (d+1)`` matrix of theory §3's formulas, injective for ``b != 0``. Hence

    f(b) := min_A f(b, A) = E[y^2] - beta^T M (M^T H M)^{-1} M^T beta,

a function of the direction of b only (``f(c b) = f(b)``), and ``f* = min_{|b| = 1} f(b)``.
By the envelope theorem ``grad f(b) = 2 N(A*)^T (H phi - beta)`` where ``phi = N(A) b``.

Global strategy (d <= 6): a deterministic low-discrepancy set of directions on the
hemisphere (b and -b give the same f) plus seeded random ones, every one refined by
BFGS with the exact gradient; the certificate reports the number of starts, the best
value, how many runs agree with it, and the spread. For d = 1 the minimum is certified
exactly: with ``b = (1, t)`` the value is a rational function of t, whose critical
points are the real roots of a polynomial (plus the direction ``b = (0, 1)``).

The paper's Remark C.15 defines psi(X) as parameters whose image under phi is the
realisable point nearest to X; with the Euclidean norm that is
``argmin ||phi(b, A) - X||_2``, computed by the same variable projection with H = I, so
``f(psi(X*)) = f~* + (psi - X*)^T H (psi - X*) >= f*`` and ``psi(X*) = X*`` whenever X* is
realisable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from markov_icl.errors import MarkovICLError, check_int
from markov_icl.limits import MAX_STARTS, check_at_most
from markov_icl.symbolic.model import bilinear_tensor, phi
from markov_icl.symbolic.objective import Index, check_d, f_tilde

if TYPE_CHECKING:
    from markov_icl.symbolic.solve import Solution
    from markov_icl.types import Exact, Vector


def _float_matrix(M) -> np.ndarray:
    """A DomainMatrix / SymPy matrix / nested list / array as a float64 array."""
    if hasattr(M, "to_list") and hasattr(M, "domain"):
        to = M.domain.to_sympy
        return np.array([[float(to(x)) for x in row] for row in M.to_list()], dtype=float)
    return np.array(M, dtype=float)


class OneLayerLoss:
    """``f(b, A)`` and its variable projection ``f(b)`` for given H, beta, E[y^2] (theory §6), in float64.

    Args:
        d: chain input length.
        H: dm x dm matrix (DomainMatrix, SymPy, list or array).
        beta: dm vector.
        E_y2: the constant ``E[y^2]``.
    """

    def __init__(self, d: int, H, beta, E_y2):
        self.d = check_d(d)
        self.idx = Index(d)
        self.H = _float_matrix(H)
        self.beta = _float_matrix(beta).reshape(-1)
        self.E_y2 = float(sp.Rational(E_y2)) if not isinstance(E_y2, float) else E_y2
        if self.H.shape != (self.idx.dm, self.idx.dm) or self.beta.shape != (self.idx.dm,):
            raise MarkovICLError(f"H must be {self.idx.dm} x {self.idx.dm} and beta of length {self.idx.dm}")
        self._T = bilinear_tensor(d)  # phi^(j)_r = sum_{k,l} b_k T[k, r, l] A_{l j}
        #: True when H is singular (the LSA with a constant input): :meth:`project` then solves by least squares
        self.singular = False

    @classmethod
    def of(cls, solution) -> "OneLayerLoss":
        """The one-layer loss of a numeric :class:`~markov_icl.symbolic.solve.Solution`."""
        return cls(solution.d, solution.H_float, solution.beta_float, solution.E_y2_float)

    # ---- maps -----------------------------------------------------------------
    def M0(self, b: np.ndarray) -> np.ndarray:
        """``M0(b)`` with ``X^(j) = M0(b) A_{:,j}``."""
        return np.einsum("k,krl->rl", b, self._T)

    def phi(self, b: np.ndarray, A: np.ndarray) -> np.ndarray:
        """``phi(b, A)`` (theory §3), as float64."""
        return phi(np.asarray(b, float), np.asarray(A, float))

    def loss(self, b, A) -> float:
        """``f(b, A) = f~(phi(b, A))`` (theory §2-3)."""
        return self.tilde(self.phi(b, A))

    def tilde(self, X) -> float:
        """``f~(X) = E[y^2] - 2 beta^T X + X^T H X`` (theory §3)."""
        return float(f_tilde(np.asarray(X, float), self.H, self.beta, self.E_y2))

    def project(self, b: np.ndarray):
        """``(f(b), A*(b), grad f(b))`` by least squares in A (variable projection)."""
        d, m, N = self.d, self.idx.m, self.d + 1
        M0 = self.M0(b)
        M = np.kron(np.eye(d), M0)  # phi = M vec_j(A), vec_j stacking the columns a_j
        G = M.T @ self.H @ M
        rhs = M.T @ self.beta
        if getattr(self, "singular", False):  # H has a null space (a constant input): least squares in its range
            a = np.linalg.lstsq(G, rhs, rcond=1e-10)[0]
        else:
            try:
                a = np.linalg.solve(G, rhs)
            except np.linalg.LinAlgError:
                a = np.linalg.lstsq(G, rhs, rcond=None)[0]
        A = a.reshape(d, N).T
        x = self.phi(b, A)
        f = float(self.E_y2 - rhs @ a)
        resid = self.H @ x - self.beta  # grad_phi / 2
        # phi = N(A) b : d phi_(j,r) / d b_k = sum_l T[k, r, l] A_{l j}
        grad = 2 * np.einsum("krl,lj,jr->k", self._T, A, resid.reshape(d, m))
        return f, A, grad


@dataclass
class FStar:
    """The best one-layer LSA found (theory §6).

    Attributes:
        f_star: the minimum value (float).
        b, A: parameters attaining it (b unit norm, last nonzero entry positive).
        certificate: how the minimum was certified (text).
        runs: the sorted local minima values of every start.
        exact: for d = 1, the exact description (polynomial and root) of the minimiser.
    """

    f_star: float
    b: np.ndarray
    A: np.ndarray
    certificate: str
    runs: list[float]
    exact: str | None = None

    def _repr_markdown_(self) -> str:
        """``f*`` as Jupyter shows it (:mod:`markov_icl.display`): the value, the parameters, the certificate.

        Examples:
            >>> from markov_icl.symbolic.solve import solve
            >>> print(best_one_layer(solve(1, "1/2", 5))._repr_markdown_().splitlines()[0])
            best one-layer LSA: $f^* = 0.364611216519$ (exact: critical points of a rational function)
        """
        from markov_icl.display import float_vector, shorten

        how = "exact: critical points of a rational function" if self.exact else \
            f"multistart: {sum(1 for v in self.runs if v - self.f_star <= 1e-9)} of {len(self.runs)} runs agree"
        A = np.asarray(self.A)
        return (f"best one-layer LSA: $f^* = {self.f_star:.12g}$ ({how})\n\n"
                f"$b = {float_vector(self.b)}$, $A$ = {'; '.join(float_vector(row) for row in A)}\n\n"
                f"certificate: {shorten(self.certificate, 300)}")


def _hemisphere_points(N: int, count: int, seed: int) -> np.ndarray:
    """Deterministic quasi-uniform directions on the unit sphere of R^N (first nonzero coord >= 0).

    A scrambled Sobol sequence mapped through the Gaussian quantile, normalised.
    """
    from scipy.stats import norm, qmc

    k = max(0, math.ceil(math.log2(max(count, 1))))
    pts = qmc.Sobol(N, scramble=True, seed=seed).random_base2(k)[:count]
    g = norm.ppf(np.clip(pts, 1e-12, 1 - 1e-12))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    g *= np.sign(g[:, -1:] + 1e-300)
    return g


def covering_angle(points: np.ndarray, probes: int = 20000, seed: int = 12345) -> float:
    """Resolution of a start set: the largest angle (degrees) from a direction to its nearest start.

    Directions are taken up to sign (``f(b) = f(-b)``). Monte Carlo over ``probes``
    seeded uniform directions, so a slight underestimate of the true covering radius.
    """
    rng = np.random.default_rng(seed)
    N = points.shape[1]
    g = rng.normal(size=(probes, N))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    P = points / np.linalg.norm(points, axis=1, keepdims=True)
    cos = np.abs(g @ P.T).max(axis=1)
    return float(np.degrees(np.arccos(np.clip(cos.min(), -1.0, 1.0))))


def _canonical(b: np.ndarray) -> np.ndarray:
    b = b / np.linalg.norm(b)
    k = np.flatnonzero(np.abs(b) > 1e-12)[-1]
    return b * np.sign(b[k])


def minimize_over_b(loss: OneLayerLoss, starts: int | None = None, seed: int = 0, agree_tol: float = 1e-9,
                    extra_starts: list | None = None, progress=None, desc: str = "f* multistart") -> FStar:
    """Global minimum of ``f(b)`` over the unit sphere (d <= 6 recommended): multistart BFGS.

    Args:
        starts: number of start directions (default ``16 * 2^ceil(log2(d + 1))``, 32 to 128 for d <= 6).
        seed: seeds the Sobol scrambling (runs are reproducible).
        agree_tol: runs within this of the best count as agreeing.
        extra_starts: further start directions (e.g. from a trained model).
        progress: True for a progress report over the starts (:mod:`markov_icl.progress`), or
            ``progress(iterable, desc) -> iterable`` wrapping the loop over them; None or False for none.
    """
    from scipy.optimize import minimize

    d = loss.d
    N = d + 1
    if starts is not None:
        check_at_most("starts", check_int("starts", starts), MAX_STARTS, "each start is a BFGS run")
    starts = starts or 16 * 2 ** math.ceil(math.log2(N))
    P0 = _hemisphere_points(N, starts, seed)
    if extra_starts:
        P0 = np.vstack([P0] + [np.asarray(e, float).reshape(1, N) for e in extra_starts])

    def fun(b):
        nb = np.linalg.norm(b)
        f, _, g = loss.project(b / nb)
        return f, g / nb

    from markov_icl.progress import wrapper

    vals = []
    best: tuple | None = None
    wrap = wrapper(progress)
    for b0 in wrap(P0, desc) if wrap else P0:
        res = minimize(fun, b0, jac=True, method="BFGS", options={"gtol": 1e-10, "maxiter": 400})
        b = _canonical(res.x)
        f, A, g = loss.project(b)
        vals.append(f)
        if best is None or f < best[0]:
            best = (f, b, A)
    vals.sort()
    if best is None:  # pragma: no cover - starts >= 1
        raise MarkovICLError("no start directions")
    f, b, A = best
    agree = sum(1 for v in vals if v - f <= agree_tol)
    spread = vals[min(agree, len(vals)) - 1] - f if agree else 0.0
    cover = covering_angle(P0)
    cert = (f"multistart BFGS on the unit sphere of b in R^{N}: {len(P0)} starts "
            f"(scrambled Sobol directions, seed {seed}; every direction lies within {cover:.1f} deg of a start, "
            f"Monte Carlo estimate), exact gradient by variable projection; "
            f"best f = {f:.15g}; {agree} of {len(P0)} runs agree within {agree_tol:g} "
            f"(spread {spread:.1e}); worst local minimum {vals[-1]:.6g}")
    return FStar(f, b, A, cert, vals)


def f_star_d1_exact(H, beta, E_y2) -> FStar:
    """Exact global minimum of ``f(b)`` for d = 1 by enumerating critical points.

    With ``b = (1, t)``: ``phi(b, A) = M0 A`` with ``M0 = [[1, 0], [t, 1], [0, t]]`` and
    ``f(t) = E[y^2] - beta^T M (M^T H M)^{-1} M^T beta`` is a rational function of t with
    rational coefficients; its minimum over the circle is attained at a real root of the
    numerator of ``f'(t)`` or at ``b = (0, 1)`` (``t -> infinity``). Roots are isolated
    exactly (SymPy ``real_roots``) and f is evaluated at each to 30 digits.
    """
    t = sp.Symbol("t", real=True)
    if not _is_exact(H, beta, E_y2):
        raise MarkovICLError("f_star_d1_exact needs exact rational H, beta, E[y^2] (floats take the multistart route)")
    Hs = sp.Matrix(H.to_Matrix() if hasattr(H, "to_Matrix") else H)
    bs = sp.Matrix(beta.to_Matrix() if hasattr(beta, "to_Matrix") else beta)
    if Hs.shape != (3, 3):
        raise MarkovICLError("f_star_d1_exact needs d = 1 (3 x 3 H)")
    ey2 = sp.Rational(E_y2) if not hasattr(E_y2, "numerator") else sp.Rational(E_y2.numerator, E_y2.denominator)
    T = bilinear_tensor(1).astype(int)  # phi(b, A) = (b_1 T_1 + b_2 T_2) a, read off phi
    M = sp.Matrix(T[0]) + t * sp.Matrix(T[1])  # b = (1, t)
    G = (M.T * Hs * M).applyfunc(sp.expand)
    r = M.T * bs
    f = sp.cancel(ey2 - (r.T * G.adjugate() * r)[0, 0] / G.det())
    num, den = sp.fraction(sp.together(sp.diff(f, t)))
    P = sp.Poly(sp.expand(num), t)
    roots = P.real_roots()
    cand = [(sp.N(f.subs(t, rt), 30), ("t", rt)) for rt in roots]
    f_inf = sp.limit(f, t, sp.oo)
    cand.append((sp.N(f_inf, 30), ("inf", None)))
    val, (kind, rt) = min(cand, key=lambda c: c[0])
    if kind == "t":
        tv = float(sp.N(rt, 30))
        b = np.array([1.0, tv])
        exact = f"b = (1, t0), t0 = {rt} ~ {sp.N(rt, 20)}; f* = f(t0) ~ {val}"
    else:
        b = np.array([0.0, 1.0])
        exact = f"b = (0, 1); f* = {f_inf}"
    b = _canonical(b)
    loss = OneLayerLoss(1, Hs, bs, ey2)
    fb, A, _ = loss.project(b)
    cert = (f"exact for d = 1: f(b=(1,t)) is a rational function of t; the numerator of f'(t) has degree "
            f"{P.degree()} with {len(roots)} real roots (isolated exactly); with b = (0,1) that gives "
            f"{len(cand)} candidates, the least is {exact}")
    return FStar(float(val), b, A, cert, sorted(float(c[0]) for c in cand), exact)


def _is_exact(H, beta, E_y2) -> bool:
    """True when H, beta, E[y^2] are exact rationals (a DomainMatrix over ZZ/QQ, or SymPy/int/Fraction entries)."""
    from fractions import Fraction

    def exact(x) -> bool:
        return isinstance(x, (sp.Rational, Fraction)) or (isinstance(x, int) and not isinstance(x, bool))

    for M in (H, beta):
        if hasattr(M, "domain"):  # DomainMatrix
            if not (M.domain.is_ZZ or M.domain.is_QQ):
                return False
        elif isinstance(M, np.ndarray) or not all(exact(x) for x in sp.Matrix(M)):
            return False
    return exact(E_y2)


def best_one_layer(solution: Solution, starts: int | None = None, seed: int = 0, progress: Any = None) -> FStar:
    """``f* = min_{b,A} f(b, A)``, the best one-layer LSA (theory §6), for a numeric
    :class:`~markov_icl.symbolic.solve.Solution`: exact for d = 1, a certified multistart
    search for d >= 2.

    Args:
        solution: the objective at a numeric point (e.g. ``markov_icl.solve(2, "1/2", 10)``).
        starts: multistart directions for d >= 2 (default ``16 * 2^ceil(log2(d + 1))``).
        seed: seeds the start directions.
        progress: True for a progress report over the starts, or ``progress(iterable, desc) -> iterable``.

    Examples:
        >>> from markov_icl.symbolic.solve import solve
        >>> round(best_one_layer(solve(1, "1/2", 5)).f_star, 9)
        0.364611217
    """
    if not getattr(solution, "is_numeric", False):
        raise MarkovICLError("best_one_layer needs a solution at numeric parameters (give p and n)")
    if starts is not None:
        check_at_most("starts", check_int("starts", starts), MAX_STARTS, "each start is a BFGS run")
    check_int("seed", seed, 0)
    if solution.d == 1:
        return f_star_d1_exact(solution.H_domain, solution.beta, solution.E_y2)
    return minimize_over_b(OneLayerLoss.of(solution), starts=starts, seed=seed, progress=progress)


@dataclass
class Psi:
    """psi(X) of the paper's Remark C.15: parameters whose image is the realisable point nearest to X (Euclidean)."""

    b: np.ndarray
    A: np.ndarray
    X: np.ndarray
    distance: float
    certificate: str


def psi(X: Vector, d: int, starts: int | None = None, seed: int = 0, progress: Any = None) -> Psi:
    """``psi(X) = phi(b, A)`` minimising ``||phi(b, A) - X||_2`` (variable projection with H = I).

    Any (b, A) gives an upper bound ``f(psi) >= f*``; when X is realisable the minimum
    distance is 0 and psi(X) = X.

    Examples:
        >>> round(psi([1, 0, 1], 1).distance, 9)    # not realisable; the nearest realisable X, e.g. (1, 0, 0)
        1.0
    """
    from markov_icl.errors import check_real_vector

    idx = Index(check_d(d))
    X = check_real_vector("X", X, idx.dm)
    x = np.asarray([float(v) for v in X])
    dist_loss = OneLayerLoss(d, np.eye(idx.dm), x, float(x @ x))
    if d == 1:
        exact_X = [sp.Rational(v) for v in X] if all(isinstance(v, (int, sp.Rational)) for v in X) else None
        if exact_X is not None:
            res = f_star_d1_exact(sp.eye(3), sp.Matrix(exact_X), sum(v * v for v in exact_X))
        else:
            res = minimize_over_b(dist_loss, starts=starts, seed=seed, progress=progress, desc="psi multistart")
    else:
        res = minimize_over_b(dist_loss, starts=starts, seed=seed, progress=progress, desc="psi multistart")
    Xp = dist_loss.phi(res.b, res.A)
    return Psi(res.b, res.A, Xp, math.sqrt(max(res.f_star, 0.0)),
               "psi = nearest realisable point in the Euclidean norm; " + res.certificate)


#: above this d the multistart search is still run, but its minimum is not called certified
MAX_CERTIFIED_D = 6


@dataclass
class OptimumRealization:
    """Is the enlarged-space optimum X* realised by a one-layer LSA, and how far is the best one
    (theory §6)? What ``markov-icl realize`` reports.

    Attributes:
        solution: the exact objective and X* (:class:`~markov_icl.symbolic.solve.Solution`).
        realization: the exact decision for X* (:class:`~markov_icl.symbolic.realizability.Realization`).
        discriminant: ``D = X2^2 - 4 X1 X3`` for d = 1 (exact), else None.
        f_star: the best one-layer loss (equal to f~* exactly when X* is realisable).
        f_psi: ``f(psi(X*))``, the loss at the parameters nearest to X* (Remark C.15).
        b, A: the best one-layer parameters (float; b of unit norm).
        sandwich: ``f~* <= f* <= f(psi(X*))`` holds.
        certificate: how f* and the decision were certified.
    """

    solution: Any
    realization: Any
    discriminant: sp.Rational | None
    f_star: float
    f_psi: float
    b: np.ndarray
    A: np.ndarray
    sandwich: bool
    certificate: str

    @property
    def realizable(self) -> bool:
        return bool(self.realization.realizable)

    def _repr_markdown_(self) -> str:
        """The verdict and the sandwich ``f~* <= f* <= f(psi(X*))`` as Jupyter shows it (:mod:`markov_icl.display`).

        Examples:
            >>> print(realize_optimum(1, "1/2", 5)._repr_markdown_().splitlines()[0])
            **realize** $d = 1$, $p = \\frac{1}{2}$, $n = 5$: $X^*$ is **not realisable** by a one-layer LSA
        """
        from markov_icl.display import markdown_table, shorten, tex_of

        s = self.solution
        verdict = "**realisable**" if self.realizable else "**not realisable**"
        rows = [(r"$\tilde f^*$ (enlarged space)", f"{float(s.f_tilde_star):.12g}"),
                ("$f^*$ (best one-layer LSA)", f"{self.f_star:.12g}"),
                (r"$f(\psi(X^*))$ (nearest realisable point)", f"{self.f_psi:.12g}"),
                (r"gap $f^* - \tilde f^*$", f"{self.gap:.3e}"),
                (r"sandwich $\tilde f^* \le f^* \le f(\psi)$", str(self.sandwich))]
        if self.discriminant is not None:
            rows.insert(0, ("discriminant $D = X_2^2 - 4 X_1 X_3$", f"${tex_of(self.discriminant)}$"))
        return (f"**realize** $d = {s.d}$, $p = {tex_of(s.p)}$, $n = {tex_of(s.n)}$: $X^*$ is {verdict} by a one-layer "
                f"LSA\n\n{shorten(self.realization.reason, 200)}\n\n" + markdown_table(("quantity", "value"), rows))

    @property
    def gap(self) -> float:
        """``f* - f~*`` (0 exactly where X* is realisable)."""
        return self.f_star - float(self.solution.f_tilde_star)

    def to_dict(self) -> dict:
        """JSON-ready: exact quantities as strings with a ``_float`` twin (``f_tilde_star``,
        ``f_tilde_star_float``, ``X_star``, ``X_star_float``, ``discriminant``, ``discriminant_float``);
        f*, f(psi), gap, b, A as floats; ``realization`` the exact (b, A) as strings or None."""
        s, rz = self.solution, self.realization
        realization = None
        if rz.realizable:
            realization = {"b": [str(x) for x in rz.b], "A": [[str(x) for x in row] for row in rz.A]}
        return {
            "d": s.d, "p": str(s.p), "n": str(s.n),
            "realizable": self.realizable, "reason": rz.reason,
            "discriminant": None if self.discriminant is None else str(self.discriminant),
            "discriminant_float": None if self.discriminant is None else float(self.discriminant),
            "X_star": [str(x) for x in s.X_star], "X_star_float": [float(x) for x in s.X_star],
            "f_tilde_star": str(s.f_tilde_star), "f_tilde_star_float": float(s.f_tilde_star),
            "f_star": float(self.f_star), "f_psi": float(self.f_psi), "gap": float(self.gap),
            "sandwich": bool(self.sandwich),
            "b": [float(x) for x in self.b], "A": [[float(x) for x in row] for row in np.asarray(self.A)],
            "realization": realization,
            "psi": "psi(X) = phi(b, A) of the realisable point nearest to X in the Euclidean norm (Remark C.15)",
            "certificate": self.certificate,
        }


def realize_optimum(d: int, p: Exact, n: Exact, starts: int | None = None, seed: int = 0,
                    progress: Any = None) -> OptimumRealization:
    """Decide exactly whether X* (i.i.d. Bernoulli(p) starts, uniform kernel) is realised by a
    one-layer LSA, and compute the best one-layer loss f* and ``f(psi(X*))`` (theory §6).

    Args:
        d, p, n: the point (p an exact rational in (0, 1), n an integer >= 1).
        starts, seed: the multistart search for d >= 2 (:func:`best_one_layer`).
        progress: True for a progress report over the multistart runs, or ``progress(iterable, desc) -> iterable``.

    Examples:
        >>> r = realize_optimum(1, "1/2", 5)
        >>> r.realizable, r.discriminant, f"{r.gap:.3e}"
        (False, -1/12, '2.788e-05')
    """
    from markov_icl.symbolic.laws import parse_probability
    from markov_icl.symbolic.objective import parse_n
    from markov_icl.symbolic.realizability import discriminant, realize
    from markov_icl.symbolic.solve import solve

    check_d(d)
    if p is None or n is None:
        raise MarkovICLError("realize needs numeric p and n (e.g. p = 1/2, n = 5)")
    pv, nv = parse_probability(p), parse_n(n)
    if not nv.is_Integer:
        raise MarkovICLError(f"n must be an integer >= 1, got {n}")
    sol = solve(d, pv, nv)
    sol.check_minimiser()
    X: Any = sol.X_star  # exact (check_minimiser: H is positive definite, X* derived)
    ft: Any = sol.f_tilde_star
    rz = realize(X, d)
    disc = sp.Rational(discriminant(X)) if d == 1 else None
    res = best_one_layer(sol, starts=starts, seed=seed, progress=progress)
    ps = psi(X, d, starts=starts, seed=seed, progress=progress)
    f_psi = OneLayerLoss.of(sol).tilde(ps.X)
    cert = [res.certificate]
    if d > MAX_CERTIFIED_D:
        cert.append(f"d = {d} > {MAX_CERTIFIED_D}: the multistart minimum is an upper bound on f*, not certified")
    b, A, f_star = res.b, res.A, res.f_star
    if rz.realizable and rz.b is not None and rz.A is not None:
        bf = np.array([float(sp.N(x, 30)) for x in rz.b])
        Af = np.array([[float(sp.N(x, 30)) for x in row] for row in rz.A])
        scale = np.linalg.norm(bf)
        b, A = bf / scale, Af * scale
        cert.insert(0, f"X* is realisable ({rz.reason}); phi(b, A) = X* verified exactly, so f* = f~* exactly; "
                       f"the search independently gives f* - f~* = {res.f_star - float(ft):.2e}")
        f_star = f_psi = float(ft)
    else:
        cert.insert(0, f"X* is not realisable ({rz.reason}), so f* > f~*")
    sandwich = float(ft) - 1e-12 <= f_star <= f_psi + 1e-12
    return OptimumRealization(sol, rz, disc, float(f_star), float(f_psi), np.asarray(b), np.asarray(A), sandwich,
                              " | ".join(cert))
