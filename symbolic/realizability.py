"""Realisability of an enlarged-space point by a one-layer LSA (theory §6, Remark C.15).

A one-layer LSA with last row ``b`` of ``P`` and first ``d`` columns ``A`` of ``Q``
predicts ``<phi(b, A), x_q (kron) g>`` (theory §3), where

    X^(j)_(u,u) = b_u A_{u,j},   X^(j)_(u,v) = b_u A_{v,j} + b_v A_{u,j}   (u < v).

With ``S_j = (b a_j^T + a_j b^T) / 2`` (``a_j = A_{:,j}``) the quadratic form of
``S_j`` is ``(b . x)(a_j . x)``. Hence X is realisable iff every nonzero ``S_j`` is
rank 1, or rank 2 and indefinite, and one direction ``b`` is a linear factor of all of
them. The decision is linear algebra (polynomial time):

1. take the first nonzero ``S_j``; its candidate directions ``b`` are its column space
   (rank 1) or the two real linear factors of its binary form on a nondegenerate
   principal 2 x 2 block (rank 2, negative minor), exact in ``Q(sqrt(Delta))``;
2. for a fixed ``b != 0`` the map ``a -> sym(b a^T)`` is injective, with inverse
   ``a = (2 S b - b (b^T S b) / |b|^2) / |b|^2``; check ``sym(b a_j^T) == S_j`` for all j.

Exact for rational X (SymPy's algebraic field ``QQ<sqrt(Delta)>``), with a relative
tolerance for floats. For d = 1 the test is ``D = X2^2 - 4 X1 X3 >= 0`` and
:func:`discriminant_d1` / :func:`region_d1` give the exact region in (p, n) where
Theorem 3.3's parameters exist.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING

import sympy as sp
from sympy.polys.matrices import DomainMatrix

from markov_icl.errors import MarkovICLError
from markov_icl.symbolic.laws import N_SYMBOL, P_SYMBOL, parse_probability
from markov_icl.symbolic.model import phi
from markov_icl.symbolic.objective import Index, check_d, parse_n

if TYPE_CHECKING:
    from markov_icl.types import Vector


# --------------------------------------------------------------------------- S_j
def S_matrices(X, d: int) -> list[list[list]]:
    """The symmetric ``(d+1) x (d+1)`` matrices ``S_j`` with ``yhat = sum_j x_qj <G, S_j>`` (theory §3).

    ``(S_j)_{uu} = X^(j)_(u,u)`` and ``(S_j)_{uv} = X^(j)_(u,v) / 2``.
    """
    check_d(d)
    idx = Index(d)
    if len(X) != idx.dm:
        raise MarkovICLError(f"X must have d m = {idx.dm} entries for d = {d}, got {len(X)}")
    exact = all(_is_exact(x) for x in X)
    half = sp.Rational(1, 2) if exact else 0.5
    zero = sp.Integer(0) if exact else 0.0
    out = []
    for j in range(d):
        S = [[zero] * (d + 1) for _ in range(d + 1)]
        for k, (u, v) in enumerate(idx.pairs):
            x = X[j * idx.m + k]
            x = sp.Rational(x) if exact else float(x)
            if u == v:
                S[u - 1][u - 1] = x
            else:
                S[u - 1][v - 1] = S[v - 1][u - 1] = x * half
        out.append(S)
    return out


def _is_exact(x) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, (int, Fraction)):
        return True
    return isinstance(x, sp.Basic) and bool(getattr(x, "is_Rational", False))


# --------------------------------------------------------------------------- the decision
@dataclass
class Realization:
    """Outcome of :func:`realize` (theory §6).

    Attributes:
        realizable: whether some (b, A) has ``phi(b, A) == X``.
        b, A: a realisation when there is one (exact SymPy numbers, possibly involving
            one square root, for exact input; floats otherwise), else None.
        reason: one line saying why (rank / sign of the minor / no common factor).
        exact: True for the exact decision, False for the float one.
        residual: ``max |phi(b, A) - X|`` of the returned realisation (0 when exact).
    """

    realizable: bool
    b: list | None
    A: list | None
    reason: str
    exact: bool
    residual: float = 0.0
    ranks: list[int] = field(default_factory=list)

    def _repr_markdown_(self) -> str:
        """The verdict as Jupyter shows it (:mod:`markov_icl.display`): realisable or not, why, and (b, A).

        Examples:
            >>> print(realize([1, 3, 2], 1)._repr_markdown_())
            **realisable** by a one-layer LSA (exact): S_1 rank 2, indefinite; b is a common linear factor of every S_j
            <BLANKLINE>
            $b = \\left(\\frac{1}{2},\\ 1\\right)^{\\top}$, $A = \\left[\\begin{matrix}2\\\\2\\end{matrix}\\right]$
        """
        from markov_icl.display import latex_vector, tex_of

        how = "exact" if self.exact else f"float, residual {self.residual:.1e}"
        if not self.realizable:
            return f"**not realisable** by a one-layer LSA ({how}): {self.reason}"
        A = tex_of(sp.Matrix(self.A)) if self.exact else tex_of(sp.Matrix(self.A).evalf(6))
        return (f"**realisable** by a one-layer LSA ({how}): {self.reason}\n\n"
                f"$b = {latex_vector(self.b or [])}$, $A = {A}$")


def realize(X: Vector, d: int, tol: float = 1e-9) -> Realization:
    """Decide whether X is realisable by a one-layer LSA (theory §6) and return (b, A).

    Exact when every entry of X is a rational (int, Fraction or SymPy Rational):
    square roots are handled in the algebraic field ``QQ<sqrt(Delta)>`` and
    ``phi(b, A) == X`` is verified exactly. Floats use the same algorithm with the
    relative tolerance ``tol`` (scaled by ``max |X|``).

    Raises:
        MarkovICLError: wrong length of X or bad d.

    Examples:
        >>> r = realize([1, 3, 2], 1)           # S = [[1, 3/2], [3/2, 2]] is indefinite: realisable
        >>> r.realizable, r.b, r.A
        (True, [1/2, 1], [[2], [2]])
        >>> realize([1, 0, 1], 1).realizable    # D = 0 - 4 < 0: definite, not realisable
        False
    """
    from markov_icl.errors import check_real_vector

    check_d(d)
    X = check_real_vector("X", X)
    if all(_is_exact(x) for x in X):
        return _realize_exact([sp.Rational(x) for x in X], d)
    return _realize_float([float(x) for x in X], d, tol)


def _rational(dom, x):
    """A SymPy rational as an element of ``dom`` (QQ or a quadratic field), without numerical work."""
    q = sp.QQ.from_sympy(sp.Rational(x))
    return q if dom == sp.QQ else dom.convert_from(q, sp.QQ)


def _candidates_exact(S: sp.Matrix):
    """Candidate directions b from one nonzero symmetric S: ``(candidates, dom, rank, reason)``.

    The candidates are lists of elements of ``dom``: QQ, or the quadratic field
    ``QQ(sqrt(Delta))`` built from its generator (arithmetic in it is exact and never needs
    SymPy's numerical field isomorphisms, which fail for numbers of many digits)."""
    r = S.rank()
    N = S.shape[0]
    if r == 1:
        col = next(S[:, k] for k in range(N) if any(S[:, k]))
        return [[sp.QQ.from_sympy(x) for x in col]], sp.QQ, r, "rank 1"
    if r != 2:
        return None, None, r, f"S has rank {r} > 2: its quadratic form is not a product of two linear forms"
    # a nonzero principal 2x2 minor exists for a rank-2 symmetric matrix
    for pidx in range(N):
        for qidx in range(pidx + 1, N):
            minor = S[pidx, pidx] * S[qidx, qidx] - S[pidx, qidx] ** 2
            if minor != 0:
                break
        else:
            continue
        break
    else:  # pragma: no cover - impossible for rank 2
        return None, None, r, "no nonzero principal minor"
    if minor > 0:
        return None, None, r, "S has rank 2 and is definite: its form has no real linear factor"
    disc = S[pidx, qidx] ** 2 - S[pidx, pidx] * S[qidx, qidx]  # > 0
    root = sp.sqrt(disc)
    dom = sp.QQ if root.is_Rational else sp.QQ.algebraic_field(root)
    rt = sp.QQ.from_sympy(root) if root.is_Rational else dom([1, 0])  # the generator, sqrt(Delta)
    E = [[_rational(dom, S[i, j]) for j in range(N)] for i in range(N)]
    Spp, Spq, Sqq = E[pidx][pidx], E[pidx][qidx], E[qidx][qidx]
    zero, one, two = dom.zero, dom.one, dom.convert(2)
    cands = []
    for sgn in (1, -1):
        # q(s, t) = Spp s^2 + 2 Spq s t + Sqq t^2 = (b_p s + b_q t)(a_p s + a_q t)
        if Spp != zero:
            bp, bq = Spp, Spq + rt * sgn  # b_p a_p = Spp with a_p = 1
            ap, aq = one, (Spq - rt * sgn) / Spp
        elif sgn == 1:  # q = t (2 Spq s + Sqq t): the factors t and 2 Spq s + Sqq t
            bp, bq, ap, aq = zero, one, two * Spq, Sqq
        else:
            bp, bq, ap, aq = two * Spq, Sqq, zero, one
        det = bp * aq - bq * ap
        b = [zero] * N
        b[pidx], b[qidx] = bp, bq
        for k in range(N):
            if k not in (pidx, qidx):
                # 2 S_pk = b_p a_k + b_k a_p ; 2 S_qk = b_q a_k + b_k a_q  -> solve for b_k
                b[k] = (bp * two * E[qidx][k] - bq * two * E[pidx][k]) / det
        cands.append(b)
    return cands, dom, r, "rank 2, indefinite"


def _solve_A_for_b(Ss: list[sp.Matrix], b: list, dom):
    """Exact ``a_j = (2 S_j b - b (b^T S_j b)/|b|^2)/|b|^2`` for every j, verified; b in ``dom``."""
    N = len(b)
    bD = DomainMatrix([[x] for x in b], (N, 1), dom)
    nb = (bD.transpose() * bD).to_list()[0][0]
    cols = []
    for S in Ss:
        SD = DomainMatrix([[_rational(dom, x) for x in row] for row in S.tolist()], (N, N), dom)
        Sb = SD * bD
        bSb = (bD.transpose() * Sb).to_list()[0][0]
        a = (Sb * dom.convert(2) - bD * (bSb / nb)) * (dom.one / nb)
        # verify sym(b a^T) == S exactly
        sym = (bD * a.transpose() + a * bD.transpose()) * (dom.one / dom.convert(2))
        if sym != SD:
            return None
        cols.append([dom.to_sympy(x) for x in a.to_list_flat()])
    return cols


def _realize_exact(X: list, d: int) -> Realization:
    Ss = [sp.Matrix(S) for S in S_matrices(X, d)]
    ranks = [S.rank() for S in Ss]
    nz = [j for j, S in enumerate(Ss) if any(S)]
    N = d + 1
    if not nz:
        b = [sp.Integer(0)] * N
        b[-1] = sp.Integer(1)
        A = [[sp.Integer(0)] * d for _ in range(N)]
        return Realization(True, b, A, "X = 0 (A = 0)", True, 0.0, ranks)
    j0 = nz[0]
    cands, dom, r, why = _candidates_exact(Ss[j0])
    if cands is None:
        return Realization(False, None, None, f"S_{j0 + 1}: {why}", True, ranks=ranks)
    for b in cands:
        piv = next(x for x in reversed(b) if x != dom.zero)
        b = [x / piv for x in b]  # last nonzero entry 1 (phi is invariant under b -> c b, A -> A / c)
        cols = _solve_A_for_b(Ss, b, dom)
        if cols is None:
            continue
        b = [dom.to_sympy(x) for x in b]
        A = [[cols[j][u] for j in range(d)] for u in range(N)]
        # independent exact check: phi(b, A) == X, element by element (one square root: expand decides)
        if all(sp.expand(x - y) == 0 for x, y in zip(phi(b, A), X)):
            return Realization(True, b, A, f"S_{j0 + 1} {why}; b is a common linear factor of every S_j",
                               True, 0.0, ranks)
    return Realization(False, None, None,
                       f"S_{j0 + 1} is {why}, but none of its linear factors divides every other S_j", True,
                       ranks=ranks)


def _realize_float(X: list[float], d: int, tol: float) -> Realization:
    import numpy as np

    Ss = [np.array(S, dtype=float) for S in S_matrices(X, d)]
    scale = max(1.0, max(abs(x) for x in X))
    eps = tol * scale
    ranks = []
    for S in Ss:
        w = np.linalg.eigvalsh(S)
        ranks.append(int((np.abs(w) > eps).sum()))
    nz = [j for j, S in enumerate(Ss) if np.abs(S).max() > eps]
    N = d + 1
    if not nz:
        b = [0.0] * N
        b[-1] = 1.0
        return Realization(True, b, [[0.0] * d for _ in range(N)], "X = 0 (A = 0)", False, 0.0, ranks)
    j0 = nz[0]
    S = Ss[j0]
    w, V = np.linalg.eigh(S)
    keep = np.abs(w) > eps
    if keep.sum() > 2:
        return Realization(False, None, None, f"S_{j0 + 1} has rank {int(keep.sum())} > 2", False, ranks=ranks)
    if keep.sum() == 1:
        cands = [V[:, np.argmax(np.abs(w))]]
    else:
        lo, hi = np.argmin(w), np.argmax(w)
        if w[lo] * w[hi] > 0:
            return Realization(False, None, None, f"S_{j0 + 1} has rank 2 and is definite", False, ranks=ranks)
        s1, s2 = math.sqrt(w[hi]), math.sqrt(-w[lo])
        cands = [s1 * V[:, hi] + s2 * V[:, lo], s1 * V[:, hi] - s2 * V[:, lo]]
    best: tuple | None = None
    for cand in cands:
        b = np.asarray(cand, dtype=float) / np.linalg.norm(cand)
        A = np.zeros((N, d))
        for j, Sj in enumerate(Ss):
            Sb = Sj @ b
            A[:, j] = 2 * Sb - b * (b @ Sb)
        res = float(np.max(np.abs(phi(b, A) - np.array(X))))
        if best is None or res < best[0]:
            best = (res, b, A)
    if best is None:  # pragma: no cover - there is always a candidate
        raise MarkovICLError("no candidate direction b")
    res, b, A = best
    ok = res <= eps
    reason = (f"S_{j0 + 1} rank {int(keep.sum())}; common factor found, max |phi(b,A) - X| = {res:.2e}" if ok else
              f"no candidate factor of S_{j0 + 1} divides every S_j (best max residual {res:.2e} > {eps:.1e})")
    return Realization(ok, list(map(float, b)) if ok else None, A.tolist() if ok else None, reason, False,
                       res, ranks)


# --------------------------------------------------------------------------- d = 1 region
def discriminant(X):
    """``D = X2^2 - 4 X1 X3`` of a d = 1 point X (theory §6): X is realisable iff ``D >= 0``.

    Examples:
        >>> discriminant([1, 3, 2]), discriminant([1, 0, 1])
        (1, -4)
    """
    if len(X) != 3:
        raise MarkovICLError(f"the discriminant is defined for d = 1 (3 coordinates), got {len(X)} coordinates")
    return X[1] ** 2 - 4 * X[0] * X[2]


@lru_cache(maxsize=1)
def _d1_solution():
    from markov_icl.symbolic.solve import solve

    return solve(1)


def discriminant_d1() -> sp.Expr:
    """``D(p, n) = X2*^2 - 4 X1* X3*`` for d = 1 (i.i.d. Bernoulli(p), uniform kernel), exact.

    X* comes from :func:`markov_icl.symbolic.solve.solve_symbolic_pn` (the engine, not a
    hand-typed formula); D is returned factored.
    """
    return sp.factor(sp.together(discriminant(_d1_solution().X_star)))


@dataclass
class RegionD1:
    """The exact region ``D(p, n) >= 0`` of Theorem 3.3's parameters (theory §6).

    Attributes:
        D: the discriminant as a factored rational function of (p, n).
        N: the polynomial whose sign is the sign of D on ``0 < p < 1, n >= 1``.
        N_m: N written in ``m = n - 1`` (the form whose coefficient signs prove the
            single sign change).
        positive_factor: ``D / N``, positive on the domain.
        integer_p_thresholds: for n = 1, 2, ...: ``None`` (never), ``"all"`` or the
            algebraic threshold p_n (``D >= 0`` iff ``p <= p_n``).
        always_from: the smallest integer n from which D >= 0 for every p in (0, 1).
        never_below: D < 0 for every p when n <= never_below.
    """

    D: sp.Expr
    N: sp.Expr
    N_m: sp.Expr
    positive_factor: sp.Expr
    integer_p_thresholds: dict
    always_from: int
    never_below: int


M_SYMBOL = sp.Symbol("m")


@lru_cache(maxsize=1)
def region_d1() -> RegionD1:
    """The exact region of (p, n) where Theorem 3.3's parameters exist (d = 1).

    Examples:
        >>> r = region_d1()
        >>> r.never_below, r.always_from       # never for n <= 4; for every p from n = 13
        (4, 13)

    D = n^2 N(p, n) / (positive squares). In ``m = n - 1`` the quartic ``N`` has
    coefficients ``(+, +, +, -, -)`` for ``0 < p < 1`` (checked here symbolically), so by
    Descartes' rule it has exactly one positive root ``m0(p)``; since ``N(p, 1) < 0``,
    ``D >= 0`` iff ``n >= n0(p) = 1 + m0(p)``.
    """
    p, n, m = P_SYMBOL, N_SYMBOL, M_SYMBOL
    D = discriminant_d1()
    num, den = sp.fraction(sp.together(D))
    # split the numerator into its n-power and the quartic
    fac = sp.factor_list(num)
    const, factors = fac
    N = sp.Integer(1)
    rest = sp.Integer(const)
    for f, e in factors:
        if sp.Poly(f, n).degree() >= 2 and f.has(p):
            N *= f**e
        else:
            rest *= f**e
    N = sp.expand(N)
    positive = sp.factor(rest / den)
    Nm = sp.collect(sp.expand(N.subs(n, m + 1)), m)
    thresholds: dict = {}
    always_from = None
    never_below = 0
    for nv in range(1, 40):
        P = sp.Poly(N.subs(n, nv), p)
        roots = [r for r in P.real_roots() if 0 < r < 1]
        mid = N.subs({n: nv, p: sp.Rational(1, 2)})
        if not roots:
            thresholds[nv] = "all" if mid > 0 else None
            if mid > 0 and always_from is None:
                always_from = nv
            if mid < 0:
                never_below = nv
        else:
            if len(roots) != 1:  # pragma: no cover - not the case for the uniform prior
                raise MarkovICLError(f"unexpected: {len(roots)} sign changes of D in p at n = {nv}")
            thresholds[nv] = roots[0]
        if always_from is not None and nv >= always_from + 2:
            break
    if always_from is None:  # pragma: no cover - D >= 0 everywhere from n = 13 (theory §6)
        raise MarkovICLError("no n found from which D >= 0 for every p")
    return RegionD1(D, N, Nm, positive, thresholds, always_from, never_below)


def coefficient_signs_m() -> list[str]:
    """Signs of N's coefficients in m = n - 1 on 0 < p < 1, proven by factoring each one."""
    p = P_SYMBOL
    poly = sp.Poly(region_d1().N_m, M_SYMBOL)
    out = []
    for c in poly.all_coeffs():
        c = sp.factor(c)
        # each coefficient is a product of factors with a fixed sign on (0, 1)
        lo = sp.Poly(c, p)
        roots = [r for r in lo.real_roots() if 0 < r < 1] if lo.degree() > 0 else []
        if roots:
            raise MarkovICLError(f"coefficient {c} changes sign inside (0, 1)")
        out.append("+" if c.subs(p, sp.Rational(1, 2)) > 0 else "-")
    return out


def threshold_n(p) -> sp.Expr:
    """``n0(p)``: for rational p the real algebraic number with ``D >= 0`` iff ``n >= n0(p)``."""
    pv = parse_probability(p)
    poly = sp.Poly(region_d1().N.subs(P_SYMBOL, pv), N_SYMBOL)
    roots = [r for r in poly.real_roots() if r > 1]
    if len(roots) != 1:  # pragma: no cover - excluded by Descartes' rule
        raise MarkovICLError(f"expected one root n0 > 1 at p = {pv}, found {len(roots)}")
    return roots[0]


def threshold_limits() -> tuple[sp.Expr, sp.Expr]:
    """``(lim_{p->0} n0(p), lim_{p->1} n0(p))``: the roots n > 1 of ``N(0, n)`` and ``N(1, n)``, exact."""
    out = []
    for e in (0, 1):
        poly = sp.Poly(sp.expand(region_d1().N.subs(P_SYMBOL, e)), N_SYMBOL)
        roots = [r for r in poly.real_roots() if r > 1]
        if len(roots) != 1:  # pragma: no cover - N(0, n), N(1, n) are quadratics with one root > 1
            raise MarkovICLError(f"expected one root n > 1 of N({e}, n), got {roots}")
        out.append(sp.radsimp(roots[0]))
    return out[0], out[1]


def smallest_n(p) -> int:
    """The smallest integer n >= 1 with ``D(p, n) >= 0`` (Theorem 3.3's parameters exist), exact."""
    pv = parse_probability(p)
    N = region_d1().N
    for nv in range(1, 10_000):
        if N.subs({P_SYMBOL: pv, N_SYMBOL: nv}) >= 0:
            return nv
    raise MarkovICLError(f"no n below 10000 works at p = {pv}")  # pragma: no cover


def discriminant_at(p, n) -> sp.Rational:
    """``D(p, n)`` at rational p and integer n, exact."""
    pv, nv = parse_probability(p), parse_n(n)
    if not nv.is_Integer:
        raise MarkovICLError(f"n must be an integer >= 1, got {n}")
    return region_d1().D.subs({P_SYMBOL: pv, N_SYMBOL: nv})
