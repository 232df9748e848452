"""The minimiser of the enlarged-space objective: ``X* = H^{-1} beta``, ``f~* = E[y^2] - beta^T X*``.

:func:`solve` is the one entry point (the command line's ``objective`` calls it): it builds
the chain law, the objective's tables, and picks the exact route (theory §3):

* every parameter a number: an exact rational solve with python-flint (:func:`exact_solve`),
  any d;
* symbolic in p and/or n, d <= :data:`MAX_SYMBOLIC_D`: evaluation and interpolation
  (:func:`solve_symbolic_pn`). With ``nH`` polynomial in (p, n), Cramer's rule bounds the
  degrees of ``D = det(nH)``, ``D X*_i`` and ``D f~*``; they are evaluated exactly on a grid
  inside the region where H is positive definite, interpolated with exact Vandermonde
  inverses, and reduced with python-flint's multivariate gcd. This avoids fraction-field
  elimination, whose intermediate swell makes a plain LU solve of the d = 2 system take
  tens of seconds;
* other free parameters (kernel or correlation moments): a fraction-field LU solve
  (:func:`solve_generic`), d <= :data:`MAX_SYMBOLIC_D`;
* symbolic with d > :data:`MAX_SYMBOLIC_D`: H, beta and E[y^2] stay exact and symbolic, and
  ``X_star`` / ``f_tilde_star`` are None;
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
from functools import cached_property

import flint
import numpy as np
import sympy as sp
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

#: the largest d for which X* is derived symbolically (in p, n or other parameters)
MAX_SYMBOLIC_D = 2

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


def exact_solve(H: DomainMatrix, beta: DomainMatrix) -> tuple[sp.Rational, ...]:
    """``X* = H^{-1} beta`` for rational H, beta (python-flint ``fmpq_mat.solve``, exact).

    Raises:
        MarkovICLError: when H is singular.
    """
    try:
        x = fmpq_matrix(H).solve(fmpq_matrix(beta))
    except ZeroDivisionError:
        raise MarkovICLError("H is singular at these parameters: X* is not unique") from None
    return tuple(to_rational(v) for v in x.entries())


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
    law: object
    form: str
    states: int
    index: tuple
    beta: tuple
    E_y2: sp.Expr
    X_star: tuple | None
    f_tilde_star: sp.Expr | None
    method: str
    _H: object = field(default=None, repr=False)

    def __repr__(self) -> str:
        where = f"p={self.p}, n={self.n}" if self.states == 2 else f"states={self.states}, n={self.n}"
        f = "None" if self.f_tilde_star is None else (str(self.f_tilde_star) if len(str(self.f_tilde_star)) < 60
                                                       else "<rational function>")
        return f"Solution(d={self.d}, {where}, kernel={self.kernel}, f_tilde_star={f})"

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
        H_positive_definite, certificate (and H, H_float with ``full``).
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
            "X_star": None if self.X_star is None else [_s(x) for x in self.X_star],
            "X_star_float": None if self.X_star is None or not self.is_numeric else [float(x) for x in self.X_star],
            "beta": [_s(b) for b in self.beta],
            "beta_float": [float(b) for b in self.beta] if self.is_numeric else None,
            "E_y2": _s(self.E_y2),
            "E_y2_float": _f(self.E_y2),
            "f_tilde_star": _s(self.f_tilde_star),
            "f_tilde_star_float": _f(self.f_tilde_star),
            "H_positive_definite": cert.positive_definite,
            "certificate": cert.detail if cert.method == "none" else f"{cert.method}: {cert.detail}",
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
    X = exact_solve(H, beta)
    b = tuple(to_rational(v) for v in fmpq_matrix(beta).entries())
    ey2r = to_rational(sp.QQ.to_sympy(ey2))
    f = optimal_loss(ey2r, b, X)
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

    def _q(self, expr, sub):
        key = sp.sympify(expr)
        if key not in self._mono_cache:
            poly = sp.Poly(key, self.psym, self.nsym)
            ((i, j), c), = poly.terms()
            self._mono_cache[key] = (flint.fmpq(int(c.p), int(c.q)), i, j)
        c, i, j = self._mono_cache[key]
        return c * sub[0] ** i * sub[1] ** j

    def at(self, p, n):
        p, n = sp.Rational(p), sp.Rational(n)
        sub = (flint.fmpq(int(p.p), int(p.q)), flint.fmpq(int(n.p), int(n.q)))
        nH = None
        for mono, M in self.H:
            c = self._q(mono, sub)
            nH = M * c if nH is None else nH + M * c
        b = None
        for mono, M in self.beta:
            c = self._q(mono, sub)
            b = M * c if b is None else b + M * c
        y = sum((self._q(mono, sub) * flint.fmpq(int(v.p), int(v.q)) for mono, v in self.ey2), flint.fmpq(0))
        return nH, b, y


def _interpolate_1d(xs: list, table: list[list]) -> list[list]:
    """Coefficients (low to high) of the polynomials through (xs[i], table[i][k])."""
    qs = [flint.fmpq(int(sp.Rational(x).p), int(sp.Rational(x).q)) for x in xs]
    V = flint.fmpq_mat([[x**j for j in range(len(qs))] for x in qs])
    Y = flint.fmpq_mat(table)
    C = V.solve(Y)
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
            DX = [D * x[i, 0] for i in range(dm)]
            f = optimal_loss(y, [b[i, 0] for i in range(dm)], [x[i, 0] for i in range(dm)])
            row.append([D] + DX + [D * f])
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
    Hs, bs, ey2 = terms.symbolic(nval)
    return Solution(terms.d, terms.law.p, nval, terms.law, "product" if terms.product_form else "exact", 2,
                    _index(terms.d), tuple(sp.factor(v) for v in bs), sp.factor(ey2), tuple(outs[:-1]), outs[-1],
                    "evaluation at exact points and interpolation in (p, n) (python-flint)", Hs)


_CTX = flint.fmpq_mpoly_ctx.get(("p", "n"), "lex")


def _to_mpoly(coeffs: dict):
    return _CTX.from_dict(dict(coeffs)) if coeffs else _CTX.from_dict({})


def _reduce(num, den, psym, nsym) -> sp.Expr:
    """``num / den`` in lowest terms, both factored by python-flint, as a SymPy expression."""
    if num.is_zero():
        return sp.Integer(0)
    g = num.gcd(den)
    gens = {0: psym, 1: nsym}

    def to_expr(poly):
        terms = []
        for mon, c in zip(poly.monoms(), poly.coeffs()):
            t = sp.Rational(int(c.p), int(c.q))
            for k, e in enumerate(mon):
                if e:
                    t *= gens[k] ** e
            terms.append(t)
        return sp.Add(*terms)

    def factored(poly):
        content, factors = poly.factor()
        const, prod = sp.Rational(int(content.p), int(content.q)), sp.Integer(1)
        for fac, e in factors:
            coeffs = [sp.Rational(int(c.p), int(c.q)) for c in fac.coeffs()]
            scale = sp.Rational(sp.ilcm(1, *[c.q for c in coeffs]), sp.igcd(0, *[c.p for c in coeffs]))
            prod *= (to_expr(fac) * scale).expand() ** int(e)
            const /= scale ** int(e)
        return const, prod

    (cn, pn), (cd, pd) = factored(num / g), factored(den / g)
    const = cn / cd
    # keep integer polynomials: fold the constant into a single-factor numerator/denominator
    return sp.Mul(sp.Integer(const.p), pn) / sp.Mul(sp.Integer(const.q), pd)


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


def _solve_terms(terms: ObjectiveTerms, n) -> Solution:
    """Route one binary objective to the fastest exact solver (module docstring)."""
    nval = parse_n(n)
    free = set(terms.law.free_symbols)
    if not free and nval.is_number:
        return solve_numeric(terms, n=nval)
    if terms.d > MAX_SYMBOLIC_D:
        _, bs, ey2 = terms.symbolic(nval, include_H=False)
        return Solution(terms.d, terms.law.p, nval, terms.law, "product" if terms.product_form else "exact", 2,
                        _index(terms.d), tuple(sp.factor(b) for b in bs), sp.factor(ey2), None, None,
                        f"not solved: symbolic X* is derived for d <= {MAX_SYMBOLIC_D}", _LazySymbolicH(terms, nval))
    if free <= {P_SYMBOL}:
        return solve_symbolic_pn(terms, P_SYMBOL if free else None, None if not nval.is_number else nval)
    return solve_generic(terms, nval)


class _LazySymbolicH:
    """The symbolic H of a large-d objective, built only when asked for."""

    def __init__(self, terms: ObjectiveTerms, n):
        self.terms, self.n = terms, n

    @cached_property
    def matrix(self) -> sp.ImmutableMatrix:
        return self.terms.symbolic(self.n)[0]


def solve(d: int, p=None, n=None, kernel: str = "uniform", init: str = "iid", form: str = "exact",
          states: int = 2) -> Solution:
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


__all__ = ["MAX_SYMBOLIC_D", "FORMS", "Solution", "solve", "solve_numeric", "solve_symbolic_pn", "solve_generic",
           "exact_solve", "optimal_loss", "fmpq_matrix", "to_rational"]

