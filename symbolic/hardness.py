"""Theorem 3.5's reduction: bilinear separability -> general bilinear feasibility (theory §6).

**What is NP-hard and what is not.** The general bilinear feasibility problem
(Problems C.10 / C.11) asks for ``(b, A)`` with ``b^T D(r) A_{:,j} = X_r`` for all
``r = (j, u, v)``, the ``(d+1) x (d+1)`` matrices ``D(r)`` being *free*. The one-layer
LSA map fixes them (``D(r) = E_uu`` or ``E_uv + E_vu``), and for those fixed matrices
realisability is decided in polynomial time by linear algebra
(:func:`markov_icl.symbolic.realizability.realize`). The NP-hardness therefore applies to the
general class, not to realising an LSA optimum X*.

**The source problem** (Bennett and Mangasarian, system 13): point sets ``P``
(``m'`` points) and ``Q`` (``k'`` points) in ``R^{n'}`` are *bilinearly separable* iff
``min z1^T z2 = 0`` subject to ``P w_i >= (g_i + 1) e`` and ``Q w_i - g_i e + e <= z_i``,
``z_i >= 0`` (i = 1, 2): every point of P lies strictly inside both half-spaces, every
point of Q strictly outside at least one. Deciding this is NP-complete (Megiddo 1988).

**Our encoding** (the paper does not spell out its layout of ``D(r)``; this one is
checked both ways by tests). ``z_i = zeta_i ∘ zeta_i`` builds in ``z >= 0``; then
``z1^T z2 = 0`` iff ``zeta1_k zeta2_k = 0`` for every k; each inequality ``L <= 0``
becomes ``L + sigma^2 = 0``. The unknowns ``v = (w1, g1, w2, g2, zeta1, zeta2, sigma)``
(``N = 2n' + 2 + 4k' + 2m'`` of them) sit in ``b = (b_0, b_0 v)``; column 1 of A is forced
to be ``b / b_0^2`` by ``b_0 A_01 = 1`` and ``b_0 A_k1 - b_k A_01 = 0``, so that
``b^T D A_{:,1} = (1, v)^T D (1, v)``: every quadratic equation in v is one bilinear
equation. Other columns carry ``D(r) = 0, X_r = 0``. Hence ``d = N`` and the instance has
``d m`` equations; Example C.13's sizes ``m' = k' = n' = 2`` give ``d = 18``,
``dm = 3420`` here (the paper states ``d = 8, dm = 360`` for its own layout, which we
could not reconstruct).

Deciding small instances both ways: :func:`decide_separability` (exact: enumerate the
``2^{k'}`` ways to split Q between the planes; each half is tested for strict linear
separability from P by an LP whose answer is verified in exact rationals: a rational
separating plane, or a rational common point of the two convex hulls) and
:func:`solve_feasibility` (multistart trust-region least squares on the bilinear residuals).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import product as iproduct

import numpy as np
import sympy as sp

from markov_icl.errors import MarkovICLError, check_int
from markov_icl.symbolic.objective import Index


# --------------------------------------------------------------------------- instances
def _rational_points(points, name: str) -> list[list[sp.Rational]]:
    try:
        pts = [[sp.Rational(str(x)) if isinstance(x, float) else sp.Rational(x) for x in row] for row in points]
        if any(isinstance(x, bool) for row in points for x in row):
            raise TypeError
    except (TypeError, ValueError, ZeroDivisionError):
        raise MarkovICLError(f"{name}: points must be rows of exact rationals") from None
    if not pts or len({len(r) for r in pts}) != 1 or not pts[0]:
        raise MarkovICLError(f"{name}: need a non-empty list of points of one common dimension")
    return pts


@dataclass
class SeparabilityInstance:
    """Bennett-Mangasarian's bilinear separability data: P (m' x n'), Q (k' x n'), exact."""

    P: list[list[sp.Rational]]
    Q: list[list[sp.Rational]]

    @staticmethod
    def of(P, Q) -> "SeparabilityInstance":
        Pp, Qq = _rational_points(P, "P"), _rational_points(Q, "Q")
        if len(Pp[0]) != len(Qq[0]):
            raise MarkovICLError("P and Q must live in the same dimension n'")
        return SeparabilityInstance(Pp, Qq)

    @property
    def sizes(self) -> tuple[int, int, int]:
        """``(m', k', n')``."""
        return len(self.P), len(self.Q), len(self.P[0])


@dataclass
class Layout:
    """Where each unknown of system 13 sits in v (0-based offsets into v; b = (b_0, b_0 v))."""

    m1: int
    k1: int
    n1: int

    @property
    def w1(self) -> slice:
        return slice(0, self.n1)

    @property
    def g1(self) -> int:
        return self.n1

    @property
    def w2(self) -> slice:
        return slice(self.n1 + 1, 2 * self.n1 + 1)

    @property
    def g2(self) -> int:
        return 2 * self.n1 + 1

    def zeta(self, i: int) -> slice:
        s = 2 * self.n1 + 2 + i * self.k1
        return slice(s, s + self.k1)

    def sigma_P(self, i: int) -> slice:
        s = 2 * self.n1 + 2 + 2 * self.k1 + i * self.m1
        return slice(s, s + self.m1)

    def sigma_Q(self, i: int) -> slice:
        s = 2 * self.n1 + 2 + 2 * self.k1 + 2 * self.m1 + i * self.k1
        return slice(s, s + self.k1)

    @property
    def N(self) -> int:
        return 2 * self.n1 + 2 + 4 * self.k1 + 2 * self.m1


@dataclass
class BilinearInstance:
    """The general bilinear feasibility instance ``b^T D(r) A_{:,j} = X_r`` (Problems C.10/C.11).

    Attributes:
        d: the instance's d (b in R^{d+1}, A in R^{(d+1) x d}).
        equations: the nonzero rows ``(r, j, D, X_r)`` (r 1-based in theory §3 order, D a
            sparse dict {(u, v): value} with 0-based u, v); every other r has
            ``D(r) = 0`` and ``X_r = 0``.
        layout: where the unknowns of system 13 sit.
        source: the separability instance it came from.
    """

    d: int
    equations: list[tuple[int, int, dict, sp.Rational]]
    layout: Layout
    source: SeparabilityInstance

    @property
    def dm(self) -> int:
        return Index(self.d).dm

    def D(self, r: int) -> sp.Matrix:
        """The full ``(d+1) x (d+1)`` matrix D(r) (zero for unused r)."""
        M = sp.zeros(self.d + 1, self.d + 1)
        for rr, _, D, _ in self.equations:
            if rr == r:
                for (u, v), val in D.items():
                    M[u, v] = val
        return M

    def X(self) -> list[sp.Rational]:
        """The right-hand side ``X`` in R^{dm}."""
        out = [sp.Integer(0)] * self.dm
        for r, _, _, x in self.equations:
            out[r - 1] = x
        return out

    def residuals(self, b, A) -> list:
        """``b^T D(r) A_{:,j} - X_r`` for the nonzero rows (exact for exact input)."""
        out = []
        for _, j, D, x in self.equations:
            out.append(sum(b[u] * val * A[v][j - 1] for (u, v), val in D.items()) - x)
        return out


def build_instance(inst: SeparabilityInstance) -> BilinearInstance:
    """The reduction of Theorem 3.5: system 13 -> ``b^T D(r) A_{:,j} = X_r`` (see module doc)."""
    m1, k1, n1 = inst.sizes
    lay = Layout(m1, k1, n1)
    N = lay.N
    d = N
    idx = Index(d)
    rows: list[tuple[dict, sp.Rational]] = []
    one = sp.Integer(1)

    def var(k: int) -> int:  # position of v_k in b (b_0 is position 0)
        return k + 1

    def quad(terms: dict, const) -> None:
        """(1, v)^T D (1, v) = -const, D built from {(a, b): coeff} over b-positions."""
        rows.append((terms, sp.Rational(-const)))

    # normalisation b_0 A_01 = 1 and the copies b_0 A_k1 - b_k A_01 = 0
    rows.append(({(0, 0): one}, one))
    for k in range(1, N + 1):
        rows.append(({(0, k): one, (k, 0): -one}, sp.Integer(0)))
    for i, (w, g) in enumerate(((lay.w1, lay.g1), (lay.w2, lay.g2))):
        sP, sQ, z = lay.sigma_P(i), lay.sigma_Q(i), lay.zeta(i)
        ws = list(range(w.start, w.stop))
        for t, pt in enumerate(inst.P):  # P w - g - 1 - sigma^2 = 0
            terms: dict = {}
            for c, k in zip(pt, ws):
                if c != 0:
                    terms[(0, var(k))] = c
            terms[(0, var(g))] = -one
            s = var(sP.start + t)
            terms[(s, s)] = -one
            quad(terms, -1)
        for t, pt in enumerate(inst.Q):  # -Q w + g - 1 + zeta^2 - sigma^2 = 0
            terms = {}
            for c, k in zip(pt, ws):
                if c != 0:
                    terms[(0, var(k))] = -c
            terms[(0, var(g))] = one
            zz = var(z.start + t)
            s = var(sQ.start + t)
            terms[(zz, zz)] = one
            terms[(s, s)] = -one
            quad(terms, -1)
    for t in range(k1):  # zeta1_t zeta2_t = 0  (z1^T z2 = 0 with z >= 0)
        quad({(var(lay.zeta(0).start + t), var(lay.zeta(1).start + t)): one}, 0)
    if len(rows) > idx.m:  # pragma: no cover - m = (N+1)(N+2)/2 always suffices
        raise MarkovICLError("too many equations for one column")
    eqs = [(r + 1, 1, D, x) for r, (D, x) in enumerate(rows)]
    return BilinearInstance(d, eqs, lay, inst)


# --------------------------------------------------------------------------- exact separability
def _lin_separable(P: list, Qs: list) -> tuple[bool, object]:
    """Strict linear separability of P from Qs, decided by LP and verified in exact rationals.

    Returns ``(True, (w, g))`` with ``P w >= g + 1``, ``Qs w <= g - 1`` exactly, or
    ``(False, (lam, mu))`` with ``sum lam P = sum mu Qs``, ``lam, mu >= 0`` summing to 1.
    """
    from scipy.optimize import linprog

    n1 = len(P[0])
    if not Qs:
        return True, ([sp.Integer(0)] * n1, sp.Integer(-1))
    Pf, Qf = np.array(P, float), np.array(Qs, float)
    # variables (w, g): -P w + g <= -1 ; Q w - g <= -1
    A_ub = np.vstack([np.hstack([-Pf, np.ones((len(P), 1))]), np.hstack([Qf, -np.ones((len(Qs), 1))])])
    res = linprog(np.zeros(n1 + 1), A_ub=A_ub, b_ub=-np.ones(len(P) + len(Qs)), bounds=[(None, None)] * (n1 + 1),
                  method="highs")
    if res.status == 0:
        for den in (10**3, 10**6, 10**9):
            wg = [sp.Rational(Fraction(float(x)).limit_denominator(den)) for x in res.x]
            w, g = wg[:n1], wg[n1]
            # rescale to the margin 1 exactly (strict separation is scale-free)
            lo = min(sum(a * b for a, b in zip(pt, w)) - g for pt in P)
            hi = max(sum(a * b for a, b in zip(pt, w)) - g for pt in Qs)
            if lo > 0 and hi < 0:
                c = 1 / min(lo, -hi)
                return True, ([x * c for x in w], g * c)
    # certificate of non-separability: a common point of conv(P) and conv(Qs)
    mP, mQ = len(P), len(Qs)
    A_eq = np.vstack([np.hstack([Pf.T, -Qf.T]),
                      np.hstack([np.ones((1, mP)), np.zeros((1, mQ))]),
                      np.hstack([np.zeros((1, mP)), np.ones((1, mQ))])])
    b_eq = np.concatenate([np.zeros(n1), [1.0, 1.0]])
    res2 = linprog(np.zeros(mP + mQ), A_eq=A_eq, b_eq=b_eq, bounds=[(0, None)] * (mP + mQ), method="highs")
    if res2.status == 0:
        support = [i for i, x in enumerate(res2.x) if x > 1e-9]
        lam = sp.symbols(f"l0:{mP + mQ}")
        Mex = sp.Matrix([[*pt] for pt in P]).T.row_join(-sp.Matrix([[*q] for q in Qs]).T)
        Mex = Mex.col_join(sp.Matrix([[1] * mP + [0] * mQ])).col_join(sp.Matrix([[0] * mP + [1] * mQ]))
        rhs = sp.Matrix([0] * n1 + [1, 1])
        sub = Mex[:, support]
        sol = sp.linsolve((sub, rhs), [lam[i] for i in support])
        for s in sol:
            vals = [x.subs({f: 0 for f in x.free_symbols}) for x in s]
            full = [sp.Integer(0)] * (mP + mQ)
            for i, x in zip(support, vals):
                full[i] = x
            if all(x >= 0 for x in full) and Mex * sp.Matrix(full) == rhs:
                return False, (full[:mP], full[mP:])
    raise MarkovICLError("could not certify linear (non-)separability exactly; the instance may be degenerate")


@dataclass
class SeparabilityDecision:
    """Exact answer of :func:`decide_separability`."""

    separable: bool
    planes: tuple | None  # ((w1, g1), (w2, g2)) with margins 1, exact
    split: tuple | None  # indices of Q separated by plane 1, by plane 2
    certificates: list  # for every split tried when not separable: the offending hull point


def decide_separability(inst: SeparabilityInstance) -> SeparabilityDecision:
    """Bilinear separability, exactly: some split Q = Q1 + Q2 with P strictly separable from each."""
    m1, k1, n1 = inst.sizes
    cache: dict = {}

    def sep(ids):
        if ids not in cache:
            cache[ids] = _lin_separable(inst.P, [inst.Q[i] for i in ids])
        return cache[ids]

    certs = []
    for mask in iproduct((0, 1), repeat=k1):
        Q1 = tuple(i for i in range(k1) if mask[i] == 0)
        Q2 = tuple(i for i in range(k1) if mask[i] == 1)
        ok1, c1 = sep(Q1)
        ok2, c2 = sep(Q2) if ok1 else (False, None)
        if ok1 and ok2:
            return SeparabilityDecision(True, (c1, c2), (Q1, Q2), [])
        certs.append((Q1, Q2, c1 if not ok1 else c2))
    return SeparabilityDecision(False, None, None, certs)


def witness(instance: BilinearInstance, decision: SeparabilityDecision) -> tuple[list, list]:
    """Exact (b, A) solving the bilinear instance from a separation (forward direction).

    Slacks are square roots of rationals, so entries are exact SymPy algebraic numbers.
    """
    if not decision.separable:
        raise MarkovICLError("no witness: the point sets are not bilinearly separable")
    lay, src = instance.layout, instance.source
    (w1, g1), (w2, g2) = decision.planes
    Q1, _ = decision.split
    v = [sp.Integer(0)] * lay.N
    planes = ((w1, g1), (w2, g2))
    for i, (w, g) in enumerate(planes):
        sl = lay.w1 if i == 0 else lay.w2
        for k, x in zip(range(sl.start, sl.stop), w):
            v[k] = x
        v[lay.g1 if i == 0 else lay.g2] = g
        for t, pt in enumerate(src.P):
            v[lay.sigma_P(i).start + t] = sp.sqrt(sum(a * b for a, b in zip(pt, w)) - g - 1)
    for t, pt in enumerate(src.Q):
        mine = 0 if t in Q1 else 1  # the plane that separates Q_t: z_mine = 0
        for i, (w, g) in enumerate(planes):
            L = sum(a * b for a, b in zip(pt, w)) - g + 1  # <= z_i
            z = sp.Integer(0) if i == mine else sp.Max(0, L)
            v[lay.zeta(i).start + t] = sp.sqrt(z)
            v[lay.sigma_Q(i).start + t] = sp.sqrt(z - L)
    b = [sp.Integer(1)] + v
    A = [[sp.Integer(0)] * instance.d for _ in range(instance.d + 1)]
    for k in range(instance.d + 1):
        A[k][0] = b[k]
    return b, A


# --------------------------------------------------------------------------- solver side
@dataclass
class FeasibilityResult:
    """Outcome of :func:`solve_feasibility`."""

    feasible: bool
    best_residual: float
    starts: int
    hits: int
    b: np.ndarray | None
    A1: np.ndarray | None
    separation_verified: bool
    certificate: str


def solve_feasibility(instance: BilinearInstance, starts: int = 40, seed: int = 0, tol: float = 1e-10,
                      reject: float = 1e-3, max_nfev: int = 300, stop_after: int = 3) -> FeasibilityResult:
    """Decide ``b^T D(r) A_{:,j} = X_r`` by multistart trust-region least squares (scipy ``least_squares``).

    Only the nonzero rows matter (the others hold for every (b, A)). Feasible when some
    start reaches ``max |residual| < tol``; the solution is then read back as two planes
    and the separation is checked in exact rationals. Infeasible is declared when the
    best ``max |residual|`` over all starts stays above ``reject`` (a solver's verdict,
    not a proof; undecided in between). The search stops after ``stop_after`` solutions.
    """
    from scipy.optimize import least_squares

    d = instance.d
    N1 = d + 1
    rows = []
    for _, j, D, x in instance.equations:
        if j != 1:  # pragma: no cover - our layout uses column 1 only
            raise MarkovICLError("solver supports column-1 instances")
        Dm = np.zeros((N1, N1))
        for (u, v), val in D.items():
            Dm[u, v] = float(val)
        rows.append((Dm, float(x)))
    Ds = np.stack([r[0] for r in rows])
    Xs = np.array([r[1] for r in rows])

    def fun(z):
        b, a = z[:N1], z[N1:]
        return (Ds @ a) @ b - Xs

    def jac(z):
        b, a = z[:N1], z[N1:]
        return np.hstack([Ds @ a, np.tensordot(b, Ds, axes=(0, 1))])

    check_int("starts", starts)
    rng = np.random.default_rng(seed)
    best = None
    hits = tried = 0
    for _ in range(starts):
        tried += 1
        z0 = rng.normal(size=2 * N1)
        z0[0] = z0[N1] = 1.0
        res = least_squares(fun, z0, jac=jac, method="trf", xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=max_nfev)
        r = float(np.max(np.abs(res.fun)))
        if r < tol:
            hits += 1
        if best is None or r < best[0]:
            best = (r, res.x)
        if hits >= stop_after:
            break
    starts = tried
    r, z = best
    b, a = z[:N1], z[N1:]
    verified = False
    if r < tol:
        verified = _check_planes(instance, b)
    feasible = r < tol and verified
    verdict = ("feasible: residual below tolerance and the recovered planes separate P and Q (exact check)" if feasible
               else "infeasible by the solver: best residual stays above the rejection level" if r > reject
               else "undecided: best residual between tolerance and rejection level")
    cert = (f"{starts} trust-region least-squares starts (seed {seed}); best max|residual| = {r:.3e}; "
            f"{hits} starts below {tol:g}; {verdict}")
    if not feasible and r <= reject:
        raise MarkovICLError("solver undecided: " + cert)
    return FeasibilityResult(feasible, r, starts, hits, b, a, verified, cert)


def _check_planes(instance: BilinearInstance, b: np.ndarray) -> bool:
    """Read (w1, g1, w2, g2) off b (v = b / b_0), rationalise, and check the separation exactly."""
    lay, src = instance.layout, instance.source
    v = b[1:] / b[0]

    def rat(x):
        return sp.Rational(Fraction(float(x)).limit_denominator(10**8))

    w1 = [rat(x) for x in v[lay.w1]]
    w2 = [rat(x) for x in v[lay.w2]]
    g1, g2 = rat(v[lay.g1]), rat(v[lay.g2])

    def side(pt, w, g):
        return sum(a * c for a, c in zip(pt, w)) - g

    if not all(side(pt, w1, g1) > 0 and side(pt, w2, g2) > 0 for pt in src.P):
        return False
    return all(side(q, w1, g1) < 0 or side(q, w2, g2) < 0 for q in src.Q)


#: Example C.13's sizes (m' = k' = n' = 2): a separable and a non-separable instance
EXAMPLE_C13_SEPARABLE = SeparabilityInstance.of([[0, 0], [1, 1]], [[1, 0], [0, 1]])  # XOR: a strip
EXAMPLE_C13_NONSEPARABLE = SeparabilityInstance.of([[0, 0], [2, 2]], [[1, 1], [5, 0]])  # Q_1 in conv(P)
