"""The minimiser of the enlarged-space objective: ``X* = H^{-1} beta``, ``f~* = E[y^2] - beta^T X*``.

Exact at rational parameters (python-flint ``fmpq_mat.solve``, any d), and symbolic in
(p, n) by evaluation and interpolation: with ``nH`` polynomial in (p, n) (degree
``<= delta_p`` in p and 1 in n per entry), Cramer's rule bounds the degrees of
``D = det(nH)`` and of ``D X*_i`` and ``D f~*``; we evaluate them exactly on a grid
inside the region where H is positive definite (0 < p < 1, n >= 1), interpolate with
exact Vandermonde inverses, and cancel common factors with python-flint's multivariate
gcd. This avoids fraction-field elimination, whose intermediate swell is what makes a
plain LU solve of the d = 2 system take tens of seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import flint
import sympy as sp

from symbolic.errors import MarkovICLError
from symbolic.laws import N_SYMBOL
from symbolic.objective import ObjectiveTerms, fmpq_matrix


def to_rational(x) -> sp.Rational:
    """A flint/sympy/int rational as a SymPy Rational."""
    if isinstance(x, flint.fmpq):
        return sp.Rational(int(x.p), int(x.q))
    return sp.Rational(x)


@dataclass
class Solution:
    """X*, f~*, beta and E[y^2] (exact SymPy values) and the H they came from."""

    X_star: list[sp.Expr] | None
    f_tilde_star: sp.Expr | None
    beta: list[sp.Expr]
    E_y2: sp.Expr
    H: object  # DomainMatrix (numeric) or ImmutableMatrix (symbolic)


def solve_numeric(terms: ObjectiveTerms, p=None, n=None, values: dict | None = None) -> Solution:
    """Exact X* and f~* at numeric parameters (rationals), any d.

    Raises:
        MarkovICLError: when H is singular there.
    """
    H, beta, ey2 = terms.numeric(p=p, n=n, values=values)
    if H.domain != sp.QQ:
        raise MarkovICLError("solve_numeric needs every parameter numeric")
    Hf, bf = fmpq_matrix(H), fmpq_matrix(beta)
    try:
        x = Hf.solve(bf)
    except ZeroDivisionError:
        raise MarkovICLError("H is singular at these parameters: X* is not unique") from None
    X = [to_rational(v) for v in x.entries()]
    b = [to_rational(v) for v in bf.entries()]
    ey2r = to_rational(sp.QQ.to_sympy(ey2))
    f = ey2r - sum(bi * xi for bi, xi in zip(b, X))
    return Solution(X, f, b, ey2r, H)


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
    """X* and f~* as exact rational functions of p and/or n (iid or numeric-moment laws).

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
    # values[i][l] = [D, D X_1..D X_dm, D f]
    grid = []
    for pv in ps:
        row = []
        for nv in ns:
            nH, b, y = ev.at(pv if pv is not None else 0, nv)
            D = nH.det()
            if D == 0:
                raise MarkovICLError(f"H is singular at p={pv}, n={nv}; no unique X*")
            # X = (nH)^{-1} (n b)
            x = nH.solve(b * flint.fmpq(int(nv)))
            DX = [D * x[i, 0] for i in range(dm)]
            f = y - sum((b[i, 0] * x[i, 0] for i in range(dm)), flint.fmpq(0))
            row.append([D] + DX + [D * f])
        grid.append(row)
    nvals = dm + 2
    # interpolate in n for each p, then in p
    if sym_n:
        per_p = [_interpolate_1d(ns, row) for row in grid]  # [p][n-degree][k]
    else:
        per_p = [[row[0]] for row in grid]
    ndeg = len(per_p[0])
    coeffs = {}
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
    X = outs[:-1]
    f = outs[-1]
    Hs, bs, ey2 = terms.symbolic(nsym if sym_n else sp.Integer(n_value))
    return Solution(X, f, [sp.factor(v) for v in bs], sp.factor(ey2), Hs)


_CTX = flint.fmpq_mpoly_ctx.get(("p", "n"), "lex")


def _to_mpoly(coeffs: dict):
    return _CTX.from_dict({k: v for k, v in coeffs.items()}) if coeffs else _CTX.from_dict({})


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
    from sympy.polys.matrices import DomainMatrix

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
    X = [sp.factor(K.to_sympy(v)) for v in x.to_list_flat()]
    f = sp.factor(ey2 - sum(bi * xi for bi, xi in zip(bs, X)))
    return Solution(X, f, list(bs), ey2, Hs)
