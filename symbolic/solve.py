"""The minimiser of the enlarged-space objective: ``X* = H^{-1} beta``, ``f~* = E[y^2] - beta^T X*``.

:func:`solve` is the one entry point (the command line's ``objective`` calls it): it builds
the chain law, the objective's tables, and picks the exact route (theory §3):

* every parameter a number: an exact rational solve with python-flint (:func:`exact_solve`),
  any d;
* symbolic in p and n, d <= :data:`MAX_SYMBOLIC_D_TWO_VARIABLES`, or in one of them,
  d <= :data:`MAX_SYMBOLIC_D_ONE_VARIABLE`: evaluation and interpolation
  (:func:`solve_symbolic_pn`). With ``nH`` polynomial in (p, n), Cramer's rule bounds the
  degrees of ``D = det(nH)``, ``D X*_i`` and ``D f~*``; they are evaluated exactly on a grid
  inside the region where H is positive definite, interpolated with exact Vandermonde
  inverses, and reduced with python-flint's multivariate gcd and factorisation, then converted
  to SymPy once (:func:`symbolic_degrees` gives the degrees). This avoids fraction-field
  elimination, whose intermediate swell makes a plain LU solve of the d = 2 system take
  tens of seconds;
* other free parameters (kernel or correlation moments): a fraction-field LU solve
  (:func:`solve_generic`), d <= :data:`MAX_SYMBOLIC_D_OTHER`;
* symbolic beyond these limits (:func:`max_symbolic_d`): H, beta and E[y^2] stay exact and
  symbolic, and ``X_star`` / ``f_tilde_star`` are None;
* ``states > 2``: the S-state objective of the paper's Lemma C.8 (theory §8).

The result is a :class:`Solution`.

Examples:
    >>> s = solve(d=1, p="1/2", n=5)
    >>> s.X_star, s.f_tilde_star
    ((1/6, 1/2, 1/2), 35/96)
    >>> s.index
    ((1, 1, 1), (1, 1, 2), (1, 2, 2))
    >>> s = solve(d=1, n=5)                                   # p left symbolic
    >>> s.f_tilde_star.subs(s.p, sp.Rational(1, 2))
    35/96
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

import flint
import numpy as np
import sympy as sp
from sympy.core.add import _addsort
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix

from markov_icl.errors import MarkovICLError
from markov_icl.symbolic.laws import (
    N_SYMBOL,
    P_SYMBOL,
    ChainLaw,
    DirichletKernel,
    check_states,
    is_dirichlet,
)
from markov_icl.symbolic.objective import Index, ObjectiveTerms, check_d, f_tilde, parse_n

if TYPE_CHECKING:
    from markov_icl.types import Parameter

#: the largest d for which X* is derived symbolically in p and n together (:func:`solve_symbolic_pn`; d = 3: about
#: 9 s for the whole command on a 2-core machine, rational functions of degree 48 in p and 27 in n)
MAX_SYMBOLIC_D_TWO_VARIABLES = 3

#: the largest d for which X* is derived symbolically in p alone (n a number) or in n alone (p a number)
MAX_SYMBOLIC_D_ONE_VARIABLE = 4

#: the largest d for which X* is derived with other free parameters (a fraction-field LU solve, :func:`solve_generic`)
MAX_SYMBOLIC_D_OTHER = 2

#: kept for compatibility: the two-variable limit (:data:`MAX_SYMBOLIC_D_TWO_VARIABLES`)
MAX_SYMBOLIC_D = MAX_SYMBOLIC_D_TWO_VARIABLES

FORMS = ("exact", "product")


def to_rational(x) -> sp.Rational:
    """A flint / SymPy / int rational as a SymPy Rational."""
    if isinstance(x, flint.fmpq):
        return sp.Rational(int(x.p), int(x.q))
    return sp.Rational(x)


def fmpq_matrix(M: DomainMatrix) -> flint.fmpq_mat:
    """A DomainMatrix over QQ as a python-flint ``fmpq_mat``."""
    if M.domain != QQ:
        raise MarkovICLError(f"expected a rational matrix, got one over {M.domain}")
    return M.to_dfm().rep


def exact_solve_flint(H: DomainMatrix, beta: DomainMatrix) -> list:
    """``X* = H^{-1} beta`` for rational H, beta as python-flint ``fmpq`` values (``fmpq_mat.solve``, exact).

    Raises:
        MarkovICLError: when H is singular.
    """
    try:
        x = fmpq_matrix(H).solve(fmpq_matrix(beta))
    except ZeroDivisionError:
        raise MarkovICLError("H is singular at these parameters: X* is not unique") from None
    return list(x.entries())


def exact_solve(H: DomainMatrix, beta: DomainMatrix) -> tuple[sp.Rational, ...]:
    """``X* = H^{-1} beta`` for rational H, beta as SymPy rationals (:func:`exact_solve_flint`).

    Raises:
        MarkovICLError: when H is singular.
    """
    return tuple(to_rational(v) for v in exact_solve_flint(H, beta))


def optimal_loss(E_y2, beta, X_star):
    """``f~* = E[y^2] - beta^T X*`` (theory §3), exact for exact inputs.

    Examples:
        >>> import sympy as sp
        >>> optimal_loss(sp.Rational(1, 2), (sp.Rational(1, 8), sp.Rational(1, 12), sp.Rational(7, 48)),
        ...              (sp.Rational(1, 6), sp.Rational(1, 2), sp.Rational(1, 2)))
        35/96
    """
    return E_y2 - sum(b * x for b, x in zip(beta, X_star))


def _s(x) -> str | None:
    return None if x is None else str(x)


def _as_sympy(v):
    """A value of :class:`Solution` as SymPy: fmpq to Rational, :class:`FlintFraction` to its expression."""
    if isinstance(v, flint.fmpq):
        return to_rational(v)
    if isinstance(v, FlintFraction):
        return v.to_sympy()
    return v


def _f(x) -> float | None:
    if x is None:
        return None
    e = sp.sympify(x)
    return float(e) if e.is_number else None


@dataclass(eq=False)
class Solution:
    """The enlarged-space objective and its minimiser at one chain law (theory §3).

    Attributes:
        d, n, states: chain input length, context chains (a number or the symbol n), states.
        p: the query's initial probability (a number or the symbol p; None for S > 2 states).
        law: the :class:`~markov_icl.symbolic.laws.ChainLaw` (binary) or
            :class:`~markov_icl.symbolic.laws.DirichletKernel` (S > 2 states).
        form: ``"exact"`` (the shared-kernel objective) or ``"product"`` (the paper's Lemma
            3.2 product form, theory §4).
        index: the coordinates ``(j, u, v)`` in the order ``r = (j-1) m + pos(u, v)``.
        beta, E_y2: ``beta = E[y_q (x_q kron g)]`` and ``E[y^2]``, exact.
        X_star, f_tilde_star: ``H^{-1} beta`` and ``E[y^2] - beta^T X*``, exact (rational
            functions where parameters are symbolic); None when symbolic and
            ``d > MAX_SYMBOLIC_D``.
        method: how X* was obtained.

    ``H`` (a SymPy matrix), ``H_domain`` (a DomainMatrix over QQ at a numeric point) and the
    float64 arrays ``H_float``, ``beta_float`` are computed on first use.

    Examples:
        >>> s = solve(1, "1/2", 5)
        >>> s.H[0, :], s.beta, s.E_y2
        (Matrix([[3/20, 3/40, 1/8]]), (1/8, 1/12, 7/48), 1/2)
        >>> s.certificate.positive_definite
        True
    """

    d: int
    p: sp.Expr | None
    n: sp.Expr
    law: Any
    form: str
    states: int
    index: tuple
    beta: tuple
    E_y2: sp.Expr
    # X*, f~* as the solver produced them: SymPy values, python-flint fmpq (the exact solve) or FlintFraction
    # (the symbolic solve), converted to SymPy on first use of X_star / f_tilde_star; printed without conversion
    _X_star: Any
    _f_tilde_star: Any
    method: str
    _H: Any = field(default=None, repr=False)
    _sympy: dict = field(default_factory=dict, repr=False)

    @property
    def X_star(self) -> tuple | None:
        """``X* = H^{-1} beta``, exact (SymPy rationals or rational functions); None when not derived."""
        if "X" not in self._sympy:
            x = self._X_star
            self._sympy["X"] = None if x is None else tuple(map(_as_sympy, x))
        return self._sympy["X"]

    @property
    def f_tilde_star(self) -> sp.Expr | None:
        """``f~* = E[y^2] - beta^T X*``, exact; None when not derived."""
        if "f" not in self._sympy:
            self._sympy["f"] = _as_sympy(self._f_tilde_star)
        return self._sympy["f"]

    def _X_strings(self) -> list | None:
        x = self._X_star
        return None if x is None else [str(v) for v in x]

    def __repr__(self) -> str:
        where = f"p={self.p}, n={self.n}" if self.states == 2 else f"states={self.states}, n={self.n}"
        f = "None" if self.f_tilde_star is None else (str(self.f_tilde_star) if len(str(self.f_tilde_star)) < 60
                                                       else "<rational function>")
        return f"Solution(d={self.d}, {where}, kernel={self.kernel}, f_tilde_star={f})"

    def _repr_latex_(self) -> str:
        """The solution as Jupyter shows it (:mod:`markov_icl.display`): the point, then ``f~*`` and ``X*`` exact.

        Examples:
            >>> print(solve(1, "1/2", 5)._repr_latex_())  # doctest: +NORMALIZE_WHITESPACE
            $\\displaystyle \\begin{array}{l}\\text{Solution: }d = 1,\\ p = \\frac{1}{2},\\ n = 5,\\ \\text{kernel uniform,
            init iid} \\\\ \\tilde f^* = E[y^2] - \\beta^{\\top} X^* = \\frac{35}{96} \\approx 0.3645833333 \\\\ X^* =
            H^{-1} \\beta = \\left(\\frac{1}{6},\\ \\frac{1}{2},\\ \\frac{1}{2}\\right)^{\\top}\\end{array}$
        """
        from markov_icl.display import latex_escape, latex_vector, tex_of

        def value(name, v):
            return f"{name} = {tex_of(v)}" if sp.sympify(v).is_number else rf"{name}\ \text{{symbolic}}"

        where = [f"d = {self.d}", value("p", self.p) if self.states == 2 else f"|S| = {self.states}", value("n", self.n)]
        head = (r"\text{Solution: }" + r",\ ".join(where) + r",\ \text{kernel " + latex_escape(self.kernel)
                + ", init " + latex_escape(self.init) + "}")
        if self._X_star is None:
            body = r"X^* \text{ not derived: " + latex_escape(self.method) + "}"
        else:
            f: Any = self.f_tilde_star
            exact = tex_of(f)
            approx = rf" \approx {float(f):.10g}" if sp.sympify(f).is_number and "ldots" not in exact else ""
            body = (rf"\tilde f^* = E[y^2] - \beta^{{\top}} X^* = {exact}{approx} \\ "
                    rf"X^* = H^{{-1}} \beta = {latex_vector(self.X_star or ())}")
        return r"$\displaystyle \begin{array}{l}" + head + r" \\ " + body + r"\end{array}$"

    # -- descriptions ---------------------------------------------------------------
    @property
    def kernel(self) -> str:
        """The kernel law's spelling (``uniform``, ``beta:...``, ``fixed:...``, ``dirichlet:...``)."""
        return self.law.spec() if isinstance(self.law, DirichletKernel) else self.law.kernel.spec()

    @property
    def init(self) -> str:
        """The initial law's spelling (``iid``, ``correlated:...``, ...; ``uniform`` for S > 2 states)."""
        return "uniform" if isinstance(self.law, DirichletKernel) else self.law.init.spec()

    @property
    def is_numeric(self) -> bool:
        """True when every parameter is a number (H, X* are exact rationals)."""
        return isinstance(self._H, DomainMatrix) and self._H.domain.is_QQ

    # -- H in its three forms ----------------------------------------------------------
    @cached_property
    def H(self) -> sp.ImmutableMatrix:
        """``H = E[(x_q kron g)(x_q kron g)^T]`` as an exact SymPy matrix."""
        H = self._H
        if isinstance(H, DomainMatrix):
            return sp.ImmutableMatrix(H.to_Matrix())
        if isinstance(H, _LazySymbolicH):
            return H.matrix
        return sp.ImmutableMatrix(H)

    @property
    def H_domain(self) -> DomainMatrix:
        """H as a DomainMatrix over QQ (numeric points only)."""
        if not self.is_numeric:
            raise MarkovICLError("H_domain needs every parameter numeric; use .H for the symbolic matrix")
        return self._H

    @cached_property
    def H_float(self) -> np.ndarray:
        """H as a float64 array (numeric points only)."""
        to = QQ.to_sympy
        return np.array([[float(to(x)) for x in row] for row in self.H_domain.to_list()], dtype=np.float64)

    @cached_property
    def beta_float(self) -> np.ndarray:
        """beta as a float64 array (numeric points only)."""
        self.H_domain  # noqa: B018 - raises for symbolic solutions
        return np.array([float(b) for b in self.beta], dtype=np.float64)

    @property
    def E_y2_float(self) -> float:
        return float(self.E_y2)

    # -- the loss --------------------------------------------------------------------
    def f_tilde(self, X):
        """``f~(X) = E[y^2] - 2 beta^T X + X^T H X`` (theory §3): exact for exact X, else float.

        Examples:
            >>> s = solve(d=1, p="1/2", n=5)
            >>> s.f_tilde(s.X_star) == s.f_tilde_star, s.f_tilde([0, 0, 0])
            (True, 1/2)
        """
        from markov_icl.errors import check_real_vector

        symbolic_X = isinstance(X, (list, tuple)) and any(isinstance(x, sp.Basic) and x.free_symbols for x in X)
        if self.is_numeric and not symbolic_X:  # numbers: dm of them, finite
            X = check_real_vector("X", X, len(self.beta))
        exact_X = isinstance(X, (list, tuple)) and all(isinstance(x, (int, sp.Basic)) or hasattr(x, "denominator")
                                                       for x in X)
        if exact_X or not self.is_numeric:
            return f_tilde(list(X), self._H if self.is_numeric else self.H, self.beta, self.E_y2)
        return f_tilde(X, self.H_float, self.beta_float, self.E_y2_float)

    def loss(self, b, A):
        """The population loss ``f(b, A) = f~(phi(b, A))`` of the one-layer LSA with last row
        ``b`` of P and first d columns ``A`` of Q (theory §2-3); exact for exact (b, A).

        Examples:
            >>> solve(d=1, p="1/2", n=10).loss([1, 2], [[0], [0]])    # A = 0 predicts 0: E[y^2]
            1/2
        """
        from markov_icl.symbolic.model import phi

        return self.f_tilde(phi(b, A))

    # -- the certificate -------------------------------------------------------------
    @cached_property
    def certificate(self):
        """The Lemma 3.1 certificate that H is positive definite
        (:class:`~markov_icl.symbolic.certify.PDCertificate`; ``positive_definite`` None when
        not certified)."""
        from markov_icl.symbolic.certify import PDCertificate, certify_numeric, certify_symbolic

        if self.is_numeric:
            return certify_numeric(self._H)
        free = set(self.H.free_symbols)
        if self.d == 1 and self.states == 2 and free <= {P_SYMBOL, N_SYMBOL} and self.X_star is not None:
            c = certify_symbolic(self.H)
            c.detail += " (for all 0 < p < 1, n >= 1)"
            return c
        return PDCertificate(None, "none", detail=f"not certified (symbolic H with d = {self.d})")

    def check_minimiser(self) -> None:
        """Refuse to treat X* as a minimiser when H is certified not positive definite: X* = H^-1 beta is then a
        saddle point (or H singular) and the loss is unbounded below, so f~* is no optimum.

        Raises:
            MarkovICLError: with the certificate's reason.
        """
        cert = self.certificate
        if cert.positive_definite is False:
            raise MarkovICLError(f"H is not positive definite ({cert.detail}): the loss is unbounded below, "
                                 "X* = H^-1 beta is no minimiser and f~* no optimum")

    # -- output ----------------------------------------------------------------------
    def to_dict(self, full: bool = False) -> dict:
        """A JSON-ready dict: every quantity as an exact string and, where it is a number, a float
        (``f_tilde_star`` and ``f_tilde_star_float``); ``full`` adds H.

        Keys: d, p, n, kernel, init, form, states, index, X_star, X_star_float, beta,
        beta_float, E_y2, E_y2_float, f_tilde_star, f_tilde_star_float,
        H_positive_definite, certificate, degrees (:func:`symbolic_degrees`: the degrees in p and n of
        each symbolic X*_r and f~*, None for numbers) (and H, H_float with ``full``).
        """
        cert = self.certificate
        out = {
            "d": self.d,
            "p": _s(self.p),
            "n": str(self.n),
            "kernel": self.kernel,
            "init": self.init,
            "form": self.form,
            "states": self.states,
            "index": [list(ix) for ix in self.index],
            "X_star": self._X_strings(),
            "X_star_float": None if self._X_star is None or not self.is_numeric else [float(x) for x in self._X_star],
            "beta": [_s(b) for b in self.beta],
            "beta_float": [float(b) for b in self.beta] if self.is_numeric else None,
            "E_y2": _s(self.E_y2),
            "E_y2_float": _f(self.E_y2),
            "f_tilde_star": _s(self._f_tilde_star),
            "f_tilde_star_float": float(self._f_tilde_star) if isinstance(self._f_tilde_star, flint.fmpq)
            else None if isinstance(self._f_tilde_star, FlintFraction) else _f(self._f_tilde_star),
            "H_positive_definite": cert.positive_definite,
            "certificate": cert.detail if cert.method == "none" else f"{cert.method}: {cert.detail}",
            "degrees": symbolic_degrees(self),
        }
        if full:
            if self.is_numeric:
                to = QQ.to_sympy
                rows = self._H.to_list()
                out["H"] = [[str(to(x)) for x in row] for row in rows]
                out["H_float"] = self.H_float.tolist()
            else:
                out["H"] = [[str(x) for x in self.H.row(i)] for i in range(self.H.rows)]
                out["H_float"] = None
        return out


# ----------------------------------------------------------------------------- building blocks


def _index(d: int) -> tuple:
    return tuple(tuple(ix) for ix in Index(d).index)


def solve_numeric(terms: ObjectiveTerms, p=None, n=None, values: dict | None = None) -> Solution:
    """Exact X* and f~* at numeric parameters (rationals), any d (python-flint).

    Raises:
        MarkovICLError: when a parameter is not numeric, or H is singular there.
    """
    H, beta, ey2 = terms.numeric(p=p, n=n, values=values)
    if H.domain != sp.QQ:
        raise MarkovICLError("solve_numeric needs every parameter numeric")
    X = exact_solve_flint(H, beta)  # kept in flint: converted to SymPy only when asked for
    bq = fmpq_matrix(beta).entries()
    b = tuple(to_rational(v) for v in bq)
    ey2r = to_rational(sp.QQ.to_sympy(ey2))
    f = optimal_loss(flint.fmpq(int(ey2r.p), int(ey2r.q)), bq, X)
    law = terms.law if p is None else terms.law.with_p(p)
    return Solution(terms.d, law.p, parse_n(n) if n is not None else N_SYMBOL, law,
                    "product" if terms.product_form else "exact", 2, _index(terms.d), b, ey2r, X, f,
                    "exact rational solve (python-flint)", H)


class _FastEvaluator:
    """Evaluate n*H, beta and E[y^2] at rational (p, n) from the monomial components."""

    def __init__(self, terms: ObjectiveTerms, psym, nsym):
        H_terms, beta_terms, ey2_terms = terms.components(nsym)
        self.psym, self.nsym = psym, nsym
        self._mono_cache: dict = {}
        self._last_p: tuple | None = None
        self.H = [(sp.expand(mono * nsym), fmpq_matrix(M)) for mono, M in H_terms.items()]
        self.beta = [(mono, fmpq_matrix(M)) for mono, M in beta_terms.items()]
        self.ey2 = [(mono, to_rational(sp.QQ.to_sympy(v))) for mono, v in ey2_terms.items()]
        syms = set()
        for mono, _ in self.H + self.beta + self.ey2:
            syms |= sp.sympify(mono).free_symbols
        extra = syms - {psym, nsym}
        if extra:
            raise MarkovICLError(f"interpolation handles p and n only, found {sorted(map(str, extra))}")

        def deg(items, s):
            return max((sp.Poly(m, s).degree() if m.has(s) else 0) for m, _ in items) if items else 0

        self.dp_H, self.dp_b, self.dp_y = deg(self.H, psym), deg(self.beta, psym), deg(self.ey2, psym)
        self.dn_H = max((sp.Poly(m, nsym).degree() if m.has(nsym) else 0) for m, _ in self.H)

    def _mono(self, expr) -> tuple:
        """A monomial ``c p^i n^j`` as ``(c, i, j)``, c a python-flint ``fmpq`` (cached)."""
        key = sp.sympify(expr)
        if key not in self._mono_cache:
            poly = sp.Poly(key, self.psym, self.nsym)
            ((i, j), c), = poly.terms()
            self._mono_cache[key] = (flint.fmpq(int(c.p), int(c.q)), i, j)
        return self._mono_cache[key]

    def _q(self, expr, sub):
        c, i, j = self._mono(expr)
        return c * sub[0] ** i * sub[1] ** j

    def _at_p(self, p: flint.fmpq) -> tuple:
        """n*H, beta and E[y^2] at p as polynomials in n, ``{power of n: value}`` each (kept for the last p,
        so that a grid row of n values costs one matrix sum per power of n)."""
        if self._last_p is not None and self._last_p[0] == p:
            return self._last_p[1]
        out = []
        tables: tuple[tuple[list, bool], ...] = ((self.H, False), (self.beta, False), (self.ey2, True))
        for items, scalar in tables:
            groups: dict = {}
            for mono, M in items:
                c, i, j = self._mono(mono)
                w = c * p**i
                term = w * flint.fmpq(int(M.p), int(M.q)) if scalar else M * w
                groups[j] = term if j not in groups else groups[j] + term
            out.append(groups)
        self._last_p = (p, tuple(out))
        return self._last_p[1]

    def at(self, p, n):
        p, n = sp.Rational(p), sp.Rational(n)
        nq = flint.fmpq(int(n.p), int(n.q))

        def in_n(groups, acc):
            for j, v in groups.items():
                t = v if j == 0 else v * nq**j
                acc = t if acc is None else acc + t
            return acc

        H, b, y = self._at_p(flint.fmpq(int(p.p), int(p.q)))
        return in_n(H, None), in_n(b, None), in_n(y, flint.fmpq(0))


@lru_cache(maxsize=8)
def _vandermonde_inverse(xs: tuple) -> flint.fmpq_mat:
    """The exact inverse of the Vandermonde matrix ``[x_i^j]`` of distinct rational nodes (cached: one grid
    axis is interpolated many times).

    Column i holds the coefficients of the Lagrange basis polynomial ``L_i = M / ((x - x_i) M'(x_i))``,
    ``M = prod_m (x - x_m)``: python-flint polynomial arithmetic, several times faster than inverting the matrix
    (186 nodes: 0.5 s against 3.6 s).
    """
    qs = [flint.fmpq(int(sp.Rational(x).p), int(sp.Rational(x).q)) for x in xs]
    M = flint.fmpq_poly([1])
    for x in qs:
        M *= flint.fmpq_poly([-x, 1])
    dM, k = M.derivative(), len(qs)
    cols = []
    for x in qs:
        c = (M // flint.fmpq_poly([-x, 1]) / dM(x)).coeffs()
        cols.append(c + [flint.fmpq(0)] * (k - len(c)))
    return flint.fmpq_mat([[cols[i][j] for i in range(k)] for j in range(k)])


def _interpolate_1d(xs: list, table: list[list]) -> list[list]:
    """Coefficients (low to high) of the polynomials through (xs[i], table[i][k])."""
    C = _vandermonde_inverse(tuple(xs)) * flint.fmpq_mat(table)
    return [[C[i, k] for k in range(C.ncols())] for i in range(C.nrows())]


def solve_symbolic_pn(terms: ObjectiveTerms, p_symbol, n_value=None) -> Solution:
    """X* and f~* as exact rational functions of p and/or n (i.i.d. or numeric-moment laws).

    Args:
        terms: the objective tables; the law's p may be a symbol or a number.
        p_symbol: the symbol p, or None when p is numeric.
        n_value: a number to fix n, or None to keep n symbolic.

    Returns:
        A :class:`Solution` whose entries are SymPy rational functions.
    """
    nsym = N_SYMBOL
    ev = _FastEvaluator(terms, p_symbol if p_symbol is not None else sp.Symbol("_p_unused"), nsym)
    dm = terms.idx.dm
    sym_p = p_symbol is not None and ev.dp_H + ev.dp_b + ev.dp_y > 0
    sym_n = n_value is None
    dp = dm * ev.dp_H + 2 * ev.dp_b + ev.dp_y if sym_p else 0
    dn = dm * ev.dn_H + 1 if sym_n else 0
    ps = [sp.Rational(k, dp + 2) for k in range(1, dp + 2)] if sym_p else [None]
    ns = list(range(1, dn + 2)) if sym_n else [n_value]
    grid = []  # grid[i][l] = [D, D X_1..D X_dm, D f]
    for pv in ps:
        row = []
        for nv in ns:
            nH, b, y = ev.at(pv if pv is not None else 0, nv)
            D = nH.det()
            if D == 0:
                raise MarkovICLError(f"H is singular at p={pv}, n={nv}; no unique X*")
            x = nH.solve(b * flint.fmpq(int(nv)))  # X = (nH)^{-1} (n b)
            f = optimal_loss(y, b.entries(), x.entries())
            row.append([D, *(x * D).entries(), D * f])
        grid.append(row)
    nvals = dm + 2
    per_p = [_interpolate_1d(ns, row) for row in grid] if sym_n else [[row[0]] for row in grid]
    ndeg = len(per_p[0])
    coeffs: dict = {}
    for jn in range(ndeg):
        table = [per_p[i][jn] for i in range(len(ps))]
        cp = _interpolate_1d(ps, table) if sym_p else [table[0]]
        for ip, vals in enumerate(cp):
            for k in range(nvals):
                if vals[k] != 0:
                    coeffs.setdefault(k, {})[(ip, jn)] = vals[k]
    ps_sym = p_symbol if sym_p else None
    polys = [_to_mpoly(coeffs.get(k, {})) for k in range(nvals)]
    Dpoly = polys[0]
    outs = [_reduce(num, Dpoly, ps_sym, nsym if sym_n else None) for num in polys[1:]]
    nval = nsym if sym_n else sp.Integer(n_value)
    _, bs, ey2 = terms.symbolic(nval, include_H=False)  # the symbolic H is built when asked for
    return Solution(terms.d, terms.law.p, nval, terms.law, "product" if terms.product_form else "exact", 2,
                    _index(terms.d), tuple(sp.factor(v) for v in bs), sp.factor(ey2), tuple(outs[:-1]), outs[-1],
                    "evaluation at exact points and interpolation in (p, n) (python-flint)", _LazySymbolicH(terms, nval))


_CTX = flint.fmpq_mpoly_ctx.get(("p", "n"), "lex")


def _to_mpoly(coeffs: dict):
    return _CTX.from_dict(dict(coeffs)) if coeffs else _CTX.from_dict({})


def _reduce(num, den, psym, nsym) -> FlintFraction:
    """``num / den`` in lowest terms, both factored by python-flint, as a :class:`FlintFraction` (converted to
    SymPy only when asked for)."""
    gens = (psym, nsym)
    if num.is_zero():
        return FlintFraction(0, (), 1, (), gens)
    g = num.gcd(den)
    (cn, fn), (cd, fd) = _integer_factors(num / g), _integer_factors(den / g)
    const = cn / cd
    return FlintFraction(int(const.p), tuple(fn), int(const.q), tuple(fd), gens)


def _poly_str(terms, gens) -> str:
    """An integer polynomial ``[(monomial, c), ...]`` as text SymPy parses, terms in SymPy's printing order (lex,
    the generators by name)."""
    out = []
    order = sorted((k for k, g in enumerate(gens) if g is not None), key=lambda k: str(gens[k]))  # n before p
    for mon, c in sorted(terms, key=lambda t: tuple(-t[0][k] for k in order)):  # SymPy's lex order
        m = "*".join(f"{gens[k]}**{mon[k]}" if mon[k] > 1 else str(gens[k]) for k in order if mon[k])
        a = abs(c)
        body = m if a == 1 and m else (f"{a}*{m}" if m else str(a))
        out.append(("-" if c < 0 else "+", body))
    text = ("-" if out[0][0] == "-" else "") + out[0][1]
    return text + "".join(f" {sign} {body}" for sign, body in out[1:])


def _product_str(c: int, factors, gens) -> str:
    if c != 1 and len(factors) == 1 and factors[0][1] == 1 and len(factors[0][0]) > 1:  # as _product_expr
        return _poly_str([(mon, c * k) for mon, k in factors[0][0]], gens)
    parts = [str(abs(c))] if abs(c) != 1 or not factors else []
    for terms, e in factors:
        one = len(terms) == 1 and terms[0][1] == 1 and sorted(terms[0][0])[-2:] == [0, 1]  # a lone p or n
        base = _poly_str(terms, gens) if one else f"({_poly_str(terms, gens)})"
        parts.append(f"{base}**{e}" if e > 1 else base)
    return ("-" if c < 0 else "") + "*".join(parts)


@dataclass(frozen=True)
class FlintFraction:
    """An exact rational function in lowest terms, ``(cn * prod f**e) / (cd * prod g**e)``, kept as python-flint
    produced it: integer constants and primitive integer factors ``[(monomial, coefficient), ...]`` over the
    generators ``gens`` (p, n; None for a number). The symbolic solve returns these; SymPy expressions
    (:meth:`to_sympy`) and text (``str``) are built from them without SymPy arithmetic.

    Examples:
        >>> import sympy as sp
        >>> p, n = sp.symbols("p n", positive=True)
        >>> n_term, np_term, two = ((0, 1), 1), ((1, 1), 1), ((0, 0), -2)      # (monomial p^i n^j, coefficient)
        >>> f = FlintFraction(-3, (((n_term,), 1),), 1, (((np_term, two), 2),), (p, n))
        >>> str(f), f.to_sympy(), f.degrees()
        ('-3*n/(n*p - 2)**2', -3*n/(n*p - 2)**2, {'numerator': [0, 1], 'denominator': [2, 2]})
    """

    cn: int
    num: tuple
    cd: int
    den: tuple
    gens: tuple

    def to_sympy(self) -> sp.Expr:
        if self.cn == 0:
            return sp.Integer(0)
        return _product_expr(self.cn, list(self.num), self.gens) / _product_expr(self.cd, list(self.den), self.gens)

    def __str__(self) -> str:
        if self.cn == 0:
            return "0"
        top = _product_str(self.cn, self.num, self.gens)
        if self.cd == 1 and not self.den:
            return top
        if self.cn != 1 and len(self.num) == 1 and self.num[0][1] == 1 and len(self.num[0][0]) > 1:
            top = f"({top})"  # the constant was distributed over a lone sum
        bottom = _product_str(self.cd, self.den, self.gens)
        single = self.cd == 1 and len(self.den) == 1 and bottom[:1] == "("
        return f"{top}/{bottom}" if single or bottom.isdigit() else f"{top}/({bottom})"

    def degrees(self) -> dict:
        """``{"numerator": [deg_p, deg_n], "denominator": [...]}``, None for a generator that is a number."""
        def of(factors):
            return [None if g is None else sum(e * max((m[k] for m, _ in terms), default=0) for terms, e in factors)
                    for k, g in enumerate(self.gens)]
        return {"numerator": of(self.num), "denominator": of(self.den)}


def _integer_factors(poly) -> tuple:
    """``poly = content * prod(f**e)`` (python-flint ``factor``) with every f primitive with integer coefficients:
    ``(content as fmpq, [([(monomial, int coefficient), ...], e), ...])``."""
    content, factors = poly.factor()
    out = []
    for fac, e in factors:
        coeffs = fac.coeffs()
        lcm_q, gcd_p = int(sp.ilcm(1, *[int(c.q) for c in coeffs])), int(sp.igcd(0, *[int(c.p) for c in coeffs]))
        terms = [(tuple(map(int, mon)), (int(c.p) // gcd_p) * (lcm_q // int(c.q)))
                 for mon, c in zip(fac.monoms(), coeffs)]
        out.append((tuple(terms), int(e)))
        content = content * flint.fmpq(gcd_p, lcm_q) ** int(e)
    return content, out


def _product_expr(c: int, factors: list, gens: tuple) -> sp.Expr:
    """``Integer(c) * prod(f**e)`` as SymPy evaluates it (a number times a lone sum is distributed over it: done
    here on the integer coefficients instead)."""
    if c != 1 and len(factors) == 1 and factors[0][1] == 1 and len(factors[0][0]) > 1:
        return _sum_of_terms(factors[0][0], gens, scale=c)
    return sp.Mul(sp.Integer(c), *[_sum_of_terms(terms, gens) ** e for terms, e in factors])


@lru_cache(maxsize=1 << 14)
def _monomial(gens: tuple, mon: tuple) -> sp.Expr:
    """``prod(gens[k]**mon[k])`` (SymPy; cached: the factors of one solve share their monomials)."""
    return sp.Mul(*[gens[k] ** e for k, e in enumerate(mon) if e])


def _sum_of_terms(terms: list, gens: tuple, scale: int = 1) -> sp.Expr:
    """``sum(scale * c * gens**monomial)`` over distinct monomials as the SymPy expression ``sympy.Add`` would
    build, assembled in SymPy's canonical form directly: each term ``Mul._from_args`` of its integer coefficient
    and the monomial's factors (the number first, as ``Mul`` orders them), the sum the constant term first and
    the other terms in ``Add``'s own order (``_addsort``). Evaluating ``Add`` instead rebuilds and re-sorts
    every term, with assumption queries: most of the time of a d = 3 solve."""
    const, out = [], []
    for mon, c in terms:
        c *= scale
        m = _monomial(gens, mon)
        if m is sp.S.One:
            const.append(sp.Integer(c))
        elif c == 1:
            out.append(m)
        else:
            out.append(sp.Mul._from_args((sp.Integer(c), *(m.args if m.is_Mul else (m,))), is_commutative=True))
    if len(const) + len(out) < 2:
        return sp.Add(*const, *out)
    _addsort(out)
    return sp.Add._from_args(const + out, is_commutative=True)


def symbolic_degrees(solution: Solution) -> dict | None:
    """The degrees in (p, n) of the numerator and denominator of each symbolic ``X*_r`` and of ``f~*``, in lowest
    terms, for :meth:`Solution.to_dict`.

    Returns:
        ``{"X_star": [{"numerator": [deg_p, deg_n], "denominator": [deg_p, deg_n]}, ...], "f_tilde_star": {...}}``,
        a degree None where that parameter is a number; None when X* is not derived or every parameter is a number.

    Examples:
        >>> symbolic_degrees(solve(1))["X_star"][2]                # -3 n / (n^2 p^2 - n^2 p - ...)
        {'numerator': [0, 1], 'denominator': [2, 2]}
        >>> symbolic_degrees(solve(1, n=5))["f_tilde_star"]
        {'numerator': [4, None], 'denominator': [3, None]}
        >>> symbolic_degrees(solve(1, "1/2", 5)) is None
        True
    """
    x, f = solution._X_star, solution._f_tilde_star
    if x is None or not all(isinstance(v, FlintFraction) for v in (*x, f)):
        return None  # not derived, numeric, S-state chains, or other free parameters (a fraction-field solve)
    if all(g is None for g in f.gens):
        return None
    return {"X_star": [v.degrees() for v in x], "f_tilde_star": f.degrees()}


def solve_generic(terms: ObjectiveTerms, n=None) -> Solution:
    """X* and f~* over the fraction field of every free parameter (small d only)."""
    nval = N_SYMBOL if n is None else sp.sympify(n)
    Hs, bs, ey2 = terms.symbolic(nval)
    syms = sorted(Hs.free_symbols | bs.free_symbols, key=str)
    K = sp.QQ.frac_field(*syms) if syms else sp.QQ
    H = DomainMatrix.from_Matrix(Hs).convert_to(K)
    b = DomainMatrix.from_Matrix(bs).convert_to(K)
    try:
        x = H.lu_solve(b)
    except Exception as exc:  # singular over the field
        raise MarkovICLError(f"H is singular as a matrix of rational functions: {exc}") from None
    X = tuple(sp.factor(K.to_sympy(v)) for v in x.to_list_flat())
    f = sp.factor(optimal_loss(ey2, bs, X))
    return Solution(terms.d, terms.law.p, nval, terms.law, "product" if terms.product_form else "exact", 2,
                    _index(terms.d), tuple(bs), ey2, X, f, "fraction-field LU solve", Hs)


def max_symbolic_d(p_symbolic: bool, n_symbolic: bool, other: bool = False) -> int:
    """The largest d for which X* is derived symbolically: :data:`MAX_SYMBOLIC_D_TWO_VARIABLES` with p and n
    symbolic, :data:`MAX_SYMBOLIC_D_ONE_VARIABLE` with one of them, :data:`MAX_SYMBOLIC_D_OTHER` with other free
    parameters (``other``).

    Examples:
        >>> max_symbolic_d(True, True), max_symbolic_d(True, False), max_symbolic_d(False, True, other=True)
        (3, 4, 2)
    """
    if other:
        return MAX_SYMBOLIC_D_OTHER
    return MAX_SYMBOLIC_D_TWO_VARIABLES if p_symbolic and n_symbolic else MAX_SYMBOLIC_D_ONE_VARIABLE


def _solve_terms(terms: ObjectiveTerms, n) -> Solution:
    """Route one binary objective to the fastest exact solver (module docstring)."""
    nval = parse_n(n)
    free = set(terms.law.free_symbols)
    if not free and nval.is_number:
        return solve_numeric(terms, n=nval)
    p_symbolic, n_symbolic, other = P_SYMBOL in free, not nval.is_number, bool(free - {P_SYMBOL})
    limit = max_symbolic_d(p_symbolic, n_symbolic, other)
    if terms.d > limit:
        which = "other free parameters" if other else "p and n symbolic" if p_symbolic and n_symbolic else \
            "p symbolic" if p_symbolic else "n symbolic"
        _, bs, ey2 = terms.symbolic(nval, include_H=False)
        return Solution(terms.d, terms.law.p, nval, terms.law, "product" if terms.product_form else "exact", 2,
                        _index(terms.d), tuple(sp.factor(b) for b in bs), sp.factor(ey2), None, None,
                        f"not solved: symbolic X* is derived for d <= {limit} with {which}", _LazySymbolicH(terms, nval))
    if not other:
        return solve_symbolic_pn(terms, P_SYMBOL if p_symbolic else None, None if n_symbolic else nval)
    return solve_generic(terms, nval)


class _LazySymbolicH:
    """The symbolic H of a large-d objective, built only when asked for."""

    def __init__(self, terms: ObjectiveTerms, n):
        self.terms, self.n = terms, n

    @cached_property
    def matrix(self) -> sp.ImmutableMatrix:
        return self.terms.symbolic(self.n)[0]


def solve(d: int, p: Parameter = None, n: Parameter = None, kernel: str = "uniform", init: str = "iid",
          form: str = "exact", states: int = 2) -> Solution:
    """The exact enlarged-space objective and its minimiser (theory §3): what
    ``markov-icl objective`` prints.

    Args:
        d: chain input length (>= 1).
        p: the initial-state probability, exact (``1/2`` as a string, a ``Fraction``, an int,
            a NumPy integer or a SymPy rational); symbolic when None.
        n: the number of context chains (an integer >= 1); symbolic when None.
        kernel: ``uniform`` | ``beta:AA,BA,AC,BC`` | ``fixed:A,C`` | ``dirichlet:ALPHA``.
        init: ``iid`` | ``correlated:MCQ,MCC,MCCQ[,PC]`` | ``query_conditional:PI0,PI1`` |
            ``example_c5``.
        form: ``"exact"`` (the shared-kernel H) or ``"product"`` (the paper's Lemma 3.2 form).
        states: number of chain states; S > 2 needs ``kernel="dirichlet:ALPHA"`` (theory §8).

    Returns:
        A :class:`Solution`.

    Raises:
        MarkovICLError: for any bad input (a float p, p outside (0, 1), n < 1, an unknown
            kernel or init, ...), with a message that says what is allowed.

    Examples:
        >>> solve(d=1, p="1/2", n=10).X_star
        (4/57, 52/57, 8/19)
        >>> solve(d=1, n=5, states=3, kernel="dirichlet:1").f_tilde_star
        11721437/10716120
    """
    d = check_d(d)
    states = check_states(states)
    if form not in FORMS:
        raise MarkovICLError(f"unknown form {form!r}; allowed: {', '.join(FORMS)}")
    if states > 2:
        if p is not None:
            raise MarkovICLError(f"p is the binary chains' initial probability; with states = {states} the initial "
                                 "state is uniform: leave p out")
        return _solve_multistate(d, n, kernel, init, form, states)
    law = ChainLaw.from_options(p, kernel, init)
    check_symbolic_parameters(law.free_symbols - {P_SYMBOL}, d)
    law.init.check_feasible(parse_n(n))
    return _solve_terms(ObjectiveTerms(d, law, product_form=form == "product"), n)


def check_symbolic_parameters(free: set, d: int) -> None:
    """Symbolic parameters other than p and n (a Dirichlet alpha) are solved for d = 1 only: the
    fraction-field solve at d = 2 takes minutes (binary and S-state chains alike).

    Raises:
        MarkovICLError: naming the parameters and the rule.
    """
    if free and d > 1:
        names = ", ".join(sorted(str(s) for s in free))
        raise MarkovICLError(f"a symbolic {names} is supported for d = 1 only (got d = {d}); give a rational value "
                             "such as dirichlet:1")


def _solve_multistate(d: int, n, kernel: str, init: str, form: str, states: int) -> Solution:
    from markov_icl.symbolic.multistate import MultiStateTerms, solve_multistate

    if not is_dirichlet(kernel):
        raise MarkovICLError(f"states = {states} needs the kernel dirichlet:ALPHA (rows Dirichlet(alpha 1)); "
                             f"the binary kernel spec {kernel!r} applies only to states = 2")
    law = DirichletKernel.parse(kernel, states)
    if init.strip().lower() not in ("iid", "uniform"):
        raise MarkovICLError(f"states = {states}: initial states are uniform on 0..{states - 1}; init {init!r} applies "
                             "only to states = 2")
    if form != "exact":
        raise MarkovICLError("the product form applies only to states = 2")
    check_symbolic_parameters(set(sp.sympify(law.alpha).free_symbols), d)
    return solve_multistate(MultiStateTerms(states, d, law.alpha), n)


__all__ = ["MAX_SYMBOLIC_D", "MAX_SYMBOLIC_D_TWO_VARIABLES", "MAX_SYMBOLIC_D_ONE_VARIABLE", "MAX_SYMBOLIC_D_OTHER",
           "max_symbolic_d", "symbolic_degrees", "FORMS", "Solution", "solve", "solve_numeric", "solve_symbolic_pn",
           "solve_generic",
           "exact_solve", "exact_solve_flint", "optimal_loss", "fmpq_matrix", "to_rational"]

